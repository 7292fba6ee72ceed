"""Strong scaling over MPI ranks: run as ``mpiexec -n K python benchmarks/mpi_scaling.py``.

Two workloads where one machine's cores are the bottleneck (docs/hpc.md):

* an Ehrenfest ensemble on an *expensive* potential: every single point is
  a dense 2-state diabatic matrix computed after an O(n^3) "electronic
  structure" stand-in (a symmetric eigenproblem of size ``--cost``), so the
  run time is the number of single points times their cost;
* SPEED on the same potential with finite-difference derivatives: per step
  one gradient and one Hessian at the mean (2D^2 + 1 displaced single
  points), dealt over the ranks by :class:`ehrenspeed.parallel.MPIExecutor`.

Rank 0 prints the wall times and checks that the result equals the
one-process result bit for bit (``--check`` reruns it serially on rank 0).
Compare the printed times of ``-n 1`` and ``-n 2``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.models.expensive import from_single_point
from ehrenspeed.parallel import MPIExecutor


class StandIn:
    """A smooth 2-state diabatic matrix that costs one dense eigh of size ``cost``."""

    def __init__(self, n_dof: int, cost: int):
        rng = np.random.default_rng(0)
        self.n_dof = n_dof
        base = rng.normal(size=(cost, cost))
        self.base = base + base.T
        self.k = rng.uniform(0.5, 1.5, n_dof)

    def __call__(self, q):
        # the "electronic structure": its cost, not its value, is the point
        e = np.linalg.eigvalsh(self.base + np.sum(q) * np.eye(len(self.base)))
        shift = 1e-12 * e[0]
        x = q
        v11 = 0.5 * np.sum(self.k * x**2) + 0.01 * np.tanh(x[0]) + shift
        v22 = 0.5 * np.sum(self.k * (x - 0.5) ** 2) + 0.005
        v12 = 0.002 * np.exp(-np.sum(x**2))
        return np.array([[v11, v12], [v12, v22]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-traj", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--dof", type=int, default=6)
    parser.add_argument("--cost", type=int, default=120, help="size of the stand-in eigenproblem")
    parser.add_argument("--check", action="store_true", help="compare with a serial run on rank 0")
    args = parser.parse_args()

    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    fn = StandIn(args.dof, args.cost)
    rows = []
    for method, executor in (("ehrenfest", "serial"), ("speed", MPIExecutor())):
        model = from_single_point(fn, 2, args.dof, 2000.0, executor=executor, name="stand_in")
        wp = es.Wavepacket(np.zeros(args.dof), np.zeros(args.dof), np.full(args.dof, 20.0), 0)
        comm.Barrier()
        start = time.perf_counter()
        res = es.run(model, wp, method, n_traj=args.n_traj, dt=20.0, t_final=20.0 * args.steps,
                     output_every=args.steps, seed=1, comm=comm, validate=False)
        comm.Barrier()
        wall = time.perf_counter() - start
        if comm.Get_rank() == 0:
            identical = ""
            if args.check:
                serial_model = from_single_point(fn, 2, args.dof, 2000.0, executor="serial")
                ref = es.run(serial_model, wp, method, n_traj=args.n_traj, dt=20.0,
                             t_final=20.0 * args.steps, output_every=args.steps, seed=1, validate=False)
                identical = str(all(np.array_equal(res[v].values, ref[v].values) for v in res.data_vars))
            rows.append((method, comm.Get_size(), wall, res.attrs["electronic_structure_calls"], identical))
    if comm.Get_rank() == 0:
        print(f"N = {args.n_traj}, D = {args.dof}, {args.steps} steps, stand-in eigh of size {args.cost}")
        print(f"{'method':10s} {'ranks':>5s} {'wall / s':>9s} {'single points':>14s} {'= serial':>9s}")
        for method, size, wall, calls, same in rows:
            print(f"{method:10s} {size:5d} {wall:9.2f} {calls:14d} {same:>9s}")


if __name__ == "__main__":
    main()
