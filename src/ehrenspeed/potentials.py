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
    hessian : {"exact", "update"}
        Where H comes from. ``"exact"`` (default): the model's Hessian, as the
        policy above says. ``"update"``: the model's Hessian at the start,
        then a quasi-Newton update from (qbar - qbar_prev, G - G_prev) at
        every substep (:mod:`ehrenspeed.hessian_update`), recomputed in full
        only when the gradient misprediction exceeds ``adaptive_tol`` (never,
        without it).
    hessian_update : {"bofill", "psb"}, optional
        The update formula with ``hessian="update"`` (default Bofill's).
    order : {2, 3}
        Order of the Taylor expansion at qbar. 3 adds the third derivatives
        T = d3V/dq3 (the model's ``third_derivative`` if it has one, else
        finite differences of Hessians), refreshed with H; the cubic surface
        is unbounded, so a trajectory that runs away ends the run
        (:class:`ehrenspeed.errors.SimulationError`).

    Only one Hessian policy may be chosen (``hessian="update"`` combines
    with ``adaptive_tol`` as its refresh criterion).
    """

    hessian_every: int = 1
    reference_hessian: bool = False
    reference_geometry: Any = None
    adaptive_tol: float | None = None
    centres: Any = 1
    max_centres: int | None = None
    regroup_every: int | None = None
    hessian: str = "exact"
    hessian_update: str | None = None
    order: int = 2
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
        self._check_hessian_source()
        self._check_order()

    def _check_hessian_source(self) -> None:
        """``hessian`` and ``hessian_update``: the quasi-Newton option and what it combines with."""
        from .hessian_update import UPDATES

        source = self.hessian
        if not isinstance(source, str) or source.lower() not in ("exact", "update"):
            raise InputError(f"hessian must be 'exact' or 'update', got {source!r}")
        object.__setattr__(self, "hessian", source.lower())
        formula = self.hessian_update
        if formula is not None:
            if self.hessian != "update":
                raise InputError("hessian_update is only used with hessian='update'")
            if not isinstance(formula, str) or formula.lower() not in UPDATES:
                raise InputError(f"hessian_update must be one of {', '.join(UPDATES)}, got {formula!r}")
            object.__setattr__(self, "hessian_update", formula.lower())
        if self.hessian == "update":
            if self.hessian_every != 1 or self.reference_hessian:
                raise InputError("hessian='update' combines with adaptive_tol only, not with hessian_every "
                                 "or reference_hessian")
            if self.multicentre:
                raise InputError("hessian='update' is not available with centres != 1")

    def _check_order(self) -> None:
        o = self.order
        if isinstance(o, (bool, np.bool_)) or o not in (2, 3):
            raise InputError(f"order must be 2 or 3, got {o!r}")
        object.__setattr__(self, "order", int(o))
        if o == 3 and self.multicentre:
            raise InputError("order=3 is not available with centres != 1")
        if o == 3 and self.hessian == "update":
            raise InputError("order=3 needs exact Hessians: it does not combine with hessian='update'")

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
        if self.hessian == "update":
            return f"update_{self.hessian_update or 'bofill'}"
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
        if self.hessian == "update":  # likewise: only the new options that are in use
            described.update(hessian="update", hessian_update=self.hessian_update or "bofill")
        if self.order != 2:
            described["order"] = self.order
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
    """V, G, H (and T) at the expansion point qbar.

    Shapes (S,S), (D,S,S), (D,D,S,S) and, for the cubic expansion
    (``SPEED(order=3)``), T = d3V/dq3 (D,D,D,S,S); ``t`` is None for the
    quadratic one.
    """

    qbar: np.ndarray
    v: np.ndarray
    g: np.ndarray
    h: np.ndarray
    t: np.ndarray | None = None


class TaylorSource:
    """SPEED: one evaluation at the ensemble mean, a shared quadratic (or cubic) surface.

    Holds the run's Hessian cache and the policy's counters; they are part
    of a checkpoint (:meth:`get_state`). With ``hessian="update"`` the cache
    is the quasi-Newton Hessian, updated in place of a recomputation; with
    ``order=3`` it also holds the third derivatives.

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
        self.third: np.ndarray | None = None
        self.last: TaylorData | None = None
        self.n_evaluations = 0
        self.n_hessians = 0
        self.n_updates = 0
        self.n_updates_skipped = 0
        self.n_third = 0
        self.max_gradient_error = 0.0
        self._calls0 = _single_point_calls(model)

    def _needs_hessian(self, qbar: np.ndarray, g: np.ndarray) -> bool:
        m = self.method
        if self.hessian is None:
            return True
        if m.reference_hessian:
            return False
        if m.adaptive_tol is not None or m.hessian == "update":
            # the quadratic model predicts the gradient at the new mean
            predicted = self.last.g + np.einsum("b,abkl->akl", qbar - self.last.qbar, self.hessian)
            error = float(np.max(np.abs(g - predicted)))
            self.max_gradient_error = max(self.max_gradient_error, error)
            return m.adaptive_tol is not None and error > m.adaptive_tol
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
        q_all = comm.allgather_rows(q)
        qbar = q_all.mean(axis=0)
        if self.method.order == 3:
            _check_runaway(q_all, qbar, np.asarray(self.model.mass, dtype=float))
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
        self.third = data.t
        if not for_observables or self.last is None:
            self.last = data
        return data

    def _evaluate_at(self, qbar: np.ndarray, for_observables: bool) -> TaylorData:
        point = qbar[None, :]
        v = self.model.potential(point)[0]
        g = self.model.gradient(point)[0]
        _check_at_point(self.model, qbar, _MEAN, potential=v, gradient=g)
        if for_observables:
            data = TaylorData(qbar, v, g, self.hessian, self.third)
            if self.hessian is None:
                self._compute_hessian(point)
                data.h, data.t = self.hessian, self.third
                self.last = data  # the adaptive policy predicts from here
            return data
        if self._needs_hessian(qbar, g):
            self._compute_hessian(point)
        elif self.method.hessian == "update":
            self._update_hessian(qbar, g)
        self.n_evaluations += 1
        self.last = TaylorData(qbar, v, g, self.hessian, self.third)
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
        if self.method.order == 3:
            self.third = third_derivative(self.model, point)[0]
            _check_at_point(self.model, point[0], where, third_derivative=self.third)
            self.n_third += 1

    def check_energies(self, energy: np.ndarray, energy0: np.ndarray, t: float) -> None:
        """SPEED(order=3): stop when a trajectory's energy has run away on the cubic surface.

        Called at every output time with the trajectories' total energies
        (N,) and their initial values (hartree). Quadratic SPEED's surface
        moves with the mean, so its energies drift, boundedly (up to ~900
        times the swarm's initial energy spread on the thermal furan
        collision, docs/trajectories.md); a trajectory falling down the
        unbounded cubic surface gains energy without limit. More than
        :data:`RUNAWAY_ENERGY` times the initial spread (max - min of
        energy0) is taken as running away: a heuristic threshold, set ten
        times above the largest bounded drift measured.
        """
        if self.method.order != 3:
            return
        from .errors import SimulationError

        drift = np.abs(energy - energy0)
        spread = float(np.ptp(energy0))
        j = int(np.argmax(drift))
        if spread > 0.0 and drift[j] > RUNAWAY_ENERGY * spread:
            raise SimulationError(f"SPEED(order=3): trajectory {j} ran away on the unbounded cubic surface by "
                                  f"t = {t:.6g} a.u. (its energy changed by {drift[j]:.3g} hartree, "
                                  f"{drift[j] / spread:.0f} times the initial energy spread); use order=2, "
                                  "a smaller dt or more centres")

    def _update_hessian(self, qbar: np.ndarray, g: np.ndarray) -> None:
        """Quasi-Newton update from the previous expansion point to this one (skipped for a tiny step)."""
        from .hessian_update import step_too_small, update_hessian

        step = qbar - self.last.qbar
        if step_too_small(step, qbar):
            self.n_updates_skipped += 1
            return
        self.hessian = update_hessian(self.hessian, step, g - self.last.g,
                                      self.method.hessian_update or "bofill")
        self.hessian_point = qbar
        self.n_updates += 1

    def matrices(self, context: TaylorData, q: np.ndarray, need_gradient: bool = True):
        return taylor_matrices(context, q - context.qbar, need_gradient)

    def statistics(self) -> dict[str, Any]:
        stats = {"hessian_policy": self.method.policy, "hessian_evaluations_speed": self.n_hessians,
                 "taylor_expansions": self.n_evaluations,
                 "max_gradient_prediction_error": self.max_gradient_error}
        if self.method.hessian == "update":
            stats.update(hessian_updates=self.n_updates, hessian_updates_skipped=self.n_updates_skipped)
        if self.method.order == 3:
            stats["third_derivative_evaluations_speed"] = self.n_third
        return {**stats, **_call_statistics(self.model, self._calls0)}

    def get_state(self) -> dict[str, Any]:
        state = {"n_evaluations": self.n_evaluations, "n_hessians": self.n_hessians,
                 "max_gradient_error": self.max_gradient_error}
        if self.method.hessian == "update":
            state.update(n_updates=self.n_updates, n_updates_skipped=self.n_updates_skipped)
        if self.hessian is not None:
            state.update(hessian=self.hessian, hessian_point=self.hessian_point,
                         last_qbar=self.last.qbar, last_g=self.last.g, last_v=self.last.v)
        if self.third is not None:
            state.update(third=self.third, n_third=self.n_third)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.n_evaluations = int(state["n_evaluations"])
        self.n_hessians = int(state["n_hessians"])
        self.max_gradient_error = float(state["max_gradient_error"])
        self.n_updates = int(state.get("n_updates", 0))
        self.n_updates_skipped = int(state.get("n_updates_skipped", 0))
        self.n_third = int(state.get("n_third", 0))
        if "third" in state:
            self.third = np.asarray(state["third"])
        if "hessian" in state:
            self.hessian = np.asarray(state["hessian"])
            self.hessian_point = np.asarray(state["hessian_point"])
            self.last = TaylorData(np.asarray(state["last_qbar"]), np.asarray(state["last_v"]),
                                   np.asarray(state["last_g"]), self.hessian, self.third)


#: Step of the finite-difference third derivative (of Hessians), coordinate
#: units, for models without ``third_derivative`` or their own
#: ``hessian_step``. Central differences of an analytic Hessian: truncation
#: ~ h^2 |V^(5)| / 6, rounding ~ eps |H| / h; 1e-3 keeps both near 1e-7 for
#: a potential varying on the scale of one coordinate unit.
THIRD_DERIVATIVE_STEP = 1e-3


def third_derivative(model, q: np.ndarray) -> np.ndarray:
    """d3V/dq_a dq_b dq_c at the rows of q, shape (N, D, D, D, S, S).

    The model's own ``third_derivative`` if it has one (analytic or
    automatic differentiation); otherwise central differences of its
    Hessians (2 D Hessians per point, each counted by an on-the-fly model),
    symmetrised over the six orders of (a, b, c).
    """
    own = getattr(model, "third_derivative", None)
    if own is not None:
        return np.asarray(own(q))
    from .models.base import central_difference

    step = getattr(model, "hessian_step", THIRD_DERIVATIVE_STEP)
    t = central_difference(model.hessian, q, step)          # (N, c, a, b, S, S)
    t = np.moveaxis(t, 1, 3)                                # (N, a, b, c, S, S)
    perms = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    return sum(np.transpose(t, (0,) + tuple(1 + i for i in p) + (4, 5)) for p in perms) / 6.0


#: A trajectory whose total energy changed by more than this many times the
#: swarm's initial energy spread has run away on the cubic surface.
RUNAWAY_ENERGY = 1.0e4

#: A trajectory farther from the swarm mean than this many times the median
#: distance (mass-weighted) has run away on the cubic surface.
RUNAWAY_DISTANCE = 50.0


def _check_runaway(q_all: np.ndarray, qbar: np.ndarray, mass: np.ndarray) -> None:
    """Stop a cubic-SPEED run whose trajectory escapes down the unbounded cubic surface.

    A cubic V_eff falls without bound along some direction; a trajectory
    that passes its inflection accelerates away (its distance grows faster
    than any power of t) until the numbers overflow. Long before that it is
    far outside the swarm: farther than :data:`RUNAWAY_DISTANCE` times the
    median distance from the mean (sqrt(sum_a m_a d_a^2)), which an intact
    Gaussian-like swarm (max/median ~ 4 for 10^4 samples) or two separating
    branches (~1) never reach.
    """
    from .errors import SimulationError

    r = np.sqrt(((q_all - qbar) ** 2 * mass).sum(axis=1))
    typical = float(np.median(r))
    j = int(np.argmax(r))
    if typical > 0.0 and r[j] > RUNAWAY_DISTANCE * typical:
        raise SimulationError(f"SPEED(order=3): trajectory {j} ran away on the unbounded cubic surface "
                              f"(it is {r[j] / typical:.0f} times the median distance from the swarm mean); "
                              "use order=2, a smaller dt or more centres")


def taylor_matrices(context: TaylorData, d: np.ndarray, need_gradient: bool = True):
    """V_eff and dV_eff/dq of a quadratic (or cubic) expansion at displacements d from its centre.

    Parameters
    ----------
    context : TaylorData
        V (S, S), G (D, S, S), H (D, D, S, S) and, if not None, T (D, D, D,
        S, S) at the centre qbar.
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
    if context.t is not None:
        # cubic: dV_eff/dq_a += T_abc d_b d_c / 2, V_eff += T_abc d_a d_b d_c / 6
        tdd = np.einsum("nb,nc,abckl->nakl", d, d, context.t)
        dv = context.g[None] + hd + 0.5 * tdd
        v = context.v + np.einsum("na,nakl->nkl", d, context.g[None] + 0.5 * hd + tdd / 6.0)
        return v, (dv if need_gradient else None)
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
