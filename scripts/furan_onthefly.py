"""Furan dimer cation collision on the fly: SPEED vs Ehrenfest on the ab initio diabatic matrix, and on its fit.

The 1-D rigid-monomer model (:class:`~ehrenspeed.models.fragment_diabatisation.RigidFragmentDimer`)
computes V(R) by fragment-orbital diabatisation at every call, at the level
of theory and with the monomer geometry of a scan file (made by
``scripts/furan_scan.py``); the same scan, fitted with the SPEED paper's
Morse/exponential forms (:func:`~ehrenspeed.models.furan_abinitio.fit_scan`),
gives the fitted model, so on the fly and fit compare like with like.

One ensemble (hole on A, R = ``--start-angstrom``, the thermal approach
momentum and ground-state width of the fitted well) is propagated with
SPEED (its definition: V, gradient and Hessian at the mean every step)
and with Ehrenfest, on the fly and on the fit. SPEED can run more steps
than Ehrenfest (``--speed-steps`` >= ``--ehrenfest-steps``); populations
are compared at the last Ehrenfest time and at SPEED's end. The cost
table is extrapolated, per step, to the full collision of
``ehrenspeed reproduce furan`` at 300 K (start 6 A outside the fitted
minimum, 4 inward flight times, dt = 10 a.u.) on the fitted model.

Usage (under nice, one heavy calculation at a time)::

    OMP_NUM_THREADS=1 PYTHONPATH=src nice /work/venv/bin/python scripts/furan_onthefly.py \\
        --scan src/ehrenspeed/models/data/furan_scan_hf_sto3g.csv \\
        --n-traj 64 --speed-steps 20 --ehrenfest-steps 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.models.fragment_diabatisation import RigidFragmentDimer
from ehrenspeed.models.furan_abinitio import (
    SCAN_FILE,
    fit_scan,
    read_scan,
    scan_level,
    scan_monomer,
)
from ehrenspeed.reproduce import furan as reproduction
from ehrenspeed.sampling import Wavepacket
from ehrenspeed.units import ANGSTROM, FS


def fitted_model(path) -> es.models.FuranDimer:
    """FuranDimer with the Morse/exponential fit of the scan in ``path``."""
    scan = read_scan(path)
    fit = fit_scan(scan["R_angstrom"], 0.5 * (scan["V11_hartree"] + scan["V22_hartree"]), scan["V12_hartree"])
    return es.models.FuranDimer(**{k: fit[k] for k in ("depth_ev", "r0_angstrom", "a_per_angstrom",
                                                       "h0_ev", "b_per_angstrom")})


def full_run_steps(model, temperature: float) -> tuple[float, int]:
    """Length (a.u.) and steps of the reproduction's collision at ``temperature`` on ``model``."""
    wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=reproduction.START_OFFSET)
    t_final = reproduction.FLIGHTS * reproduction.flight_time(model, float(wp.q0[0]), float(wp.p0[0]))
    return t_final, int(np.ceil(t_final / reproduction.DT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", default=str(SCAN_FILE), help="scan CSV: level, monomer and the fit")
    parser.add_argument("--n-traj", type=int, default=64)
    parser.add_argument("--speed-steps", type=int, default=20)
    parser.add_argument("--ehrenfest-steps", type=int, default=3)
    parser.add_argument("--dt-fs", type=float, default=1.0)
    parser.add_argument("--start-angstrom", type=float, default=3.9)
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--conv-tol", type=float, default=1e-10, help="SCF convergence on the fly, hartree")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.speed_steps < args.ehrenfest_steps:
        parser.error("--speed-steps must be >= --ehrenfest-steps")

    level = scan_level(args.scan)
    fit = fitted_model(args.scan)
    reference = fit.initial_wavepacket(args.temperature)
    wp = Wavepacket([args.start_angstrom * ANGSTROM], reference.p0, reference.width, 0)
    dt = args.dt_fs * FS
    t_common, t_speed = args.ehrenfest_steps * dt, args.speed_steps * dt
    print(f"level {level}, fit: D = {fit.depth / es.units.EV:.4f} eV, R0 = {fit.r0 / ANGSTROM:.3f} A, "
          f"|V12(start)| = {abs(float(fit.potential(wp.q0[None])[0, 0, 1])) / es.units.EV:.4f} eV", flush=True)
    executor = "serial" if args.workers == 1 else None
    t0 = time.time()
    onthefly = RigidFragmentDimer(scan_monomer(args.scan), conv_tol=args.conv_tol, executor=executor,
                                  max_workers=args.workers, **level)
    print(f"model ready (reference orbitals, monomer SCFs, probe) in {time.time() - t0:.1f} s", flush=True)
    runs = (("speed", es.SPEED(), args.speed_steps), ("ehrenfest", "ehrenfest", args.ehrenfest_steps))
    rows = {}
    try:
        for label, method, steps in runs:
            times = [t_common, t_speed] if steps > args.ehrenfest_steps else [steps * dt]
            common = {"n_traj": args.n_traj, "seed": 1, "dt": dt, "t_final": steps * dt, "output_times": times,
                          "validate": False}
            before = onthefly.calls.total
            t1 = time.time()
            res = es.run(onthefly, wp, method, **common)
            wall, calls = time.time() - t1, onthefly.calls.total - before
            on_fit = es.run(fit, wp, method, **common)
            rows[label] = {"steps": steps, "wall": wall, "calls": calls, "times": np.asarray(res.time),
                               "p": np.asarray(res.population[:, 0]), "p_fit": np.asarray(on_fit.population[:, 0])}
            print(f"{label}: {steps} steps, {wall:.0f} s wall, {calls} single points "
                  f"({wall / calls:.2f} s each), P(hole on A) at t = "
                  + ", ".join(f"{t / FS:.1f} fs: {p:.5f} (fit {pf:.5f})" for t, p, pf in
                              zip(res.time, rows[label]["p"], rows[label]["p_fit"])), flush=True)
    finally:
        onthefly.close()

    s, e = rows["speed"], rows["ehrenfest"]
    t_full, steps_full = full_run_steps(fit, args.temperature)
    # single points per step (D = 1, finite differences): Ehrenfest V and gradient at every
    # trajectory, N (1 + 2D); SPEED V and gradient (1 + 2D) and Hessian (2 D^2 + 1) at the mean
    per_step = {"SPEED": 1 + 2 + 3, "Ehrenfest": args.n_traj * (1 + 2)}
    print(f"\nN = {args.n_traj}, dt = {args.dt_fs} fs, {level['xc']}/{level['basis']} "
          f"(density fitting {'on' if level['density_fit'] else 'off'}), serial single points; "
          f"single points counted include the outputs' potentials\n")
    print("| method | steps run | wall (s) | single points | s per point | P_A on the fly | P_A on the fit "
          "| full run: single points | full run: wall (h) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r in (("SPEED", s), ("Ehrenfest", e)):
        seconds = r["wall"] / r["calls"]
        for t, p, pf in zip(r["times"][1:], r["p"][1:], r["p_fit"][1:]):
            full = (f"{per_step[label] * steps_full:.3g} | {per_step[label] * steps_full * seconds / 3600:.3g}"
                    if t == r["times"][-1] else " | ")
            print(f"| {label} | {round(t / dt)} | {r['wall']:.0f} | {r['calls']} | {seconds:.2f} "
                  f"| {p:.4f} | {pf:.4f} | {full} |")
    print(f"\nEhrenfest/SPEED: measured {e['calls'] / e['steps'] / (s['calls'] / s['steps']):.1f}x single points "
          f"and {e['wall'] / e['steps'] / (s['wall'] / s['steps']):.1f}x wall time per step (outputs included), "
          f"{per_step['Ehrenfest'] / per_step['SPEED']:.0f}x single points per step without outputs; "
          f"at t = {t_common / FS:.1f} fs: |P_SPEED - P_Ehrenfest| on the fly "
          f"{abs(s['p'][1] - e['p'][-1]):.2e}, on the fit {abs(s['p_fit'][1] - e['p_fit'][-1]):.2e}; "
          f"on the fly - fit: SPEED {s['p'][-1] - s['p_fit'][-1]:+.4f} (t = {t_speed / FS:.1f} fs), "
          f"Ehrenfest {e['p'][-1] - e['p_fit'][-1]:+.4f} (t = {t_common / FS:.1f} fs)")
    print(f"full run (reproduce furan protocol at {args.temperature:g} K on this fit): "
          f"{t_full / FS:.0f} fs = {steps_full} steps of {reproduction.DT:g} a.u.; extrapolated as single "
          f"points per step (formula above, outputs left out) x steps x measured s per point")

if __name__ == "__main__":
    main()
