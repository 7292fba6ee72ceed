"""``ehrenspeed reproduce NAME``: rerun a figure of the paper (or the primer)."""

from __future__ import annotations

import click

NAMES = ("pyrazine", "chemisorption", "furan", "retinal", "primer")


@click.command("reproduce")
@click.argument("name", type=click.Choice(NAMES, case_sensitive=False))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False),
              help="Output directory [default: reproduce-NAME].")
@click.option("--quick", is_flag=True, help="Reduced run (fewer trajectories, shorter, coarser grid).")
@click.option("--seed", type=int, default=1, show_default=True, help="Sampling seed of the trajectory runs.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on the long parts [default: on when stderr is a terminal].")
def command(name, output, quick, seed, progress):
    """Reproduce NAME: pyrazine, chemisorption, furan, retinal or primer.

    Writes one netCDF file per method, PNG figures and summary.json (the
    numbers that matter) into the output directory.
    """
    import sys
    import warnings

    from ..reproduce import reproduce

    if progress is None:
        progress = sys.stderr.isatty()
    # a warning is one "warning: ..." line on stderr, as in `ehrenspeed run`,
    # not Python's file:line + source excerpt in the middle of a progress bar
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _one_line_warning
        out = reproduce(name.lower(), output, quick=quick, seed=seed, progress=progress)
    for path in out.files:
        click.echo(str(path))
    click.echo(f"{name}: done in {out.summary.get('wall_time_s', 0):.1f} s")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as one ``warning: ...`` line on stderr (whitespace collapsed)."""
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)
