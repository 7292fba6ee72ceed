"""The trajectory driver: ``run(model, initial, method, ...)`` -> xarray.Dataset.

One loop serves every trajectory method: the method only decides where the
potential comes from (:mod:`ehrenspeed.potentials`), the integrator how the
split flow is composed (:mod:`ehrenspeed.propagators`). The run is an object
(:class:`TrajectoryRun`) so that it can be advanced in pieces, inspected and
checkpointed; :func:`run` is the one-call interface.
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np

from ._version import __version__
from .counting import CountingModel, scalar_cost
from .errors import InputError, SimulationError
from .models.base import Model
from .observables import ENSEMBLE_OBSERVABLES, ensemble_means, per_trajectory
from .potentials import as_method
from .propagators import as_integrator
from .results import make_dataset
from .sampling import State, Wavepacket, sample_wigner
from .schedule import check_positive, steps_between
from .schedule import output_times as make_output_times


def _check_model(model) -> None:
    for attr in ("potential", "gradient", "hessian", "n_states", "n_dof", "mass"):
        if not hasattr(model, attr):
            raise InputError(f"model {model!r} lacks {attr!r}: build it with es.models.from_function")


def initial_state(model, initial, n_traj, seed) -> State:
    """Sample (Wavepacket) or validate (State) the initial ensemble."""
    if isinstance(initial, Wavepacket):
        if initial.n_dof != model.n_dof:
            raise InputError(f"wavepacket has {initial.n_dof} coordinates, model {model.name!r} has {model.n_dof}")
        state = sample_wigner(initial, 1 if n_traj is None else n_traj, seed, n_states=model.n_states)
    elif isinstance(initial, State):
        state = State.from_arrays(initial.q, initial.p, initial.c, initial.t)
        if n_traj is not None and n_traj != state.n_traj:
            raise InputError(f"n_traj={n_traj} but the initial state has {state.n_traj} trajectories")
    else:
        raise InputError(f"initial conditions must be an es.Wavepacket or es.State, got {type(initial).__name__}")
    if state.n_dof != model.n_dof or state.n_states != model.n_states:
        raise InputError(f"initial state has (D, S) = ({state.n_dof}, {state.n_states}), "
                         f"model {model.name!r} has ({model.n_dof}, {model.n_states})")
    return state.replace(q=model.wrap(state.q))


class TrajectoryRun:
    """An ensemble propagation in progress.

    Parameters are those of :func:`run`. Use :meth:`advance` to step to the
    next output time, :meth:`finish` for the dataset.
    """

    def __init__(self, model: Model, initial, method="ehrenfest", n_traj: int | None = None,
                 dt: float = 1.0, t_final: float = 1.0, output_every: int | None = 1,
                 output_times=None, seed=None, integrator="strang", save_trajectories: bool = False,
                 chunk_size: int | None = None, validate: bool = True):
        _check_model(model)
        self.model = model
        self.method = as_method(method)
        self.integrator = as_integrator(integrator)
        self.dt = check_positive("dt", dt)
        if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.chunk_size = chunk_size
        self.seed = seed
        state = initial_state(model, initial, n_traj, seed)
        self.times = make_output_times(self.dt, t_final, output_every, output_times, t_start=state.t)
        self.t_final = float(t_final)
        self.output_every = output_every
        self.initial = initial
        self.save_trajectories = bool(save_trajectories)
        if validate:
            from .models.user import validate_model
            # SPEED needs the Hessian, Ehrenfest only the gradient
            validate_model(model, state.q[: min(state.n_traj, 4)],
                           derivatives=2 if self.method.name == "speed" else 1)
        self.counted = CountingModel(model)
        self.source = self.method.make_source(self.counted)
        self.inv_mass = 1.0 / np.asarray(model.mass, dtype=float)
        self.state = state
        self.n_steps = 0
        self.n_substeps = 0
        self.records: dict[str, list] = {name: [] for name in ENSEMBLE_OBSERVABLES}
        self.trajectory_records: dict[str, list] = {"q": [], "p": [], "c": []}
        self.energy0: np.ndarray | None = None
        self.max_energy_drift = 0.0
        self.max_relative_energy_drift = 0.0
        self.max_norm_error = 0.0
        self.wall_time = 0.0
        self.next_output = 0
        self.record()

    # -- observables --------------------------------------------------------
    def record(self) -> None:
        """Append the observables of the current state to the records."""
        state, n = self.state, self.state.n_traj
        context = self.source.evaluate(state.q, for_observables=True)
        chunk = self.chunk_size or n
        pieces = []
        for start in range(0, n, chunk):
            part = state.take(slice(start, start + chunk))
            v, _ = self.source.matrices(context, part.q, need_gradient=False)
            pieces.append(per_trajectory(part, v, self.inv_mass))
        parts = {key: np.concatenate([piece[key] for piece in pieces]) for key in pieces[0]}
        for key, value in ensemble_means(state, parts).items():
            self.records[key].append(value)
        energies = parts["total_energy"]
        if self.energy0 is None:
            self.energy0 = energies
        drift = np.abs(energies - self.energy0)
        self.max_energy_drift = max(self.max_energy_drift, float(drift.max()))
        scale = np.maximum(np.abs(self.energy0), np.finfo(float).tiny)
        self.max_relative_energy_drift = max(self.max_relative_energy_drift, float((drift / scale).max()))
        norms = np.sum(state.populations, axis=1)
        self.max_norm_error = max(self.max_norm_error, float(np.abs(norms - 1).max()))
        if self.save_trajectories:
            self.trajectory_records["q"].append(state.q.copy())
            self.trajectory_records["p"].append(state.p.copy())
            self.trajectory_records["c"].append(state.c.copy())
        self.next_output += 1

    # -- propagation --------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.next_output >= len(self.times)

    def advance(self, progress=None) -> None:
        """Propagate to the next output time and record there."""
        target = self.times[self.next_output]
        start = _time.perf_counter()
        for tau in steps_between(self.state.t, target, self.dt):
            self.state = self.integrator.step(self.state, tau, self.source, self.model,
                                              self.inv_mass, self.chunk_size)
            self.n_steps += 1
            self.n_substeps += len(self.integrator.weights)
            self._check_finite()
            if progress is not None:
                progress.update(1)
        # land exactly on the output time (no accumulated round-off in t)
        self.state = self.state.replace(t=float(target))
        self.record()
        self.wall_time += _time.perf_counter() - start

    def _check_finite(self) -> None:
        s = self.state
        good = np.isfinite(s.p).all(axis=1) & np.isfinite(s.c).all(axis=1) & np.isfinite(s.q).all(axis=1)
        if not good.all():
            j = int(np.argmin(good))
            raise SimulationError(f"non-finite position, momentum or coefficient at step {self.n_steps} "
                                  f"(t = {s.t:.6g} a.u.) in trajectory {j}")

    def total_steps(self) -> int:
        """Number of integrator steps of the whole run (for progress bars)."""
        return sum(len(steps_between(a, b, self.dt)) for a, b in zip(self.times[:-1], self.times[1:]))

    # -- result ---------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-ready description of the run (stored in the result)."""
        init = (self.initial.to_dict() if isinstance(self.initial, Wavepacket)
                else {"explicit_state": True, "n_traj": self.state.n_traj})
        try:
            params = self.model.parameters()
        except AttributeError:
            params = {}
        return {"model": {"name": getattr(self.model, "name", "user"), "parameters": params},
                "initial": init, "method": self.method.describe(), "integrator": self.integrator.name,
                "n_traj": self.state.n_traj, "dt": self.dt, "t_final": self.t_final,
                "output_every": self.output_every, "output_times": self.times.tolist(),
                "seed": self.seed if isinstance(self.seed, (int, type(None))) else str(self.seed),
                "chunk_size": self.chunk_size}

    def finish(self):
        """The result as an :class:`xarray.Dataset` (API.md layout)."""
        data = {name: (dims, np.array(self.records[name])) for name, dims in ENSEMBLE_OBSERVABLES.items()}
        if self.save_trajectories:
            data["trajectory_position"] = (("time", "trajectory", "dof"), np.array(self.trajectory_records["q"]))
            data["trajectory_momentum"] = (("time", "trajectory", "dof"), np.array(self.trajectory_records["p"]))
            data["trajectory_coefficients"] = (("time", "trajectory", "state"),
                                               np.array(self.trajectory_records["c"]))
        m = self.model
        counter = self.counted.counter
        n = self.state.n_traj
        attrs = {
            "method": self.method.name, "model": getattr(m, "name", "user"), "n_traj": n,
            "dt": self.dt, "seed": self.seed if isinstance(self.seed, int) else "",
            "integrator": self.integrator.name, "integrator_order": self.integrator.order,
            "n_steps": self.n_steps, "potential_substeps": self.n_substeps,
            "potential_evaluations": counter.potential, "gradient_evaluations": counter.gradient,
            "hessian_evaluations": counter.hessian, "scalar_evaluations": counter.scalars,
            "scalar_cost_ehrenfest": self.n_substeps * scalar_cost("ehrenfest", n, m.n_states, m.n_dof),
            "scalar_cost_speed": self.n_substeps * scalar_cost("speed", n, m.n_states, m.n_dof),
            "wall_time_s": self.wall_time, "max_energy_drift": self.max_energy_drift,
            "max_relative_energy_drift": self.max_relative_energy_drift,
            "max_norm_error": self.max_norm_error, "ehrenspeed_version": __version__,
            "config": self.config(),
        }
        attrs.update(self.source.statistics())
        return make_dataset(self.times, data, attrs,
                            coords={"state": np.arange(m.n_states), "dof": np.arange(m.n_dof)})


def run(model: Model, initial, method="ehrenfest", n_traj: int | None = None, dt: float = 1.0,
        t_final: float = 1.0, output_every: int | None = 1, output_times=None, seed=None,
        integrator="strang", save_trajectories: bool = False, chunk_size: int | None = None,
        progress: bool = False, validate: bool = True):
    """Propagate a trajectory ensemble with Ehrenfest or SPEED dynamics.

    Parameters
    ----------
    model : Model
        A built-in model or one from :func:`ehrenspeed.models.from_function`.
    initial : Wavepacket or State
        A wavepacket is Wigner-sampled with ``seed``; a State is used as is.
    method : {"ehrenfest", "speed"} or Ehrenfest or SPEED
        Where each trajectory's potential comes from.
    n_traj : int, optional
        Number of trajectories (default 1 for a wavepacket).
    dt : float
        Time step, a.u.
    t_final : float
        Final time, a.u.
    output_every : int
        Record every this many steps (ignored when ``output_times`` given).
    output_times : array_like, optional
        Explicit output times, a.u., independent of ``dt``.
    seed : int or SeedSequence, optional
        Sampling seed; same seed, bit-identical result.
    integrator : {"strang", "yoshida4", "yoshida6"}
        Splitting (orders 2, 4, 6).
    save_trajectories : bool
        Also store every trajectory's q, p, c at the output times.
    chunk_size : int, optional
        Trajectories per batch in the potential substep (bounds memory);
        the result does not depend on it.
    progress : bool
        Show a progress bar.
    validate : bool
        Check the model's output (shapes, finiteness, hermiticity) first.

    Returns
    -------
    xarray.Dataset
        Observables on the ``time`` axis and run attributes (API.md).
    """
    sim = TrajectoryRun(model, initial, method, n_traj, dt, t_final, output_every, output_times,
                        seed, integrator, save_trajectories, chunk_size, validate)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=sim.total_steps(), unit="step", desc=f"{sim.method.name}")
    try:
        while not sim.done:
            sim.advance(bar)
    finally:
        if bar is not None:
            bar.close()
    return sim.finish()
