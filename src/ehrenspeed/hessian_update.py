"""Quasi-Newton Hessian updates for SPEED's diabatic Taylor expansion.

SPEED evaluates the gradient G = dV/dq of every diabatic matrix element at
each substep's expansion point qbar. Between two successive points the step
s = qbar_new - qbar_old and the gradient change y = G_new - G_old carry
curvature information: an exact Hessian averaged along the step satisfies
the *secant condition* H s = y. A quasi-Newton update corrects the old
Hessian H by the smallest symmetric change that makes it satisfy the secant
condition, so the Hessian (2 D^2 + 1 single points by finite differences)
need not be recomputed at every step.

The diabatic Hessians are indefinite (a saddle, a coupling that changes
sign), so updates that keep H positive definite (BFGS) do not suit them.
Two symmetric updates that do, with the residual xi = y - H s:

Powell-symmetric-Broyden (PSB), the least change in the Frobenius norm,

    dH_PSB = (xi s^T + s xi^T) / (s.s) - (xi.s) s s^T / (s.s)^2,

symmetric rank one (SR1),

    dH_SR1 = xi xi^T / (xi.s),

and Bofill's combination of the two,

    dH = phi dH_SR1 + (1 - phi) dH_PSB,    phi = (xi.s)^2 / ((xi.xi)(s.s)),

which leans on SR1 when the residual is along the step (where SR1 is well
conditioned) and on PSB when it is nearly orthogonal to it (where SR1's
denominator xi.s vanishes). The product phi dH_SR1 = (xi.s) xi xi^T /
((xi.xi)(s.s)) has no small denominator, so it is formed that way. Every
one of the three satisfies dH s = xi, hence (H + dH) s = y exactly.

Reference: J. M. Bofill, J. Comput. Chem. 15, 1 (1994), who proposed the
combination for transition-structure searches (the PSB formula itself is
Powell's; its original reference is not checked here).

Each diabatic element V_kl(q) is a separate scalar function with its own
Hessian H[:, :, k, l], updated from its own y[:, k, l] with the shared step
s. A complex (Hermitian) element is updated as its real and imaginary parts,
two real functions, which keeps H Hermitian in (k, l) because the update of
the real part of (l, k) is that of (k, l) and the imaginary part's is its
negative (PSB is linear in xi; phi depends on |xi| only).
"""

from __future__ import annotations

import numpy as np

#: Update formulas by name, as accepted by ``SPEED(hessian_update=...)``.
UPDATES = ("bofill", "psb")

#: A step shorter than this (relative to 1 + |qbar|, coordinate units) skips
#: the update. The secant information is the gradient change y ~ H s; below
#: sqrt(machine epsilon) (1.5e-8) relative steps y is at the level of the
#: rounding of G itself (eps |G|) for gradients and curvatures of comparable
#: scale, so dividing by s.s would amplify rounding noise, not curvature.
MIN_RELATIVE_STEP = np.sqrt(np.finfo(float).eps)


def step_too_small(s: np.ndarray, qbar: np.ndarray) -> bool:
    """True when the step s (D,) between expansion points carries no usable curvature."""
    return float(np.linalg.norm(s)) <= MIN_RELATIVE_STEP * (1.0 + float(np.linalg.norm(qbar)))


def update_hessian(h: np.ndarray, s: np.ndarray, y: np.ndarray, formula: str = "bofill") -> np.ndarray:
    """Updated Hessians of every diabatic element from one secant pair.

    Parameters
    ----------
    h : ndarray, shape (D, D, S, S)
        Current Hessian d2V_kl/dq_a dq_b (hartree / coordinate unit^2), real
        or complex.
    s : ndarray, shape (D,)
        Step between the expansion points, qbar_new - qbar_old.
    y : ndarray, shape (D, S, S)
        Gradient change G(qbar_new) - G(qbar_old).
    formula : {"bofill", "psb"}

    Returns
    -------
    ndarray, shape (D, D, S, S)
        H + dH with (H + dH) s = y for every element, symmetric in (a, b).
    """
    if np.iscomplexobj(h) or np.iscomplexobj(y):
        h = np.asarray(h, dtype=complex)
        y = np.asarray(y, dtype=complex)
        return (_update_real(h.real, s, y.real, formula)
                + 1j * _update_real(h.imag, s, y.imag, formula))
    return _update_real(h, s, y, formula)


def _update_real(h: np.ndarray, s: np.ndarray, y: np.ndarray, formula: str) -> np.ndarray:
    ss = float(s @ s)
    xi = y - np.einsum("abkl,b->akl", h, s)              # residual of the secant condition, (D, S, S)
    xs = np.einsum("akl,a->kl", xi, s)                   # xi.s per element, (S, S)
    # PSB: (xi s^T + s xi^T)/ss - (xi.s) s s^T / ss^2
    outer = np.einsum("akl,b->abkl", xi, s)
    dh = (outer + outer.transpose(1, 0, 2, 3)) / ss - np.einsum("kl,a,b->abkl", xs, s, s) / ss**2
    if formula == "bofill":
        xx = np.einsum("akl,akl->kl", xi, xi)
        # phi = xs^2 / (xx ss); an element with xi = 0 needs no update (phi := 0)
        safe = np.where(xx > 0.0, xx, 1.0)
        phi = np.where(xx > 0.0, xs * xs / (safe * ss), 0.0)
        # phi dH_SR1 = xs xi xi^T / (xx ss): no division by xs
        sr1_weighted = np.einsum("kl,akl,bkl->abkl", np.where(xx > 0.0, xs / (safe * ss), 0.0), xi, xi)
        dh = sr1_weighted + (1.0 - phi) * dh
    elif formula != "psb":
        raise ValueError(f"unknown Hessian update {formula!r}; use one of {', '.join(UPDATES)}")
    return h + dh
