"""The ``ehrenspeed`` command: a click group that imports each subcommand lazily.

Every subcommand lives in its own module (``ehrenspeed.cli.<name>``) and
exposes a click command called ``command``. Errors the package raises on
purpose (:class:`ehrenspeed.errors.EhrenspeedError`) end the program with a
one-line message and exit status 2; ``--traceback`` shows the full trace.
"""

from __future__ import annotations

import importlib
import sys

import click

#: subcommand name -> module under ehrenspeed.cli
SUBCOMMANDS = {
    "run": "run",
    "models": "models",
    "plot": "plot",
    "reproduce": "reproduce",
}


class LazyGroup(click.Group):
    """Load a subcommand's module only when it is used (fast start-up)."""

    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module = importlib.import_module(f"ehrenspeed.cli.{SUBCOMMANDS[name]}")
        return module.command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--traceback", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="ehrenspeed")
@click.pass_context
def cli(ctx, traceback):
    """Ehrenfest, SPEED and exact quantum dynamics on diabatic models."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    # --traceback is a global flag, but users put it anywhere (after the
    # subcommand too): take it out wherever it stands
    show_traceback = "--traceback" in args
    if show_traceback:
        args = [a for a in args if a != "--traceback"]
        args.insert(0, "--traceback")
    try:
        status = _dispatch(args, show_traceback)
    except BaseException:
        from ..parallel import abort_world, is_distributed

        if is_distributed():
            import traceback

            traceback.print_exc()
            abort_world(1)
        raise
    # 128 + signal: every rank stopped at the same step after the checkpoint
    # was written (a collective step), so none is left waiting; an MPI_Abort
    # from here could kill rank 0 before it has said where the state went
    if status not in (0, None) and status < 128 and not _left_to_rank_0:
        from ..parallel import abort_world

        abort_world(status)  # under mpiexec: do not leave the other ranks waiting
    return status


#: set when this rank left its error to rank 0, which prints it and ends the
#: job; an MPI_Abort from here could cut rank 0's message off
_left_to_rank_0: list[BaseException] = []


def _dispatch(args, show_traceback: bool) -> int:
    from ..errors import EhrenspeedError

    try:
        # without standalone mode click returns (not raises) a command's Exit code
        status = cli.main(args=args, prog_name="ehrenspeed", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        if _reports(exc):
            click.echo(f"error: {_one_line(exc.format_message())}{_usage_hint(exc)}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except EhrenspeedError as exc:
        if show_traceback:
            raise
        if _reports(exc):
            _error_line(_one_line(exc))
        return 2
    except KeyboardInterrupt:
        click.echo("error: interrupted (no checkpoint written)", err=True)
        return 130
    return status if isinstance(status, int) else 0


#: Seconds a rank other than 0 waits before printing an error that rank 0
#: may share (one found after MPI started, on every rank alike): rank 0
#: prints its line and ends the job (MPI_Abort) within this time, so the user
#: sees one line, not one per rank. An error of this rank alone still shows.
MPI_ERROR_GRACE = 3.0


def _reports(exc: BaseException) -> bool:
    """Whether this rank prints ``exc`` (always outside MPI; see parallel.reports_error)."""
    from ..parallel import reports_error

    if reports_error(exc):
        return True
    _left_to_rank_0.append(exc)
    return False


def _error_line(message: str) -> None:
    from ..parallel import launcher_ranks

    rank, size = launcher_ranks()
    if size > 1 and rank != 0:
        import time

        time.sleep(MPI_ERROR_GRACE)
        message = f"rank {rank}: {message}"
    click.echo(f"error: {message}", err=True)


def _usage_hint(exc: click.ClickException) -> str:
    """Where to look after a usage error ("see 'ehrenspeed run --help'")."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return ""
    return f" (see '{ctx.command_path} --help')"


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
