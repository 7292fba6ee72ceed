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
from .units import FS

#: Coordinates drawn individually in the <q> panel; more are summarised.
MAX_LINES = 12

#: Up to this many states, every diabatic population is drawn (solid) with
#: the adiabatic one of the same index (dashed) in one panel.
MAX_STATES = 6

#: With more states than MAX_STATES, diabatic and adiabatic populations get
#: a panel each, with this many states drawn (the largest peak populations)
#: and the rest summed into one "other states" line: a chemist cannot tell
#: 45 curves in 10 recycled colours apart.
SHOWN_STATES = 7


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
    n_states = int(ds["population"].shape[1])
    split = n_states > MAX_STATES and "adiabatic_population" in ds
    n_panels = 4 if split else 3
    fig, axes = plt.subplots(n_panels, 1, figsize=(8.5, 2.8 * n_panels + 0.6), sharex=True,
                             constrained_layout=True)
    try:
        if split:
            _grouped_populations(axes[0], ds["population"].values, t, "diabatic", _layers(ds))
            _grouped_populations(axes[1], ds["adiabatic_population"].values, t, "adiabatic", None)
        else:
            _populations(axes[0], ds, t)
        _positions(axes[-2], ds, t)
        _energies(axes[-1], ds, t)
        axes[-1].set_xlabel("time / a.u.")
        add_femtosecond_axis(axes[0])
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


def add_femtosecond_axis(ax):
    """A secondary time axis in fs on top of ``ax`` (whose x axis is in a.u.)."""
    top = ax.secondary_xaxis("top", functions=(lambda t: t / FS, lambda t: t * FS))
    top.set_xlabel("time / fs")
    return top


def add_atomic_time_axis(ax):
    """A secondary time axis in a.u. on top of ``ax`` (whose x axis is in fs)."""
    top = ax.secondary_xaxis("top", functions=(lambda t: t * FS, lambda t: t / FS))
    top.set_xlabel("time / a.u.")
    return top


def coordinate_unit(ds) -> str:
    """Unit of the coordinates of a result, from its built-in model's ``coordinate_unit``.

    Results store the model's registry name (attribute ``model``); a user
    model, or one the registry does not know, gives "coordinate units".
    """
    from .models import REGISTRY

    cls = REGISTRY.get(str(ds.attrs.get("model", "")).lower())
    return getattr(cls, "coordinate_unit", "coordinate units") if cls is not None else "coordinate units"


def _legend_outside(ax, **kwargs) -> None:
    # right of the panel: a legend inside would hide curves somewhere in time
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def _populations(ax, ds, t) -> None:
    pop = np.asarray(ds["population"].values)
    colors = [f"C{k % 10}" for k in range(pop.shape[1])]
    for k in range(pop.shape[1]):
        ax.plot(t, pop[:, k], color=colors[k], label=f"state {k}")
    if "adiabatic_population" in ds:
        adia = np.asarray(ds["adiabatic_population"].values)
        for k in range(adia.shape[1]):
            ax.plot(t, adia[:, k], color=colors[k], ls="--", lw=1)
        ax.plot([], [], color="k", ls="-", label="diabatic")
        ax.plot([], [], color="k", ls="--", lw=1, label="adiabatic")
    ax.set_ylabel("population")
    ax.set_ylim(-0.02, 1.02)
    _legend_outside(ax)


def _layers(ds) -> int | None:
    """States per layer when the model groups its diabatic states in layers (chemisorption).

    Read from the model parameters in the result's ``config`` attribute;
    None when there is no such grouping.
    """
    import json

    try:
        config = json.loads(ds.attrs.get("config", "{}"))
    except (ValueError, TypeError):
        return None
    # trajectory runs and configuration files nest the parameters under "model",
    # run_exact stores them beside it as "model_parameters"
    model = config.get("model") if isinstance(config, dict) else None
    params = model.get("parameters") if isinstance(model, dict) else None
    if params is None and isinstance(config, dict):
        params = config.get("model_parameters")
    if isinstance(params, dict) and "states_per_layer" not in params:
        # a configuration file stores only the parameters it sets: the default comes from the model
        from .models import REGISTRY

        cls = REGISTRY.get(str(ds.attrs.get("model", "")).lower())
        try:
            params = cls(**params).parameters() if cls is not None else params
        except Exception:       # a model that no longer builds from these: draw ungrouped
            return None
    try:
        per_layer = int(params["states_per_layer"])
    except (KeyError, TypeError, ValueError):
        return None
    n = int(ds["population"].shape[1])
    return per_layer if per_layer > 1 and n % per_layer == 0 else None


def _grouped_populations(ax, pop, t, kind: str, per_layer: int | None) -> None:
    """Populations of many states, at most SHOWN_STATES + 1 lines.

    With ``per_layer`` the states are summed per layer first (the copies
    inside a layer are a quasi-continuum nobody wants to tell apart); then
    the SHOWN_STATES groups of largest peak population are drawn and the
    rest summed into one grey dotted line.
    """
    pop = np.asarray(pop, dtype=float)
    n = pop.shape[1]
    if per_layer:
        groups = [np.arange(l * per_layer, (l + 1) * per_layer) for l in range(n // per_layer)]
        names = [f"layer {l} (states {g[0]}-{g[-1]})" for l, g in enumerate(groups)]
        what = f"{len(groups)} layers of {per_layer} states"
    else:
        groups = [np.array([k]) for k in range(n)]
        names = [f"state {k}" for k in range(n)]
        what = f"{n} states"
    summed = np.stack([pop[:, g].sum(axis=1) for g in groups], axis=1)
    if len(groups) <= 10:       # ten distinct colours: all groups fit
        shown = np.arange(len(groups))
    else:
        shown = np.sort(np.argsort(-summed.max(axis=0), kind="stable")[:SHOWN_STATES])
    for i, k in enumerate(shown):
        ax.plot(t, summed[:, k], color=f"C{i}", label=names[k])
    rest = np.setdiff1d(np.arange(len(groups)), shown)
    if rest.size:
        n_rest = sum(len(groups[k]) for k in rest)
        ax.plot(t, summed[:, rest].sum(axis=1), color="0.45", ls=":", lw=1.5,
                label=f"other {n_rest} states, summed")
    ax.set_ylabel(f"{kind} population")
    ax.set_ylim(-0.02, 1.02)
    title = f"{kind}, {what}"
    if rest.size:
        title += f":\nthe {len(shown)} of largest peak\npopulation drawn"
    _legend_outside(ax, title=title, title_fontsize="small")


def _positions(ax, ds, t) -> None:
    if "position" not in ds:
        ax.text(0.5, 0.5, "no <q> in this result", ha="center", va="center", transform=ax.transAxes)
        return
    q = np.asarray(ds["position"].values).reshape(len(t), -1)
    for a in range(min(q.shape[1], MAX_LINES)):
        ax.plot(t, q[:, a], label=f"q{a}")
    if q.shape[1] > MAX_LINES:
        ax.set_title(f"first {MAX_LINES} of {q.shape[1]} coordinates", fontsize="small")
    unit = coordinate_unit(ds)
    # "<q> / bohr" for a unit one can divide by; words and per-coordinate lists in parentheses
    if " " in unit or unit == "dimensionless":
        label = f"<q> ({unit})" if len(unit) <= 16 else f"<q>\n({unit})"
    else:
        label = f"<q> / {unit}"
    ax.set_ylabel(label)
    _legend_outside(ax, ncol=1 if q.shape[1] <= 6 else 2)


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
        _legend_outside(ax)
