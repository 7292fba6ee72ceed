"""Exceptions raised by ehrenspeed.

Every problem the package detects in what the user gave it is raised as a
subclass of :class:`EhrenspeedError`, so scripts and the command line can
catch one class and print its one-line message.
"""


class EhrenspeedError(Exception):
    """Base class of every error ehrenspeed raises on purpose."""


class InputError(EhrenspeedError, ValueError):
    """An argument, a configuration value or a file is invalid."""


class ModelError(EhrenspeedError, ValueError):
    """A model returned something unusable (wrong shape, NaN, not Hermitian)."""


class SimulationError(EhrenspeedError, RuntimeError):
    """The dynamics became invalid during a run (NaN/Inf, lost norm)."""


class OutputError(EhrenspeedError, OSError):
    """A file could not be written (no space, quota, permissions).

    ``errno`` is the operating system's error number, so callers can tell a
    full disk (``errno.ENOSPC``) from the rest.
    """

    def __init__(self, message: str, errno_: int | None = None):
        super().__init__(message)
        self.errno = errno_
        self.strerror = message

    def __str__(self) -> str:
        return self.strerror


class RunInterrupted(EhrenspeedError):
    """A run stopped on SIGTERM or SIGINT after saving its state.

    Attributes
    ----------
    signal_number : int
        The signal that stopped it (``signal.SIGTERM`` or ``signal.SIGINT``).
    step : int
        Steps taken.
    time : float
        Time reached, a.u.
    checkpoint : str or None
        Where the state was saved (None when it could not be).
    """

    def __init__(self, message: str, signal_number: int, step: int, time: float, checkpoint: str | None):
        super().__init__(message)
        self.signal_number = signal_number
        self.step = step
        self.time = time
        self.checkpoint = checkpoint
