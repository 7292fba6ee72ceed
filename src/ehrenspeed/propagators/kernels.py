"""Compiled (numba) potential substep: the fast path of :mod:`.splitting`.

The reference :func:`ehrenspeed.propagators.splitting.potential_substep` is
written with batched NumPy calls; every stage (eigh, b = U^H c, the phases,
rho, R = U rho U^T, the kick) makes an (N, S) or (N, S, S) temporary, and
NumPy's batched ``eigh`` calls LAPACK once per trajectory, which for 2 x 2
matrices costs about a microsecond of call overhead to do a few flops.
This module does the same mathematics as one fused pass per trajectory,
parallel over trajectories (``numba.prange``), for real symmetric V and dV/dq:

* S = 2: closed-form eigensystem (a rotation by theta with
  tan 2 theta = 2 V12 / (V11 - V22)), all in scalars, no memory traffic
  beyond reading V, dV, p, c and writing p, c;
* 2 < S <= ``JACOBI_MAX_STATES``: cyclic Jacobi rotations in per-thread
  scratch arrays (accurate to round-off like LAPACK, with no call overhead);
* larger S: LAPACK ``syevd`` through ``numpy.linalg.eigh`` (the same routine
  NumPy uses), and BLAS for the two S x S products R = U rho U^T.

Each trajectory's arithmetic does not depend on which block or chunk it is
in, so results are independent of chunking and thread count. They agree
with the NumPy reference to round-off (not bit for bit: different but
equally accurate eigen-solvers and summation orders), which
``tests/test_fastpath.py`` checks on every built-in model.

No ``fastmath``: it would let the compiler reassociate sums differently in
vectorised and remainder iterations, and then a trajectory's result could
depend on its position in a chunk.

numba is optional (extra ``fast``); without it :data:`HAVE_NUMBA` is False
and callers use the NumPy path.
"""

from __future__ import annotations

import os

import numpy as np

# numba's OpenMP threads spin while they wait for work by default. When the
# cores are shared with other processes a spinning thread holds a core that
# the thread it waits for needs, and a parallel region can take a whole
# scheduler time slice (measured: 5x slower steps on a loaded 2-core
# machine). Passive waiting costs microseconds on an idle machine. An
# explicit OMP_WAIT_POLICY in the environment is respected.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # optional dependency: the package works (more slowly) without it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

HAVE_NUMBA = numba is not None

#: Below |x| = this, phi(x) = (exp(ix) - 1)/(ix) is summed as a series; above
#: it, from the product of two phases, whose absolute rounding error ~eps
#: becomes a relative error eps/|x| <= 1e-15 in phi.
PHI_SERIES_MAX = 0.1

#: Blocks per thread: a little over-decomposition balances the threads when
#: some trajectories need more Jacobi sweeps than others.
_BLOCKS_PER_THREAD = 4


def supports(v: np.ndarray, dv: np.ndarray, c: np.ndarray) -> bool:
    """True when the compiled kernel handles these arrays (real V and dV/dq)."""
    return (HAVE_NUMBA and not np.iscomplexobj(v) and not np.iscomplexobj(dv)
            and c.ndim == 2 and c.shape[1] >= 1)


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
    if not HAVE_NUMBA:
        raise RuntimeError("numba is not installed: pip install 'ehrenspeed[fast]'")
    p = np.ascontiguousarray(p, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.complex128)
    v = np.ascontiguousarray(v, dtype=np.float64)
    dv = np.ascontiguousarray(dv, dtype=np.float64)
    p_new = np.empty_like(p)
    c_new = np.empty_like(c)
    n = c.shape[0]
    if n == 0:
        return p_new, c_new
    n_blocks = min(n, _BLOCKS_PER_THREAD * numba.get_num_threads())
    kernel = _kernel_two_state if c.shape[1] == 2 else _kernel_general
    kernel(p, c, v, dv, float(tau), p_new, c_new, n_blocks)
    return p_new, c_new


if HAVE_NUMBA:  # pragma: no branch

    _jit = numba.njit(cache=True, nogil=True)

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

    @_jit
    def _two_state(j, p, c, v, dv, tau, p_new, c_new):  # pragma: no cover - compiled
        """Closed-form substep of trajectory j for S = 2."""
        v11 = v[j, 0, 0]
        v22 = v[j, 1, 1]
        v12 = 0.5 * (v[j, 0, 1] + v[j, 1, 0])
        mean = 0.5 * (v11 + v22)
        half = 0.5 * (v11 - v22)
        r = np.hypot(half, v12)
        # U = [[cs, -sn], [sn, cs]]: column 0 has eigenvalue mean + r,
        # column 1 mean - r. The branch keeps the divisor >= r / sqrt 2.
        if r == 0.0:
            cs, sn = 1.0, 0.0
        elif half >= 0.0:
            cs = np.sqrt(0.5 * (r + half) / r)
            sn = v12 / (2.0 * r * cs)
        else:
            sn = np.sqrt(0.5 * (r - half) / r)
            if v12 < 0.0:
                sn = -sn
            cs = v12 / (2.0 * r * sn)
        c1 = c[j, 0]
        c2 = c[j, 1]
        b0 = cs * c1 + sn * c2            # adiabatic coefficient, lambda = mean + r
        b1 = -sn * c1 + cs * c2           # lambda = mean - r
        # exp(-i lambda tau) = exp(-i mean tau) exp(-+ i r tau)
        h = r * tau
        ch, sh = np.cos(h), np.sin(h)
        common = np.cos(mean * tau) - 1j * np.sin(mean * tau)
        e0 = common * (ch - 1j * sh)
        e1 = common * (ch + 1j * sh)
        a0 = e0 * b0
        a1 = e1 * b1
        c_new[j, 0] = cs * a0 - sn * a1
        c_new[j, 1] = sn * a0 + cs * a1
        # phi(x), x = (lambda_0 - lambda_1) tau = 2 h: phi = sin(h)/h exp(ih)
        if h == 0.0:
            sinc = 1.0
        else:
            sinc = sh / h
        phi_re = sinc * ch
        phi_im = sinc * sh
        cross = np.conj(b0) * b1
        rho01 = cross.real * phi_re - cross.imag * phi_im   # Re(rho_01) = Re(rho_10)
        rho00 = b0.real * b0.real + b0.imag * b0.imag
        rho11 = b1.real * b1.real + b1.imag * b1.imag
        # R = U Re(rho) U^T, then the kick sum_ij R_ij dV_ij
        r00 = cs * cs * rho00 - 2.0 * cs * sn * rho01 + sn * sn * rho11
        r11 = sn * sn * rho00 + 2.0 * cs * sn * rho01 + cs * cs * rho11
        r01 = cs * sn * (rho00 - rho11) + (cs * cs - sn * sn) * rho01
        for a in range(p.shape[1]):
            force = (r00 * dv[j, a, 0, 0] + r11 * dv[j, a, 1, 1]
                     + r01 * (dv[j, a, 0, 1] + dv[j, a, 1, 0]))
            p_new[j, a] = p[j, a] - tau * force

    @_jit
    def _eigh_ql(a, lam, zt, v, w):  # pragma: no cover - compiled
        """Eigen-decompose real symmetric ``a`` (destroyed): A = Z diag(lam) Z^T.

        Householder reduction to tridiagonal form, then implicit QL with
        Wilkinson-like shifts (Golub & Van Loan, Matrix Computations,
        sections 8.3; the QL form of Bowdler, Martin, Reinsch & Wilkinson,
        Numer. Math. 11, 293 (1968)). The eigenvectors are the *rows* of
        ``zt`` (zt = Z^T), so that every rotation and reflection runs over
        contiguous memory. ``v``, ``w`` are length-S scratch vectors.
        Eigenvalues come out unsorted.
        """
        n = a.shape[0]
        for i in range(n):
            for k in range(n):
                zt[i, k] = 0.0
            zt[i, i] = 1.0
        # -- Householder: A <- H A H with H = I - 2 v v^T acting on k+1..n-1
        for k in range(n - 2):
            norm2 = 0.0
            for i in range(k + 1, n):
                norm2 += a[i, k] * a[i, k]
            tail = norm2 - a[k + 1, k] * a[k + 1, k]
            if tail == 0.0:
                continue  # already tridiagonal in this column
            alpha = np.sqrt(norm2)
            if a[k + 1, k] > 0.0:
                alpha = -alpha  # v = x - alpha e1 without cancellation
            vnorm2 = 0.0
            for i in range(k + 1, n):
                v[i] = a[i, k]
            v[k + 1] -= alpha
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

    @_jit
    def _propagate(j, p, c, dv, tau, p_new, c_new, lam, zt, b, e, rho, r, w):  # pragma: no cover
        """Given V = Z diag(lam) Z^T (eigenvectors = rows of zt), rotate c, kick p."""
        s = c.shape[1]
        # b = Z^T c, then c_new = Z exp(-i lam tau) b
        for k in range(s):
            acc = 0.0 + 0.0j
            for i in range(s):
                acc += zt[k, i] * c[j, i]
            b[k] = acc
        for i in range(s):
            c_new[j, i] = 0.0
        for k in range(s):
            e[k] = np.cos(lam[k] * tau) - 1j * np.sin(lam[k] * tau)   # exp(-i lam_k tau)
            ak = e[k] * b[k]
            for i in range(s):
                c_new[j, i] += zt[k, i] * ak
        # Re(rho_kl) = Re(conj(b_k) b_l phi((lam_k - lam_l) tau)), symmetric in k, l;
        # its imaginary part is antisymmetric and drops out against a real dV
        for k in range(s):
            rho[k, k] = b[k].real * b[k].real + b[k].imag * b[k].imag
            for m in range(k + 1, s):
                x = (lam[k] - lam[m]) * tau
                # exp(ix) = conj(e_k) e_m: no trigonometry per pair (S^2/2 of
                # them for S = 45); accurate enough where it is used, |x| >= 0.1
                eix = np.conj(e[k]) * e[m]
                re, im = _phi_parts(x, eix.real, eix.imag)
                cross = np.conj(b[k]) * b[m]
                val = cross.real * re - cross.imag * im
                rho[k, m] = val
                rho[m, k] = val
        # R = Z rho Z^T = zt^T (rho zt); kick_a = sum_im R_im dV_a,im
        for k in range(s):
            for m in range(s):
                w[k, m] = 0.0
            for l in range(s):
                rkl = rho[k, l]
                for m in range(s):
                    w[k, m] += rkl * zt[l, m]
        for i in range(s):
            for m in range(s):
                r[i, m] = 0.0
        for k in range(s):
            for i in range(s):
                zki = zt[k, i]
                for m in range(s):
                    r[i, m] += zki * w[k, m]
        for d in range(p.shape[1]):
            force = 0.0
            for i in range(s):
                for m in range(s):
                    force += r[i, m] * dv[j, d, i, m]
            p_new[j, d] = p[j, d] - tau * force

    # Two kernels rather than one with a branch: numba compiles each on
    # first use only, so a run on a two-state model never pays for
    # compiling the general eigen-solver.
    _parallel = numba.njit(parallel=True, cache=True)

    @_parallel
    def _kernel_two_state(p, c, v, dv, tau, p_new, c_new, n_blocks):  # pragma: no cover
        n = c.shape[0]
        for blk in numba.prange(n_blocks):
            for j in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
                _two_state(j, p, c, v, dv, tau, p_new, c_new)

    @_parallel
    def _kernel_general(p, c, v, dv, tau, p_new, c_new, n_blocks):  # pragma: no cover
        n, s = c.shape
        for blk in numba.prange(n_blocks):
            # per-block scratch: allocated once, reused by every trajectory
            a = np.empty((s, s))
            lam = np.empty(s)
            zt = np.empty((s, s))
            x1 = np.empty(s)
            x2 = np.empty(s)
            b = np.empty(s, dtype=np.complex128)
            e = np.empty(s, dtype=np.complex128)
            rho = np.empty((s, s))
            w = np.empty((s, s))
            for j in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
                for i in range(s):
                    for k in range(s):
                        a[i, k] = 0.5 * (v[j, i, k] + v[j, k, i])
                _eigh_ql(a, lam, zt, x1, x2)
                _propagate(j, p, c, dv, tau, p_new, c_new, lam, zt, b, e, rho, a, w)
