"""Cost of recording observables relative to propagating (issue 18, goal 1).

For each model a :class:`ehrenspeed.TrajectoryRun` is built as a user runs
it (Strang steps, compiled backend, ``output_every = 10``). In one process
and interleaved, best of ``--repeat``:

* ``10 steps``: one output interval of ``advance`` (ten steps, in fused
  blocks where the fused step applies, as a user's run takes them) with
  its record switched off (the no-output throughput);
* ``record``: one output record (``TrajectoryRun.record``: V at every
  trajectory and the per-trajectory observables -- in one compiled pass
  with V evaluated inline where the fused step applies --, ensemble means,
  drift checks);
* ``record (reference)``: the same with the reference per-trajectory
  observables (the model's V array, then a batched ``eigh``), the
  implementation before issue 18.

The figure of merit is ``record / (10 steps)``: the fraction by which
recording every 10 steps slows the run (goal <= 0.25).

    PYTHONPATH=src python benchmarks/observables.py [--repeat 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, table

import ehrenspeed as es
from ehrenspeed.dynamics import base as mean_field
from ehrenspeed.backend import HAVE_NUMBA
from ehrenspeed.observables import per_trajectory_reference
from ehrenspeed.propagators import fused

#: (model name, N); quick sizes second
CASES = [("tully_simple", 10_000), ("pyrazine3", 1024)]
QUICK = [("tully_simple", 1000), ("pyrazine3", 256)]
OUTPUT_EVERY = 10


def _reference_parts(state, v, inv_mass, backend=None):
    parts = per_trajectory_reference(state, v, inv_mass)
    parts["population"] = state.populations
    parts["norm"] = parts["population"].sum(axis=1)
    return parts


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, n: int, repeat: int, backend: str) -> dict[str, float]:
    model = es.models.get(name)
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=n, dt=1.0,
                           t_final=1e6, output_every=OUTPUT_EVERY, seed=1, validate=False, backend=backend)

    record = run.record
    run.record = lambda: None   # advance() below takes the interval's steps without its record

    def steps():
        run.advance()   # without its record, the run stays in the same output interval

    # the mean-field dynamics computes the recorded per-trajectory parts
    fast = mean_field.per_trajectory

    def record_reference():
        mean_field.per_trajectory = _reference_parts
        os.environ[fused.ENVIRONMENT] = "0"     # no inline V: the model's V array, then the reference
        try:
            record()
        finally:
            mean_field.per_trajectory = fast
            os.environ.pop(fused.ENVIRONMENT)

    steps(), record(), record_reference()                # warm-up (compilation, caches)
    best = {"10 steps": np.inf, "record": np.inf, "record (reference)": np.inf}
    for _ in range(repeat):                              # interleaved rounds
        best["10 steps"] = min(best["10 steps"], _timed(steps))
        best["record"] = min(best["record"], _timed(record))
        best["record (reference)"] = min(best["record (reference)"], _timed(record_reference))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args()
    backend = "numba" if HAVE_NUMBA else "numpy"
    for key, value in machine().items():
        print(f"{key}: {value}")
    rows = []
    for name, n in (QUICK if args.quick else CASES):
        t = measure(name, n, 3 if args.quick else args.repeat, backend)
        rows.append([name, n, backend, t["10 steps"] * 1e3, t["record"] * 1e3, t["record (reference)"] * 1e3,
                     t["record"] / t["10 steps"], t["record (reference)"] / t["10 steps"]])
    print(table(f"Recording observables every {OUTPUT_EVERY} steps (best of {args.repeat}, interleaved)",
                ["model", "N", "backend", "10 steps [ms]", "record [ms]", "reference record [ms]",
                 "ratio record / 10 steps", "ratio (reference)"], rows,
                "goal: ratio record / 10 steps <= 0.25 (issue 18)"))


if __name__ == "__main__":
    main()
