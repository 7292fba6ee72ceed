"""Full-dimensional (D = 54) furan dimer cation on the fly: cost of a short SPEED run.

The model is :class:`~ehrenspeed.models.fragment_cartesian.CartesianFragmentDimer`
(the fragment-orbital diabatic matrix as a function of all 18 atoms'
Cartesian coordinates) at the level and monomer geometry of a scan file;
the initial conditions are molecular Wigner samples of both monomers'
vibrations (the neutral monomer's analytic Hessian, cached in a text file
with its provenance; computed and written when the file is missing) with
the 1-D fit's thermal approach momentum along the stacking axis.

SPEED runs with the quasi-Newton policy (``SPEED(hessian="update")``,
Bofill): one Hessian at the start, then updates from the gradients. That
one finite-difference Hessian would take 2 D^2 + 1 = 5833 single points;
it is replaced by the neutral dimer's analytic Hessian on the diagonal
(``approximate_hessian=True``, see the model's docstring). Every step then
costs V and the central-difference gradient at the mean, 1 + 2 D = 109
single points, and so does every output.

The script prints the measured time per single point, per analytic
Hessian, the run's calls and wall time, and their extrapolation (per step
x steps) to the full collision of the 1-D protocol (``reproduce furan``
at 300 K on the fit, dt = 10 a.u.).

Usage (under nice)::

    OMP_NUM_THREADS=1 PYTHONPATH=src nice /work/venv/bin/python scripts/furan_cartesian.py \\
        --scan src/ehrenspeed/models/data/furan_scan_hf_sto3g.csv --n-traj 8 --steps 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import ehrenspeed as es
from ehrenspeed.models.fragment_cartesian import (
    CartesianFragmentDimer,
    load_hessian,
    monomer_hessian,
    sample_dimer,
    save_hessian,
)
from ehrenspeed.models.furan_abinitio import scan_level, scan_monomer
from ehrenspeed.molecular import cartesian_masses, normal_modes
from ehrenspeed.reproduce import furan as reproduction
from ehrenspeed.units import ANGSTROM, FS

HARTREE_PER_WAVENUMBER = 1 / 219474.6313632

DATA = Path(__file__).resolve().parents[1] / "src" / "ehrenspeed" / "models" / "data"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", default=str(DATA / "furan_scan_hf_sto3g.csv"))
    parser.add_argument("--hessian", default=str(DATA / "furan_monomer_hessian_hf_sto3g.txt"),
                        help="cached monomer Hessian (written here when missing)")
    parser.add_argument("--n-traj", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--dt", type=float, default=reproduction.DT, help="a.u.")
    parser.add_argument("--start-angstrom", type=float, default=3.9)
    parser.add_argument("--temperature", type=float, default=300.0)
    args = parser.parse_args(argv)

    level = scan_level(args.scan)
    monomer = scan_monomer(args.scan)
    symbols = [a[0] for a in monomer]
    if not Path(args.hessian).is_file():
        t0 = time.time()
        # the monomer was optimised without density fitting (scripts/furan_scan.py --optimise)
        k = monomer_hessian(monomer, level["basis"], level["xc"], density_fit=False)
        save_hessian(args.hessian, k, monomer, f"xc = {level['xc']}, basis = {level['basis']}, "
                     "density fitting off (as the monomer optimisation)", time.time() - t0)
        print(f"monomer Hessian computed in {time.time() - t0:.0f} s -> {args.hessian}", flush=True)
    k = load_hessian(args.hessian, monomer)
    q_mon = np.array([a[1:] for a in monomer], float).ravel()
    omega2, _ = normal_modes(k, cartesian_masses(symbols), q_mon)
    print("monomer frequencies (cm^-1): " + " ".join(f"{w:.0f}" for w in
          np.sign(omega2) * np.sqrt(np.abs(omega2)) / HARTREE_PER_WAVENUMBER), flush=True)

    from furan_onthefly import (  # the 1-D script, same directory
        fitted_model,
        full_run_steps,
    )

    fit = fitted_model(args.scan)
    p_rel = float(fit.initial_wavepacket(args.temperature).p0[0])
    r0 = args.start_angstrom * ANGSTROM
    t0 = time.time()
    model = CartesianFragmentDimer(monomer, conv_tol=1e-10, reference_separation=r0, approximate_hessian=True,
                                   executor="serial", **level)
    print(f"model ready (reference orbitals, one probe) in {time.time() - t0:.0f} s; D = {model.n_dof}",
          flush=True)
    state = sample_dimer(monomer, k, args.n_traj, r0, p_rel, temperature=args.temperature, seed=1)

    t0 = time.time()
    model.potential(state.q[:3])
    t_point = (time.time() - t0) / 3
    print(f"single point (2 monomer SCFs + dimer SCF): {t_point:.2f} s (mean of 3 sampled geometries)",
          flush=True)
    d = model.n_dof

    before = model.calls.potential
    t0 = time.time()
    res = es.run(model, state, es.SPEED(hessian="update"), dt=args.dt, t_final=args.steps * args.dt,
                 output_every=args.steps, validate=False)
    wall, calls = time.time() - t0, model.calls.potential - before
    t_full, steps_full = full_run_steps(fit, args.temperature)
    per_step = 1 + 2 * d
    t_hess = model.analytic_hessian_seconds[0]
    print(f"\nSPEED(hessian='update'), N = {args.n_traj}, {args.steps} steps of {args.dt:g} a.u.: "
          f"{wall:.0f} s wall, {calls} single points + {len(model.analytic_hessian_seconds)} analytic "
          f"Hessian(s) ({t_hess:.0f} s); P(hole on A) {float(res.population[-1, 0]):.5f} at t = {float(res.time[-1]) / FS:.2f} fs",
          flush=True)
    print("\n| quantity | single points | wall |")
    print("|---|---|---|")
    print(f"| one single point | 1 | {t_point:.2f} s |")
    print(f"| gradient (central differences) | 2 D = {2 * d} | {2 * d * t_point / 60:.1f} min |")
    print(f"| one SPEED step / one output (V + gradient at the mean) | 1 + 2 D = {per_step} "
          f"| {per_step * t_point / 60:.1f} min |")
    print(f"| finite-difference Hessian (not run) | 2 D^2 + 1 = {2 * d * d + 1} "
          f"| {(2 * d * d + 1) * t_point / 3600:.1f} h |")
    print(f"| analytic approximate Hessian (neutral dimer) | 0 (1 analytic) | {t_hess:.0f} s |")
    print(f"| this run: {args.steps} steps + 2 outputs + 1 Hessian | {calls} | {wall / 60:.1f} min |")
    print(f"| full collision, SPEED (update): {steps_full} steps | {per_step * steps_full:.3g} "
          f"| {per_step * steps_full * t_point / 3600:.3g} h |")
    print(f"| full collision, Ehrenfest N = 64: {steps_full} steps | {64 * per_step * steps_full:.3g} "
          f"| {64 * per_step * steps_full * t_point / 3600:.3g} h |")
    print(f"| full collision, SPEED with a finite-difference Hessian every step | "
          f"{(per_step + 2 * d * d + 1) * steps_full:.3g} | "
          f"{(per_step + 2 * d * d + 1) * steps_full * t_point / 3600:.3g} h |")
    print(f"\nfull collision: {t_full / FS:.0f} fs = {steps_full} steps of {reproduction.DT:g} a.u. "
          f"(reproduce furan protocol, {args.temperature:g} K, on the 1-D fit); extrapolated serially with "
          f"the measured time per single point")
    model.close()


if __name__ == "__main__":
    main()
