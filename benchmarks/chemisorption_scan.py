"""Scripted parameter scan of the chemisorption model against the SPEED paper's statements.

    PYTHONPATH=src nice python benchmarks/chemisorption_scan.py reduced [--limit K] [--out FILE]
    PYTHONPATH=src nice python benchmarks/chemisorption_scan.py wide --out benchmarks/results/chemisorption_scan_wide.jsonl
    PYTHONPATH=src python benchmarks/chemisorption_scan.py table   (the docs' table from --out)
    PYTHONPATH=src nice python benchmarks/chemisorption_scan.py point key=value ...

Every point: the model :class:`ehrenspeed.models.Chemisorption` with the
scanned parameters, the atom at rest (p0 = 0) in a Gaussian of one diabatic
oscillator's ground-state width (A = M W) at x0, in the chosen initial
electronic state (``diabatic``: state (0, 0); ``adiabatic``: the lowest
adiabatic state at x0); exact split-operator dynamics, one Ehrenfest
trajectory (the centre), a swarm of Ehrenfest trajectories (= SPEED here,
every element is at most quadratic), zero-temperature electronic friction
from the centre. The statements (issue 14, section 1), each a number:

* ``dV``: max |<V>_swarm - <V>_exact| over the run / (max - min of exact <V>) (paper: <= 0.10)
* ``dq``: max |<q>_swarm - <q>_exact| / (max <q>_exact - x0) (paper: <= 0.10)
* ``leave_1``, ``leave_N``: last time (a.u.) <q> is within 10 % of the exact
  travel distance of exact (one trajectory leaves first: leave_1 < leave_N)
* ``var_1/ex``, ``var_1/N``: late-time variance of <V> (second half), one
  trajectory over exact and over the swarm (paper: both >= 3)
* ``qbar``: <q> averaged over the second half for exact, 1 and N; the paper's
  order is exact <= N (within the swarm's standard error) < 1
* ``rev``: how far each method's <q> falls back from its maximum by the end
  (bohr); the "friction fails" preset wants friction > 5 and exact, swarm < 1.

Stages: ``reduced`` is the product grid of :data:`AXES` (J = 3); ``wide``
changes one axis at a time from the set ``paper`` with J = 5
(:data:`WIDE_BASE`, :data:`WIDE_CHANGES`): initial electronic state, start
position at rest, oscillator frequency, intra- and inter-layer couplings,
delta and J, the ranges the product grid left out.

Output: one JSON line per point (appended to ``--out``), and a table on
standard output. Each point costs ~10-60 s on one core at the reduced size
(32 trajectories, 3 states per layer, 10000 a.u.); run under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

import ehrenspeed as es
from ehrenspeed.backend import single_blas_thread
from ehrenspeed.reproduce.chemisorption import friction_fails, statements, verdict
from ehrenspeed.reproduce.common import centre_state

#: model parameters a point may set (the rest of a point: x0, electronic, layer_energies)
MODEL_KEYS = ("n_layers", "states_per_layer", "mass", "omega", "spacing", "energy_step", "delta",
              "coupling", "coupling_in", "preset", "turn_layer", "layer_energies")
DT = 50.0
OUTPUT_EVERY = 4


def build(point: dict):
    """Model and initial wavepacket of a scan point."""
    model = es.models.Chemisorption(**{k: v for k, v in point.items() if k in MODEL_KEYS})
    x0 = float(point.get("x0", 0.0))
    electronic = point.get("electronic", "diabatic")
    state = model.lowest_adiabatic_state(x0) if electronic == "adiabatic" else 0
    wp = es.Wavepacket([x0], [0.0], [model.mass[0] * model.omega], state)
    return model, wp


def grid_for(model, x0):
    """A grid from 15 bohr before the start to 20 bohr past the last site, 0.15 bohr spacing or finer."""
    lo = min(x0, 0.0) - 15.0
    hi = float(model.centres.max()) + 20.0
    points = int(2 ** np.ceil(np.log2((hi - lo) / 0.15)))
    return es.Grid([lo], [hi], [points])


def simulate(point: dict, n_traj: int, t_final: float, seed: int = 1, friction=None) -> dict:
    """The four runs of a point: name -> Dataset (``ehrenfest`` is the swarm)."""
    model, wp = build(point)
    kw = {"dt": DT, "t_final": t_final, "output_every": OUTPUT_EVERY}
    friction = es.ElectronicFriction() if friction is None else friction
    with single_blas_thread():
        return {"exact": es.run_exact(model, wp, grid_for(model, wp.q0[0]), **kw),
                "single": es.run(model, centre_state(model, wp), "ehrenfest", **kw),
                "ehrenfest": es.run(model, wp, "ehrenfest", n_traj=n_traj, seed=seed, save_trajectories=True, **kw),
                "friction": es.run(model, centre_state(model, wp), friction, **kw)}


# -- the scan -------------------------------------------------------------------------------
#: reduced stage: the physically reasonable ranges (bohr, hartree); x0 = 0 is the first minimum
AXES = {
    "coupling": [0.001, 0.002, 0.0003],
    "electronic": ["diabatic", "adiabatic"],
    "tilt": [1.0, 1.2, 0.8],           # energy_step / (M W^2 spacing^2 / 2): < 1 barriers, >= 1 a slope
    "omega": [0.0005],
    "delta": [0.01, 0.05],
    "coupling_in": [0.0],
    "states_per_layer": [3],
}
SPACING = 5.0


def with_tilt(p: dict) -> dict:
    """``p`` with the energy step of its tilt (dE = tilt M W^2 spacing^2 / 2, M = 1836.15)."""
    p = dict(p)
    p["spacing"] = SPACING
    p["energy_step"] = round(p["tilt"] * 0.5 * 1836.15 * p["omega"] ** 2 * SPACING**2, 6)
    return p


def reduced_points():
    keys = list(AXES)
    for values in itertools.product(*(AXES[k] for k in keys)):
        yield with_tilt(dict(zip(keys, values)))


# -- the widened scan (issue 14, second session) ------------------------------------------------
#: the set ``paper`` (tilt 0.8), from which the widened scan changes one axis at a time
WIDE_BASE = {"omega": 0.0005, "tilt": 0.8, "coupling": 0.001, "delta": 0.01, "coupling_in": 0.0,
             "states_per_layer": 5, "electronic": "adiabatic", "x0": 0.0}
#: one-axis changes from WIDE_BASE (J = 5 in every point): the ranges the first scan left out
WIDE_CHANGES = [
    {},                                                   # the set paper with J = 5
    {"electronic": "diabatic"},                           # start on diabat (0, 0): 1/J bright
    {"electronic": "diabatic", "coupling": 0.0003},       # friction_fails with J = 5
    {"x0": -3.0},                                         # at rest up the inner wall (2.1 mEh above the minimum)
    {"x0": 2.0},                                          # at rest near the first crossing
    {"omega": 0.001},                                     # stiffer sites (tilt kept: dE 4x)
    {"omega": 0.00025},                                   # softer sites
    {"coupling_in": 0.0002},                              # bright state J c_in above the dark ones
    {"coupling_in": 0.0002, "electronic": "diabatic"},    # diabatic start: bright-dark beats at J c_in
    {"delta": 0.2},                                       # strong bright-dark mixing (larger spacings)
    {"coupling": 0.002},                                  # stronger inter-layer coupling
    {"states_per_layer": 8},                              # a denser manifold
]


def wide_points():
    for change in WIDE_CHANGES:
        yield with_tilt({**WIDE_BASE, **change})


def evaluate(point, n_traj, t_final):
    start = time.perf_counter()
    res = simulate({k: v for k, v in point.items() if k != "tilt"}, n_traj, t_final)
    s = statements(res, float(point.get("x0", 0.0)))
    ok = verdict(s)
    return {"point": point, "n_traj": n_traj, "t_final": t_final, "statements": s, "holds": ok,
            "friction_fails": friction_fails(s), "seconds": round(time.perf_counter() - start, 1)}


def row(r) -> str:
    p, s, h = r["point"], r["statements"], r["holds"]
    keys = ("omega", "tilt", "energy_step", "coupling", "delta", "coupling_in", "states_per_layer", "electronic", "x0")
    head = " ".join(f"{k}={p.get(k)}" for k in keys if k in p)
    return (f"{head} | travel {s['travel']} dV {s['dV']} dq {s['dq']} leave1/N {s['leave_1']:.0f}/"
            f"{s['leave_N']:.0f} var1/ex {s['var_1/ex']} var1/N {s['var_1/N']} qbar {s['qbar']} "
            f"rev {s['rev']} | holds {sum(h.values())}/{len(h)} {[k for k, v in h.items() if not v]} "
            f"| {r['seconds']} s")


def markdown_table(path: Path) -> str:
    """The scan's JSON lines as the table of docs/reproductions.md."""
    lines = [("| W (Eh) | tilt | c (Eh) | c_in (Eh) | delta (bohr) | J | start | x0 (bohr) | t_final (a.u.) "
              "| exact travel (bohr) | dV | dq | leave 1 / N (a.u.) | late var 1/exact, 1/N "
              "| mean <q> late: exact / N / 1 / friction | friction falls back (bohr) | holds |"),
             "|" + "---|" * 17]
    for line in path.read_text().splitlines():
        r = json.loads(line)
        p, s = r["point"], r["statements"]
        qb = s["qbar"]
        swarm = qb.get("ehrenfest", qb.get("swarm"))
        lines.append(f"| {p['omega']} | {p.get('tilt')} | {p['coupling']} | {p.get('coupling_in', 0.0)} | {p['delta']} "
                     f"| {p['states_per_layer']} | {p['electronic']} | {p.get('x0', 0.0)} | {r['t_final']:.0f} "
                     f"| {s['travel']:.1f} | {s['dV']:.3f} | {s['dq']:.3f} | {s['leave_1']:.0f} / {s['leave_N']:.0f} "
                     f"| {s['var_1/ex']:.3g}, {s['var_1/N']:.3g} | {qb['exact']:.2f} / {swarm:.2f} / "
                     f"{qb['single']:.2f} / {qb['friction']:.2f} | {s['rev']['friction']:.1f} "
                     f"| {sum(r['holds'].values())}/{len(r['holds'])} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=("reduced", "wide", "point", "table"))
    ap.add_argument("assignments", nargs="*", help="key=value (stage 'point')")
    ap.add_argument("--n-traj", type=int, default=32)
    ap.add_argument("--t-final", type=float, default=10000.0)
    ap.add_argument("--limit", type=int, default=None, help="only the first K points of the reduced grid")
    ap.add_argument("--skip", type=int, default=0, help="skip the first K points (resume a scan)")
    ap.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                    help="only the reduced-grid points with this value (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/chemisorption_scan.jsonl"))
    args = ap.parse_args(argv)
    if args.stage == "table":
        print(markdown_table(args.out))
        return 0
    if args.stage == "point":
        point = {}
        for a in args.assignments:
            k, _, v = a.partition("=")
            try:
                point[k] = json.loads(v)
            except json.JSONDecodeError:
                point[k] = v
        points = [point]
    else:
        points = list(reduced_points() if args.stage == "reduced" else wide_points())
        for cond in args.where:
            key, _, value = cond.partition("=")
            points = [p for p in points if str(p.get(key)) == value]
        points = points[args.skip:]
        if args.limit is not None:
            points = points[:args.limit]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for point in points:
        r = evaluate(point, args.n_traj, args.t_final)
        print(row(r), flush=True)
        with args.out.open("a") as fh:
            fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    sys.exit(main())
