"""``ehrenspeed run CONFIG [-o OUT.nc] [--resume] [--quiet]``: one run described by a file.

The command only turns files into library calls: :func:`ehrenspeed.config.load_config`
validates the TOML file (or the configuration stored in a result file), then
:func:`ehrenspeed.run` or :func:`ehrenspeed.grid.run_exact` runs it, and
:func:`ehrenspeed.results.save` writes the result atomically. Every check
that can fail on bad input (the file, every key, the model, the output
directory) happens before the first step, so a mistake costs seconds, not
the hours of the run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import click


@click.command("run")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Result file (netCDF); default from [output] path or the config's name.")
@click.option("--resume", is_flag=True, help="Continue from the run's checkpoint (bit-identical result).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
def command(config: Path, output: Path | None, resume: bool, quiet: bool) -> None:
    """Run the simulation described by CONFIG (a TOML file, or a result file to re-run)."""
    from ..config import load_config

    cfg = load_config(config)
    out = cfg.output_path(output)
    check_writable(out, "output")
    exact = cfg.method.name == "exact"
    checkpoint = None if exact else cfg.checkpoint_path(output)
    if resume:
        if exact:
            raise _input_error(f"{cfg.source}: --resume needs checkpoints, which method 'exact' does not write")
        if not checkpoint.is_file():
            raise _input_error(f"no checkpoint {str(checkpoint)!r} to resume from; run without --resume "
                               "to start from the beginning")
    elif cfg.run.checkpoint_every is not None and not exact:
        check_writable(checkpoint, "checkpoint")
        if checkpoint.is_file() and not quiet:
            click.echo(f"note: starting afresh; the old checkpoint {str(checkpoint)!r} will be replaced "
                       "(use --resume to continue it)", err=True)
    prepared = cfg.build()
    show_progress = not quiet

    from ..parallel import mpi_world

    # under mpiexec the trajectories are shared among the ranks; rank 0 alone
    # gets the result and writes the file
    comm = None if exact else mpi_world()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _one_line_warning
        result = _execute(cfg, prepared, checkpoint, resume, show_progress, comm)
    if result is None:
        return

    from ..results import save

    result.attrs["config"] = cfg.to_json()
    save(result, out)
    if checkpoint is not None and checkpoint.is_file():
        # the result is safely on disk: the restart point is no longer needed
        checkpoint.unlink()
    if not quiet:
        n_traj = f", {result.attrs['n_traj']} trajectories" if "n_traj" in result.attrs else ""
        click.echo(f"wrote {out} ({cfg.method.name}{n_traj}, {result.sizes['time']} output times, "
                   f"{float(result.attrs.get('wall_time_s', 0.0)):.3g} s)", err=True)


def _execute(cfg, prepared, checkpoint: Path | None, resume: bool, show_progress: bool, comm=None):
    """The library call the configuration describes."""
    kwargs = cfg.run_kwargs()
    if cfg.method.name == "exact":
        from ..driver import EnergyDriftWarning
        from ..grid import run_exact

        drift_limit = kwargs.pop("energy_drift_warning", cfg.run.energy_drift_warning)
        # run_exact's bar is not tty-aware: ask for it only on a terminal
        result = run_exact(prepared.model, prepared.wavepacket, prepared.grid,
                           progress=show_progress and sys.stderr.isatty(), **kwargs)
        drift = float(result.attrs.get("max_energy_drift", 0.0))
        if drift > drift_limit:
            warnings.warn(f"total energy drifted by {drift:.3e} hartree (threshold {drift_limit:.3e}); "
                          "consider a smaller dt or a finer grid", EnergyDriftWarning)
        return result
    from ..driver import run

    use_checkpoint = resume or cfg.run.checkpoint_every is not None
    return run(prepared.model, prepared.wavepacket, prepared.method, progress=show_progress,
               checkpoint_every=cfg.run.checkpoint_every,
               checkpoint_path=checkpoint if use_checkpoint else None, resume=resume, comm=comm, **kwargs)


def check_writable(path: Path, what: str) -> None:
    """Refuse, before any work, a file that could not be written at the end.

    Probes by creating (and removing) a temporary file in the directory:
    permission bits alone do not tell (root, read-only mounts).
    """
    directory = path.parent
    if path.is_dir():
        raise _input_error(f"{what} path {str(path)!r} is a directory")
    if not directory.exists():
        raise _input_error(f"{what} directory {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise _input_error(f"{what} directory {str(directory)!r} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=directory)
    except OSError as exc:
        raise _input_error(f"{what} directory {str(directory)!r} is not writable: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)
    if path.exists() and not os.access(path, os.W_OK):
        raise _input_error(f"{what} file {str(path)!r} exists and is not writable")


def _input_error(message: str):
    from ..errors import InputError

    return InputError(message)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show warnings as ``warning: ...`` lines, not source excerpts."""
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)
