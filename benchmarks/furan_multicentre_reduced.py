"""Furan: multi-centre SPEED's rate constant in a reduced version of the full reproduction (issue 15, section 4).

The full reproduction's settings (dt = 10 a.u., 3072-point grid, output
every 100 a.u., seed 1) at 100, 300 and 500 K with 64 (small: Ehrenfest,
SPEED, K = 2 and 4) and 256 (large: Ehrenfest, SPEED) trajectories instead
of five temperatures and 2048: the full run does not fit a 2-core machine's
session. Prints k (ps^-1) with its bootstrap error, final P_1, potential
evaluations per step and wall time per temperature, then the
``cost_accuracy`` rows.

Usage::

    python benchmarks/furan_multicentre_reduced.py OUTPUT_DIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ehrenspeed.reproduce import furan
from ehrenspeed.reproduce.common import Output

FULL_SETTINGS = furan.settings


def reduced(quick: bool) -> dict:
    """The full run's settings with three temperatures and 64 / 256 trajectories."""
    cfg = FULL_SETTINGS(False)
    cfg.update(temperatures=[100.0, 300.0, 500.0], small=64, large=256)
    return cfg


def main(argv=None):
    directory = Path((argv or sys.argv[1:])[0])
    furan.settings = reduced
    start = time.time()
    summary = furan.run(Output(directory, quick=False, seed=1))
    print(f"wall time {time.time() - start:.0f} s; temperatures {summary['temperatures_K']} K")
    print("method: k / ps^-1, its bootstrap error, final P_1, potential evaluations per step, wall time / s")
    for name, row in summary["methods"].items():
        print(f"{name:16s}", row["k_per_ps"], row["k_per_ps_error"], row["final_P1"],
              row["potential_evaluations_per_step"], row["wall_time_s"])
    for name, row in summary["cost_accuracy"].items():
        print(name, row)


if __name__ == "__main__":
    main()
