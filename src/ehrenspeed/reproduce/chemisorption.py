"""Chemisorption of an atom on a metal surface: <q>(t) and <V>(t), both presets.

:class:`ehrenspeed.models.Chemisorption` (9 layers x 5 nearly degenerate
harmonic diabats, constant couplings; every element at most quadratic, so
SPEED equals Ehrenfest to round-off) and its ``reversing`` preset, with the
tuned defaults of the model (see its docstring): the atom arrives at the
first site with p0 = 3.3 in the lowest adiabatic state. For each preset:
exact split-operator dynamics on a 1D grid, one Ehrenfest trajectory (the
wavepacket centre), 1024 Ehrenfest and 1024 SPEED trajectories (reference
Hessian: the Hessian is constant here).

Numbers reported: max |SPEED - Ehrenfest|; how long the swarm and the
single trajectory follow the exact <q> (to 0.5 bohr); max |swarm - exact|
of <q> and <V> in the first quarter of the run; the late-time variance of
<V> (:func:`ehrenspeed.analysis.late_time_variance`, second half of the
run) for each method, the measurable form of "one trajectory keeps
oscillating while the swarm and the exact result settle"; the largest and
final <q> and the time <q> first reaches 10 and 20 bohr (the swarm moves
more slowly than one trajectory); energy drift; the exact wavefunction's
largest edge density.
``--quick``: 32 trajectories, 10000 a.u. (the exact result has not settled
by then; the full run is needed for that comparison).

BLAS is limited to one thread while the methods run (``threadpoolctl``,
when installed): the numba kernel already uses both cores, and OpenBLAS
threads inside the per-output eigh fought with it.
"""

from __future__ import annotations


import numpy as np

from ..analysis import late_time_variance, max_abs_difference
from ..backend import single_blas_thread
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..model_plots import chemisorption_picture
from ..models import Chemisorption
from ..plotting import add_femtosecond_axis
from ..potentials import SPEED
from .common import STYLE, Output, centre_state, pyplot, rounded

DT = 50.0
OUTPUT_EVERY = 4  # every 200 a.u.
GRID = ([-15.0], [60.0])  # bohr; the edge density stays below 1e-9 (reported)
AGREE_TOLERANCE = 0.5  # bohr, for "methods agree at first"


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=32, t_final=10000.0, points=512)
    return dict(n_traj=1024, t_final=20000.0, points=512)


def run_preset(model, cfg: dict, out: Output) -> dict:
    """The five methods for one preset: name -> Dataset."""
    wp = model.initial_wavepacket()
    common = dict(dt=DT, t_final=cfg["t_final"], output_every=OUTPUT_EVERY)
    grid = Grid(GRID[0], GRID[1], [cfg["points"]])
    res = {"exact": run_exact(model, wp, grid, progress=out.progress, **common),
           "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", **common),
           # one thawed Gaussian (docs/tged.md): where the single trajectory stands, with a width
           "tged": run_trajectories(model, wp, "tged", **common)}
    res["ehrenfest"] = run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed,
                                        progress=out.progress, **common)
    res["speed"] = run_trajectories(model, wp, SPEED(reference_hessian=True), n_traj=cfg["n_traj"],
                                    seed=out.seed, progress=out.progress, **common)
    return res


def _first_time(time, values, level):
    hit = np.nonzero(values >= level)[0]
    return float(time[hit[0]]) if hit.size else None


def agreement_time(time, a, b, tolerance=AGREE_TOLERANCE):
    """Last output time before |a - b| first exceeds ``tolerance``."""
    bad = np.nonzero(np.abs(np.asarray(a) - np.asarray(b)) > tolerance)[0]
    return float(time[-1]) if bad.size == 0 else float(time[max(bad[0] - 1, 0)])


def analyse(res: dict, t_final: float) -> dict:
    """The numbers of one preset."""
    q = {name: ds["position"].sel(dof=0) for name, ds in res.items()}
    v = {name: ds["potential_energy"] for name, ds in res.items()}
    time = res["exact"]["time"].values
    early = 0.25 * t_final
    late = {name: late_time_variance(c["time"].values, c.values) for name, c in v.items()}
    return {
        "max_abs_speed_minus_ehrenfest_q": float(max_abs_difference(q["speed"], q["ehrenfest"])),
        "max_abs_speed_minus_ehrenfest_V": float(max_abs_difference(v["speed"], v["ehrenfest"])),
        "agree_with_exact_until": {name: agreement_time(time, q[name].values, q["exact"].values)
                                   for name in ("single", "ehrenfest")},
        "max_abs_ehrenfest_minus_exact_q_early": rounded(max_abs_difference(q["ehrenfest"], q["exact"],
                                                                            until=early)),
        "max_abs_ehrenfest_minus_exact_V_early": rounded(max_abs_difference(v["ehrenfest"], v["exact"],
                                                                            until=early)),
        "late_time_variance_V": {name: rounded(x) for name, x in late.items()},
        "late_variance_ratio_single_over": {name: rounded(late["single"] / late[name])
                                            for name in ("ehrenfest", "speed", "exact")},
        "final_q": {name: rounded(c.values[-1]) for name, c in q.items()},
        "max_q": {name: rounded(c.values.max()) for name, c in q.items()},
        "time_to_q10": {name: _first_time(time, c.values, 10.0) for name, c in q.items()},
        "time_to_q20": {name: _first_time(time, c.values, 20.0) for name, c in q.items()},
        "energy_drift": {name: rounded(np.ptp(ds["total_energy"].values)) for name, ds in res.items()},
        "exact_max_edge_density": rounded(float(res["exact"]["edge_density"].max())),
        "wall_time_s": {name: rounded(ds.attrs["wall_time_s"], 3) for name, ds in res.items()},
    }


def run(out: Output) -> dict:
    """Both presets: files, figure ``chemisorption.png`` and the numbers."""
    cfg = settings(out.quick)
    presets = {"default": Chemisorption(), "reversing": Chemisorption.reversing()}
    summary = {"n_traj": cfg["n_traj"], "t_final": cfg["t_final"], "dt": DT,
               "parameters": presets["default"].parameters(),
               "initial": {"x0": 0.0, "p0": float(presets["default"].initial_wavepacket().p0[0]),
                           "electronic": "lowest adiabatic state at x0"}}
    results = {}
    for preset, model in presets.items():
        with single_blas_thread():
            res = run_preset(model, cfg, out)
        results[preset] = res
        prefix = "chemisorption" if preset == "default" else "chemisorption_reversing"
        for name, ds in res.items():
            out.save(ds, f"{prefix}_{name}")
        summary[preset] = analyse(res, cfg["t_final"])
    out.summary.update(summary)

    plt = pyplot()
    chemisorption_picture(presets["default"], out)     # the model itself (the paper's Fig. 2)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.0), sharex=True, layout="constrained")
    labels = {"exact": "exact", "single": "1 Ehrenfest trajectory", "tged": "1 thawed Gaussian (TGED)",
              "ehrenfest": f"{cfg['n_traj']} Ehrenfest", "speed": f"{cfg['n_traj']} SPEED"}
    for col, (preset, res) in enumerate(results.items()):
        for name, ds in res.items():
            axes[0, col].plot(ds["time"], ds["position"].sel(dof=0), label=labels[name], **STYLE[name])
            axes[1, col].plot(ds["time"], ds["potential_energy"] * 1e3, label=labels[name], **STYLE[name])
        axes[0, col].set_title(f"preset: {preset}", fontsize="medium")
        add_femtosecond_axis(axes[0, col])
        axes[0, col].set_ylabel("<q> / bohr")
        axes[1, col].set_ylabel("<V> / millihartree")
        axes[1, col].set_xlabel("time / a.u.")
    # one legend for all four panels, below them, where it hides no curve
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=8)
    fig.suptitle("Chemisorption model, 9 layers x 5 states")
    out.figure(fig, "chemisorption")
    return summary
