"""Retinal: multi-centre SPEED's errors against the regrouping interval, at the full reproduction's sizes.

Reads the Ehrenfest and exact results of a full ``ehrenspeed reproduce
retinal -o DIR`` run and runs multi-centre SPEED with the reproduction's
settings (1024 trajectories, seed 1, Yoshida-4, dt = 4 a.u., torsion
interval from -pi, to 300 fs) for each (K, regroup_every) given, printing
the row of the reproduction's ``cost_accuracy`` table
(:func:`ehrenspeed.reproduce.retinal.cost_accuracy`): trans-fraction error
at 200 fs and max excited-population error up to 300 fs relative to the
1024-trajectory Ehrenfest swarm, max |p_phi|.

Usage::

    python benchmarks/retinal_regroup_scan.py DIR                     # K=4 every 10, 25, 50; K=8 every 25, 100
    python benchmarks/retinal_regroup_scan.py DIR --runs 4:10 2:10
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import xarray as xr

import ehrenspeed as es
from ehrenspeed.reproduce import retinal
from ehrenspeed.reproduce.common import Output


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path, help="output directory of a full `reproduce retinal` run")
    ap.add_argument("--runs", nargs="+", default=["4:10", "4:25", "4:50", "8:25", "8:100"],
                    help="K:regroup_every pairs")
    args = ap.parse_args(argv)
    reference = xr.load_dataset(args.directory / "retinal_ehrenfest.nc")
    exact = xr.load_dataset(args.directory / "retinal_exact.nc")
    cfg = retinal.settings(quick=False)
    print(f"{'K':>2s} {'regroup':>7s} {'evals/step':>10s} {'trans':>6s} {'dtrans':>7s} {'dP_exc':>7s} "
          f"{'max|p_phi|':>10s}")
    with tempfile.TemporaryDirectory() as scratch:
        out = Output(Path(scratch), quick=False, seed=1)
        for pair in args.runs:
            k, every = (int(x) for x in pair.split(":"))
            name = f"speed_k{k}"
            runs, failures = retinal.run_swarms(retinal.PHI_START_TRAJECTORIES,
                                                {name: es.SPEED(centres=k, regroup_every=every)}, cfg, out)
            row = retinal.cost_accuracy(reference, exact, runs, {}, failures)["methods"][name]
            if "stopped" in row:
                print(f"{k:2d} {every:7d} {row['stopped']}")
                continue
            print(f"{k:2d} {every:7d} {row['evaluations_per_step']:10.1f} {row['trans_fraction']:6.3f} "
                  f"{row['trans_fraction_error']:7.3f} {row['max_excited_population_error']:7.3f} "
                  f"{row['max_abs_p_phi']:10.1f}", flush=True)


if __name__ == "__main__":
    main()
