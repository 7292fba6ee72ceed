"""Electrons driven along a prescribed nuclear path.

The electronic Schrodinger equation i dc/dt = V(q(t)) c along a given path
q(t) (no back-reaction on the nuclei): the setting of the Landau-Zener
formula and of the geometric (Berry) phase checks of docs/trajectories.md. Each
step uses the exact propagator of the frozen potential at the step's
midpoint, exp(-i V(q(t + tau/2)) tau), the same kernel as the trajectory
integrators; the error is O(tau^2).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .propagators.splitting import rotate_coefficients


def propagate_along_path(model, path: Callable[[float], np.ndarray], c0, t0: float, t1: float,
                         dt: float) -> np.ndarray:
    """Propagate electronic coefficients along prescribed paths.

    Parameters
    ----------
    model : Model
    path : callable
        ``path(t)`` -> positions, shape (n, D): n independent paths at time t.
    c0 : array_like, shape (n, S)
        Initial coefficients.
    t0, t1 : float
        Start and end time, a.u.
    dt : float
        Largest step, a.u.; [t0, t1] is cut into equal steps no longer than this.

    Returns
    -------
    ndarray, shape (n, S)
        Coefficients at ``t1``.
    """
    c = np.array(c0, dtype=complex, ndmin=2)
    n_steps = max(1, int(np.ceil((t1 - t0) / dt - 1e-9)))
    edges = np.linspace(t0, t1, n_steps + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        v = model.potential(np.atleast_2d(path(0.5 * (a + b))))
        c = rotate_coefficients(c, v, b - a)[3]
    return c
