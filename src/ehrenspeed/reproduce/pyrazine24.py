"""Pyrazine in all 24 modes (Raab et al. 1999): Ehrenfest vs SPEED, and what the 20 extra modes do.

Two states (S1, S2) x 24 modes, :class:`ehrenspeed.models.Pyrazine24`,
started from the S0 vibrational ground state on S2. No grid reaches 24
dimensions, so the references are

* the 4-mode model's MCTDH populations (:data:`.pyrazine4.MCTDH_P_S2`) and
  1024-trajectory Ehrenfest on :class:`ehrenspeed.models.Pyrazine4` with the
  same seed: what the 20 further modes change, within one method;
* 1024-trajectory Ehrenfest on the 24-mode model, against 1024-trajectory
  SPEED with one reference Hessian (the model is quadratic, so the two are
  equal to round-off; SPEED evaluates the potential once per substep, where
  Ehrenfest evaluates it 1024 times).

P_S2(t) to 120 fs every 0.5 fs, and the cost table: potential evaluations,
Hessians and wall time per method.
"""

from __future__ import annotations

import numpy as np

from ..analysis import max_abs_difference
from ..driver import run as run_trajectories
from ..models import Pyrazine4, Pyrazine24
from ..potentials import SPEED
from ..units import FS
from .common import STYLE, Output, pyplot, rounded
from .pyrazine4 import MCTDH_P_S2, MCTDH_TIMES_FS, draw_mctdh

S2 = 1


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=128, t_final_fs=30.0, dt=10.0)
    return dict(n_traj=1024, t_final_fs=120.0, dt=5.0)


def run(out: Output) -> dict:
    """Run the three ensembles, save them, draw ``pyrazine24_population.png``."""
    cfg = settings(out.quick)
    model = Pyrazine24()
    times = np.arange(0.0, cfg["t_final_fs"] + 1e-9, 0.5) * FS
    common = {"n_traj": cfg["n_traj"], "seed": out.seed, "dt": cfg["dt"], "t_final": times[-1],
              "output_times": times, "integrator": "yoshida4", "progress": out.progress}
    wp = model.initial_wavepacket()
    results = {
        "ehrenfest": run_trajectories(model, wp, "ehrenfest", **common),
        "speed": run_trajectories(model, wp, SPEED(reference_hessian=True), **common),
        "ehrenfest4": run_trajectories(Pyrazine4(), Pyrazine4().initial_wavepacket(), "ehrenfest", **common),
    }
    for name, ds in results.items():
        out.save(ds, f"pyrazine24_{name}")
    p = {name: ds["population"].sel(state=S2) for name, ds in results.items()}
    t_fs = np.asarray(p["ehrenfest"]["time"]) / FS
    at = [t for t in (10, 20, 40, 60, 80, 100, 120) if t <= t_fs[-1] + 1e-9]

    def sample(curve, t):
        return rounded(float(np.interp(t, t_fs, curve.values)))

    cost = {name: {"potential_evaluations": int(ds.attrs["potential_evaluations"]),
                   "hessian_evaluations": int(ds.attrs.get("hessian_evaluations", 0)),
                   "wall_time_s": rounded(ds.attrs["wall_time_s"], 3)}
            for name, ds in results.items()}
    summary = {
        "n_traj": cfg["n_traj"], "t_final_fs": cfg["t_final_fs"], "dt": cfg["dt"], "n_modes": model.n_dof,
        "P_S2": {name: {f"{t:g}": sample(curve, t) for t in at} for name, curve in p.items()},
        "P_S2_mctdh_4_modes": {f"{t:g}": rounded(float(np.interp(t, MCTDH_TIMES_FS, MCTDH_P_S2))) for t in at},
        "max_abs_speed_minus_ehrenfest": float(max_abs_difference(p["speed"], p["ehrenfest"])),
        "max_abs_24_minus_4_modes_ehrenfest": rounded(max_abs_difference(p["ehrenfest"], p["ehrenfest4"])),
        "cost": cost,
        "evaluations_ratio_ehrenfest_over_speed": rounded(cost["ehrenfest"]["potential_evaluations"]
                                                          / max(cost["speed"]["potential_evaluations"], 1)),
    }
    out.summary.update(summary)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.4), constrained_layout=True)
    n = cfg["n_traj"]
    labels = {"ehrenfest": f"Ehrenfest, 24 modes, {n} trajectories",
              "speed": f"SPEED, 24 modes, {n} trajectories (reference Hessian)",
              "ehrenfest4": f"Ehrenfest, 4 modes (Pyrazine4), {n} trajectories"}
    styles = {"ehrenfest": STYLE["ehrenfest"], "speed": STYLE["speed"], "ehrenfest4": STYLE["ehrenfest_small"]}
    for name, curve in p.items():
        ax.plot(t_fs, curve, label=labels[name], **styles[name])
    draw_mctdh(ax, cfg["t_final_fs"], "MCTDH, 4 modes (Renormalizer's stored reference)")
    ax.set_title("Pyrazine, 2 states x 24 modes (Raab et al. 1999)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=8)
    out.figure(fig, "pyrazine24_population")
    return summary
