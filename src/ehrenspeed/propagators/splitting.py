"""Splitting integrators for trajectory ensembles (docs/trajectories.md).

The Ehrenfest flow is split into a kinetic part and a potential part, each
solved exactly:

* kinetic, time tau: q <- q + tau M^-1 p (p, c unchanged); periodic
  coordinates are wrapped afterwards;
* potential, time tau, with q frozen so V is constant: with
  V = U diag(lambda) U^H and b = U^H c,

      c(tau) = U diag(exp(-i lambda tau)) b,
      p <- p - tau Re sum_kl conj(b_k) b_l F~_kl phi((lambda_k - lambda_l) tau),
      F~ = U^H (dV/dq) U,   phi(x) = (exp(i x) - 1) / (i x),  phi(0) = 1,

  which is the exact time integral of the force -c(s)^H dV/dq c(s) while the
  electrons rotate in the frozen V.

The Strang step T(dt/2) V(dt) T(dt/2) is second order, time reversible and
exactly norm conserving. Symmetric compositions of it give higher orders
(H. Yoshida, Phys. Lett. A 150, 262 (1990); Phys. Lett. A 146, 319 (1990)).

Rules for implementers of a new integrator: subclass :class:`Splitting`,
give ``name``, ``order`` and the composition ``weights`` (symmetric, summing
to 1); each weight costs one potential substep (one SPEED evaluation).

Backends. :func:`potential_substep` below is the NumPy reference. The
compiled kernels :func:`.kernels.potential_substep_numba` and (SPEED)
:func:`.kernels.taylor_substep_numba` do the same mathematics fused per
trajectory and in parallel; they agree with the reference to round-off.
The backend is chosen per call (``backend=`` of :meth:`Splitting.step`) or,
when that is None, by the package default (:mod:`ehrenspeed.backend`):
numba when installed and V, dV/dq are real, NumPy otherwise.
"""

from __future__ import annotations

import numpy as np

from ..backend import BACKENDS, check_backend, compiled, get_backend, set_backend, use_backend  # noqa: F401
from ..multicentre import MultiTaylorData
from ..potentials import TaylorData, context_rows, taylor_matrices
from ..sampling import State


_kernels_module = None


def _kernels():
    """The compiled kernels' module, imported (with numba) on first use, then kept:
    an import statement per substep cost ~2-30 us (more on a loaded machine)."""
    global _kernels_module
    if _kernels_module is None:
        from . import kernels

        _kernels_module = kernels
    return _kernels_module


def substep_function(backend: str | None, v: np.ndarray, dv: np.ndarray, c: np.ndarray):
    """The potential-substep implementation for these arrays and this backend.

    The compiled kernel handles real V and dV/dq; complex (Hermitian) ones
    always take the NumPy reference path.
    """
    if not compiled(backend):
        return potential_substep
    kernels = _kernels()  # imports numba: only when the compiled path can run
    if kernels.supports(v, dv, c):
        return kernels.potential_substep_numba
    return potential_substep


def _taylor_kernel(context, c: np.ndarray, backend: str | None):
    """The compiled substep on SPEED's Taylor surface, when it applies (else None)."""
    if not isinstance(context, TaylorData) or context.t is not None:
        return None  # the kernel is the quadratic expansion; the cubic one takes the NumPy path
    if not compiled(backend):
        return None
    kernels = _kernels()  # imports numba: only when the compiled path can run
    if kernels.supports_taylor(context.v, context.g, context.h, c):
        return kernels.taylor_substep_numba
    return None


#: Below this |x| the series 1 + i x/2 - x^2/6 replaces (exp(ix) - 1)/(ix),
#: whose direct evaluation loses digits to cancellation.
_PHI_SERIES = 1e-4


def phi(x: np.ndarray) -> np.ndarray:
    """phi(x) = (exp(i x) - 1) / (i x), with phi(0) = 1; x real, any shape."""
    small = np.abs(x) < _PHI_SERIES
    safe = np.where(small, 1.0, x)
    direct = np.expm1(1j * safe) / (1j * safe)
    series = 1.0 + 0.5j * x - x * x / 6.0
    return np.where(small, series, direct)


def potential_substep(p: np.ndarray, c: np.ndarray, v: np.ndarray, dv: np.ndarray,
                      tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact electron propagation and exact time-integrated momentum kick.

    Parameters
    ----------
    p : ndarray, shape (n, D)
        Momenta before the substep.
    c : ndarray, shape (n, S), complex
        Electronic coefficients before the substep.
    v : ndarray, shape (n, S, S)
        Diabatic matrices at the frozen positions, hartree (Hermitian).
    dv : ndarray, shape (n, D, S, S)
        Their derivatives dV/dq_a.
    tau : float
        Substep length, a.u. (may be negative: backward propagation).

    Returns
    -------
    p_new : ndarray, shape (n, D)
    c_new : ndarray, shape (n, S)

    Notes
    -----
    The kick sum_kl rho_kl (U^H dV_a U)_kl with rho_kl = conj(b_k) b_l phi_kl
    is evaluated as sum_ij R_ij dV_a,ij with R = conj(U) rho U^T, which costs
    O(S^3 + D S^2) per trajectory instead of O(D S^3).
    """
    r, c_new = averaged_density(c, v, tau)
    if np.iscomplexobj(dv):
        force_integral = np.einsum("nij,naij->na", r, dv).real
    else:
        force_integral = np.einsum("nij,naij->na", r.real, dv)
    return p - tau * force_integral, c_new


def averaged_density(c: np.ndarray, v: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged electronic density while c rotates in a frozen V.

    For any constant matrix X (S, S), the exact time integral of the
    expectation value along the rotation c(s) = exp(-i V s) c is

        int_0^tau c(s)^H X c(s) ds = tau * sum_ij R_ij X_ij,

    with R = conj(U) rho U^T, rho_kl = conj(b_k) b_l phi((lambda_k - lambda_l) tau),
    V = U diag(lambda) U^H and b = U^H c. The Ehrenfest kick contracts R with
    dV/dq; thawed Gaussian Ehrenfest also contracts it with the Hessian.

    Parameters
    ----------
    c : ndarray, shape (n, S), complex
    v : ndarray, shape (n, S, S), Hermitian, hartree
    tau : float, a.u.

    Returns
    -------
    r : ndarray, shape (n, S, S), complex
        The averaged density R (Hermitian up to the transpose convention:
        the real part of sum_ij R_ij X_ij is the integral for Hermitian X).
    c_new : ndarray, shape (n, S), complex
        exp(-i V tau) c.
    """
    lam, u, b, c_new = rotate_coefficients(c, v, tau)
    x = (lam[:, :, None] - lam[:, None, :]) * tau
    rho = np.conj(b)[:, :, None] * b[:, None, :] * phi(x)
    r = np.conj(u) @ rho @ np.swapaxes(u, 1, 2)              # (n,S,S)
    return r, c_new


def rotate_coefficients(c: np.ndarray, v: np.ndarray, tau: float):
    """Exact electronic propagation c <- exp(-i V tau) c in a frozen V.

    Parameters
    ----------
    c : ndarray, shape (n, S), complex
    v : ndarray, shape (n, S, S), Hermitian, hartree
    tau : float, a.u.

    Returns
    -------
    lam : ndarray, shape (n, S)
        Eigenvalues of V, ascending.
    u : ndarray, shape (n, S, S)
        Eigenvectors (columns).
    b : ndarray, shape (n, S)
        Adiabatic coefficients before the rotation, U^H c.
    c_new : ndarray, shape (n, S)
        U diag(exp(-i lam tau)) U^H c.
    """
    lam, u = np.linalg.eigh(v)
    b = np.einsum("nlk,nl->nk", np.conj(u), c)
    c_new = np.einsum("nkl,nl->nk", u, np.exp(-1j * tau * lam) * b)
    return lam, u, b, c_new


def drift(q: np.ndarray, p: np.ndarray, inv_mass: np.ndarray, tau: float, model) -> np.ndarray:
    """Kinetic substep q + tau M^-1 p, wrapped into periodic coordinates."""
    return model.wrap(q + p * (tau * inv_mass))   # one (n, D) temporary, not two


class Splitting:
    """A symmetric composition of Strang steps T(w dt/2) V(w dt) T(w dt/2).

    Attributes
    ----------
    name : str
    order : int
        Global order of accuracy in dt.
    weights : tuple of float
        Composition coefficients w_i (symmetric, sum 1). One potential
        substep, hence one SPEED evaluation, per weight.
    """

    name = "strang"
    order = 2
    weights: tuple[float, ...] = (1.0,)

    def step(self, state: State, dt: float, source, model, inv_mass: np.ndarray,
             chunk_size: int | None = None, backend: str | None = None) -> State:
        """Advance the ensemble by dt.

        Parameters
        ----------
        state : State
        dt : float
            Step, a.u. (negative to go backwards).
        source : potential source (see :mod:`ehrenspeed.potentials`)
        model : Model
            For periodic wrapping.
        inv_mass : ndarray, shape (D,)
        chunk_size : int, optional
            Bound on the trajectories handled at once in the potential
            substep (memory O(chunk S^2 D)); results do not depend on it.
        """
        q, p, c = state.q, state.p, state.c
        pending = 0.0  # half drifts of adjacent Strang steps merge into one
        for w in self.weights:
            q = drift(q, p, inv_mass, pending + 0.5 * w * dt, model)
            p, c = _potential_all(q, p, c, source, w * dt, chunk_size, backend)
            pending = 0.5 * w * dt
        q = drift(q, p, inv_mass, pending, model)
        return State(q, p, c, state.t + dt)


def _potential_all(q, p, c, source, tau, chunk_size, backend=None):
    """Potential substep for the whole ensemble, chunked to bound memory.

    On MPI ranks (``source.comm``) a failure in one rank's own trajectories
    (a user potential raising) is announced to every rank before anyone
    enters the next collective call, so the run ends instead of hanging.
    """
    context = source.evaluate(q)
    comm = source.comm
    if comm.size == 1:
        return _local_substep(q, p, c, source, context, tau, chunk_size, backend)
    error = result = None
    try:
        result = _local_substep(q, p, c, source, context, tau, chunk_size, backend)
    except Exception as exc:  # reported collectively just below
        error = exc
    comm.agree(error)
    return result


def _local_substep(q, p, c, source, context, tau, chunk_size, backend):
    if isinstance(context, MultiTaylorData):
        return _multicentre_substep(q, p, c, context, tau, chunk_size, backend)
    fused = _taylor_kernel(context, c, backend)
    if fused is not None:
        # SPEED on the compiled path: each trajectory's V and dV/dq are formed
        # inside the kernel, so no (n, D, S, S) array exists and nothing to chunk
        return fused(p, c, q, context.qbar, context.v, context.g, context.h, tau)
    n = q.shape[0]
    if chunk_size is None or chunk_size >= n:
        v, dv = source.matrices(context, q)
        return substep_function(backend, v, dv, c)(p, c, v, dv, tau)
    p_new, c_new = np.empty_like(p), np.empty_like(c)
    for start in range(0, n, chunk_size):
        sl = slice(start, start + chunk_size)
        v, dv = source.matrices(context_rows(context, sl), q[sl])
        p_new[sl], c_new[sl] = substep_function(backend, v, dv, c)(p[sl], c[sl], v, dv, tau)
    return p_new, c_new


def _multicentre_substep(q, p, c, context, tau, chunk_size, backend):
    """Multi-centre SPEED: each group's rows on its own expansion (one kernel call per group).

    The compiled kernel takes one expansion, so it is called per group on the
    group's rows, with positions whose plain difference from the centre is
    the minimum-image displacement; without it, the NumPy reference runs in
    chunks of each group's rows. A row's arithmetic does not depend on which
    other rows share its call, so chunking and MPI blocks change nothing.
    """
    p_new, c_new = np.empty_like(p), np.empty_like(c)
    for k, rows in context.groups():
        data = context.centres[k]
        fused = _taylor_kernel(data, c, backend)
        if fused is not None:
            p_new[rows], c_new[rows] = fused(p[rows], c[rows], context.relative(k, q[rows]), data.qbar, data.v,
                                             data.g, data.h, tau)
            continue
        step = chunk_size or len(rows)
        for start in range(0, len(rows), step):
            part = rows[start:start + step]
            v, dv = taylor_matrices(data, context.displacement(k, q[part]))
            p_new[part], c_new[part] = substep_function(backend, v, dv, c)(p[part], c[part], v, dv, tau)
    return p_new, c_new


class Strang(Splitting):
    """Second-order Strang splitting T(dt/2) V(dt) T(dt/2) (the default)."""


def _triple_jump(inner: tuple[float, ...], inner_order: int) -> tuple[float, ...]:
    """Suzuki-Yoshida triple jump: raise a symmetric method's order by 2."""
    w1 = 1.0 / (2.0 - 2.0 ** (1.0 / (inner_order + 1)))
    w0 = 1.0 - 2.0 * w1
    return tuple(w * x for w in (w1, w0, w1) for x in inner)


class Yoshida4(Splitting):
    """Fourth-order triple-jump composition of Strang steps (3 substeps)."""

    name = "yoshida4"
    order = 4
    weights = _triple_jump((1.0,), 2)


class Yoshida6(Splitting):
    """Sixth-order triple jump of :class:`Yoshida4` (9 substeps)."""

    name = "yoshida6"
    order = 6
    weights = _triple_jump(_triple_jump((1.0,), 2), 4)


#: name -> integrator class, as accepted by ``run(integrator=...)``.
INTEGRATORS = {cls.name: cls for cls in (Strang, Yoshida4, Yoshida6)}
