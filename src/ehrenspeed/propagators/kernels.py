"""Compiled (numba) potential substep: the fast path of :mod:`.splitting`.

The reference :func:`ehrenspeed.propagators.splitting.potential_substep` is
written with batched NumPy calls; every stage (eigh, b = U^H c, the phases,
rho, R = U rho U^T, the kick) makes an (N, S) or (N, S, S) temporary, and
NumPy's batched ``eigh`` calls LAPACK once per trajectory, which for 2 x 2
matrices costs about a microsecond of call overhead to do a few flops.
This module does the same mathematics fused per trajectory, parallel over
trajectories (``numba.prange``), for real symmetric V and dV/dq:

* S = 2: closed-form eigensystem (a rotation by theta with
  tan 2 theta = 2 V12 / (V11 - V22)) written without branches, over blocks
  of :data:`BLOCK` trajectories held as one row per quantity, so that LLVM
  turns the loop into SIMD code; the phases come from the polynomial
  :func:`.trig.sincos` (libm above :data:`.trig.SINCOS_MAX`);
* S > 2: Householder tridiagonalisation + implicit QL in per-thread scratch
  arrays (accurate to round-off like LAPACK, with no call overhead), over
  chunks of trajectories whose phases are then taken in one SIMD pass.

Two entry points: :func:`potential_substep_numba` takes the matrices V and
dV/dq of every trajectory (Ehrenfest), :func:`taylor_substep_numba` takes
SPEED's shared expansion (qbar, V, G, H) and forms each trajectory's V and
dV/dq in registers or scratch, so a SPEED step holds no (N, S, S) array.

Each trajectory's arithmetic does not depend on which block or chunk it is
in, so results are independent of chunking and thread count. They agree
with the NumPy reference to round-off (not bit for bit: different but
equally accurate eigen-solvers, trigonometry and summation orders), which
``tests/test_fastpath.py`` checks on every built-in model.

No ``fastmath``: it would let the compiler reassociate sums differently in
vectorised and remainder iterations, and then a trajectory's result could
depend on its position in a chunk. ``error_model="numpy"`` instead of
Python's: a division by zero gives inf/nan (none can happen on the paths
used) instead of a test-and-raise that stops vectorisation.

numba is optional (extra ``fast``); without it :data:`HAVE_NUMBA` is False
and callers use the NumPy path.
"""

from __future__ import annotations

import numpy as np

from ..backend import HAVE_NUMBA, use_threads_for  # sets OMP_WAIT_POLICY before numba is imported
from .trig import SINCOS_MAX, sincos

if HAVE_NUMBA:  # pragma: no branch
    import numba

#: Below |x| = this, phi(x) = (exp(ix) - 1)/(ix) is summed as a series; above
#: it, from the product of two phases, whose absolute rounding error ~eps
#: becomes a relative error eps/|x| <= 1e-15 in phi.
PHI_SERIES_MAX = 0.1

#: Trajectories per SIMD block of the two-state kernels: the block's rows
#: (:data:`_ROWS` x BLOCK doubles, 10 KiB) stay in the L1 cache.
BLOCK = 128

#: Blocks per thread: a little over-decomposition balances the threads when
#: some trajectories need more QL iterations than others.
_BLOCKS_PER_THREAD = 4

# rows of a two-state block: V11, V22, V12, then Re/Im of c_1, c_2 (replaced
# by the new coefficients), then R = U Re(rho) U^T (R00, R11, R01)
_V11, _V22, _V12, _C1R, _C1I, _C2R, _C2I, _R00, _R11, _R01 = range(10)
_ROWS = 10


def supports(v: np.ndarray, dv: np.ndarray, c: np.ndarray) -> bool:
    """True when the compiled kernel handles these arrays (real V and dV/dq)."""
    return (HAVE_NUMBA and not np.iscomplexobj(v) and not np.iscomplexobj(dv)
            and c.ndim == 2 and c.shape[1] >= 1)


def supports_taylor(v0: np.ndarray, g: np.ndarray, h: np.ndarray, c: np.ndarray) -> bool:
    """True when :func:`taylor_substep_numba` handles this (real) expansion."""
    return supports(v0, g, c) and not np.iscomplexobj(h)


def _states_token(n_states: int) -> tuple:
    """A tuple of length S: numba compiles the general kernels once per tuple type, so
    S is a constant inside them and their short loops over states unroll."""
    return (0,) * int(n_states)


def _outputs(p: np.ndarray, c: np.ndarray):
    """Contiguous inputs, empty outputs and the number of parallel blocks."""
    if not HAVE_NUMBA:
        raise RuntimeError("numba is not installed: pip install 'ehrenspeed[fast]'")
    p = np.ascontiguousarray(p, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.complex128)
    threads = use_threads_for(c.shape[0], c.shape[1])   # one thread where a second does not pay
    n_blocks = min(c.shape[0], _BLOCKS_PER_THREAD * threads)
    return p, c, np.empty_like(p), np.empty_like(c), n_blocks


def potential_substep_numba(p: np.ndarray, c: np.ndarray, v: np.ndarray, dv: np.ndarray,
                            tau: float) -> tuple[np.ndarray, np.ndarray]:
    """The compiled equivalent of :func:`~.splitting.potential_substep`.

    Parameters
    ----------
    p : ndarray, shape (n, D)
    c : ndarray, shape (n, S), complex
    v : ndarray, shape (n, S, S), real symmetric, hartree
    dv : ndarray, shape (n, D, S, S), real
    tau : float, a.u.

    Returns
    -------
    p_new : ndarray, shape (n, D)
    c_new : ndarray, shape (n, S), complex
    """
    p, c, p_new, c_new, n_blocks = _outputs(p, c)
    if n_blocks:
        v = np.ascontiguousarray(v, dtype=np.float64)
        dv = np.ascontiguousarray(dv, dtype=np.float64)
        if c.shape[1] == 2:
            _kernel_two_state(p, c, v, dv, float(tau), p_new, c_new, n_blocks)
        else:
            _kernel_general(p, c, v, dv, float(tau), p_new, c_new, n_blocks, _states_token(c.shape[1]))
    return p_new, c_new


def taylor_substep_numba(p: np.ndarray, c: np.ndarray, q: np.ndarray, qbar: np.ndarray,
                         v0: np.ndarray, g: np.ndarray, h: np.ndarray,
                         tau: float) -> tuple[np.ndarray, np.ndarray]:
    """The potential substep on SPEED's shared quadratic surface (docs/trajectories.md).

    Equal to round-off to :func:`~.splitting.potential_substep` with the
    matrices of :meth:`ehrenspeed.potentials.TaylorSource.matrices`,

        V(q) = V0 + sum_a d_a (G_a + 1/2 sum_b H_ab d_b),
        dV/dq_a (q) = G_a + sum_b H_ab d_b,        d = q - qbar,

    but each trajectory's V and dV/dq live only in registers or per-thread
    scratch: memory O(n (S + D)) instead of O(n D S^2).

    Parameters
    ----------
    p : ndarray, shape (n, D)
    c : ndarray, shape (n, S), complex
    q : ndarray, shape (n, D)
        Positions, bohr (or the model's coordinates).
    qbar : ndarray, shape (D,)
        Expansion point.
    v0, g, h : ndarray, shapes (S, S), (D, S, S), (D, D, S, S), real
        V, dV/dq and d2V/dq2 at qbar.
    tau : float, a.u.

    Returns
    -------
    p_new : ndarray, shape (n, D)
    c_new : ndarray, shape (n, S), complex
    """
    p, c, p_new, c_new, n_blocks = _outputs(p, c)
    if n_blocks:
        taylor = [np.ascontiguousarray(x, dtype=np.float64) for x in (q, qbar, v0, g, h)]
        if c.shape[1] == 2:
            _kernel_two_state_taylor(p, c, *taylor, float(tau), p_new, c_new, n_blocks)
        else:
            _kernel_general_taylor(p, c, *taylor, float(tau), p_new, c_new, n_blocks, _states_token(c.shape[1]))
    return p_new, c_new


if HAVE_NUMBA:  # pragma: no branch

    _jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    _inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
    _parallel = numba.njit(parallel=True, cache=True, error_model="numpy")

    @_jit
    def _phi_parts(x, cos_x, sin_x):  # pragma: no cover - compiled
        """(Re, Im) of phi(x) = (exp(ix) - 1)/(ix) given cos x, sin x."""
        if abs(x) < PHI_SERIES_MAX:
            # Taylor series; the first omitted terms are < 1e-19 at |x| = 0.1
            x2 = x * x
            re = 1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0)))
            im = 0.5 * x * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (1.0 - x2 / 90.0))))
            return re, im
        return sin_x / x, (1.0 - cos_x) / x

    # -- two states ---------------------------------------------------------

    @_inline
    def _rotation2(v11, v22, v12):  # pragma: no cover - compiled
        """Eigensystem of [[v11, v12], [v12, v22]] without branches.

        Returns (mean, r, cs, sn): eigenvalues mean + r and mean - r, with
        eigenvectors the columns of U = [[cs, -sn], [sn, cs]]. The larger of
        |cs|, |sn| (>= 1/sqrt 2) comes from a square root and the other from
        a division by it, which keeps both accurate. r = sqrt(half^2 + v12^2)
        without hypot's scaling: it underflows to 0 only below 1e-154
        hartree, where exp(-+i r tau) = 1 and U drops out of the substep.
        """
        mean = 0.5 * (v11 + v22)
        half = 0.5 * (v11 - v22)
        r = np.sqrt(half * half + v12 * v12)
        safe_r = r if r > 0.0 else 1.0
        large = np.sqrt(0.5 * (safe_r + abs(half)) / safe_r)
        small = v12 / (2.0 * safe_r * large)
        cs = large if half >= 0.0 else abs(small)
        sn = small if half >= 0.0 else (large if v12 >= 0.0 else -large)
        cs = cs if r > 0.0 else 1.0
        sn = sn if r > 0.0 else 0.0
        return mean, r, cs, sn

    @_inline
    def _rotate2(cs, sn, h, c1r, c1i, c2r, c2i, sin_h, cos_h, sin_m, cos_m):  # pragma: no cover
        """New coefficients and R = U Re(rho) U^T of one two-state trajectory.

        h = r tau is half the phase difference of the two levels, (sin_m,
        cos_m) the phase of their mean. Returns (Re, Im of c_1, c_2;
        R00, R11, R01).
        """
        b0r = cs * c1r + sn * c2r          # adiabatic coefficients b = U^T c
        b0i = cs * c1i + sn * c2i          # (level mean + r)
        b1r = cs * c2r - sn * c1r          # (level mean - r)
        b1i = cs * c2i - sn * c1i
        # exp(-i lambda tau) = exp(-i mean tau) exp(-+ i h)
        e0r = cos_m * cos_h - sin_m * sin_h
        e0i = -(cos_m * sin_h + sin_m * cos_h)
        e1r = cos_m * cos_h + sin_m * sin_h
        e1i = cos_m * sin_h - sin_m * cos_h
        a0r = e0r * b0r - e0i * b0i
        a0i = e0r * b0i + e0i * b0r
        a1r = e1r * b1r - e1i * b1i
        a1i = e1r * b1i + e1i * b1r
        # phi(x) at x = (lambda_0 - lambda_1) tau = 2 h is exp(ih) sin(h)/h
        sinc = sin_h / h if h != 0.0 else 1.0     # both sides computed (SIMD select): 0/0 discarded
        phi_re = sinc * cos_h
        phi_im = sinc * sin_h
        cross_r = b0r * b1r + b0i * b1i    # conj(b0) b1
        cross_i = b0r * b1i - b0i * b1r
        rho01 = cross_r * phi_re - cross_i * phi_im      # Re(rho_01) = Re(rho_10)
        rho00 = b0r * b0r + b0i * b0i
        rho11 = b1r * b1r + b1i * b1i
        return (cs * a0r - sn * a1r, cs * a0i - sn * a1i,
                sn * a0r + cs * a1r, sn * a0i + cs * a1i,
                cs * cs * rho00 - 2.0 * cs * sn * rho01 + sn * sn * rho11,
                sn * sn * rho00 + 2.0 * cs * sn * rho01 + cs * cs * rho11,
                cs * sn * (rho00 - rho11) + (cs * cs - sn * sn) * rho01)

    @_jit
    def _two_state_block(m, tau, rows):  # pragma: no cover - compiled
        """Rotate the m trajectories of a block (SIMD): rows as in _ROWS."""
        v11 = rows[_V11]
        v22 = rows[_V22]
        v12 = rows[_V12]
        c1r = rows[_C1R]
        c1i = rows[_C1I]
        c2r = rows[_C2R]
        c2i = rows[_C2I]
        r00 = rows[_R00]
        r11 = rows[_R11]
        r01 = rows[_R01]
        for k in range(m):
            mean, r, cs, sn = _rotation2(v11[k], v22[k], v12[k])
            h = r * tau
            sin_h, cos_h = sincos(h)
            sin_m, cos_m = sincos(mean * tau)
            n1r, n1i, n2r, n2i, s00, s11, s01 = _rotate2(
                cs, sn, h, c1r[k], c1i[k], c2r[k], c2i[k], sin_h, cos_h, sin_m, cos_m)
            c1r[k] = n1r
            c1i[k] = n1i
            c2r[k] = n2r
            c2i[k] = n2i
            r00[k] = s00
            r11[k] = s11
            r01[k] = s01

    @_inline
    def _redo_large_phase(rows, k, tau, c1r, c1i, c2r, c2i):  # pragma: no cover - compiled
        """Redo trajectory k of a block with libm phases when its phase
        |lambda tau| may exceed the polynomial's range; (c1r, ..., c2i) are
        its coefficients before the substep."""
        v11 = rows[_V11, k]
        v22 = rows[_V22, k]
        v12 = rows[_V12, k]
        # |mean| and r are both <= |v11| + |v22| + |v12|
        if (abs(v11) + abs(v22) + abs(v12)) * abs(tau) > SINCOS_MAX:
            mean, r, cs, sn = _rotation2(v11, v22, v12)
            h = r * tau
            out = _rotate2(cs, sn, h, c1r, c1i, c2r, c2i,
                           np.sin(h), np.cos(h), np.sin(mean * tau), np.cos(mean * tau))
            rows[_C1R, k], rows[_C1I, k], rows[_C2R, k], rows[_C2I, k] = out[0], out[1], out[2], out[3]
            rows[_R00, k], rows[_R11, k], rows[_R01, k] = out[4], out[5], out[6]

    @_jit
    def _finish_block(rows, start, m, c, tau, c_new):  # pragma: no cover - compiled
        """Store the block's coefficients; redo with libm phases any trajectory
        whose phase |lambda tau| may exceed the polynomial's range."""
        for k in range(m):
            j = start + k
            _redo_large_phase(rows, k, tau, c[j, 0].real, c[j, 0].imag, c[j, 1].real, c[j, 1].imag)
            c_new[j, 0] = complex(rows[_C1R, k], rows[_C1I, k])
            c_new[j, 1] = complex(rows[_C2R, k], rows[_C2I, k])

    @_inline
    def _block_bounds(blk, n, n_blocks):  # pragma: no cover - compiled
        """Trajectories [lo, hi) of parallel block blk of n_blocks over n."""
        return blk * n // n_blocks, (blk + 1) * n // n_blocks

    @_inline
    def _load_coefficients(rows, k, c, j):  # pragma: no cover - compiled
        rows[_C1R, k] = c[j, 0].real
        rows[_C1I, k] = c[j, 0].imag
        rows[_C2R, k] = c[j, 1].real
        rows[_C2I, k] = c[j, 1].imag

    @_inline
    def _kick2(rows, k, grad, i, p, p_new, j, tau):  # pragma: no cover - compiled
        """p_new_a = p_a - tau sum_kl R_kl dV_a,kl for trajectory j, whose
        dV/dq is grad[i] (D, 2, 2) and whose R is column k of the block."""
        for a in range(p.shape[1]):
            force = (rows[_R00, k] * grad[i, a, 0, 0] + rows[_R11, k] * grad[i, a, 1, 1]
                     + rows[_R01, k] * (grad[i, a, 0, 1] + grad[i, a, 1, 0]))
            p_new[j, a] = p[j, a] - tau * force

    @_parallel
    def _kernel_two_state(p, c, v, dv, tau, p_new, c_new, n_blocks):  # pragma: no cover
        n = c.shape[0]
        for blk in numba.prange(n_blocks):
            rows = np.empty((_ROWS, BLOCK))
            lo = blk * n // n_blocks
            hi = (blk + 1) * n // n_blocks
            for start in range(lo, hi, BLOCK):
                m = min(BLOCK, hi - start)
                for k in range(m):
                    j = start + k
                    rows[_V11, k] = v[j, 0, 0]
                    rows[_V22, k] = v[j, 1, 1]
                    rows[_V12, k] = 0.5 * (v[j, 0, 1] + v[j, 1, 0])
                    _load_coefficients(rows, k, c, j)
                _two_state_block(m, tau, rows)
                _finish_block(rows, start, m, c, tau, c_new)
                for k in range(m):
                    _kick2(rows, k, dv, start + k, p, p_new, start + k, tau)

    @_jit
    def _taylor_point(j, q, qbar, v0, g, h, dq, vj, grad):  # pragma: no cover - compiled
        """V (S, S) into vj and dV/dq (D, S, S) into grad at trajectory j's
        position on the quadratic surface about qbar; dq is scratch (D,)."""
        n_dof = q.shape[1]
        s = v0.shape[0]
        for a in range(n_dof):
            dq[a] = q[j, a] - qbar[a]
        for k in range(s):
            for l in range(s):
                vj[k, l] = v0[k, l]
        for a in range(n_dof):
            for k in range(s):
                for l in range(s):
                    hd = 0.0
                    for b in range(n_dof):
                        hd += h[a, b, k, l] * dq[b]
                    grad[a, k, l] = g[a, k, l] + hd
                    vj[k, l] += dq[a] * (g[a, k, l] + 0.5 * hd)

    @_inline
    def _taylor_two_state(j, q, qbar, v0, g, h, dq, grads, k):  # pragma: no cover - compiled
        """_taylor_point for S = 2 in scalars: returns (V11, V22, V12) of
        trajectory j and stores its dV/dq in grads[k] (D, 2, 2)."""
        n_dof = q.shape[1]
        for a in range(n_dof):
            dq[a] = q[j, a] - qbar[a]
        v00 = v0[0, 0]
        v11 = v0[1, 1]
        v01 = v0[0, 1]
        v10 = v0[1, 0]
        for a in range(n_dof):
            h00 = 0.0
            h11 = 0.0
            h01 = 0.0
            h10 = 0.0
            for b in range(n_dof):
                h00 += h[a, b, 0, 0] * dq[b]
                h11 += h[a, b, 1, 1] * dq[b]
                h01 += h[a, b, 0, 1] * dq[b]
                h10 += h[a, b, 1, 0] * dq[b]
            grads[k, a, 0, 0] = g[a, 0, 0] + h00
            grads[k, a, 1, 1] = g[a, 1, 1] + h11
            grads[k, a, 0, 1] = g[a, 0, 1] + h01
            grads[k, a, 1, 0] = g[a, 1, 0] + h10
            v00 += dq[a] * (g[a, 0, 0] + 0.5 * h00)
            v11 += dq[a] * (g[a, 1, 1] + 0.5 * h11)
            v01 += dq[a] * (g[a, 0, 1] + 0.5 * h01)
            v10 += dq[a] * (g[a, 1, 0] + 0.5 * h10)
        return v00, v11, 0.5 * (v01 + v10)

    @_parallel
    def _kernel_two_state_taylor(p, c, q, qbar, v0, g, h, tau, p_new, c_new,
                                 n_blocks):  # pragma: no cover - compiled
        n, n_dof = q.shape
        for blk in numba.prange(n_blocks):
            rows = np.empty((_ROWS, BLOCK))
            grads = np.empty((BLOCK, n_dof, 2, 2))
            dq = np.empty(n_dof)
            lo = blk * n // n_blocks
            hi = (blk + 1) * n // n_blocks
            for start in range(lo, hi, BLOCK):
                m = min(BLOCK, hi - start)
                for k in range(m):
                    j = start + k
                    v11, v22, v12 = _taylor_two_state(j, q, qbar, v0, g, h, dq, grads, k)
                    rows[_V11, k] = v11
                    rows[_V22, k] = v22
                    rows[_V12, k] = v12
                    _load_coefficients(rows, k, c, j)
                _two_state_block(m, tau, rows)
                _finish_block(rows, start, m, c, tau, c_new)
                for k in range(m):
                    _kick2(rows, k, grads, k, p, p_new, start + k, tau)

    # -- more than two states -----------------------------------------------

    @_jit
    def _eigh_ql(a, lam, zt, v, w):  # pragma: no cover - compiled
        """Eigen-decompose real symmetric ``a`` (destroyed): see :func:`_eigh_core`."""
        _eigh_core(a, lam, zt, v, w, a.shape[0])

    @_jit
    def _eigh_ql_fixed(a, lam, zt, v, w, states):  # pragma: no cover - compiled
        """:func:`_eigh_ql` compiled for one size, S = len(states) (a tuple): with a
        constant S, LLVM unrolls the short loops over states (for S = 3 the
        general kernel took half the time)."""
        _eigh_core(a, lam, zt, v, w, len(states))

    @_inline
    def _eigh_core(a, lam, zt, v, w, n):  # pragma: no cover - compiled
        """Eigen-decompose real symmetric ``a`` (n, n, destroyed): A = Z diag(lam) Z^T.

        Householder reduction to tridiagonal form, then implicit QL with
        Wilkinson-like shifts (Golub & Van Loan, Matrix Computations,
        sections 8.3; the QL form of
        Numer. Math. 11, 293 (1968)). The eigenvectors are the *rows* of
        ``zt`` (zt = Z^T), so that every rotation and reflection runs over
        contiguous memory. ``v``, ``w`` are length-S scratch vectors.
        Eigenvalues come out unsorted.
        """
        for i in range(n):
            for k in range(n):
                zt[i, k] = 0.0
            zt[i, i] = 1.0
        # -- Householder: A <- H A H with H = I - 2 v v^T acting on k+1..n-1
        for k in range(n - 2):
            # the column scaled by its largest element: with couplings of
            # ~1e-160 the squares would be subnormal, and the reflector built
            # from them not orthogonal (the direction of v does not depend on
            # the scale, only the norms do)
            big = 0.0
            for i in range(k + 1, n):
                big = max(big, abs(a[i, k]))
            if big == 0.0:
                continue
            norm2 = 0.0
            for i in range(k + 1, n):
                x = a[i, k] / big
                norm2 += x * x
            first = a[k + 1, k] / big
            tail = norm2 - first * first
            if tail == 0.0:
                continue  # already tridiagonal in this column
            alpha = np.sqrt(norm2)
            if first > 0.0:
                alpha = -alpha  # v = x - alpha e1 without cancellation
            vnorm2 = 0.0
            for i in range(k + 1, n):
                v[i] = a[i, k] / big
            v[k + 1] -= alpha
            alpha *= big
            for i in range(k + 1, n):
                vnorm2 += v[i] * v[i]
            scale = 1.0 / np.sqrt(vnorm2)
            for i in range(k + 1, n):
                v[i] *= scale
            # p = A22 v, K = v.p, w = p - K v; A22 -= 2 (v w^T + w v^T)
            # p = A22 v as a sum of rows (A22 is symmetric): contiguous
            # multiply-adds the compiler vectorises, unlike a dot product
            for i in range(k + 1, n):
                w[i] = 0.0
            for m in range(k + 1, n):
                vm = v[m]
                for i in range(k + 1, n):
                    w[i] += vm * a[m, i]
            kk = 0.0
            for i in range(k + 1, n):
                kk += v[i] * w[i]
            for i in range(k + 1, n):
                w[i] -= kk * v[i]
            for i in range(k + 1, n):
                vi2 = 2.0 * v[i]
                wi2 = 2.0 * w[i]
                for m in range(k + 1, n):
                    a[i, m] -= vi2 * w[m] + wi2 * v[m]
            a[k + 1, k] = alpha
            a[k, k + 1] = alpha
            for i in range(k + 2, n):
                a[i, k] = 0.0
                a[k, i] = 0.0
            # Z <- Z H, i.e. rows k+1.. of Z^T: zt_i -= 2 v_i (v^T zt)
            for m in range(n):
                w[m] = 0.0
            for i in range(k + 1, n):
                for m in range(n):
                    w[m] += v[i] * zt[i, m]
            for i in range(k + 1, n):
                vi2 = 2.0 * v[i]
                for m in range(n):
                    zt[i, m] -= vi2 * w[m]
        # -- implicit QL on the tridiagonal (d = lam, e = v: e_i couples i, i+1)
        for i in range(n):
            lam[i] = a[i, i]
            v[i] = a[i + 1, i] if i + 1 < n else 0.0
        e = v
        for l in range(n):
            for _iteration in range(64):
                m = l
                while m < n - 1:
                    dd = abs(lam[m]) + abs(lam[m + 1])
                    if abs(e[m]) + dd == dd:
                        break
                    m += 1
                if m == l:
                    break
                g = (lam[l + 1] - lam[l]) / (2.0 * e[l])
                r = np.sqrt(g * g + 1.0)
                g = lam[m] - lam[l] + e[l] / (g + (r if g >= 0.0 else -r))
                sn = 1.0
                cs = 1.0
                p = 0.0
                underflow = False
                for i in range(m - 1, l - 1, -1):
                    f = sn * e[i]
                    b = cs * e[i]
                    # energies are O(1) hartree: no overflow in f^2 + g^2
                    r = np.sqrt(f * f + g * g)
                    e[i + 1] = r
                    if r == 0.0:
                        lam[i + 1] -= p
                        e[m] = 0.0
                        underflow = True
                        break
                    sn = f / r
                    cs = g / r
                    g = lam[i + 1] - p
                    r = (lam[i] - g) * sn + 2.0 * cs * b
                    p = sn * r
                    lam[i + 1] = g + p
                    g = cs * r - b
                    for k in range(n):
                        zf = zt[i + 1, k]
                        zt[i + 1, k] = sn * zt[i, k] + cs * zf
                        zt[i, k] = cs * zt[i, k] - sn * zf
                if underflow:
                    continue
                lam[l] -= p
                e[l] = g
                e[m] = 0.0

    @_inline
    def _propagate(j, p, c, grad, tau, p_new, c_new, lam, zt, sin_lt, cos_lt, b, e, rho, r, w,
                   s):  # pragma: no cover
        """Given V = Z diag(lam) Z^T (eigenvectors = rows of zt), rotate c, kick p.

        grad (D, S, S) is dV/dq at trajectory j's position; sin_lt, cos_lt
        (S,) the sine and cosine of lam tau. b and e are real (2, S) scratch
        (real and imaginary parts), rho, r, w real (S, S). s = S, a
        compile-time constant in the kernels (see :func:`_eigh_ql_fixed`).
        """
        # b = Z^T c, in real arithmetic (Z is real)
        for k in range(s):
            br = 0.0
            bi = 0.0
            for i in range(s):
                z = zt[k, i]
                br += z * c[j, i].real
                bi += z * c[j, i].imag
            b[0, k] = br
            b[1, k] = bi
        # a_k = exp(-i lam_k tau) b_k, kept in w[0], w[1]; c_new = Z a
        for k in range(s):
            sin_k = sin_lt[k]
            cos_k = cos_lt[k]
            e[0, k] = cos_k
            e[1, k] = -sin_k
            w[0, k] = cos_k * b[0, k] + sin_k * b[1, k]
            w[1, k] = cos_k * b[1, k] - sin_k * b[0, k]
        for i in range(s):
            re = 0.0
            im = 0.0
            for k in range(s):
                z = zt[k, i]
                re += z * w[0, k]
                im += z * w[1, k]
            c_new[j, i] = complex(re, im)
        # Re(rho_kl) = Re(conj(b_k) b_l phi((lam_k - lam_l) tau)), symmetric in k, l;
        # its imaginary part is antisymmetric and drops out against a real dV
        for k in range(s):
            rho[k, k] = b[0, k] * b[0, k] + b[1, k] * b[1, k]
            for m in range(k + 1, s):
                x = (lam[k] - lam[m]) * tau
                # exp(ix) = conj(e_k) e_m: no trigonometry per pair (S^2/2 of
                # them for S = 45); accurate enough where it is used, |x| >= 0.1
                eix_re = e[0, k] * e[0, m] + e[1, k] * e[1, m]
                eix_im = e[0, k] * e[1, m] - e[1, k] * e[0, m]
                re, im = _phi_parts(x, eix_re, eix_im)
                cross_re = b[0, k] * b[0, m] + b[1, k] * b[1, m]      # conj(b_k) b_m
                cross_im = b[0, k] * b[1, m] - b[1, k] * b[0, m]
                val = cross_re * re - cross_im * im
                rho[k, m] = val
                rho[m, k] = val
        # R = Z^T rho Z = zt^T (rho zt), symmetric: its upper triangle only;
        # kick_a = sum_im R_im dV_a,im = sum_i R_ii dV_a,ii + sum_i<m R_im (dV_a,im + dV_a,mi)
        for k in range(s):
            for m in range(s):
                w[k, m] = 0.0
            for l in range(s):
                rkl = rho[k, l]
                for m in range(s):
                    w[k, m] += rkl * zt[l, m]
        for i in range(s):
            for m in range(i, s):
                r[i, m] = 0.0
        for k in range(s):
            for i in range(s):
                zki = zt[k, i]
                for m in range(i, s):
                    r[i, m] += zki * w[k, m]
        for d in range(p.shape[1]):
            force = 0.0
            for i in range(s):
                force += r[i, i] * grad[d, i, i]
                for m in range(i + 1, s):
                    force += r[i, m] * (grad[d, i, m] + grad[d, m, i])
            p_new[j, d] = p[j, d] - tau * force

    #: Bytes of the eigensystems (and SPEED's gradients) one chunk of the
    #: general kernels keeps: within L1/L2, so the second pass finds them there.
    _CHUNK_BYTES = 32768

    @_jit
    def _chunk_length(s, n_dof):  # pragma: no cover - compiled
        """Trajectories per chunk of the general kernels (1 to BLOCK)."""
        per_trajectory = 8 * (s * s + 4 * s + n_dof * s * s)
        return max(1, min(BLOCK, _CHUNK_BYTES // per_trajectory))

    @_jit
    def _phases(x, m, sin_x, cos_x):  # pragma: no cover - compiled
        """sin and cos of x[:m]: the polynomial in one loop LLVM vectorises
        (called per level inside the per-trajectory code, it cost 48 ns, a
        third of a three-state substep), then libm where |x| is beyond its
        range (SINCOS_MAX)."""
        for i in range(m):
            sin_x[i], cos_x[i] = sincos(x[i])
        for i in range(m):
            if abs(x[i]) > SINCOS_MAX:
                sin_x[i] = np.sin(x[i])
                cos_x[i] = np.cos(x[i])

    @_jit
    def _general_scratch(s):  # pragma: no cover - compiled
        """Per-block scratch of the general kernel, reused by every trajectory."""
        # a, x1, x2, b, e, rho, w; w needs >= 2 rows for the phases
        return (np.empty((s, s)), np.empty(s), np.empty(s),
                np.empty((2, s)), np.empty((2, s)), np.empty((s, s)), np.empty((max(s, 2), s)))

    @_inline
    def _diagonalise(v, k, tau, scratch, lam, zt, lt, states):  # pragma: no cover - compiled
        """Symmetrise V (S, S), diagonalise it into lam[k], zt[k]; lt[k S + i] = lam_i tau."""
        a, x1, x2, b, e, rho, w = scratch
        s = len(states)
        for i in range(s):
            for m in range(s):
                a[i, m] = 0.5 * (v[i, m] + v[m, i])
        _eigh_ql_fixed(a, lam[k], zt[k], x1, x2, states)
        for i in range(s):
            lt[k * s + i] = lam[k, i] * tau

    @_inline
    def _rotate_chunk(start, m, grads, p, c, tau, p_new, c_new, scratch, lam, zt, lt, sin_lt,
                      cos_lt, states):  # pragma: no cover - compiled
        """The phases of a chunk's m diagonalised trajectories, then each one's rotation and kick;
        grads[k] is dV/dq of trajectory start + k."""
        a, x1, x2, b, e, rho, w = scratch
        s = len(states)
        _phases(lt, m * s, sin_lt, cos_lt)
        for k in range(m):
            _propagate(start + k, p, c, grads[k], tau, p_new, c_new, lam[k], zt[k],
                       sin_lt[k * s:(k + 1) * s], cos_lt[k * s:(k + 1) * s], b, e, rho, a, w, s)

    @_jit
    def _chunk_arrays(chunk, s):  # pragma: no cover - compiled
        """A chunk's eigenvalues (chunk, S), eigenvectors (chunk, S, S), and lam tau with its sines and cosines."""
        return (np.empty((chunk, s)), np.empty((chunk, s, s)), np.empty(chunk * s), np.empty(chunk * s),
                np.empty(chunk * s))

    # Separate kernels rather than one with branches: numba compiles each on
    # first use only, so a run on a two-state model never pays for
    # compiling the general eigen-solver. Both work in chunks of trajectories:
    # diagonalise every V of the chunk, take all the phases in one SIMD pass,
    # then rotate and kick. A trajectory's arithmetic does not depend on its
    # chunk, so results stay independent of chunking and threads.
    @_parallel
    def _kernel_general(p, c, v, dv, tau, p_new, c_new, n_blocks, states):  # pragma: no cover
        n = c.shape[0]
        s = len(states)
        chunk = _chunk_length(s, 0)
        for blk in numba.prange(n_blocks):
            scratch = _general_scratch(s)
            lam, zt, lt, sin_lt, cos_lt = _chunk_arrays(chunk, s)
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, chunk):
                m = min(chunk, hi - start)
                for k in range(m):
                    _diagonalise(v[start + k], k, tau, scratch, lam, zt, lt, states)
                _rotate_chunk(start, m, dv[start:start + m], p, c, tau, p_new, c_new, scratch,
                              lam, zt, lt, sin_lt, cos_lt, states)

    @_parallel
    def _kernel_general_taylor(p, c, q, qbar, v0, g, h, tau, p_new, c_new,
                               n_blocks, states):  # pragma: no cover - compiled
        n = c.shape[0]
        s = len(states)
        n_dof = q.shape[1]
        chunk = _chunk_length(s, n_dof)
        for blk in numba.prange(n_blocks):
            scratch = _general_scratch(s)
            lam, zt, lt, sin_lt, cos_lt = _chunk_arrays(chunk, s)
            dq = np.empty(n_dof)
            vj = np.empty((s, s))
            grads = np.empty((chunk, n_dof, s, s))
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, chunk):
                m = min(chunk, hi - start)
                for k in range(m):
                    _taylor_point(start + k, q, qbar, v0, g, h, dq, vj, grads[k])
                    _diagonalise(vj, k, tau, scratch, lam, zt, lt, states)
                _rotate_chunk(start, m, grads, p, c, tau, p_new, c_new, scratch, lam, zt, lt, sin_lt, cos_lt,
                              states)
