"""Checkpoint on some ranks, resume on others: run under ``mpiexec -n K`` (K = 1 or more).

Usage: python resume_ranks.py OUTDIR MODE TAG

MODE ``reference`` writes each case's uninterrupted result to
``OUTDIR/CASE-reference.nc``; ``checkpoint`` runs each case to step 7
(mid-interval), writes ``OUTDIR/CASE-TAG.npz`` there and stops, as a killed
job would; ``resume`` continues ``OUTDIR/CASE-TAG.npz`` to the end and
writes ``OUTDIR/CASE-TAG-resumedK.nc``. The ensemble has an odd number of
trajectories, so the ranks' blocks differ in size.
"""

import sys

from mpi4py import MPI

import ehrenspeed as es
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.results import save

out, mode, tag = sys.argv[1:4]
comm = MPI.COMM_WORLD
tully = es.models.TullySimple()


def single_point(q):
    """An 'electronic structure' call per geometry (counts electronic_structure_calls)."""
    return tully.potential(q[None])[0]


def cases():
    pyrazine = es.models.Pyrazine3()
    expensive = es.models.from_single_point(single_point, 2, 1, 2000.0, executor="serial", name="tully_sp")
    common = dict(n_traj=5, dt=4.0, t_final=80.0, output_every=3, seed=4, save_trajectories=True)
    tully_run = dict(common, dt=40.0, t_final=800.0)
    yield "ehrenfest", pyrazine, pyrazine.initial_wavepacket(), dict(common, method="ehrenfest")
    yield "speed", pyrazine, pyrazine.initial_wavepacket(), dict(common, method="speed")
    wp = tully.initial_wavepacket(k0=15.0)
    yield "expensive-ehrenfest", expensive, wp, dict(tully_run, method="ehrenfest")
    yield "expensive-speed", expensive, wp, dict(tully_run, method="speed")


class Stop(Exception):
    pass


def stop_at_step_7(path):
    def after_step(run):
        if run.n_steps == 7:
            run.save_checkpoint(path)
            raise Stop
    return after_step


for name, model, initial, kwargs in cases():
    if mode == "reference":
        result = es.run(model, initial, comm=comm, **kwargs)
        target = f"{out}/{name}-reference.nc"
    elif mode == "checkpoint":
        sim = TrajectoryRun(model, initial, comm=comm, **kwargs)
        try:
            while not sim.done:
                sim.advance(None, stop_at_step_7(f"{out}/{name}-{tag}.npz"))
        except Stop:
            continue
        raise AssertionError("the run ended before its checkpoint")
    else:
        result = es.run(model, initial, comm=comm, checkpoint_path=f"{out}/{name}-{tag}.npz", resume=True,
                        **kwargs)
        target = f"{out}/{name}-{tag}-resumed{comm.Get_size()}.nc"
    if comm.Get_rank() == 0:
        save(result, target)
    else:
        assert result is None
