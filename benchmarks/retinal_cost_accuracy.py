"""Retinal: model evaluations per step against the error in the trans fraction (issue 15, section 4).

Reference: Ehrenfest with ``--n-ref`` trajectories (1024). Every other
method runs ``--n-traj`` trajectories (seed 1) with the reproduction's
settings (Yoshida-4, dt = 4 a.u., torsion interval from -pi) to 200 fs.
Columns: evals/step = potential + gradient + Hessian evaluations per step
(including the observables' at every 5 fs); dtrans = |trans fraction -
reference| at 200 fs (trans: cos phi < 0); dP1 = max |P_1 - P_1(reference)|
up to 200 fs; max|p_phi| = largest torsion momentum, a.u.

Usage::

    python benchmarks/retinal_cost_accuracy.py                         # N = 256, reference 1024
    python benchmarks/retinal_cost_accuracy.py --n-traj 128 --n-ref 512   # reduced
"""

from __future__ import annotations

import argparse

import numpy as np

import ehrenspeed as es
from ehrenspeed.errors import SimulationError
from ehrenspeed.units import FS

DT = 4.0


def methods():
    return {
        "ehrenfest": "ehrenfest",
        "speed": es.SPEED(),
        "speed order 3": es.SPEED(order=3),
        "speed update+tol 1e-5": es.SPEED(hessian="update", adaptive_tol=1e-5),
        "K=2 regroup 25": es.SPEED(centres=2, regroup_every=25),
        "K=4 regroup 25": es.SPEED(centres=4, regroup_every=25),
        "K=8 regroup 25": es.SPEED(centres=8, regroup_every=25),
        "adaptive<=8 regroup 25": es.SPEED(centres="adaptive", max_centres=8, regroup_every=25),
    }


def observe(res):
    phi = res.trajectory_position.values[:, :, 0]
    a = res.attrs
    evals = (a["potential_evaluations"] + a["gradient_evaluations"] + a["hessian_evaluations"]) / a["n_steps"]
    return dict(trans=float(np.mean(np.cos(phi[-1]) < 0)), p1=res.population.values[:, 1], evals=evals,
                p_phi=float(np.abs(res.trajectory_momentum.values[:, :, 0]).max()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-traj", type=int, default=256)
    ap.add_argument("--n-ref", type=int, default=1024)
    ap.add_argument("--t-final-fs", type=float, default=200.0)
    args = ap.parse_args(argv)
    model = es.models.Retinal(phi_start=-np.pi)
    wp = model.initial_wavepacket()
    common = dict(dt=DT, t_final=args.t_final_fs * FS, output_every=round(5 * FS / DT), integrator="yoshida4",
                  save_trajectories=True, seed=1)
    ref = observe(es.run(model, wp, "ehrenfest", n_traj=args.n_ref, **common))
    print(f"reference: Ehrenfest N = {args.n_ref}, trans at {args.t_final_fs:g} fs = {ref['trans']:.3f}; "
          f"others N = {args.n_traj}")
    print(f"{'method':24s} {'evals/step':>10s} {'trans':>6s} {'dtrans':>7s} {'dP1':>7s} {'max|p_phi|':>10s}")
    for name, method in methods().items():
        try:
            r = observe(es.run(model, wp, method, n_traj=args.n_traj, **common))
        except SimulationError as exc:
            print(f"{name:24s} stopped: {exc}")
            continue
        print(f"{name:24s} {r['evals']:10.1f} {r['trans']:6.3f} {abs(r['trans'] - ref['trans']):7.3f} "
              f"{np.abs(r['p1'] - ref['p1']).max():7.3f} {r['p_phi']:10.1f}", flush=True)


if __name__ == "__main__":
    main()
