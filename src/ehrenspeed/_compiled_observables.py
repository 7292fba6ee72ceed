"""Compiled per-trajectory observables for real V.

The fast path of :func:`ehrenspeed.observables.per_trajectory`: one pass
over the trajectories that forms |U^T c|^2, |c|^2, c^H V c and
p^T M^-1 p / 2 without temporaries, parallel over blocks of trajectories.
Two states use the closed form of
:func:`.observables.two_state_adiabatic_populations` in a loop LLVM
vectorises; more states diagonalise each V with the substep kernel's
eigen-solver compiled for that S (:func:`.propagators.kernels._eigh_ql_fixed`)
and sort the levels ascending (the order of ``numpy.linalg.eigh``). A
trajectory's numbers do not depend on its block or on the thread count.
Imported only when used (it imports numba).
"""

from __future__ import annotations

import numba
import numpy as np

from .backend import use_threads_for
from .propagators.kernels import _BLOCKS_PER_THREAD, _eigh_ql_fixed, _states_token


def per_trajectory_real(v: np.ndarray, c: np.ndarray, p: np.ndarray, inv_mass: np.ndarray, out: dict) -> None:
    """Fill ``out`` (the arrays of ``observables.allocate_parts``) for real V.

    Parameters
    ----------
    v : ndarray, shape (N, S, S), real symmetric, hartree
    c : ndarray, shape (N, S), complex
    p : ndarray, shape (N, D), a.u.
    inv_mass : ndarray, shape (D,)
    out : dict
        ``adiabatic_population``, ``population`` (N, S) and
        ``potential_energy``, ``total_energy``, ``norm`` (N,), written.
    """
    n, s = c.shape
    n_blocks = min(n, _BLOCKS_PER_THREAD * use_threads_for(n, s))
    if n_blocks:
        observables_real(np.ascontiguousarray(v, dtype=np.float64), np.ascontiguousarray(c, dtype=np.complex128),
                         np.ascontiguousarray(p, dtype=np.float64), np.asarray(inv_mass, dtype=np.float64),
                         out["adiabatic_population"], out["population"], out["potential_energy"],
                         out["total_energy"], out["norm"], n_blocks, _states_token(s))


_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")


@numba.njit(parallel=True, cache=True, error_model="numpy")
def observables_real(v, c, p, inv_mass, adiabatic, population, potential, total, norm, n_blocks,
                     states):  # pragma: no cover - compiled
    """Fill the output arrays for every trajectory, in n_blocks parallel blocks.

    Parameters
    ----------
    v : (N, S, S) float64, real symmetric
    c : (N, S) complex128
    p : (N, D) float64
    inv_mass : (D,) float64
    adiabatic, population : (N, S) float64, written
    potential, total, norm : (N,) float64, written
    n_blocks : int
    states : tuple of length S (a compile-time S, as in the substep kernels)
    """
    n = c.shape[0]
    s = len(states)
    for blk in numba.prange(n_blocks):
        lo = blk * n // n_blocks
        hi = (blk + 1) * n // n_blocks
        if s == 2:
            for j in range(lo, hi):
                two_state(j, v[j], c, p, inv_mass, adiabatic, population, potential, total, norm)
        else:
            scratch = general_scratch(states)
            for j in range(lo, hi):
                energies(j, v[j], c, p, inv_mass, population, potential, total, norm, states)
                general(j, v[j], c, adiabatic, scratch, states)


@_inline
def energies(j, vj, c, p, inv_mass, population, potential, total, norm, states):  # pragma: no cover
    """|c_k|^2, the norm, c^H V c and p^T M^-1 p / 2 + c^H V c of trajectory j; vj is its V (S, S)
    (S > 2; two states: :func:`two_state`)."""
    s = len(states)
    e_el = 0.0
    total_norm = 0.0
    for k in range(s):
        wk = c[j, k].real ** 2 + c[j, k].imag ** 2
        population[j, k] = wk
        total_norm += wk
        e_el += vj[k, k] * wk
        for m in range(k + 1, s):
            e_el += 2.0 * vj[k, m] * (c[j, k].real * c[j, m].real + c[j, k].imag * c[j, m].imag)
    kinetic = 0.0
    for d in range(p.shape[1]):
        kinetic += 0.5 * inv_mass[d] * p[j, d] * p[j, d]
    potential[j] = e_el
    total[j] = kinetic + e_el
    norm[j] = total_norm


@_inline
def two_state(j, vj, c, p, inv_mass, adiabatic, population, potential, total, norm):  # pragma: no cover
    """Every output of trajectory j of a two-state model; vj is its V (2, 2)."""
    c0r, c0i, c1r, c1i = c[j, 0].real, c[j, 0].imag, c[j, 1].real, c[j, 1].imag
    w1 = c0r * c0r + c0i * c0i
    w2 = c1r * c1r + c1i * c1i
    lower, upper, e_el = two_state_parts(w1, w2, c0r * c1r + c0i * c1i, vj[0, 0], vj[1, 1], vj[0, 1])
    kinetic = 0.0
    for d in range(p.shape[1]):
        kinetic += 0.5 * inv_mass[d] * p[j, d] * p[j, d]
    store_two_state(j, w1, w2, lower, upper, e_el, kinetic, adiabatic, population, potential, total, norm)


@_inline
def store_two_state(j, w1, w2, lower, upper, e_el, kinetic, adiabatic, population, potential, total,
                    norm):  # pragma: no cover - compiled
    """Row j of every output of a two-state trajectory, from its diabatic populations w1, w2,
    adiabatic ones (lower, upper), c^H V c and kinetic energy."""
    population[j, 0] = w1
    population[j, 1] = w2
    adiabatic[j, 0] = lower
    adiabatic[j, 1] = upper
    potential[j] = e_el
    total[j] = kinetic + e_el
    norm[j] = w1 + w2


@_inline
def two_state_parts(w1, w2, cross, v11, v22, v12):  # pragma: no cover - compiled
    """Adiabatic populations (lower, upper) and c^H V c of one two-state trajectory.

    From its diabatic populations w1, w2, cross = Re(conj(c1) c2) and V; the
    closed form of the NumPy twin in observables.py
    (:func:`~ehrenspeed.observables.two_state_adiabatic_populations`).
    Scalars in and out, so that a loop over a block's rows of these
    quantities vectorises (the fused Tully record, propagators/fused.py).
    sqrt(h^2 + b^2) rather than hypot, a libm call that stops the
    vectorisation; V's entries (hartree) are nowhere near overflow, and the
    two agree to an ulp. The degenerate case is a select, not a branch.
    """
    h = 0.5 * (v11 - v22)
    r = np.sqrt(h * h + v12 * v12)
    shifted = h * (w1 - w2) + 2.0 * v12 * cross
    degenerate = r == 0.0
    split = shifted / (1.0 if degenerate else r)
    split = (w2 - w1) if degenerate else split
    e_el = v11 * w1 + 2.0 * v12 * cross + v22 * w2
    return 0.5 * ((w1 + w2) - split), 0.5 * ((w1 + w2) + split), e_el


@numba.njit(cache=True, nogil=True, error_model="numpy")
def general_scratch(states):  # pragma: no cover - compiled
    """Scratch of :func:`general`: a, lam, zt, two work vectors, the level order."""
    s = len(states)
    return (np.empty((s, s)), np.empty(s), np.empty((s, s)), np.empty(s), np.empty(s),
            np.empty(s, dtype=np.int64))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def general(j, vj, c, adiabatic, scratch, states):  # pragma: no cover - compiled
    """Adiabatic populations of trajectory j by diagonalising its symmetrised V, vj (S, S)."""
    a, lam, zt, x1, x2, order = scratch
    s = len(states)
    for k in range(s):
        for m in range(s):
            a[k, m] = 0.5 * (vj[k, m] + vj[m, k])
    _eigh_ql_fixed(a, lam, zt, x1, x2, states)
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
