"""Multi-centre SPEED on an expensive on-the-fly model: wall time and single points against K.

The 6-coordinate anharmonic two-state model of ``hessian_policies.py``,
served one geometry at a time by :func:`ehrenspeed.models.from_single_point`
with a sleep per single point (1 ms by default: a stand-in for an
electronic-structure call whose cost dominates everything else), with
derivatives by finite differences. For Ehrenfest (every trajectory's own
V and dV/dq: 1 + 2 D single points per trajectory per substep), SPEED
(one expansion: 2 D^2 + 1 for V, dV/dq and the Hessian at the mean) and
multi-centre SPEED with K = 2, 4, 8 groups (K expansions per substep,
their single points mapped together), the script prints the wall time, the
single points per step and the ratios against SPEED and Ehrenfest, for a
serial executor and for a process pool (``--workers``, default 2): the
wall time grows with K only as far as the executor's width does not absorb
it. Every number comes from this one run.

Usage::

    PYTHONPATH=src python benchmarks/multicentre_onthefly.py            # N = 32, 50 steps
    PYTHONPATH=src python benchmarks/multicentre_onthefly.py --quick    # N = 8, 5 steps
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ehrenspeed as es

sys.path.insert(0, str(Path(__file__).parent))
from hessian_policies import _SlowSinglePoint  # noqa: E402  (the same model, one definition)


def model(sleep: float, executor, workers: int):
    """The slow 6-D model with the given executor ("serial" or "process" with ``workers``)."""
    return es.models.from_single_point(_SlowSinglePoint(sleep), 2, 6, [3000.0] + [2000.0] * 5,
                                       executor=executor, max_workers=workers)


def methods() -> dict:
    return {
        "Ehrenfest": "ehrenfest",
        "SPEED (K = 1)": es.SPEED(),
        "K = 2": es.SPEED(centres=2, regroup_every=25),
        "K = 4": es.SPEED(centres=4, regroup_every=25),
        "K = 8": es.SPEED(centres=8, regroup_every=25),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 8, 5 steps (a smoke test)")
    ap.add_argument("--sleep", type=float, default=1e-3, help="seconds per single point")
    ap.add_argument("--workers", type=int, default=2, help="processes of the pool executor")
    args = ap.parse_args(argv)
    n, steps = (8, 5) if args.quick else (32, 50)
    dt = 8.0
    wp = es.Wavepacket([-0.4] + [0.0] * 5, [9.0, 2.0, -2.0, 1.0, 0.0, 1.0], [3.0, 2.5, 2.5, 2.5, 2.5, 2.5],
                       state=1)
    kwargs = {"n_traj": n, "dt": dt, "t_final": steps * dt, "output_every": steps, "seed": 11,
              "validate": False}
    print(f"6-D on-the-fly model, {args.sleep * 1e3:g} ms per single point, N = {n}, {steps} Strang steps")
    print(f"{'executor':<12} {'method':<14} {'wall s':>8} {'points/step':>12} {'t / SPEED':>10} "
          f"{'t / Ehrenfest':>14} {'P_upper':>8}")
    for executor, workers in (("serial", 1), ("process", args.workers)):
        times = {}
        for name, method in methods().items():
            mdl = model(args.sleep, executor, workers)
            start = time.perf_counter()
            res = es.run(mdl, wp, method, **kwargs)
            times[name] = time.perf_counter() - start
            calls = res.attrs.get("electronic_structure_calls", 0)
            label = executor if workers == 1 else f"{executor} x{workers}"
            print(f"{label:<12} {name:<14} {times[name]:8.2f} {calls / steps:12.1f} "
                  f"{times[name] / times.get('SPEED (K = 1)', float('nan')):10.2f} "
                  f"{times[name] / times['Ehrenfest']:14.3f} "
                  f"{float(res['population'].isel(time=-1).sel(state=1)):8.4f}", flush=True)
            close = getattr(mdl, "close", None)
            if close is not None:
                close()


if __name__ == "__main__":
    main()
