"""Time axis of a run: output times chosen apart from the time step.

Every method (trajectories and grid) uses this one schedule, so results of
different methods share the same ``time`` coordinate and overlay directly.
Between two output times the propagator takes full steps of ``dt`` and, if
the interval is not a multiple of ``dt``, one shorter final step that lands
exactly on the output time (the splitting integrators are valid for any
step length).
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import InputError

#: Remainders shorter than this fraction of dt are rounding noise, not a step.
_REMAINDER_TOL = 1e-9
#: Most integrator steps a run may take. Even a cheap model needs about a
#: microsecond per step, so 10^9 steps is beyond any run that would finish;
#: such a count comes from a mistyped dt or t_final, and the time axis alone
#: (one float per step with output_every = 1) would exhaust the memory.
MAX_STEPS = 10**9


def check_positive(name: str, value) -> float:
    """``value`` as a float, or an InputError naming ``name`` if not finite and > 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be positive and finite, got {value}")
    return value


def output_times(dt: float, t_final: float, output_every: int | None = None,
                 times=None, t_start: float = 0.0) -> np.ndarray:
    """Output times of a run, starting with ``t_start`` and ending with ``t_final``.

    Parameters
    ----------
    dt : float
        Time step, a.u. (> 0).
    t_final : float
        Final time, a.u. (>= t_start + dt).
    output_every : int, optional
        Write every this many steps (default 1). Ignored when ``times`` given.
    times : array_like, optional
        Explicit increasing output times in [t_start, t_final], a.u.; any
        values, not tied to the step. The last must be ``t_final``: the
        propagation stops at the last output time.
    t_start : float
        Initial time.

    Returns
    -------
    ndarray, shape (T,)

    Raises
    ------
    InputError
        For a bad step or final time, more than :data:`MAX_STEPS` steps, or
        output times outside [t_start, t_final] or ending before t_final.
    """
    dt = check_positive("dt", dt)
    t_final = float(t_final)
    if not math.isfinite(t_final) or t_final < t_start + dt * (1 - _REMAINDER_TOL):
        raise InputError(f"t_final ({t_final}) must be at least t_start + dt ({t_start + dt})")
    check_step_count(dt, t_final, t_start)
    if times is not None:
        out = np.unique(np.concatenate([[t_start], np.asarray(times, dtype=float).ravel()]))
        if out[0] < t_start or out[-1] > t_final * (1 + _REMAINDER_TOL) or not np.all(np.isfinite(out)):
            raise InputError(f"output times must lie in [{t_start}, {t_final}]")
        if ends_early(out[-1], t_final, dt):
            # the propagation stops at the last output time: a run asked to
            # reach t_final must not quietly end before it
            raise InputError(f"output times end at {out[-1]:g}, before t_final = {t_final:g}; "
                             f"the last output time must be t_final")
        return out
    if output_every is None:
        output_every = 1
    if isinstance(output_every, bool) or int(output_every) != output_every or output_every < 1:
        raise InputError(f"output_every must be a positive whole number of steps, got {output_every!r}")
    if output_every > MAX_STEPS:  # no run has that many steps, and dt * output_every could overflow
        raise InputError(f"output_every must be at most {MAX_STEPS} steps, got {output_every}")
    interval = dt * int(output_every)
    n = int(math.floor((t_final - t_start) / interval * (1 + _REMAINDER_TOL)))
    out = t_start + interval * np.arange(n + 1)
    if t_final - out[-1] > _REMAINDER_TOL * dt:
        out = np.append(out, t_final)
    return out


def n_steps(dt: float, t_final: float, t_start: float = 0.0) -> int:
    """Number of integrator steps from ``t_start`` to ``t_final`` (see :func:`check_step_count`)."""
    return math.ceil((t_final - t_start) / dt * (1 - _REMAINDER_TOL))


def check_step_count(dt: float, t_final: float, t_start: float = 0.0) -> int:
    """The number of steps of a run, or an InputError if above :data:`MAX_STEPS`."""
    span = (t_final - t_start) / dt
    if not span <= MAX_STEPS:  # also catches an overflow to inf
        raise InputError(f"t_final / dt = {t_final:g} / {dt:g} is {span:.3g} steps, more than the "
                         f"limit of {MAX_STEPS:.0e}; check dt and t_final (and their units, a.u.)")
    return n_steps(dt, t_final, t_start)


def ends_early(last: float, t_final: float, dt: float) -> bool:
    """Whether the last output time falls short of ``t_final`` by more than rounding."""
    return t_final - last > _REMAINDER_TOL * max(dt, abs(t_final))


def available_memory() -> int:
    """Physical memory available now, bytes (os.sysconf), 0 if unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


def trajectory_memory_estimate(n_traj: int, n_dof: int, n_states: int, n_times: int,
                               save_trajectories: bool = False) -> int:
    """Bytes a trajectory run must hold (a lower estimate: no temporaries).

    The ensemble's q, p (N D doubles each) and c (N S complex), once for the
    state and once for the normal deviates of the Wigner sample; the ensemble
    means recorded at each of the T output times (2 S + 2 D + 3 doubles); and
    with ``save_trajectories`` every trajectory's q, p and c at every output
    time, T N (2 D + 2 S) doubles.
    """
    per_trajectory = 8 * (2 * n_dof + 2 * n_states)
    ensemble = 2 * n_traj * per_trajectory
    records = 8 * n_times * (2 * n_states + 2 * n_dof + 3)
    stored = n_times * n_traj * per_trajectory if save_trajectories else 0
    return ensemble + records + stored


def check_trajectory_memory(n_traj: int, n_dof: int, n_states: int, n_times: int,
                            save_trajectories: bool = False) -> None:
    """Refuse a run whose arrays cannot fit in the memory available now.

    Raises
    ------
    InputError
        Giving the estimate and the limit, before anything is allocated.
    """
    need = trajectory_memory_estimate(n_traj, n_dof, n_states, n_times, save_trajectories)
    limit = available_memory()
    if limit <= 0:  # pragma: no cover - unknown: do not block the run
        return
    if need > limit:
        stored = f", storing {n_times} output times of every trajectory" if save_trajectories else ""
        raise InputError(f"n_traj = {n_traj} trajectories of {_count(n_dof, 'coordinate')} and "
                         f"{_count(n_states, 'state')}"
                         f"{stored} need at least {need / 2**30:.3g} GiB, more than the "
                         f"{limit / 2**30:.3g} GiB of memory available")


def _count(n: int, noun: str) -> str:
    """``1 coordinate``, ``3 coordinates``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def steps_between(t0: float, t1: float, dt: float) -> list[float]:
    """Step lengths that take the propagator from ``t0`` to ``t1``.

    Full steps of ``dt`` and, when needed, one shorter last step.
    """
    span = t1 - t0
    n_full = int(math.floor(span / dt * (1 + _REMAINDER_TOL)))
    steps = [dt] * n_full
    rest = span - n_full * dt
    if rest > _REMAINDER_TOL * dt:
        steps.append(rest)
    return steps
