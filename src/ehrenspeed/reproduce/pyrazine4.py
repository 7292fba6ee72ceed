"""Pyrazine in four modes (Raab et al. 1999): exact 4-D grid vs Ehrenfest vs SPEED vs one trajectory.

Two states (S1, S2) x four modes (nu10a, nu6a, nu1, nu9a), the bilinear
vibronic coupling model :class:`ehrenspeed.models.Pyrazine4`, started from
the S0 vibrational ground state on S2. P_S2(t) to 120 fs from

* exact split-operator dynamics on a 4-D grid (:data:`GRID`; convergence in
  docs/reproductions.md), the largest grid the package runs;
* 1024-trajectory Ehrenfest and 1024-trajectory SPEED (one reference
  Hessian; the model is quadratic, so the two are equal to round-off);
* one Ehrenfest trajectory from the wavepacket centre (at q10a = 0 the
  coupling vanishes and so does the force that would move q10a: P_S2 = 1);

all on one time axis, every 0.5 fs, compared with the MCTDH populations of
:data:`MCTDH_P_S2`.
"""

from __future__ import annotations

import numpy as np

from ..analysis import max_abs_difference
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..grid.run import available_memory, memory_estimate
from ..models import Pyrazine4
from ..potentials import SPEED
from ..units import FS
from .common import STYLE, Output, centre_state, pyplot, rounded

S2 = 1

#: MCTDH P_S2(t) of this model every 2 fs from 0 to 120 fs, 4 digits: the
#: reference stored in Renormalizer (github.com/shuaigroup/Renormalizer,
#: renormalizer/vibronic/tests/mctdh_data.py, commit 190c65b, Apache-2.0),
#: against which that package tests its pyr4 dynamics.
MCTDH_P_S2 = np.array([
    1.0000, 0.8920, 0.9161, 0.9190, 0.8886, 0.8599, 0.8128, 0.7555, 0.6999, 0.6490, 0.6069, 0.5681,
    0.5328, 0.5079, 0.4932, 0.4715, 0.4538, 0.4363, 0.4150, 0.3921, 0.3652, 0.3342, 0.3002, 0.2661,
    0.2325, 0.2099, 0.2108, 0.2012, 0.1920, 0.2168, 0.2203, 0.2165, 0.2226, 0.2126, 0.2017, 0.1838,
    0.1756, 0.1816, 0.2026, 0.2402, 0.2824, 0.3151, 0.3461, 0.3649, 0.3767, 0.3796, 0.3816, 0.3739,
    0.3579, 0.3286, 0.2954, 0.2593, 0.2323, 0.2075, 0.1955, 0.1812, 0.1697, 0.1740, 0.1618, 0.1581,
    0.1501])
#: their times, fs
MCTDH_TIMES_FS = np.arange(0.0, 120.1, 2.0)

#: the full run's grid: points and half-widths per mode (10a, 6a, 1, 9a)
GRID = {"points": (32, 32, 24, 24), "half_width": (8.0, 8.0, 8.0, 7.0)}
QUICK_GRID = {"points": (16, 16, 12, 12), "half_width": (7.0, 7.0, 7.0, 6.0)}


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=128, t_final_fs=30.0, dt_exact=10.0, dt=10.0, **QUICK_GRID)
    return dict(n_traj=1024, t_final_fs=120.0, dt_exact=5.0, dt=5.0, **GRID)


def make_grid(points, half_width) -> Grid:
    """The symmetric 4-D grid [-h, h] per mode."""
    return Grid([-h for h in half_width], list(half_width), list(points))


def draw_mctdh(ax, t_final_fs: float, label: str) -> None:
    """The MCTDH points up to ``t_final_fs`` and the P_S2-against-fs axes."""
    n_ref = int(np.searchsorted(MCTDH_TIMES_FS, t_final_fs + 1e-9))
    ax.plot(MCTDH_TIMES_FS[:n_ref], MCTDH_P_S2[:n_ref], "o", ms=3, color="gray", label=label)
    ax.set_xlabel("time / fs")
    ax.set_ylabel("population of S$_2$")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlim(0.0, t_final_fs)


def run(out: Output) -> dict:
    """Run the four methods, save them, draw ``pyrazine4_population.png``."""
    cfg = settings(out.quick)
    model = Pyrazine4()
    wp = model.initial_wavepacket()
    times = np.arange(0.0, cfg["t_final_fs"] + 1e-9, 0.5) * FS
    grid = make_grid(cfg["points"], cfg["half_width"])
    grid_bytes = memory_estimate(model.n_states, grid, integrator="strang")
    traj = {"dt": cfg["dt"], "t_final": times[-1], "output_times": times, "integrator": "yoshida4",
                "progress": out.progress}
    results = {
        "exact": run_exact(model, wp, grid, dt=cfg["dt_exact"], t_final=times[-1], output_times=times,
                           progress=out.progress),
        "ehrenfest": run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed, **traj),
        "speed": run_trajectories(model, wp, SPEED(reference_hessian=True), n_traj=cfg["n_traj"],
                                  seed=out.seed, **traj),
        "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", **traj),
        # one thawed Gaussian (docs/tged.md): exact averages on this quadratic model
        "tged": run_trajectories(model, wp, "tged", dt=cfg["dt"], t_final=times[-1], output_times=times,
                                 integrator="yoshida4", progress=out.progress),
    }
    for name, ds in results.items():
        out.save(ds, f"pyrazine4_{name}")
    p = {name: ds["population"].sel(state=S2) for name, ds in results.items()}
    t_fs = np.asarray(p["exact"]["time"]) / FS
    n_ref = int(np.searchsorted(MCTDH_TIMES_FS, t_fs[-1] + 1e-9))
    at = {f"{t:g}": None for t in (10, 20, 40, 60, 80, 100, 120) if t <= t_fs[-1] + 1e-9}

    def sample(curve, t):
        return rounded(float(np.interp(t, t_fs, curve.values)))

    exact_on_ref = np.interp(MCTDH_TIMES_FS[:n_ref], t_fs, p["exact"].values)
    deviation = np.abs(exact_on_ref - MCTDH_P_S2[:n_ref])
    summary = {
        "n_traj": cfg["n_traj"], "t_final_fs": cfg["t_final_fs"], "grid_points": list(cfg["points"]),
        "grid_half_width": list(cfg["half_width"]), "dt_exact": cfg["dt_exact"], "dt": cfg["dt"],
        "grid_memory_estimate_MiB": round(grid_bytes / 2**20, 1),
        "available_memory_MiB": round(available_memory() / 2**20, 1),
        "P_S2": {name: {t: sample(curve, float(t)) for t in at} for name, curve in p.items()},
        "P_S2_mctdh": {t: rounded(float(np.interp(float(t), MCTDH_TIMES_FS, MCTDH_P_S2))) for t in at},
        "max_abs_exact_minus_mctdh": rounded(float(deviation.max())),
        "time_fs_of_max_abs_exact_minus_mctdh": float(MCTDH_TIMES_FS[int(deviation.argmax())]),
        "max_abs_ehrenfest_minus_exact": rounded(max_abs_difference(p["ehrenfest"], p["exact"])),
        "max_abs_speed_minus_ehrenfest": float(max_abs_difference(p["speed"], p["ehrenfest"])),
        "max_abs_single_minus_one": float(np.max(np.abs(p["single"].values - 1.0))),
        "max_abs_tged_minus_one": float(np.max(np.abs(p["tged"].values - 1.0))),
        "potential_evaluations": {name: int(ds.attrs["potential_evaluations"]) for name, ds in results.items()},
        "method_wall_time_s": {name: rounded(ds.attrs["wall_time_s"], 3) for name, ds in results.items()},
        "exact_steps": round(times[-1] / cfg["dt_exact"]),
        "exact_max_energy_drift": rounded(results["exact"].attrs["max_energy_drift"]),
    }
    summary["exact_wall_time_per_step_ms"] = rounded(1e3 * summary["method_wall_time_s"]["exact"]
                                                     / max(summary["exact_steps"], 1), 3)
    out.summary.update(summary)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.4), constrained_layout=True)
    shape = "x".join(str(n) for n in cfg["points"])
    labels = {"exact": f"exact (split operator, {shape} grid)",
              "ehrenfest": f"Ehrenfest, {cfg['n_traj']} trajectories",
              "speed": f"SPEED, {cfg['n_traj']} trajectories (reference Hessian)",
              "single": "one Ehrenfest trajectory (wavepacket centre)",
              "tged": "one thawed Gaussian (TGED)"}
    for name, curve in p.items():
        ax.plot(t_fs, curve, label=labels[name], **STYLE[name])
    draw_mctdh(ax, cfg["t_final_fs"], "MCTDH (Renormalizer's stored reference)")
    ax.set_title("Pyrazine, 2 states x 4 modes (Raab et al. 1999)")
    # below the axes: at P_S2 = 1 the single-trajectory and TGED lines run along the top
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    out.figure(fig, "pyrazine4_population")
    return summary
