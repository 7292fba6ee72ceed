"""The trajectory driver: ``run(model, initial, method, ...)`` -> xarray.Dataset.

One loop serves every trajectory method: the method only decides where the
potential comes from (:mod:`ehrenspeed.potentials`), the integrator how the
split flow is composed (:mod:`ehrenspeed.propagators`). The run is an object
(:class:`TrajectoryRun`) so that it can be advanced in pieces, inspected and
checkpointed; :func:`run` is the one-call interface.
"""

from __future__ import annotations

import json
import os
import time as _time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .backend import check_backend, for_run, numpy_cost_weight, use_backend
from . import interrupt
from .checkpoint import compare_model_identity, config_hash, load_checkpoint, model_identity, save_checkpoint
from .counting import CountingModel, EvaluationCounter, scalar_cost
from .dynamics.base import make_dynamics, resolve_method, source_method
from .errors import InputError, OutputError, RunInterrupted, SimulationError
from .fused_steps import HOOK_ATTRIBUTE, block_length, fused_block, fused_parameters, record_parts
from .models.base import Model
from .observables import ENSEMBLE_OBSERVABLES, ensemble_means
from .parallel import as_comm, block
from .potentials import context_rows
from .progress import LogProgress, make_progress
from .propagators import as_integrator
from .results import make_dataset
from .sampling import State, Wavepacket, _check_n_traj, sample_wigner
from .schedule import check_positive, check_trajectory_memory, steps_between
from .schedule import output_times as make_output_times


class EnergyDriftWarning(UserWarning):
    """The ensemble's mean total energy drifted beyond the run's threshold."""


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
    _check_finite_sample(state, np.asarray(model.mass, dtype=float))
    return state.replace(q=model.wrap(state.q))


def _check_finite_sample(state: State, mass: np.ndarray) -> None:
    """Refuse initial positions, momenta or kinetic energies that are not finite.

    A Wigner sample of a finite wavepacket can still overflow (p0 = 1e308
    plus its spread), and p^2 / 2m overflows from |p| ~ 1e154: the run would
    then record total_energy = inf at every time without complaint.
    """
    for name, values in (("position", state.q), ("momentum", state.p)):
        finite = np.isfinite(values).all(axis=1)
        if not finite.all():
            j = int(np.argmin(finite))
            raise InputError(f"initial {name} of trajectory {j} is not finite: {values[j].tolist()}")
    with np.errstate(over="ignore"):
        kinetic = 0.5 * np.sum(state.p**2 / mass, axis=1)
    finite = np.isfinite(kinetic)
    if not finite.all():
        j = int(np.argmin(finite))
        raise InputError(f"initial kinetic energy of trajectory {j} overflows (momentum {state.p[j].tolist()}); "
                         "check the wavepacket's p0 and width")


def _check_memory(model, initial, n_traj, n_times: int, save_trajectories) -> None:
    """Refuse, before anything is allocated, a run whose arrays exceed the available memory."""
    if isinstance(initial, State):  # its arrays exist already; the check still counts them
        n = int(np.shape(initial.q)[0])
    elif n_traj is None:
        n = 1
    else:
        n = _check_n_traj(n_traj)
    check_trajectory_memory(n, int(model.n_dof), int(model.n_states), n_times, bool(save_trajectories))


def _check_initial_energies(energy0, comm) -> None:
    """Refuse a start whose total energy is not finite (rank 0 holds the energies).

    The positions and momenta are finite by now, so a non-finite energy comes
    from the potential at the initial positions (or from V + p^2 / 2m
    overflowing): every recorded energy of the run would be inf or NaN.
    """
    error = None
    if comm.is_root:
        finite = np.isfinite(energy0)
        if not finite.all():
            j = int(np.argmin(finite))
            error = InputError(f"initial total energy of trajectory {j} is {energy0[j]}; "
                               "the run would record no finite energy")
    comm.agree(error)


#: Bytes that the dense potential matrices of one batch of trajectories may
#: take when ``chunk_size`` is not given (V and dV/dq, 8 (1 + D) S^2 bytes per
#: trajectory): 64 MiB is 10^6 trajectories of a 2-state, 1-coordinate model
#: or 2071 of the 45-state chemisorption model, large enough that batching
#: costs nothing measurable and small enough to bound the run's memory.
DENSE_MATRIX_BUDGET = 64 * 2**20


def default_chunk_size(model: Model) -> int:
    """Trajectories per batch whose V and dV/dq fit in :data:`DENSE_MATRIX_BUDGET`."""
    per_trajectory = 8 * (1 + model.n_dof) * model.n_states ** 2
    return max(1, DENSE_MATRIX_BUDGET // per_trajectory)


class TrajectoryRun:
    """An ensemble propagation in progress.

    Parameters are those of :func:`run`. Use :meth:`advance` to step to the
    next output time, :meth:`finish` for the dataset.
    """

    def __init__(self, model: Model, initial, method="ehrenfest", n_traj: int | None = None,
                 dt: float = 1.0, t_final: float = 1.0, output_every: int | None = 1,
                 output_times=None, seed=None, integrator="strang", save_trajectories: bool = False,
                 chunk_size: int | None = None, validate: bool = True,
                 energy_drift_warning: float | None = None, comm=None, backend: str | None = None):
        _check_model(model)
        self.backend = None if backend is None else check_backend(backend)
        self.comm = as_comm(comm)
        self.model = model
        self.method = resolve_method(method)
        self.integrator = as_integrator(integrator)
        self.dt = check_positive("dt", dt)
        if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.chunk_size = chunk_size
        # what the propagation uses: the caller's bound or the memory budget
        self._chunk = chunk_size or default_chunk_size(model)
        self.seed = seed
        t_start = initial.t if isinstance(initial, State) else 0.0
        # the time axis and the memory are checked before the sample is drawn:
        # a mistyped n_traj, dt or t_final must not end in a MemoryError
        self.times = make_output_times(self.dt, t_final, output_every, output_times, t_start=t_start)
        error = None
        try:
            _check_memory(model, initial, n_traj, len(self.times), save_trajectories)
        except InputError as exc:  # ranks on different nodes may see different free memory
            error = exc
        self.comm.agree(error)
        # every rank draws the whole sample and keeps its block: the initial
        # conditions do not depend on the number of ranks
        state = initial_state(model, initial, n_traj, seed)
        self.n_traj_total = state.n_traj
        self.block = block(state.n_traj, self.comm.rank, self.comm.size)
        self.t_final = float(t_final)
        self.output_every = output_every
        self.initial = initial
        self.save_trajectories = bool(save_trajectories)
        # a short run on "auto" does not wait for the kernels to compile
        self.backend = for_run(self.backend, self.n_traj_total * len(self.integrator.weights)
                               * self.total_steps(), numpy_cost_weight(model.n_dof, model.n_states))
        if validate:
            from .models.user import validate_model
            # one geometry is enough to catch a wrong contract, and an on-the-fly
            # model pays 2D^2 + 1 electronic-structure calls per finite-difference
            # Hessian; SPEED needs the Hessian, Ehrenfest only the gradient
            error = None
            if self.comm.is_root:
                try:
                    validate_model(model, state.q[:1],
                                   derivatives=2 if source_method(self.method).name == "speed" else 1)
                except Exception as exc:  # all ranks must learn of it
                    error = exc
            self.comm.agree(error)
        self.counted = CountingModel(model)
        self.source = self.method.make_source(self.counted)
        self.source.comm = self.comm
        # multi-centre SPEED regroups every so many steps and counts substeps
        self.source.substeps_per_step = len(self.integrator.weights)
        # how each trajectory moves on the source (dynamics/base.py): mean field or surface hopping
        self.dynamics = make_dynamics(self.method)
        self.dynamics.check(self)
        self.inv_mass = 1.0 / np.asarray(model.mass, dtype=float)
        self.state = state.take(self.block)
        self.n_steps = 0
        self.n_substeps = 0
        self.records: dict[str, list] = {name: [] for name in self._observables()}
        self.trajectory_records: dict[str, list] = {"q": [], "p": [], "c": []}
        self.trajectory_records.update({name: [] for name in self.dynamics.trajectory_variables})
        self.energy0: np.ndarray | None = None
        #: (state, per-trajectory parts) a fused block computed for the record that follows it (fused_steps.py)
        self.observed_parts: tuple | None = None
        self.max_energy_drift = 0.0
        self.max_relative_energy_drift = 0.0
        self.max_norm_error = 0.0
        self.wall_time = 0.0
        self.next_output = 0
        # steps already taken towards the next output time (restart point)
        self.interval_step = 0
        self.energy_drift_warning = (None if energy_drift_warning is None
                                     else check_positive("energy_drift_warning", energy_drift_warning))
        self.max_mean_energy_drift = 0.0
        self.drift_warned = False
        self._advance_start: float | None = None
        self._dynamics_started = False  # the first record starts it, on the same evaluation
        self.record()
        _check_initial_energies(self.energy0, self.comm)

    # -- observables --------------------------------------------------------
    def record(self) -> None:
        """Append the observables of the current state to the records.

        Per-trajectory values are computed where the trajectories live and
        reduced on rank 0 over the gathered rows, in the global order, so
        MPI runs give the one-process numbers.
        """
        state = self.state
        context = self.source.evaluate(state.q, for_observables=True)
        parts = error = None
        try:
            with use_backend(self.backend):  # models with compiled potentials follow it
                if not self._dynamics_started:
                    self.dynamics.start(self, context)
                    self._dynamics_started = True
                parts = self._local_parts(state, context)
        except Exception as exc:
            if self.comm.size == 1:
                raise
            error = exc
        self.comm.agree(error)
        comm = self.comm
        full = State(comm.gather_rows(state.q), comm.gather_rows(state.p), comm.gather_rows(state.c), state.t)
        parts = {key: comm.gather_rows(value) for key, value in parts.items()}
        self._check_runaway(parts)
        # the dynamics' own per-trajectory fields (FSSH: the active state), gathered by all ranks
        fields = self.dynamics.trajectory_fields(comm) if self.save_trajectories else {}
        self.next_output += 1
        if not comm.is_root:
            return
        for key, value in {**ensemble_means(full, parts), **self.dynamics.ensemble_means(parts)}.items():
            self.records[key].append(value)
        energies = parts["total_energy"]
        if self.energy0 is None:
            self.energy0 = energies
        # in place: each temporary is N doubles, and a record is on the run's critical path
        drift = np.subtract(energies, self.energy0)
        np.abs(drift, out=drift)
        self.max_energy_drift = max(self.max_energy_drift, float(drift.max()))
        scale = np.abs(self.energy0)
        np.maximum(scale, np.finfo(float).tiny, out=scale)
        self.max_relative_energy_drift = max(self.max_relative_energy_drift,
                                             float(np.divide(drift, scale, out=drift).max()))
        self._check_drift()
        norm_error = np.subtract(parts["norm"], 1.0)
        self.max_norm_error = max(self.max_norm_error, float(np.abs(norm_error, out=norm_error).max()))
        if self.save_trajectories:
            self.trajectory_records["q"].append(full.q.copy())
            self.trajectory_records["p"].append(full.p.copy())
            self.trajectory_records["c"].append(full.c.copy())
            for name, values in fields.items():
                self.trajectory_records[name].append(values)

    def _observables(self) -> dict[str, tuple[str, ...]]:
        """Names and dimensions of the ensemble observables: the standard ones and the dynamics' own."""
        return {**ENSEMBLE_OBSERVABLES, **self.dynamics.observables}

    def _local_parts(self, state: State, context) -> dict[str, np.ndarray]:
        """Per-trajectory observables of this process's trajectories, in chunks (or, where the
        fused step applies, in one compiled pass that evaluates V inline: fused_steps.py)."""
        fused = fused_parameters(self)
        if fused is not None and state is self.state:
            return record_parts(self, fused)
        n = state.n_traj
        chunk = self._chunk
        pieces = []
        for start in range(0, n, chunk):
            part = state.take(slice(start, start + chunk))
            v, _ = self.source.matrices(context_rows(context, slice(start, start + chunk)), part.q,
                                        need_gradient=False)
            pieces.append(self.dynamics.per_trajectory(part, v, self.inv_mass, slice(start, start + chunk)))
        if len(pieces) == 1:
            return pieces[0]
        return {key: np.concatenate([piece[key] for piece in pieces]) for key in pieces[0]}

    # -- propagation --------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.next_output >= len(self.times)

    def advance(self, progress=None, after_step=None) -> None:
        """Propagate to the next output time and record there.

        Parameters
        ----------
        progress : tqdm, optional
            Updated by one per step.
        after_step : callable, optional
            Called as ``after_step(self)`` after every step (checkpoints). A
            hook with an attribute ``every`` (the steps it acts on are the
            multiples of ``every``; None: none) may instead be called once
            after a block of steps that ends on such a multiple or before
            it (the fused path, ehrenspeed.fused_steps).
        """
        target = self.times[self.next_output]
        # the step list of the whole interval, from the previous output time:
        # a run resumed mid-interval takes exactly the remaining steps
        steps = steps_between(self.times[self.next_output - 1], target, self.dt)
        self._advance_start = _time.perf_counter()
        try:
            with use_backend(self.backend):  # models with compiled potentials follow it
                fused = fused_parameters(self)
                while self.interval_step < len(steps):
                    # several whole steps in one compiled call where that is exactly
                    # the same (fused_steps.py); else, or to retake a block that
                    # went non-finite, one step
                    k = 0 if fused is None else block_length(self, len(steps) - self.interval_step, after_step)
                    # a block that ends the interval also computes the record's observables
                    ends = self.interval_step + k == len(steps)
                    if not (k and fused_block(self, fused, steps[self.interval_step:self.interval_step + k], ends)):
                        k = 1
                        self._one_step(steps[self.interval_step])
                    if after_step is not None:
                        after_step(self)
                    if progress is not None:  # after the hook, which tells a log line the time
                        progress.update(k)
            # land exactly on the output time (no accumulated round-off in t)
            self.state = self.state.replace(t=float(target))
            self.record()
            self.interval_step = 0
        finally:
            self.wall_time += _time.perf_counter() - self._advance_start
            self._advance_start = None

    def _one_step(self, tau: float) -> None:
        """One step of the dynamics, counted and checked."""
        self.state = self.dynamics.step(self, tau)
        self.n_steps += 1
        self.interval_step += 1
        self.n_substeps += len(self.integrator.weights)
        self._check_finite()

    def _check_runaway(self, parts) -> None:
        """Let the source stop a run whose energies ran away (SPEED(order=3)'s unbounded cubic surface)."""
        check = getattr(self.source, "check_energies", None)
        if check is None:
            return
        error = None
        if self.comm.is_root:
            energies = parts["total_energy"]
            try:
                check(energies, energies if self.energy0 is None else self.energy0, self.state.t)
            except SimulationError as exc:
                error = exc
        self.comm.agree(error)

    def _check_drift(self) -> None:
        """Warn once when the ensemble's mean total energy drifts beyond the threshold.

        The advice depends on where the drift comes from. Ehrenfest, and
        SPEED on a model whose diabatic matrix is at most quadratic (where
        it equals Ehrenfest), conserve the energy up to the integrator's
        error, which falls with dt. Otherwise SPEED's drift is its
        approximation: each trajectory moves on the swarm's shared quadratic
        surface around the mean position, not on its own potential, so no
        time step removes it (tully_dual: 1.35e-2 hartree at dt = 5 and at
        dt = 1.25, against 3e-6 and 2e-7 for Ehrenfest).
        """
        from .potentials import SPEED

        energies = self.records["total_energy"]
        drift = float(np.abs(energies[-1] - energies[0]))
        self.max_mean_energy_drift = max(self.max_mean_energy_drift, drift)
        limit = self.energy_drift_warning
        if limit is not None and not self.drift_warned and drift > limit:
            self.drift_warned = True
            degree = getattr(self.model, "max_degree", None)
            if isinstance(source_method(self.method), SPEED) and not (degree is not None and degree <= 2):
                advice = ("with SPEED this is mostly the method's approximation, not the time step: each "
                          "trajectory moves on the swarm's shared quadratic surface, not on its own "
                          "potential, so a smaller dt will not remove it; compare with an Ehrenfest run to "
                          "judge it, or set energy_drift_warning above the drift you accept")
            else:
                advice = "consider a smaller dt or a higher-order integrator"
            warnings.warn(f"mean total energy drifted by {drift:.3e} hartree by t = {self.state.t:.6g} a.u. "
                          f"(threshold {limit:.3e}); {advice}", EnergyDriftWarning, stacklevel=2)

    def _check_finite(self) -> None:
        s = self.state
        error = None
        # A sum is ~10x cheaper than elementwise tests and is finite whenever
        # every element is; only a non-finite sum (a NaN/Inf, or in principle
        # an overflow of the sum) calls for the row-by-row search. The momenta
        # alone suffice: every substep's kick sum_kl R_kl dV_kl, R = U rho U^T,
        # turns a non-finite V, dV/dq or c of a trajectory into a non-finite p
        # in that same substep, and q only moves by finite p.
        if np.isfinite(s.p.sum()):
            good = None
        else:
            good = np.isfinite(s.p).all(axis=1) & np.isfinite(s.c).all(axis=1) & np.isfinite(s.q).all(axis=1)
        if good is not None and not good.all():
            j = self.block.start + int(np.argmin(good))
            error = SimulationError(f"non-finite position, momentum or coefficient at step {self.n_steps} "
                                    f"(t = {s.t:.6g} a.u.) in trajectory {j}")
        self.comm.agree(error)

    def total_steps(self) -> int:
        """Number of integrator steps of the whole run (for progress bars)."""
        return sum(len(steps_between(a, b, self.dt)) for a, b in zip(self.times[:-1], self.times[1:]))

    # -- checkpoints ------------------------------------------------------------
    def config_hash(self) -> str:
        """Hash of everything that determines the result (not ``chunk_size``)."""
        return config_hash(self._hashed_config())

    def _hashed_config(self) -> dict[str, Any]:
        """:meth:`config` without ``chunk_size``, as JSON gives it back (stored in checkpoints)."""
        config = self.config()
        config.pop("chunk_size", None)  # the result does not depend on it
        return json.loads(json.dumps(config, sort_keys=True, default=str))

    def checkpoint_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The full state of the run: arrays and JSON-ready metadata (collective).

        Contains positions, momenta, coefficients and time, the observables
        recorded so far, per-trajectory initial energies, the potential
        source's cache (SPEED's Hessian), the evaluation counts of the whole
        run (all ranks), the step counters and the model's identity
        (:func:`ehrenspeed.checkpoint.model_identity`), so that
        :meth:`restore` continues bit for bit on any number of ranks, or
        refuses. Complete on rank 0 only (which writes it).
        """
        s = self.state
        comm = self.comm
        arrays = {"q": comm.gather_rows(s.q), "p": comm.gather_rows(s.p), "c": comm.gather_rows(s.c),
                  "energy0": self.energy0}
        for name, rows in self.records.items():
            arrays[f"record/{name}"] = np.array(rows)
        if self.save_trajectories:
            for name, rows in self.trajectory_records.items():
                arrays[f"trajectory/{name}"] = np.array(rows)
        source_meta = {}
        for key, value in self.source.get_state().items():
            if isinstance(value, np.ndarray):
                arrays[f"source/{key}"] = value
            else:
                source_meta[key] = value
        dynamics_arrays, dynamics_meta = self.dynamics.get_state(comm)
        arrays.update({f"dynamics/{key}": value for key, value in dynamics_arrays.items()})
        counts = self._global_counts()
        identity_meta, identity_arrays = self._model_identity()
        arrays.update(identity_arrays)
        wall = self.wall_time
        if self._advance_start is not None:
            wall += _time.perf_counter() - self._advance_start
        seed = self.seed
        if isinstance(seed, np.random.SeedSequence):
            seed = {"entropy": str(seed.entropy), "spawn_key": list(seed.spawn_key)}
        elif not isinstance(seed, (int, type(None))):
            seed = str(seed)
        meta = {"config_hash": self.config_hash(), "config": self._hashed_config(), "seed": seed,
                "t": float(s.t), "n_steps": self.n_steps, "n_substeps": self.n_substeps,
                "next_output": self.next_output, "interval_step": self.interval_step,
                "max_energy_drift": self.max_energy_drift,
                "max_relative_energy_drift": self.max_relative_energy_drift,
                "max_norm_error": self.max_norm_error, "max_mean_energy_drift": self.max_mean_energy_drift,
                "drift_warned": self.drift_warned, "wall_time": wall,
                "electronic_structure_calls": counts.pop("electronic_structure_calls", None),
                "counter": counts, "source": source_meta, "dynamics": dynamics_meta,
                "n_records": len(self.records["population"]),
                "save_trajectories": self.save_trajectories, "model": identity_meta}
        return arrays, meta

    def _global_counts(self) -> dict[str, int]:
        """Evaluation counts of the whole run so far, as :meth:`finish` reports them (collective).

        Ehrenfest's ranks evaluate their own trajectories: their counts are
        summed. SPEED's evaluations at the mean are made by all ranks
        together and counted alike on each: one rank's count is the run's.
        Includes ``electronic_structure_calls`` for on-the-fly models.
        """
        counts = self.counted.counter.as_dict()
        calls = self.source.statistics().get("electronic_structure_calls")
        if calls is not None:
            # calls before the resume: the source counts only its own
            counts["electronic_structure_calls"] = calls + getattr(self, "_restored_calls", 0)
        if source_method(self.method).name == "ehrenfest":
            counts = self.comm.sum_counts(counts)
        return counts

    def _model_identity(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The model's identity, computed once on rank 0 (empty on the others; collective once).

        One potential and gradient evaluation at the probe geometry, on rank
        0 only: an on-the-fly model pays one electronic-structure calculation
        per run, not one per checkpoint.
        """
        identity = getattr(self, "_identity", None)
        if identity is None:
            identity, error = ({}, {}), None
            if self.comm.is_root:
                try:
                    with use_backend(self.backend):
                        identity = model_identity(self.model)
                except Exception as exc:  # all ranks must learn of it
                    error = exc
            self.comm.agree(error)
            self._identity = identity
        return identity

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                path: str | os.PathLike | None = None) -> None:
        """Continue from :meth:`checkpoint_state` output (inverse of it; collective).

        Any number of ranks may continue a checkpoint written on any other:
        the arrays hold every trajectory and the counts of the whole run.

        Parameters
        ----------
        arrays, meta
            As returned by :func:`ehrenspeed.checkpoint.load_checkpoint`.
        path : path-like, optional
            The checkpoint's file, for messages.

        Raises
        ------
        InputError
            On every rank, when the checkpoint belongs to another
            configuration or model, was written with another
            ``save_trajectories``, or its arrays do not fit this run; the
            message names the file and what differs.
        """
        where = "the checkpoint" if path is None else f"checkpoint {str(path)!r}"
        error = None
        try:
            self._check_checkpoint(arrays, meta, where)
        except Exception as exc:  # also the model failing at its probe: every rank must stop
            error = exc
        self.comm.agree(error)  # rank 0 alone compares the model: all must stop together
        self._apply_checkpoint(arrays, meta)

    def _check_checkpoint(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], where: str) -> None:
        """Refuse a checkpoint that would not continue this very run (see :meth:`restore`)."""
        try:
            # first: it changes what the checkpoint holds, and says so plainly
            saved = meta["save_trajectories"]
            if saved != self.save_trajectories:
                raise InputError(f"{where} was written with run.save_trajectories = {json.dumps(saved)}, "
                                 f"this run has {json.dumps(self.save_trajectories)}: resume with the "
                                 "checkpoint's setting or start afresh")
            if meta.get("config_hash") != self.config_hash():
                difference = _config_difference(meta.get("config"), self._hashed_config())
                raise InputError(f"{where} was written for a different configuration ({difference})")
            self._check_counters(meta, where)
            self._check_shapes(arrays, int(meta["n_records"]), where)
            check_source = getattr(self.source, "check_state", None)
            if check_source is not None:  # a source with its own layout (multi-centre SPEED's grouping)
                check_source(_source_state(arrays, meta), self.n_traj_total, int(meta["n_records"]), where)
            saved_model = dict(meta["model"])
        except InputError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where} is damaged or incomplete (missing or bad {exc})") from None
        if self.comm.is_root:
            with use_backend(self.backend):
                self._identity = compare_model_identity(where, saved_model, arrays, self.model)
        else:
            self._identity = ({}, {})

    def _check_counters(self, meta: dict[str, Any], where: str) -> None:
        """Output and step counters that index this run's output times."""
        next_output, n_records = int(meta["next_output"]), int(meta["n_records"])
        interval_step, n_times = int(meta["interval_step"]), len(self.times)
        if not 1 <= n_records == next_output <= n_times:
            raise InputError(f"{where} is damaged: {n_records} records at output {next_output} "
                             f"of {n_times}")
        steps = (0 if next_output == n_times else
                 len(steps_between(self.times[next_output - 1], self.times[next_output], self.dt)))
        if not 0 <= interval_step <= steps:
            raise InputError(f"{where} is damaged: step {interval_step} of an interval of {steps} steps")
        for key in EvaluationCounter().as_dict():
            int(meta["counter"][key])
        for key in ("n_steps", "n_substeps"):
            int(meta[key])
        for key, value in self.source.get_state().items():
            if not isinstance(value, np.ndarray) and key not in meta["source"]:
                raise KeyError(f"source.{key}")  # the potential source's own counters

    def _check_shapes(self, arrays: dict[str, np.ndarray], n_records: int, where: str) -> None:
        """Every array has the shape this run needs (a wrong file must not end in an IndexError)."""
        n, d, s = self.n_traj_total, self.model.n_dof, self.model.n_states
        size = {"state": s, "dof": d}
        expected = {"q": (n, d), "p": (n, d), "c": (n, s), "energy0": (n,)}
        for name, dims in self._observables().items():
            expected[f"record/{name}"] = (n_records,) + tuple(size[dim] for dim in dims[1:])
        if self.save_trajectories:
            expected.update({"trajectory/q": (n_records, n, d), "trajectory/p": (n_records, n, d),
                             "trajectory/c": (n_records, n, s)})
            expected.update({f"trajectory/{name}": (n_records, n) for name in self.dynamics.trajectory_variables})
        shapes = getattr(self.dynamics, "state_shapes", None)
        if shapes is not None:  # the dynamics' own per-trajectory fields (FSSH: active state, streams)
            expected.update({f"dynamics/{key}": shape for key, shape in shapes(n, s).items()})
        if "source/hessian" in arrays:  # SPEED's cache, once it holds a Hessian
            expected.update({"source/hessian": (d, d, s, s), "source/hessian_point": (d,),
                             "source/last_qbar": (d,), "source/last_g": (d, s, s), "source/last_v": (s, s)})
        for name, shape in expected.items():
            if name not in arrays:
                raise InputError(f"{where} is incomplete: no {name!r}")
            if arrays[name].shape != shape:
                raise InputError(f"{where} holds {name!r} of shape {arrays[name].shape}, this run needs "
                                 f"{shape} ({n} trajectories, {d} coordinates, {s} states)")

    def _apply_checkpoint(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Set the run's state from a checked checkpoint."""
        mine = self.block  # the checkpoint holds every trajectory; keep this rank's
        self.state = State(np.array(arrays["q"][mine]), np.array(arrays["p"][mine]),
                           np.array(arrays["c"][mine]), float(meta["t"]))
        self.energy0 = np.array(arrays["energy0"])
        n_records = int(meta["n_records"])
        self.records = {name: list(arrays[f"record/{name}"]) if n_records else []
                        for name in self.records}
        if self.save_trajectories:
            self.trajectory_records = {name: list(arrays[f"trajectory/{name}"])
                                       for name in self.trajectory_records}
        self.source.set_state(_source_state(arrays, meta))
        self.dynamics.set_state({key[len("dynamics/"):]: value for key, value in arrays.items()
                                 if key.startswith("dynamics/")}, meta.get("dynamics", {}), mine)
        # the counts are the whole run's: Ehrenfest's are summed over the ranks
        # by finish(), so one rank holds them; SPEED's are every rank's
        holder = source_method(self.method).name != "ehrenfest" or self.comm.is_root
        for key, value in meta["counter"].items():
            setattr(self.counted.counter, key, int(value) if holder else 0)
        # the source counts single points from its construction on, which
        # includes the rebuilt run's first record: the checkpoint's count replaces them
        since_construction = self.source.statistics().get("electronic_structure_calls") or 0
        saved_calls = int(meta.get("electronic_structure_calls") or 0) if holder else 0
        self._restored_calls = saved_calls - since_construction
        for key in ("n_steps", "n_substeps", "next_output", "interval_step"):
            setattr(self, key, int(meta[key]))
        for key in ("max_energy_drift", "max_relative_energy_drift", "max_norm_error",
                    "max_mean_energy_drift"):
            setattr(self, key, float(meta[key]))
        self.drift_warned = bool(meta["drift_warned"])
        self.wall_time = float(meta["wall_time"])

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write :meth:`checkpoint_state` to ``path`` atomically (rank 0 writes)."""
        arrays, meta = self.checkpoint_state()
        if self.comm.is_root:
            save_checkpoint(path, arrays, meta)
        return Path(path)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *args, **kwargs) -> "TrajectoryRun":
        """Rebuild a run (same arguments as the constructor) and restore ``path``.

        Raises
        ------
        InputError
            On every rank, when there is no checkpoint, it is not one of
            ours, or it would not continue this run (:meth:`restore`).
        """
        sim = cls(*args, **kwargs)
        arrays = meta = error = None
        try:
            arrays, meta = load_checkpoint(path)
        except InputError as exc:
            error = exc
        sim.comm.agree(error)  # a rank that cannot read the file must not leave the others waiting
        sim.restore(arrays, meta, path)
        return sim

    # -- result ---------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The run's configuration in the configuration-file layout (stored in the result).

        The tables ``model``, ``initial``, ``method`` and ``run`` of
        docs/configuration.md ("The configuration stored in a result"), so
        that ``ehrenspeed run RESULT.nc`` repeats the run. Also the input of
        :meth:`config_hash`: ``chunk_size`` and the other settings that do
        not change the numbers are left out, so a checkpoint may be resumed
        with another chunk size.
        """
        from .config.stored import trajectory_layout

        return trajectory_layout(self.model, self.initial, self.method.describe(), n_traj=self.n_traj_total,
                                 dt=self.dt, t_final=self.t_final, times=self.times,
                                 output_every=self.output_every, integrator=self.integrator.name,
                                 seed=self.seed, save_trajectories=self.save_trajectories)

    def finish(self):
        """The result as an :class:`xarray.Dataset` (the layout of ehrenspeed.results); None on ranks other than 0.

        Evaluation counts: Ehrenfest's are summed over the ranks (each
        evaluated its own trajectories); SPEED's evaluations at the mean are
        made by all ranks together, so they are counted once.
        """
        counts = self._global_counts()
        statistics = self.source.statistics()
        statistics.update(self.dynamics.attributes(self.comm))  # collective: hop counts of all ranks
        if "electronic_structure_calls" in counts:
            statistics["electronic_structure_calls"] = counts.pop("electronic_structure_calls")
        if not self.comm.is_root:
            return None
        data = {name: (dims, np.array(self.records[name])) for name, dims in self._observables().items()}
        if self.save_trajectories:
            data["trajectory_position"] = (("time", "trajectory", "dof"), np.array(self.trajectory_records["q"]))
            data["trajectory_momentum"] = (("time", "trajectory", "dof"), np.array(self.trajectory_records["p"]))
            data["trajectory_coefficients"] = (("time", "trajectory", "state"),
                                               np.array(self.trajectory_records["c"]))
            for name in self.dynamics.trajectory_variables:
                data[f"trajectory_{name}"] = (("time", "trajectory"), np.array(self.trajectory_records[name]))
        # variables a source adds on the time axis (multi-centre SPEED: n_centres)
        series = getattr(self.source, "time_series", None)
        for name, values in ({} if series is None else series()).items():
            data[name] = (("time",), np.asarray(values))
        m = self.model
        n = self.n_traj_total
        attrs = {
            "method": self.method.name, "model": getattr(m, "name", "user"), "n_traj": n,
            "dt": self.dt, "seed": self.seed if isinstance(self.seed, int) else "",
            "integrator": self.integrator.name, "integrator_order": self.integrator.order,
            "n_steps": self.n_steps, "potential_substeps": self.n_substeps,
            "potential_evaluations": counts["potential"], "gradient_evaluations": counts["gradient"],
            "hessian_evaluations": counts["hessian"], "scalar_evaluations": counts["scalars"],
            "mpi_ranks": self.comm.size,
            "scalar_cost_ehrenfest": self.n_substeps * scalar_cost("ehrenfest", n, m.n_states, m.n_dof),
            "scalar_cost_speed": self.n_substeps * scalar_cost("speed", n, m.n_states, m.n_dof),
            "wall_time_s": self.wall_time, "max_energy_drift": self.max_energy_drift,
            "max_relative_energy_drift": self.max_relative_energy_drift,
            "max_norm_error": self.max_norm_error, "max_mean_energy_drift": self.max_mean_energy_drift,
            "ehrenspeed_version": __version__,
            "config": self.config(),
        }
        attrs.update(statistics)
        return make_dataset(self.times, data, attrs,
                            coords={"state": np.arange(m.n_states), "dof": np.arange(m.n_dof)})


def run(model: Model, initial, method="ehrenfest", n_traj: int | None = None, dt: float = 1.0,
        t_final: float = 1.0, output_every: int | None = 1, output_times=None, seed=None,
        integrator="strang", save_trajectories: bool = False, chunk_size: int | None = None,
        progress: bool = False, validate: bool = True, checkpoint_every: int | None = None,
        checkpoint_path: str | os.PathLike | None = None, resume: bool = False,
        energy_drift_warning: float | None = None, comm=None, backend: str | None = None):
    """Propagate a trajectory ensemble with Ehrenfest or SPEED dynamics.

    Parameters
    ----------
    model : Model
        A built-in model or one from :func:`ehrenspeed.models.from_function`.
    initial : Wavepacket or State
        A wavepacket is Wigner-sampled with ``seed``; a State is used as is.
    method : {"ehrenfest", "speed", "fssh", "tged", "friction"} or Ehrenfest or SPEED or FSSH or ThawedGaussianEhrenfest or ElectronicFriction
        Where each trajectory's potential comes from; ``"fssh"`` hops between
        adiabatic surfaces instead of the mean field (:class:`ehrenspeed.FSSH`,
        docs/surface_hopping.md, on any source); ``"tged"`` propagates
        one thawed Gaussian instead (:mod:`ehrenspeed.dynamics.tged`; needs a
        Wavepacket and n_traj 1, and has no checkpoints); ``"friction"``
        runs classical trajectories on the ground adiabat with electronic
        friction (:mod:`ehrenspeed.dynamics.friction`; BAOAB, no checkpoints).
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
        Trajectories per batch wherever the potential matrices V (n, S, S)
        and dV/dq (n, D, S, S) are stored (Ehrenfest's model calls,
        observables); the result does not depend on it. Default: as many as
        fit in :data:`DENSE_MATRIX_BUDGET`, so that memory grows as
        O(N (S + D)) with the number of trajectories N. SPEED's compiled
        substep never stores them.
    progress : bool or {"auto", "bar", "log"}
        Report progress on standard error: True/"auto" shows a tqdm bar
        (after two seconds) when standard error is a terminal and plain
        ``progress: ...`` lines once a minute otherwise (batch jobs);
        "bar" or "log" forces one of them.
    validate : bool
        Check the model's output (shapes, finiteness, hermiticity) first.
    checkpoint_every : int, optional
        Save the full state to ``checkpoint_path`` every this many steps
        (atomically; the file is left in place when the run ends, so the
        caller removes it once the result is safely stored).
    checkpoint_path : path-like, optional
        Checkpoint file (``.npz``); needed with ``checkpoint_every`` or
        ``resume``.
    resume : bool
        Continue from ``checkpoint_path``; the result is bit-identical to an
        uninterrupted run. The checkpoint must come from the same model,
        initial conditions, method and run settings (``chunk_size`` may
        differ).
    energy_drift_warning : float, optional
        Warn (:class:`EnergyDriftWarning`, once) when the ensemble's mean
        total energy moves more than this from its initial value, hartree.
    comm : mpi4py communicator, optional
        Run on the ranks of ``comm`` (e.g. ``MPI.COMM_WORLD`` under
        ``mpiexec``): trajectories are split into blocks, SPEED's mean and
        all observables are formed from the gathered rows, and the result
        is bit-identical to a one-process run (docs/hpc.md). Rank 0 returns
        the dataset and writes checkpoints; the other ranks return None.
    backend : {"auto", "numba", "numpy"}, optional
        Kernel of the potential substep: compiled (numba, when installed) or
        the NumPy reference; they agree to round-off. Default: the
        ``EHRENSPEED_BACKEND`` environment variable, else ``"auto"``.

    Returns
    -------
    xarray.Dataset
        Observables on the ``time`` axis and run attributes (the layout of ehrenspeed.results).

    Raises
    ------
    SimulationError
        A position, momentum or coefficient became NaN/Inf; the message names
        the step and the trajectory, and the last checkpoint is kept.
    RunInterrupted
        Inside :func:`ehrenspeed.interrupt.stop_on_signals`, after SIGTERM or
        SIGINT: the run stopped at the end of a step and saved its state to
        ``checkpoint_path`` (when given), from which ``resume=True`` goes on.
        A periodic checkpoint that cannot be written (full disk) gives a
        :class:`CheckpointWarning` and the run goes on.
    """
    from .dynamics.friction import is_friction, run_friction
    if is_friction(method):
        # classical nuclei on the ground adiabat with a Markovian electronic bath (BAOAB)
        return run_friction(model, initial, method, n_traj=n_traj, dt=dt, t_final=t_final,
                            output_every=output_every, output_times=output_times, seed=seed,
                            integrator=integrator, save_trajectories=save_trajectories,
                            checkpoint_every=checkpoint_every, checkpoint_path=checkpoint_path,
                            resume=resume, comm=comm, validate=validate)
    from .dynamics.tged import is_tged, run_tged
    if is_tged(method):
        # one Gaussian, not an ensemble: its own small runner, the same result layout
        return run_tged(model, initial, method, n_traj=n_traj, dt=dt, t_final=t_final,
                        output_every=output_every, output_times=output_times, seed=seed,
                        integrator=integrator, save_trajectories=save_trajectories, chunk_size=chunk_size,
                        progress=progress, validate=validate, checkpoint_every=checkpoint_every,
                        checkpoint_path=checkpoint_path, resume=resume,
                        energy_drift_warning=energy_drift_warning, comm=comm, backend=backend)
    if checkpoint_every is not None:
        if isinstance(checkpoint_every, bool) or int(checkpoint_every) != checkpoint_every or checkpoint_every < 1:
            raise InputError(f"checkpoint_every must be a positive whole number of steps, got {checkpoint_every!r}")
        checkpoint_every = int(checkpoint_every)
    if (checkpoint_every is not None or resume) and checkpoint_path is None:
        raise InputError("checkpoint_every and resume need a checkpoint_path")
    args = (model, initial, method, n_traj, dt, t_final, output_every, output_times, seed, integrator,
            save_trajectories, chunk_size, validate, energy_drift_warning, comm, backend)
    if resume:
        sim = TrajectoryRun.from_checkpoint(checkpoint_path, *args)
    else:
        sim = TrajectoryRun(*args)
        if checkpoint_path is not None:
            # the model as it is now, not as it may be edited before the first checkpoint
            sim._model_identity()

    bar = make_progress(progress if sim.comm.is_root else False, sim.total_steps(), sim.n_steps,
                        sim.method.name)
    after_step = _after_step(checkpoint_every, checkpoint_path, bar)
    try:
        while not sim.done:
            sim.advance(bar, after_step)
    except _StopRequested as stop:
        raise _interrupted(sim, stop.signal_number, checkpoint_path) from None
    except SimulationError as exc:
        if checkpoint_path is not None and Path(checkpoint_path).is_file():
            raise SimulationError(f"{exc}; the last checkpoint is kept in {str(checkpoint_path)!r}") from exc
        raise
    finally:
        if bar is not None:
            bar.close()
    return sim.finish()


def _source_state(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    """The potential source's state from a checkpoint: its scalars and its ``source/`` arrays."""
    state = dict(meta["source"])
    state.update({key[len("source/"):]: value for key, value in arrays.items() if key.startswith("source/")})
    return state


class _StopRequested(Exception):
    """Raised at a step boundary after SIGTERM/SIGINT (inside interrupt.stop_on_signals)."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


def _after_step(checkpoint_every: int | None, checkpoint_path, bar):
    """What happens after every step: checkpoints, progress time, stop requests."""

    def after_step(run: TrajectoryRun) -> None:
        if checkpoint_every is not None and run.n_steps % checkpoint_every == 0:
            _periodic_checkpoint(run, checkpoint_path)
        if isinstance(bar, LogProgress):
            bar.time_au = run.state.t
        if interrupt.active():
            # every rank must stop at the same step, or the others would wait
            # forever in the next collective call
            signal_number = run.comm.first_flag(interrupt.received())
            if signal_number is not None:
                raise _StopRequested(signal_number)

    # it may run after a block of steps that ends on every checkpoint step (fused_steps.py)
    setattr(after_step, HOOK_ATTRIBUTE, checkpoint_every)
    return after_step


def _periodic_checkpoint(run: TrajectoryRun, path) -> None:
    """Write a checkpoint; a full disk costs this checkpoint, not the run."""
    try:
        run.save_checkpoint(path)
    except OutputError as exc:
        warnings.warn(f"{exc}; the run goes on and the previous checkpoint is kept", CheckpointWarning,
                      stacklevel=2)


class CheckpointWarning(UserWarning):
    """A periodic checkpoint could not be written; the run goes on."""


def _interrupted(run: TrajectoryRun, signal_number: int, checkpoint_path) -> RunInterrupted:
    """Save the state at the step boundary and describe where it went."""
    where = None
    note = "no checkpoint was written (no checkpoint path)"
    if checkpoint_path is not None:
        try:
            run.save_checkpoint(checkpoint_path)
            where = str(checkpoint_path)
            note = f"state saved to {where!r}"
        except OutputError as exc:
            note = f"the checkpoint could not be written: {exc}"
    return RunInterrupted(f"interrupted at step {run.n_steps} (t = {run.state.t:.6g} a.u.); {note}",
                          signal_number, run.n_steps, float(run.state.t), where)


def _config_difference(saved: Any, now: dict[str, Any]) -> str:
    """Which settings differ between a checkpoint's configuration and this run's, in words."""
    if not isinstance(saved, dict):
        return "model, initial conditions, method or run settings differ"
    old, new = _flatten(saved), _flatten(now)
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k, _MISSING) != new.get(k, _MISSING))
    if not keys:  # the same settings but another hash: another ehrenspeed's hashing
        return "model, initial conditions, method or run settings differ"
    shown = [f"{key}: {_short(old.get(key, _MISSING))} in the checkpoint, {_short(new.get(key, _MISSING))} now"
             for key in keys[:3]]
    more = f"; and {len(keys) - 3} more" if len(keys) > 3 else ""
    return "; ".join(shown) + more


_MISSING = "(not set)"


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dictionaries as dotted keys (lists stay whole)."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value) if value is not _MISSING else value
    return text if len(text) <= width else text[:width - 3] + "..."
