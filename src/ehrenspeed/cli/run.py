"""``ehrenspeed run CONFIG [-o OUT.nc] [--resume]``: one run described by a file.

The command only turns files into library calls: :func:`ehrenspeed.config.load_config`
validates the TOML file (or the configuration stored in a result file), then
:func:`ehrenspeed.run` or :func:`ehrenspeed.grid.run_exact` runs it, and
:func:`ehrenspeed.results.save` writes the result atomically. Every check
that can fail on bad input (the file, every key, the model, the output and
checkpoint paths, the result writer itself) happens before the first step,
so a mistake costs seconds, not the hours of the run. While it runs, the
output and the checkpoint are locked against a second run, SIGTERM and
Ctrl-C stop it at a step boundary with a checkpoint, and a full disk at the
end leaves the result somewhere it can be found.
"""

from __future__ import annotations

import contextlib
import os
import shlex
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
@click.option("--fresh", is_flag=True,
              help="Start from the beginning although a checkpoint of an earlier run exists (it is replaced).")
@click.option("--trust-model", metavar="MODULE:ATTR",
              help="Re-running a result file whose model is the user's python_model: import this module "
                   "(it must match the stored one). Without it, a result file never runs code.")
@click.option("--progress/--no-progress", default=None,
              help="Progress: a bar on a terminal, a log line a minute otherwise [default: on].")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary line.")
def command(config: Path, output: Path | None, resume: bool, fresh: bool, trust_model: str | None,
            progress: bool | None, quiet: bool) -> None:
    """Run the simulation described by CONFIG (a TOML file, or a result file to re-run)."""
    from ..config import load_config
    from ..parallel import launcher_ranks, mpi_world
    from ..results import check_writer

    # every check on the input runs before MPI starts: all ranks find the same
    # problem, and rank 0 alone reports it (cli.main)
    if resume and fresh:
        raise _input_error("--resume and --fresh contradict each other: choose one")
    check_writer()  # a broken netCDF stack must cost seconds, not the run
    cfg = trusted(load_config(config), trust_model)
    exact = cfg.method.name == "exact"
    one_process = exact or cfg.method.name == "tged"  # a grid, or one Gaussian: nothing to share
    if one_process and launcher_ranks()[1] > 1:
        raise _input_error(f"{cfg.source}: method {cfg.method.name!r} runs in one process; start it without "
                           "mpiexec")
    out, checkpoint = output_paths(cfg, config, output, exact)
    # under mpiexec the trajectories are shared among the ranks; rank 0 alone
    # gets the result and writes the file
    comm = None if one_process else mpi_world()
    root = comm is None or comm.Get_rank() == 0
    with _locks(out, checkpoint, root):
        _check_resume(cfg, checkpoint, resume, fresh)
        prepared = cfg.build()
        show = (not quiet) if progress is None else progress
        from .. import interrupt
        from ..errors import RunInterrupted

        try:
            with warnings.catch_warnings(), interrupt.stop_on_signals(immediate=checkpoint is None):
                warnings.simplefilter("always")
                warnings.showwarning = one_line_warning
                result = _execute(cfg, prepared, checkpoint, resume, show, comm)
        except RunInterrupted as stop:
            if comm is not None:
                comm.Barrier()  # rank 0 has written the checkpoint before any rank leaves
            raise click.exceptions.Exit(_report_interrupt(stop, config, output, root)) from None
        if result is None:  # an MPI rank other than 0
            return
        result.attrs["config"] = cfg.to_json()
        _save_result(result, out, checkpoint)
    if checkpoint is not None and checkpoint.is_file():
        # the result is safely on disk: the restart point is no longer needed
        checkpoint.unlink()
    if not quiet:
        count = result.attrs.get("n_traj")
        n_traj = "" if count is None else f", {count} trajector{'y' if count == 1 else 'ies'}"
        click.echo(f"wrote {out} ({cfg.method.name}{n_traj}, {result.sizes['time']} output times, "
                   f"{float(result.attrs.get('wall_time_s', 0.0)):.3g} s)", err=True)


def trusted(cfg, trust_model: str | None):
    """Allow a result file's ``python_model`` only when the user names it on the command line.

    A result file is data: re-running it must not import a module because
    the file says so (a ``python_model = "os:system"`` in a downloaded
    result would otherwise run code). A TOML configuration the user wrote
    is their own code, like a script, and needs no flag.
    """
    from dataclasses import replace

    stored = cfg.model.python_model
    if trust_model is not None and not (cfg.from_result and stored is not None):
        raise _input_error(f"{cfg.source}: --trust-model applies only to re-running a result file whose "
                           "model is a python_model")
    if not cfg.from_result or stored is None:
        return cfg
    if trust_model is None:
        raise _input_error(f"{cfg.source}: key 'model.python_model' = {stored!r} would import and run a "
                           "Python module named by a data file; if you trust it, pass "
                           f"--trust-model {shlex.quote(stored)}")
    if trust_model.strip() != stored:
        raise _input_error(f"--trust-model {trust_model!r} does not match the result's model {stored!r} "
                           "(key 'model.python_model')")
    return replace(cfg, trusted_model=True)


def output_paths(cfg, config: Path, output: Path | None, exact: bool) -> tuple[Path, Path | None]:
    """The result and checkpoint files, checked so that writing them destroys nothing.

    The result may not be the configuration, the checkpoint, or anything
    that is not a regular file (``/dev/null`` would be replaced through the
    rename); the checkpoint may not be the configuration either.
    """
    from ..files import check_output

    if output is not None and (not str(output).strip() or not output.name or output.name in (".", "..")):
        raise _input_error(f"-o {str(output)!r} names no file; give the result file's path")
    # exact grid dynamics and one thawed Gaussian keep no checkpoints
    checkpoint = None if exact or cfg.method.name == "tged" else cfg.checkpoint_path(output)
    out = check_output(cfg.output_path(output), "output",
                       protected=[(config, "the configuration being run"),
                                  (checkpoint, "the run's checkpoint ([output] checkpoint)")])
    if checkpoint is not None:
        checkpoint = check_output(checkpoint, "checkpoint",
                                  protected=[(config, "the configuration being run"),
                                             (out, "the run's result file")])
    return out, checkpoint


@contextlib.contextmanager
def _locks(out: Path, checkpoint: Path | None, root: bool):
    """Hold the output's and the checkpoint's locks; clear stale temporaries under them."""
    from ..files import FileLock, remove_stale_temporaries

    if not root:  # rank 0 writes every file of an MPI run
        yield
        return
    with contextlib.ExitStack() as stack:
        for path, what in ((out, "output"), (checkpoint, "checkpoint")):
            if path is not None:
                stack.enter_context(FileLock(path, what))
                # no other run holds the lock: its temporaries are leftovers of a killed write
                remove_stale_temporaries(path)
        yield


def _check_resume(cfg, checkpoint: Path | None, resume: bool, fresh: bool) -> None:
    if resume:
        if checkpoint is None:
            raise _input_error(f"{cfg.source}: --resume needs checkpoints, which method "
                               f"{cfg.method.name!r} does not write")
        if not checkpoint.is_file():
            raise _input_error(f"no checkpoint {str(checkpoint)!r} to resume from; run without --resume "
                               "to start from the beginning")
    elif checkpoint is not None and checkpoint.is_file() and not fresh:
        raise _input_error(f"a checkpoint of an earlier, unfinished run exists: {str(checkpoint)!r}; "
                           "continue it with --resume, or start afresh with --fresh (it will be replaced)")


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

    # the checkpoint path is always given: SIGTERM/Ctrl-C save the state there
    # even when no periodic checkpoints were asked for
    return run(prepared.model, prepared.wavepacket, prepared.method, progress=show_progress,
               checkpoint_every=cfg.run.checkpoint_every, checkpoint_path=checkpoint, resume=resume,
               comm=comm, **kwargs)


def _save_result(result, out: Path, checkpoint: Path | None) -> None:
    """Write the result; when the file system refuses, put it where it can be found."""
    from ..errors import OutputError
    from ..results import save

    try:
        save(result, out)
        return
    except OutputError as exc:
        failure = exc
    rescue = _rescue(result, out)
    kept = f"; the run's checkpoint is kept in {str(checkpoint)!r}" if (
        checkpoint is not None and checkpoint.is_file()) else ""
    if rescue is not None:
        raise OutputError(f"{failure}; the result was written to {str(rescue)!r} instead{kept}", failure.errno)
    raise OutputError(f"{failure}; no other place took the result either{kept}", failure.errno)


def rescue_directories() -> list[Path]:
    """Where a result goes when its own file system refuses it (first that takes it)."""
    places = [os.environ.get("EHRENSPEED_RESCUE_DIR"), tempfile.gettempdir(), os.path.expanduser("~")]
    return [Path(p) for p in places if p]


def _rescue(result, out: Path) -> Path | None:
    from ..errors import OutputError
    from ..results import save

    for directory in rescue_directories():
        target = directory / f"ehrenspeed-rescued-{os.getpid()}-{out.name}"
        try:
            if directory.is_dir() and not _same_directory(directory, out.parent):
                return save(result, target)
        except (OutputError, OSError):
            continue
    return None


def _same_directory(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b or Path("."))
    except OSError:
        return False


def _report_interrupt(stop, config: Path, output: Path | None, root: bool) -> int:
    """Say where the run stopped and how to go on; the exit status of the signal."""
    from .. import interrupt

    if root:
        if stop.checkpoint is None:
            click.echo(f"error: {stop}; rerun to start again", err=True)
        else:
            again = ["ehrenspeed", "run", str(config)] + (["-o", str(output)] if output is not None else [])
            click.echo(f"{stop}\ncontinue with: {shlex.join(again + ['--resume'])}", err=True)
    return interrupt.exit_status(stop.signal_number)


def _input_error(message: str):
    from ..errors import InputError

    return InputError(message)


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show warnings as ``warning: ...`` lines, not source excerpts."""
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)
