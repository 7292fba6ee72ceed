"""Stopping a run cleanly on SIGTERM (a batch system's time limit) or SIGINT (Ctrl-C).

Inside :func:`stop_on_signals` the first SIGTERM or SIGINT only sets a flag.
The trajectory driver looks at it after every step, where the state is
consistent, writes a checkpoint and raises
:class:`~ehrenspeed.errors.RunInterrupted`, which the command line turns
into a message saying how to continue. A second Ctrl-C stops at once,
without a checkpoint, for a user who does not want to wait for a slow step.

SLURM sends SIGTERM at the time limit and SIGKILL a grace period later
(``KillWait``, 30 s by default), so the step in progress must finish within
it: for long on-the-fly steps, ask SLURM for an earlier signal
(``#SBATCH --signal=TERM@120``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

#: the signal received, or None
_received: int | None = None
#: depth of active stop_on_signals contexts
_active = 0


def _deferred(signum, frame) -> None:
    global _received
    if _received is not None and signum == signal.SIGINT:
        raise KeyboardInterrupt  # second Ctrl-C: the user will not wait
    _received = signum
    from .parallel import launcher_ranks

    if launcher_ranks()[0] != 0:  # under mpiexec every rank gets the signal: one says so
        return
    name = signal.Signals(signum).name
    sys.stderr.write(f"\n{name} received: stopping after the current step "
                     "(Ctrl-C again to stop at once, without a checkpoint)\n")
    sys.stderr.flush()


def _immediate(signum, frame) -> None:
    from .errors import RunInterrupted

    name = signal.Signals(signum).name
    raise RunInterrupted(f"interrupted by {name}; this method keeps no checkpoint", signum, 0, float("nan"), None)


@contextlib.contextmanager
def stop_on_signals(immediate: bool = False):
    """Turn SIGTERM and SIGINT into a clean stop.

    Parameters
    ----------
    immediate : bool
        False: defer the stop to the driver's next step boundary (it saves
        a checkpoint). True: raise :class:`~ehrenspeed.errors.RunInterrupted`
        at once (for computations that keep no state to save).

    A no-op outside the main thread (signal handlers can only be installed
    there).
    """
    global _received, _active
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _immediate if immediate else _deferred
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    _active += 0 if immediate else 1
    _received = None
    try:
        yield
    finally:
        _active -= 0 if immediate else 1
        for sig, old in previous.items():
            signal.signal(sig, old)
        if not _active:
            _received = None


def active() -> bool:
    """True inside :func:`stop_on_signals`: the driver should look at :func:`received`."""
    return _active > 0


def received() -> int | None:
    """The signal number received since :func:`stop_on_signals` was entered, or None."""
    return _received


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + int(signum)
