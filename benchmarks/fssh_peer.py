"""ehrenspeed's FSSH against mudslide's FSSH on Tully's models: same swarm, same dt.

mudslide (PyPI ``mudslide``, https://github.com/smparker/mudslide) is a
Python FSSH code with Tully's models built in. It is never a dependency of
ehrenspeed: install it into a separate environment and point this script at
that interpreter; without it the mudslide rows are skipped::

    python3 -m venv /tmp/mudslide_venv
    /tmp/mudslide_venv/bin/pip install mudslide numpy scipy
    PYTHONPATH=src nice -n 10 python benchmarks/fssh_peer.py \
        [--mudslide-python /tmp/mudslide_venv/bin/python] [--n-traj 200] [--cases 1:10,1:20,2:30]

What is the same: the model parameters (mudslide's ``TullySimpleAvoidedCrossing``
and ``TullyDualAvoidedCrossing`` defaults equal ehrenspeed's ``TullySimple``
and ``TullyDual``, mass 2000), the initial positions and momenta (one
Wigner sample of ehrenspeed's incoming packet, sigma = 20/k, x0 = -10,
handed to both codes), the time step, the initial adiabatic state (lower),
decoherence off, frustrated hops keep the momentum (mudslide's only
behaviour; ehrenspeed's default), momentum rescaled along the nonadiabatic
coupling vector in both.

What differs (the algorithms, as each code documents and implements them):

* hop probability: mudslide ``hopping_method="instantaneous"`` (Tully's
  one draw per step; its default ``"cumulative"`` is a different
  prescription, so it is not used) with g = 2 dt Im(rho_ak H_ka)/rho_aa from
  the midpoint of H - i d.v between steps; ehrenspeed the
  local-diabatisation probability from the eigenvector overlap
  (docs/surface_hopping.md).
* electrons: mudslide exponentiates the averaged adiabatic H - i d.v over
  the step (``electronic_integration="exp"``); ehrenspeed propagates
  exactly in the frozen diabatic matrix at the midpoint.
* nuclei: mudslide velocity Verlet with the hop at the end of the step;
  ehrenspeed a Strang (position Verlet) step with the hop at the midpoint.
* run length: mudslide stops a trajectory when it leaves [-B, B] after
  entering it (``bounds``, B = 5 bohr: the couplings are below 1e-12 there);
  ehrenspeed runs every trajectory to the same final time (40 bohr of
  travel at the incident speed). Both read the outcome as the side (x > 0:
  transmitted) and the active state at the end; the rates are per
  trajectory-step actually taken.

The binomial standard error of an entry p with N trajectories is
sqrt(p (1 - p) / N).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_MUDSLIDE_PYTHON = "/tmp/mudslide_venv/bin/python"
#: bohr either side of 0 where mudslide's trajectories stop once they have entered
BOX = 5.0


def mudslide_run(model_number: int, x0: np.ndarray, p0: np.ndarray, dt: float, max_steps: int,
                 seed: int) -> dict:
    """mudslide's FSSH from the given initial conditions (runs inside mudslide's interpreter).

    Returns the final side and active state of every trajectory, the steps it
    took and the wall time of the batch.
    """
    from mudslide.batch import BatchedTraj
    from mudslide.models.scattering_models import (
        TullyDualAvoidedCrossing,
        TullySimpleAvoidedCrossing,
    )
    from mudslide.surface_hopping_md import SurfaceHoppingMD

    model = {1: TullySimpleAvoidedCrossing, 2: TullyDualAvoidedCrossing}[model_number]()
    mass = float(np.asarray(model.mass).ravel()[0])
    seeds = np.random.SeedSequence(seed).spawn(len(x0))

    def initial(n):
        for j in range(n):
            yield np.array([x0[j]]), np.array([p0[j] / mass]), 0, {"seed_sequence": seeds[j]}

    batch = BatchedTraj(model, initial, SurfaceHoppingMD, samples=len(x0), dt=dt, max_steps=max_steps,
                        bounds=[[-BOX], [BOX]], trace_every=max_steps, hopping_method="instantaneous")
    start = time.perf_counter()
    traces = batch.compute()
    wall = time.perf_counter() - start
    last = [trace[-1] for trace in traces]
    return {"transmitted": [bool(s["position"][0] > 0) for s in last], "active": [int(s["active"]) for s in last],
            "steps": int(sum(round(s["time"] / dt) for s in last)), "wall_time_s": wall}


def _peer_main(argv) -> int:
    """Entry point inside mudslide's interpreter: read the .npz, write the JSON."""
    data = np.load(argv[0])
    out = mudslide_run(int(data["model"]), data["x0"], data["p0"], float(data["dt"]), int(data["max_steps"]),
                       int(data["seed"]))
    Path(argv[1]).write_text(json.dumps(out))
    return 0


def channels(transmitted, active) -> dict[str, float]:
    """R_lower, R_upper, T_lower, T_upper from each trajectory's side and active state."""
    transmitted, active = np.asarray(transmitted, bool), np.asarray(active, int)
    n = len(active)
    return {f"{side}_{name}": float(np.sum((transmitted == (side == "T")) & (active == state)) / n)
            for side in ("R", "T") for state, name in ((0, "lower"), (1, "upper"))}


def ehrenspeed_run(model, state, dt: float, t_final: float, seed: int) -> dict:
    """ehrenspeed's FSSH from the same State; outcome and wall time."""
    import ehrenspeed as es

    n_steps = round(t_final / dt)
    start = time.perf_counter()
    ds = es.run(model, state, "fssh", dt=dt, t_final=t_final, output_every=n_steps, seed=seed,
                save_trajectories=True, energy_drift_warning=None)
    wall = time.perf_counter() - start
    q = ds["trajectory_position"].values[-1, :, 0]
    active = ds["trajectory_active_state"].values[-1]
    return {"transmitted": (q > 0).tolist(), "active": active.astype(int).tolist(),
            "steps": n_steps * state.q.shape[0], "wall_time_s": wall, "hops": int(ds.attrs["hops_accepted"]),
            "frustrated": int(ds.attrs["hops_frustrated"])}


def exact_row(model, wp, t_final: float) -> dict[str, float]:
    """Exact channels (split operator) from ehrenspeed.reproduce.fssh."""
    from ehrenspeed.grid import Grid, run_exact
    from ehrenspeed.reproduce.fssh import _GRIDS, channel_row, exact_channels

    lower, upper, points = _GRIDS[model.name]
    ex = run_exact(model, wp, Grid([lower], [upper], [points]), dt=4.0, t_final=t_final,
                   output_every=round(t_final / 4.0))
    return channel_row(exact_channels(ex, model))


def compare(model_number: int, k: float, n_traj: int, dt: float, seed: int, peer_python: str | None) -> dict:
    """Exact, ehrenspeed FSSH and (if installed) mudslide FSSH for one model and k."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import ehrenspeed as es
    from ehrenspeed.reproduce.fssh import setup
    from ehrenspeed.sampling import sample_wigner

    model = {1: es.models.TullySimple, 2: es.models.TullyDual}[model_number]()
    wp, t_final, _ = setup(model, k, dt)
    state = sample_wigner(wp, n_traj, seed=seed, n_states=model.n_states)
    rows = {"exact": exact_row(model, wp, t_final)}
    es_out = ehrenspeed_run(model, state, dt, t_final, seed)
    rows["ehrenspeed"] = {**channels(es_out["transmitted"], es_out["active"]),
                          "us_per_traj_step": 1e6 * es_out["wall_time_s"] / es_out["steps"],
                          "steps": es_out["steps"], "hops": es_out["hops"], "frustrated": es_out["frustrated"]}
    if peer_python:
        with tempfile.TemporaryDirectory() as tmp:
            npz, out = Path(tmp) / "in.npz", Path(tmp) / "out.json"
            np.savez(npz, model=model_number, x0=state.q[:, 0], p0=state.p[:, 0], dt=dt,
                     max_steps=round(t_final / dt), seed=seed)
            env = {key: val for key, val in os.environ.items() if key != "PYTHONPATH"}
            subprocess.run([peer_python, __file__, "--as-peer", str(npz), str(out)], check=True, env=env)
            md = json.loads(out.read_text())
        rows["mudslide"] = {**channels(md["transmitted"], md["active"]),
                            "us_per_traj_step": 1e6 * md["wall_time_s"] / md["steps"], "steps": md["steps"]}
    return {"model": model_number, "k": k, "n_traj": n_traj, "dt": dt, "t_final": t_final, "rows": rows}


def ehrenspeed_throughput(n_traj: int, n_steps: int, dt: float, seed: int) -> float:
    """ehrenspeed FSSH µs per trajectory-step on Tully's model 1 (k = 20) at large N, after a warm-up run.

    The comparison runs above use the peer's N, where ehrenspeed's fixed cost
    per run (one random stream per trajectory, numba dispatch) dominates.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import ehrenspeed as es
    from ehrenspeed.sampling import sample_wigner

    model = es.models.TullySimple()
    wp = model.initial_wavepacket(k0=20.0)
    state = sample_wigner(wp, n_traj, seed=seed, n_states=2)
    ehrenspeed_run(model, sample_wigner(wp, 16, seed=seed, n_states=2), dt, 10 * dt, seed)  # compile
    out = ehrenspeed_run(model, state, dt, n_steps * dt, seed)
    return 1e6 * out["wall_time_s"] / out["steps"]


def peer_available(python: str | None) -> str | None:
    """The interpreter if mudslide imports in it, else None (the peer rows are skipped)."""
    if not python or not Path(python).exists():
        return None
    ok = subprocess.run([python, "-c", "import mudslide"], check=False, capture_output=True).returncode == 0
    return python if ok else None


def markdown(results: list[dict]) -> str:
    lines = ["| model | k | code | R lower | R upper | T lower | T upper | µs / trajectory-step |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        for code, row in res["rows"].items():
            rate = f"{row['us_per_traj_step']:.2f}" if "us_per_traj_step" in row else "—"
            lines.append(f"| {res['model']} | {res['k']:g} | {code} | {row['R_lower']:.3f} | {row['R_upper']:.3f} | "
                         f"{row['T_lower']:.3f} | {row['T_upper']:.3f} | {rate} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mudslide-python", default=os.environ.get("MUDSLIDE_PYTHON", DEFAULT_MUDSLIDE_PYTHON))
    ap.add_argument("--n-traj", type=int, default=200)
    ap.add_argument("--dt", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", default="1:10,1:20", help="model:k pairs, comma separated (models 1 and 2)")
    ap.add_argument("--throughput-n", type=int, default=10000, help="N of the ehrenspeed throughput run")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    peer = peer_available(args.mudslide_python)
    if peer is None:
        print(f"mudslide not importable with {args.mudslide_python!r}: its rows are skipped", flush=True)
    results = []
    for case in args.cases.split(","):
        model_number, k = case.split(":")
        results.append(compare(int(model_number), float(k), args.n_traj, args.dt, args.seed, peer))
        print(markdown(results[-1:]), flush=True)
    print("\n" + markdown(results))
    rate = ehrenspeed_throughput(args.throughput_n, 500, args.dt, args.seed)
    print(f"\nehrenspeed FSSH, Tully model 1, N = {args.throughput_n}, 500 steps of {args.dt:g}: "
          f"{rate:.3f} µs per trajectory-step (wall time of es.run, incl. stream set-up and output)")
    if args.json:
        args.json.write_text(json.dumps({"cases": results, "throughput_us_per_traj_step": rate,
                                         "throughput_n": args.throughput_n}, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--as-peer":
        raise SystemExit(_peer_main(sys.argv[2:]))
    raise SystemExit(main())
