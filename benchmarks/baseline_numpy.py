"""The NAIVE NumPy baseline: a plain, straightforward Ehrenfest code for Tully's simple model.

Kept as the weak reference point (what one writes first); the baseline the
package's speed is quoted against is the careful one,
``baseline_numpy_careful.py`` (benchmarks/baseline.py prints both ratios).

What a user would write in an afternoon, batched over trajectories:
velocity Verlet for the nuclei, exact electronic propagation
c <- U exp(-i lambda dt) U^T c from one batched ``numpy.linalg.eigh`` per
step, and the Ehrenfest force -Re c^H dV/dx c. It is independent of
ehrenspeed (its own potential, its own integrator).
"""

from __future__ import annotations

import numpy as np

A, B, C, D, MASS = 0.01, 1.6, 0.005, 1.0, 2000.0


def tully_simple(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V (N, 2, 2) and dV/dx (N, 2, 2) of Tully's simple avoided crossing."""
    decay = np.exp(-B * np.abs(x))
    v11 = np.sign(x) * A * (1.0 - decay)
    d11 = A * B * decay
    v12 = C * np.exp(-D * x * x)
    d12 = -2.0 * D * x * v12
    v = np.empty((x.size, 2, 2))
    dv = np.empty((x.size, 2, 2))
    v[:, 0, 0], v[:, 1, 1], v[:, 0, 1], v[:, 1, 0] = v11, -v11, v12, v12
    dv[:, 0, 0], dv[:, 1, 1], dv[:, 0, 1], dv[:, 1, 0] = d11, -d11, d12, d12
    return v, dv


def force(c: np.ndarray, dv: np.ndarray) -> np.ndarray:
    """-Re c^H dV c for every trajectory, shape (N,)."""
    return -np.einsum("ni,nij,nj->n", c.conj(), dv, c).real


def propagate(x: np.ndarray, p: np.ndarray, c: np.ndarray, dt: float, n_steps: int):
    """Advance (x, p, c) of N trajectories by ``n_steps`` steps of ``dt``.

    Parameters
    ----------
    x, p : ndarray, shape (N,)
    c : ndarray, shape (N, 2), complex

    Returns
    -------
    x, p, c after the steps.
    """
    _, dv = tully_simple(x)
    f = force(c, dv)
    for _ in range(n_steps):
        p = p + 0.5 * dt * f
        x = x + dt * p / MASS
        v, dv = tully_simple(x)
        lam, u = np.linalg.eigh(v)
        b = np.einsum("nji,nj->ni", u, c)
        c = np.einsum("nij,nj->ni", u, np.exp(-1j * dt * lam) * b)
        f = force(c, dv)
        p = p + 0.5 * dt * f
    return x, p, c
