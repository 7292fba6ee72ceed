"""The typed, frozen configuration: one dataclass per table, and the constants."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..errors import EhrenspeedError, InputError
from .tables import _check_keywords, _plain, _Table, _thaw

#: Trajectory methods and the grid method a config can name.
METHOD_NAMES = ("ehrenfest", "speed", "exact", "tged", "fssh")
#: Integrators of the trajectory methods and of the grid method.
TRAJECTORY_INTEGRATORS = ("strang", "yoshida4", "yoshida6")
EXACT_INTEGRATORS = ("strang", "yoshida4")
#: Run keys that only trajectory methods use.
TRAJECTORY_ONLY = ("n_traj", "seed", "chunk_size", "checkpoint_every", "save_trajectories")
#: Default threshold of the energy-drift warning, hartree (27 meV).
DEFAULT_DRIFT_WARNING = 1e-3


# -- the typed, frozen configuration -------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: a built-in model by name, or the user's ``python_model``.

    Attributes
    ----------
    name : str or None
        Registry name (``ehrenspeed models`` lists them).
    parameters : mapping
        Keyword arguments of the model's constructor (or of the
        ``python_model`` factory).
    python_model : str or None
        ``"module:attribute"``: a model object, or a callable returning one.
    path : str or None
        Directory searched first for the ``python_model`` module; [default]
        the configuration file's directory.
    mctdh_operator : str or None
        An MCTDH / Quantics operator file (``.op``) read by
        :meth:`~ehrenspeed.models.VibronicCoupling.from_mctdh`, relative to
        the configuration file's directory.
    """

    name: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    python_model: str | None = None
    path: str | None = None
    mctdh_operator: str | None = None


@dataclass(frozen=True)
class InitialConfig:
    """``[initial]``: the model's own wavepacket, or an explicit Gaussian.

    Attributes
    ----------
    from_model : bool
        Use ``model.initial_wavepacket(**options)``.
    options : mapping
        Keyword arguments of ``initial_wavepacket`` (e.g. ``temperature``).
    q0, p0 : tuple of float or None
        Centre (coordinate units) and mean momentum (a.u.).
    width : tuple or None
        Diagonal of A (1 / coordinate^2), or the full matrix as rows.
    state : int or tuple
        Diabatic state index, or amplitudes.
    """

    from_model: bool = True
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    q0: tuple | None = None
    p0: tuple | None = None
    width: tuple | None = None
    state: Any = 0


@dataclass(frozen=True)
class MethodConfig:
    """``[method]``: Ehrenfest, SPEED (with its Hessian policy and centres), exact, TGED (with its potential)
    or FSSH (with its source, decoherence and frustrated-hop rule; source "speed" takes SPEED's keys)."""

    name: str = "ehrenfest"
    hessian_every: int = 1
    reference_hessian: bool = False
    reference_geometry: tuple | None = None
    adaptive_tol: float | None = None
    potential: str | None = None
    quadrature_points: int | None = None
    centres: Any = 1
    max_centres: int | None = None
    regroup_every: int | None = None
    source: str | None = None
    decoherence: str | None = None
    decoherence_constant: float | None = None
    frustrated: str | None = None
    hessian: str = "exact"
    hessian_update: str | None = None
    order: int = 2


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: time axis, ensemble size, seed, integrator, memory and restart."""

    dt: float
    t_final: float
    n_traj: int = 100
    output_every: int = 1
    output_times: tuple | None = None
    seed: int = 0
    integrator: str = "strang"
    chunk_size: int | None = None
    checkpoint_every: int | None = None
    save_trajectories: bool = False
    energy_drift_warning: float = DEFAULT_DRIFT_WARNING
    backend: str | None = None


@dataclass(frozen=True)
class GridConfig:
    """``[grid]``: the box of the exact method (per coordinate or broadcast)."""

    lower: tuple
    upper: tuple
    points: tuple


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: result and checkpoint files (relative to the config's directory)."""

    path: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True)
class Config:
    """A validated run configuration.

    Attributes
    ----------
    model, initial, method, run, grid, output
        The tables (``grid`` is None unless the method is exact).
    source : str
        Where it came from (file name), used in every message.
    base_dir : str
        Directory that relative paths and ``python_model`` modules refer to.
    from_result : bool
        Read from a result file's ``config`` attribute.
    trusted_model : bool
        The user allowed a result file's ``python_model`` to be imported
        (``ehrenspeed run RESULT --trust-model``); a result file never
        runs code without it.
    """

    model: ModelConfig
    initial: InitialConfig
    method: MethodConfig
    run: RunConfig
    grid: GridConfig | None = None
    output: OutputConfig = field(default_factory=OutputConfig)
    source: str = "<config>"
    base_dir: str = "."
    from_result: bool = False
    trusted_model: bool = False

    # -- construction ---------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<config>", base_dir: str | os.PathLike = ".",
                  from_result: bool = False) -> "Config":
        """Validate a parsed configuration (TOML tables as dicts).

        Raises
        ------
        InputError
            Naming ``source`` and the offending key.
        """
        from .parse import _parse_grid, _parse_initial, _parse_method, _parse_model, _parse_output, _parse_run

        top = _Table(data, "", source)
        model = _parse_model(top.table("model", required=True), source)
        method = _parse_method(top.table("method", required=True), source)
        initial = _parse_initial(top.table("initial"), model, source)
        run = _parse_run(top.table("run", required=True), method.name, source)
        grid_table = top.table("grid")
        if method.name == "exact":
            if grid_table is None:
                raise InputError(f"{source}: method 'exact' needs a [grid] table (lower, upper, points)")
            grid = _parse_grid(grid_table, source)
        else:
            if grid_table is not None:
                raise InputError(f"{source}: table [grid] is only used with method 'exact', "
                                 f"not {method.name!r}")
            grid = None
        output = _parse_output(top.table("output"), source)
        top.finish()
        return cls(model, initial, method, run, grid, output, source, str(base_dir), from_result)

    # -- description ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The full configuration, defaults filled in, JSON- and TOML-ready.

        Keys whose value is None are left out (TOML has no null), so
        ``Config.from_dict(c.to_dict())`` gives back an equal configuration.
        """
        model: dict[str, Any] = {}
        if self.model.name is not None:
            model["name"] = self.model.name
        elif self.model.mctdh_operator is not None:
            model["mctdh_operator"] = str(Path(self.base_dir, self.model.mctdh_operator).resolve())
        else:
            model["python_model"] = self.model.python_model
            model["path"] = str(Path(self.base_dir, self.model.path or ".").resolve())
        model["parameters"] = _plain(dict(self.model.parameters))
        i = self.initial
        if i.from_model:
            initial = {"from_model": True, **_plain(dict(i.options))}
        else:
            initial = {"from_model": False, "q0": list(i.q0), "p0": list(i.p0), "width": _plain(i.width),
                       "state": _plain(i.state)}
        m = self.method
        method: dict[str, Any] = {"name": m.name}
        if m.name == "fssh":
            method.update(source=m.source, decoherence=m.decoherence, decoherence_constant=m.decoherence_constant,
                          frustrated=m.frustrated)
        if m.name == "speed" or m.source == "speed":
            method.update(hessian_every=m.hessian_every, reference_hessian=m.reference_hessian)
            if m.reference_geometry is not None:
                method["reference_geometry"] = list(m.reference_geometry)
            if m.adaptive_tol is not None:
                method["adaptive_tol"] = m.adaptive_tol
            if m.centres != 1:  # one-centre SPEED keeps the layout it always had
                method["centres"] = m.centres
                for key in ("max_centres", "regroup_every"):
                    if getattr(m, key) is not None:
                        method[key] = getattr(m, key)
            if m.hessian != "exact":  # likewise, only the new keys in use
                method["hessian"] = m.hessian
                method["hessian_update"] = m.hessian_update or "bofill"
            if m.order != 2:
                method["order"] = m.order
        if m.name == "tged":
            method["potential"] = m.potential
            if m.reference_geometry is not None:
                method["reference_geometry"] = list(m.reference_geometry)
            if m.quadrature_points is not None:
                method["quadrature_points"] = m.quadrature_points
        r = self.run
        run = {"dt": r.dt, "t_final": r.t_final, "output_every": r.output_every, "integrator": r.integrator,
               "energy_drift_warning": r.energy_drift_warning}
        if r.output_times is not None:
            run["output_times"] = list(r.output_times)
            del run["output_every"]
        if m.name == "tged":  # one Gaussian: no ensemble or checkpoint keys
            run.update(n_traj=1, seed=r.seed)
            if r.backend is not None:
                run["backend"] = r.backend
        elif m.name != "exact":
            run.update(n_traj=r.n_traj, seed=r.seed, save_trajectories=r.save_trajectories)
            for key in ("chunk_size", "checkpoint_every", "backend"):
                if getattr(r, key) is not None:
                    run[key] = getattr(r, key)
        out: dict[str, Any] = {"model": model, "initial": initial, "method": method, "run": run}
        if self.grid is not None:
            out["grid"] = {"lower": list(self.grid.lower), "upper": list(self.grid.upper),
                           "points": list(self.grid.points)}
        output = {key: getattr(self.output, key) for key in ("path", "checkpoint")
                  if getattr(self.output, key) is not None}
        if output:
            out["output"] = output
        return out

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string (the result's ``config`` attribute)."""
        return json.dumps(self.to_dict())

    # -- paths ----------------------------------------------------------------
    def output_path(self, override: str | os.PathLike | None = None) -> Path:
        """The result file: ``override`` (relative to the working directory),
        else ``output.path`` (relative to the config's directory), else the
        config's name with ``.nc`` (``.rerun.nc`` when read from a result)."""
        if override is not None:
            return Path(override)
        if self.output.path is not None and not self.from_result:
            return Path(self.base_dir) / self.output.path
        stem = Path(self.source).stem
        return Path(self.base_dir) / (f"{stem}.rerun.nc" if self.from_result else f"{stem}.nc")

    def checkpoint_path(self, output: str | os.PathLike | None = None) -> Path:
        """The checkpoint file: ``output.checkpoint``, else ``<result>.checkpoint.npz``."""
        if self.output.checkpoint is not None and not self.from_result:
            return Path(self.base_dir) / self.output.checkpoint
        out = self.output_path(output)
        name = out.name + ".checkpoint.npz"
        if len(os.fsencode(name)) > 255:
            # a legal but long result name: keep the checkpoint's name legal and unique
            import hashlib

            digest = hashlib.sha256(os.fsencode(out.name)).hexdigest()[:12]
            name = f"{out.name[:200]}.{digest}.checkpoint.npz"
        return out.with_name(name)

    # -- objects --------------------------------------------------------------
    def build(self) -> "Prepared":
        """Make the model, initial wavepacket, method object and grid.

        Raises
        ------
        InputError
            (also for the model's own complaints) with the file name first.
        """
        try:
            model = self._build_model()
        except EhrenspeedError as exc:
            if str(exc).startswith(f"{self.source}:"):  # already names the file and the key
                raise
            if self.model.mctdh_operator is not None and str(exc).startswith(f"{self._operator_path()}:"):
                raise  # FILE:LINE: in the operator file says more than the config's name would
            # the model's constructor does not know the key: say which table
            where = f"[model] {self.model.name!r}: " if self.model.name else ""
            raise InputError(f"{self.source}: {where}{exc}") from None
        try:
            wavepacket = self._build_wavepacket(model)
            self._check_against_model(model, wavepacket)
            if self.method.name == "exact":
                from ..grid import Grid

                g = self.grid
                method: Any = "exact"
                grid = Grid(g.lower, g.upper, g.points)
                if grid.n_dof != model.n_dof:
                    raise InputError(f"[grid] has {grid.n_dof} coordinates, the model has {model.n_dof}")
            else:
                method = self._build_method()
                grid = None
        except EhrenspeedError as exc:
            if str(exc).startswith(f"{self.source}:"):  # already names the file and the key
                raise
            raise InputError(f"{self.source}: {exc}") from None
        return Prepared(model, wavepacket, method, grid)

    def _operator_path(self) -> Path:
        return Path(self.base_dir, self.model.mctdh_operator)

    def _build_model(self):
        from .. import models
        from .parse import _import_model

        if self.model.mctdh_operator is not None:
            path = self._operator_path()
            if not Path(path).is_file():  # the file's own errors say FILE:LINE; this one is the key's
                raise InputError(f"key 'model.mctdh_operator': operator file {str(path)!r} does not exist")
            return models.VibronicCoupling.from_mctdh(path)
        if self.model.name is not None:
            def make(parameters):
                return models.get(self.model.name, **parameters)

            return _build_from_keywords(make, _thaw(self.model.parameters), "model.parameters",
                                        f"model {self.model.name!r}", self.source)
        if self.from_result and not self.trusted_model:
            # defence in depth: the command line asks the user first (--trust-model)
            raise InputError(f"key 'model.python_model' = {self.model.python_model!r} comes from a result "
                             "file, which never runs code unless the user trusts it (--trust-model)")
        return _import_model(self.model.python_model, Path(self.base_dir, self.model.path or "."),
                             dict(self.model.parameters))

    def _build_wavepacket(self, model):
        from ..sampling import Wavepacket

        i = self.initial
        if not i.from_model:
            if len(i.q0) != model.n_dof:
                raise InputError(f"key 'initial.q0' has {len(i.q0)} entries, the model has {model.n_dof} "
                                 "coordinates")
            state = i.state
            if isinstance(state, Mapping):  # complex amplitudes, read-only after parsing
                state = np.asarray(state["real"]) + 1j * np.asarray(state["imag"])
            return Wavepacket(np.array(i.q0), np.array(i.p0), np.array(i.width), state)
        maker = getattr(model, "initial_wavepacket", None)
        if maker is None:
            raise InputError(f"model {getattr(model, 'name', 'user')!r} has no initial_wavepacket(); "
                             "give [initial] q0, p0, width and state")
        what = f"{getattr(model, 'name', 'user')}.initial_wavepacket"
        _check_keywords(maker, i.options, "initial", what)
        wavepacket = _build_from_keywords(lambda options: maker(**options), _thaw(i.options), "initial",
                                          what, self.source)
        if not isinstance(wavepacket, Wavepacket):
            raise InputError("initial_wavepacket() did not return an ehrenspeed.Wavepacket")
        return wavepacket

    def _check_against_model(self, model, wavepacket) -> None:
        """Check the values that only the built model can judge, naming their keys.

        The library checks the same things later, but its messages cannot name
        the configuration's keys: the initial state index or amplitudes
        against the number of states, SPEED's reference geometry against the
        number of coordinates, a wavepacket whose kinetic energy overflows,
        and the memory the trajectory arrays need.
        """
        from .. import schedule

        i, m, r = self.initial, self.method, self.run
        s, d = int(model.n_states), int(model.n_dof)
        built = getattr(wavepacket, "state", None)
        if i.from_model and isinstance(built, (int, np.integer)) and not 0 <= built < s:
            # an option passed to the model's initial_wavepacket(): the model may not check it
            raise InputError(f"key 'initial.state' {built} is out of range for the model's {s} states "
                             f"(0 to {s - 1})")
        if not i.from_model:
            state = i.state
            if isinstance(state, int) and state >= s:
                raise InputError(f"key 'initial.state' {state} is out of range for the model's {s} states "
                                 f"(0 to {s - 1})")
            if isinstance(state, Mapping):
                state = tuple(complex(re, im) for re, im in zip(state["real"], state["imag"]))
            if isinstance(state, tuple) and len(state) != s:
                raise InputError(f"key 'initial.state' has {len(state)} amplitudes, the model has {s} states")
            if isinstance(state, tuple) and not any(state):
                raise InputError("key 'initial.state' amplitudes are all zero")
        if m.reference_geometry is not None and len(m.reference_geometry) != d:
            raise InputError(f"key 'method.reference_geometry' has {len(m.reference_geometry)} entries, "
                             f"the model has {d} coordinate{'s' if d != 1 else ''}")
        self._check_kinetic_energy(model, wavepacket)
        if m.name == "exact":
            self._check_grid_memory(model)
        else:
            times = schedule.output_times(r.dt, r.t_final, r.output_every, r.output_times)
            try:
                schedule.check_trajectory_memory(r.n_traj, d, s, len(times), r.save_trajectories)
            except InputError as exc:
                keys = "keys 'run.n_traj' and 'run.save_trajectories'" if r.save_trajectories else \
                    "key 'run.n_traj'"
                raise InputError(f"{keys}: {exc}") from None

    def _check_grid_memory(self, model) -> None:
        """The exact method's arrays against the memory available (as ``run_exact`` checks)."""
        from ..grid import Grid
        from ..grid.run import available_memory, memory_estimate

        g = self.grid
        grid = Grid(g.lower, g.upper, g.points)
        need = memory_estimate(model.n_states, grid, self.run.integrator,
                               bool(getattr(model, "complex_valued", False)))
        # run_exact's limit: leave a fifth of the free memory to everything else
        limit = 0.8 * available_memory()
        if 0 < limit < need:
            shape = " x ".join(str(n) for n in grid.points)
            raise InputError(f"key 'grid.points': exact dynamics of {model.n_states} states on a {shape} grid "
                             f"needs about {need / 2**30:.3g} GiB, more than the limit of "
                             f"{limit / 2**30:.3g} GiB")

    def _check_kinetic_energy(self, model, wavepacket) -> None:
        """Refuse a wavepacket whose mean kinetic energy is not a finite number.

        <p^2 / 2m> = sum_a (p0_a^2 + A_aa / 2) / (2 m_a) for the Wigner sample;
        an overflow here (p0 = 1e200) would make every recorded energy inf.
        """
        mass = np.asarray(model.mass, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            from_mean = np.sum(wavepacket.p0**2 / (2 * mass))
            from_spread = np.sum(np.diag(wavepacket.width) / (4 * mass))
        if np.isfinite(from_mean + from_spread):
            return
        i = self.initial
        if i.from_model:
            keys = ", ".join(f"'initial.{k}'" for k in i.options) or "[initial]"
            where = f"key {keys}" if len(i.options) == 1 else f"keys {keys}"
        else:
            where = "key 'initial.p0'" if not np.isfinite(from_mean) else "key 'initial.width'"
        raise InputError(f"{where}: the initial wavepacket's kinetic energy is not finite "
                         f"(p0 = {wavepacket.p0.tolist()}, width diagonal {np.diag(wavepacket.width).tolist()})")

    def _build_method(self):
        from ..potentials import SPEED, Ehrenfest

        m = self.method
        if m.name == "ehrenfest":
            return Ehrenfest()
        if m.name == "fssh":
            from ..dynamics.fssh import FSSH

            source = "per_trajectory" if m.source != "speed" else replace(self, method=replace(
                m, name="speed"))._build_method()
            return FSSH(source=source, decoherence=m.decoherence, decoherence_constant=m.decoherence_constant,
                        frustrated=m.frustrated)
        if m.name == "tged":
            from ..dynamics.tged import ThawedGaussianEhrenfest

            return ThawedGaussianEhrenfest(
                potential=m.potential,
                reference_geometry=None if m.reference_geometry is None else np.array(m.reference_geometry),
                quadrature_points=m.quadrature_points)
        return SPEED(hessian_every=m.hessian_every, reference_hessian=m.reference_hessian,
                     reference_geometry=None if m.reference_geometry is None else np.array(m.reference_geometry),
                     adaptive_tol=m.adaptive_tol, centres=m.centres, max_centres=m.max_centres,
                     regroup_every=m.regroup_every, hessian=m.hessian, hessian_update=m.hessian_update,
                     order=m.order)

    def run_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`ehrenspeed.run` (or ``run_exact``) from ``[run]``."""
        r = self.run
        kwargs: dict[str, Any] = {"dt": r.dt, "t_final": r.t_final, "integrator": r.integrator,
                                  "output_every": r.output_every,
                                  "output_times": None if r.output_times is None else np.array(r.output_times)}
        if self.method.name != "exact":
            kwargs.update(n_traj=r.n_traj, seed=r.seed, chunk_size=r.chunk_size,
                          save_trajectories=r.save_trajectories,
                          energy_drift_warning=r.energy_drift_warning, backend=r.backend)
        return kwargs


#: Errors a constructor raises for arguments it cannot use (InputError and
#: ModelError are ValueErrors); anything else is a bug, not bad input.
_BAD_ARGUMENT_ERRORS = (TypeError, ValueError, ArithmeticError)


def _build_from_keywords(make, given: dict[str, Any], table: str, what: str, source: str):
    """``make(given)``, with a failure caused by the configuration's values named by key.

    When the constructor refuses its arguments, each given key is tried
    alone at its default (the others kept) to find the one responsible: the
    constructor's own message cannot name a key of the file.

    Raises
    ------
    InputError
        Starting with ``source`` and naming ``table.key`` (or the table, when
        no single key is to blame). Errors with no keys given are left alone:
        the defaults failing is a bug of the model, not of the input.
    """
    try:
        return make(given)
    except _BAD_ARGUMENT_ERRORS as exc:
        if not given:
            raise
        failure = exc
    culprit = _culprit(make, given) if len(given) > 1 else next(iter(given))
    problem = str(failure) if isinstance(failure, EhrenspeedError) else \
        f"{what} failed: {type(failure).__name__}: {failure}"
    if culprit is None:
        keys = ", ".join(f"'{table}.{k}'" for k in given)
        raise InputError(f"{source}: keys {keys} together: {problem}") from None
    value = given[culprit]
    raise InputError(f"{source}: key '{table}.{culprit}' = {value!r} is not usable: {problem}") from None


def _culprit(make, given: dict[str, Any]) -> str | None:
    """The first key without which ``make`` succeeds, else None."""
    for key in given:
        try:
            make({k: v for k, v in given.items() if k != key})
        except _BAD_ARGUMENT_ERRORS:
            continue
        return key
    return None


@dataclass(frozen=True)
class Prepared:
    """The objects a configuration describes, ready for ``es.run``/``run_exact``."""

    model: Any
    wavepacket: Any
    method: Any
    grid: Any = None
