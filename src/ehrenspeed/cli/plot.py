"""``ehrenspeed plot RESULT.nc [-o FIG.png]``: a figure of a result file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("plot")
@click.argument("result", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Image file (.png, .pdf, .svg); default RESULT with .png.")
@click.option("--title", help="Figure title; default model and method.")
def command(result: Path, output: Path | None, title: str | None) -> None:
    """Plot populations, <q> and energies of RESULT against time."""
    from ..plotting import plot_result
    from ..results import load

    ds = load(result)
    out = output if output is not None else result.with_suffix(".png")
    plot_result(ds, out, title=title)
    click.echo(f"wrote {out}", err=True)
