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

import numpy as np

from .errors import InputError

#: Remainders shorter than this fraction of dt are rounding noise, not a step.
_REMAINDER_TOL = 1e-9


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
        values, not tied to the step.
    t_start : float
        Initial time.

    Returns
    -------
    ndarray, shape (T,)
    """
    dt = check_positive("dt", dt)
    t_final = float(t_final)
    if not math.isfinite(t_final) or t_final < t_start + dt * (1 - _REMAINDER_TOL):
        raise InputError(f"t_final ({t_final}) must be at least t_start + dt ({t_start + dt})")
    if times is not None:
        out = np.unique(np.concatenate([[t_start], np.asarray(times, dtype=float).ravel()]))
        if out[0] < t_start or out[-1] > t_final * (1 + _REMAINDER_TOL) or not np.all(np.isfinite(out)):
            raise InputError(f"output times must lie in [{t_start}, {t_final}]")
        return out
    if output_every is None:
        output_every = 1
    if isinstance(output_every, bool) or int(output_every) != output_every or output_every < 1:
        raise InputError(f"output_every must be a positive whole number of steps, got {output_every!r}")
    interval = dt * int(output_every)
    n = int(math.floor((t_final - t_start) / interval * (1 + _REMAINDER_TOL)))
    out = t_start + interval * np.arange(n + 1)
    if t_final - out[-1] > _REMAINDER_TOL * dt:
        out = np.append(out, t_final)
    return out


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
