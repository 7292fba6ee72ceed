"""Propagation benchmarks of ehrenspeed (issue 6): throughput, peers, floors, scaling.

Usage::

    pip install -e ".[fast]" -r benchmarks/requirements.txt
    python benchmarks/run.py            # full figures (several minutes)
    python benchmarks/run.py --quick    # small sizes, under a minute (CI)

Prints Markdown tables; every ratio is formed from numbers measured in this
run. Nothing is asserted: the figures depend on the machine and its load.
The grid propagator's floor (FFT) is measured by ``benchmarks/exact.py``.

Throughput is trajectory-steps per second of :func:`ehrenspeed.run`
(Strang steps, output only at the end, model validation off), from the
run's ``wall_time_s``: it includes the model evaluations, the drift, the
per-step finiteness check and one final observable evaluation.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ehrenspeed as es  # noqa: E402
from ehrenspeed.propagators import kernels, use_backend  # noqa: E402

from _common import best_time, eigh_floor, machine, table  # noqa: E402
import baseline_numpy  # noqa: E402
import peers  # noqa: E402

BACKENDS = ["numba", "numpy"] if kernels.HAVE_NUMBA else ["numpy"]

#: (label, model factory, N, steps, dt) of the throughput table; quick sizes second.
CASES = {
    False: [("Tully simple", es.models.TullySimple, 10_000, 200, 1.0),
            ("Pyrazine3", es.models.Pyrazine3, 1024, 100, 4.0),
            ("Chemisorption (S=45)", es.models.Chemisorption, 1024, 10, 10.0)],
    True: [("Tully simple", es.models.TullySimple, 10_000, 10, 1.0),
           ("Pyrazine3", es.models.Pyrazine3, 1024, 5, 4.0),
           ("Chemisorption (S=45)", es.models.Chemisorption, 64, 1, 10.0)],
}


def wavepacket(model):
    return model.initial_wavepacket()


def run_rate(model, method, n, steps, dt, backend, repeat=3, chunk_size=None) -> float:
    """Trajectory-steps per second of es.run (best of ``repeat``), JIT warmed up."""
    wp = wavepacket(model)
    kw = dict(dt=dt, seed=1, validate=False, chunk_size=chunk_size)
    with use_backend(backend):
        es.run(model, wp, method, n_traj=min(n, 16), t_final=2 * dt, output_every=2, **kw)
        best = min(es.run(model, wp, method, n_traj=n, t_final=steps * dt, output_every=steps,
                          **kw).attrs["wall_time_s"] for _ in range(repeat))
    return n * steps / best


def potential_matrices(model, n):
    """V at the positions of an N-trajectory Wigner sample, (N, S, S)."""
    state = es.sample_wigner(wavepacket(model), n, 1, n_states=model.n_states)
    return np.ascontiguousarray(model.potential(state.q))


def throughput(quick: bool) -> str:
    rows = []
    for label, make, n, steps, dt in CASES[quick]:
        model = make()
        floor, how = eigh_floor(potential_matrices(model, n))
        for method in ("ehrenfest", "speed", "fssh"):  # fssh: surface hopping, per-trajectory source
            rates = {b: run_rate(model, method, n, steps, dt, b, repeat=2 if quick else 3) for b in BACKENDS}
            fast = rates[BACKENDS[0]]
            step_ms = n / fast * 1e3
            rows.append([label, model.n_states, n, method, fast / 1e6,
                         rates["numpy"] / 1e6, fast / rates["numpy"], step_ms, floor * 1e3,
                         step_ms / (floor * 1e3)])
    return table("Throughput (ehrenspeed.run, Strang)",
                 ["model", "S", "N", "method", f"{BACKENDS[0]} Msteps/s", "numpy Msteps/s",
                  "speed-up", "ms/step", "eigh floor ms", "step / floor"], rows,
                 note="eigh floor: one batched numpy.linalg.eigh of the (N, S, S) potential "
                      f"matrices ({how} in the last row; the faster of default and 1-thread "
                      "BLAS). The grid propagator's floor (FFT) is in benchmarks/exact.py.")


def peer_table(quick: bool) -> str:
    n = 10_000
    steps = 10 if quick else 200
    dt = 1.0
    model = es.models.TullySimple()
    ours = {b: run_rate(model, "ehrenfest", n, steps, dt, b, repeat=2 if quick else 3) for b in BACKENDS}
    speed = run_rate(model, "speed", n, steps, dt, BACKENDS[0], repeat=2 if quick else 3)
    # plain NumPy baseline (its own code, same ensemble size)
    rng = np.random.default_rng(1)
    x = -10.0 + rng.normal(scale=20.0 / 15.0 / np.sqrt(2.0), size=n)
    p = 15.0 + rng.normal(scale=15.0 / 20.0 / np.sqrt(2.0), size=n)
    c = np.zeros((n, 2), complex)
    c[:, 0] = 1.0
    baseline = n * steps / best_time(lambda: baseline_numpy.propagate(x, p, c, dt, steps), 2 if quick else 3)
    mud_n, mud_steps = (2, 50) if quick else (20, 200)
    mud = peers.mudslide_rate(mud_n, mud_steps, dt)
    qc_n, qc_steps = (1000, 5) if quick else (n, steps)
    qc = peers.qclab_rate(qc_n, qc_steps, dt, repeat=1 if quick else 2)
    qc_parallel = peers.qclab_rate(qc_n, qc_steps, dt, repeat=1 if quick else 2, driver="multiprocessing")
    best = ours[BACKENDS[0]]
    rows = [[f"ehrenspeed Ehrenfest ({BACKENDS[0]})", n, best / 1e6, 1.0]]
    if "numpy" in ours and BACKENDS[0] != "numpy":
        rows.append(["ehrenspeed Ehrenfest (numpy backend)", n, ours["numpy"] / 1e6, best / ours["numpy"]])
    rows.append([f"ehrenspeed SPEED ({BACKENDS[0]})", n, speed / 1e6, best / speed])
    rows.append(["naive NumPy baseline (benchmarks/baseline_numpy.py; careful one: baseline.py)", n, baseline / 1e6, best / baseline])
    for name, rate, size in (("mudslide Ehrenfest (BatchedTraj) [*]", mud, mud_n),
                             ("QC Lab MeanField (serial_driver) [**]", qc, qc_n),
                             ("QC Lab MeanField (parallel_driver_multiprocessing, all cores) [**]",
                              qc_parallel, qc_n)):
        if rate is None:
            rows.append([name + " -- not installed", size, float("nan"), float("nan")])
        else:
            rows.append([name, size, rate / 1e6, best / rate])
    return table("Tully's simple model: ehrenspeed against peers",
                 ["code", "N", "Msteps/s", "ehrenspeed / this"], rows,
                 note="[*] mudslide's Ehrenfest force omits the coherence term "
                      "2 sum_{k<l} (E_l - E_k) Re(rho_kl d_kl): only its speed is comparable; "
                      "it runs trajectories one at a time (its cost per trajectory-step does not "
                      "depend on N, so a small N is timed).\n"
                      "[**] QC Lab integrates the classical coordinates with RK4 (four force "
                      "evaluations per step).")


def scaling_n(quick: bool) -> str:
    sizes = [100, 1000, 10_000] if quick else [100, 1000, 10_000, 100_000]
    steps = 5 if quick else 50
    model = es.models.TullySimple()
    rows = []
    for n in sizes:
        for method in ("ehrenfest", "speed"):
            rate = run_rate(model, method, n, steps, 1.0, BACKENDS[0], repeat=2)
            peak = peak_memory(model, method, n, 4, 1.0)
            rows.append([n, method, n / rate * 1e3, 1e9 / rate, peak / 2**20, peak / n])
    return table(f"Scaling with N (Tully simple, {BACKENDS[0]})",
                 ["N", "method", "ms/step", "ns per trajectory-step", "peak MiB", "peak bytes / N"],
                 rows, note="Peak memory: tracemalloc peak of the propagation (numpy buffers), "
                            "after the initial state exists.")


def scaling_s(quick: bool) -> str:
    layers = [1, 2, 4] if quick else [1, 2, 4, 9, 18]
    n = 64 if quick else 512
    steps = 1 if quick else 5
    rows = []
    for nl in layers:
        model = es.models.Chemisorption(n_layers=nl)
        s = model.n_states
        floor, _ = eigh_floor(potential_matrices(model, n), repeat=2)
        rate = run_rate(model, "ehrenfest", n, steps, 10.0, BACKENDS[0], repeat=2)
        step = n / rate
        peak = peak_memory(model, "ehrenfest", n, 2, 10.0)
        rows.append([s, n, step * 1e3, step / n / s**3 * 1e9, floor * 1e3, step / floor,
                     peak / 2**20, peak / (n * s * s)])
    return table(f"Scaling with S (Chemisorption with L layers of 5 states, Ehrenfest, {BACKENDS[0]})",
                 ["S", "N", "ms/step", "ns / (N S^3)", "eigh floor ms", "step / floor", "peak MiB",
                  "peak bytes / (N S^2)"], rows,
                 note="At these N the dense V (N, S, S) and dV/dq (N, D, S, S) of the model "
                      "contract fit in the batching budget (ehrenspeed.driver.DENSE_MATRIX_BUDGET), "
                      "so peak memory is O(N S^2 (1 + D)) here; the next table shows N beyond it.")


def scaling_memory(quick: bool) -> str:
    """Peak memory against N at S = 45, where V and dV/dq outgrow the batching budget."""
    from ehrenspeed.driver import default_chunk_size

    model = es.models.Chemisorption()
    s = model.n_states
    sizes = [64, 256, 1024] if quick else [1024, 4096, 16384, 32768]
    rows = []
    for method in ("ehrenfest", "speed"):
        previous = None
        for n in sizes:
            peak = peak_memory(model, method, n, 1, 10.0)
            slope = "" if previous is None else (peak - previous[1]) / ((n - previous[0]) * s)
            rows.append([method, n, peak / 2**20, peak / (n * s), slope])
            previous = (n, peak)
    chunk = default_chunk_size(model)
    return table(f"Peak memory against N (Chemisorption, S = {s}, D = 1, {BACKENDS[0]}, 1 step)",
                 ["method", "N", "peak MiB", "peak bytes / (N S)", "increment bytes / (dN S)"], rows,
                 note=f"Default batching: V and dV/dq (and the temporaries of their use) for at "
                      f"most {chunk} trajectories at a time (64 MiB of V and dV/dq); SPEED's compiled "
                      "substep never stores them, only the observables do, in the same batches. "
                      "Beyond the first batch the increment per added trajectory and state is "
                      "constant: memory O(N S).")


def kernel_table(quick: bool) -> str:
    """The compiled potential substep alone, against the NumPy reference and eigh."""
    import numba

    rows = []
    for label, make, n in (("Tully simple", es.models.TullySimple, 10_000),
                           ("Pyrazine3", es.models.Pyrazine3, 1024)):
        model = make()
        state = es.sample_wigner(wavepacket(model), n, 1, n_states=model.n_states)
        v, dv = model.potential(state.q), model.gradient(state.q)
        p, c = state.p, np.ascontiguousarray(state.c, dtype=complex)
        repeat = 3 if quick else 20
        substep = es.propagators.potential_substep
        reference = best_time(lambda: substep(p, c, v, dv, 1.0), repeat)
        floor, _ = eigh_floor(v, repeat)
        threads = numba.get_num_threads()
        for t in sorted({1, threads}):
            numba.set_num_threads(t)
            kernels.potential_substep_numba(p, c, v, dv, 1.0)      # compile / warm
            fast = best_time(lambda: kernels.potential_substep_numba(p, c, v, dv, 1.0), repeat)
            rows.append([label, model.n_states, n, t, fast * 1e3, fast / n * 1e9 * t,
                         reference / fast, floor / fast])
        numba.set_num_threads(threads)
    return table("Potential substep alone (V, dV/dq given)",
                 ["model", "S", "N", "threads", "ms", "ns per trajectory x thread",
                  "NumPy reference / this", "eigh floor / this"], rows,
                 note="Best of repeated calls of kernels.potential_substep_numba on the same "
                      "arrays; in a run the workers also wake up for each call.")


def peak_memory(model, method, n, steps, dt) -> int:
    """tracemalloc peak (bytes) of propagating N trajectories, beyond the initial state."""
    wp = wavepacket(model)
    state = es.sample_wigner(wp, n, 1, n_states=model.n_states)
    with use_backend(BACKENDS[0]):
        es.run(model, state.take(slice(0, 64)), method, t_final=dt, dt=dt, validate=False)  # compile
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        es.run(model, state, method, t_final=steps * dt, dt=dt, output_every=steps, validate=False)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return peak


def cost_model() -> str:
    """Scalar-count cost model (docs/trajectories.md) against the counted evaluations."""
    rows = []
    for label, make, n, steps, dt in (("Tully simple", es.models.TullySimple, 1000, 10, 1.0),
                                      ("Pyrazine3", es.models.Pyrazine3, 1024, 10, 4.0),
                                      ("Chemisorption", es.models.Chemisorption, 64, 4, 10.0)):
        model = make()
        for method in ("ehrenfest", "speed"):
            res = es.run(model, wavepacket(model), method, n_traj=n, dt=dt, t_final=steps * dt,
                         output_every=steps, seed=1, validate=False)
            a = res.attrs
            predicted = a["scalar_cost_ehrenfest"] if method == "ehrenfest" else a["scalar_cost_speed"]
            rows.append([label, model.n_states, model.n_dof, n, method, a["potential_substeps"],
                         a["potential_evaluations"], a["scalar_evaluations"], predicted,
                         a["scalar_evaluations"] / predicted])
    return table("Cost model: unique scalars (docs/trajectories.md) against counted evaluations",
                 ["model", "S", "D", "N", "method", "substeps", "potential evaluations",
                  "scalars counted", "scalars predicted", "counted / predicted"], rows,
                 note="Counted scalars include the evaluations made to record observables at "
                      "the 2 output times (start and end) and, for SPEED, the initial Hessian; the "
                      "prediction counts only the propagation's substeps.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI, < 1 minute)")
    parser.add_argument("--only", choices=["throughput", "peers", "kernels", "scaling", "memory", "cost"], nargs="*")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    info = machine()
    print("## ehrenspeed propagation benchmarks" + (" (--quick)" if args.quick else ""))
    print("\n".join(f"- {k}: {v}" for k, v in info.items()))
    parts = {"throughput": throughput, "peers": peer_table,
             "scaling": lambda q: scaling_n(q) + "\n" + scaling_s(q), "memory": scaling_memory,
             "kernels": kernel_table,
             "cost": lambda q: cost_model()}
    for name in args.only or list(parts):
        if name == "kernels" and not kernels.HAVE_NUMBA:
            # the table compares the compiled kernel with NumPy: nothing to compare
            print("\n(kernel table skipped: numba is not installed; pip install '.[fast]')", flush=True)
            continue
        print(parts[name](args.quick), flush=True)
    print(f"\n(total benchmark time {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
