"""``ehrenspeed models [NAME]``: list the built-in models, their parameters and units."""

from __future__ import annotations

import difflib
import re

import click


@click.command("models")
@click.argument("name", required=False)
@click.option("--plot", is_flag=True,
              help="Draw the model's diabatic and adiabatic surfaces along one coordinate.")
@click.option("--coordinate", type=int, default=0, show_default=True,
              help="With --plot: index of the coordinate that varies (0-based).")
@click.option("--range", "range_", type=float, nargs=2, default=None, metavar="A B",
              help="With --plot: range of that coordinate [default: a periodic coordinate's period, "
                   "else the initial wavepacket's centre +- 6 widths].")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False),
              help="With --plot: image file [default: model-NAME-qI.png].")
def command(name, plot, coordinate, range_, output):
    """List the built-in models (or one model): summary, sizes, parameters with units.

    Every parameter is shown with its default value and unit; a parameter
    left unset (its default is computed from the others) says so instead
    of printing Python's ``None``.

    With --plot, NAME (a built-in model or a configuration file, whose
    [model] table may name a user model) is drawn along one coordinate
    through the initial wavepacket's centre: diabatic energies, adiabatic
    energies and couplings, in eV.
    """
    from ..errors import InputError
    from ..models import REGISTRY, get

    if plot:
        if not name:
            raise InputError("--plot needs a model: a built-in name or a configuration file")
        model, wavepacket, label = _model_to_plot(name, REGISTRY)
        from ..model_plots import plot_model

        lower, upper = range_ if range_ is not None else (None, None)
        path = plot_model(model, output or f"model-{label}-q{coordinate}.png", coordinate, lower, upper,
                          wavepacket=wavepacket)
        click.echo(str(path))
        return
    if output or range_ is not None:
        raise InputError("-o and --range apply to --plot only")
    names = [_known_name(name, REGISTRY)] if name else sorted(REGISTRY)
    for key in names:
        model = get(key)
        click.echo(f"{key}: {summary(type(model))}")
        states = f"{model.n_states} state{'s' if model.n_states != 1 else ''}"
        coords = f"{model.n_dof} coordinate{'s' if model.n_dof != 1 else ''}"
        click.echo(f"    {states}, {coords} ({model.coordinate_unit})")
        units = getattr(model, "parameter_units", {})
        for pname, value in model.parameters().items():
            click.echo(f"    {pname} = {_value(value)}{_unit(units.get(pname))}")


def _model_to_plot(name: str, registry):
    """(model, wavepacket, label): a built-in model by name (wavepacket None: the model's own),
    or the model and ``[initial]`` wavepacket of a configuration file."""
    from pathlib import Path

    path = Path(name)
    if path.suffix.lower() == ".toml" or path.is_file():
        from ..config import load_config

        if not path.is_file():
            from ..errors import InputError

            raise InputError(f"configuration file {name!r} does not exist")
        prepared = load_config(path).build()
        return prepared.model, prepared.wavepacket, path.stem
    key = _known_name(name, registry)
    from ..models import get

    return get(key), None, key


def summary(cls) -> str:
    """The first sentence of a class docstring, as plain text (no reST markup)."""
    doc = (cls.__doc__ or "").strip()
    paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    # :class:`X` / :func:`X` -> X, ``x`` -> x: the terminal shows no markup
    paragraph = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", paragraph).replace("``", "")
    match = re.match(r"(.+?\.)(\s|$)", paragraph)
    return match.group(1) if match else paragraph


def _known_name(name: str, registry) -> str:
    """``name`` lowered, or an InputError that suggests the closest known model."""
    from ..errors import InputError

    key = str(name).lower()
    if key in registry:
        return key
    close = difflib.get_close_matches(key, list(registry), n=1)
    if close:
        raise InputError(f"unknown model {name!r}; did you mean {close[0]!r}?")
    raise InputError(f"unknown model {name!r}; known models: {', '.join(sorted(registry))}")


def _value(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _unit(unit: str | None) -> str:
    return f"  ({unit})" if unit else ""
