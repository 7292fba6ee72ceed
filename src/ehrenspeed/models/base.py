"""The model contract: a diabatic Hamiltonian V(q) and its derivatives.

A model is a pure, batched description of S coupled diabatic electronic
states along D nuclear coordinates:

* ``potential(q)`` -> ``(N, S, S)``, the diabatic matrix V(q), hartree;
* ``gradient(q)`` -> ``(N, D, S, S)``, dV/dq_a, hartree per coordinate unit;
* ``hessian(q)`` -> ``(N, D, D, S, S)``, d2V/dq_a dq_b;

for positions ``q`` of shape ``(N, D)``, and optionally

* ``third_derivative(q)`` -> ``(N, D, D, D, S, S)``, d3V/dq_a dq_b dq_c,
  used by ``SPEED(order=3)`` only (without it, central differences of
  Hessians, :func:`ehrenspeed.potentials.third_derivative`);

 ``mass`` has shape ``(D,)`` in
electron masses (for dimensionless normal coordinates the mass is 1/omega,
omega in hartree, see :class:`~ehrenspeed.models.VibronicCoupling`). Models hold no caches and never mutate.

A subclass must implement :meth:`Model.potential`; :meth:`Model.gradient`
and :meth:`Model.hessian` default to central finite differences
(gradient from potentials, Hessian from gradients), so a model that knows
only its potential still works. Every built-in model overrides both with
analytic derivatives and the test suite checks them against these finite
differences.

Periodic coordinates (the retinal torsion) are declared by ``periods``: a
``(D, 2)`` array of ``[lower, upper)`` bounds, with ``nan`` rows for
ordinary coordinates. :meth:`Model.wrap` maps positions into the period.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

#: Default finite-difference step (coordinate units) for derived gradients
#: and Hessians.  Central differences have error O(h^2) from truncation and
#: O(eps/h) from round-off; 1e-4 balances them for potentials of order one
#: hartree varying on the bohr scale (error ~1e-8 relative).
FD_STEP = 1e-4


class Model:
    """Base class of all diabatic models.

    Attributes
    ----------
    name : str
        Short name used by :func:`ehrenspeed.models.get` and config files.
    n_states : int
        Number of diabatic electronic states S.
    n_dof : int
        Number of nuclear coordinates D.
    mass : ndarray, shape (D,)
        Mass of each coordinate, electron masses.
    periods : ndarray, shape (D, 2) or None
        ``[lower, upper)`` of each periodic coordinate, ``nan`` for ordinary
        ones; ``None`` when no coordinate is periodic.
    complex_valued : bool
        True when V(q) may have complex off-diagonal elements.
    max_degree : int or None
        Highest polynomial degree in q of any diabatic matrix element, when
        it is known and finite (2 for vibronic coupling models). SPEED is
        exact (equals Ehrenfest) when this is at most 2.
    coordinate_unit : str
        Unit of the nuclear coordinates q, for axis labels and listings
        ("bohr", "dimensionless", or one entry per coordinate when they
        differ, e.g. "phi: rad, Q: dimensionless").
    parameter_units : dict of str to str
        Unit (or kind) of each constructor argument, shown by
        ``ehrenspeed models``; a parameter missing here is listed without one.
    """

    name: str = "model"
    n_states: int
    n_dof: int
    mass: np.ndarray
    periods: np.ndarray | None = None
    complex_valued: bool = False
    max_degree: int | None = None
    fd_step: float = FD_STEP
    coordinate_unit: str = "coordinate units"
    # read-only by convention: subclasses replace the whole dict, never update it
    parameter_units: dict[str, str] = {}

    # -- the contract ------------------------------------------------------
    def potential(self, q: np.ndarray) -> np.ndarray:
        """Diabatic matrix V(q), shape (N, S, S), hartree."""
        raise NotImplementedError

    def gradient(self, q: np.ndarray) -> np.ndarray:
        """dV/dq, shape (N, D, S, S), by central differences of V."""
        return central_difference(self.potential, q, self.fd_step)

    def potential_and_gradient(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """V (N, S, S) and dV/dq (N, D, S, S) at the same positions.

        Ehrenfest needs both at every trajectory; a model whose two share
        intermediate results (exponentials, displacements, an electronic
        structure calculation) overrides this to compute them once. The
        default calls :meth:`potential` then :meth:`gradient`.
        """
        return self.potential(q), self.gradient(q)

    def hessian(self, q: np.ndarray) -> np.ndarray:
        """d2V/dq2, shape (N, D, D, S, S), by central differences of dV/dq."""
        h = central_difference(self.gradient, q, self.fd_step)  # (N, D_b, D_a, S, S)
        h = np.swapaxes(h, 1, 2)
        # symmetrise: the exact Hessian is symmetric in (a, b); differences are not
        return 0.5 * (h + np.swapaxes(h, 1, 2))

    # -- helpers shared by all models --------------------------------------
    def wrap(self, q: np.ndarray) -> np.ndarray:
        """Map positions of periodic coordinates into ``[lower, upper)``.

        Parameters
        ----------
        q : ndarray, shape (N, D)

        Returns
        -------
        ndarray, shape (N, D)
            A new array (``q`` itself when nothing is periodic).
        """
        if self.periods is None:
            return q
        lower, upper = self.periods[:, 0], self.periods[:, 1]
        mask = np.isfinite(lower)
        out = q.copy()
        width = upper[mask] - lower[mask]
        out[:, mask] = lower[mask] + np.mod(q[:, mask] - lower[mask], width)
        return out

    def parameters(self) -> dict[str, Any]:
        """Constructor arguments of this instance (for configs and listings)."""
        return dict(getattr(self, "_parameters", {}))

    def _record_parameters(self, local_vars: dict[str, Any]) -> None:
        """Store the constructor arguments; call first thing in ``__init__``.

        The outermost constructor records; a base-class constructor called
        through ``super().__init__`` leaves the subclass's record alone.
        """
        if hasattr(self, "_parameters"):
            return
        params = {}
        for key, value in local_vars.items():
            if key in ("self", "__class__"):
                continue
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = list(value)
            params[key] = value
        self._parameters = params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.parameters().items())
        return f"{type(self).__name__}({args})"


def methods_unchanged(model: Model, base: type, names: tuple[str, ...]) -> bool:
    """True when ``model`` runs ``base``'s own code for every method in ``names``.

    A fused compiled step (propagators/fused.py) computes a model's potential
    inline from its parameters; it may stand in for the model's methods only
    when neither a subclass nor an attribute set on the instance (a wrapper,
    a test's spy) replaced one of them.
    """
    for name in names:
        method = getattr(model, name, None)
        if getattr(method, "__func__", None) is not getattr(base, name):
            return False
    return True


def as_positions(q: Any, n_dof: int) -> np.ndarray:
    """Return ``q`` as a float array of shape (N, D), accepting (D,) for one point."""
    q = np.asarray(q, dtype=float)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != n_dof:
        raise InputError(f"positions must have shape (N, {n_dof}), got {q.shape}")
    return q


def central_difference(fn, q: np.ndarray, step: float) -> np.ndarray:
    """Central-difference derivative of a batched function along each coordinate.

    Parameters
    ----------
    fn : callable
        Maps positions (M, D) to an array (M, ...).
    q : ndarray, shape (N, D)
    step : float
        Displacement h; the error is O(h^2).

    Returns
    -------
    ndarray, shape (N, D, ...)
        ``[n, a] = (fn(q + h e_a) - fn(q - h e_a)) / (2 h)``.
    """
    n, d = q.shape
    # all 2D displaced geometries in one batched call: (2, D, N, D)
    shifts = np.eye(d) * step
    plus = q[None, :, :] + shifts[:, None, :]
    minus = q[None, :, :] - shifts[:, None, :]
    both = np.concatenate([plus, minus]).reshape(2 * d * n, d)
    values = np.asarray(fn(both))
    values = values.reshape((2, d, n) + values.shape[1:])
    deriv = (values[0] - values[1]) / (2.0 * step)  # (D, N, ...)
    return np.moveaxis(deriv, 0, 1)


def diagonal_mass(mass: Any, n_dof: int) -> np.ndarray:
    """Validate masses: a scalar or a (D,) array of positive finite numbers."""
    m = np.broadcast_to(np.asarray(mass, dtype=float), (n_dof,)).copy()
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise InputError(f"mass must be positive and finite, got {m.tolist()}")
    return m
