"""Multi-centre SPEED under ``mpiexec -n K``: results and a resumed run written by rank 0.

Usage: python multicentre_ranks.py OUTDIR

For each case writes ``OUTDIR/CASE.nc`` (an uninterrupted run) and
``OUTDIR/CASE-resumed.nc`` (checkpointed at step 17, mid-interval, and
resumed on the same ranks). The grouping is computed from the gathered
rows, so both must equal a one-process run bit for bit.
"""

import sys

from mpi4py import MPI

import ehrenspeed as es
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.results import save

out = sys.argv[1]
comm = MPI.COMM_WORLD

# splits (after the checkpoint at step 17) and regroups: every part of the grouping state
CASES = {"adaptive-regroup": es.SPEED(centres="adaptive", max_centres=5, adaptive_tol=2.2e-5, regroup_every=10)}
KWARGS = dict(n_traj=15, dt=4.0, t_final=160.0, output_every=6, seed=7, save_trajectories=True)


class Stop(Exception):
    pass


model = es.models.Retinal()
wp = model.initial_wavepacket()
for name, method in CASES.items():
    res = es.run(model, wp, method, comm=comm, **KWARGS)
    if comm.Get_rank() == 0:
        save(res, f"{out}/{name}.nc")
    path = f"{out}/{name}.npz"

    def crash(run):
        if run.n_steps == 17:
            run.save_checkpoint(path)
            raise Stop

    sim = TrajectoryRun(model, wp, method, comm=comm, **KWARGS)
    try:
        while not sim.done:
            sim.advance(None, crash)
    except Stop:
        pass
    comm.Barrier()
    res = es.run(model, wp, method, comm=comm, checkpoint_path=path, resume=True, **KWARGS)
    if comm.Get_rank() == 0:
        save(res, f"{out}/{name}-resumed.nc")
