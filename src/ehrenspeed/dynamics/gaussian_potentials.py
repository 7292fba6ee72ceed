"""Potential sources for one Gaussian wavepacket: the effective quadratic surface.

A thawed Gaussian moves on a quadratic surface whose coefficients are S x S
diabatic matrices (a method is a dynamics on a source: this module is the
*source*, :mod:`ehrenspeed.dynamics.tged` the *dynamics*). Every source
answers one question: given the Gaussian's centre q (D,) and position
covariance Sigma (D, D), what are

    vbar (S, S)        the matrix the electrons rotate in, <V>,
    g    (D, S, S)     the gradient matrices felt by the centre, <dV/dq_a>,
    h    (D, D, S, S)  the Hessian matrices felt by the width, <d2V/dq_a dq_b>?

Here <X> denotes the average over the nuclear density |psi|^2, a normal
distribution N(q, Sigma). The three members of the family differ only in
how these are obtained:

``variational``
    Exact Gaussian averages of V and its derivatives. For models that are
    polynomials of degree <= 2 in q (``model.max_degree <= 2``: vibronic
    coupling, chemisorption, the displaced oscillators) the Taylor
    expansion about q terminates, so (our derivation, with y = x - q,
    <y> = 0 and <y_a y_b> = Sigma_ab)

        <V> = V(q) + 1/2 sum_ab Sigma_ab H_ab(q),   <dV> = dV(q),   <d2V> = d2V(q),

    one evaluation of V, dV, d2V at the centre. For every other model the
    averages are computed by tensor-product Gauss-Hermite quadrature with
    ``n`` nodes per coordinate (n^D evaluations of V, dV and d2V), exact for
    integrands that are polynomials of degree <= 2n - 1 in each coordinate.
``local_harmonic``
    Heller's local harmonic approximation: V, dV, d2V at the centre, and the
    Gaussian average of that quadratic surrogate, vbar = V(q) + tr(Sigma H(q)) / 2.
``single_hessian``
    V and dV at the centre, one reference Hessian H_ref (computed once, at
    the reference geometry, by default the initial centre) and
    vbar = V(q) + tr(Sigma H_ref) / 2.

Our choice (documented in docs/tged.md): the local harmonic and single
Hessian members let the electrons rotate in the Gaussian average of *their
own* quadratic surrogate, not in V(q) alone. Each is then the variational
method applied to a quadratic stand-in for V, so all three coincide exactly
when V is quadratic, and the surrogate's energy is the one that is
tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelError


@dataclass
class EffectiveQuadratic:
    """Coefficients of the effective quadratic diabatic surface about the centre q.

    Attributes
    ----------
    vbar : ndarray, shape (S, S)
        <V> over the nuclear density, hartree (Hermitian).
    g : ndarray, shape (D, S, S)
        <dV/dq_a>, hartree per coordinate unit.
    h : ndarray, shape (D, D, S, S)
        <d2V/dq_a dq_b>, hartree per coordinate unit squared.
    v_centre : ndarray, shape (S, S) or None
        V at the centre when the source evaluated it anyway (adiabatic
        populations are defined there); None otherwise.
    """

    vbar: np.ndarray
    g: np.ndarray
    h: np.ndarray
    v_centre: np.ndarray | None = None


def taylor_average(v: np.ndarray, g: np.ndarray, h: np.ndarray, sigma: np.ndarray) -> EffectiveQuadratic:
    """Gaussian average of the quadratic surface V + g.y + y.h.y / 2 about the centre.

    Parameters
    ----------
    v : ndarray, shape (S, S)
    g : ndarray, shape (D, S, S)
    h : ndarray, shape (D, D, S, S)
    sigma : ndarray, shape (D, D)
        Position covariance of the nuclear density.
    """
    vbar = v + 0.5 * np.einsum("ab,abkl->kl", sigma, h)
    return EffectiveQuadratic(vbar, g, h, v)


def gauss_hermite_rule(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product Gauss-Hermite nodes and weights for a standard normal in d dimensions.

    Returns
    -------
    z : ndarray, shape (n^d, d)
        Nodes of N(0, 1)^d.
    w : ndarray, shape (n^d,)
        Weights, summing to 1: E[f(z)] ~ sum_i w_i f(z_i).
    """
    t, wt = np.polynomial.hermite.hermgauss(n)   # for int exp(-t^2) f(t) dt
    z1 = np.sqrt(2.0) * t                         # z = sqrt(2) t is N(0, 1)
    w1 = wt / np.sqrt(np.pi)
    grids = np.meshgrid(*([z1] * d), indexing="ij")
    z = np.stack([x.ravel() for x in grids], axis=1)
    w = np.ones(z.shape[0])
    for weights in np.meshgrid(*([w1] * d), indexing="ij"):
        w = w * weights.ravel()
    return z, w


#: Largest number of quadrature points per evaluation (n^D); beyond it the
#: user must choose fewer points per coordinate or another member of the family.
MAX_QUADRATURE_POINTS = 100_000

#: Default Gauss-Hermite points per coordinate: exact for polynomials of
#: degree <= 19 per coordinate; 1000 points in three dimensions.
DEFAULT_QUADRATURE_POINTS = 10


class GaussianSource:
    """Base of the three sources; holds the counted model and the evaluation tally."""

    kind = "base"

    def __init__(self, model):
        self.model = model
        self.n_evaluations = 0

    def evaluate(self, q: np.ndarray, sigma: np.ndarray) -> EffectiveQuadratic:  # pragma: no cover
        raise NotImplementedError

    def _at_centre(self, q: np.ndarray, hessian: bool = True):
        point = q[None, :]
        # one calculation for both where the model can (on-the-fly electronic structure)
        v, g = self.model.potential_and_gradient(point)
        v, g = v[0], g[0]
        h = self.model.hessian(point)[0] if hessian else None
        _check_finite(self.model, q, v=v, g=g, h=h)
        return v, g, h

    def statistics(self) -> dict:
        return {"tged_potential": self.kind, "effective_surfaces": self.n_evaluations}


class VariationalSource(GaussianSource):
    """Exact Gaussian averages: Taylor formula for quadratic models, else quadrature.

    Parameters
    ----------
    model : Model (counted)
    quadrature_points : int, optional
        Gauss-Hermite nodes per coordinate for non-polynomial models
        (default :data:`DEFAULT_QUADRATURE_POINTS`). Ignored for models with
        ``max_degree <= 2``, whose averages are exact from one evaluation.
    """

    kind = "variational"

    def __init__(self, model, quadrature_points: int | None = None):
        super().__init__(model)
        degree = getattr(model, "max_degree", None)
        self.exact_taylor = degree is not None and degree <= 2
        self.quadrature_points = None
        if not self.exact_taylor:
            n = DEFAULT_QUADRATURE_POINTS if quadrature_points is None else quadrature_points
            total = n ** model.n_dof
            if total > MAX_QUADRATURE_POINTS:
                raise InputError(f"quadrature_points={n} needs {n}^{model.n_dof} = {total} evaluations per "
                                 f"substep (limit {MAX_QUADRATURE_POINTS}); choose fewer points or "
                                 "potential='local_harmonic'")
            self.quadrature_points = n
            self._z, self._w = gauss_hermite_rule(n, model.n_dof)

    def evaluate(self, q: np.ndarray, sigma: np.ndarray) -> EffectiveQuadratic:
        self.n_evaluations += 1
        if self.exact_taylor:
            return taylor_average(*self._at_centre(q), sigma)
        # nodes of N(q, Sigma): q + L z with Sigma = L L^T
        chol = np.linalg.cholesky(sigma)
        points = self.model.wrap(q[None, :] + self._z @ chol.T)
        v = self.model.potential(points)
        g = self.model.gradient(points)
        h = self.model.hessian(points)
        _check_finite(self.model, q, v=v, g=g, h=h)
        w = self._w
        return EffectiveQuadratic(np.einsum("i,ikl->kl", w, v), np.einsum("i,iakl->akl", w, g),
                                  np.einsum("i,iabkl->abkl", w, h))

    def statistics(self) -> dict:
        out = super().statistics()
        out["tged_averaging"] = "taylor" if self.exact_taylor else "gauss_hermite"
        if self.quadrature_points is not None:
            out["quadrature_points"] = self.quadrature_points
        return out


class LocalHarmonicSource(GaussianSource):
    """V, dV/dq and d2V/dq2 at the centre (Heller's local harmonic approximation)."""

    kind = "local_harmonic"

    def evaluate(self, q: np.ndarray, sigma: np.ndarray) -> EffectiveQuadratic:
        self.n_evaluations += 1
        return taylor_average(*self._at_centre(q), sigma)


class SingleHessianSource(GaussianSource):
    """V and dV/dq at the centre, one Hessian for the whole run.

    Parameters
    ----------
    model : Model (counted)
    reference_geometry : ndarray, shape (D,), optional
        Where the Hessian is taken; default: the first centre evaluated
        (the initial centre of the run).
    """

    kind = "single_hessian"

    def __init__(self, model, reference_geometry=None):
        super().__init__(model)
        self.reference = None if reference_geometry is None else np.asarray(reference_geometry, float)
        self.hessian: np.ndarray | None = None

    def evaluate(self, q: np.ndarray, sigma: np.ndarray) -> EffectiveQuadratic:
        self.n_evaluations += 1
        if self.hessian is None:
            where = q if self.reference is None else self.reference
            self.hessian = self.model.hessian(where[None, :])[0]
            _check_finite(self.model, where, h=self.hessian)
        v, g, _ = self._at_centre(q, hessian=False)
        return taylor_average(v, g, self.hessian, sigma)


def _check_finite(model, q, **arrays) -> None:
    """A NaN in the surface would spread to every parameter of the Gaussian at once: name it here."""
    for name, values in arrays.items():
        if values is not None and not np.all(np.isfinite(values)):
            raise ModelError(f"model {getattr(model, 'name', 'user')!r}: {name} contains NaN or Inf "
                             f"near the Gaussian's centre q = {np.asarray(q).tolist()}")
