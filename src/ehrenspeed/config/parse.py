"""Reading configurations: files, stored result configs, one parser per table.

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
import json
import os
import sys
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import schedule
from ..errors import EhrenspeedError, InputError
from .schema import (
    DEFAULT_DRIFT_WARNING,
    EXACT_INTEGRATORS,
    METHOD_NAMES,
    TRAJECTORY_INTEGRATORS,
    TRAJECTORY_ONLY,
    Config,
    GridConfig,
    InitialConfig,
    MethodConfig,
    ModelConfig,
    OutputConfig,
    RunConfig,
)
from .tables import (
    _check_finite_values,
    _check_keywords,
    _check_number_keywords,
    _frozen,
    _kind,
    _Table,
    _thaw,
)

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
    """The configuration stored in a result file, in any layout a version wrote."""
    from ..results import config_of, load
    from .stored import check_rerunnable

    ds = load(path)
    source = f"{path} (stored config)"
    try:
        stored = config_of(ds, source)
    except json.JSONDecodeError:
        raise InputError(f"{path}: the result's config attribute is not valid JSON") from None
    if not stored:
        raise InputError(f"{path}: the result file has no stored configuration")
    check_rerunnable(stored, source)
    return Config.from_dict(stored, source, path.parent, from_result=True)


def _canonical(stored: dict[str, Any], source: str) -> dict[str, Any]:
    """The configuration-file layout of a stored config, whichever version wrote it.

    Results written before the layout was unified hold ``es.run``'s flat
    dict or ``run_exact``'s ``"model": name`` plus ``"model_parameters"``;
    :func:`ehrenspeed.config.stored.upgrade` converts both.
    """
    from .stored import upgrade

    return upgrade(stored, source)


def _initial_from(wp: dict[str, Any]) -> dict[str, Any]:
    """``[initial]`` from an old stored wavepacket dict (see :func:`.stored.upgrade_initial`)."""
    from .stored import upgrade_initial

    return upgrade_initial(wp)


# -- one parser per table ----------------------------------------------------------------
def _parse_model(t: _Table, source: str) -> ModelConfig:
    from ..models import REGISTRY

    name = t.string("name", None)
    python_model = t.string("python_model", None)
    mctdh_operator = t.string("mctdh_operator", None)
    path = t.string("path", None)
    params_table = t.table("parameters")
    params = {} if params_table is None else dict(params_table.data)
    t.finish()
    _check_finite_values(params, "model.parameters", source)
    if sum(x is not None for x in (name, python_model, mctdh_operator)) != 1:
        raise InputError(f"{source}: [model] needs exactly one of 'model.name', 'model.python_model' "
                         "or 'model.mctdh_operator'")
    if mctdh_operator is not None:
        if params or path is not None:
            raise InputError(f"{source}: keys 'model.parameters' and 'model.path' are not used with "
                             "'model.mctdh_operator' (the operator file holds every parameter)")
        return ModelConfig(mctdh_operator=mctdh_operator)
    if name is not None:
        if name.lower() not in REGISTRY:
            close = difflib.get_close_matches(name.lower(), sorted(REGISTRY), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known models: {', '.join(sorted(REGISTRY))}"
            raise InputError(f"{source}: key 'model.name': unknown model {name!r}; {hint}")
        name = name.lower()
        _check_keywords(REGISTRY[name].__init__, params, "model.parameters", f"model {name!r}", source)
        _check_number_keywords(REGISTRY[name].__init__, params, "model.parameters", source)
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
        _check_finite_values(options, "initial", source)
        if model.name is not None:
            from ..models import REGISTRY

            maker = getattr(REGISTRY[model.name], "initial_wavepacket", None)
            if maker is None:
                raise InputError(f"{source}: model {model.name!r} has no initial_wavepacket(); "
                                 "give [initial] q0, p0, width and state")
            _check_keywords(maker, options, "initial", f"{model.name}.initial_wavepacket", source)
            _check_number_keywords(maker, options, "initial", source)
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
            raise t.error("width", f"must have {_one_or_per_coordinate(len(q0))}, got {len(width)}")
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


def _one_or_per_coordinate(n_dof: int) -> str:
    """How many entries a per-coordinate list may have, in words."""
    if n_dof == 1:
        return "1 entry (one per coordinate)"
    return f"1 entry or one per coordinate ({n_dof})"


def _parse_method(t: _Table, source: str) -> MethodConfig:
    name = t.string("name", choices=METHOD_NAMES)
    if name != "tged":
        for key in ("potential", "quadrature_points"):
            if t.has(key):
                raise t.error(key, f"is only used with method 'tged', not {name!r}")
    if name == "tged":
        return _parse_tged(t)
    fssh = _parse_fssh(t) if name == "fssh" else {}
    if name != "speed" and fssh.get("source") != "speed":
        for key in ("hessian_every", "reference_hessian", "reference_geometry", "adaptive_tol",
                    "centres", "max_centres", "regroup_every") + SPEED_EXPANSION_KEYS:
            if t.has(key):
                where = "source = 'speed'" if name == "fssh" else f"method 'speed', not {name!r}"
                raise t.error(key, f"is only used with {where}")
        t.finish()
        return MethodConfig(name, **fssh)
    hessian_every = t.integer("hessian_every", 1, minimum=1)
    reference = t.boolean("reference_hessian", False)
    geometry = t.numbers("reference_geometry", None)
    tol = t.number("adaptive_tol", None, positive=True)
    centres, max_centres, regroup_every = _parse_centres(t)
    hessian = t.string("hessian", "exact", choices=("exact", "update")).lower()
    update = t.string("hessian_update", None, choices=("bofill", "psb"))
    order = t.integer("order", 2, minimum=2, maximum=3)
    t.finish()
    if (hessian_every != 1) + reference + (tol is not None) > 1:
        raise InputError(f"{source}: [method] choose one Hessian policy: hessian_every, "
                         "reference_hessian or adaptive_tol")
    if geometry is not None and not reference:
        raise t.error("reference_geometry", "needs reference_hessian = true")
    if update is not None and hessian != "update":
        raise t.error("hessian_update", "is only used with hessian = 'update'")
    if hessian == "update" and (hessian_every != 1 or reference):
        raise t.error("hessian", "= 'update' combines with adaptive_tol only, not with hessian_every "
                      "or reference_hessian")
    return MethodConfig(name, hessian_every, reference, geometry, tol, centres=centres, max_centres=max_centres,
                        regroup_every=regroup_every, hessian=hessian,
                        hessian_update=None if update is None else update.lower(), order=order, **fssh)


#: SPEED's quasi-Newton Hessian and expansion order keys (docs/trajectories.md).
SPEED_EXPANSION_KEYS = ("hessian", "hessian_update", "order")


def _parse_fssh(t: _Table) -> dict[str, Any]:
    """``[method] name = "fssh"``: source, decoherence, decoherence_constant, frustrated."""
    from ..dynamics.fssh import FRUSTRATED, SOURCES

    decoherence = t.string("decoherence", "none", choices=("none", "edc"))
    constant = t.number("decoherence_constant", 0.1, positive=True)
    if t.has("decoherence_constant") and decoherence != "edc":
        raise t.error("decoherence_constant", "is only used with decoherence = 'edc'")
    return {"source": t.string("source", "per_trajectory", choices=SOURCES), "decoherence": decoherence,
            "decoherence_constant": float(constant), "frustrated": t.string("frustrated", "keep", choices=FRUSTRATED)}


def _parse_centres(t: _Table) -> tuple[Any, int | None, int | None]:
    """``centres`` (a positive integer or "adaptive"), ``max_centres``, ``regroup_every``."""
    centres = t.raw("centres", 1)
    if isinstance(centres, str):
        if centres.lower() != "adaptive":
            raise t.error("centres", f"must be a positive integer or 'adaptive', got {centres!r}")
        centres = "adaptive"
    elif isinstance(centres, bool) or not isinstance(centres, int) or centres < 1:
        raise t.error("centres", f"must be a positive integer or 'adaptive', got {_kind(centres)}")
    max_centres = t.integer("max_centres", None, minimum=1)
    if max_centres is not None and centres != "adaptive":
        raise t.error("max_centres", "is only used with centres = 'adaptive'")
    regroup_every = t.integer("regroup_every", None, minimum=1)
    if regroup_every is not None and centres == 1:
        raise t.error("regroup_every", "is only used with centres > 1 or centres = 'adaptive'")
    return centres, max_centres, regroup_every


def _parse_tged(t: _Table) -> MethodConfig:
    """``[method] name = "tged"``: the effective potential and its options."""
    from ..dynamics.tged import POTENTIALS

    for key in ("hessian_every", "reference_hessian", "adaptive_tol"):
        if t.has(key):
            raise t.error(key, "is only used with method 'speed', not 'tged'")
    potential = t.string("potential", "variational", choices=POTENTIALS)
    geometry = t.numbers("reference_geometry", None)
    points = t.integer("quadrature_points", None, minimum=1)
    t.finish()
    if geometry is not None and potential != "single_hessian":
        raise t.error("reference_geometry", "is only used with potential = 'single_hessian'")
    if points is not None and potential != "variational":
        raise t.error("quadrature_points", "is only used with potential = 'variational'")
    return MethodConfig("tged", reference_geometry=geometry, potential=potential, quadrature_points=points)


#: [run] keys a single thawed Gaussian has no use for
TGED_REFUSES = ("checkpoint_every", "save_trajectories", "chunk_size")


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
    _check_step_count(t, dt, t_final)
    if t.has("output_every") and t.has("output_times"):
        raise InputError(f"{source}: give run.output_every or run.output_times, not both")
    # more steps than any run may take: a slip, and dt * output_every would overflow
    output_every = t.integer("output_every", 1, minimum=1, maximum=schedule.MAX_STEPS)
    output_times = t.numbers("output_times", None, scalar_ok=False)
    if output_times is not None and (min(output_times) < 0 or max(output_times) > t_final * (1 + 1e-9)):
        raise t.error("output_times", f"must lie in [0, t_final = {t_final:g}]")
    if output_times is not None and schedule.ends_early(max(output_times), t_final, dt):
        raise t.error("output_times", f"ends at {max(output_times):g}, before run.t_final = {t_final:g}: "
                      "the run stops at its last output time; end the list with t_final")
    integrators = EXACT_INTEGRATORS if exact else TRAJECTORY_INTEGRATORS
    integrator = t.string("integrator", "strang", choices=integrators)
    drift = t.number("energy_drift_warning", DEFAULT_DRIFT_WARNING, positive=True, allow_inf=True)
    if method == "tged":
        return _tged_run(t, dt, t_final, output_every, output_times, integrator, drift)
    if exact:
        t.finish()
        return RunConfig(dt, t_final, output_every=output_every, output_times=output_times,
                         integrator=integrator, energy_drift_warning=drift)
    n_traj = t.integer("n_traj", 100, minimum=1)
    # the seed is stored in the result file's attributes, as a 64-bit integer
    seed = t.integer("seed", 0, minimum=0, maximum=np.iinfo(np.int64).max)
    chunk_size = t.integer("chunk_size", None, minimum=1)
    checkpoint_every = t.integer("checkpoint_every", None, minimum=1, maximum=schedule.MAX_STEPS)
    save = t.boolean("save_trajectories", False)
    backend = t.string("backend", None, choices=("auto", "numpy", "numba"))
    t.finish()
    return RunConfig(dt, t_final, n_traj, output_every, output_times, seed, integrator, chunk_size,
                     checkpoint_every, save, drift, backend)


def _tged_run(t: _Table, dt, t_final, output_every, output_times, integrator, drift) -> RunConfig:
    """``[run]`` of one thawed Gaussian: one 'trajectory', no checkpoints."""
    for key in TGED_REFUSES:
        if t.has(key):
            raise t.error(key, "is not used by method 'tged' (one Gaussian, no checkpoints)")
    n_traj = t.integer("n_traj", 1, minimum=1)
    if n_traj != 1:
        raise t.error("n_traj", f"must be 1 for method 'tged' (one Gaussian), got {n_traj}")
    seed = t.integer("seed", 0, minimum=0, maximum=np.iinfo(np.int64).max)
    backend = t.string("backend", None, choices=("auto", "numpy", "numba"))
    t.finish()
    return RunConfig(dt, t_final, 1, output_every, output_times, seed, integrator,
                     energy_drift_warning=drift, backend=backend)


def _check_step_count(t: _Table, dt: float, t_final: float) -> int:
    """Steps of the run, refused (naming both keys) above :data:`schedule.MAX_STEPS`."""
    try:
        return schedule.check_step_count(dt, t_final)
    except InputError as exc:
        raise InputError(f"{t.source}: keys 'run.t_final' and 'run.dt': {exc}") from None


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
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - sys.exit() in the module: not a successful run
        raise InputError(f"{key}: importing {module_name!r} {_exited(exc)}, so no model was made") from None
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
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in the factory: not a successful run
            raise InputError(f"{key}: {spec}() {_exited(exc)} instead of returning a model") from None
    elif parameters:
        raise InputError(f"[model.parameters] given, but {spec} is a model object, not a function")
    if not all(hasattr(obj, a) for a in ("potential", "n_states", "n_dof", "mass")):
        raise InputError(f"{key}: {spec} is not a model (needs n_states, n_dof, mass, potential); "
                         "build one with ehrenspeed.models.from_function")
    return obj


def _exited(exc: BaseException) -> str:
    """Describe a SystemExit (or other non-Exception) raised by the user's code."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    return f"raised {type(exc).__name__}: {exc}"
