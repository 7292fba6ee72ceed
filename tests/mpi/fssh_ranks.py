"""Run under ``mpiexec -n K``: FSSH ensembles (per-trajectory and SPEED source) written by rank 0.

Usage: python fssh_ranks.py OUTDIR
"""

import sys

from mpi4py import MPI

import ehrenspeed as es
from ehrenspeed.results import save

out = sys.argv[1]
comm = MPI.COMM_WORLD
model = es.models.TullySimple()
for name, method in (("fssh", "fssh"), ("speed_edc", es.FSSH(source="speed", decoherence="edc"))):
    res = es.run(model, model.initial_wavepacket(k0=12.0), method, n_traj=23, dt=4.0, t_final=2400.0,
                 output_every=100, seed=6, save_trajectories=True, comm=comm)
    if comm.Get_rank() == 0:
        save(res, f"{out}/{name}.nc")
    else:
        assert res is None
