"""``ehrenspeed models``: list the built-in models and their parameters."""

from __future__ import annotations

import click


@click.command("models")
@click.argument("name", required=False)
def command(name):
    """List the built-in models (or one model's parameters and docs)."""
    from ..models import REGISTRY, get

    names = [name] if name else sorted(REGISTRY)
    for key in names:
        model = get(key)
        doc = (type(model).__doc__ or "").strip().splitlines()[0]
        click.echo(f"{key}: {doc}")
        click.echo(f"    states {model.n_states}, coordinates {model.n_dof}")
        for pname, value in model.parameters().items():
            click.echo(f"    {pname} = {value}")
