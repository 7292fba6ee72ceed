"""ehrenspeed against the best NumPy Ehrenfest we can write, Tully's simple model (issue 18, goal 2).

In one process, interleaved, best of ``--repeat``, the same N trajectories
and the same number of steps of dt = 1 a.u.:

* ehrenspeed: ``TrajectoryRun`` steps (Strang, compiled kernels, the
  automatic thread count), no output -- the propagation loop of ``advance``;
* the careful NumPy baseline (``baseline_numpy_careful.py``: structure of
  arrays, real arithmetic, preallocated buffers, closed-form 2x2 rotation);
* the naive NumPy code (``baseline_numpy.py``: batched ``eigh`` and
  ``einsum``, what one writes first), for reference.

Prints trajectory-steps per second and the ratios, plus the largest
difference of the final populations between ehrenspeed and the careful
baseline after the same steps, started on the avoided crossing (both are
second order in dt; a sanity check that they integrate the same equations,
not an accuracy figure).

    PYTHONPATH=src python benchmarks/baseline.py [--n 10000] [--steps 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline_numpy
import baseline_numpy_careful
from _common import machine, table

import ehrenspeed as es
from ehrenspeed.backend import HAVE_NUMBA, threads_for, use_backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, steps, repeat = (1000, 20, 2) if args.quick else (args.n, args.steps, args.repeat)
    backend = "numba" if HAVE_NUMBA else "numpy"
    for key, value in machine().items():
        print(f"{key}: {value}")
    model = es.models.TullySimple()
    assert (model.a, model.b, model.c, model.d, float(model.mass[0])) == (
        baseline_numpy_careful.A, baseline_numpy_careful.B, baseline_numpy_careful.C, baseline_numpy_careful.D,
        baseline_numpy_careful.MASS), "the baselines' parameters must be the model's"
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=n, dt=1.0, t_final=1e6,
                           output_every=None, output_times=[0.0, 1e6], seed=1, validate=False, backend=backend)
    # centred on the avoided crossing, so that the populations change within the timed steps
    start = run.state.replace(q=run.state.q + 10.0)
    run.state = start

    def ehrenspeed_steps():
        with use_backend(run.backend):
            for _ in range(steps):
                run.state = run.integrator.step(run.state, 1.0, run.source, run.model, run.inv_mass,
                                                run._chunk, run.backend)
                run._check_finite()

    careful = baseline_numpy_careful.CarefulTully(start.q[:, 0], start.p[:, 0], start.c)
    naive_steps = max(1, steps // 10)
    cases = {
        "ehrenspeed": ehrenspeed_steps,
        "careful NumPy": lambda: careful.propagate(1.0, steps),
        "naive NumPy": lambda: baseline_numpy.propagate(start.q[:, 0], start.p[:, 0], start.c, 1.0, naive_steps),
    }
    per = {"ehrenspeed": steps, "careful NumPy": steps, "naive NumPy": naive_steps}
    for fn in cases.values():                        # warm-up (compilation, caches)
        fn()
    # the sanity check: the same initial state, the same steps
    run.state = start
    careful = baseline_numpy_careful.CarefulTully(start.q[:, 0], start.p[:, 0], start.c)
    ehrenspeed_steps()
    careful.propagate(1.0, steps)
    difference = np.max(np.abs(run.state.populations - np.abs(careful.coefficients()) ** 2))
    best = dict.fromkeys(cases, np.inf)
    for _ in range(repeat):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / (n * per[name]))
    rows = [[name, n, 1e-6 / best[name], best["careful NumPy"] / best[name], best["naive NumPy"] / best[name]]
            for name in cases]
    print(table(f"Tully simple, N = {n}, dt = 1 a.u. (best of {repeat}, interleaved; ehrenspeed backend "
                f"{backend}, {threads_for(n, 2) if HAVE_NUMBA else 1} thread(s))",
                ["code", "N", "M traj-steps/s", "ratio vs careful NumPy", "ratio vs naive NumPy"], rows,
                f"max |population difference| ehrenspeed vs careful NumPy after {steps} steps: {difference:.1e}"))


if __name__ == "__main__":
    main()
