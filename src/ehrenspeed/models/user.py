"""Wrap a user's Python function as a model, and check any model before a run.

:func:`from_function` turns a callable V(q) (optionally with its gradient
and Hessian) into a :class:`FunctionModel`; derivatives that are not given
come from the base class's central finite differences. The wrapper calls
the potential once at construction, so a function that returns the wrong
shape, NaN or a non-Hermitian matrix is reported before any work starts.

:func:`validate_model` performs the same checks on any model (and on its
derivatives) at given positions; the run driver calls it first, so that a
broken model ends with a one-line :class:`~ehrenspeed.errors.ModelError`
rather than NaNs deep inside a propagation.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import EhrenspeedError, InputError, ModelError
from .base import Model, as_positions, diagonal_mass

#: Relative tolerance of the Hermiticity check of V: max|V - V^H| must not
#: exceed this times max|V| (at each geometry).
HERMITIAN_RTOL = 1e-10
#: Looser tolerance for the derivatives: finite differences of a V that is
#: Hermitian to round-off amplify the asymmetry by about 1 / step.
DERIVATIVE_RTOL = 1e-8


class FunctionModel(Model):
    """A model defined by user callables.

    Parameters
    ----------
    potential : callable
        ``batched=True``: maps q of shape (N, D) to V of shape (N, S, S).
        ``batched=False``: maps one geometry (D,) to V (S, S); the wrapper
        loops over the N geometries in Python (slow for large N, but the
        user's choice when the function cannot be vectorised, e.g. an
        electronic-structure call). Hartree, coordinates in the units the
        masses refer to (bohr for masses in m_e).
    n_states : int
        S.
    n_dof : int
        D.
    mass : float or array_like, shape (D,)
        Masses, electron masses.
    gradient : callable, optional
        dV/dq, (N, D) -> (N, D, S, S) (or (D,) -> (D, S, S) when not
        batched). Central finite differences of ``potential`` if omitted.
    hessian : callable, optional
        d2V/dq2, (N, D) -> (N, D, D, S, S) (or (D,) -> (D, D, S, S)).
        Central finite differences of the gradient if omitted.
    periods : array_like, optional
        Periodic coordinates: shape (D, 2) ``[lower, upper)`` rows with
        ``nan`` for ordinary coordinates, or a length-D sequence whose items
        are ``None`` or ``(lower, upper)``.
    name : str
        Name reported in results; [default] ``"user"``.
    batched : bool
        Whether the callables take a batch of geometries; [default] True.

    Raises
    ------
    InputError
        For bad arguments (non-callable, non-positive sizes or masses, bad
        periods).
    ModelError
        When the potential at the probe point (zeros, or the middle of each
        period) has the wrong shape, contains NaN/Inf, is not Hermitian, or
        the call itself fails.
    """

    def __init__(self, potential: Callable, n_states: int, n_dof: int, mass, gradient=None,
                 hessian=None, periods=None, name: str = "user", batched: bool = True):
        self._record_parameters(locals())
        # keep the record printable and JSON-friendly: functions by name
        for key in ("potential", "gradient", "hessian"):
            fn = self._parameters.get(key)
            if fn is not None:
                self._parameters[key] = getattr(fn, "__qualname__", repr(fn))
        for key, fn in (("potential", potential), ("gradient", gradient), ("hessian", hessian)):
            if fn is not None and not callable(fn):
                raise InputError(f"{key} must be callable, got {type(fn).__name__}")
        set_dimensions(self, n_states, n_dof, mass, periods, name)
        self.batched = bool(batched)
        self._potential, self._gradient, self._hessian = potential, gradient, hessian
        probe = probe_point(self)
        values = _call_checked(self.potential, probe, "potential", self.name)
        self.complex_valued = bool(np.iscomplexobj(values))
        _check_matrices(values, (1, self.n_states, self.n_states), "potential", probe, self.name,
                        HERMITIAN_RTOL)

    def _evaluate(self, fn: Callable, q, tail: tuple, what: str) -> np.ndarray:
        q = as_positions(q, self.n_dof)
        n = q.shape[0]
        expected = (n,) + tail
        if self.batched:
            # a copy: a user function that writes into its argument must
            # not change the caller's positions
            out = np.asarray(fn(q.copy()))
        elif n == 0:
            out = np.empty(expected)
        else:
            rows = [np.asarray(fn(q[i].copy())) for i in range(n)]
            if any(r.shape != tail for r in rows):
                bad = next(r.shape for r in rows if r.shape != tail)
                raise ModelError(f"model {self.name!r}: {what} returned shape {bad} for one "
                                 f"geometry, expected {tail}")
            out = np.stack(rows)
        if out.shape != expected:
            raise ModelError(f"model {self.name!r}: {what} returned shape {out.shape}, "
                             f"expected {expected}")
        return out if np.iscomplexobj(out) else out.astype(float, copy=False)

    def potential(self, q):
        """V(q) from the user's function, shape (N, S, S), hartree."""
        s = self.n_states
        return self._evaluate(self._potential, q, (s, s), "potential")

    def gradient(self, q):
        """dV/dq, shape (N, D, S, S): the user's gradient or central differences."""
        if self._gradient is None:
            return super().gradient(as_positions(q, self.n_dof))
        s, d = self.n_states, self.n_dof
        return self._evaluate(self._gradient, q, (d, s, s), "gradient")

    def hessian(self, q):
        """d2V/dq2, shape (N, D, D, S, S): the user's Hessian or central differences."""
        if self._hessian is None:
            return super().hessian(as_positions(q, self.n_dof))
        s, d = self.n_states, self.n_dof
        return self._evaluate(self._hessian, q, (d, d, s, s), "hessian")


def from_function(potential: Callable, n_states: int, n_dof: int, mass, gradient=None,
                  hessian=None, periods=None, name: str = "user", batched: bool = True,
                  periodic=None) -> FunctionModel:
    """Wrap a user's potential function (and optional derivatives) as a model.

    See :class:`FunctionModel` for the arguments. ``periodic`` is accepted as
    another spelling of ``periods``.

    Examples
    --------
    >>> import numpy as np
    >>> def v(q):  # two shifted parabolas with a constant coupling
    ...     x = q[:, 0]
    ...     out = np.empty((len(x), 2, 2))
    ...     out[:, 0, 0], out[:, 1, 1] = 0.5 * (x - 1) ** 2, 0.5 * (x + 1) ** 2
    ...     out[:, 0, 1] = out[:, 1, 0] = 0.1
    ...     return out
    >>> model = from_function(v, n_states=2, n_dof=1, mass=2000.0)
    >>> model.gradient(np.zeros((1, 1))).shape
    (1, 1, 2, 2)
    """
    if periodic is not None:
        if periods is not None:
            raise InputError("give periods or periodic, not both")
        periods = periodic
    return FunctionModel(potential, n_states, n_dof, mass, gradient=gradient, hessian=hessian,
                         periods=periods, name=name, batched=batched)


def probe_point(model: Model) -> np.ndarray:
    """A harmless geometry to test a model at: 0, or the middle of each period.

    Returns
    -------
    ndarray, shape (1, D)
    """
    q = np.zeros((1, model.n_dof))
    periods = getattr(model, "periods", None)
    if periods is not None:
        mid = 0.5 * (periods[:, 0] + periods[:, 1])
        q[0] = np.where(np.isfinite(mid), mid, 0.0)
    return q


def validate_model(model: Model, q=None, derivatives: int = 2) -> None:
    """Check that a model returns usable arrays before a run relies on it.

    Checks the mass (shape (D,), positive, finite), then at the positions
    ``q``: V has shape (N, S, S), is finite and Hermitian; if
    ``derivatives >= 1`` the gradient has shape (N, D, S, S), is finite and
    Hermitian in the state indices; if ``derivatives >= 2`` the Hessian has
    shape (N, D, D, S, S), is finite, Hermitian in the state indices and
    symmetric in the two coordinate indices.

    Parameters
    ----------
    model : Model
    q : array_like, shape (N, D) or (D,), optional
        Positions; [default] :func:`probe_point`. Pass the initial
        positions of a run to test where the run starts.
    derivatives : {0, 1, 2}
        Highest derivative to check (Ehrenfest needs 1, SPEED 2). Finite
        difference derivatives cost 2D (gradient) and 4D^2 (Hessian)
        potential calls per geometry, which matters for expensive models.

    Raises
    ------
    ModelError
        With a one-line message naming the first problem found (also when
        the model's own code raises).
    """
    name = getattr(model, "name", type(model).__name__)
    try:
        s, d = int(model.n_states), int(model.n_dof)
        mass = np.asarray(model.mass, dtype=float)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ModelError(f"model {name!r} lacks n_states, n_dof or mass: {exc}") from None
    if mass.shape != (d,) or not np.all(np.isfinite(mass)) or np.any(mass <= 0):
        raise ModelError(f"model {name!r}: mass must be {d} positive finite numbers, "
                         f"got {mass.tolist()}")
    q = probe_point(model) if q is None else as_positions(q, d)
    n = q.shape[0]
    v = _call_checked(model.potential, q, "potential", name)
    _check_matrices(v, (n, s, s), "potential", q, name, HERMITIAN_RTOL)
    if derivatives >= 1:
        g = _call_checked(model.gradient, q, "gradient", name)
        _check_matrices(g, (n, d, s, s), "gradient", q, name, DERIVATIVE_RTOL)
    if derivatives >= 2:
        h = _call_checked(model.hessian, q, "hessian", name)
        _check_matrices(h, (n, d, d, s, s), "hessian", q, name, DERIVATIVE_RTOL)
        bad, asym, _ = _asymmetry(h, np.swapaxes(h, 1, 2), DERIVATIVE_RTOL)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ModelError(f"model {name!r}: hessian is not symmetric in the coordinates at "
                             f"q = {q[i].tolist()} (max asymmetry {asym[i]:.3g})")


# -- helpers ------------------------------------------------------------------
def call_model(fn: Callable, q: np.ndarray, what: str, name: str = "user"):
    """Call ``fn(q)``, turning a failure of the model's own code into a one-line ModelError.

    Used wherever the package calls a model (validation here, every call
    of a run through :class:`ehrenspeed.counting.CountingModel`); the
    original exception is kept as the cause.
    """
    try:
        return fn(q)
    except EhrenspeedError:
        raise
    except Exception as exc:  # the user's (or the electronic structure's) code
        where = np.asarray(q)[0].tolist()
        more = " (and other points)" if len(q) > 1 else ""
        raise ModelError(f"model {name!r}: {what} failed at q = {where}{more}: "
                         f"{type(exc).__name__}: {exc}") from exc


def _call_checked(fn: Callable, q: np.ndarray, what: str, name: str = "user") -> np.ndarray:
    """:func:`call_model`, as an array."""
    return np.asarray(call_model(fn, q, what, name))


def _check_matrices(values: np.ndarray, shape: tuple, what: str, q: np.ndarray, name: str,
                    rtol: float) -> None:
    """Shape, finiteness and Hermiticity (last two axes) of model output."""
    if values.shape != shape:
        raise ModelError(f"model {name!r}: {what} returned shape {values.shape}, expected {shape}")
    n = shape[0]
    if n == 0:
        return
    finite = np.isfinite(values).reshape(n, -1).all(axis=1)
    if not np.all(finite):
        i = int(np.argmin(finite))
        raise ModelError(f"model {name!r}: {what} contains NaN or Inf at q = {q[i].tolist()}")
    bad, asym, scale = _asymmetry(values, np.conj(np.swapaxes(values, -1, -2)), rtol)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ModelError(f"model {name!r}: {what} is not Hermitian at q = {q[i].tolist()} "
                         f"(max |X - X^H| = {asym[i]:.3g}, scale {scale[i]:.3g})")


def _asymmetry(x: np.ndarray, mirrored: np.ndarray, rtol: float):
    """Per geometry (first axis): max |x - mirrored|, max |x|, and whether the first exceeds rtol times the second."""
    n = x.shape[0]
    asym = np.abs(x - mirrored).reshape(n, -1).max(axis=1)
    scale = np.abs(x).reshape(n, -1).max(axis=1)
    return asym > rtol * np.maximum(scale, np.finfo(float).tiny), asym, scale


def set_dimensions(model: Model, n_states, n_dof, mass, periods, name) -> None:
    """Validate and set the contract's sizes, masses, periods and name on a callback model."""
    model.n_states = _positive_int(n_states, "n_states")
    model.n_dof = _positive_int(n_dof, "n_dof")
    model.mass = diagonal_mass(mass, model.n_dof)
    model.periods = _as_periods(periods, model.n_dof)
    model.name = str(name)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _as_periods(periods: Any, n_dof: int) -> np.ndarray | None:
    """Normalise the ``periods`` argument to a (D, 2) array with nan rows, or None."""
    if periods is None:
        return None
    if isinstance(periods, np.ndarray) and periods.dtype != object:
        rows = periods.astype(float)
    else:
        try:
            rows = np.array([(np.nan, np.nan) if r is None else tuple(r) for r in periods],
                            dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"periods must be (D, 2) bounds with nan rows, got {periods!r}") from None
    if rows.shape != (n_dof, 2):
        raise InputError(f"periods must have shape ({n_dof}, 2), got {rows.shape}")
    lower, upper = rows[:, 0], rows[:, 1]
    periodic = np.isfinite(lower) | np.isfinite(upper)
    if np.any(periodic & ~(np.isfinite(lower) & np.isfinite(upper) & (upper > lower))):
        raise InputError(f"each period needs finite lower < upper, got {rows.tolist()}")
    if not np.any(periodic):
        return None
    rows[~periodic] = np.nan
    return rows
