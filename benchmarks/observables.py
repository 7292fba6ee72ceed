"""Cost of recording observables relative to propagating (issue 18, goal 1).

For each model a :class:`ehrenspeed.TrajectoryRun` is built as a user runs
it (Strang steps, compiled backend, ``output_every = 10``). In one process
and interleaved, best of ``--repeat`` rounds, each round timing
``--intervals`` consecutive output intervals of ``advance``:

* ``10 steps``: the intervals without output -- no record, and fused
  blocks that do not compute the record's observables (the no-output
  throughput);
* ``10 steps + record``: the intervals as a user's run takes them (where
  the fused step applies, the last block of each interval computes the
  record's per-trajectory observables while the trajectories are in the
  cache; then ``TrajectoryRun.record``: those observables, ensemble means,
  drift checks);
* ``record``: the difference, per interval: what recording costs;
* ``reference record``: one record timed alone with the reference
  per-trajectory observables (the model's V array, then a batched
  ``eigh``; no fused path), the implementation before issue 18.

The figure of merit is ``record / (10 steps)``: the fraction by which
recording every 10 steps slows the run (goal <= 0.25).

    PYTHONPATH=src python benchmarks/observables.py [--repeat 9] [--quick]
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
from ehrenspeed import driver
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


def measure(name: str, n: int, repeat: int, intervals: int, backend: str) -> dict[str, float]:
    """Best times (s) per interval of the cases of the module docstring."""
    model = es.models.get(name)
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=n, dt=1.0,
                           t_final=1e9, output_every=OUTPUT_EVERY, seed=1, validate=False, backend=backend)
    record = run.record
    observing = driver.fused_block

    def quiet_block(run, parameters, taus, observe=False):
        return observing(run, parameters, taus, False)

    def with_records():
        run.record, driver.fused_block = record, observing
        for _ in range(intervals):
            run.advance()

    def without_output():
        # no record: advance() stays in the same output interval, whose steps it takes again
        run.record, driver.fused_block = (lambda: None), quiet_block
        for _ in range(intervals):
            run.advance()

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

    try:
        with_records(), without_output(), record_reference()     # warm-up (compilation, caches)
        best = {"10 steps": np.inf, "10 steps + record": np.inf, "record (reference)": np.inf}
        for _ in range(repeat):                                  # interleaved rounds
            best["10 steps"] = min(best["10 steps"], _timed(without_output) / intervals)
            best["10 steps + record"] = min(best["10 steps + record"], _timed(with_records) / intervals)
            best["record (reference)"] = min(best["record (reference)"], _timed(record_reference))
    finally:
        driver.fused_block = observing
    best["record"] = best["10 steps + record"] - best["10 steps"]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--intervals", type=int, default=10, help="output intervals per timed round")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args()
    backend = "numba" if HAVE_NUMBA else "numpy"
    for key, value in machine().items():
        print(f"{key}: {value}")
    rows = []
    for name, n in (QUICK if args.quick else CASES):
        repeat, intervals = (3, 2) if args.quick else (args.repeat, args.intervals)
        t = measure(name, n, repeat, intervals, backend)
        rows.append([name, n, backend, t["10 steps"] * 1e3, t["10 steps + record"] * 1e3, t["record"] * 1e3,
                     t["record (reference)"] * 1e3, t["record"] / t["10 steps"],
                     t["record (reference)"] / t["10 steps"]])
    print(table(f"Recording observables every {OUTPUT_EVERY} steps (per interval; best of {args.repeat} rounds "
                f"of {args.intervals} intervals, interleaved)",
                ["model", "N", "backend", "10 steps [ms]", "10 steps + record [ms]", "record [ms]",
                 "reference record [ms]", "ratio record / 10 steps", "ratio (reference)"], rows,
                "goal: ratio record / 10 steps <= 0.25 (issue 18)"))


if __name__ == "__main__":
    main()
