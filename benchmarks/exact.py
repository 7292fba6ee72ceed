"""Speed of the exact (split-operator) propagator against its FFT floor.

For Pyrazine3 (3 states x 3 modes) on n^3 grids, measures the cost of one
propagation step and divides it by the cost of the FFTs alone (one forward
plus one inverse transform of the same (3, n, n, n) array, in place, same
threads, with the FFT library in use: scipy, and FFTW when pyFFTW is
installed, see ``ehrenspeed.grid.fft``), measured in the same run. A Strang step with merged
kinetic factors needs exactly one such FFT pair, so the ratio says how much
the pointwise products add; the target is <= 1.3. A fourth-order
(yoshida4) step needs three pairs; its ratio is quoted per pair.

One step is timed as the factors it adds inside a run of steps (for
Strang: one merged kinetic factor exp(-i T dt) and one potential factor),
exactly the calls ``SplitOperator.advance`` makes, part by part: forward
FFT, phase product, inverse FFT, potential product. The FFT floor is the
forward + inverse FFTs of the same array in the same samples. Each part's
cost is its minimum over the samples (robust against other processes on a
shared machine); the minimum of whole steps is printed beside it.
With pyFFTW installed, the FFT pair of each library is also divided by the
FFTW floor: planned (FFTW_MEASURE) in-place transforms of an aligned array,
the fastest FFTW gives (goal: ehrenspeed's FFTW path within 1.3x of it).
``--clock cpu`` measures process CPU time instead of wall time (meaningful
with ``--workers 1``).

Usage::

    python benchmarks/exact.py            # 48^3 and 64^3
    python benchmarks/exact.py --quick    # 24^3 and 32^3
    python benchmarks/exact.py --points 48 64 96 --workers 2 --samples 100
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.grid import Grid, SplitOperator, fft, initial_wavefunction
from ehrenspeed.grid.kernels import HAVE_NUMBA
from ehrenspeed.grid.operators import diagonalise_potential

#: The clock of the measurements: wall time (``perf_counter``), or the CPU
#: time of the whole process (``process_time``, all threads summed), which
#: other processes on a shared machine do not inflate.
CLOCK = {"clock": time.perf_counter}


def per_step_factors(stepper: SplitOperator, dt: float) -> list[tuple[str, float]]:
    """The factors one step adds inside a run of steps (kinetic factors merged)."""
    one, two = stepper.sequence([dt]), stepper.sequence([dt, dt])
    return two[len(one) - 1:len(two) - 1]


def copy_floor(nbytes: int, workers: int):
    """A callable copying ``nbytes / 2`` bytes with ``workers`` threads: it moves ``nbytes``
    (read + write), the memory-bandwidth floor of a pass over as many bytes."""
    from concurrent.futures import ThreadPoolExecutor

    src = np.ones(max(1, nbytes // 16))
    dst = np.empty_like(src)
    pieces = [slice(i * src.size // workers, (i + 1) * src.size // workers) for i in range(workers)]
    pool = ThreadPoolExecutor(workers)

    def copy():
        list(pool.map(lambda piece: np.copyto(dst[piece], src[piece]), pieces))   # releases the GIL

    return copy, pool


def measure(points: int, workers: int, dt: float, samples: int, use_numba, integrator: str):
    """Timings (seconds) of the parts of a step and of whole steps, sample by sample.

    Each sample runs the factors of one step, timing separately every
    forward FFT, phase product, inverse FFT and potential product (the
    exact calls of ``SplitOperator.kinetic`` / ``potential``), then the
    whole step once more in one piece. The minimum of each part over the
    samples is its cost on a quiet machine; short parts find quiet moments
    more easily than a whole step, so the sum of the parts' minima is the
    fairer number on a shared machine, and the whole-step minimum is shown
    beside it.
    """
    clock = CLOCK["clock"]
    model = es.models.Pyrazine3()
    grid = Grid([-8] * 3, [8] * 3, [points] * 3)
    start = time.perf_counter()
    pot = diagonalise_potential(model, grid)
    stepper = SplitOperator(grid, model.mass, pot, dt, integrator, workers, use_numba)
    setup = time.perf_counter() - start
    psi, _ = initial_wavefunction(model.initial_wavepacket(), grid, model.n_states)
    psi = stepper.advance(psi, [dt])
    factors = per_step_factors(stepper, dt)
    pairs = sum(kind == "T" for kind, _ in factors)
    s = model.n_states
    # the potential product reads the stored propagator and psi and writes psi
    stored = stepper._propagators.get(next(tau for kind, tau in factors if kind == "V"))
    moved = (stored.nbytes if stored is not None else 0) + 2 * psi.nbytes
    bandwidth_floor, pool = copy_floor(moved, workers)
    parts = {"fft": [], "phase": [], "ifft": [], "potential": [], "step": [], "copy": []}
    for _ in range(samples + 1):           # the first sample warms up (plans, caches)
        sample = dict.fromkeys(parts, 0.0)
        for kind, tau in factors:
            if kind == "T":
                phase = stepper._phase(tau)
                t0 = clock()
                psi = stepper.transforms.forward(psi)
                t1 = clock()
                stepper.kernels.apply_phase(psi.reshape(s, -1), phase)
                t2 = clock()
                psi = stepper.transforms.inverse_unnormalised(psi)
                t3 = clock()
                sample["fft"] += t1 - t0
                sample["phase"] += t2 - t1
                sample["ifft"] += t3 - t2
            else:
                t0 = clock()
                psi = stepper.potential(psi, tau)
                sample["potential"] += clock() - t0
                t0 = clock()
                bandwidth_floor()
                sample["copy"] += clock() - t0
        t0 = clock()
        for kind, tau in factors:
            psi = stepper.kinetic(psi, tau) if kind == "T" else stepper.potential(psi, tau)
        sample["step"] = clock() - t0
        for key in parts:
            parts[key].append(sample[key])
    stepper.close()
    pool.shutdown()
    best = {key: min(values[1:]) for key, values in parts.items()}
    floor = best["fft"] + best["ifft"]
    step = floor + best["phase"] + best["potential"]
    return {"points": points, "setup_s": setup, "pairs": pairs, "fft_ms": 1e3 * floor / pairs,
            "phase_ms": 1e3 * best["phase"] / pairs, "potential_ms": 1e3 * best["potential"] / pairs,
            "step_ms": 1e3 * step, "ratio": step / floor, "whole_step_ratio": best["step"] / floor,
            "moved_mb": moved / 1e6, "potential_floor": best["potential"] / best["copy"]}


def fft_pairs_interleaved(points: int, n_states: int, workers: int, samples: int) -> dict[str, float]:
    """Seconds of one forward + inverse transform pair of an (S, n, n, n) array, best of
    ``samples`` rounds that time, one after the other: scipy, ehrenspeed's FFTW path
    (``grid.fft.InPlaceTransforms``, what the split-operator step calls) and the FFTW
    floor (planned FFTW_MEASURE transforms executed in place on an aligned array: the
    fastest FFTW gives, without ehrenspeed's Python layer). Interleaved, so the three
    ratios come from the same moments of a shared machine."""
    import pyfftw

    clock = CLOCK["clock"]
    axes = (1, 2, 3)
    shape = (n_states, points, points, points)
    a = pyfftw.empty_aligned(shape, dtype=complex)
    forward = pyfftw.FFTW(a, a, axes=axes, direction="FFTW_FORWARD", flags=("FFTW_MEASURE",), threads=workers)
    inverse = pyfftw.FFTW(a, a, axes=axes, direction="FFTW_BACKWARD", flags=("FFTW_MEASURE",), threads=workers)
    data = np.random.default_rng(0).normal(size=shape) + 0j
    a[:] = data                                               # after planning (MEASURE overwrites)

    transforms = {}
    for name in ("scipy", "fftw"):
        old = fft.set_library(name)
        transforms[name] = fft.InPlaceTransforms(shape, axes, workers)     # what the stepper uses
        fft.set_library(old)

    def library_pair(name):
        psi = data.copy() if name == "scipy" else transforms[name].buffer
        t0 = clock()
        psi = transforms[name].forward(psi)
        transforms[name].inverse_unnormalised(psi)
        return clock() - t0

    def floor_pair():
        t0 = clock()
        forward.execute()
        inverse.execute()
        return clock() - t0

    cases = {"scipy": lambda: library_pair("scipy"), "fftw": lambda: library_pair("fftw"), "floor": floor_pair}
    best = dict.fromkeys(cases, float("inf"))
    for round_ in range(samples + 1):                         # the first round plans and warms up
        for name, pair in cases.items():
            seconds = pair()
            if round_:
                best[name] = min(best[name], seconds)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grids (24^3, 32^3)")
    parser.add_argument("--points", type=int, nargs="+", help="points per mode (default 48 64)")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: all usable CPUs)")
    parser.add_argument("--samples", type=int, default=40, help="timed steps (and FFT pairs) per case")
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
    libraries = ["scipy", "fftw"] if fft.HAVE_FFTW else ["scipy"]
    print(f"Pyrazine3, 3 states, grid [-8, 8]^3, dt = {args.dt} a.u., workers = {workers}, "
          f"numba = {HAVE_NUMBA}, FFT libraries = {', '.join(libraries)}, clock = {args.clock}, "
          f"load average = {os.getloadavg()[0]:.1f}")
    print(f"{'grid':>12} {'FFT':>5} {'integrator':>10} {'kernels':>8} {'setup s':>8} {'FFT pair':>9} {'phase':>7} "
          f"{'V prod':>7} {'step ms':>8} {'ratio':>6} {'whole':>6} {'V MB':>6} {'V/bw':>5}")
    for n in points:
        for library in libraries:
            old = fft.set_library(library)
            for integrator, use_numba in variants if library == libraries[-1] else variants[:1]:
                kernels = "numpy" if use_numba is False or not HAVE_NUMBA else "numba"
                r = measure(n, workers, args.dt, args.samples, use_numba, integrator)
                print(f"{'3 x ' + str(n) + '^3':>12} {library:>5} {integrator:>10} {kernels:>8} "
                      f"{r['setup_s']:8.2f} {r['fft_ms']:9.2f} {r['phase_ms']:7.2f} {r['potential_ms']:7.2f} "
                      f"{r['step_ms']:8.2f} {r['ratio']:6.2f} {r['whole_step_ratio']:6.2f} "
                      f"{r['moved_mb']:6.1f} {r['potential_floor']:5.2f}", flush=True)
            fft.set_library(old)
    if fft.HAVE_FFTW:
        print("\nFFT pairs alone, interleaved (scipy, ehrenspeed's FFTW path, the FFTW floor: planned "
              "in-place FFTW_MEASURE transforms of the same array, same threads), best of the samples:")
        for n in points:
            best = fft_pairs_interleaved(n, 3, workers, args.samples)
            print(f"  3 x {n}^3: scipy {1e3 * best['scipy']:.2f} ms, fftw {1e3 * best['fftw']:.2f} ms, "
                  f"floor {1e3 * best['floor']:.2f} ms; ratio scipy / fftw = {best['scipy'] / best['fftw']:.2f}; "
                  f"ratio fftw / floor = {best['fftw'] / best['floor']:.2f} (goal <= 1.3); "
                  f"ratio scipy / floor = {best['scipy'] / best['floor']:.2f}", flush=True)
    print("FFT pair, phase, V prod: ms per FFT pair / phase product / potential product (per Strang "
          "substep for yoshida4);\nratio = step / FFTs of the step (sum of the parts' minima); whole = "
          "fastest whole step / FFTs. Target: ratio <= 1.3\nV MB = bytes the potential product must move "
          "(stored propagator read, psi read and written); V/bw = potential product / a threaded copy of "
          "as many bytes in the same samples (1 = at memory bandwidth)")


if __name__ == "__main__":
    main()
