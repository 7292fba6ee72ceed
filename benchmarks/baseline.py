"""ehrenspeed against the best NumPy Ehrenfest we can write, Tully's simple model (issue 18, goal 2).

In one process, interleaved, best of ``--repeat``, the same N trajectories
and the same number of steps of dt = 1 a.u.:

* ehrenspeed, as a user runs it: ``TrajectoryRun.advance`` over one output
  interval of ``--steps`` steps (Strang, compiled kernels, the automatic
  thread count), with the record at its end switched off, so that no output
  is timed. Twice: the default path, which takes the interval in fused
  blocks (propagators/fused.py), and the step-by-step path
  (``EHRENSPEED_FUSED=0``);
* the careful NumPy baseline (``baseline_numpy_careful.py``: structure of
  arrays, real arithmetic, preallocated buffers, closed-form 2x2 rotation);
* the naive NumPy code (``baseline_numpy.py``: batched ``eigh`` and
  ``einsum``, what one writes first), for reference;
* then, for Pyrazine3 (each N of ``--n-pyrazine``), ehrenspeed's
  ``advance``, fused (the vibronic fused step: V, dV/dq and the general
  S-state substep per chunk of trajectories in the cache) and step by step
  (the model's compiled V and dV/dq, then the general S > 2 kernel),
  against the careful NumPy code for that model
  (``baseline_numpy_pyrazine.py``: S0 uncoupled, closed-form 2 x 2 block).

Prints trajectory-steps per second and the ratios, the largest difference
of the final populations between ehrenspeed and the careful baseline after
the same steps, started on the avoided crossing (both are second order in
dt; a sanity check that they integrate the same equations, not an accuracy
figure), and the memory traffic of both ehrenspeed paths.

Bytes moved per trajectory-step are counted from the arrays each pass reads
and writes (8 bytes per float, 16 per complex; no cache effects, no
write-allocate reads), per trajectory:

* step by step: each half drift q + p (tau/m) reads p, writes and reads a
  temporary, reads q, writes q (40 B); the model writes the two exponents
  (16), exp reads and writes them (32), the assembly reads x and them (24)
  and writes V and dV/dx (64): 144 B with the exponents' first pass (8);
  the substep kernel reads p, c, V, dV/dx (104) and writes p, c (40); the
  finiteness check reads p (8): 376 B;
* fused, K steps per call: reads q, p, c (48), writes them (48), the check
  reads p (8): 104 / K B.

The bandwidth floor of those bytes is measured in the same run: a copy
(``np.copyto``) of a buffer of half the bytes per trajectory, N
trajectories (reading and writing it moves all of them), best of the same
repeats.

    PYTHONPATH=src python benchmarks/baseline.py [--n 10000] [--steps 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline_numpy
import baseline_numpy_careful
import baseline_numpy_pyrazine
from _common import machine, table

import ehrenspeed as es
from ehrenspeed import fused_steps
from ehrenspeed.backend import HAVE_NUMBA, threads_for
from ehrenspeed.propagators import fused as fused_module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n-pyrazine", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--steps-pyrazine", type=int, default=100)
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
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=n, dt=1.0,
                           t_final=float(steps), output_every=steps, seed=1, validate=False, backend=backend)
    # centred on the avoided crossing, so that the populations change within the timed steps
    start = run.state.replace(q=run.state.q + 10.0)
    run.record = lambda: None   # the interval's steps alone: no output in the timed region

    def ehrenspeed_advance(fused: bool):
        def advance():
            os.environ[fused_module.ENVIRONMENT] = "1" if fused else "0"
            run.state = start
            run.advance()
        return advance

    careful = baseline_numpy_careful.CarefulTully(start.q[:, 0], start.p[:, 0], start.c)
    naive_steps = max(1, steps // 10)
    cases = {
        "ehrenspeed (fused)": ehrenspeed_advance(True),
        "ehrenspeed (step by step)": ehrenspeed_advance(False),
        "careful NumPy": lambda: careful.propagate(1.0, steps),
        "naive NumPy": lambda: baseline_numpy.propagate(start.q[:, 0], start.p[:, 0], start.c, 1.0, naive_steps),
    }
    per = {"naive NumPy": naive_steps}
    # bytes per trajectory moved by one call of each ehrenspeed path (module docstring)
    k = fused_steps.block_length(run, steps, None)
    bytes_per_call = {"ehrenspeed (fused)": 104 * -(-steps // k), "ehrenspeed (step by step)": 376 * steps}
    buffers = {name: (np.zeros(n * b // 16), np.empty(n * b // 16)) for name, b in bytes_per_call.items()}
    for name, (src, dst) in buffers.items():
        cases[f"copy of the bytes of {name}"] = functools.partial(np.copyto, dst, src)
    for fn in cases.values():                        # warm-up (compilation, caches)
        fn()
    # the sanity check: the same initial state, the same steps
    cases["ehrenspeed (fused)"]()
    fused_state = run.state
    assert run.n_steps == 2 * steps + steps   # the warm-up's two intervals and this one
    careful = baseline_numpy_careful.CarefulTully(start.q[:, 0], start.p[:, 0], start.c)
    careful.propagate(1.0, steps)
    difference = np.max(np.abs(fused_state.populations - np.abs(careful.coefficients()) ** 2))
    cases["ehrenspeed (step by step)"]()
    path_difference = np.max(np.abs(fused_state.c - run.state.c))
    best = best_per_trajectory_step(cases, {name: n * per.get(name, steps) for name in cases}, repeat)
    os.environ.pop(fused_module.ENVIRONMENT, None)
    codes = [name for name in cases if not name.startswith("copy")]
    rows = [[name, n, 1e-6 / best[name], best["careful NumPy"] / best[name], best["naive NumPy"] / best[name]]
            for name in codes]
    threads = threads_for(n, 2) if HAVE_NUMBA else 1
    print(table(f"Tully simple, N = {n}, dt = 1 a.u., {steps} steps per advance (best of {repeat}, interleaved; "
                f"ehrenspeed backend {backend}, {threads} thread(s))",
                ["code", "N", "M traj-steps/s", "ratio vs careful NumPy", "ratio vs naive NumPy"], rows,
                f"max |population difference| ehrenspeed vs careful NumPy after {steps} steps: {difference:.1e}; "
                f"max |c difference| fused vs step by step: {path_difference:.1e}"))
    rows = []
    for name, per_call in bytes_per_call.items():
        floor = best[f"copy of the bytes of {name}"]
        rows.append([name, per_call / steps, floor * 1e9, best[name] * 1e9, best[name] / floor,
                     per_call / steps / (best[name] * 1e9)])
    print(table(f"Bytes moved per trajectory-step (counted from the arrays read and written; fused blocks of "
                f"K = {k} steps) and the bandwidth floor (a copy of the same bytes, this run)",
                ["path", "bytes / traj-step", "copy floor [ns / traj-step]", "measured [ns / traj-step]",
                 "measured / floor", "GB/s achieved"], rows))

    for n_pyrazine in [128] if args.quick else args.n_pyrazine:
        pyrazine(backend, *((n_pyrazine, 10, 2) if args.quick else (n_pyrazine, args.steps_pyrazine, repeat)))


def best_per_trajectory_step(cases, trajectory_steps, repeat: int) -> dict:
    """Best time per trajectory-step of each case, the cases interleaved."""
    best = dict.fromkeys(cases, np.inf)
    for _ in range(repeat):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / trajectory_steps[name])
    return best


def pyrazine(backend: str, n: int, steps: int, repeat: int, dt: float = 4.0) -> None:
    """ehrenspeed's Ehrenfest on Pyrazine3 (fused vibronic step and step by step) against
    baseline_numpy_pyrazine.py, all on one interval of ``steps`` steps from the same state."""
    model = es.models.Pyrazine3()
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=n, dt=dt, t_final=steps * dt,
                           output_every=steps, seed=1, validate=False, backend=backend)
    start = run.state
    run.record = lambda: None   # no output in the timed region

    def advance(fused: bool):
        def call():
            os.environ[fused_module.ENVIRONMENT] = "1" if fused else "0"
            run.state = start
            run.advance()
        return call

    careful = baseline_numpy_pyrazine.CarefulPyrazine3(model, start.q, start.p, start.c)
    cases = {"ehrenspeed (fused)": advance(True), "ehrenspeed (step by step)": advance(False),
             "careful NumPy (Pyrazine3)": lambda: careful.propagate(dt, steps)}
    cases["ehrenspeed (step by step)"]()   # warm-up (compilation), then the sanity checks on the same steps
    stepwise = run.state
    cases["ehrenspeed (fused)"]()
    careful.propagate(dt, steps)
    difference = np.max(np.abs(run.state.populations - np.abs(careful.coefficients()) ** 2))
    path_difference = np.max(np.abs(run.state.c - stepwise.c))
    best = best_per_trajectory_step(cases, dict.fromkeys(cases, n * steps), repeat)
    os.environ.pop(fused_module.ENVIRONMENT, None)
    rows = [[name, n, 1e-6 / best[name], 1e9 * best[name], best["careful NumPy (Pyrazine3)"] / best[name]]
            for name in cases]
    threads = threads_for(n, 3) if HAVE_NUMBA else 1
    print(table(f"Pyrazine3 (3 states, 3 modes), N = {n}, dt = {dt} a.u., {steps} steps per advance (best of "
                f"{repeat}, interleaved; ehrenspeed backend {backend}, {threads} thread(s))",
                ["code", "N", "M traj-steps/s", "ns / traj-step", "ratio vs careful NumPy"], rows,
                f"max |population difference| ehrenspeed vs careful NumPy after {steps} steps: {difference:.1e}; "
                f"max |c difference| fused vs step by step: {path_difference:.1e}"))


if __name__ == "__main__":
    main()
