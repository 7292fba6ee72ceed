"""Which implementation runs the hot loops: compiled (numba) or NumPy.

Every compiled routine of the package (the potential substep kernels, the
compiled potentials of analytic models) has a NumPy reference that gives
the same numbers to round-off; ``tests/test_fastpath.py`` checks the
equality. The choice is one setting:

* ``"auto"`` (default): numba when it is installed and the run is large
  enough to repay compiling the kernels (:func:`for_run`), NumPy otherwise;
* ``"numba"``: numba, an error when it is not installed;
* ``"numpy"``: the reference everywhere.

It is read from the environment variable ``EHRENSPEED_BACKEND`` at import,
changed with :func:`set_backend` or, for a block, :func:`use_backend`; a
run's ``backend=`` argument (config key ``backend``) applies it for the
run's duration. Complex (Hermitian) potential matrices always take the
NumPy path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading

from .errors import InputError

# numba's OpenMP threads spin while they wait for work by default. When the
# cores are shared with other processes a spinning thread holds a core that
# the thread it waits for needs, and a parallel region can take a whole
# scheduler time slice (measured: 5x slower steps on a loaded 2-core
# machine). Passive waiting costs microseconds on an idle machine. An
# explicit OMP_WAIT_POLICY in the environment is respected. Set here, before
# the package's first import of numba.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Whether numba is installed, found without importing it: importing numba
# (with llvmlite) takes ~0.4 s, more than the rest of the package, so it is
# imported only by the modules that hold compiled code, when a run first
# needs them (goal: ``import ehrenspeed`` under 0.2 s, benchmarks/startup.py).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

#: Accepted backend names.
BACKENDS = ("auto", "numpy", "numba")


def check_backend(name) -> str:
    """A valid backend name (lower case), or an InputError naming the problem."""
    key = str(name).lower()
    if key not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    if key == "numba" and not HAVE_NUMBA:
        raise InputError("backend 'numba' needs numba: pip install 'ehrenspeed[fast]'")
    return key


_default_backend = check_backend(os.environ.get("EHRENSPEED_BACKEND", "auto"))


def get_backend() -> str:
    """The module-default backend: ``"auto"``, ``"numpy"`` or ``"numba"``."""
    return _default_backend


def set_backend(name: str) -> str:
    """Set the module-default backend; return the previous one.

    Parameters
    ----------
    name : {"auto", "numpy", "numba"}
        ``"numba"`` raises :class:`~ehrenspeed.errors.InputError` when numba
        is not installed; ``"auto"`` then quietly uses NumPy.
    """
    global _default_backend
    old, _default_backend = _default_backend, check_backend(name)
    return old


@contextlib.contextmanager
def use_backend(name: str | None):
    """Context manager: the module-default backend is ``name`` inside the block
    (``None``: unchanged)."""
    if name is None:
        yield
        return
    old = set_backend(name)
    try:
        yield
    finally:
        set_backend(old)


#: Trajectory-substeps (trajectories x potential substeps) below which
#: ``"auto"`` runs a whole run on NumPy. Compiling the kernels the first time
#: (numba caches them on disk afterwards) takes 30-40 s on the 2-core
#: machine (docs/performance.md), the time NumPy needs for ~10^7
#: trajectory-substeps of a small model: a shorter run would spend most of
#: its time compiling. The choice depends only on the run's size, never on
#: whether a cache exists, so the same run always takes the same path and
#: gives the same bits.
COMPILE_PAYS_ABOVE = 10_000_000

#: D^2 S^2 at which one NumPy trajectory-substep costs twice a small model's:
#: the contraction of the (D, D, S, S) Hessian with each trajectory's
#: displacement grows as D^2 S^2 on top of a fixed per-substep overhead.
#: Measured: ~3.5 us per trajectory-substep for Tully (D = 1, S = 2), ~28 us
#: for the 24-mode pyrazine (D = 24, S = 2, D^2 S^2 = 2304), both at N = 1024.
COST_DOUBLES_AT_D2S2 = 256

#: S^3 at which the batched eigen-decomposition of each trajectory's S x S
#: matrix (NumPy's substep, O(S^3)) costs as much again as a small model's
#: whole substep. Measured with the NumPy backend (Ehrenfest, N = 1024 and
#: 256, 2026-11-30): per trajectory-substep 2.4 us for Tully (S = 2), 246 us
#: for the chemisorption set `paper` (S = 27; 100 small-model units) and
#: 729 us for the default chemisorption model (S = 45; 298 units), against
#: weights 81 and 365 from the formula. Without this term a full
#: `reproduce chemisorption` (1024 trajectories, 400 steps, S = 27) ran on
#: NumPy at ~4x the compiled time.
COST_DOUBLES_AT_S3 = 256


def numpy_cost_weight(n_dof: int, n_states: int) -> float:
    """NumPy's cost of one trajectory-substep of this size, in small-model units.

    1 + D^2 S^2 / :data:`COST_DOUBLES_AT_D2S2` + (S^3 - 8) / :data:`COST_DOUBLES_AT_S3`
    (the two-state model, the unit, already includes its own 2 x 2 eigenproblem):
    1.0 for a one-coordinate two-state model, ~10 for D = 24, S = 2, ~80 for
    D = 1, S = 27.
    """
    beyond_two_states = max(n_states**3 - 8, 0)
    return 1.0 + (n_dof * n_states) ** 2 / COST_DOUBLES_AT_D2S2 + beyond_two_states / COST_DOUBLES_AT_S3


def for_run(backend: str | None, trajectory_substeps: int, weight: float = 1.0) -> str | None:
    """The backend of one run: ``"auto"`` becomes ``"numpy"`` for a small run.

    Parameters
    ----------
    backend : str or None
        The run's backend (None: the module default).
    trajectory_substeps : int
        Trajectories times potential substeps of the whole run.
    weight : float
        NumPy's cost of one trajectory-substep in small-model units
        (:func:`numpy_cost_weight`).

    Returns
    -------
    str or None
        ``"numpy"`` when the backend is ``"auto"``, numba is installed and
        ``weight * trajectory_substeps`` is below :data:`COMPILE_PAYS_ABOVE`;
        otherwise ``backend`` unchanged (an explicit ``"numba"`` is always
        honoured).
    """
    key = _default_backend if backend is None else check_backend(backend)
    if key == "auto" and HAVE_NUMBA and weight * trajectory_substeps < COMPILE_PAYS_ABOVE:
        return "numpy"
    return backend


#: State-point-steps (states x grid points x split-operator steps) from which
#: an exact run on "auto" uses the compiled grid kernels. Importing numba and
#: compiling the kernels costs ~1.5 s on a fresh install; the compiled
#: potential and phase products save ~5 ns per state-point-step against NumPy
#: (benchmarks/exact.py at 48^3: potential product 2.07 against 3.65 ms for
#: 3.3e5 state-points). Measured on the quick pyrazine run (3 x 40 x 32 x 40
#: points, 242 steps, 1.1e8 state-point-steps, fresh venv): NumPy kernels
#: 3.3 s, compiled 4.75 s with the compile and 3.74 s without it.
GRID_COMPILE_PAYS_ABOVE = 300_000_000


def grid_compiled(state_point_steps: float) -> bool:
    """Whether an exact run of this size uses the compiled grid kernels.

    "numba" (module default or ``EHRENSPEED_BACKEND``) always, "numpy"
    never, "auto" from :data:`GRID_COMPILE_PAYS_ABOVE` state-point-steps;
    never without numba.
    """
    if not HAVE_NUMBA or _default_backend == "numpy":
        return False
    return _default_backend == "numba" or state_point_steps >= GRID_COMPILE_PAYS_ABOVE


def compiled(backend: str | None = None) -> bool:
    """True when compiled code should run: numba installed and the backend
    (``backend``, or the module default when None) is not ``"numpy"``."""
    key = _default_backend if backend is None else check_backend(backend)
    return HAVE_NUMBA and key != "numpy"


def single_blas_thread():
    """Context manager: BLAS on one thread inside (``threadpoolctl``, when installed).

    For loops of many small (S x S, D x D) matrix calls, where BLAS threads
    add only start-up and contention on a shared machine; a no-op without
    threadpoolctl.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# -- numba threads -------------------------------------------------------------
# A parallel region has a fixed cost: waking the team and joining it again.
# With passive waiting (the default set above) the sleeping worker must be
# woken for every substep, ~10-20 us on the 2-core benchmark machine; with
# active waiting it is already spinning, and the second thread pays almost at
# once -- but only while it has a core of its own. Hence one crossover per
# waiting policy, both measured with benchmarks/threads.py on the idle 2-core
# machine (load average 0.03, 2026-11-30, best of 7; docs/performance.md):
#
#   t(1 thread) / t(2 threads)      N = 100   300   1000   3000   10^4   10^5
#   S = 2, passive                      0.35  0.47  0.72   1.01   1.15   1.54
#   S = 2, active                       1.03  1.14  1.33   1.46   1.54   1.73
#   S = 3, passive                      0.98  1.21  1.30   1.35   1.36   1.39
#   S = 3, active                       1.71  1.45  1.34   1.95   1.30   1.95
#
# With two busy processes beside it (2 cores, load 2) the second thread did
# not pay below N = 10^5 under either policy (ratios 0.2-0.97), which is why
# passive stays the default: it loses little on a busy machine where active
# spinning can lose a whole time slice per substep.

#: Trajectories per substep from which the two-state kernels use all numba
#: threads (below: one), per waiting policy (table above).
TWO_STATE_PARALLEL_FROM = {"PASSIVE": 10_000, "ACTIVE": 300}

#: For S > 2 the per-trajectory work grows like S^3 (the eigen-solver): all
#: threads from N * S^3 >= this, per waiting policy (S = 3: N >= 300 passive,
#: N >= 100 active).
GENERAL_PARALLEL_FROM = {"PASSIVE": 8_100, "ACTIVE": 2_700}


def wait_policy() -> str:
    """numba's OpenMP waiting policy, "ACTIVE" or "PASSIVE" (what ``OMP_WAIT_POLICY`` says).

    The package sets PASSIVE at import unless the environment chose;
    ``OMP_WAIT_POLICY=ACTIVE`` suits a node the run has to itself.
    """
    return "ACTIVE" if os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "ACTIVE" else "PASSIVE"


_threads_override: int | None = None


def _check_threads(value, source: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(number) != str(value).strip():
        raise InputError(f"{source} must be a positive integer number of threads, got {value!r}")
    return number


def set_threads(number: int | None) -> int | None:
    """Fix the number of numba threads of the compiled kernels; return the previous setting.

    Parameters
    ----------
    number : int or None
        Threads for every compiled parallel kernel (capped at numba's
        ``NUMBA_NUM_THREADS``); None restores the automatic choice of
        :func:`threads_for`. The environment variable ``EHRENSPEED_THREADS``
        sets it at import.
    """
    global _threads_override
    old, _threads_override = _threads_override, _check_threads(number, "threads")
    return old


def _most_threads() -> int:
    """numba's ``NUMBA_NUM_THREADS`` (imports numba on the first call)."""
    global _max_threads
    if _max_threads is None:
        import numba

        _max_threads = int(numba.config.NUMBA_NUM_THREADS)
    return _max_threads


def threads_for(n_traj: int, n_states: int) -> int:
    """Number of numba threads for a substep over ``n_traj`` trajectories of ``n_states`` states.

    One thread where a second does not pay (below the measured crossover,
    :data:`TWO_STATE_PARALLEL_FROM`, :data:`GENERAL_PARALLEL_FROM`), all of
    numba's threads above; :func:`set_threads` or ``EHRENSPEED_THREADS``
    override the choice.
    """
    most = _most_threads()
    if _threads_override is not None:
        return min(_threads_override, most)
    policy = wait_policy()
    if n_states <= 2:
        return most if n_traj >= TWO_STATE_PARALLEL_FROM[policy] else 1
    return most if n_traj * n_states**3 >= GENERAL_PARALLEL_FROM[policy] else 1


def use_threads_for(n_traj: int, n_states: int) -> int:
    """Set numba's thread count (for the calling thread) to :func:`threads_for`; return it.

    numba's setting is per calling thread; it is changed only when it
    differs from the last value set here from that thread
    (``numba.get_num_threads`` alone cost tens of microseconds per substep).
    """
    threads = threads_for(n_traj, n_states)
    if getattr(_threads_set, "threads", None) != threads:
        import numba

        numba.set_num_threads(threads)
        _threads_set.threads = threads
    return threads


_max_threads: int | None = None
_threads_set = threading.local()   # numba's setting is per thread, and so is this record of it
_threads_override = _check_threads(os.environ.get("EHRENSPEED_THREADS"), "EHRENSPEED_THREADS")
