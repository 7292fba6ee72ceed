"""The dynamics axis of a trajectory-ensemble method: how each trajectory moves.

A trajectory method is a pair (docs/surface_hopping.md, "Two axes"):

* a **source** (:mod:`ehrenspeed.potentials`): where each trajectory's
  diabatic matrix V and dV/dq come from (its own position, SPEED's shared
  Taylor surface, multi-centre SPEED);
* a **dynamics** (this module): how a trajectory moves on it. Mean-field
  (Ehrenfest-type) dynamics is :class:`MeanField`; surface hopping is
  :class:`ehrenspeed.dynamics.fssh.SurfaceHopping`.

:class:`ehrenspeed.driver.TrajectoryRun` owns the ensemble (positions,
momenta, coefficients, chunks, MPI blocks, records, checkpoints) and asks
its dynamics object, made once per run by :func:`make_dynamics`, for

``start(run, context)``
    Create the dynamics' own per-trajectory fields for this rank's block of
    trajectories (``run.block``, a slice of the global trajectory indices),
    at the first record; ``context`` is the source's context of that record
    (``source.evaluate(q, for_observables=True)``), so that starting costs
    no evaluation of its own.
``step(run, dt) -> State``
    Advance ``run.state`` by one step dt (the dynamics also updates its own
    fields).
``per_trajectory(part, v, inv_mass, rows) -> dict``
    Per-trajectory quantities at an output time for the local rows ``rows``
    (a slice of this rank's block) of state ``part``, V (n, S, S) their
    diabatic matrices: at least ``adiabatic_population`` (n, S),
    ``potential_energy`` (n,), ``total_energy`` (n,), the diabatic
    ``population`` |c_k|^2 (n, S) and ``norm`` (n,), plus one array per
    extra observable.
``observables``
    Extra ensemble observables, name -> dims (``("time", "state")``...),
    recorded beside the standard ones; ``ensemble_means(parts)`` turns the
    gathered per-trajectory parts into their values.
``get_state(comm) -> (arrays, meta)`` / ``set_state(arrays, meta, block)``
    Checkpoint the dynamics' fields: ``arrays`` are per-trajectory rows of
    every trajectory (gathered in global order, complete on rank 0), so a
    checkpoint resumes on any number of ranks; ``meta`` JSON-ready scalars.
``trajectory_variables`` / ``trajectory_fields(comm) -> dict``
    Names of the dynamics' per-trajectory fields stored with
    ``save_trajectories`` (as ``trajectory_<name>`` on (time, trajectory)),
    and their values of every trajectory (gathered, complete on rank 0).
``attributes(comm) -> dict``
    Run attributes of the result (hop counts...), collective.
``check(run)``
    Refuse settings the dynamics cannot use (InputError).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..observables import per_trajectory
from ..sampling import State


class MeanField:
    """Ehrenfest-type dynamics: the split step of :mod:`ehrenspeed.propagators` unchanged.

    Every trajectory feels the coefficient-weighted mean force
    -c^H (dV/dq) c of its source's V; nothing beyond (q, p, c) is carried.
    """

    name = "mean_field"
    observables: ClassVar[dict[str, tuple[str, ...]]] = {}
    trajectory_variables: ClassVar[tuple[str, ...]] = ()

    def check(self, run) -> None:
        pass

    def start(self, run, context) -> None:
        pass

    def step(self, run, dt: float) -> State:
        return run.integrator.step(run.state, dt, run.source, run.model, run.inv_mass, run._chunk, run.backend)

    def per_trajectory(self, part: State, v: np.ndarray, inv_mass: np.ndarray, rows: slice) -> dict:
        return per_trajectory(part, v, inv_mass)

    def ensemble_means(self, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {}

    def get_state(self, comm) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}

    def set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], block: slice) -> None:
        pass

    def trajectory_fields(self, comm) -> dict[str, np.ndarray]:
        return {}

    def attributes(self, comm) -> dict[str, Any]:
        return {}


def make_dynamics(method):
    """The run's dynamics object: the method's own (``method.make_dynamics()``) or mean field."""
    make = getattr(method, "make_dynamics", None)
    return MeanField() if make is None else make()


def source_method(method):
    """The potential-source half of a method (Ehrenfest or SPEED); the method itself when it is one."""
    return getattr(method, "source_method", method)


def resolve_method(method):
    """A method name or object as a method object ("fssh" or FSSH included).

    Raises
    ------
    InputError
        For an unknown name or object.
    """
    from ..errors import InputError
    from ..potentials import METHODS, as_method
    from .fssh import FSSH

    if isinstance(method, FSSH):
        return method
    if isinstance(method, str) and method.lower() == "fssh":
        return FSSH()
    try:
        return as_method(method)
    except InputError as exc:
        if "unknown method" in str(exc):
            raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}, fssh "
                             "or a method object") from None
        raise
