"""Pyrazine S2 -> S1 internal conversion: P_S2(t), exact vs Ehrenfest vs SPEED vs one trajectory vs TGED.

Three states (S0, S1, S2) x three modes (nu6a, nu1, nu10a), the
quadratic vibronic coupling model of :class:`ehrenspeed.models.Pyrazine3`,
started from the ground vibrational state of S0 put vertically on S2
(docs/reproductions.md). Methods:

* exact: split operator on a 60 x 48 x 60 grid over [-10, 10] x [-8, 8] x
  [-10, 10] (spacing 1/3 along every mode), dt = 4.13 a.u.;
* 1024-trajectory Ehrenfest and 1024-trajectory SPEED with one reference
  Hessian (the model is quadratic, so SPEED equals Ehrenfest to
  round-off), fourth-order (Yoshida) splitting, dt = 4.13 a.u. (0.1 fs);
* one Ehrenfest trajectory started at the centre of the wavepacket
  (q = p = 0): at the symmetric point nu10a = 0 the S1-S2 coupling
  lambda q10a vanishes and so does its force, so P_S2 stays 1;
* one thawed Gaussian Ehrenfest wavepacket (variational TGED,
  :mod:`ehrenspeed.dynamics.tged`): the Gaussian average of the coupling,
  lambda <q10a> = lambda q10a, vanishes at the centre too, and the force on
  q10a is c^H dV/dq10a c = 0 while c lies on S2 alone, so P_S2 also stays 1
  (the width breathes, the centre does not leave nu10a = 0).

All five write on the same time axis (every 10 steps, to 5000 a.u.).
``--quick``: 128 trajectories, 1000 a.u., a 40 x 32 x 40 grid on the same box.

Why the box is wider along nu6a and nu10a: after the S2 -> S1 transfer the
0.92 eV gap becomes vibrational energy, mostly in nu6a and nu10a, and on
[-8, 8]^3 the probability in the outer 5% of those axes passes the edge
threshold (1e-6) after ~900 a.u. (nu10a) and reaches 1.4e-3 by 5000 a.u.
(nu6a), so density wraps around: P_S2 then differs from the wide box by up
to 1.5e-5 (6e-9 before 2000 a.u.). On [-10, 10] the edge probability stays
below 6e-9 over the whole run and the edge check has nothing to report.
nu1 keeps [-8, 8] (edge probability 4e-9). Measured with this module's dt
and output times; the numbers are in docs/reproductions.md.
"""

from __future__ import annotations

import numpy as np

from ..analysis import max_abs_difference
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..models import Pyrazine3
from ..plotting import add_atomic_time_axis
from ..potentials import SPEED
from ..units import FS
from .common import STYLE, Output, centre_state, pyplot, rounded

DT = 4.13
S2 = 2


#: Grid box (nu6a, nu1, nu10a), dimensionless coordinates: see the module docstring.
GRID_LOWER = (-10.0, -8.0, -10.0)
GRID_UPPER = (10.0, 8.0, 10.0)


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=128, t_final=1000.0, points=(40, 32, 40), output_every=10)
    return dict(n_traj=1024, t_final=5000.0, points=(60, 48, 60), output_every=10)


def run(out: Output) -> dict:
    """Run the five methods, save them, draw ``pyrazine_population.png``."""
    cfg = settings(out.quick)
    model = Pyrazine3()
    wp = model.initial_wavepacket()
    common = dict(dt=DT, t_final=cfg["t_final"], output_every=cfg["output_every"])
    grid = Grid(list(GRID_LOWER), list(GRID_UPPER), list(cfg["points"]))
    results = {
        "exact": run_exact(model, wp, grid, progress=out.progress, **common),
        "ehrenfest": run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed,
                         integrator="yoshida4", progress=out.progress, **common),
        "speed": run_trajectories(model, wp, SPEED(reference_hessian=True), n_traj=cfg["n_traj"], seed=out.seed,
                     integrator="yoshida4", progress=out.progress, **common),
        "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", integrator="yoshida4", **common),
        "tged": run_trajectories(model, wp, "tged", integrator="yoshida4", **common),
    }
    for name, ds in results.items():
        out.save(ds, f"pyrazine_{name}")

    p = {name: ds["population"].sel(state=S2) for name, ds in results.items()}
    summary = {
        "n_traj": cfg["n_traj"], "t_final": cfg["t_final"], "grid_points": list(cfg["points"]),
        "grid_lower": list(GRID_LOWER), "grid_upper": list(GRID_UPPER),
        "exact_max_edge_density": float(results["exact"].attrs["max_edge_density"]),
        "final_P_S2": {name: rounded(v.values[-1]) for name, v in p.items()},
        "max_abs_ehrenfest_minus_exact_to_800": rounded(max_abs_difference(p["ehrenfest"], p["exact"], until=800.0)),
        "max_abs_ehrenfest_minus_exact": rounded(max_abs_difference(p["ehrenfest"], p["exact"])),
        "max_abs_speed_minus_ehrenfest": float(max_abs_difference(p["speed"], p["ehrenfest"])),
        "max_abs_single_minus_one": float(np.max(np.abs(p["single"].values - 1.0))),
        "max_abs_tged_minus_one": float(np.max(np.abs(p["tged"].values - 1.0))),
        "potential_evaluations": {name: int(ds.attrs["potential_evaluations"]) for name, ds in results.items()},
        "wall_time_s": {name: rounded(ds.attrs["wall_time_s"], 3) for name, ds in results.items()},
        "exact_max_energy_drift": rounded(results["exact"].attrs["max_energy_drift"]),
        "ehrenfest_max_relative_energy_drift": rounded(results["ehrenfest"].attrs["max_relative_energy_drift"]),
    }
    out.summary.update(summary)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.8), layout="constrained")
    grid_label = " x ".join(str(n) for n in cfg["points"])
    labels = {"exact": f"exact (split operator, {grid_label} grid)",
              "ehrenfest": f"Ehrenfest, {cfg['n_traj']} trajectories",
              "speed": f"SPEED, {cfg['n_traj']} trajectories (reference Hessian)",
              "single": "one Ehrenfest trajectory (wavepacket centre)",
              "tged": "one thawed Gaussian Ehrenfest wavepacket (TGED)"}
    # fs as in the paper's figure, a.u. on top
    for name, curve in p.items():
        ax.plot(curve["time"].values / FS, curve, label=labels[name], **STYLE[name])
    ax.set_xlabel("time / fs")
    add_atomic_time_axis(ax)
    ax.set_ylabel("population of S$_2$")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlim(0.0, cfg["t_final"] / FS)
    fig.suptitle("Pyrazine, 3 states x 3 modes", fontsize="medium")   # above the fs axis, not on it
    # below the axes: inside, any corner hides part of a curve at some length of run
    fig.legend(loc="outside lower center", ncol=2, fontsize=8)
    out.figure(fig, "pyrazine_population")
    return summary
