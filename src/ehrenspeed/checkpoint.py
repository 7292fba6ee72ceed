"""Checkpoint files: the full state of a trajectory run, written atomically.

A checkpoint is a ``numpy.savez`` archive (never a pickle: it is read with
``allow_pickle=False``) holding

* ``meta``: a JSON string with the format version, the hash of the run's
  configuration (and the configuration itself, to name what changed), the
  seed, the step and output counters, the evaluation counts of the whole
  run (summed over MPI ranks), scalar statistics and the model's identity
  (:func:`model_identity`);
* every array of :meth:`ehrenspeed.driver.TrajectoryRun.checkpoint_state`
  under its name (positions, momenta, coefficients, the observables recorded
  so far, the potential source's cache, the model's V and dV/dq at its probe
  geometry).

A file that is not such an archive (truncated, empty, foreign, or holding
pickled objects) is refused with one :class:`~ehrenspeed.errors.InputError`;
nothing in it is ever unpickled.

Writing goes through :func:`ehrenspeed.files.atomic_write` (temporary file
in the target directory, flushed, renamed into place), so a run killed
while writing leaves the previous checkpoint intact and never a partial
file.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .files import atomic_write

#: Bumped when the layout changes; older checkpoints are refused.
#: 2: model identity, evaluation counts of all ranks, save_trajectories flag.
FORMAT_VERSION = 2

#: Relative tolerance of the model's V and dV/dq at the probe geometry on
#: resume: the same code gives the same bits, but a different BLAS thread
#: count may reorder a sum; anything larger is another model.
PROBE_RTOL = 1e-12

#: What reading a damaged or foreign file can raise (zip, zlib, numpy's
#: format parser, JSON); all mean "not a checkpoint of ours".
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, EOFError, RuntimeError,
               NotImplementedError, struct.error, zlib.error, zipfile.BadZipFile)


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of a JSON-ready configuration (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Target file (by convention ``*.npz``).
    arrays : dict
        name -> ndarray (numeric; complex is fine).
    meta : dict
        JSON-ready scalars; ``format_version`` is added.
    """
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise InputError(f"checkpoint directory {str(directory)!r} does not exist")
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    if any(value.dtype == object for value in payload.values()):
        raise TypeError("checkpoint arrays must not be object arrays")
    payload["meta"] = np.array(json.dumps({**meta, "format_version": FORMAT_VERSION}))
    # np.savez would append ".npz" to a name without it: hand it the open file
    atomic_write(path, lambda handle: np.savez(handle, **payload), "checkpoint")
    return path


def load_checkpoint(path: str | os.PathLike, expected_hash: str | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint; check it belongs to the configuration ``expected_hash``.

    Returns
    -------
    arrays : dict
    meta : dict

    Raises
    ------
    InputError
        When the file is missing, unreadable, not an ehrenspeed checkpoint
        (truncated, empty, foreign, pickled objects), of another format
        version, or was written for a different configuration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint {str(path)!r} to resume from")
    arrays = _read_archive(path)
    meta = _read_meta(path, arrays.pop("meta"))
    version = meta["format_version"]
    if version != FORMAT_VERSION:
        raise InputError(f"checkpoint {str(path)!r} has format version {version}, this ehrenspeed "
                         f"reads version {FORMAT_VERSION}; start afresh without resuming")
    if expected_hash is not None and meta.get("config_hash") != expected_hash:
        raise InputError(f"checkpoint {str(path)!r} was written for a different configuration "
                         "(model, initial conditions, method or run settings differ)")
    return arrays, meta


def not_a_checkpoint(path: str | os.PathLike, why: str = "truncated or foreign file") -> InputError:
    """The one-line error for a file that cannot be one of our checkpoints."""
    return InputError(f"cannot read checkpoint {str(path)!r}: not an ehrenspeed checkpoint ({why})")


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Every member of the npz archive as a numeric array, and ``meta``; never unpickles."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except OSError as exc:
        if exc.strerror:  # the file system refused (permissions, I/O): say so
            raise InputError(f"cannot read checkpoint {str(path)!r}: {exc.strerror}") from None
        raise not_a_checkpoint(path) from None
    except _UNREADABLE:  # numpy's own text would suggest allow_pickle: never for a checkpoint
        raise not_a_checkpoint(path) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
        raise not_a_checkpoint(path, "a single array, not an archive")
    try:
        with loaded as archive:
            arrays = {name: archive[name] for name in archive.files}
    except OSError as exc:
        raise InputError(f"cannot read checkpoint {str(path)!r}: {exc.strerror or exc}") from None
    except _UNREADABLE:
        raise not_a_checkpoint(path) from None
    if "meta" not in arrays:
        raise not_a_checkpoint(path, "no 'meta' record")
    for name, value in arrays.items():
        # members that are not .npy come back as bytes; text is only allowed in meta
        kinds = "U" if name == "meta" else "biufc"
        if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
            raise not_a_checkpoint(path, f"member {name!r} is not a numeric array")
    return arrays


def _read_meta(path: Path, meta: np.ndarray) -> dict[str, Any]:
    """The JSON ``meta`` record, which must name a format version."""
    if meta.shape != ():
        raise not_a_checkpoint(path, "'meta' is not a JSON string")
    try:
        decoded = json.loads(str(meta))
    except ValueError:
        raise not_a_checkpoint(path, "'meta' is not valid JSON") from None
    if not isinstance(decoded, dict) or "format_version" not in decoded:
        raise not_a_checkpoint(path, "'meta' has no format version")
    return decoded


# -- what identifies the model ----------------------------------------------------------
def model_identity(model) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What tells this model from an edited one: its user code and its values at a probe.

    Parameters
    ----------
    model : Model
        The run's model (not a counting wrapper).

    Returns
    -------
    meta : dict
        ``{"sources": [...]}`` from :func:`model_sources` (JSON-ready).
    arrays : dict
        ``model/probe_q``, ``model/probe_v``, ``model/probe_g``: the probe
        geometry (:func:`ehrenspeed.models.user.probe_point`) and V and dV/dq
        there. One potential and gradient evaluation, which the model's own
        call accounting (an on-the-fly model's ``calls``) does not see.
    """
    from .models.user import probe_point

    q = probe_point(model)
    calls = getattr(model, "calls", None)
    before = copy.copy(calls)
    try:
        both = getattr(model, "potential_and_gradient", None)
        v, g = both(q) if both is not None else (model.potential(q), model.gradient(q))
    finally:
        if hasattr(calls, "__dict__"):
            # the probe is not part of the run: its result counts must not change
            vars(calls).update(vars(before))
    arrays = {"model/probe_q": q, "model/probe_v": np.asarray(v), "model/probe_g": np.asarray(g)}
    return {"sources": model_sources(model)}, arrays


def compare_model_identity(where: str, saved_meta: dict[str, Any],
                           saved_arrays: dict[str, np.ndarray], model) -> tuple[dict, dict]:
    """Refuse to resume from a checkpoint (``where``: "checkpoint 'x.npz'") with another model.

    Returns
    -------
    meta, arrays
        The current model's identity (:func:`model_identity`), equal to the
        checkpoint's.

    Raises
    ------
    InputError
        Naming what changed: a source file, or V or dV/dq at the probe.
    """
    meta, arrays = model_identity(model)
    problem = (_source_change(saved_meta.get("sources", []), meta["sources"])
               or _probe_change(saved_arrays, arrays))
    if problem:
        raise InputError(f"cannot resume from {where}: {problem}; "
                         "start afresh without resuming")
    return meta, arrays


def model_sources(model) -> list[dict[str, str]]:
    """The user code a model runs: module files (path, SHA-256) or script functions.

    The model's class and every callable it holds (``from_function``
    callbacks, an on-the-fly model's single point) are traced to their
    module. ehrenspeed's own modules are left out (the model's name and
    parameters identify them); so are modules without a Python source file.
    Code defined in ``__main__`` (a script, a notebook) is identified by the
    function's own source, so that editing the rest of the script, e.g. to
    ask for ``resume=True``, does not refuse the resume.

    Returns
    -------
    list of dict
        ``{"module", "path", "sha256"}`` or ``{"function", "sha256"}``,
        sorted, without repeats.
    """
    found: dict[str, dict[str, str]] = {}
    for obj in _model_code(model):
        entry = _source_entry(obj)
        if entry is not None:
            found[entry.get("module") or entry["function"]] = entry
    return [found[key] for key in sorted(found)]


def _model_code(model) -> list[Any]:
    """The model's class and the callables among its attributes."""
    objects = [type(model)]
    for value in getattr(model, "__dict__", {}).values():  # a model with __slots__ has none
        value = getattr(value, "func", value)           # functools.partial
        value = getattr(value, "__func__", value)       # bound method
        if callable(value) and not isinstance(value, type):
            objects.append(value)
    return objects


def _source_entry(obj) -> dict[str, str] | None:
    """Where ``obj``'s code lives, or None for ehrenspeed's own and compiled code."""
    # a callable instance (an executor task, a pickled single point) runs its class's code
    code = obj if inspect.isfunction(obj) or inspect.isclass(obj) else type(obj)
    name = getattr(code, "__module__", None)
    if not isinstance(name, str) or name == "ehrenspeed" or name.startswith("ehrenspeed."):
        return None
    if name == "__main__":
        try:
            text = inspect.getsource(code)
        except (OSError, TypeError):  # typed at a prompt: no source to hash
            return None
        return {"function": f"__main__.{code.__qualname__}", "sha256": hashlib.sha256(text.encode()).hexdigest()}
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py") or not os.path.isfile(file):
        return None
    digest = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    return {"module": name, "path": os.path.abspath(file), "sha256": digest}


def _source_change(saved: list[dict[str, str]], now: list[dict[str, str]]) -> str | None:
    """A sentence naming the first difference between two :func:`model_sources` lists."""
    saved_by = {e.get("module") or e["function"]: e for e in saved}
    now_by = {e.get("module") or e["function"]: e for e in now}
    for key, old in saved_by.items():
        new = now_by.get(key)
        where = old.get("path") or key
        if new is None:
            return f"the model no longer uses {where}, which it did when the checkpoint was written"
        if old.get("path") != new.get("path"):
            return f"the model's module {key!r} now comes from {new['path']}, not {old['path']}"
        if old["sha256"] != new["sha256"]:
            what = "source file" if "path" in old else "function"
            return f"the model's {what} {where} changed since the checkpoint was written"
    extra = sorted(set(now_by) - set(saved_by))
    if extra:
        first = now_by[extra[0]]
        return (f"the model now uses {first.get('path') or extra[0]}, which it did not when the checkpoint "
                "was written")
    return None


def _probe_change(saved: dict[str, np.ndarray], now: dict[str, np.ndarray]) -> str | None:
    """A sentence naming how V or dV/dq at the probe geometry moved beyond :data:`PROBE_RTOL`."""
    if "model/probe_q" not in saved or not np.array_equal(saved["model/probe_q"], now["model/probe_q"]):
        return "the model's probe geometry differs from the checkpoint's (another model)"
    for key, what, unit in (("model/probe_v", "potential", "hartree"),
                            ("model/probe_g", "gradient", "hartree per coordinate unit")):
        old, new = saved.get(key), now[key]
        if old is None or old.shape != new.shape:
            shape = None if old is None else old.shape
            return f"the model's {what} at the probe geometry has shape {new.shape}, the checkpoint's {shape}"
        diff = float(np.max(np.abs(new - old), initial=0.0))
        scale = max(float(np.max(np.abs(old), initial=0.0)), float(np.max(np.abs(new), initial=0.0)))
        if not diff <= PROBE_RTOL * scale:  # also catches NaN
            where = now["model/probe_q"][0].tolist()
            return f"the model's {what} at the probe geometry q = {where} differs by {diff:.3g} {unit}"
    return None
