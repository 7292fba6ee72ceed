"""Peer codes on Tully's simple model: mudslide and QC Lab (benchmarks/requirements.txt).

Each function returns trajectory-steps per second, or None when the peer is
not installed. Both peers are used through their documented public entry
points, with their own Tully model and their default integrators:

* mudslide: ``BatchedTraj`` with the ``Ehrenfest`` trajectory class, one
  trajectory after another in Python. Its Ehrenfest force is
  sum_i rho_ii F_i in the adiabatic basis: the coherence term
  2 sum_{k<l} (E_l - E_k) Re(rho_kl d_kl) is omitted, so its trajectories
  are not Ehrenfest trajectories and only its speed is comparable.
* QC Lab: the ``MeanField`` algorithm, batched over trajectories in
  NumPy/numba (its numba path, checked to be active), with RK4 for the
  classical coordinates (four force evaluations per step against one here),
  through ``serial_driver`` and through ``parallel_driver_multiprocessing``
  on every usable core.
"""

from __future__ import annotations

import time

import numpy as np


def mudslide_rate(n_traj: int, n_steps: int, dt: float = 1.0) -> float | None:
    """Trajectory-steps per second of mudslide's Ehrenfest on Tully's simple model."""
    try:
        from mudslide.batch import BatchedTraj
        from mudslide.ehrenfest import Ehrenfest
        from mudslide.models.scattering_models import TullySimpleAvoidedCrossing
    except ImportError:
        return None
    model = TullySimpleAvoidedCrossing()
    rng = np.random.default_rng(1)

    def initial(n):  # same incoming packet as the ehrenspeed runs (x0 = -10, k0 = 15)
        for _ in range(n):
            x = -10.0 + rng.normal(scale=20.0 / 15.0 / np.sqrt(2.0))
            yield np.array([x]), np.array([15.0 / 2000.0]), 0, {}

    batch = BatchedTraj(model, initial, Ehrenfest, samples=n_traj, dt=dt, max_steps=n_steps,
                        trace_every=n_steps)
    start = time.perf_counter()
    batch.compute()
    return n_traj * n_steps / (time.perf_counter() - start)


def qclab_rate(n_traj: int, n_steps: int, dt: float = 1.0, repeat: int = 2,
               driver: str = "serial", tasks: int | None = None) -> float | None:
    """Trajectory-steps per second of QC Lab's mean-field on Tully's simple model.

    QC Lab compiles its kernels with numba whenever numba is importable
    (``qclab.utils.DISABLE_NUMBA`` is False), which the benchmark checks.
    ``driver="serial"`` runs ``serial_driver`` with one batch of all
    trajectories; ``driver="multiprocessing"`` runs
    ``parallel_driver_multiprocessing`` with ``tasks`` processes (default: the
    usable CPUs) and one batch per process, QC Lab's way of using every core.
    The first call compiles QC Lab's numba kernels; the best of ``repeat``
    further calls is reported.
    """
    try:
        from qclab import Simulation, utils
        from qclab.algorithms import MeanField
        from qclab.dynamics import parallel_driver_multiprocessing, serial_driver
        from qclab.models import TullyProblemOne
    except ImportError:
        return None
    if utils.DISABLE_NUMBA:
        raise RuntimeError("QC Lab runs without numba here: install numba so the peer is timed fairly")
    import os

    tasks = tasks or len(os.sched_getaffinity(0))

    def once(n, steps):
        batch = n if driver == "serial" else -(-n // tasks)
        sim = Simulation({"tmax": steps * dt, "dt_update": dt, "dt_collect": steps * dt,
                          "num_trajs": n, "batch_size": batch, "progress_bar": False})
        sim.model = TullyProblemOne({"init_momentum": 15.0, "init_position": -10.0})
        sim.algorithm = MeanField()
        sim.initial_state["wf_db"] = np.array([1.0, 0.0], dtype=complex)
        start = time.perf_counter()
        if driver == "serial":
            serial_driver(sim)
        else:
            parallel_driver_multiprocessing(sim, num_tasks=tasks)
        return time.perf_counter() - start

    once(min(n_traj, 64), 2)  # compile
    best = min(once(n_traj, n_steps) for _ in range(repeat))
    return n_traj * n_steps / best
