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
    from ..files import check_output
    from ..plotting import plot_result
    from ..results import load

    out = output if output is not None else result.with_suffix(".png")
    # checked before reading: a figure must never replace the data it shows
    out = check_output(out, "figure", protected=[(result, "the result file being plotted")])
    ds = load(result)
    plot_result(ds, out, title=title)
    click.echo(f"wrote {out}", err=True)
