"""``ehrenspeed models [NAME]``: list the built-in models, their parameters and units."""

from __future__ import annotations

import difflib
import re

import click


@click.command("models")
@click.argument("name", required=False)
def command(name):
    """List the built-in models (or one model): summary, sizes, parameters with units.

    Every parameter is shown with its default value and unit; a parameter
    left unset (its default is computed from the others) says so instead
    of printing Python's ``None``.
    """
    from ..models import REGISTRY, get

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
