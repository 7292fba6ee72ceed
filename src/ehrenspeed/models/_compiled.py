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

# -- Tully's three models (models/tully.py) ----------------------------------
# numba computes the arguments of the two exponentials each model needs,
# NumPy's SIMD exp evaluates them, numba assembles V and dV/dx. One pair of
# kernels serves the three models (``kind``), so it is compiled once.

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


@_jit
def tully_exponents(kind, prm, x, out):  # pragma: no cover - compiled
    """Arguments of the model's two exponentials; prm as in the model's ``_kernel_parameters``."""
    for i in range(x.size):
        out[0, i], out[1, i] = tully_arguments(kind, prm, x[i])


@_jit
def tully_assemble(kind, prm, x, e, v, dv):  # pragma: no cover - compiled
    """V and dV/dx from x and the exponentials e (2, N).

    Written into the flat (N * 4) views. The pass is bound by the stores of
    V and dV/dx (64 bytes per point).
    """
    vf = v.reshape(-1)
    df = dv.reshape(-1)
    for i in range(x.size):
        v11, v22, v12, d11, d22, d12 = tully_elements(kind, prm, x[i], e[0, i], e[1, i])
        vf[4 * i] = v11
        vf[4 * i + 1] = v12
        vf[4 * i + 2] = v12
        vf[4 * i + 3] = v22
        df[4 * i] = d11
        df[4 * i + 1] = d12
        df[4 * i + 2] = d12
        df[4 * i + 3] = d22


# -- vibronic coupling models (models/vibronic.py) ---------------------------


@numba.njit(parallel=True, cache=True, error_model="numpy")
def vibronic_matrices(q, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                      hess_terms, hess_values, v, dv):  # pragma: no cover
    """V = E + sum_a L_a q_a + sum_ab Q_ab q_a q_b and dV/dq_a = L_a + sum_b H_ab q_b
    at every row of q (N, D), into v (N, S, S) and dv (N, D, S, S).

    The (S, S) matrices are flat rows of S^2 numbers. The polynomial's
    coefficients come as lists of their nonzero terms (see
    :func:`sparse_vibronic_terms`): a vibronic coupling model is sparse
    (Pyrazine3: 17 nonzero terms in V of 117 dense ones), and a dense sum
    spent most of its time adding zeros.

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
    """
    n, d = q.shape
    ss = constant.size
    vf = v.reshape(n, ss)
    dvf = dv.reshape(n, d, ss)
    for j in numba.prange(n):
        for kl in range(ss):
            vf[j, kl] = constant[kl]
        for t in range(lin_values.size):
            vf[j, lin_terms[t, 1]] += q[j, lin_terms[t, 0]] * lin_values[t]
        for t in range(quad_values.size):
            vf[j, quad_terms[t, 2]] += q[j, quad_terms[t, 0]] * q[j, quad_terms[t, 1]] * quad_values[t]
        for a in range(d):
            for kl in range(ss):
                dvf[j, a, kl] = linear[a, kl]
        for t in range(hess_values.size):
            dvf[j, hess_terms[t, 0], hess_terms[t, 2]] += q[j, hess_terms[t, 1]] * hess_values[t]
