"""Compiled per-trajectory observables for real V.

The fast path of :func:`ehrenspeed.observables.per_trajectory`: one pass
over the trajectories that forms |U^T c|^2, |c|^2, c^H V c and
p^T M^-1 p / 2 without temporaries. Two states use the closed form of
:func:`.observables.two_state_adiabatic_populations`; more states
diagonalise each V with the substep kernel's eigen-solver
(:func:`.propagators.kernels._eigh_ql`) and sort the levels ascending (the
order of ``numpy.linalg.eigh``). Imported only when used (it imports numba).
"""

from __future__ import annotations

import numba
import numpy as np

from .propagators.kernels import _eigh_ql


@numba.njit(cache=True, nogil=True, error_model="numpy")
def observables_real(v, c, p, inv_mass, adiabatic, population, potential, total, norm):  # pragma: no cover
    """Fill the output arrays for every trajectory j.

    Parameters
    ----------
    v : (N, S, S) float64, real symmetric
    c : (N, S) complex128
    p : (N, D) float64
    inv_mass : (D,) float64
    adiabatic, population : (N, S) float64, written
    potential, total, norm : (N,) float64, written
    """
    n, s = c.shape
    a = np.empty((s, s))
    lam = np.empty(s)
    zt = np.empty((s, s))
    x1 = np.empty(s)
    x2 = np.empty(s)
    order = np.empty(s, dtype=np.int64)
    for j in range(n):
        e_el = 0.0
        total_norm = 0.0
        for k in range(s):
            wk = c[j, k].real ** 2 + c[j, k].imag ** 2
            population[j, k] = wk
            total_norm += wk
            e_el += v[j, k, k] * wk
            for m in range(k + 1, s):
                e_el += 2.0 * v[j, k, m] * (c[j, k].real * c[j, m].real + c[j, k].imag * c[j, m].imag)
        if s == 2:
            _two_state(j, v, c, adiabatic)
        else:
            for k in range(s):
                for m in range(s):
                    a[k, m] = 0.5 * (v[j, k, m] + v[j, m, k])
            _general(j, a, lam, zt, x1, x2, order, c, adiabatic)
        kinetic = 0.0
        for d in range(p.shape[1]):
            kinetic += 0.5 * inv_mass[d] * p[j, d] * p[j, d]
        potential[j] = e_el
        total[j] = kinetic + e_el
        norm[j] = total_norm


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _two_state(j, v, c, adiabatic):  # pragma: no cover - compiled
    """Closed-form two-state adiabatic populations (see the NumPy twin in observables.py)."""
    w1 = c[j, 0].real ** 2 + c[j, 0].imag ** 2
    w2 = c[j, 1].real ** 2 + c[j, 1].imag ** 2
    h = 0.5 * (v[j, 0, 0] - v[j, 1, 1])
    b = v[j, 0, 1]
    r = np.hypot(h, b)
    shifted = h * (w1 - w2) + 2.0 * b * (c[j, 0].real * c[j, 1].real + c[j, 0].imag * c[j, 1].imag)
    split = shifted / r if r != 0.0 else w2 - w1
    adiabatic[j, 0] = 0.5 * ((w1 + w2) - split)
    adiabatic[j, 1] = 0.5 * ((w1 + w2) + split)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _general(j, a, lam, zt, x1, x2, order, c, adiabatic):  # pragma: no cover - compiled
    """Adiabatic populations of trajectory j from its symmetrised V in ``a`` (destroyed)."""
    s = a.shape[0]
    _eigh_ql(a, lam, zt, x1, x2)
    # ascending order of the levels (insertion sort: S is small)
    for k in range(s):
        order[k] = k
    for k in range(1, s):
        key = order[k]
        m = k - 1
        while m >= 0 and lam[order[m]] > lam[key]:
            order[m + 1] = order[m]
            m -= 1
        order[m + 1] = key
    for k in range(s):
        row = order[k]                       # eigenvector = row of zt
        re = 0.0
        im = 0.0
        for m in range(s):
            re += zt[row, m] * c[j, m].real
            im += zt[row, m] * c[j, m].imag
        adiabatic[j, k] = re * re + im * im
