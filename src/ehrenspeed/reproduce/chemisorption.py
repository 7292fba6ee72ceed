"""Chemisorption of an atom on a metal surface: <q>(t) and <V>(t), both presets.

:class:`ehrenspeed.models.Chemisorption` (9 layers x 5 nearly degenerate
harmonic diabats, constant couplings; every element at most quadratic, so
SPEED equals Ehrenfest to round-off) and its ``reversing`` preset. For each
preset: exact split-operator dynamics on a 1D grid, one Ehrenfest
trajectory (the wavepacket centre), 1024 Ehrenfest and 1024 SPEED
trajectories (reference Hessian: the Hessian is constant here).

Numbers reported: max |SPEED - Ehrenfest|, max |swarm - exact| of <q> and
<V> in the first part of the run, and the late-time variance of <V>
(:func:`ehrenspeed.analysis.late_time_variance`) for each method, the
measurable form of "one trajectory keeps oscillating while the swarm and
the exact result settle".
``--quick``: 32 trajectories, 5000 a.u.
"""

from __future__ import annotations

from ..analysis import late_time_variance, max_abs_difference
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..models import Chemisorption
from ..potentials import SPEED
from .common import STYLE, Output, centre_state, pyplot, rounded

DT = 20.0
OUTPUT_EVERY = 10


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=32, t_final=5000.0, points=512)
    return dict(n_traj=1024, t_final=20000.0, points=512)


def run_preset(model, cfg: dict, out: Output) -> dict:
    """The four methods for one preset: name -> Dataset."""
    wp = model.initial_wavepacket()
    common = dict(dt=DT, t_final=cfg["t_final"], output_every=OUTPUT_EVERY)
    grid = Grid([-20.0], [70.0], [cfg["points"]])
    res = {"exact": run_exact(model, wp, grid, progress=out.progress, **common),
           "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", **common)}
    res["ehrenfest"] = run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed,
                                        progress=out.progress, **common)
    res["speed"] = run_trajectories(model, wp, SPEED(reference_hessian=True), n_traj=cfg["n_traj"],
                                    seed=out.seed, progress=out.progress, **common)
    return res


def analyse(res: dict, t_final: float) -> dict:
    """The numbers of one preset."""
    q = {name: ds["position"].sel(dof=0) for name, ds in res.items()}
    v = {name: ds["potential_energy"] for name, ds in res.items()}
    early = 0.25 * t_final
    return {
        "max_abs_speed_minus_ehrenfest_q": float(max_abs_difference(q["speed"], q["ehrenfest"])),
        "max_abs_speed_minus_ehrenfest_V": float(max_abs_difference(v["speed"], v["ehrenfest"])),
        "max_abs_ehrenfest_minus_exact_q_early": rounded(max_abs_difference(q["ehrenfest"], q["exact"],
                                                                            until=early)),
        "max_abs_ehrenfest_minus_exact_V_early": rounded(max_abs_difference(v["ehrenfest"], v["exact"],
                                                                            until=early)),
        "late_time_variance_V": {name: rounded(late_time_variance(c["time"].values, c.values))
                                 for name, c in v.items()},
        "final_q": {name: rounded(c.values[-1]) for name, c in q.items()},
        "max_q": {name: rounded(c.values.max()) for name, c in q.items()},
        "wall_time_s": {name: rounded(ds.attrs["wall_time_s"], 3) for name, ds in res.items()},
    }


def run(out: Output) -> dict:
    """Both presets: files, figure ``chemisorption.png`` and the numbers."""
    cfg = settings(out.quick)
    presets = {"default": Chemisorption(), "reversing": Chemisorption.reversing()}
    summary = {"n_traj": cfg["n_traj"], "t_final": cfg["t_final"], "dt": DT}
    results = {}
    for preset, model in presets.items():
        res = run_preset(model, cfg, out)
        results[preset] = res
        prefix = "chemisorption" if preset == "default" else "chemisorption_reversing"
        for name, ds in res.items():
            out.save(ds, f"{prefix}_{name}")
        summary[preset] = analyse(res, cfg["t_final"])
    out.summary.update(summary)

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True, constrained_layout=True)
    labels = {"exact": "exact", "single": "1 Ehrenfest trajectory",
              "ehrenfest": f"{cfg['n_traj']} Ehrenfest", "speed": f"{cfg['n_traj']} SPEED"}
    for col, (preset, res) in enumerate(results.items()):
        for name, ds in res.items():
            axes[0, col].plot(ds["time"], ds["position"].sel(dof=0), label=labels[name], **STYLE[name])
            axes[1, col].plot(ds["time"], ds["potential_energy"] * 1e3, label=labels[name], **STYLE[name])
        axes[0, col].set_title(f"preset: {preset}")
        axes[0, col].set_ylabel("<q> / bohr")
        axes[1, col].set_ylabel("<V> / millihartree")
        axes[1, col].set_xlabel("time / a.u.")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Chemisorption model, 9 layers x 5 states")
    out.figure(fig, "chemisorption")
    return summary
