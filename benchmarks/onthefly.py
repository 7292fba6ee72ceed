"""SPEED versus Ehrenfest on an on-the-fly electronic-structure potential.

System: the (H2)2+ hole-transfer dimer of :class:`ehrenspeed.models.pyscf_dimer.PySCFDimer`
(RHF/STO-3G, Koopmans hole states, two-state Boys diabatisation), all 12
Cartesian coordinates, N trajectories Wigner-sampled from the neutral
dimer's ground-state normal modes, colliding along x. Every potential
evaluation is one PySCF calculation; gradients and Hessians are finite
differences run on a process pool.

For each method/policy, the same initial ensemble and the same number of
steps: wall time, electronic-structure calls, Hessians, and the accuracy
against every-step SPEED (max over output times of |Delta P| and of
|Delta <q>|). Beside them the paper's cost model (unique scalars).

Usage::

    python benchmarks/onthefly.py                 # N = 64, 20 steps, 2 workers
    python benchmarks/onthefly.py --quick         # N = 8, 4 steps (smoke test)

Writes ``benchmarks/results/onthefly.json``.
"""

from __future__ import annotations

import os

# one thread per worker: the parallelism is the process pool
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import ehrenspeed as es  # noqa: E402
from ehrenspeed.models.pyscf_dimer import PySCFDimer  # noqa: E402

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-traj", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--dt", type=float, default=10.0)
    ap.add_argument("--output-every", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--separation", type=float, default=5.0)
    ap.add_argument("--collision-ev", type=float, default=1.0)
    ap.add_argument("--pop-tol", type=float, default=0.02)
    ap.add_argument("--pos-tol", type=float, default=0.01)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-ehrenfest", action="store_true")
    ap.add_argument("-o", "--output", default=str(Path(__file__).parent / "results" / "onthefly.json"))
    args = ap.parse_args(argv)
    if args.quick:
        args.n_traj, args.steps, args.output_every = 8, 4, 2

    model = PySCFDimer("h2", separation=args.separation, executor="process", max_workers=args.workers)
    start = time.perf_counter()
    # neutral ground-state normal modes, monomers approaching (see PySCFDimer.collision_ensemble)
    ensemble = model.collision_ensemble(args.n_traj, seed=20240607, collision_energy_ev=args.collision_ev)
    setup_s = time.perf_counter() - start
    t_final = args.steps * args.dt
    methods = [("speed_every_step", es.SPEED()),
               ("speed_every_5", es.SPEED(hessian_every=5)),
               ("speed_adaptive_1e-3", es.SPEED(adaptive_tol=1e-3)),
               ("speed_adaptive_1e-4", es.SPEED(adaptive_tol=1e-4)),
               ("speed_reference", es.SPEED(reference_hessian=True))]
    if not args.skip_ehrenfest:
        methods.insert(0, ("ehrenfest", es.Ehrenfest()))
    rows, results = {}, {}
    for label, method in methods:
        t0 = time.perf_counter()
        # validate=False: the driver's check would compute 4 Hessians (4 x 289 calls)
        res = es.run(model, ensemble, method, dt=args.dt, t_final=t_final,
                     output_every=args.output_every, validate=False)
        wall = time.perf_counter() - t0
        results[label] = res
        a = res.attrs
        rows[label] = {"wall_time_s": wall, "electronic_structure_calls": int(a["electronic_structure_calls"]),
                       "hessians": int(a.get("hessian_evaluations_speed", 0)),
                       "scalar_cost_model": int(a["scalar_cost_ehrenfest"] if label == "ehrenfest"
                                                else a["scalar_cost_speed"]),
                       "scalars_measured": int(a["scalar_evaluations"]),
                       "max_gradient_prediction_error": float(a.get("max_gradient_prediction_error", 0.0)),
                       "final_population_0": float(res.population.values[-1, 0])}
        print(f"{label:22s} {wall:8.1f} s  {rows[label]['electronic_structure_calls']:7d} calls  "
              f"{rows[label]['hessians']:3d} Hessians", flush=True)
    ref = results["speed_every_step"]
    for label, res in results.items():
        rows[label]["max_dP_vs_every_step"] = float(np.abs(res.population - ref.population).max())
        rows[label]["max_dq_vs_every_step_bohr"] = float(np.abs(res.position - ref.position).max())
        if "ehrenfest" in results:
            rows[label]["max_dP_vs_ehrenfest"] = float(
                np.abs(res.population - results["ehrenfest"].population).max())
    within = [k for k in rows if k.startswith("speed") and rows[k]["max_dP_vs_every_step"] <= args.pop_tol
              and rows[k]["max_dq_vs_every_step_bohr"] <= args.pos_tol]
    best = min(within, key=lambda k: rows[k]["wall_time_s"])
    summary = {"best_policy_within_tolerance": best}
    if "ehrenfest" in rows:
        summary["speedup_wall"] = rows["ehrenfest"]["wall_time_s"] / rows[best]["wall_time_s"]
        summary["speedup_calls"] = (rows["ehrenfest"]["electronic_structure_calls"]
                                    / rows[best]["electronic_structure_calls"])
    n, d, s = args.n_traj, model.n_dof, model.n_states
    from ehrenspeed.counting import scalar_cost
    summary["cost_model_per_step"] = {"ehrenfest": scalar_cost("ehrenfest", n, s, d),
                                      "speed": scalar_cost("speed", n, s, d)}
    summary["calls_per_step_formula"] = {"ehrenfest": n * (1 + 2 * d), "speed_V_G": 1 + 2 * d,
                                         "hessian": 2 * d * d + 1}
    out = {"system": "(H2)2+ RHF/STO-3G Koopmans-Boys", "n_traj": n, "n_dof": d, "steps": args.steps,
           "dt": args.dt, "workers": args.workers, "setup_s": setup_s, "tolerance":
           {"population": args.pop_tol, "position_bohr": args.pos_tol}, "runs": rows, "summary": summary}
    print(json.dumps(summary, indent=1))
    print(f"\n{'run':22s} {'wall s':>8s} {'calls':>7s} {'H':>3s} {'dP vs every':>11s} {'dq vs every':>11s}")
    for k, r in rows.items():
        print(f"{k:22s} {r['wall_time_s']:8.1f} {r['electronic_structure_calls']:7d} {r['hessians']:3d} "
              f"{r['max_dP_vs_every_step']:11.2e} {r['max_dq_vs_every_step_bohr']:11.2e}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=1))
    model.close()
    return out


if __name__ == "__main__":
    main()
