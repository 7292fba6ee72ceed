"""Run under ``mpiexec -n K``: Ehrenfest and SPEED ensembles written by rank 0.

Usage: python compare_ranks.py OUTDIR [fail]
With ``fail``, a user potential raises on rank 1 only: the whole run must end
with that message on every rank, not hang.
"""

import sys

import numpy as np
from mpi4py import MPI

import ehrenspeed as es
from ehrenspeed.results import save

out = sys.argv[1]
comm = MPI.COMM_WORLD

if len(sys.argv) > 2 and sys.argv[2] == "fail":
    base = es.models.TullySimple()
    armed = []   # fail only during the run, not when from_function probes the model

    def v(q):
        if armed and comm.Get_rank() == 1 and q[:, 0].max() > -8.0:
            raise RuntimeError("electronic structure failed to converge")
        return base.potential(q)

    model = es.models.from_function(v, 2, 1, 2000.0, gradient=base.gradient, hessian=base.hessian)
    armed.append(True)
    try:
        es.run(model, base.initial_wavepacket(), "ehrenfest", n_traj=8, dt=20.0, t_final=4000.0,
               seed=1, comm=comm)
    except es.EhrenspeedError as exc:
        print(f"rank {comm.Get_rank()} stopped: {exc}", flush=True)
        sys.exit(3)
    except RuntimeError as exc:
        print(f"rank {comm.Get_rank()} stopped: {exc}", flush=True)
        sys.exit(3)
    sys.exit(0)

model = es.models.Pyrazine3()
for method in ("ehrenfest", "speed"):
    res = es.run(model, model.initial_wavepacket(), method, n_traj=29, dt=4.0, t_final=200.0,
                 output_every=10, seed=4, save_trajectories=True, comm=comm)
    if comm.Get_rank() == 0:
        save(res, f"{out}/{method}.nc")
    else:
        assert res is None

# Tully's model under Ehrenfest takes the fused, time-blocked path (fused_steps.py)
tully = es.models.TullySimple()
res = es.run(tully, tully.initial_wavepacket(), "ehrenfest", n_traj=29, dt=2.0, t_final=400.0,
             output_every=25, seed=4, save_trajectories=True, comm=comm, backend="numba")
if comm.Get_rank() == 0:
    save(res, f"{out}/tully_fused.nc")
