"""Figures of result files: populations, <q> and energies against time.

:func:`plot_result` draws any result of :func:`ehrenspeed.run` or
:func:`ehrenspeed.grid.run_exact` (the layout of :mod:`ehrenspeed.results`)
with matplotlib's Agg backend, so it works on machines without a display,
and writes the image atomically (temporary file + rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .files import atomic_write

#: Coordinates drawn individually in the <q> panel; more are summarised.
MAX_LINES = 12


def plot_result(ds, path: str | os.PathLike, title: str | None = None, dpi: int = 120) -> Path:
    """Draw populations, <q> and energies of a result and save the figure.

    Parameters
    ----------
    ds : xarray.Dataset
        A result (at least ``time`` and ``population``).
    path : path-like
        Image file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).
    title : str, optional
        [default] "<model> - <method>" from the attributes.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        When ``ds`` is not a result (no time axis or populations), or the
        directory does not exist.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    if "time" not in ds.coords or "population" not in ds:
        raise InputError("not an ehrenspeed result: it needs a 'time' axis and a 'population' variable")
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"figure directory {str(path.parent)!r} does not exist")
    t = np.asarray(ds["time"].values, dtype=float)
    fig, axes = plt.subplots(3, 1, figsize=(7, 8.5), sharex=True, constrained_layout=True)
    try:
        _populations(axes[0], ds, t)
        _positions(axes[1], ds, t)
        _energies(axes[2], ds, t)
        axes[2].set_xlabel("time / a.u.")
        if title is None:
            title = f"{ds.attrs.get('model', '?')} - {ds.attrs.get('method', '?')}"
            if ds.attrs.get("n_traj"):
                title += f" ({ds.attrs['n_traj']} trajectories)"
        fig.suptitle(title)
        fmt = path.suffix.lstrip(".").lower() or "png"
        atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi), "figure")
    except ValueError as exc:  # e.g. an image format matplotlib does not know
        raise InputError(f"cannot write figure {str(path)!r}: {exc}") from None
    finally:
        plt.close(fig)
    return path


def _populations(ax, ds, t) -> None:
    pop = np.asarray(ds["population"].values)
    colors = [f"C{k % 10}" for k in range(pop.shape[1])]
    for k in range(pop.shape[1]):
        ax.plot(t, pop[:, k], color=colors[k], label=f"state {k}" if pop.shape[1] <= MAX_LINES else None)
    if "adiabatic_population" in ds:
        adia = np.asarray(ds["adiabatic_population"].values)
        for k in range(adia.shape[1]):
            ax.plot(t, adia[:, k], color=colors[k], ls="--", lw=1)
        ax.plot([], [], color="k", ls="--", lw=1, label="adiabatic")
    ax.set_ylabel("population")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize="small", ncol=2, loc="best")


def _positions(ax, ds, t) -> None:
    if "position" not in ds:
        ax.text(0.5, 0.5, "no <q> in this result", ha="center", va="center", transform=ax.transAxes)
        return
    q = np.asarray(ds["position"].values).reshape(len(t), -1)
    for a in range(min(q.shape[1], MAX_LINES)):
        ax.plot(t, q[:, a], label=f"q{a}")
    if q.shape[1] > MAX_LINES:
        ax.set_title(f"first {MAX_LINES} of {q.shape[1]} coordinates", fontsize="small")
    ax.set_ylabel("<q>")
    ax.legend(fontsize="small", ncol=3, loc="best")


def _energies(ax, ds, t) -> None:
    drawn = False
    for name, label in (("total_energy", "<E> total"), ("potential_energy", "<V>")):
        if name in ds:
            ax.plot(t, np.asarray(ds[name].values), label=label)
            drawn = True
    if "total_energy" in ds and "potential_energy" in ds:
        kinetic = np.asarray(ds["total_energy"].values) - np.asarray(ds["potential_energy"].values)
        ax.plot(t, kinetic, label="<T>")
    ax.set_ylabel("energy / hartree")
    if drawn:
        ax.legend(fontsize="small", loc="best")
