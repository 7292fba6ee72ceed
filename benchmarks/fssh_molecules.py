"""Pyrazine and retinal against exact: Ehrenfest, SPEED, FSSH, SPEED-FSSH, FSSH+EDC.

Where does SPEED's shared quadratic surface cost surface hopping accuracy?
Each molecule is propagated exactly once (split operator, the grid and time
axis of its reproduction, src/ehrenspeed/reproduce/pyrazine.py and
retinal.py) and with the five trajectory methods from the same Wigner swarm
(same seed):

* ``ehrenfest``, ``speed`` — mean field, fourth-order (Yoshida) splitting as
  in the reproductions;
* ``fssh``, ``speed_fssh``, ``fssh_edc`` — ``es.FSSH()``,
  ``es.FSSH(source=<the same SPEED object>)``, ``es.FSSH(decoherence="edc")``,
  Strang splitting (the only one FSSH takes), the same dt.

Observables, each compared with exact as max over the output times of
|P_method(t) - P_exact(t)| and at a few times:

* ``P_dia`` — the diabatic population of the initially excited state (S2 of
  pyrazine, the excited diabat of retinal). Mean-field methods: from the
  coefficients. FSSH methods: two estimators, ``P_dia`` (from the
  coefficients, sum |c_d|^2 / N) and ``P_dia_mixed`` (the active state on the
  diagonal of the adiabatic density matrix, the coefficients' coherences off
  it, back-transformed with each trajectory's eigenvectors of the model's
  V(q): Landry, Falk and Subotnik, J. Chem. Phys. 139, 211101 (2013)),
  the estimator recommended there for FSSH.
* ``P_adia`` — the population of the highest adiabatic state (where the
  swarm starts): mean field from the coefficients, FSSH from the active
  states, exact from its adiabatic populations.
* retinal also: the trans fraction (cos phi < 0) at 100, 200, 300, 500 fs.

Run (one computation at a time; about 10 minutes niced on the shared 2-core
machine with the defaults)::

    PYTHONPATH=src nice -n 10 python benchmarks/fssh_molecules.py [--quick] [--n-traj N]
        [--only pyrazine|retinal] [--json FILE]

``--quick``: 128 trajectories, pyrazine to 1000 a.u. on a 40 x 32 x 40 grid,
retinal to 150 fs on 256 x 32 (the reproductions' quick settings).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import ehrenspeed as es
from ehrenspeed.analysis import trajectory_coefficients
from ehrenspeed.grid import Grid, run_exact
from ehrenspeed.reproduce import pyrazine as pyr
from ehrenspeed.reproduce import retinal as ret
from ehrenspeed.units import FS

METHOD_NAMES = ("ehrenfest", "speed", "fssh", "speed_fssh", "fssh_edc")


def methods(speed: es.SPEED) -> dict:
    """The five trajectory methods, SPEED ones on the given SPEED object (its Hessian policy)."""
    return {"ehrenfest": "ehrenfest", "speed": speed, "fssh": es.FSSH(),
            "speed_fssh": es.FSSH(source=speed), "fssh_edc": es.FSSH(decoherence="edc")}


def mixed_diabatic_population(model, ds) -> np.ndarray:
    """FSSH diabatic populations by the mixed estimator, ensemble mean, shape (T, S).

    Per trajectory, with V(q) = U diag(E) U^H and adiabatic amplitudes
    a = U^H c: rho_kl = a_k a_l^* off the diagonal, rho_kk = delta_{k,alpha}
    (alpha the active state), and P_d = sum_kl U_dk rho_kl U_dl^*.
    (Landry, Falk and Subotnik, J. Chem. Phys. 139, 211101 (2013).)
    """
    q = ds["trajectory_position"].values            # (T, N, D)
    c = trajectory_coefficients(ds)                 # (T, N, S)
    active = ds["trajectory_active_state"].values   # (T, N)
    t, n, s = c.shape
    _, u = np.linalg.eigh(model.potential(q.reshape(t * n, -1)))
    a = np.einsum("mdk,md->mk", np.conj(u), c.reshape(t * n, s))
    rho = a[:, :, None] * np.conj(a[:, None, :])
    diag = np.arange(s)
    rho[:, diag, diag] = 0.0
    rho[np.arange(t * n), active.reshape(-1), active.reshape(-1)] = 1.0
    p = np.einsum("mdk,mkl,mdl->md", u, rho, np.conj(u)).real
    return p.reshape(t, n, s).mean(axis=1)


def observables(model, name: str, ds, state: int) -> dict[str, np.ndarray]:
    """Curves (T,) compared with exact: diabatic and top adiabatic population."""
    top = model.n_states - 1
    out = {"P_dia": ds["population"].values[:, state]}
    if name == "exact" or "active_population" not in ds:
        out["P_adia"] = ds["adiabatic_population"].values[:, top]
    else:
        out["P_adia"] = ds["active_population"].values[:, top]
        out["P_dia_mixed"] = mixed_diabatic_population(model, ds)[:, state]
    return out


def propagate(model, wp, swarm_model, grid, speed, common: dict, n_traj: int, seed: int) -> dict:
    """Exact and the five trajectory methods: name -> (Dataset, wall time s)."""
    res = {}
    start = time.perf_counter()
    res["exact"] = (run_exact(model, wp, grid, **common), time.perf_counter() - start)
    print(f"  exact {res['exact'][1]:.1f} s", flush=True)
    for name, method in methods(speed).items():
        fssh = isinstance(method, es.FSSH)
        start = time.perf_counter()
        ds = es.run(swarm_model, wp, method, n_traj=n_traj, seed=seed,
                    integrator="strang" if fssh else "yoshida4", save_trajectories=True, **common)
        res[name] = (ds, time.perf_counter() - start)
        hops = f", hops accepted {ds.attrs['hops_accepted']}, frustrated {ds.attrs['hops_frustrated']}" if fssh else ""
        print(f"  {name} {res[name][1]:.1f} s{hops}", flush=True)
    return res


def compare(model, res: dict, state: int, times: tuple, unit: float, extra=None) -> dict:
    """max |P - exact| and values at ``times`` (in units of ``unit`` a.u.) for every method and observable."""
    t_axis = res["exact"][0]["time"].values
    idx = [int(np.argmin(np.abs(t_axis - when * unit))) for when in times if when * unit <= t_axis[-1] + 1e-6]
    curves = {name: observables(model, name, ds, state) for name, (ds, _) in res.items()}
    if extra is not None:
        for name, (ds, _) in res.items():
            curves[name].update(extra(name, ds))
    table = {}
    for name, obs in curves.items():
        row = {}
        for key, curve in obs.items():
            ref = curves["exact"]["P_dia" if key == "P_dia_mixed" else key]
            row[key] = {"max_abs_error": float(np.max(np.abs(curve - ref))) if name != "exact" else 0.0,
                        "at": {f"{t_axis[i] / unit:.0f}": float(curve[i]) for i in idx}}
        row["wall_time_s"] = round(res[name][1], 2)
        for key in ("hops_accepted", "hops_frustrated"):
            if key in res[name][0].attrs:
                row[key] = int(res[name][0].attrs[key])
        table[name] = row
    return table


def pyrazine(quick: bool, n_traj: int, seed: int) -> dict:
    """Pyrazine3 (three states, three modes) with the reproduction's grid, dt and output axis."""
    cfg = pyr.settings(quick)
    model = es.models.Pyrazine3()
    wp = model.initial_wavepacket()
    common = {"dt": pyr.DT, "t_final": cfg["t_final"], "output_every": cfg["output_every"]}
    grid = Grid(list(pyr.GRID_LOWER), list(pyr.GRID_UPPER), list(cfg["points"]))
    print(f"pyrazine: N = {n_traj}, t_final = {cfg['t_final']} a.u., grid {cfg['points']}", flush=True)
    res = propagate(model, wp, model, grid, es.SPEED(reference_hessian=True), common, n_traj, seed)
    times = (250.0, 500.0, 1000.0, 2000.0, 5000.0)
    return {"settings": {"n_traj": n_traj, "t_final": cfg["t_final"], "dt": pyr.DT, "grid": list(cfg["points"]),
                         "seed": seed, "state": "S2 (diabatic 2)"},
            "table": compare(model, res, pyr.S2, times, 1.0)}


def retinal(quick: bool, n_traj: int, seed: int) -> dict:
    """Retinal (Hahn-Stock) with the reproduction's grid, dt, output axis and torsion interval."""
    cfg = ret.settings(quick)
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    every = max(1, round(cfg["output_fs"] * FS / ret.DT))
    common = {"dt": ret.DT, "t_final": cfg["t_final_fs"] * FS, "output_every": every}
    grid = Grid.for_model(model, lower=[None, -8.0], upper=[None, 8.0], points=list(cfg["points"]))
    params = model.parameters()
    params["phi_start"] = ret.PHI_START_TRAJECTORIES
    swarm_model = es.models.Retinal(**params)
    print(f"retinal: N = {n_traj}, t_final = {cfg['t_final_fs']} fs, grid {cfg['points']}", flush=True)
    res = propagate(model, wp, swarm_model, grid, es.SPEED(), common, n_traj, seed)

    def trans(name, ds):
        if name == "exact":
            return {"trans": ret.trans_fraction_exact(ds)}
        return {"trans": ret.trans_fraction_trajectories(ds)}

    table = compare(model, res, ret.EXCITED, (50.0, 100.0, 200.0, 300.0, 500.0), FS, extra=trans)
    return {"settings": {"n_traj": n_traj, "t_final_fs": cfg["t_final_fs"], "dt": ret.DT,
                         "grid": list(cfg["points"]), "seed": seed, "state": "excited diabat (1)"},
            "table": table}


def markdown(name: str, result: dict) -> str:
    """The comparison as markdown tables: one row per method and observable."""
    table = result["table"]
    lines = [f"**{name}** ({', '.join(f'{k} = {v}' for k, v in result['settings'].items())})", ""]
    times = list(table["exact"]["P_dia"]["at"])
    lines.append("| method | observable | max abs error | " + " | ".join(f"t = {t}" for t in times) + " |")
    lines.append("|---|---|---|" + "---|" * len(times))
    for method, row in table.items():
        for key, val in row.items():
            if not isinstance(val, dict) or all(np.isnan(v) for v in val["at"].values()):
                continue
            err = "—" if method == "exact" else f"{val['max_abs_error']:.3f}"
            lines.append(f"| {method} | {key} | {err} | " + " | ".join(f"{v:.3f}" for v in val["at"].values()) + " |")
    lines.append("")
    lines.append("wall time (s): " + ", ".join(f"{m} {row['wall_time_s']}" for m, row in table.items())
                 + "; hops accepted/frustrated: "
                 + ", ".join(f"{m} {row['hops_accepted']}/{row['hops_frustrated']}"
                             for m, row in table.items() if "hops_accepted" in row))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n-traj", type=int, default=None, help="trajectories per method (default 512, quick 128)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("pyrazine", "retinal"), default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args(argv)
    n_traj = args.n_traj or (128 if args.quick else 512)
    out = {}
    for name, fn in (("pyrazine", pyrazine), ("retinal", retinal)):
        if args.only in (None, name):
            out[name] = fn(args.quick, n_traj, args.seed)
            print(markdown(name, out[name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
