"""Furan dimer cation collision on the fly: SPEED vs Ehrenfest on the ab initio diabatic matrix.

The 1-D rigid-monomer model (:class:`~ehrenspeed.models.fragment_diabatisation.RigidFragmentDimer`)
computes V(R) by fragment-orbital diabatisation at every call; the same
ensemble is propagated with SPEED and with Ehrenfest for a few steps, and
the script prints wall times, electronic-structure calls and their ratio.

Usage (under nice, one heavy calculation at a time)::

    PYTHONPATH=src nice /work/venv/bin/python scripts/furan_onthefly.py --n-traj 4 --steps 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.models.fragment_diabatisation import RigidFragmentDimer
from ehrenspeed.models.furan_abinitio import scan_monomer
from ehrenspeed.sampling import Wavepacket
from ehrenspeed.units import ANGSTROM, FS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xc", default="hf")
    parser.add_argument("--basis", default="sto-3g")
    parser.add_argument("--n-traj", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--dt-fs", type=float, default=1.0)
    parser.add_argument("--start-angstrom", type=float, default=3.9)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    # thermal (300 K) approach and ground-state width of the fitted Morse well
    fit = es.models.FuranDimer(parameters="abinitio")
    reference = fit.initial_wavepacket(300.0)
    wp = Wavepacket([args.start_angstrom * ANGSTROM], reference.p0, reference.width, 0)
    dt = args.dt_fs * FS
    executor = "serial" if args.workers == 1 else None
    model = RigidFragmentDimer(scan_monomer(), basis=args.basis, xc=args.xc, executor=executor,
                               max_workers=args.workers)
    try:
        results = {}
        for label, method in (("speed", es.SPEED(reference_hessian=True)), ("ehrenfest", "ehrenfest")):
            before = model.calls.total
            t0 = time.time()
            res = es.run(model, wp, method, n_traj=args.n_traj, seed=1, dt=dt, t_final=args.steps * dt,
                         output_every=args.steps, validate=False)
            results[label] = (time.time() - t0, model.calls.total - before, res)
            print(f"{label}: {results[label][0]:.0f} s wall, {results[label][1]} single points, "
                  f"P(hole on A) final {float(res.population[-1, 0]):.5f}", flush=True)
        (ts, cs, rs), (te, ce, re) = results["speed"], results["ehrenfest"]
        print(f"N = {args.n_traj}, {args.steps} steps of {args.dt_fs} fs, {args.xc}/{args.basis}: "
              f"Ehrenfest/SPEED wall {te / ts:.2f}, calls {ce / cs:.2f}; "
              f"max |P_SPEED - P_Ehrenfest| = {np.abs(rs.population - re.population).max():.2e}")
    finally:
        model.close()


if __name__ == "__main__":
    main()
