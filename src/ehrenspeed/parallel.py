"""Distributing a trajectory ensemble over MPI ranks (mpi4py), or not at all.

The ensemble's N trajectories are split into contiguous blocks, one per
rank, in rank order. Everything that couples trajectories is done on the
*gathered* rows, in the global trajectory order, so a run on K ranks gives
the same numbers as a run on one process, bit for bit:

* SPEED's ensemble mean qbar: the positions are all-gathered (O(N D) numbers
  per substep, small next to a potential evaluation) and every rank takes
  the same ``mean`` of the same array;
* observables: per-trajectory values are gathered on rank 0, which reduces
  them exactly as the serial code does;
* initial conditions: every rank draws the whole sample from the seed and
  keeps its block, so the draw does not depend on the number of ranks.

A failure on one rank (an exception in a user potential) must not leave the
others waiting in a collective call forever: :meth:`Communicator.agree`
turns a local exception into the same exception on every rank.

The serial case uses :class:`SerialComm`, whose collectives are identities,
so the driver has one code path.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable

import numpy as np

from .errors import EhrenspeedError, SimulationError


class SerialComm:
    """The trivial communicator of a one-process run."""

    rank = 0
    size = 1
    is_root = True

    def allgather_rows(self, local: np.ndarray) -> np.ndarray:
        """All ranks' rows, concatenated in rank order (here: ``local``)."""
        return local

    def gather_rows(self, local: np.ndarray) -> np.ndarray | None:
        """All ranks' rows on rank 0, None elsewhere (here: ``local``)."""
        return local

    def bcast(self, obj: Any) -> Any:
        return obj

    def agree(self, error: BaseException | None) -> None:
        """Re-raise ``error`` (collective in the MPI version)."""
        if error is not None:
            raise error

    def barrier(self) -> None:
        pass

    def sum_counts(self, counts: dict[str, int]) -> dict[str, int]:
        """Element-wise sum of integer counters over all ranks."""
        return dict(counts)

    def first_flag(self, value: Any) -> Any:
        """The first non-None of the ranks' values (rank order), the same on every rank."""
        return value


class MPIComm(SerialComm):
    """An mpi4py communicator seen through the few collectives the driver needs."""

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.is_root = self.rank == 0

    def allgather_rows(self, local):
        return np.concatenate(self.comm.allgather(np.ascontiguousarray(local)), axis=0)

    def gather_rows(self, local):
        parts = self.comm.gather(np.ascontiguousarray(local), root=0)
        return np.concatenate(parts, axis=0) if self.is_root else None

    def bcast(self, obj):
        return self.comm.bcast(obj, root=0)

    def agree(self, error):
        """Every rank learns whether any rank failed; all raise the first failure.

        The message (and the exception's class, if it is one of ours) of the
        lowest failing rank is raised everywhere, so the whole run ends with
        that message instead of hanging. The raised exception has
        ``agreed = True``: every rank has it, so one rank may report it.
        """
        report = None if error is None else (type(error).__name__, str(error), self.rank)
        reports = [r for r in self.comm.allgather(report) if r is not None]
        if not reports:
            return
        if error is not None and reports[0][2] == self.rank:
            error.agreed = True
            raise error
        name, message, rank = reports[0]
        cls = _ERROR_CLASSES.get(name, SimulationError)
        shared = cls(f"rank {rank}: {message}")
        # every rank raises it: rank 0 alone need report it (see reports_error)
        shared.agreed = True
        raise shared

    def barrier(self):
        self.comm.Barrier()

    def sum_counts(self, counts):
        every = self.comm.allgather(dict(counts))
        return {key: int(sum(c[key] for c in every)) for key in counts}

    def first_flag(self, value):
        return next((v for v in self.comm.allgather(value) if v is not None), None)


def _error_classes() -> dict[str, type]:
    from . import errors
    return {name: getattr(errors, name) for name in dir(errors)
            if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), EhrenspeedError)}


_ERROR_CLASSES = _error_classes()


def as_comm(comm=None) -> SerialComm:
    """Wrap an mpi4py communicator (or None for a serial run)."""
    if comm is None or isinstance(comm, SerialComm):
        return comm or SerialComm()
    if comm.Get_size() == 1:
        return SerialComm()
    return MPIComm(comm)


#: environment variables set by the usual MPI launchers (MPICH/hydra, Open MPI, PMIx)
_LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def mpi_world():
    """``MPI.COMM_WORLD`` when started by an MPI launcher with several ranks, else None.

    mpi4py is imported only under a launcher, so a plain run never
    initialises MPI.
    """
    import os

    if not any(name in os.environ for name in _LAUNCHER_VARIABLES):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise EhrenspeedError("started under an MPI launcher but mpi4py is not installed; "
                              "pip install 'ehrenspeed[mpi]'") from None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


#: (rank, size) variables of the launchers, read without starting MPI
_RANK_VARIABLES = (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                   ("MPI_LOCALRANKID", "MPI_LOCALNRANKS"))


def launcher_ranks() -> tuple[int, int]:
    """This process's rank and the number of ranks its MPI launcher started.

    Read from the launcher's environment variables, so MPI is not
    initialised: a command that refuses to run distributed can say so on
    rank 0 alone and end every rank without ``MPI_Abort``. Falls back to
    :func:`mpi_world` under a launcher whose variables give no size
    (PMIx alone).

    Returns
    -------
    (int, int)
        ``(0, 1)`` outside a launcher.
    """
    import os

    for rank_name, size_name in _RANK_VARIABLES:
        rank, size = os.environ.get(rank_name), os.environ.get(size_name)
        if rank is not None and size is not None:
            try:
                return int(rank), int(size)
            except ValueError:  # pragma: no cover - a launcher's malformed variable
                continue
    comm = mpi_world()
    return (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())


def reports_error(exc: BaseException) -> bool:
    """Whether this process should print ``exc``: one error line per job, not one per rank.

    Rank 0 always reports. Another rank of a launcher's job stays silent
    when rank 0 has the same error: before MPI starts (every rank ran the
    same input checks on the same files) and for errors the ranks agreed
    on (:meth:`MPIComm.agree`, ``exc.agreed``). An error that escaped on
    this rank alone, after MPI started, is reported here, since rank 0
    does not know it. A silent rank should also leave ending the job
    (``abort_world``) to rank 0, so that its ``MPI_Abort`` does not cut
    rank 0's message off.

    Parameters
    ----------
    exc : BaseException
        The error that ended the command on this rank.
    """
    rank, size = launcher_ranks()
    if size <= 1 or rank == 0:
        return True
    return not (getattr(exc, "agreed", False) or not is_distributed())


def is_distributed() -> bool:
    """True inside an initialised MPI run of several ranks."""
    import sys

    mpi = sys.modules.get("mpi4py.MPI")
    return bool(mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized()
                and mpi.COMM_WORLD.Get_size() > 1)


def abort_world(code: int) -> None:
    """End every rank of an MPI run now (no-op outside MPI).

    Called by the command line after an error escaped on this rank: the
    other ranks may be waiting in a collective call and would never return.
    """
    import sys

    if is_distributed():
        sys.stdout.flush()
        sys.stderr.flush()
        sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(code)


def block(n: int, rank: int, size: int) -> slice:
    """Contiguous block of ``n`` items owned by ``rank`` of ``size`` (sizes differ by <= 1)."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


# -- distributing the single points of one collective evaluation --------------

_collective: list[SerialComm] = []


@contextlib.contextmanager
def collective(comm: SerialComm):
    """Mark a section that every rank enters with the same arguments.

    Inside it, an :class:`MPIExecutor` spreads the items of a ``map`` over
    the ranks (SPEED's one evaluation at the mean and its finite-difference
    displacements); outside it, each rank maps its own items alone (an
    Ehrenfest shard's trajectories differ from rank to rank).
    """
    _collective.append(comm)
    try:
        yield
    finally:
        _collective.pop()


class MPIExecutor:
    """An ordered ``map`` whose items are dealt round-robin over the MPI ranks.

    Plug it into an on-the-fly model (``from_single_point(..., executor=MPIExecutor())``):
    within a :func:`collective` section (SPEED's evaluation at the ensemble
    mean) rank r computes items r, r + K, r + 2K, ... and all ranks receive
    all results in the original order; elsewhere it maps serially. The
    results do not depend on the number of ranks.
    """

    def map(self, fn: Callable, iterable: Iterable, chunksize: int = 1):
        items = list(iterable)
        comm = _collective[-1] if _collective else None
        if comm is None or comm.size == 1:
            return [fn(item) for item in items]
        mine, error = {}, None
        try:
            for index in range(comm.rank, len(items), comm.size):
                mine[index] = fn(items[index])
        except Exception as exc:  # every rank must reach the exchange below
            error = exc
        comm.agree(error)
        merged: dict[int, Any] = {}
        for part in comm.comm.allgather(mine):
            merged.update(part)
        return [merged[i] for i in range(len(items))]

    def shutdown(self, wait: bool = True) -> None:
        pass
