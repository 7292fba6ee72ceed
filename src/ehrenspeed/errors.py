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
