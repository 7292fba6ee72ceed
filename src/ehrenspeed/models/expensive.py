"""Expensive potentials: one electronic-structure calculation per geometry.

An on-the-fly model is a function that computes the S x S diabatic matrix
V(q) (and, if it can, dV/dq) at *one* geometry q (D,) at a time, at a cost of
seconds or more. :func:`from_single_point` turns such a function into the
batched :class:`~ehrenspeed.models.base.Model` interface the dynamics uses:

* ``potential(q)`` maps the single point over the N rows of q;
* ``gradient(q)`` uses the user's gradient, or central differences of V
  with step ``fd_step`` (2 D single points per geometry);
* ``hessian(q)`` is the finite difference of gradients with step
  ``hessian_step``: 2 D gradient calls per geometry when the gradient is
  given; otherwise the differences of differences of V, whose displaced
  geometries q + h (s_a e_a + s_b e_b) coincide for (a, b) and (b, a), so
  each unique one is computed once (2 D^2 + 1 single points per geometry
  instead of 4 D^2).

All the single points a call needs are gathered first and handed to an
*executor* in one ``map``, so they run in parallel: a process pool by
default, serial on request, or any object with an ordered
``map(fn, iterable)`` (``concurrent.futures`` executors,
``mpi4py.futures.MPIPoolExecutor``). Results are assembled in a fixed
order from the ordered map, so a parallel run is bit-for-bit identical to a
serial one (as long as the single point itself is deterministic).

Caching is confined to one call: a geometry needed twice inside one Hessian
is computed once, and with ``gradient=True`` (the function returns V and
dV/dq together) :meth:`ExpensiveModel.potential_and_gradient` takes both
from one calculation. Nothing is remembered from one call to the next, so
a model's output depends on q alone (no hidden state, like every model).

Step sizes (coordinate units, bohr for Cartesian coordinates):

``fd_step`` = 1e-3
    Central-difference gradient. Truncation error ~ h^2 |V'''| / 6 (1e-7 for
    a bohr-scale potential), noise ~ eps_SCF / h (1e-7 for an SCF converged
    to 1e-10 hartree): balanced near 1e-3, unlike the 1e-4 of analytic
    models, whose noise is round-off (1e-16).
``hessian_step`` = 5e-3
    Second differences divide the noise by h^2, so a larger step (noise
    ~ eps_SCF / h^2 = 4e-6, truncation ~ h^2 |V''''| / 3 ~ 1e-5).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import InputError, ModelError
from .base import Model, as_positions
from .user import HERMITIAN_RTOL, _check_matrices, set_dimensions

#: Default central-difference step for gradients of expensive potentials.
EXPENSIVE_FD_STEP = 1e-3
#: Default step of the finite-difference Hessian (of gradients).
EXPENSIVE_HESSIAN_STEP = 5e-3


class SerialExecutor:
    """The trivial executor: ``map`` runs in this process, in order."""

    def map(self, fn: Callable, iterable: Iterable, chunksize: int = 1):
        return list(map(fn, iterable))

    def shutdown(self, wait: bool = True) -> None:
        pass


@dataclass
class CallCounter:
    """Single-point calls made by an :class:`ExpensiveModel` (bookkeeping only).

    ``potential``: calls of the function that returns V (with or without
    dV/dq); ``gradient``: calls of a separate gradient function. The sum is
    the number of electronic-structure calculations.
    """

    potential: int = 0
    gradient: int = 0

    @property
    def total(self) -> int:
        return self.potential + self.gradient


class _PotentialTask:
    """Picklable ``q -> V`` (drops a returned gradient); runs in the workers."""

    def __init__(self, fn, returns_gradient):
        self.fn, self.returns_gradient = fn, returns_gradient

    def __call__(self, q):
        out = self.fn(q)
        return np.asarray(out[0] if self.returns_gradient else out)


class _BothTask:
    """Picklable ``q -> (V, dV/dq)`` for a function that returns both."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, q):
        v, g = self.fn(q)
        return np.asarray(v), np.asarray(g)


class ExpensiveModel(Model):
    """A model whose diabatic matrix comes from a single-point calculation.

    Parameters
    ----------
    single_point : callable
        ``single_point(q)`` with q of shape (D,) returns V, shape (S, S),
        hartree; or, with ``gradient=True``, the pair (V, dV/dq) with dV/dq
        of shape (D, S, S). Must be picklable for a process pool (a
        module-level function or an instance of a module-level class).
    n_states, n_dof : int
        S and D.
    mass : float or array_like, shape (D,)
        Electron masses.
    gradient : None, True or callable
        None: central differences of V. True: ``single_point`` returns
        (V, dV/dq). A callable: ``gradient(q)`` (D,) -> (D, S, S).
    executor : None, "process", "serial" or executor object
        Where the single points run. None and "process" create (on first
        use) a :class:`concurrent.futures.ProcessPoolExecutor` with
        ``max_workers`` processes; "serial" runs them here; any object with
        an order-preserving ``map(fn, iterable)`` is used as is (it is not
        shut down by the model).
    fd_step : float
        Central-difference step of the gradient, coordinate units.
    hessian_step : float
        Step of the finite-difference Hessian, coordinate units.
    periods : array_like, optional
        Periodic coordinates as in :func:`ehrenspeed.models.from_function`.
    name : str
    max_workers : int, optional
        Size of the default process pool [default: ``os.cpu_count()``].
    chunksize : int
        Geometries sent to a worker at a time (larger amortises pickling).
    check : bool
        Evaluate V once at ``probe`` (or zeros) to catch wrong shapes early.
    probe : array_like, shape (D,), optional
        Geometry of that check.

    Attributes
    ----------
    calls : CallCounter
        Single points computed so far (accounting only; never read back
        into a result).
    """

    def __init__(self, single_point: Callable, n_states: int, n_dof: int, mass, gradient=None,
                 executor=None, fd_step: float = EXPENSIVE_FD_STEP,
                 hessian_step: float = EXPENSIVE_HESSIAN_STEP, periods=None,
                 name: str = "expensive", max_workers: int | None = None, chunksize: int = 1,
                 check: bool = True, probe=None):
        self._record_parameters(locals())
        for key in ("single_point", "gradient", "executor"):
            value = self._parameters.get(key)
            if value is not None and not isinstance(value, (str, bool)):
                self._parameters[key] = getattr(value, "__qualname__", type(value).__name__)
        if not callable(single_point):
            raise InputError(f"single_point must be callable, got {type(single_point).__name__}")
        if not (gradient is None or gradient is True or callable(gradient)):
            raise InputError("gradient must be None, True or a callable")
        for label, step in (("fd_step", fd_step), ("hessian_step", hessian_step)):
            if not (np.isfinite(step) and step > 0):
                raise InputError(f"{label} must be positive, got {step!r}")
        set_dimensions(self, n_states, n_dof, mass, periods, name)
        self.single_point = single_point
        self.returns_gradient = gradient is True
        self.gradient_fn = gradient if callable(gradient) else None
        self.fd_step = float(fd_step)
        self.hessian_step = float(hessian_step)
        self.chunksize = int(chunksize)
        self.max_workers = max_workers
        self._executor_spec = "process" if executor is None else executor
        if isinstance(self._executor_spec, str) and self._executor_spec not in ("process", "serial"):
            raise InputError(f"executor must be 'process', 'serial' or an executor, got {executor!r}")
        self._executor = None
        self.calls = CallCounter()
        if check:
            q = np.zeros(self.n_dof) if probe is None else np.asarray(probe, float).reshape(self.n_dof)
            v = self._map(_PotentialTask(single_point, self.returns_gradient), [q], "potential")
            self.complex_valued = bool(np.iscomplexobj(v))
            _check_matrices(v, (1, self.n_states, self.n_states), "potential", q[None], self.name,
                            HERMITIAN_RTOL)

    # -- executor -----------------------------------------------------------
    @property
    def executor(self):
        """The executor in use (the default process pool is created here)."""
        if self._executor is None:
            spec = self._executor_spec
            if spec == "serial":
                self._executor = SerialExecutor()
            elif spec == "process":
                self._executor = ProcessPoolExecutor(max_workers=self.max_workers or os.cpu_count())
            else:
                self._executor = spec
        return self._executor

    def close(self) -> None:
        """Shut down a process pool this model created (no-op otherwise)."""
        if isinstance(self._executor, ProcessPoolExecutor) and self._executor_spec == "process":
            self._executor.shutdown()
        self._executor = None

    def __getstate__(self):
        # a pool cannot be pickled (e.g. when the model is sent to MPI ranks)
        state = dict(self.__dict__)
        state["_executor"] = None
        return state

    def _map(self, task, points, kind):
        """Run ``task`` over ``points`` through the executor, in order."""
        points = [np.array(p, dtype=float) for p in points]
        if not points:
            return np.empty((0,))
        setattr(self.calls, kind, getattr(self.calls, kind) + len(points))
        try:
            if isinstance(self.executor, SerialExecutor):
                results = self.executor.map(task, points)
            else:
                results = list(self.executor.map(task, points, chunksize=self.chunksize))
        except ModelError:
            raise
        except Exception as exc:  # the user's electronic structure: report in one line
            raise ModelError(f"model {self.name!r}: single point failed: {type(exc).__name__}: {exc}") from exc
        if isinstance(results[0], tuple):
            return tuple(np.stack(part) for part in zip(*results))
        return np.stack(results)

    # -- the batched contract ---------------------------------------------
    def potential(self, q):
        """V at each row of q: N single points, shape (N, S, S), hartree."""
        q = as_positions(q, self.n_dof)
        out = self._map(_PotentialTask(self.single_point, self.returns_gradient), q, "potential")
        return out.reshape(q.shape[0], self.n_states, self.n_states)

    def gradient(self, q):
        """dV/dq at each row of q, shape (N, D, S, S).

        Given gradient: N calls. Otherwise central differences of V with
        ``fd_step``: all 2 D N displaced geometries in one parallel map.
        """
        q = as_positions(q, self.n_dof)
        n, d, s = q.shape[0], self.n_dof, self.n_states
        if self.returns_gradient:
            return self.potential_and_gradient(q)[1]
        if self.gradient_fn is not None:
            out = self._map(_PotentialTask(self.gradient_fn, False), q, "gradient")
            return out.reshape(n, d, s, s)
        h = self.fd_step
        shifts = np.eye(d) * h
        # order (n, sign, a): the map's order fixes the assembly, so parallel == serial
        points = (q[:, None, None, :] + np.stack([shifts, -shifts])[None]).reshape(-1, d)
        v = self._map(_PotentialTask(self.single_point, False), points, "potential")
        v = v.reshape(n, 2, d, s, s)
        return (v[:, 0] - v[:, 1]) / (2.0 * h)

    def potential_and_gradient(self, q):
        """V and dV/dq together, sharing calculations within this call.

        With ``gradient=True`` one single point per geometry gives both
        (N calls instead of 2 N); otherwise this is ``potential`` then
        ``gradient``.

        Returns
        -------
        v : ndarray, shape (N, S, S)
        g : ndarray, shape (N, D, S, S)
        """
        q = as_positions(q, self.n_dof)
        if not self.returns_gradient:
            return self.potential(q), self.gradient(q)
        n, d, s = q.shape[0], self.n_dof, self.n_states
        v, g = self._map(_BothTask(self.single_point), q, "potential")
        return v.reshape(n, s, s), g.reshape(n, d, s, s)

    def hessian(self, q):
        """d2V/dq2 at each row of q, shape (N, D, D, S, S), by differences of gradients.

        With a gradient: (G_a(q + h e_b) - G_a(q - h e_b)) / 2h, symmetrised,
        2 D gradient calls per row. Without: the same formula with the
        gradients themselves central differences of step h, i.e.

            H_ab = [V(++)-V(+-)-V(-+)+V(--)] / 4h^2  (a != b),
            H_aa = [V(q+2h e_a) - 2 V(q) + V(q-2h e_a)] / 4h^2,

        on the 2 D^2 + 1 distinct geometries, each computed once.
        """
        q = as_positions(q, self.n_dof)
        n, d, s = q.shape[0], self.n_dof, self.n_states
        h = self.hessian_step
        if self.returns_gradient or self.gradient_fn is not None:
            shifts = np.eye(d) * h
            points = (q[:, None, None, :] + np.stack([shifts, -shifts])[None]).reshape(-1, d)
            g = self.gradient(points).reshape(n, 2, d, d, s, s)      # (n, sign, b, a, S, S)
            hess = np.swapaxes((g[:, 0] - g[:, 1]) / (2.0 * h), 1, 2)  # [n, a, b]
            return 0.5 * (hess + np.swapaxes(hess, 1, 2))
        # distinct integer displacement patterns, in a fixed order
        patterns, index = _second_difference_patterns(d)
        points = (q[:, None, :] + h * patterns[None]).reshape(-1, d)
        v = self._map(_PotentialTask(self.single_point, False), points, "potential")
        v = v.reshape(n, len(patterns), s, s)
        hess = np.empty((n, d, d, s, s), dtype=v.dtype)
        for a in range(d):
            for b in range(d):
                pp, pm, mp, mm = (v[:, index[(a, b, sa, sb)]] for sa, sb in
                                  ((1, 1), (1, -1), (-1, 1), (-1, -1)))
                hess[:, a, b] = (pp - pm - mp + mm) / (4.0 * h * h)
        return hess


def _second_difference_patterns(d: int):
    """Distinct displacements s_a e_a + s_b e_b (s = +-1) in units of the step.

    Returns
    -------
    patterns : ndarray, shape (2 d^2 + 1, d)
        Integer displacement vectors, the origin first.
    index : dict
        (a, b, s_a, s_b) -> row of ``patterns``.
    """
    rows: dict[tuple, int] = {}
    index = {}
    for a in range(d):
        for b in range(d):
            for sa in (1, -1):
                for sb in (1, -1):
                    vec = [0] * d
                    vec[a] += sa
                    vec[b] += sb
                    key = tuple(vec)
                    if key not in rows:
                        rows[key] = len(rows)
                    index[(a, b, sa, sb)] = rows[key]
    # the origin (from a == b, s_a = -s_b) first, for readability of the order
    patterns = np.array(list(rows), dtype=float)
    return patterns, index


def from_single_point(fn: Callable, n_states: int, n_dof: int, mass, gradient=None, executor=None,
                      fd_step: float = EXPENSIVE_FD_STEP, hessian_step: float = EXPENSIVE_HESSIAN_STEP,
                      **options: Any) -> ExpensiveModel:
    """Wrap a one-geometry electronic-structure function as a batched model.

    Parameters
    ----------
    fn : callable
        (D,) -> (S, S) diabatic matrix, hartree (or (V, dV/dq) with
        ``gradient=True``).
    n_states, n_dof : int
    mass : float or array_like, shape (D,)
        Electron masses (use :func:`ehrenspeed.molecular.cartesian_masses`
        for atoms given in amu).
    gradient : None, True or callable
        See :class:`ExpensiveModel`.
    executor : None, "process", "serial" or executor
        Parallel map for the single points (process pool by default).
    fd_step, hessian_step : float
        Finite-difference steps (module docstring).
    **options
        ``periods``, ``name``, ``max_workers``, ``chunksize``, ``check``,
        ``probe`` of :class:`ExpensiveModel`.

    Examples
    --------
    >>> import numpy as np
    >>> def v(q):                      # one geometry at a time
    ...     return np.array([[0.5 * q[0] ** 2, 0.01], [0.01, 0.5 * (q[0] - 1) ** 2]])
    >>> model = from_single_point(v, 2, 1, 2000.0, executor="serial")
    >>> model.hessian(np.zeros((1, 1))).shape
    (1, 1, 1, 2, 2)
    """
    return ExpensiveModel(fn, n_states, n_dof, mass, gradient=gradient, executor=executor,
                          fd_step=fd_step, hessian_step=hessian_step, **options)
