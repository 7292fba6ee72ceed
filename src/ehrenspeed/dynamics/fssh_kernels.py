"""Compiled (numba) FSSH substep: :func:`ehrenspeed.dynamics.fssh.fssh_substep` fused per trajectory.

The NumPy reference makes a dozen (n, S) and (n, S, S) temporaries per
substep and calls LAPACK once per trajectory for a 2 x 2 eigenproblem; here
every trajectory is one loop iteration (parallel over blocks of
trajectories) holding its eigensystem, amplitudes and hop test in per-block
scratch. The eigen-solver is the Householder + implicit QL routine of
:mod:`ehrenspeed.propagators.kernels`. Steps and equations: the
:mod:`ehrenspeed.dynamics.fssh` module docstring. Real symmetric V and
dV/dq only (:func:`supports`); complex models take the NumPy path. Results
agree with the reference to round-off (``tests/test_fssh.py``); a
trajectory's arithmetic does not depend on its block, so chunking and
thread count change nothing.
"""

from __future__ import annotations

import numpy as np

from ..backend import HAVE_NUMBA

if HAVE_NUMBA:  # pragma: no branch
    import numba

    from ..propagators.kernels import _eigh_ql

#: blocks per thread (load balance between trajectories that hop and those that do not)
_BLOCKS_PER_THREAD = 4


def supports(v: np.ndarray, dv: np.ndarray) -> bool:
    """True when the compiled substep handles these matrices (real V and dV/dq)."""
    return HAVE_NUMBA and not np.iscomplexobj(v) and not np.iscomplexobj(dv)


def fssh_substep_numba(p, c, active, u_prev, v, dv, xi, tau, inv_mass, decoherence_constant=None,
                       reverse_frustrated=False):
    """Same arguments and results as :func:`ehrenspeed.dynamics.fssh.fssh_substep` (real V, dV/dq)."""
    n, s = c.shape
    p = np.ascontiguousarray(p, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.complex128)
    u_prev = np.ascontiguousarray(u_prev, dtype=np.complex128)
    out = (np.empty_like(p), np.empty_like(c), np.empty(n, dtype=np.int64), np.empty((n, s, s), np.complex128),
           np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_))
    constant = -1.0 if decoherence_constant is None else float(decoherence_constant)
    n_blocks = max(1, min(n, _BLOCKS_PER_THREAD * numba.get_num_threads()))
    _kernel(p, c, np.ascontiguousarray(active, dtype=np.int64), u_prev, np.ascontiguousarray(v, np.float64),
            np.ascontiguousarray(dv, np.float64), np.ascontiguousarray(xi, np.float64), float(tau),
            np.ascontiguousarray(inv_mass, np.float64), constant, bool(reverse_frustrated), n_blocks, *out)
    return out


if HAVE_NUMBA:  # pragma: no branch
    _jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    _parallel = numba.njit(parallel=True, cache=True, error_model="numpy")

    @_jit
    def _surface_gradient(dv, u, alpha, beta, out):  # pragma: no cover - compiled
        """out_a = u_alpha^T (dV/dq_a) u_beta for one trajectory (real)."""
        n_dof, s = dv.shape[0], dv.shape[1]
        for a in range(n_dof):
            total = 0.0
            for i in range(s):
                row = 0.0
                for k in range(s):
                    row += dv[a, i, k] * u[k, beta]
                total += u[i, alpha] * row
            out[a] = total

    @_jit
    def _rescale(p, d, inv_mass, gap):  # pragma: no cover - compiled
        """p <- p + gamma d with T(p') = T(p) - gap, |gamma| smallest; False if impossible."""
        n_dof = p.shape[0]
        a = 0.0
        for x in range(n_dof):
            a += 0.5 * d[x] * d[x] * inv_mass[x]
        if not a > 1e-300:  # no coupling direction: scale the whole momentum
            for x in range(n_dof):
                d[x] = p[x]
            a = 0.0
            for x in range(n_dof):
                a += 0.5 * d[x] * d[x] * inv_mass[x]
            if not a > 1e-300:
                return not gap > 0
        b = 0.0
        for x in range(n_dof):
            b += p[x] * d[x] * inv_mass[x]
        disc = b * b - 4.0 * a * gap
        if disc < 0:
            return False
        root = np.sqrt(disc)
        gamma = (-b + root) / (2 * a) if b >= 0 else (-b - root) / (2 * a)
        for x in range(n_dof):
            p[x] += gamma * d[x]
        return True

    @_jit
    def _one(j, p, c, active, u_prev, v, dv, xi, tau, inv_mass, constant, reverse,
             p_new, c_new, active_new, u_new, hopped, frustrated, scratch):  # pragma: no cover
        a_mat, lam_raw, zt, x1, x2, lam, u, a_old, a_new, prob, grad, d, pj, f2, order = scratch
        s = c.shape[1]
        n_dof = p.shape[1]
        # 1. eigenvectors (columns of u), ascending, phases continuous with u_prev
        for i in range(s):
            for k in range(s):
                a_mat[i, k] = 0.5 * (v[j, i, k] + v[j, k, i])
        _eigh_ql(a_mat, lam_raw, zt, x1, x2)
        for k in range(s):  # ascending order by insertion (no allocation inside the loop)
            order[k] = k
            i = k
            while i > 0 and lam_raw[order[i - 1]] > lam_raw[order[i]]:
                order[i - 1], order[i] = order[i], order[i - 1]
                i -= 1
        for k in range(s):
            lam[k] = lam_raw[order[k]]
            for i in range(s):
                u[i, k] = zt[order[k], i]
        for k in range(s):
            overlap = 0.0
            size_re = 0.0
            size_im = 0.0
            for i in range(s):
                size_re += u_prev[j, i, k].real * u[i, k]
                size_im -= u_prev[j, i, k].imag * u[i, k]
            overlap = np.hypot(size_re, size_im)
            if overlap > 1e-12 and size_re < 0:
                for i in range(s):
                    u[i, k] = -u[i, k]
        # 2. amplitudes in the previous and the new basis, hop probabilities
        for k in range(s):
            acc = 0j
            for i in range(s):
                acc += np.conj(u_prev[j, i, k]) * c[j, i]
            a_old[k] = acc
        for k in range(s):
            acc = 0j
            for i in range(s):
                acc += u[i, k] * c[j, i]
            a_new[k] = acc
        alpha = active[j]
        rho_old = a_old[alpha].real ** 2 + a_old[alpha].imag ** 2
        rho_new = a_new[alpha].real ** 2 + a_new[alpha].imag ** 2
        positive = 0.0
        signed = 0.0
        for k in range(s):
            prob[k] = 0.0
            if k == alpha:
                continue
            s_k_alpha = 0j  # S_k,alpha = u_k^T u_prev_alpha
            for i in range(s):
                s_k_alpha += u[i, k] * u_prev[j, i, alpha]
            flux = (np.conj(a_new[k]) * s_k_alpha * a_old[alpha]).real
            signed += flux
            if flux > 0:
                prob[k] = flux
                positive += flux
        target = -1
        if rho_old > rho_new and rho_old > 1e-300 and positive > 1e-300:
            # shares of the signed flux sum (Granucci-Persico-Toniolo), as fssh.hop_probabilities
            total = signed if signed > 1e-300 else positive
            lost = (rho_old - rho_new) / rho_old
            whole = 0.0
            for k in range(s):
                prob[k] = lost * prob[k] / total
                whole += prob[k]
            whole = max(whole, 1.0)
            cumulative = 0.0
            for k in range(s):
                cumulative += prob[k] / whole
                if target < 0 and prob[k] > 0 and xi[j] < cumulative:
                    target = k
        # 3-5. half kick, hop with rescaling (or frustrated), half kick
        for x in range(n_dof):
            pj[x] = p[j, x]
        _surface_gradient(dv[j], u, alpha, alpha, grad)
        for x in range(n_dof):
            pj[x] -= 0.5 * tau * grad[x]
        hopped[j] = False
        frustrated[j] = False
        if target >= 0:
            _surface_gradient(dv[j], u, alpha, target, d)
            for x in range(n_dof):
                f2[x] = d[x]  # the coupling direction, kept for the reversal rule
            if _rescale(pj, d, inv_mass, lam[target] - lam[alpha]):
                alpha = target
                hopped[j] = True
            else:
                frustrated[j] = True
                if reverse:
                    f_alpha = 0.0
                    f_target = 0.0
                    velocity = 0.0
                    half = 0.0
                    _surface_gradient(dv[j], u, target, target, d)
                    for x in range(n_dof):
                        f_alpha -= grad[x] * f2[x]
                        f_target -= d[x] * f2[x]
                        velocity += pj[x] * f2[x] * inv_mass[x]
                        half += 0.5 * f2[x] * f2[x] * inv_mass[x]
                    if f_alpha * f_target < 0 and f_target * velocity < 0:
                        for x in range(n_dof):
                            pj[x] -= (velocity / half) * f2[x]
        _surface_gradient(dv[j], u, alpha, alpha, grad)
        kinetic = 0.0
        for x in range(n_dof):
            p_new[j, x] = pj[x] - 0.5 * tau * grad[x]
            kinetic += 0.5 * p_new[j, x] * p_new[j, x] * inv_mass[x]
        active_new[j] = alpha
        # 6. electrons in the frozen V; 7. decoherence
        for k in range(s):
            a_new[k] = a_new[k] * np.exp(-1j * tau * lam[k])
        if constant > 0:
            norm = 0.0
            others = 0.0
            for k in range(s):
                norm += a_new[k].real ** 2 + a_new[k].imag ** 2
            for k in range(s):
                if k != alpha:
                    rate = abs(lam[k] - lam[alpha]) / (1.0 + constant / max(kinetic, 1e-300))
                    a_new[k] = a_new[k] * np.exp(-abs(tau) * rate)
                    others += a_new[k].real ** 2 + a_new[k].imag ** 2
            own = a_new[alpha].real ** 2 + a_new[alpha].imag ** 2
            if own > 1e-300:
                a_new[alpha] = a_new[alpha] * np.sqrt(max(norm - others, 0.0) / own)
        for i in range(s):
            acc = 0j
            for k in range(s):
                acc += u[i, k] * a_new[k]
            c_new[j, i] = acc
            for k in range(s):
                u_new[j, i, k] = u[i, k]

    @_jit
    def _scratch(s, n_dof):  # pragma: no cover - compiled
        return (np.empty((s, s)), np.empty(s), np.empty((s, s)), np.empty(s), np.empty(s), np.empty(s),
                np.empty((s, s)), np.empty(s, np.complex128), np.empty(s, np.complex128), np.empty(s),
                np.empty(n_dof), np.empty(n_dof), np.empty(n_dof), np.empty(n_dof), np.empty(s, np.int64))

    @_parallel
    def _kernel(p, c, active, u_prev, v, dv, xi, tau, inv_mass, constant, reverse, n_blocks,
                p_new, c_new, active_new, u_new, hopped, frustrated):  # pragma: no cover - compiled
        n, s = c.shape
        n_dof = p.shape[1]
        for blk in numba.prange(n_blocks):
            scratch = _scratch(s, n_dof)
            for j in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
                _one(j, p, c, active, u_prev, v, dv, xi, tau, inv_mass, constant, reverse,
                     p_new, c_new, active_new, u_new, hopped, frustrated, scratch)
