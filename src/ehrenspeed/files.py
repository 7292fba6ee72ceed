"""Writing files safely: atomic replacement, output checks, locks, stale temporaries.

Every file ehrenspeed writes (results, checkpoints, figures, summaries) goes
through :func:`atomic_write`: the bytes go to a temporary file in the target
directory, which is flushed to disk and then renamed over the target
(``os.replace`` is atomic on POSIX). A run killed at any moment therefore
leaves either the old file or the new one under the requested name, never a
half-written one. The temporary names follow one pattern
(``.<name>.<8 random characters>.ehrenspeed-tmp``) so that a later run can
recognise, and remove, the leftovers of a killed write of the same file and
nothing else (:func:`remove_stale_temporaries`).

New files get the permissions the user's umask asks for (0644 with the usual
umask 022), like any other tool, so that a group on a cluster can read the
results; :func:`tempfile.mkstemp` alone would make them 0600.

:func:`check_output` refuses, before any computation, an output that would
destroy something: the run's own input, its checkpoint, a device such as
``/dev/null`` or a directory. :class:`FileLock` stops two runs from writing
the same output or checkpoint at once (an advisory ``flock`` on a small
``.<name>.lock`` file beside it, released by the kernel when the process
dies, so a killed run never leaves a stale lock).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, OutputError

#: Suffix of every temporary file ehrenspeed writes; nothing else ends so.
TEMP_SUFFIX = ".ehrenspeed-tmp"

#: Characters of :func:`tempfile.mkstemp`'s random part (8 of them).
_RANDOM = "[a-z0-9_]{8}"

#: Longest part of the target's name kept in a temporary name: the
#: temporary name must stay within the file system's 255-byte limit even
#: when the target's name is close to it.
_NAME_PART = 200


def current_umask() -> int:
    """The process's file-creation mask (read without changing it where possible)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    # elsewhere the only portable way is to set it and put it back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _short_name(path: Path) -> str:
    """The target's name, or for a very long one its start and a digest (unique, and short enough)."""
    name = path.name
    if len(os.fsencode(name)) <= _NAME_PART:
        return name
    import hashlib

    return f"{name[:_NAME_PART - 20]}~{hashlib.sha256(os.fsencode(name)).hexdigest()[:12]}"


def _temp_prefix(path: Path) -> str:
    return f".{_short_name(path)}."


def describe_os_error(exc: OSError) -> str:
    """A short lower-case reason for an OSError ("no space left on device")."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None], what: str = "file") -> Path:
    """Write a file all at once: temporary file, flush to disk, rename over ``path``.

    Parameters
    ----------
    path : path-like
        Target file; its directory must exist.
    write : callable
        ``write(handle)`` writes the content to a binary file handle.
    what : str
        What the file is ("result", "checkpoint", "figure"), for messages.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        The file system refused (no space, quota, permissions, read-only,
        name too long); the message names the file and the reason, and
        neither ``path`` nor a temporary file is left changed or behind.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {str(path)!r}: {describe_os_error(exc)}", exc.errno) from None
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            # the rename must not overtake the data on a crash of the machine
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{describe_os_error(exc)} writing {what} {str(path)!r}", exc.errno) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(directory)
    return path


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes | memoryview, what: str = "file") -> Path:
    """:func:`atomic_write` of a byte string."""
    return atomic_write(path, lambda handle: handle.write(data), what)


def check_output(path: str | os.PathLike, what: str = "output",
                 protected: Iterable[tuple[str | os.PathLike | None, str]] = ()) -> Path:
    """Check, before any work, that ``path`` can be written without destroying anything.

    Parameters
    ----------
    path : path-like
        The file to be written (a new path or an existing regular file).
    what : str
        Its role, for messages ("output", "checkpoint", "figure").
    protected : iterable of (path, description)
        Files that must not be overwritten by this output (the run's
        configuration, its checkpoint, ...); None entries are skipped.

    Returns
    -------
    Path
        The path to write: a symbolic link to a regular file is followed,
        so the link stays and its target is replaced.

    Raises
    ------
    InputError
        The path is a directory, a device, a FIFO or socket, one of the
        protected files, its name is too long, or its directory is
        missing or not writable.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise InputError(f"{what} path {str(path)!r} names a directory, not a file")
    if len(os.fsencode(path.name)) > 255:
        raise InputError(f"{what} file name is too long ({len(os.fsencode(path.name))} bytes; "
                         f"the limit is 255): {str(path)[:60]}...")
    if path.exists() or path.is_symlink():
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise InputError(f"{what} path {str(path)!r}: {describe_os_error(exc)}") from None
        if stat.S_ISDIR(mode):
            raise InputError(f"{what} path {str(path)!r} is a directory")
        if not stat.S_ISREG(mode):
            raise InputError(f"{what} path {str(path)!r} exists and is not a regular file "
                             "(a device, FIFO or socket); ehrenspeed writes results only to files")
        path = Path(os.path.realpath(path))
    for other, description in protected:
        if other is not None and _same_file(path, Path(other)):
            raise InputError(f"{what} path {str(path)!r} is {description}; choose another {what} path")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.exists():
        raise InputError(f"{what} directory {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise InputError(f"{what} directory {str(directory)!r} is not a directory")
    _probe_directory(directory, path, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} file {str(path)!r} exists and is not writable")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _probe_directory(directory: Path, path: Path, what: str) -> None:
    """Create and remove a temporary file: permission bits alone do not tell (root, read-only mounts)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise InputError(f"{what} directory {str(directory)!r} is not writable: "
                         f"{describe_os_error(exc)}") from None
    os.close(fd)
    os.unlink(probe)


def stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Leftover temporary files of earlier, killed writes of ``path``.

    Only names of ehrenspeed's own pattern for exactly this target match
    (this version's and the ``.tmp`` suffix of earlier versions).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    stem = re.escape(_temp_prefix(path))
    pattern = re.compile(f"{stem}{_RANDOM}({re.escape(TEMP_SUFFIX)}|\\.tmp)")
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [directory / name for name in names if pattern.fullmatch(name)]


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove :func:`stale_temporaries` of ``path``; call it only while holding its :class:`FileLock`.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for leftover in stale_temporaries(path):
        try:
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink()
                removed.append(leftover)
        except OSError:
            pass  # someone else's problem to report; never fail a run over a leftover
    return removed


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file that guards ``path``."""
    path = Path(path)
    return path.with_name(f".{_short_name(path)}.lock")


class FileLock:
    """An exclusive advisory lock on a file that is about to be written.

    The lock is an ``flock`` on ``.<name>.lock`` beside the file, holding the
    owner's process id for the message another run gets. The kernel drops
    the lock when the process ends, however it ends.

    Parameters
    ----------
    path : path-like
        The guarded file (output or checkpoint).
    what : str
        Its role, for messages.

    Raises
    ------
    InputError
        On entry, when another process holds the lock.
    """

    def __init__(self, path: str | os.PathLike, what: str = "output"):
        self.path = Path(path)
        self.what = what
        self.lock_file = lock_path(self.path)
        self._fd: int | None = None

    def acquire(self) -> "FileLock":
        # a lock file unlinked by its previous owner between our open and our
        # flock would be locked in vain: retry until the locked inode is the
        # one the name points at
        while True:
            try:
                fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
            except OSError as exc:
                raise InputError(f"cannot lock {self.what} {str(self.path)!r}: {describe_os_error(exc)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                owner = _read_owner(fd)
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise InputError(f"{self.what} {str(self.path)!r} is in use by another ehrenspeed run"
                                     f"{owner}; wait for it to finish or choose another {self.what} path") from None
                raise InputError(f"cannot lock {self.what} {str(self.path)!r}: {describe_os_error(exc)}") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_file).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:  # the owner's pid is only for messages: a full disk must not stop the run here
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        # unlink while still holding the lock, so no one can take a lock on
        # the old inode after we let go of it
        try:
            os.unlink(self.lock_file)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


def _read_owner(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""
