"""Shared plumbing of the reproductions: output directory, result files, figures, summary.

Every reproduction writes into one directory: one netCDF file per method
(written atomically by :func:`ehrenspeed.results.save`), PNG figures
and ``summary.json`` with the numbers that matter, which
docs/reproductions.md quotes; every file goes through
:func:`ehrenspeed.files.atomic_write`, so an interrupted run never leaves a
truncated file under a final name.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..files import atomic_write, check_output, write_bytes
from ..results import check_writer, save

#: Line colours and styles per method, the same in every figure.
STYLE = {
    "exact": dict(color="black", lw=2.0, ls="-"),
    "ehrenfest": dict(color="tab:blue", lw=1.5, ls="-"),
    "speed": dict(color="tab:red", lw=1.5, ls="--"),
    "single": dict(color="tab:green", lw=1.2, ls=":"),
    "ehrenfest_small": dict(color="tab:cyan", lw=1.2, ls="-."),
    "speed_small": dict(color="tab:orange", lw=1.2, ls="-."),
    "tged": dict(color="tab:purple", lw=1.5, ls="--"),
    "tgwd": dict(color="tab:brown", lw=1.2, ls="-."),
}


@dataclass
class Output:
    """Where a reproduction writes, and what it has written.

    Parameters
    ----------
    directory : Path
        Created (with parents) if missing.
    quick : bool
        Reduced run; recorded in the summary.
    seed : int
        Sampling seed of every trajectory run.
    progress : bool
        Show progress bars on the long parts.
    parameters : str, optional
        A named parameter set of the reproduction's model (only where the
        reproduction module lists it in ``PARAMETER_SETS``).
    """

    directory: Path
    quick: bool = False
    seed: int = 1
    progress: bool = False
    parameters: str | None = None
    files: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create output directory {str(self.directory)!r}: {exc.strerror}") from None
        if not os.access(self.directory, os.W_OK):
            raise InputError(f"output directory {str(self.directory)!r} is not writable")
        # before any computation: the result writer works and the directory takes files
        check_writer()
        check_output(self.directory / "summary.json", "output")

    def save(self, ds, name: str) -> Path:
        """Write a result as ``<name>.nc``."""
        path = save(ds, self.directory / f"{name}.nc")
        self.files.append(path)
        return path

    def figure(self, fig, name: str, dpi: int = 120) -> Path:
        """Write a matplotlib figure as ``<name>.png`` and close it."""
        import matplotlib.pyplot as plt

        path = self.directory / f"{name}.png"
        try:
            atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=dpi), "figure")
        finally:
            plt.close(fig)
        self.files.append(path)
        return path

    def write_summary(self, name: str) -> Path:
        """Write ``summary.json``: the reproduction's numbers, settings and timing."""
        self.summary.update(reproduction=name, quick=self.quick, seed=self.seed,
                            wall_time_s=round(time.perf_counter() - self.started, 2))
        path = self.directory / "summary.json"
        text = json.dumps(_jsonable(self.summary), indent=2, sort_keys=True)
        write_bytes(path, (text + "\n").encode(), "summary")
        self.files.append(path)
        return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def rounded(x: float, digits: int = 4) -> float:
    """A float with ``digits`` significant digits, for readable summaries."""
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def centre_state(model, wavepacket):
    """The one-trajectory ensemble at the wavepacket's centre (q0, p0).

    "One Ehrenfest trajectory" in the paper's figures is the mean-field
    trajectory of the wavepacket centre, not a random Wigner sample.
    """
    from ..sampling import State, electronic_vector

    c = electronic_vector(wavepacket.state, model.n_states)
    return State.from_arrays(np.asarray(wavepacket.q0, float)[None, :],
                             np.asarray(wavepacket.p0, float)[None, :], c[None, :], 0.0)
