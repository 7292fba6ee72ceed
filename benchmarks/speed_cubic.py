"""Cubic SPEED (order=3) against quadratic SPEED, Ehrenfest and exact dynamics.

Three systems, one seed, the same ensemble for every trajectory method:

* ``tully1 k15`` / ``k25``: Tully's simple avoided crossing (analytic third
  derivatives), k0 = 15 or 25 from x = -10, Strang dt = 2 a.u.;
* ``furan bound``: the furan dimer cation vibrating in its Morse well
  (released from rest 0.3 A outside R0, the ground-state width), dt = 20
  a.u., to 20000 a.u.;
* ``furan 300K``: the furan collision at 300 K (analytic third
  derivatives), the reproduction's start (6 A outside R0), dt = 40 a.u.,
  four flight times;
* ``retinal``: the two-state torsion model (third derivatives by finite
  differences of Hessians, 2 D = 4 Hessians each), the reproduction's
  settings (Yoshida-4, dt = 4 a.u., torsion interval from -pi) to 200 fs.

Columns: ``dP_exact`` = max over output times of |P_1 - P_1(exact)| (diabatic
population of state 1); ``dP_ehr`` = the same against Ehrenfest; ``P1_end``
at the last time; ``dE`` = max_energy_drift (hartree); ``evals/step`` =
potential + gradient + Hessian (+ analytic third-derivative) evaluations
per step (finite-difference third derivatives are counted as their Hessians);
retinal also ``trans`` = trans fraction (cos phi < 0) at 200 fs. A run that
stops because a trajectory ran away on the cubic surface prints the message.

Usage::

    python benchmarks/speed_cubic.py            # N = 256 (retinal 128)
    python benchmarks/speed_cubic.py --quick    # N = 32, retinal to 100 fs
"""

from __future__ import annotations

import argparse

import numpy as np

import ehrenspeed as es
from ehrenspeed.errors import SimulationError
from ehrenspeed.grid import Grid
from ehrenspeed.reproduce.furan import GRID_BEYOND_START, GRID_INNER, flight_time
from ehrenspeed.units import ANGSTROM, FS


def cases(quick: bool):
    n = 32 if quick else 256
    tully = es.models.TullySimple()
    furan = es.models.FuranDimer()
    furan_wp = furan.initial_wavepacket(temperature=300.0, offset_angstrom=6.0)
    r0, p0 = float(furan_wp.q0[0]), float(furan_wp.p0[0])
    # a vibration in the Morse well: released from rest 0.3 A outside R0, the ground-state width
    bound_wp = es.Wavepacket([furan.r0 + 0.3 * ANGSTROM], [0.0], [furan.reduced_mass * furan.frequency], 0)
    retinal = es.models.Retinal()
    swarm_retinal = es.models.Retinal(**{**retinal.parameters(), "phi_start": -np.pi})
    t_retinal = (100.0 if quick else 200.0) * FS
    tully_grid = Grid([-40.0], [40.0], [2048])
    return {
        "tully1 k15": dict(model=tully, swarm=tully, wp=tully.initial_wavepacket(k0=15.0), grid=tully_grid,
                           run=dict(dt=2.0, t_final=3000.0, output_every=25), trajectories=dict(n_traj=n)),
        "tully1 k25": dict(model=tully, swarm=tully, wp=tully.initial_wavepacket(k0=25.0), grid=tully_grid,
                           run=dict(dt=2.0, t_final=1600.0, output_every=25), trajectories=dict(n_traj=n)),
        "furan bound": dict(model=furan, swarm=furan, wp=bound_wp,
                            grid=Grid([furan.r0 - 2.0], [furan.r0 + 20.0], [1024]),
                            run=dict(dt=20.0, t_final=20000.0, output_every=10), trajectories=dict(n_traj=n)),
        "furan 300K": dict(model=furan, swarm=furan, wp=furan_wp,
                           grid=Grid([GRID_INNER], [r0 + GRID_BEYOND_START], [3072]),
                           run=dict(dt=40.0, t_final=4.0 * flight_time(furan, r0, p0), output_every=25),
                           trajectories=dict(n_traj=n)),
        "retinal": dict(model=retinal, swarm=swarm_retinal, wp=retinal.initial_wavepacket(),
                        grid=Grid.for_model(retinal, lower=[None, -8.0], upper=[None, 8.0], points=[256, 32]),
                        run=dict(dt=4.0, t_final=t_retinal, output_every=round(5 * FS / 4.0)),
                        trajectories=dict(n_traj=max(n // 2, 32), integrator="yoshida4",
                                          save_trajectories=True)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", help="one system (e.g. 'furan 300K')")
    args = ap.parse_args(argv)
    print(f"{'system':11s} {'method':10s} {'dP_exact':>9s} {'dP_ehr':>9s} {'P1_end':>7s} {'dE':>9s} "
          f"{'evals/step':>10s} {'trans':>6s}")
    for name, c in cases(args.quick).items():
        if args.only is not None and name != args.only:
            continue
        exact = es.run_exact(c["model"], c["wp"], c["grid"], **c["run"])
        p_exact = exact.population.values[:, 1]
        results = {}
        for label, method in (("ehrenfest", "ehrenfest"), ("speed", es.SPEED()),
                              ("speed o3", es.SPEED(order=3))):
            try:
                results[label] = es.run(c["swarm"], c["wp"], method, seed=args.seed, **c["run"],
                                        **c["trajectories"])
            except SimulationError as exc:
                print(f"{name:11s} {label:10s} stopped: {exc}")
        ehr = results["ehrenfest"].population.values[:, 1]
        print(f"{name:11s} {'exact':10s} {0:9.3f} {np.max(np.abs(p_exact - ehr)):9.3f} {p_exact[-1]:7.3f}")
        for label, res in results.items():
            p = res.population.values[:, 1]
            a = res.attrs
            # an analytic third derivative is one more evaluation; finite differences are
            # already among the Hessians
            own_third = getattr(c["swarm"], "third_derivative", None) is not None
            evals = (a["potential_evaluations"] + a["gradient_evaluations"] + a["hessian_evaluations"]
                     + own_third * a.get("third_derivative_evaluations_speed", 0)) / a["n_steps"]
            trans = ""
            if name == "retinal":
                phi = res.trajectory_position.values[-1, :, 0]
                trans = f"{np.mean(np.cos(phi) < 0):6.3f}"
            print(f"{name:11s} {label:10s} {np.max(np.abs(p - p_exact)):9.3f} {np.max(np.abs(p - ehr)):9.3f} "
                  f"{p[-1]:7.3f} {a['max_energy_drift']:9.1e} {evals:10.1f} {trans}", flush=True)
        if name == "retinal":
            phi = exact["grid_0"].values
            trans = exact["density_0"].values[-1, np.cos(phi) < 0].sum() * (phi[1] - phi[0])
            print(f"{name:11s} {'exact':10s} trans at the last time {trans:.3f}")


if __name__ == "__main__":
    main()
