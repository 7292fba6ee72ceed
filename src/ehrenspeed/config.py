"""Run configuration: TOML files validated into typed, frozen objects.

A configuration file describes one run of :func:`ehrenspeed.run` or
:func:`ehrenspeed.grid.run_exact` (layout and every key: docs/configuration.md)::

    [model]
    name = "tully_simple"            # or python_model = "mymodule:make_model"
    [model.parameters]
    c = 0.005
    [initial]
    from_model = true                # or q0, p0, width, state
    k0 = 15.0                        # passed to the model's initial_wavepacket()
    [method]
    name = "speed"                   # "ehrenfest" | "speed" | "exact"
    [run]
    n_traj = 200
    dt = 5.0
    t_final = 2000.0
    [output]
    path = "tully.nc"

:func:`load_config` reads a TOML file (or the ``config`` attribute of a
result file) and checks everything that can be checked without running:
unknown tables and keys, types, ranges, names of models, methods and
integrators, the model's constructor parameters. :meth:`Config.build` then
makes the model, wavepacket, method and grid objects, which checks the
values against each other (shapes, masses, the model's output); problems end
as one :class:`~ehrenspeed.errors.InputError` whose message starts with the
file name and names the key. Only ``python_model`` runs code from a
configuration.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import math
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .errors import EhrenspeedError, InputError

#: Trajectory methods and the grid method a config can name.
METHOD_NAMES = ("ehrenfest", "speed", "exact")
#: Integrators of the trajectory methods and of the grid method.
TRAJECTORY_INTEGRATORS = ("strang", "yoshida4", "yoshida6")
EXACT_INTEGRATORS = ("strang", "yoshida4")
#: Run keys that only trajectory methods use.
TRAJECTORY_ONLY = ("n_traj", "seed", "chunk_size", "checkpoint_every", "save_trajectories")
#: Default threshold of the energy-drift warning, hartree (27 meV).
DEFAULT_DRIFT_WARNING = 1e-3

_MISSING = object()


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
    """

    name: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    python_model: str | None = None
    path: str | None = None


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
    """``[method]``: Ehrenfest, SPEED (with its Hessian policy) or exact."""

    name: str = "ehrenfest"
    hessian_every: int = 1
    reference_hessian: bool = False
    reference_geometry: tuple | None = None
    adaptive_tol: float | None = None


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
        if m.name == "speed":
            method.update(hessian_every=m.hessian_every, reference_hessian=m.reference_hessian)
            if m.reference_geometry is not None:
                method["reference_geometry"] = list(m.reference_geometry)
            if m.adaptive_tol is not None:
                method["adaptive_tol"] = m.adaptive_tol
        r = self.run
        run = {"dt": r.dt, "t_final": r.t_final, "output_every": r.output_every, "integrator": r.integrator,
               "energy_drift_warning": r.energy_drift_warning}
        if r.output_times is not None:
            run["output_times"] = list(r.output_times)
            del run["output_every"]
        if m.name != "exact":
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
        return out.with_name(out.name + ".checkpoint.npz")

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
            # the model's constructor does not know the key: say which table
            where = f"[model] {self.model.name!r}: " if self.model.name else ""
            raise InputError(f"{self.source}: {where}{exc}") from None
        try:
            wavepacket = self._build_wavepacket(model)
            if self.method.name == "exact":
                from .grid import Grid

                g = self.grid
                method: Any = "exact"
                grid = Grid(g.lower, g.upper, g.points)
                if grid.n_dof != model.n_dof:
                    raise InputError(f"[grid] has {grid.n_dof} coordinates, the model has {model.n_dof}")
            else:
                method = self._build_method()
                grid = None
        except EhrenspeedError as exc:
            raise InputError(f"{self.source}: {exc}") from None
        return Prepared(model, wavepacket, method, grid)

    def _build_model(self):
        from . import models

        if self.model.name is not None:
            return models.get(self.model.name, **_thaw(self.model.parameters))
        return _import_model(self.model.python_model, Path(self.base_dir, self.model.path or "."),
                             dict(self.model.parameters))

    def _build_wavepacket(self, model):
        from .sampling import Wavepacket

        i = self.initial
        if not i.from_model:
            if len(i.q0) != model.n_dof:
                raise InputError(f"key 'initial.q0' has {len(i.q0)} entries, the model has {model.n_dof} "
                                 "coordinates")
            state = i.state
            if isinstance(state, dict):
                state = np.asarray(state["real"]) + 1j * np.asarray(state["imag"])
            return Wavepacket(np.array(i.q0), np.array(i.p0), np.array(i.width), state)
        maker = getattr(model, "initial_wavepacket", None)
        if maker is None:
            raise InputError(f"model {getattr(model, 'name', 'user')!r} has no initial_wavepacket(); "
                             "give [initial] q0, p0, width and state")
        _check_keywords(maker, i.options, "initial", f"{getattr(model, 'name', 'user')}.initial_wavepacket")
        wavepacket = maker(**_thaw(i.options))
        if not isinstance(wavepacket, Wavepacket):
            raise InputError("initial_wavepacket() did not return an ehrenspeed.Wavepacket")
        return wavepacket

    def _build_method(self):
        from .potentials import SPEED, Ehrenfest

        m = self.method
        if m.name == "ehrenfest":
            return Ehrenfest()
        return SPEED(hessian_every=m.hessian_every, reference_hessian=m.reference_hessian,
                     reference_geometry=None if m.reference_geometry is None else np.array(m.reference_geometry),
                     adaptive_tol=m.adaptive_tol)

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


@dataclass(frozen=True)
class Prepared:
    """The objects a configuration describes, ready for ``es.run``/``run_exact``."""

    model: Any
    wavepacket: Any
    method: Any
    grid: Any = None


# -- reading files ----------------------------------------------------------------
def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a TOML configuration, or the one stored in a result file.

    Raises
    ------
    InputError
        Missing or unreadable file, TOML syntax error, or any invalid key.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if head.startswith(b"\x89HDF") or head.startswith(b"CDF"):
        return _config_from_result(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    return Config.from_dict(data, str(path), path.parent)


def _config_from_result(path: Path) -> Config:
    from .results import config_of, load

    ds = load(path)
    try:
        stored = config_of(ds)
    except json.JSONDecodeError:
        raise InputError(f"{path}: the result's config attribute is not valid JSON") from None
    if not stored:
        raise InputError(f"{path}: the result file has no stored configuration")
    source = f"{path} (stored config)"
    return Config.from_dict(_canonical(stored, source), source, path.parent, from_result=True)


def _canonical(stored: dict[str, Any], source: str) -> dict[str, Any]:
    """The configuration-file layout of a stored config (also from ``es.run``/``run_exact``)."""
    if "run" in stored:  # written by `ehrenspeed run`: already the file layout
        return stored
    try:
        if stored.get("method") == "exact":  # written by run_exact
            out = {"model": {"name": stored["model"], "parameters": stored.get("model_parameters") or {}},
                   "initial": _initial_from(stored["wavepacket"]), "method": {"name": "exact"},
                   "grid": {k: stored["grid"][k] for k in ("lower", "upper", "points")}}
            run = {"dt": stored["dt"], "t_final": stored["t_final"], "integrator": stored.get("integrator", "strang")}
        else:  # written by es.run
            method = dict(stored["method"])
            for key, value in list(method.items()):
                if value is None:
                    del method[key]
            if method.get("name") == "speed" and not method.get("reference_hessian"):
                method.pop("reference_hessian", None)
            out = {"model": {"name": stored["model"]["name"], "parameters": stored["model"].get("parameters") or {}},
                   "initial": _initial_from(stored["initial"]), "method": method}
            run = {"dt": stored["dt"], "t_final": stored["t_final"], "integrator": stored["integrator"],
                   "n_traj": stored["n_traj"]}
            if isinstance(stored.get("seed"), int):
                run["seed"] = stored["seed"]
            if stored.get("chunk_size") is not None:
                run["chunk_size"] = stored["chunk_size"]
        if stored.get("output_times") is not None and stored.get("output_every") is None:
            run["output_times"] = stored["output_times"]
        elif stored.get("output_every") is not None:
            run["output_every"] = stored["output_every"]
        out["run"] = run
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{source}: not a configuration ehrenspeed can re-run (missing {exc})") from None
    return out


def _initial_from(wp: dict[str, Any]) -> dict[str, Any]:
    if wp.get("explicit_state"):
        raise InputError("the run started from an explicit State, which a configuration cannot describe")
    return {"from_model": False, "q0": wp["q0"], "p0": wp["p0"], "width": wp["width"], "state": wp["state"]}


# -- validation helpers ----------------------------------------------------------------
class _Table:
    """One TOML table being read: typed getters that record which keys were used."""

    def __init__(self, data: Any, name: str, source: str):
        if not isinstance(data, dict):
            raise InputError(f"{source}: [{name}] must be a table, got {_kind(data)}")
        self.data, self.name, self.source = data, name, source
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.source}: key '{self.key(key)}' {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise InputError(f"{self.source}: missing key '{self.key(key)}'")
            return default
        return self.data[key]

    def table(self, key: str, required: bool = False) -> "_Table | None":
        if key not in self.data:
            self.used.add(key)
            if required:
                raise InputError(f"{self.source}: missing table [{self.key(key)}]")
            return None
        return _Table(self.raw(key), self.key(key), self.source)

    def number(self, key: str, default: Any = _MISSING, positive: bool = False,
               allow_inf: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number, got {_kind(value)}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise self.error(key, f"must be finite, got {value}")
        if positive and value <= 0:
            raise self.error(key, f"must be positive, got {value:g}")
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_kind(value)}")
        return value

    def string(self, key: str, default: Any = _MISSING, choices: tuple | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_kind(value)}")
        if choices is not None and value.lower() not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value.lower() if choices is not None else value

    def numbers(self, key: str, default: Any = _MISSING, scalar_ok: bool = True, integer: bool = False,
                matrix_ok: bool = False) -> Any:
        """A number or a list of numbers (or, with ``matrix_ok``, a list of lists)."""
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        want = "integers" if integer else "numbers"

        def check(x):
            ok = isinstance(x, int) if integer else isinstance(x, (int, float))
            if isinstance(x, bool) or not ok:
                raise self.error(key, f"must contain {want}, got {_kind(x)}")
            if not integer and not math.isfinite(x):
                raise self.error(key, f"must contain finite numbers, got {x}")
            return int(x) if integer else float(x)

        if not isinstance(value, list):
            if not scalar_ok:
                raise self.error(key, f"must be a list of {want}, got {_kind(value)}")
            return (check(value),)
        if not value:
            raise self.error(key, "must not be empty")
        if matrix_ok and all(isinstance(row, list) for row in value):
            rows = tuple(tuple(check(x) for x in row) for row in value)
            if len({len(row) for row in rows}) != 1 or len(rows) != len(rows[0]):
                raise self.error(key, "must be a square matrix (a list of equally long rows)")
            return rows
        return tuple(check(x) for x in value)

    def finish(self) -> None:
        """Refuse keys nobody asked for, suggesting the closest known one."""
        unknown = [key for key in self.data if key not in self.used]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.used), n=1)
            hint = f"; did you mean '{self.key(close[0])}'?" if close else \
                f"; known: {', '.join(sorted(self.used))}"
            what = "table" if isinstance(self.data[key], dict) else "key"
            raise InputError(f"{self.source}: unknown {what} '{self.key(key)}'{hint}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _plain(value: Any) -> Any:
    """Tuples and mappings as lists and dicts (for JSON and TOML)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    """Lists as tuples and dicts as read-only mappings, recursively."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Inverse of :func:`_frozen`, for passing values to constructors."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _check_keywords(fn, given: Mapping[str, Any], table: str, what: str, source: str | None = None) -> None:
    """Refuse keyword arguments ``fn`` does not take (unless it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    names = [n for n, p in params.items() if n != "self" and p.kind in
             (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    for key in given:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it takes {', '.join(names) or 'nothing'}"
            prefix = f"{source}: " if source else ""
            raise InputError(f"{prefix}unknown key '{table}.{key}': {what} does not take it; {hint}")


# -- one parser per table ----------------------------------------------------------------
def _parse_model(t: _Table, source: str) -> ModelConfig:
    from .models import REGISTRY

    name = t.string("name", None)
    python_model = t.string("python_model", None)
    path = t.string("path", None)
    params_table = t.table("parameters")
    params = {} if params_table is None else dict(params_table.data)
    t.finish()
    if (name is None) == (python_model is None):
        raise InputError(f"{source}: [model] needs exactly one of 'model.name' or 'model.python_model'")
    if name is not None:
        if name.lower() not in REGISTRY:
            close = difflib.get_close_matches(name.lower(), sorted(REGISTRY), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known models: {', '.join(sorted(REGISTRY))}"
            raise InputError(f"{source}: key 'model.name': unknown model {name!r}; {hint}")
        name = name.lower()
        _check_keywords(REGISTRY[name].__init__, params, "model.parameters", f"model {name!r}", source)
        if path is not None:
            raise InputError(f"{source}: key 'model.path' is only used with 'model.python_model'")
    else:
        module, _, attr = python_model.partition(":")
        if not module or not attr or not all(part.isidentifier() for part in module.split(".") + attr.split(".")):
            raise InputError(f"{source}: key 'model.python_model' must look like 'module:attribute', "
                             f"got {python_model!r}")
    return ModelConfig(name, _frozen(params), python_model, path)


def _parse_initial(t: _Table | None, model: ModelConfig, source: str) -> InitialConfig:
    if t is None:
        return InitialConfig()
    explicit = any(t.has(k) for k in ("q0", "p0", "width"))
    from_model = t.boolean("from_model", not explicit)
    if from_model:
        if explicit:
            raise InputError(f"{source}: [initial] takes either from_model = true or q0/p0/width, not both")
        options = {k: v for k, v in t.data.items() if k != "from_model"}
        t.used.update(options)
        if model.name is not None:
            from .models import REGISTRY

            maker = getattr(REGISTRY[model.name], "initial_wavepacket", None)
            if maker is None:
                raise InputError(f"{source}: model {model.name!r} has no initial_wavepacket(); "
                                 "give [initial] q0, p0, width and state")
            _check_keywords(maker, options, "initial", f"{model.name}.initial_wavepacket", source)
        return InitialConfig(True, _frozen(options))
    q0 = t.numbers("q0")
    p0 = t.numbers("p0", tuple(0.0 for _ in q0))
    if len(p0) != len(q0):
        raise t.error("p0", f"has {len(p0)} entries, q0 has {len(q0)}")
    width = t.numbers("width", matrix_ok=True)
    if isinstance(width[0], tuple):
        if len(width) != len(q0):
            raise t.error("width", f"must be {len(q0)} x {len(q0)}, got {len(width)} rows")
        if not np.all(np.linalg.eigvalsh(np.array(width)) > 0) or not np.allclose(width, np.transpose(width)):
            raise t.error("width", "must be a symmetric positive definite matrix")
    else:
        if len(width) not in (1, len(q0)):
            raise t.error("width", f"must have 1 or {len(q0)} entries, got {len(width)}")
        if any(w <= 0 for w in width):
            raise t.error("width", f"must be positive, got {list(width)}")
        width = width * len(q0) if len(width) == 1 else width
    state = t.raw("state", 0)
    if isinstance(state, bool) or not isinstance(state, (int, list, dict)):
        raise t.error("state", f"must be a state index or a list of amplitudes, got {_kind(state)}")
    if isinstance(state, int) and state < 0:
        raise t.error("state", f"must be a state index >= 0, got {state}")
    if isinstance(state, list):
        state = t.numbers("state")
    if isinstance(state, dict):  # complex amplitudes as stored in results: {real = [...], imag = [...]}
        st = _Table(state, t.key("state"), source)
        state = MappingProxyType({"real": st.numbers("real"), "imag": st.numbers("imag")})
        st.finish()
        if len(state["real"]) != len(state["imag"]):
            raise t.error("state", "real and imag must have the same length")
    t.finish()
    return InitialConfig(False, MappingProxyType({}), q0, p0, width, state)


def _parse_method(t: _Table, source: str) -> MethodConfig:
    name = t.string("name", choices=METHOD_NAMES)
    if name != "speed":
        for key in ("hessian_every", "reference_hessian", "reference_geometry", "adaptive_tol"):
            if t.has(key):
                raise t.error(key, f"is only used with method 'speed', not {name!r}")
        t.finish()
        return MethodConfig(name)
    hessian_every = t.integer("hessian_every", 1, minimum=1)
    reference = t.boolean("reference_hessian", False)
    geometry = t.numbers("reference_geometry", None)
    tol = t.number("adaptive_tol", None, positive=True)
    t.finish()
    if (hessian_every != 1) + reference + (tol is not None) > 1:
        raise InputError(f"{source}: [method] choose one Hessian policy: hessian_every, "
                         "reference_hessian or adaptive_tol")
    if geometry is not None and not reference:
        raise t.error("reference_geometry", "needs reference_hessian = true")
    return MethodConfig(name, hessian_every, reference, geometry, tol)


def _parse_run(t: _Table, method: str, source: str) -> RunConfig:
    exact = method == "exact"
    if exact:
        for key in TRAJECTORY_ONLY:
            if t.has(key):
                raise t.error(key, "is not used by method 'exact'")
    dt = t.number("dt", positive=True)
    t_final = t.number("t_final", positive=True)
    if t_final < dt:
        raise t.error("t_final", f"must be at least run.dt ({dt:g}), got {t_final:g}")
    if t.has("output_every") and t.has("output_times"):
        raise InputError(f"{source}: give run.output_every or run.output_times, not both")
    output_every = t.integer("output_every", 1, minimum=1)
    output_times = t.numbers("output_times", None, scalar_ok=False)
    if output_times is not None and (min(output_times) < 0 or max(output_times) > t_final * (1 + 1e-9)):
        raise t.error("output_times", f"must lie in [0, t_final = {t_final:g}]")
    integrators = EXACT_INTEGRATORS if exact else TRAJECTORY_INTEGRATORS
    integrator = t.string("integrator", "strang", choices=integrators)
    drift = t.number("energy_drift_warning", DEFAULT_DRIFT_WARNING, positive=True, allow_inf=True)
    if exact:
        t.finish()
        return RunConfig(dt, t_final, output_every=output_every, output_times=output_times,
                         integrator=integrator, energy_drift_warning=drift)
    n_traj = t.integer("n_traj", 100, minimum=1)
    seed = t.integer("seed", 0, minimum=0)
    chunk_size = t.integer("chunk_size", None, minimum=1)
    checkpoint_every = t.integer("checkpoint_every", None, minimum=1)
    save = t.boolean("save_trajectories", False)
    backend = t.string("backend", None, choices=("auto", "numpy", "numba"))
    t.finish()
    return RunConfig(dt, t_final, n_traj, output_every, output_times, seed, integrator, chunk_size,
                     checkpoint_every, save, drift, backend)


def _parse_grid(t: _Table, source: str) -> GridConfig:
    lower = t.numbers("lower")
    upper = t.numbers("upper")
    points = t.numbers("points", integer=True)
    t.finish()
    sizes = {len(lower), len(upper), len(points)} - {1}
    if len(sizes) > 1:
        raise InputError(f"{source}: [grid] lower, upper and points must have the same length (or be numbers)")
    d = sizes.pop() if sizes else 1
    lower, upper, points = (x * d if len(x) == 1 else x for x in (lower, upper, points))
    for a, (lo, hi) in enumerate(zip(lower, upper)):
        if hi <= lo:
            raise t.error("upper", f"must exceed grid.lower; coordinate {a} has [{lo:g}, {hi:g}]")
    if any(n < 2 for n in points):
        raise t.error("points", f"must be at least 2 per coordinate, got {list(points)}")
    return GridConfig(lower, upper, points)


def _parse_output(t: _Table | None, source: str) -> OutputConfig:
    if t is None:
        return OutputConfig()
    path = t.string("path", None)
    checkpoint = t.string("checkpoint", None)
    t.finish()
    for key, value in (("path", path), ("checkpoint", checkpoint)):
        if value is not None and (not value.strip() or value.endswith(("/", os.sep))):
            raise t.error(key, f"must name a file, got {value!r}")
    return OutputConfig(path, checkpoint)


# -- user models ---------------------------------------------------------------------------
def _import_model(spec: str, directory: Path, parameters: dict[str, Any]):
    """Import ``module:attribute`` (searching ``directory`` first) and make the model."""
    module_name, _, attr = spec.partition(":")
    key = "key 'model.python_model'"
    sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"{key}: cannot import module {module_name!r}: {exc}") from None
    except EhrenspeedError:
        raise
    except Exception as exc:  # the user's module failed while loading
        raise InputError(f"{key}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    finally:
        try:
            sys.path.remove(str(directory))
        except ValueError:  # pragma: no cover - the module removed it itself
            pass
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{key}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not hasattr(obj, "potential") and callable(obj):
        _check_keywords(obj, parameters, "model.parameters", spec)
        try:
            obj = obj(**_thaw(parameters))
        except EhrenspeedError:
            raise
        except Exception as exc:
            raise InputError(f"{key}: {spec}() failed: {type(exc).__name__}: {exc}") from None
    elif parameters:
        raise InputError(f"[model.parameters] given, but {spec} is a model object, not a function")
    if not all(hasattr(obj, a) for a in ("potential", "n_states", "n_dof", "mass")):
        raise InputError(f"{key}: {spec} is not a model (needs n_states, n_dof, mass, potential); "
                         "build one with ehrenspeed.models.from_function")
    return obj
