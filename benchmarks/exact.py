"""Speed of the exact (split-operator) propagator against its FFT floor.

For Pyrazine3 (3 states x 3 modes) on n^3 grids, measures the cost of one
propagation step and divides it by the cost of the FFTs alone (one forward
plus one inverse ``scipy.fft`` transform of the same (3, n, n, n) array, in
place, same threads), measured in the same run. A Strang step with merged
kinetic factors needs exactly one such FFT pair, so the ratio says how much
the pointwise products add; the target is <= 1.3. A fourth-order
(yoshida4) step needs three pairs; its ratio is quoted per pair.

The per-step time is the marginal cost: (time of 2N steps - time of N
steps) / N, so the one extra kinetic factor at the end of each call and the
Python set-up do not count. Each timing is the minimum over repeats
(robust against other processes on the machine); ``--clock cpu`` measures
process CPU time instead of wall time, which other processes cannot
inflate (meaningful with ``--workers 1``).

Usage::

    python benchmarks/exact.py            # 48^3 and 64^3
    python benchmarks/exact.py --quick    # 24^3 and 32^3
    python benchmarks/exact.py --points 48 64 96 --workers 2
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.fft

import ehrenspeed as es
from ehrenspeed.grid import Grid, SplitOperator, initial_wavefunction
from ehrenspeed.grid.kernels import HAVE_NUMBA
from ehrenspeed.grid.operators import diagonalise_potential


#: The clock of the measurements: wall time (``perf_counter``), or the CPU
#: time of the whole process (``process_time``, all threads summed), which
#: other processes on a shared machine do not inflate.
CLOCK = {"clock": time.perf_counter}


def best_time(fn, repeats: int) -> float:
    """Minimum time of ``fn()`` over ``repeats`` calls, seconds (see CLOCK)."""
    clock = CLOCK["clock"]
    best = np.inf
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def fft_pair_time(psi: np.ndarray, workers: int, repeats: int, pairs: int) -> float:
    """Seconds for one forward + inverse FFT of ``psi`` over its last 3 axes, in place."""
    axes = tuple(range(1, psi.ndim))
    work = psi.copy()

    def run():
        x = work
        for _ in range(pairs):
            x = scipy.fft.fftn(x, axes=axes, workers=workers, overwrite_x=True)
            x = scipy.fft.ifftn(x, axes=axes, workers=workers, overwrite_x=True)

    run()
    return best_time(run, repeats) / pairs


def step_time(stepper: SplitOperator, psi: np.ndarray, dt: float, n: int, repeats: int) -> float:
    """Marginal seconds per step: (t(2n steps) - t(n steps)) / n."""
    state = {"psi": psi.copy()}

    def steps(k):
        def run():
            state["psi"] = stepper.advance(state["psi"], [dt] * k)
        return run

    steps(2)()
    t_n = best_time(steps(n), repeats)
    t_2n = best_time(steps(2 * n), repeats)
    return (t_2n - t_n) / n


def measure(points: int, workers: int, dt: float, n: int, repeats: int, use_numba, integrator: str):
    model = es.models.Pyrazine3()
    grid = Grid([-8] * 3, [8] * 3, [points] * 3)
    start = time.perf_counter()
    pot = diagonalise_potential(model, grid)
    stepper = SplitOperator(grid, model.mass, pot, dt, integrator, workers, use_numba)
    setup = time.perf_counter() - start
    psi, _ = initial_wavefunction(model.initial_wavepacket(), grid, model.n_states)
    pairs = 3 if integrator == "yoshida4" else 1
    floor = fft_pair_time(psi, workers, repeats, max(2, n // 2))
    per_step = step_time(stepper, psi, dt, n, repeats)
    # the floor again, after: the machine may be shared, take the smaller
    floor = min(floor, fft_pair_time(psi, workers, repeats, max(2, n // 2)))
    stepper.close()
    return {"points": points, "setup_s": setup, "fft_ms": 1e3 * floor, "step_ms": 1e3 * per_step,
            "ratio": per_step / (pairs * floor)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grids (24^3, 32^3)")
    parser.add_argument("--points", type=int, nargs="+", help="points per mode (default 48 64)")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: all usable CPUs)")
    parser.add_argument("--steps", type=int, default=20, help="N in the marginal-cost measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dt", type=float, default=4.13)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall time, or process CPU time (robust on a busy machine; use with --workers 1)")
    args = parser.parse_args(argv)
    CLOCK["clock"] = time.perf_counter if args.clock == "wall" else time.process_time
    points = args.points or ([24, 32] if args.quick else [48, 64])
    workers = args.workers or len(os.sched_getaffinity(0))
    variants = [("strang", None), ("yoshida4", None)]
    if HAVE_NUMBA:
        variants.append(("strang", False))
    print(f"Pyrazine3, 3 states, grid [-8, 8]^3, dt = {args.dt} a.u., workers = {workers}, "
          f"numba = {HAVE_NUMBA}, clock = {args.clock}, load average = {os.getloadavg()[0]:.1f}")
    print(f"{'grid':>12} {'integrator':>10} {'kernels':>8} {'setup s':>8} {'FFT pair ms':>12} "
          f"{'step ms':>9} {'ratio':>6}")
    for n in points:
        for integrator, use_numba in variants:
            kernels = "numpy" if use_numba is False or not HAVE_NUMBA else "numba"
            r = measure(n, workers, args.dt, args.steps, args.repeats, use_numba, integrator)
            print(f"{'3 x ' + str(n) + '^3':>12} {integrator:>10} {kernels:>8} {r['setup_s']:8.2f} "
                  f"{r['fft_ms']:12.2f} {r['step_ms']:9.2f} {r['ratio']:6.2f}", flush=True)
    print("ratio = time per step / (FFT pairs per step x time of one forward + inverse FFT); "
          "target <= 1.3")


if __name__ == "__main__":
    main()
