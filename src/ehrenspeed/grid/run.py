"""``run_exact``: numerically exact dynamics of a model on a grid, as a result Dataset.

The molecular wavefunction Psi(x, t) = sum_s psi_s(x, t) |s> (S diabatic
states, x on a D-dimensional grid) starts as the same Gaussian
:class:`~ehrenspeed.sampling.Wavepacket` the trajectory methods sample from,
times its electronic vector, and is propagated by the split operator
(:mod:`ehrenspeed.grid.splitoperator`). Observables are written on the same
time axis as :func:`ehrenspeed.driver.run` (both use
:func:`ehrenspeed.schedule.output_times`) and in the same Dataset layout
(:mod:`ehrenspeed.results`), so exact and trajectory results overlay.
"""

from __future__ import annotations

import math
import os
import time as _time
import warnings

import numpy as np

from .. import schedule
from .._version import __version__
from ..config.stored import exact_layout
from ..errors import InputError, SimulationError
from ..results import make_dataset
from ..sampling import electronic_vector
from . import fft
from .grid import Grid, spans_period
from .kernels import Kernels
from .observables import EDGE_FRACTION, measure
from .operators import chunk_points, diagonalise_potential
from .splitoperator import SplitOperator, check_integrator


class GridEdgeWarning(UserWarning):
    """The wavefunction reaches the edge of the position or momentum grid.

    The FFT makes the grid periodic: density that reaches the end of a
    non-periodic axis re-enters at the other end, and momenta beyond
    pi / dx alias to the opposite sign. Either corrupts the result; enlarge
    the grid (position) or refine it (momentum).
    """


def run_exact(model, wavepacket, grid: Grid, dt: float, t_final: float, output_every: int = 1,
              output_times=None, integrator: str = "strang", workers: int | None = None,
              edge_threshold: float = 1e-6, memory_limit_bytes: float | None = None,
              progress: bool = False, use_numba: bool | None = None):
    """Numerically exact (split-operator) dynamics of ``model`` from ``wavepacket``.

    Parameters
    ----------
    model : Model
        S states, D coordinates: ``n_states``, ``n_dof``, ``mass`` (D,) and a
        batched ``potential(q)`` (N, D) -> (N, S, S), hartree. Coordinates
        the model declares periodic (``periods``) must span one period on
        the grid (see :meth:`Grid.for_model`).
    wavepacket : Wavepacket
        Initial state Psi(x, 0) = g(x) c with g the normalised Gaussian
        ``wavepacket.amplitude`` (on a periodic coordinate: its
        nearest-image copy, as trajectories wrap their samples) and c the
        electronic vector of ``wavepacket.state``. Renormalised on the grid;
        the norm before that is the ``initial_grid_norm`` attribute.
    grid : Grid
    dt : float
        Time step, a.u.
    t_final : float
        Final time, a.u.
    output_every : int
        Observables every this many steps (ignored when ``output_times``
        is given).
    output_times : array_like, optional
        Explicit output times, a.u.; steps shorten to land on them.
    integrator : {"strang", "yoshida4"}
        Second-order split operator, or its fourth-order triple-jump
        composition (three times the cost per step).
    workers : int, optional
        Threads for the FFTs and the pointwise kernels; default all CPUs
        this process may use.
    edge_threshold : float
        A :class:`GridEdgeWarning` is issued (once per run) when the
        probability within the outer 5% of a non-periodic position axis,
        or of any momentum axis, exceeds this.
    memory_limit_bytes : float, optional
        Refuse (InputError, before allocating) a grid whose arrays would
        need more; default 80% of the memory available now.
    progress : bool
        Show a progress bar (tqdm).
    use_numba : bool, optional
        None: compiled kernels when numba is installed and the run is large
        enough to repay compiling them (:func:`ehrenspeed.backend.grid_compiled`;
        the backend "numba" or "numpy" decides outright); True / False: as said.

    Returns
    -------
    xarray.Dataset
        The standard layout of :mod:`ehrenspeed.results` (``population``,
        ``adiabatic_population``, ``position``, ``momentum``,
        ``potential_energy``, ``total_energy``, ``norm``) plus
        ``kinetic_energy`` (time,), reduced densities ``density_<a>``
        (time, grid_<a>) summed over states and ``state_density_<a>``
        (time, state, grid_<a>) for every coordinate a = 0 .. D-1 with
        coordinate ``grid_<a>`` (the grid positions of axis a), and the edge
        probabilities ``edge_density`` / ``momentum_edge_density``
        (time, dof). Attributes: ``method="exact"``, ``model``, ``dt``,
        ``integrator``, ``order``, ``grid_lower``, ``grid_upper``,
        ``grid_points``, ``grid_periodic``, ``potential_evaluations`` (grid
        points at which V was evaluated), ``n_steps``, ``wall_time_s``,
        ``max_energy_drift`` (max |E(t) - E(0)|, hartree),
        ``max_edge_density``, ``max_momentum_edge_density``,
        ``initial_grid_norm``, ``ehrenspeed_version``, ``config`` (JSON, the
        configuration-file layout every method stores: docs/configuration.md).

    Raises
    ------
    InputError
        Inconsistent model, wavepacket and grid; bad time step or options;
        a grid that would not fit in memory (the message states the size).
    ModelError
        The potential is not finite or not Hermitian on the grid.
    SimulationError
        The wavefunction became NaN/Inf.

    References
    ----------
    J. Comput. Phys. 47, 412 (1982) (the split-operator Fourier method);
    J. Phys. Chem. 92, 2087 (1988) (a review of grid propagation methods).
    """
    start_clock = _time.perf_counter()
    _check_model(model)
    if not isinstance(grid, Grid):
        raise InputError(f"grid must be an ehrenspeed Grid, got {type(grid).__name__}")
    s, d = int(model.n_states), int(model.n_dof)
    try:
        mass = np.broadcast_to(np.asarray(model.mass, dtype=float), (d,))
    except ValueError:
        raise InputError(f"model mass must have {d} entries, got {np.shape(model.mass)}") from None
    if not np.all(np.isfinite(mass)) or np.any(mass <= 0):
        raise InputError(f"model masses must be positive and finite, got {mass.tolist()}")
    if grid.n_dof != d:
        raise InputError(f"the grid has {grid.n_dof} coordinates, the model has {d}")
    if getattr(wavepacket, "n_dof", None) != d:
        raise InputError(f"the wavepacket has {getattr(wavepacket, 'n_dof', '?')} coordinates, the model has {d}")
    electronic_vector(wavepacket.state, s)  # a bad state fails before any allocation
    integrator = check_integrator(integrator)
    workers = _check_workers(workers)
    edge_threshold = schedule.check_positive("edge_threshold", edge_threshold)
    times = schedule.output_times(dt, t_final, output_every, output_times)
    dt = float(dt)
    periodic = _periodic_axes(model, grid)
    grid = Grid(grid.lower, grid.upper, grid.points, periodic=periodic)
    if use_numba is None:   # a short run on "auto" does not wait for numba to import and compile
        from ..backend import grid_compiled
        from .splitoperator import COMPOSITIONS

        substeps = len(COMPOSITIONS[integrator]) * sum(
            len(schedule.steps_between(a, b, dt)) for a, b in zip(times[:-1], times[1:]))
        use_numba = grid_compiled(s * int(np.prod(grid.points)) * substeps)
    _check_memory(s, grid, integrator, bool(getattr(model, "complex_valued", False)), use_numba,
                  memory_limit_bytes)

    pot = diagonalise_potential(model, grid)
    stepper = SplitOperator(grid, mass, pot, dt, integrator, workers, use_numba)
    try:
        psi, norm0 = initial_wavefunction(wavepacket, grid, s)
        records = [measure(psi, grid, pot, stepper.tkin, workers)]
        warned = _check_edges(records[-1], times[0], edge_threshold, False)
        n_steps = 0
        intervals = range(1, len(times))
        if progress:
            from tqdm.auto import tqdm
            intervals = tqdm(intervals, desc="exact", unit="output")
        for i in intervals:
            steps = schedule.steps_between(times[i - 1], times[i], dt)
            n_steps += len(steps)
            psi = stepper.advance(psi, steps)
            obs = measure(psi, grid, pot, stepper.tkin, workers)
            if not math.isfinite(obs["norm"]) or not math.isfinite(obs["total_energy"]):
                raise SimulationError(f"the grid wavefunction became NaN/Inf by t = {times[i]:.6g} a.u.")
            records.append(obs)
            warned = _check_edges(obs, times[i], edge_threshold, warned)
    finally:
        stepper.close()

    # the configuration-file layout, as every method stores it (docs/configuration.md)
    config = exact_layout(model, wavepacket, grid, dt=dt, t_final=t_final, output_every=output_every,
                          output_times=output_times, integrator=integrator)
    return _dataset(times, records, grid, config, {
        "method": "exact", "model": getattr(model, "name", type(model).__name__), "dt": dt, "integrator": integrator,
        "order": stepper.order, "grid_lower": grid.lower.tolist(), "grid_upper": grid.upper.tolist(),
        "grid_points": list(grid.points), "grid_periodic": [int(p) for p in grid.periodic],
        "potential_evaluations": pot.evaluations, "n_steps": n_steps,
        "initial_grid_norm": norm0, "ehrenspeed_version": __version__,
    }, start_clock)


# -- checks -----------------------------------------------------------------
def _check_model(model) -> None:
    for name in ("n_states", "n_dof", "mass", "potential"):
        if not hasattr(model, name):
            raise InputError(f"model {model!r} has no attribute {name!r} (see ehrenspeed.models.base.Model)")


def _check_workers(workers) -> int:
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    return int(workers)


def _periodic_axes(model, grid: Grid) -> np.ndarray:
    """The grid's periodic flags joined with the model's; model periods must be spanned."""
    flags = grid.periodic.copy()
    periods = getattr(model, "periods", None)
    if periods is None:
        return flags
    periods = np.asarray(periods, dtype=float)
    for a in range(grid.n_dof):
        p_lo, p_hi = periods[a]
        if not np.isfinite(p_lo):
            continue
        if not spans_period(grid.lower[a], grid.upper[a], p_lo, p_hi):
            raise InputError(f"coordinate {a} is periodic with period [{p_lo:.6g}, {p_hi:.6g}) but the grid "
                             f"spans [{grid.lower[a]:.6g}, {grid.upper[a]:.6g}); use Grid.for_model")
        flags[a] = True
    return flags


def memory_estimate(n_states: int, grid: Grid, integrator: str = "strang", complex_valued: bool = False,
                    use_numba: bool | None = None) -> int:
    """Bytes that :func:`run_exact` allocates for a grid (an upper estimate).

    Counts the wavefunction (S x npts complex) and, with FFTW, the aligned
    buffer its in-place transforms work on, the observables' work arrays
    (its FFT and |psi|^2), the kernels' buffer (numpy path only), the stored
    potential propagators (S x S x npts complex each, one per distinct
    substep length), the eigenvectors and eigenvalues, the kinetic phases,
    and the chunked model evaluation.
    """
    s, npts = int(n_states), grid.size
    complex_bytes = 16
    psi = complex_bytes * s * npts
    # observables: |psi|^2 is freed before the FFT copy is made
    work = psi + 8 * npts + Kernels.work_bytes(s, npts, use_numba)
    if fft.library() == "fftw":
        work += psi
    props = (SplitOperator.stored_propagators(integrator) * complex_bytes * npts
             * SplitOperator.propagator_entries(s, complex_valued, use_numba))
    vectors = (complex_bytes if complex_valued else 8) * s * s * npts + 8 * s * npts
    phases = (3 + 8) * complex_bytes * npts + 8 * npts
    # one chunk of model matrices, their eigenvectors and einsum temporaries
    m = min(npts, chunk_points(s))
    chunked = 4 * complex_bytes * s * s * m + 64 * grid.n_dof * m
    return psi + work + props + vectors + phases + chunked


def available_memory() -> int:
    """Physical memory available now, bytes (os.sysconf), 0 if unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


def _check_memory(s: int, grid: Grid, integrator: str, complex_valued: bool, use_numba, limit) -> None:
    need = memory_estimate(s, grid, integrator, complex_valued, use_numba)
    if limit is None:
        avail = available_memory()
        if avail <= 0:  # pragma: no cover - unknown: do not block the run
            return
        limit = 0.8 * avail
    else:
        limit = schedule.check_positive("memory_limit_bytes", limit)
    if need > limit:
        shape = " x ".join(str(n) for n in grid.points)
        raise InputError(f"exact dynamics of {s} states on a {shape} grid needs about {need / 2**30:.2f} GiB, "
                         f"more than the limit of {limit / 2**30:.2f} GiB; use fewer grid points "
                         f"(or raise memory_limit_bytes)")


# -- set-up and output ------------------------------------------------------
def initial_wavefunction(wavepacket, grid: Grid, n_states: int) -> tuple[np.ndarray, float]:
    """Psi(x, 0) = g(x) c on the grid, normalised, and its norm before normalising.

    Parameters
    ----------
    wavepacket : Wavepacket
        g is ``wavepacket.amplitude`` (taken at the nearest image of the
        centre along periodic grid axes), c the electronic vector of
        ``wavepacket.state``.
    grid : Grid
    n_states : int

    Returns
    -------
    psi : ndarray, shape (S, n_1, ..., n_D), complex128
    norm : float
        sum |Psi|^2 dV before normalisation (1 for a well-resolved packet
        that fits in the grid).
    """
    c0 = electronic_vector(wavepacket.state, n_states)
    s = c0.size
    flat = np.empty((s, grid.size), dtype=complex)
    q0 = np.asarray(wavepacket.q0, dtype=float)
    width = grid.upper - grid.lower
    for start, stop in grid.chunks(chunk_points(s)):
        x = grid.positions(start, stop)
        if np.any(grid.periodic):
            # nearest image of the centre: the packet is whole even when q0
            # sits at the end of the period interval
            p = grid.periodic
            x[:, p] = q0[p] + (x[:, p] - q0[p] + 0.5 * width[p]) % width[p] - 0.5 * width[p]
        flat[:, start:stop] = c0[:, None] * wavepacket.amplitude(x)[None, :]
    norm0 = float(np.sum(flat.real**2 + flat.imag**2) * grid.volume_element)
    if not math.isfinite(norm0) or norm0 <= 0:
        raise InputError("the initial wavepacket vanishes on the grid; check the grid covers q0")
    flat /= math.sqrt(norm0)
    return flat.reshape((s,) + grid.shape), norm0


def _check_edges(obs: dict, t: float, threshold: float, warned: bool) -> bool:
    """Warn (once per run) when the edge probabilities exceed ``threshold``."""
    if warned:
        return True
    pos, mom = obs["edge_density"], obs["momentum_edge_density"]
    percent = f"{100 * EDGE_FRACTION:.0f}%"
    if np.max(pos) > threshold:
        a = int(np.argmax(pos))
        msg = (f"at t = {t:.6g} a.u. the probability within the outer {percent} of the position grid of "
               f"coordinate {a} is {pos[a]:.2e} (threshold {threshold:.1e}): wrap-around corrupts the "
               f"result; enlarge the grid")
    elif np.max(mom) > threshold:
        a = int(np.argmax(mom))
        msg = (f"at t = {t:.6g} a.u. the probability within the outer {percent} of the momentum grid of "
               f"coordinate {a} is {mom[a]:.2e} (threshold {threshold:.1e}): momenta alias; use more "
               f"grid points")
    else:
        return False
    warnings.warn(msg, GridEdgeWarning, stacklevel=3)
    return True


def _dataset(times, records, grid: Grid, config: dict, attrs: dict, start_clock: float):
    stack = {key: np.array([r[key] for r in records]) for key in
             ("population", "adiabatic_population", "norm", "position", "momentum", "potential_energy",
              "kinetic_energy", "total_energy", "edge_density", "momentum_edge_density")}
    data = {
        "population": (("time", "state"), stack["population"]),
        "adiabatic_population": (("time", "state"), stack["adiabatic_population"]),
        "position": (("time", "dof"), stack["position"]),
        "momentum": (("time", "dof"), stack["momentum"]),
        "potential_energy": (("time",), stack["potential_energy"]),
        "kinetic_energy": (("time",), stack["kinetic_energy"]),
        "total_energy": (("time",), stack["total_energy"]),
        "norm": (("time",), stack["norm"]),
        "edge_density": (("time", "dof"), stack["edge_density"]),
        "momentum_edge_density": (("time", "dof"), stack["momentum_edge_density"]),
    }
    coords = {}
    for a, axis in enumerate(grid.axes):
        dens = np.array([r["state_density"][a] for r in records])      # (T, S, n_a)
        data[f"density_{a}"] = (("time", f"grid_{a}"), dens.sum(axis=1))
        data[f"state_density_{a}"] = (("time", "state", f"grid_{a}"), dens)
        coords[f"grid_{a}"] = axis
    energy = stack["total_energy"]
    attrs = dict(attrs)
    attrs["max_energy_drift"] = float(np.max(np.abs(energy - energy[0])))
    attrs["max_edge_density"] = float(np.max(stack["edge_density"]))
    attrs["max_momentum_edge_density"] = float(np.max(stack["momentum_edge_density"]))
    from ..config.stored import jsonable

    attrs["config"] = jsonable(config)
    attrs["wall_time_s"] = _time.perf_counter() - start_clock
    ds = make_dataset(times, data, attrs, coords)
    ds["kinetic_energy"].attrs["units"] = "hartree"
    for a in range(grid.n_dof):
        ds[f"density_{a}"].attrs.update(
            long_name=f"reduced density along coordinate {a}, summed over states",
            units="1 / coordinate unit")
        ds[f"state_density_{a}"].attrs.update(
            long_name=f"reduced density along coordinate {a} of each diabatic state",
            units="1 / coordinate unit")
        ds[f"grid_{a}"].attrs["long_name"] = f"grid positions of coordinate {a}"
    return ds
