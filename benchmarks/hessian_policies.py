"""SPEED's Hessian policies: what each costs and how far it strays from every-step SPEED.

For three systems, the same initial ensemble and time axis for every policy:

* ``retinal``: the two-state torsion model (``es.models.Retinal``), 2
  coordinates, strongly anharmonic (periodic torsion);
* ``furan``: the furan dimer cation (``es.models.FuranDimer``), Morse
  diabats, 1 coordinate, at 300 K;
* ``onthefly``: a 6-coordinate, 2-state anharmonic model (Morse reaction
  coordinate, five bath modes with cubic and quartic couplings) served one
  geometry at a time through :func:`ehrenspeed.models.from_single_point`
  with a 1 ms sleep per single point and a serial executor, so gradients
  (2 D + 1 = 13 single points with V) and Hessians (2 D^2 + 1 = 73) are
  finite differences and the wall time is the single points' time.

Columns: Hessians per step (model Hessian evaluations / steps); single
points per step (counted by the on-the-fly model; for the analytic models
the cost the same policy would have on the fly, (1 + 2 D) + (2 D^2 + 1) x
Hessians per step); dP = max over output times of |P_1 - P_1(every-step
SPEED)|; dq = max over output times and coordinates of |<q> - <q>(every
step)|; wall time (on-the-fly only) relative to every-step SPEED.

Usage::

    python benchmarks/hessian_policies.py            # N = 64
    python benchmarks/hessian_policies.py --quick    # N = 16, shorter runs
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.units import FS


def policies():
    return {
        "every step": es.SPEED(),
        "hessian_every=5": es.SPEED(hessian_every=5),
        "hessian_every=20": es.SPEED(hessian_every=20),
        "reference_hessian": es.SPEED(reference_hessian=True),
        "adaptive_tol=1e-5": es.SPEED(adaptive_tol=1e-5),
        "adaptive_tol=1e-4": es.SPEED(adaptive_tol=1e-4),
        "update (Bofill)": es.SPEED(hessian="update"),
        "update (PSB)": es.SPEED(hessian="update", hessian_update="psb"),
        "update + tol 1e-5": es.SPEED(hessian="update", adaptive_tol=1e-5),
        "update + tol 1e-4": es.SPEED(hessian="update", adaptive_tol=1e-4),
    }


class _SlowSinglePoint:
    """One geometry (D,) -> V (2, 2) of the 6-coordinate anharmonic model, after a 1 ms sleep."""

    def __init__(self, sleep: float):
        self.sleep = sleep

    def __call__(self, q):
        if self.sleep:
            time.sleep(self.sleep)
        x, bath = q[0], q[1:]
        k = np.array([0.8, 1.1, 1.4, 1.7, 2.0]) * 1e-3
        c3 = np.array([2.0, -1.5, 1.0, -0.5, 0.3]) * 1e-4
        harmonic = 0.5 * np.sum(k * bath**2) + np.sum(c3 * x * bath**2) + 2e-5 * np.sum(bath**4)
        m1 = np.exp(-0.9 * x)
        m2 = np.exp(0.9 * (x - 0.6))
        v11 = 0.03 * (1 - m1) ** 2 + harmonic + 1e-3 * bath[0]
        v22 = 0.03 * (1 - m2) ** 2 + 0.01 + harmonic - 1e-3 * bath[0] + 5e-4 * bath[1]
        v12 = 0.004 * np.exp(-(x - 0.3) ** 2) * (1 + 0.2 * bath[2])
        return np.array([[v11, v12], [v12, v22]])


def systems(quick: bool, sleep: float):
    n = 16 if quick else 64
    retinal = es.models.Retinal()
    furan = es.models.FuranDimer()
    onthefly = es.models.from_single_point(_SlowSinglePoint(sleep), 2, 6, [3000.0] + [2000.0] * 5,
                                           executor="serial")
    wp_otf = es.Wavepacket([-0.4] + [0.0] * 5, [9.0, 2.0, -2.0, 1.0, 0.0, 1.0],
                           [3.0, 2.5, 2.5, 2.5, 2.5, 2.5], state=1)
    return {
        "retinal": (retinal, retinal.initial_wavepacket(),
                    dict(n_traj=n, dt=4.0, t_final=(100 if quick else 200) * FS, output_every=50, seed=11)),
        "furan": (furan, furan.initial_wavepacket(temperature=300.0, offset_angstrom=3.0),
                  dict(n_traj=n, dt=20.0, t_final=8000.0 if quick else 20000.0, output_every=20, seed=11)),
        "onthefly": (onthefly, wp_otf,
                     dict(n_traj=n, dt=8.0, t_final=400.0 if quick else 1600.0, output_every=10, seed=11)),
    }


def measure(model, wp, kwargs, method):
    start = time.perf_counter()
    res = es.run(model, wp, method, validate=False, **kwargs)
    return res, time.perf_counter() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sleep", type=float, default=1e-3, help="seconds per on-the-fly single point")
    args = ap.parse_args(argv)
    print(f"{'system':9s} {'policy':20s} {'H/step':>7s} {'SP/step':>8s} {'dP':>9s} {'dq':>9s} {'wall':>6s}")
    for name, (model, wp, kwargs) in systems(args.quick, args.sleep).items():
        d = model.n_dof
        reference = wall_ref = None
        for label, method in policies().items():
            res, wall = measure(model, wp, kwargs, method)
            steps = res.attrs["n_steps"]
            hessians = res.attrs["hessian_evaluations_speed"] / steps
            calls = res.attrs.get("electronic_structure_calls")
            points = calls / steps if calls is not None else (1 + 2 * d) + (2 * d * d + 1) * hessians
            if reference is None:
                reference, wall_ref = res, wall
            d_pop = float(np.max(np.abs(res.population.values[:, 1] - reference.population.values[:, 1])))
            d_pos = float(np.max(np.abs(res.position.values - reference.position.values)))
            ratio = f"{wall / wall_ref:6.2f}" if name == "onthefly" else "     -"
            print(f"{name:9s} {label:20s} {hessians:7.3f} {points:8.1f} {d_pop:9.2e} {d_pos:9.2e} {ratio}",
                  flush=True)


if __name__ == "__main__":
    main()
