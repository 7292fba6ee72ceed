"""Multi-centre SPEED on retinal: energy conservation, regrouping, and the K-dependence.

Retinal (2 states; torsion phi periodic, coupling mode Q) with the
reproduction's settings (``ehrenspeed reproduce retinal``: Yoshida-4,
dt = 4 a.u., torsion interval [-pi, pi) for the trajectories, so the trans
branch straddles the seam). One Wigner sample (same seed) for every method:
Ehrenfest, SPEED (K = 1), multi-centre SPEED with K = 2, 4, 8 groups formed
once at the start, K = 4 regrouped every 25 and every 100 steps, K = 8
regrouped every 25, and adaptive centres up to 8 (absolute and default
relative tolerance, and regrouped).

Columns:

* ``dE_traj``: max over trajectories and output times of |E_j(t) - E_j(0)|,
  hartree (``max_energy_drift``): a trajectory moving on a time-dependent
  surface, or jumping to another group's surface, changes its energy;
* ``dE_mean``: max over output times of |<E>(t) - <E>(0)|, hartree;
* ``trans@200``: fraction of trajectories with cos phi < 0 at 200 fs;
* ``dP1``: max |P1 - P1(Ehrenfest)| of the excited diabatic state's
  population up to 300 fs;
* ``max|p_phi|``: largest torsion momentum at any output time, a.u. (SPEED
  heats without bound in some intervals);
* ``evals/step``: potential evaluations per step (3 substeps per Yoshida-4
  step), Hessians per step.

Usage::

    python benchmarks/multicentre.py            # N = 256, 300 fs
    python benchmarks/multicentre.py --quick    # N = 64, 150 fs
    python benchmarks/multicentre.py --scan     # K = 4: energy drift against regroup_every

Writes ``benchmarks/results/multicentre.json`` (``--quick``: nothing).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import ehrenspeed as es
from ehrenspeed.units import FS

DT = 4.0


def methods():
    return {
        "ehrenfest": "ehrenfest",
        "speed K=1": es.SPEED(),
        "K=2": es.SPEED(centres=2),
        "K=4": es.SPEED(centres=4),
        "K=8": es.SPEED(centres=8),
        "K=4 regroup 100": es.SPEED(centres=4, regroup_every=100),
        "K=4 regroup 25": es.SPEED(centres=4, regroup_every=25),
        "K=8 regroup 25": es.SPEED(centres=8, regroup_every=25),
        "adaptive <=8, tol 1e-5": es.SPEED(centres="adaptive", max_centres=8, adaptive_tol=1e-5),
        "adaptive <=8": es.SPEED(centres="adaptive", max_centres=8),
        "adaptive <=8, regroup 25": es.SPEED(centres="adaptive", max_centres=8, regroup_every=25),
    }


def measure(n_traj: int, t_final_fs: float, seed: int = 1) -> dict:
    model = es.models.Retinal(phi_start=-np.pi)
    wp = model.initial_wavepacket()
    every = int(round(5.0 * FS / DT))
    t_final = t_final_fs * FS
    rows = {}
    reference = None
    for name, method in methods().items():
        start = time.perf_counter()
        res = es.run(model, wp, method, n_traj=n_traj, dt=DT, t_final=t_final, output_every=every, seed=seed,
                     integrator="yoshida4", save_trajectories=True)
        wall = time.perf_counter() - start
        phi = res["trajectory_position"].values[:, :, 0]
        t_fs = res.time.values / FS
        i200 = int(np.argmin(np.abs(t_fs - min(200.0, t_final_fs))))
        p1 = res.population.values[:, 1]
        if reference is None:
            reference = p1
        total = res.total_energy.values
        steps = res.attrs["n_steps"]
        rows[name] = {
            "dE_traj": float(res.attrs["max_energy_drift"]),
            "dE_mean": float(np.abs(total - total[0]).max()),
            "trans_at_200fs": float(np.mean(np.cos(phi[i200]) < 0)),
            "max_dP1_vs_ehrenfest": float(np.abs(p1 - reference).max()),
            "max_abs_p_phi": float(np.abs(res["trajectory_momentum"].values[:, :, 0]).max()),
            "potential_evaluations_per_step": res.attrs["potential_evaluations"] / steps,
            "hessians_per_step": res.attrs["hessian_evaluations"] / steps,
            "n_centres_final": int(res["n_centres"].values[-1]) if "n_centres" in res else 1,
            "wall_time_s": wall,
        }
    return rows


def regroup_scan(n_traj: int, t_final_fs: float, seed: int = 1) -> dict:
    """Energy conservation of K = 4 against the regrouping interval, on retinal and on furan (300 K)."""
    from ehrenspeed.reproduce import furan

    retinal = es.models.Retinal(phi_start=-np.pi)
    dimer = es.models.FuranDimer()
    wp = dimer.initial_wavepacket(temperature=300.0, offset_angstrom=furan.START_OFFSET)
    flight = furan.flight_time(dimer, float(wp.q0[0]), float(wp.p0[0]))
    systems = {"retinal": (retinal, retinal.initial_wavepacket(), dict(dt=DT, t_final=t_final_fs * FS,
                                                                       integrator="yoshida4")),
               "furan 300 K": (dimer, wp, dict(dt=furan.DT, t_final=furan.FLIGHTS * flight))}
    table = {}
    for system, (model, initial, run_kwargs) in systems.items():
        for label, method in [("speed K=1", es.SPEED())] + [
                (f"K=4 regroup {r or 'never'}", es.SPEED(centres=4, regroup_every=r))
                for r in (None, 400, 200, 100, 50, 25, 10, 1)]:
            try:
                res = es.run(model, initial, method, n_traj=n_traj, seed=seed, output_every=10, **run_kwargs)
            except es.EhrenspeedError as exc:  # a group's quadratic surface can be unbounded below
                table[f"{system}: {label}"] = {"dE_traj": float("nan"), "dE_mean": float("nan"), "steps": -1,
                                               "error": str(exc)[:120]}
                continue
            total = res.total_energy.values
            table[f"{system}: {label}"] = {"dE_traj": float(res.attrs["max_energy_drift"]),
                                           "dE_mean": float(np.abs(total - total[0]).max()),
                                           "steps": int(res.attrs["n_steps"])}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scan", action="store_true", help="energy drift against regroup_every (K = 4)")
    args = parser.parse_args()
    n_traj, t_final_fs = (64, 150.0) if args.quick else (256, 300.0)
    if args.scan:
        table = regroup_scan(n_traj, t_final_fs)
        print(f"K = 4, N = {n_traj}; retinal {t_final_fs:g} fs (Yoshida-4, dt = {DT}); furan 300 K (Strang, dt = 40)")
        print(f"{'system: method':36s} {'dE_traj':>9s} {'dE_mean':>9s} {'steps':>6s}")
        for name, r in table.items():
            print(f"{name:36s} {r['dE_traj']:9.2e} {r['dE_mean']:9.2e} {r['steps']:6d} {r.get('error', '')}")
        if not args.quick:
            out = Path(__file__).parent / "results" / "multicentre_regroup.json"
            out.write_text(json.dumps({"n_traj": n_traj, "t_final_fs": t_final_fs, "rows": table}, indent=1))
            print(f"wrote {out}")
        return
    rows = measure(n_traj, t_final_fs)
    print(f"retinal, N = {n_traj}, {t_final_fs:g} fs, Yoshida-4, dt = {DT} a.u.")
    print(f"{'method':24s} {'dE_traj':>9s} {'dE_mean':>9s} {'trans@200':>9s} {'dP1':>7s} {'max|p_phi|':>10s} "
          f"{'evals/step':>10s} {'H/step':>7s} {'K_end':>5s} {'wall s':>7s}")
    for name, r in rows.items():
        print(f"{name:24s} {r['dE_traj']:9.2e} {r['dE_mean']:9.2e} {r['trans_at_200fs']:9.3f} "
              f"{r['max_dP1_vs_ehrenfest']:7.3f} {r['max_abs_p_phi']:10.1f} "
              f"{r['potential_evaluations_per_step']:10.1f} {r['hessians_per_step']:7.1f} "
              f"{r['n_centres_final']:5d} {r['wall_time_s']:7.1f}")
    if not args.quick:
        out = Path(__file__).parent / "results" / "multicentre.json"
        out.write_text(json.dumps({"n_traj": n_traj, "t_final_fs": t_final_fs, "dt": DT, "rows": rows}, indent=1))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
