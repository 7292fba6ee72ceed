"""Potential sources: where each trajectory's diabatic matrix comes from.

This is the only place Ehrenfest and SPEED differ; the propagators and the
observables treat both alike:

* :class:`Ehrenfest` asks the model for V and dV/dq at every trajectory's
  own position: N evaluations per potential substep.
* :class:`SPEED` asks the model once, at the ensemble mean qbar, for V, G =
  dV/dq and H = d2V/dq2, and gives every trajectory the shared quadratic
  Taylor surface

      V_eff(q) = V(qbar) + sum_a G_a d_a + 1/2 sum_ab H_ab d_a d_b,   d = q - qbar,
      dV_eff/dq_a (q) = G_a + sum_b H_ab d_b.

A method object (``Ehrenfest()``, ``SPEED(...)``) is an immutable
description; :meth:`make_source` builds the per-run source that holds the
run's Hessian cache (SPEED) and talks to the (counted) model.

A source's two calls:

``evaluate(q_all)``
    Once per potential substep with the whole ensemble's positions; returns a
    context (SPEED: the Taylor data at qbar; Ehrenfest: nothing).
``matrices(context, q, need_gradient)``
    V (n, S, S) and dV/dq (n, D, S, S) for a chunk of n trajectories.

Reference (the SPEED paper): A. Scheidegger and J. J. L. Vaníček, J. Chem.
Phys. 163, 044105 (2025); preprint arXiv:2503.13905, "Ehrenfest dynamics
accelerated with SPEED".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, ModelError
from .parallel import SerialComm, collective


@dataclass(frozen=True)
class Ehrenfest:
    """Multi-trajectory Ehrenfest dynamics: each trajectory's own V(q_j)."""

    name: str = field(default="ehrenfest", init=False)

    def make_source(self, model) -> "PerTrajectorySource":
        return PerTrajectorySource(model)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True)
class SPEED:
    """Single potential evaluation Ehrenfest dynamics (shared Taylor surface).

    Parameters
    ----------
    hessian_every : int
        Recompute H every this many potential substeps (1 = the definition).
        V and G are evaluated at qbar every substep regardless.
    reference_hessian : bool
        Compute H once, at ``reference_geometry`` (default: the initial qbar),
        and keep it for the whole run.
    reference_geometry : array_like, shape (D,), optional
        Where the reference Hessian is taken.
    adaptive_tol : float, optional
        Adaptive refresh: after each substep's gradient evaluation, compare G
        with the quadratic model's prediction G_prev + H (qbar - qbar_prev);
        recompute H when max |G - G_pred| exceeds this (hartree / coordinate).
        With ``centres="adaptive"`` also the splitting criterion: a group is
        split when its expansion mispredicts the gradient at the means of its
        two halves (2-means) by more than this; without it, by more than 10%
        of the gradient's change from the group's mean to the halves' means.
    centres : int or "adaptive"
        Multi-centre SPEED (:mod:`ehrenspeed.multicentre`): the swarm is
        partitioned into this many groups (seeded k-means in mass-weighted
        coordinates), each moving on the quadratic expansion at its own mean.
        1 (the default) is SPEED; one group per trajectory is Ehrenfest.
        ``"adaptive"`` starts with one group and splits groups whose
        expansion mispredicts the gradient (``adaptive_tol``) up to
        ``max_centres``.
    max_centres : int, optional
        Upper bound on the number of groups with ``centres="adaptive"``
        (default 8).
    regroup_every : int, optional
        Recompute the grouping by k-means every this many steps (multi-centre
        only). Default None: groups are formed once, at the start, and keep
        their members, which conserves the energy best (docs/trajectories.md).

    Only one Hessian policy may be chosen.
    """

    hessian_every: int = 1
    reference_hessian: bool = False
    reference_geometry: Any = None
    adaptive_tol: float | None = None
    centres: Any = 1
    max_centres: int | None = None
    regroup_every: int | None = None
    name: str = field(default="speed", init=False)

    def __post_init__(self):
        he = self.hessian_every
        if isinstance(he, bool) or int(he) != he or he < 1:
            raise InputError(f"hessian_every must be a positive integer, got {he!r}")
        chosen = (he != 1) + bool(self.reference_hessian) + (self.adaptive_tol is not None)
        if chosen > 1:
            raise InputError("choose one Hessian policy: hessian_every, reference_hessian or adaptive_tol")
        if self.adaptive_tol is not None and not (self.adaptive_tol > 0):
            raise InputError(f"adaptive_tol must be positive, got {self.adaptive_tol}")
        if self.reference_geometry is not None and not self.reference_hessian:
            raise InputError("reference_geometry is only used with reference_hessian=True")
        self._check_centres()

    def _check_centres(self) -> None:
        """Multi-centre options: each wrong value is an InputError naming its parameter."""
        k = self.centres
        adaptive = isinstance(k, str) and k.lower() == "adaptive"
        if adaptive:
            object.__setattr__(self, "centres", "adaptive")
        elif isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"centres must be a positive integer or 'adaptive', got {k!r}")
        else:
            object.__setattr__(self, "centres", int(k))
        m = self.max_centres
        if m is not None:
            if not adaptive:
                raise InputError("max_centres is only used with centres='adaptive'")
            if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)) or m < 1:
                raise InputError(f"max_centres must be a positive integer, got {m!r}")
            object.__setattr__(self, "max_centres", int(m))
        r = self.regroup_every
        if r is not None:
            if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)) or r < 1:
                raise InputError(f"regroup_every must be a positive whole number of steps, got {r!r}")
            if self.centres == 1:
                raise InputError("regroup_every is only used with centres > 1 or centres='adaptive'")
            object.__setattr__(self, "regroup_every", int(r))

    @property
    def multicentre(self) -> bool:
        """True for more than one expansion centre (or an adaptive number)."""
        return self.centres != 1

    @property
    def policy(self) -> str:
        if self.reference_hessian:
            return "reference"
        if self.adaptive_tol is not None:
            return "adaptive"
        return "every_step" if self.hessian_every == 1 else f"every_{self.hessian_every}"

    def make_source(self, model) -> "TaylorSource":
        if self.multicentre:
            from .multicentre import MultiCentreSource

            return MultiCentreSource(model, self)
        return TaylorSource(model, self)

    def describe(self) -> dict[str, Any]:
        ref = self.reference_geometry
        described = {"name": self.name, "hessian_every": int(self.hessian_every),
                     "reference_hessian": bool(self.reference_hessian),
                     "reference_geometry": None if ref is None else np.asarray(ref, float).tolist(),
                     "adaptive_tol": self.adaptive_tol}
        if self.multicentre:  # one-centre SPEED keeps its stored configuration (and its hash)
            described.update(centres=self.centres, max_centres=self.max_centres,
                             regroup_every=self.regroup_every)
        return described


#: method name -> class, so ``method="speed"`` and ``method=SPEED()`` both work.
METHODS = {"ehrenfest": Ehrenfest, "speed": SPEED}


def as_method(method) -> Ehrenfest | SPEED:
    """Resolve a method name or object."""
    if isinstance(method, (Ehrenfest, SPEED)):
        return method
    if isinstance(method, str) and method.lower() in METHODS:
        return METHODS[method.lower()]()
    if getattr(method, "name", method) == "tged":
        # one Gaussian, not an ensemble of trajectories: es.run dispatches it to its own runner
        raise InputError("method 'tged' is not a trajectory-ensemble method: run it with es.run(...), "
                         "not TrajectoryRun")
    raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)} or a method object")


class PerTrajectorySource:
    """Ehrenfest: the model at each trajectory's position.

    On MPI ranks each rank evaluates the model for its own block of
    trajectories only.
    """

    #: the run's communicator (set by the driver for MPI runs)
    comm = SerialComm()

    def __init__(self, model):
        self.model = model
        self._calls0 = _single_point_calls(model)

    def evaluate(self, q_all: np.ndarray, for_observables: bool = False) -> None:
        return None

    def matrices(self, context, q: np.ndarray, need_gradient: bool = True):
        both = getattr(self.model, "potential_and_gradient", None)
        if need_gradient and both is not None:
            # an electronic-structure model gives V and dV/dq from one calculation
            return both(q)
        v = self.model.potential(q)
        return v, (self.model.gradient(q) if need_gradient else None)

    def statistics(self) -> dict[str, Any]:
        return _call_statistics(self.model, self._calls0)

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass


@dataclass
class TaylorData:
    """V, G, H at the expansion point qbar (shapes (S,S), (D,S,S), (D,D,S,S))."""

    qbar: np.ndarray
    v: np.ndarray
    g: np.ndarray
    h: np.ndarray


class TaylorSource:
    """SPEED: one evaluation at the ensemble mean, a shared quadratic surface.

    Holds the run's Hessian cache and the policy's counters; they are part
    of a checkpoint (:meth:`get_state`).

    On MPI ranks the positions are all-gathered, so every rank forms the
    same mean in the same order as a one-process run; the evaluation at the
    mean is entered by all ranks together (an on-the-fly model with an
    :class:`ehrenspeed.parallel.MPIExecutor` spreads its single points over
    them) and rank 0's result is broadcast.
    """

    comm = SerialComm()

    def __init__(self, model, method: SPEED):
        self.model = model
        self.method = method
        _check_reference_geometry(method.reference_geometry, model)
        self.hessian: np.ndarray | None = None
        self.hessian_point: np.ndarray | None = None
        self.last: TaylorData | None = None
        self.n_evaluations = 0
        self.n_hessians = 0
        self.max_gradient_error = 0.0
        self._calls0 = _single_point_calls(model)

    def _needs_hessian(self, qbar: np.ndarray, g: np.ndarray) -> bool:
        m = self.method
        if self.hessian is None:
            return True
        if m.reference_hessian:
            return False
        if m.adaptive_tol is not None:
            # the quadratic model predicts the gradient at the new mean
            predicted = self.last.g + np.einsum("b,abkl->akl", qbar - self.last.qbar, self.hessian)
            error = float(np.max(np.abs(g - predicted)))
            self.max_gradient_error = max(self.max_gradient_error, error)
            return error > m.adaptive_tol
        return self.n_evaluations % m.hessian_every == 0

    def evaluate(self, q: np.ndarray, for_observables: bool = False) -> TaylorData:
        """V, G (and H as the policy says) at the ensemble mean.

        Parameters
        ----------
        q : ndarray, shape (n, D)
            This process's positions (all N in a one-process run).
        for_observables : bool
            Build the Taylor surface at the current mean from the cached
            Hessian (computed only if there is none yet) and leave the
            policy's counters alone: recording observables must not change
            the dynamics.
        """
        comm = self.comm
        qbar = comm.allgather_rows(q).mean(axis=0)
        if comm.size == 1:
            return self._evaluate_at(qbar, for_observables)
        data = error = None
        try:
            with collective(comm):
                data = self._evaluate_at(qbar, for_observables)
        except Exception as exc:  # every rank must reach the agreement
            error = exc
        comm.agree(error)
        # one answer for all ranks, even if their arithmetic differed in the last bit
        data = comm.bcast(data)
        self.hessian = data.h
        if not for_observables or self.last is None:
            self.last = data
        return data

    def _evaluate_at(self, qbar: np.ndarray, for_observables: bool) -> TaylorData:
        point = qbar[None, :]
        v = self.model.potential(point)[0]
        g = self.model.gradient(point)[0]
        _check_at_point(self.model, qbar, _MEAN, potential=v, gradient=g)
        if for_observables:
            data = TaylorData(qbar, v, g, self.hessian)
            if self.hessian is None:
                self._compute_hessian(point)
                data.h = self.hessian
                self.last = data  # the adaptive policy predicts from here
            return data
        if self._needs_hessian(qbar, g):
            self._compute_hessian(point)
        self.n_evaluations += 1
        self.last = TaylorData(qbar, v, g, self.hessian)
        return self.last

    def _compute_hessian(self, point: np.ndarray) -> None:
        ref = self.method.reference_geometry
        where = _MEAN
        if self.method.reference_hessian and ref is not None:
            point = np.asarray(ref, dtype=float).reshape(1, -1)
            where = "the reference geometry"
        self.hessian = self.model.hessian(point)[0]
        _check_at_point(self.model, point[0], where, hessian=self.hessian)
        self.hessian_point = point[0]
        self.n_hessians += 1

    def matrices(self, context: TaylorData, q: np.ndarray, need_gradient: bool = True):
        return taylor_matrices(context, q - context.qbar, need_gradient)

    def statistics(self) -> dict[str, Any]:
        return {"hessian_policy": self.method.policy, "hessian_evaluations_speed": self.n_hessians,
                "taylor_expansions": self.n_evaluations,
                "max_gradient_prediction_error": self.max_gradient_error,
                **_call_statistics(self.model, self._calls0)}

    def get_state(self) -> dict[str, Any]:
        state = {"n_evaluations": self.n_evaluations, "n_hessians": self.n_hessians,
                 "max_gradient_error": self.max_gradient_error}
        if self.hessian is not None:
            state.update(hessian=self.hessian, hessian_point=self.hessian_point,
                         last_qbar=self.last.qbar, last_g=self.last.g, last_v=self.last.v)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.n_evaluations = int(state["n_evaluations"])
        self.n_hessians = int(state["n_hessians"])
        self.max_gradient_error = float(state["max_gradient_error"])
        if "hessian" in state:
            self.hessian = np.asarray(state["hessian"])
            self.hessian_point = np.asarray(state["hessian_point"])
            self.last = TaylorData(np.asarray(state["last_qbar"]), np.asarray(state["last_v"]),
                                   np.asarray(state["last_g"]), self.hessian)


def taylor_matrices(context: TaylorData, d: np.ndarray, need_gradient: bool = True):
    """V_eff and dV_eff/dq of a quadratic expansion at displacements d from its centre.

    Parameters
    ----------
    context : TaylorData
        V (S, S), G (D, S, S), H (D, D, S, S) at the centre qbar.
    d : ndarray, shape (n, D)
        q - qbar for n trajectories (coordinate units).
    need_gradient : bool
        Also return dV_eff/dq.

    Returns
    -------
    v : ndarray, shape (n, S, S), hartree
    dv : ndarray, shape (n, D, S, S), or None
    """
    hd = np.einsum("nb,abkl->nakl", d, context.h)          # sum_b H_ab d_b
    dv = context.g[None] + hd                               # dV_eff/dq_a at q
    # V_eff = V + d.G + d.H.d/2 = V + d.(G + H d / 2)
    v = context.v + np.einsum("na,nakl->nkl", d, context.g[None] + 0.5 * hd)
    return v, (dv if need_gradient else None)


def context_rows(context, rows: slice):
    """The part of a substep context that serves the local rows ``rows``.

    Ehrenfest's (None) and SPEED's (:class:`TaylorData`) contexts serve any
    rows; multi-centre SPEED's knows each local row's group and is sliced.
    """
    take = getattr(context, "take", None)
    return context if take is None else take(rows)


def _check_reference_geometry(reference, model) -> None:
    """SPEED's reference geometry must be one finite point of the model's coordinates."""
    if reference is None:
        return
    try:
        ref = np.asarray(reference, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"reference_geometry must be {model.n_dof} numbers, got {reference!r}") from None
    if ref.shape != (model.n_dof,):
        entries = "1 entry" if model.n_dof == 1 else f"{model.n_dof} entries"
        raise InputError(f"reference_geometry must have {entries} (one per coordinate of model "
                         f"{getattr(model, 'name', 'user')!r}), got shape {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise InputError(f"reference_geometry must be finite, got {ref.tolist()}")


#: Where SPEED evaluates the model, in messages.
_MEAN = "the ensemble mean (SPEED's expansion point)"


def _check_at_point(model, point: np.ndarray, where: str, **matrices: np.ndarray) -> None:
    """Refuse a non-finite V, G or H at SPEED's expansion point, saying where it is.

    Every trajectory shares this Taylor surface, so a NaN here would show up
    as every trajectory going non-finite at once, reported against the first
    trajectory, which the model was never evaluated at.
    """
    for what, values in matrices.items():
        if not np.all(np.isfinite(values)):
            raise ModelError(f"model {getattr(model, 'name', 'user')!r}: {what} contains NaN or Inf at "
                             f"{where} q = {np.asarray(point).tolist()}")


def _single_point_calls(model) -> int | None:
    """Electronic-structure calls made so far by an expensive model (else None)."""
    calls = getattr(model, "calls", None)
    return getattr(calls, "total", None)


def _call_statistics(model, start: int | None) -> dict[str, Any]:
    """``electronic_structure_calls`` made during this run, for expensive models."""
    now = _single_point_calls(model)
    if now is None or start is None:
        return {}
    return {"electronic_structure_calls": now - start}
