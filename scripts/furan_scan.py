"""Scan the furan dimer cation's diabatic hole-transfer matrix along the monomer separation.

Protocol (after the SPEED paper's furan application): two rigid furan
monomers at their optimised neutral geometry, stacked face to face (planes
parallel, atoms on top of each other), moved apart along the stacking axis.
At each separation the fragment-orbital diabatisation
(:mod:`ehrenspeed.models.fragment_diabatisation`) gives V11, V22, V12.
The result is a small CSV whose comment header records the level of
theory, the monomer geometry, the software versions and the cost.

Usage (one heavy calculation at a time, under nice)::

    PYTHONPATH=src nice /work/venv/bin/python scripts/furan_scan.py \\
        --xc b3lyp --basis 6-31g --optimise \\
        --out src/ehrenspeed/models/data/furan_scan.csv
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np

from ehrenspeed.models.fragment_diabatisation import (
    GRID_LEVEL,
    FragmentOrbitalDiabatic,
    furan_guess,
    optimise_monomer,
    stacked_dimer,
)
from ehrenspeed.models.furan_abinitio import scan_monomer
from ehrenspeed.units import ANGSTROM, EV


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xc", default="b3lyp",
                        help="'hf' or a PySCF/libxc functional, e.g. hyb_gga_xc_wb97x_d (wB97X-D's "
                             "exchange-correlation part, ~4x the cost of b3lyp here)")
    parser.add_argument("--basis", default="6-31g")
    parser.add_argument("--separations", default="3.2,3.4,3.6,3.8,4.0,4.3,4.7,5.2",
                        help="centroid-centroid distances, angstrom, comma separated")
    parser.add_argument("--optimise", action="store_true",
                        help="optimise the neutral monomer at this level first (else the approximate "
                             "gas-phase geometry of furan_guess)")
    parser.add_argument("--monomer-from", metavar="CSV",
                        help="take the monomer geometry from an earlier scan's header (e.g. the shipped "
                             "B3LYP/6-31G scan) instead of optimising it again")
    parser.add_argument("--conv-tol", type=float, default=1e-8)
    parser.add_argument("--no-density-fit", action="store_true", help="exact four-index integrals")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import pyscf

    t0 = time.time()
    monomer = furan_guess()
    if args.optimise and args.monomer_from:
        parser.error("--optimise and --monomer-from exclude each other")
    if args.optimise:
        monomer = optimise_monomer(monomer, args.basis, args.xc, conv_tol=args.conv_tol)
        monomer_origin = "optimised at this level"
    elif args.monomer_from:
        monomer = scan_monomer(args.monomer_from)
        monomer_origin = f"from the header of {args.monomer_from}"
    else:
        monomer_origin = "approximate (furan_guess)"
    t_opt = time.time() - t0
    print(f"monomer ready in {t_opt:.0f} s", flush=True)
    symbols, q_ref = stacked_dimer(monomer, 3.6 * ANGSTROM)
    point = FragmentOrbitalDiabatic(symbols, len(monomer), args.basis, args.xc, conv_tol=args.conv_tol,
                                    density_fit=not args.no_density_fit)
    point.set_reference(q_ref)
    rows = []
    for r in [float(x) for x in args.separations.split(",")]:
        t1 = time.time()
        d = point.details(stacked_dimer(monomer, r * ANGSTROM)[1])
        seconds = time.time() - t1
        v = d["diabatic"]
        rows.append((r, v[0, 0], v[1, 1], v[0, 1], d["energy_neutral"], d["overlap"], seconds))
        print(f"R = {r:.3f} A: V11 = {v[0, 0]:.8f}, V22 = {v[1, 1]:.8f}, V12 = {v[0, 1] / EV:+.5f} eV, "
              f"{seconds:.0f} s", flush=True)
    times = np.array([row[-1] for row in rows])
    with open(args.out, "w") as f:
        f.write("# Furan dimer cation, diabatic hole-transfer matrix along the monomer separation\n")
        f.write("# made by scripts/furan_scan.py (ehrenspeed), "
                f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
                f"PySCF {pyscf.__version__}, Python {platform.python_version()}\n")
        f.write("# method: fragment-orbital diabatisation (monomer HOMOs, Loewdin-orthogonalised, in the "
                "neutral dimer's Fock matrix; V = E_neutral - h)\n")
        if "wb97x_d" in args.xc.lower():
            f.write("# note: wB97X-D's exchange-correlation part only (libxc); its empirical "
                    "dispersion term is not in PySCF and is not included\n")
        f.write(f"# level: xc = {args.xc}, basis = {args.basis}, SCF conv_tol = {args.conv_tol:g} hartree, "
                f"density fitting {'off' if args.no_density_fit else 'on'}, Becke grid level {GRID_LEVEL}\n")
        f.write("# geometry: two rigid monomers face to face along x (planes parallel, eclipsed), "
                f"monomer {monomer_origin}; "
                "atoms of one monomer (element x y z, bohr):\n")
        f.writelines(f"#   {atom[0]} {atom[1]:.6f} {atom[2]:.6f} {atom[3]:.6f}\n" for atom in monomer)
        f.write(f"# cost: monomer {t_opt:.0f} s; per point {times.mean():.0f} s mean "
                f"({times.min():.0f}-{times.max():.0f} s), one process, shared 2-core machine\n")
        f.write("# columns: R centroid distance (angstrom); V11, V22, V12 (hartree); "
                "E0 neutral dimer energy (hartree); S12 fragment-orbital overlap; seconds\n")
        f.write("R_angstrom,V11_hartree,V22_hartree,V12_hartree,E0_hartree,S12,seconds\n")
        f.writelines("{:.4f},{:.10f},{:.10f},{:.10f},{:.10f},{:.8f},{:.1f}\n".format(*row) for row in rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
