"""``ehrenspeed reproduce NAME``: rerun a figure of the paper (or the primer).

Every option is checked before anything is written: the name and the seed
by click (a usage error, exit status 2), the rest by
:func:`ehrenspeed.reproduce.reproduce` before it creates the output
directory. A reproduction runs in one process; under an MPI launcher it
refuses with one line from rank 0 (docs/hpc.md).
"""

from __future__ import annotations

import click

NAMES = ("pyrazine", "pyrazine4", "pyrazine24", "chemisorption", "furan", "retinal", "primer", "tged", "fssh")


@click.command("reproduce")
@click.argument("name", type=click.Choice(NAMES, case_sensitive=False))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False),
              help="Output directory [default: reproduce-NAME].")
@click.option("--quick", is_flag=True, help="Reduced run (fewer trajectories, shorter, coarser grid).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Sampling seed of the trajectory runs (an integer >= 0).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on the long parts [default: on when stderr is a terminal].")
@click.option("--parameters", default=None, metavar="SET",
              help="A named parameter set of the model (furan: illustrative [default], abinitio or abinitio-wb97xd).")
def command(name, output, quick, seed, progress, parameters):
    """Reproduce NAME: pyrazine, pyrazine4, pyrazine24, chemisorption, furan, retinal, primer, tged or fssh.

    Writes one netCDF file per method, PNG figures and summary.json (the
    numbers that matter) into the output directory.
    """
    import sys
    import warnings

    from ..reproduce import reproduce
    from .run import one_line_warning

    refuse_under_mpi(name.lower())
    if progress is None:
        progress = sys.stderr.isatty()
    # a warning is one "warning: ..." line on stderr, as in `ehrenspeed run`,
    # not Python's file:line + source excerpt in the middle of a progress bar
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = one_line_warning
        out = reproduce(name.lower(), output, quick=quick, seed=seed, progress=progress,
                        parameters=parameters)
    for path in out.files:
        click.echo(str(path))
    click.echo(f"{name}: done in {out.summary.get('wall_time_s', 0):.1f} s")


def refuse_under_mpi(name: str) -> None:
    """End the command, with one message, when started by an MPI launcher on several ranks.

    Every rank would repeat the whole reproduction and write the same
    files. Rank 0 raises the error (printed once by the command line); the
    other ranks end silently with the same exit status. MPI itself is not
    started (the ranks are read from the launcher's environment), so no
    rank calls ``MPI_Abort`` and the message is never cut off.

    Raises
    ------
    InputError
        On rank 0.
    SystemExit
        Status 2, on the other ranks (click's ``Exit`` would end the command
        line with status 0 there).
    """
    from ..errors import InputError
    from ..parallel import launcher_ranks

    rank, size = launcher_ranks()
    if size <= 1:
        return
    if rank != 0:
        raise SystemExit(2)
    raise InputError(f"'ehrenspeed reproduce' runs in one process, not under an MPI launcher ({size} ranks): "
                     f"run 'ehrenspeed reproduce {name}' without mpiexec (for MPI runs use "
                     "'mpiexec -n K ehrenspeed run CONFIG.toml', docs/hpc.md)")
