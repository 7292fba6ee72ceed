"""User models written in JAX: exact gradients and Hessians by automatic differentiation.

:func:`from_jax` takes a function V(q) for *one* geometry, q (D,) -> (S, S),
written with ``jax.numpy``, and returns a :class:`JaxModel` whose batched
``potential``, ``gradient`` and ``hessian`` are the jit-compiled
``vmap`` of V, of its forward-mode Jacobian and of its Hessian
(JAX, https://github.com/jax-ml/jax). The derivatives are exact to
round-off, with no finite-difference step to choose.

JAX is an optional dependency (``pip install ehrenspeed[jax]``) imported on
first use. Double precision is switched on (``jax_enable_x64``): dynamics
needs float64, and JAX's default float32 would limit energies to ~1e-7
relative accuracy. That is a process-wide JAX setting.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import InputError, ModelError
from .base import Model, as_positions
from .user import HERMITIAN_RTOL, _check_matrices, probe_point, set_dimensions


def _jax():
    try:
        import jax
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("from_jax needs JAX: pip install 'ehrenspeed[jax]' (or jax jaxlib)") from None
    jax.config.update("jax_enable_x64", True)
    return jax


class JaxModel(Model):
    """A diabatic model from a JAX function, differentiated automatically.

    Parameters
    ----------
    fn : callable
        ``fn(q)`` with q a JAX array of shape (D,) returns V(q), shape
        (S, S), hartree; it must be traceable by JAX (``jax.numpy``
        operations, no Python branching on values).
    n_states, n_dof : int
    mass : float or array_like, shape (D,)
        Electron masses.
    periods : array_like, optional
        Periodic coordinates as in :func:`ehrenspeed.models.from_function`.
    name : str

    Notes
    -----
    gradient[n, a] = dV/dq_a (q_n) from ``jax.jacfwd`` (the output (S, S)
    is small, so forward mode costs D directional derivatives);
    hessian[n, a, b] from ``jax.hessian`` (forward over reverse).
    """

    def __init__(self, fn: Callable, n_states: int, n_dof: int, mass, periods=None,
                 name: str = "jax"):
        self._record_parameters(locals())
        self._parameters["fn"] = getattr(fn, "__qualname__", repr(fn))
        if not callable(fn):
            raise InputError(f"fn must be callable, got {type(fn).__name__}")
        jax = _jax()
        set_dimensions(self, n_states, n_dof, mass, periods, name)
        self.fn = fn
        # (S, S, D) -> (D, S, S) and (S, S, D, D) -> (D, D, S, S): coordinates first
        jac = jax.jacfwd(fn)
        hess = jax.hessian(fn)
        jnp = jax.numpy
        self._v = jax.jit(jax.vmap(fn))
        self._g = jax.jit(jax.vmap(lambda q: jnp.moveaxis(jac(q), -1, 0)))
        self._h = jax.jit(jax.vmap(lambda q: jnp.moveaxis(hess(q), (-2, -1), (0, 1))))
        third = jax.jacfwd(hess)  # (S, S, D, D, D)
        self._t = jax.jit(jax.vmap(lambda q: jnp.moveaxis(third(q), (-3, -2, -1), (0, 1, 2))))
        probe = probe_point(self)
        try:
            values = self.potential(probe)
        except Exception as exc:
            raise ModelError(f"model {self.name!r}: fn failed at the probe point: "
                             f"{type(exc).__name__}: {exc}") from exc
        self.complex_valued = bool(np.iscomplexobj(values))
        _check_matrices(values, (1, self.n_states, self.n_states), "potential", probe, self.name,
                        HERMITIAN_RTOL)

    def _call(self, compiled, q, tail):
        q = as_positions(q, self.n_dof)
        out = np.asarray(compiled(q))
        if out.shape != (q.shape[0],) + tail:
            raise ModelError(f"model {self.name!r} returned shape {out.shape[1:]}, expected {tail}")
        return out

    def potential(self, q):
        """V(q), shape (N, S, S), hartree."""
        s = self.n_states
        return self._call(self._v, q, (s, s))

    def gradient(self, q):
        """Exact dV/dq by forward-mode AD, shape (N, D, S, S)."""
        s, d = self.n_states, self.n_dof
        return self._call(self._g, q, (d, s, s))

    def hessian(self, q):
        """Exact d2V/dq2 by AD, shape (N, D, D, S, S)."""
        s, d = self.n_states, self.n_dof
        return self._call(self._h, q, (d, d, s, s))

    def third_derivative(self, q):
        """Exact d3V/dq3 by AD (forward over the Hessian), shape (N, D, D, D, S, S)."""
        s, d = self.n_states, self.n_dof
        return self._call(self._t, q, (d, d, d, s, s))


def from_jax(fn: Callable, n_states: int, n_dof: int, mass, periods=None,
             name: str = "jax") -> JaxModel:
    """A model from a JAX-written diabatic matrix, with exact AD derivatives.

    Parameters
    ----------
    fn : callable
        (D,) -> (S, S) in ``jax.numpy``, hartree.
    n_states, n_dof : int
    mass : float or array_like, shape (D,)
        Electron masses.
    periods : array_like, optional
    name : str

    Examples
    --------
    >>> import jax.numpy as jnp                          # doctest: +SKIP
    >>> def v(q):                                         # doctest: +SKIP
    ...     x = q[0]
    ...     return jnp.array([[0.01 * jnp.tanh(x), 0.005 * jnp.exp(-x**2)],
    ...                       [0.005 * jnp.exp(-x**2), -0.01 * jnp.tanh(x)]])
    >>> model = from_jax(v, n_states=2, n_dof=1, mass=2000.0)   # doctest: +SKIP
    """
    return JaxModel(fn, n_states, n_dof, mass, periods=periods, name=name)
