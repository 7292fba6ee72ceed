"""Checkpoint files: the full state of a trajectory run, written atomically.

A checkpoint is a ``numpy.savez`` archive (never a pickle: it is read with
``allow_pickle=False``) holding

* ``meta``: a JSON string with the format version, the hash of the run's
  configuration, the seed, the step and output counters and scalar
  statistics;
* every array of :meth:`ehrenspeed.driver.TrajectoryRun.checkpoint_state`
  under its name (positions, momenta, coefficients, the observables recorded
  so far, the potential source's cache).

Writing goes through :func:`ehrenspeed.files.atomic_write` (temporary file
in the target directory, flushed, renamed into place), so a run killed
while writing leaves the previous checkpoint intact and never a partial
file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .files import atomic_write

#: Bumped when the layout changes; older checkpoints are refused.
FORMAT_VERSION = 1


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
        When the file is missing, unreadable, of another format version, or
        was written for a different configuration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint {str(path)!r} to resume from")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read checkpoint {str(path)!r}: {exc}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(f"checkpoint {str(path)!r} has format version {meta.get('format_version')}, "
                         f"this ehrenspeed reads version {FORMAT_VERSION}")
    if expected_hash is not None and meta.get("config_hash") != expected_hash:
        raise InputError(f"checkpoint {str(path)!r} was written for a different configuration "
                         "(model, initial conditions, method or run settings differ)")
    return arrays, meta
