"""Compiled (numba) potentials of the analytic models: their hot path.

Kept apart from the model classes so that importing :mod:`ehrenspeed.models`
does not import numba (about 0.4 s, benchmarks/startup.py): the models import
this module the first time a run evaluates a compiled potential. Each routine
computes the same formulas as its model's NumPy methods, which stay the
reference (tests/test_fastpath.py checks they agree to round-off).
"""

from __future__ import annotations

# imported only by models/tully.py and models/vibronic.py, after ..backend has
# set OMP_WAIT_POLICY (which numba reads when it is imported)
import numba
import numpy as np

from ..propagators.vexp import exp_rows

# -- Tully's three models (models/tully.py) ----------------------------------
# The arguments of the two exponentials each model needs, the exponentials
# (vectorised), then V and dV/dx, block by block. One kernel serves the
# three models (``kind``), so it is compiled once.

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
#: inlined into the loops that call it (a call would stop their vectorisation)
_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")


@_inline
def tully_arguments(kind, prm, xi):  # pragma: no cover - compiled
    """Arguments of the two exponentials model ``kind`` needs at x = xi."""
    if kind == 0:      # simple avoided crossing: a, b, c, d
        return -prm[1] * abs(xi), -prm[3] * xi * xi
    if kind == 1:      # dual avoided crossing: a, b, e0, c, d
        return -prm[1] * xi * xi, -prm[4] * xi * xi
    return -prm[2] * abs(xi), 0.0     # extended coupling: a, b, c


@_inline
def tully_elements(kind, prm, xi, e0, e1):  # pragma: no cover - compiled
    """(V11, V22, V12, dV11/dx, dV22/dx, dV12/dx) at x = xi, given the
    exponentials e0, e1 of :func:`tully_arguments`.

    The ``kind`` branch takes the same way at every point and the side of
    x = 0 is a select, so a loop over points has no unpredictable branch.
    Also inlined into the fused Tully step (propagators/fused.py).
    """
    if kind == 0:
        side = 1.0 if xi >= 0.0 else -1.0
        v11 = side * (prm[0] * (1.0 - e0))
        v12 = prm[2] * e1
        d11 = prm[0] * prm[1] * e0
        return v11, -v11, v12, d11, -d11, -2.0 * prm[3] * xi * v12
    if kind == 1:
        well = prm[0] * e0
        v12 = prm[3] * e1
        return 0.0, prm[2] - well, v12, 0.0, 2.0 * prm[1] * xi * well, -2.0 * prm[4] * xi * v12
    v12 = prm[1] * (2.0 - e0) if xi >= 0.0 else prm[1] * e0
    return prm[0], -prm[0], v12, 0.0, 0.0, prm[1] * prm[2] * e0


#: Points per block of :func:`tully_matrices`: the block's arguments and
#: exponentials (4 x 128 doubles) stay in L1.
TULLY_BLOCK = 128


@numba.njit(parallel=True, cache=True, error_model="numpy")
def tully_matrices(kind, prm, x, v, dv, n_blocks, gradient):  # pragma: no cover - compiled
    """V and (with ``gradient``) dV/dx of Tully model ``kind`` at every x, in n_blocks parallel blocks.

    Per block of :data:`TULLY_BLOCK` points: the two exponentials' arguments
    (:func:`tully_arguments`), the exponentials by the vectorised
    :func:`~ehrenspeed.propagators.vexp.exp_rows` (the fused Tully step's
    own, within an ulp of libm's, which costs ~8.6 ns per value here), then
    V and dV/dx (:func:`tully_elements`) into the flat (N * 4) views. A
    point's arithmetic does not depend on its block or the thread count.

    Parameters
    ----------
    kind : int
        0 simple, 1 dual, 2 extended coupling.
    prm : (3,) to (5,)
        The model's ``_kernel_parameters``.
    x : (N,)
    v, dv : (N, 2, 2), (N, 1, 2, 2)
        Written (dv only with ``gradient``; without, it may have no rows).
    n_blocks : int
    gradient : bool
    """
    n = x.size
    vf = v.reshape(-1)
    df = dv.reshape(-1)
    width = TULLY_BLOCK
    for blk in numba.prange(n_blocks):
        arguments = np.empty((2, width))
        e = np.empty((2, width))
        scratch = np.empty(width, dtype=np.int64)
        lo = blk * n // n_blocks
        hi = (blk + 1) * n // n_blocks
        for start in range(lo, hi, width):
            m = min(width, hi - start)
            for k in range(m):
                arguments[0, k], arguments[1, k] = tully_arguments(kind, prm, x[start + k])
            exp_rows(arguments[0], e[0], scratch, m)
            exp_rows(arguments[1], e[1], scratch, m)
            for k in range(m):
                i = start + k
                v11, v22, v12, d11, d22, d12 = tully_elements(kind, prm, x[i], e[0, k], e[1, k])
                vf[4 * i] = v11
                vf[4 * i + 1] = v12
                vf[4 * i + 2] = v12
                vf[4 * i + 3] = v22
                if gradient:
                    df[4 * i] = d11
                    df[4 * i + 1] = d12
                    df[4 * i + 2] = d12
                    df[4 * i + 3] = d22


# -- vibronic coupling models (models/vibronic.py) ---------------------------


#: Trajectories per block of the vibronic evaluation: the block's V and dV/dq
#: rows ((1 + D) S^2 x 64 doubles, 14 KiB for Pyrazine3) stay in L1.
VIBRONIC_BLOCK = 64


@_inline
def vibronic_block(qt, m, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                   hess_terms, hess_values, vt, gt, gradient=True):  # pragma: no cover - compiled
    """V and dV/dq of one transposed block of m <= width trajectories.

    qt (D, width) holds the positions, one row per mode; vt (S^2, width) and
    gt (D S^2, width) receive V and dV/dq, one row per matrix entry, so each
    term is one multiply-add over a contiguous row (SIMD). Every entry sums
    its terms in the same order whatever the block. Shared by
    :func:`vibronic_matrices` and the fused vibronic step
    (propagators/fused.py); arguments as in :func:`vibronic_matrices`
    (``gradient=False``: V alone, gt untouched).
    """
    d = qt.shape[0]
    ss = constant.size
    for kl in range(ss):
        for i in range(m):
            vt[kl, i] = constant[kl]
    for t in range(lin_values.size):
        row = vt[lin_terms[t, 1]]
        qa = qt[lin_terms[t, 0]]
        coefficient = lin_values[t]
        for i in range(m):
            row[i] += qa[i] * coefficient
    for t in range(quad_values.size):
        row = vt[quad_terms[t, 2]]
        qa = qt[quad_terms[t, 0]]
        qb = qt[quad_terms[t, 1]]
        coefficient = quad_values[t]
        for i in range(m):
            row[i] += qa[i] * qb[i] * coefficient
    if not gradient:
        return
    for a in range(d):
        for kl in range(ss):
            value = linear[a, kl]
            for i in range(m):
                gt[a * ss + kl, i] = value
    for t in range(hess_values.size):
        row = gt[hess_terms[t, 0] * ss + hess_terms[t, 2]]
        qb = qt[hess_terms[t, 1]]
        coefficient = hess_values[t]
        for i in range(m):
            row[i] += qb[i] * coefficient


@numba.njit(parallel=True, cache=True, error_model="numpy")
def vibronic_matrices(q, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                      hess_terms, hess_values, v, dv, n_chunks, gradient=True):  # pragma: no cover
    """V = E + sum_a L_a q_a + sum_ab Q_ab q_a q_b and dV/dq_a = L_a + sum_b H_ab q_b
    at every row of q (N, D), into v (N, S, S) and dv (N, D, S, S).

    The polynomial's coefficients come as lists of their nonzero terms (see
    :func:`~.vibronic.sparse_vibronic_terms`): a vibronic coupling model is
    sparse (Pyrazine3: 17 nonzero terms in V of 117 dense ones), and a dense
    sum spent most of its time adding zeros. Blocks of
    :data:`VIBRONIC_BLOCK` trajectories are held transposed
    (:func:`vibronic_block`) and stored back row by row, so results do not
    depend on N or the threads.

    Parameters
    ----------
    q : (N, D)
    constant : (S^2,) and linear : (D, S^2)
        E and L_a, flat: every output starts from them.
    lin_terms, lin_values : (n1, 2) int, (n1,)
        (a, kl) and L_a,kl of the nonzero linear terms of V.
    quad_terms, quad_values : (n2, 3) int, (n2,)
        (a, b, kl) with a <= b and the coefficient of q_a q_b in V_kl.
    hess_terms, hess_values : (n3, 3) int, (n3,)
        (a, b, kl) and H_ab,kl, the nonzero second derivatives.
    v, dv : (N, S, S), (N, D, S, S)
        Written (dv only with ``gradient``; without, it may have no rows).
    n_chunks : int
        Parallel pieces (a few per thread; each allocates its block rows once).
    gradient : bool
        False: V alone (what a record needs).
    """
    n, d = q.shape
    ss = constant.size
    vf = v.reshape(n, ss)
    gf = dv.reshape(dv.shape[0], d * ss)   # (0, D, S, S) when not gradient
    width = VIBRONIC_BLOCK
    n_blocks = (n + width - 1) // width
    n_chunks = max(1, min(n_blocks, n_chunks))
    for chunk in numba.prange(n_chunks):
        qt = np.empty((d, width))
        vt = np.empty((ss, width))
        gt = np.empty((d * ss, width))
        for blk in range(chunk * n_blocks // n_chunks, (chunk + 1) * n_blocks // n_chunks):
            lo = blk * width
            m = min(width, n - lo)
            for i in range(m):
                for a in range(d):
                    qt[a, i] = q[lo + i, a]
            vibronic_block(qt, m, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                           hess_terms, hess_values, vt, gt, gradient)
            for i in range(m):
                for kl in range(ss):
                    vf[lo + i, kl] = vt[kl, i]
            if gradient:
                for i in range(m):
                    for x in range(d * ss):
                        gf[lo + i, x] = gt[x, i]
