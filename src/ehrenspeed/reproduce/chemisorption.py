"""Chemisorption of an atom on a metal surface: <q>(t) and <V>(t) (paper Figs. 3 and S2).

:class:`ehrenspeed.models.Chemisorption` with two named parameter sets
(:data:`ehrenspeed.models.chemisorption.PARAMETER_SETS`, found by the scan
of ``benchmarks/chemisorption_scan.py``): ``paper`` (the paper's Fig. 3
statements) and ``friction_fails`` (Fig. S2: electronic friction turns the
atom back, accurate dynamics does not). The atom starts at rest in a
Gaussian of one diabatic oscillator's ground-state width, as in the paper.
For each set: exact split-operator dynamics on a 1D grid, zero-temperature
electronic friction on the ground adiabat (:mod:`ehrenspeed.dynamics.friction`,
from the wavepacket centre), one Ehrenfest trajectory (the centre), one
thawed Gaussian (TGED), 1024 Ehrenfest and 1024 SPEED trajectories
(reference Hessian: the Hessian is constant here, so SPEED equals
Ehrenfest to round-off).

The paper's statements, each a number (:func:`statements`, :func:`verdict`):
the swarm's <V> within 10 % of exact's range and <q> within 10 % of the
distance exact travels over the whole run; one trajectory leaves exact
(by 10 % of that distance) before the swarm does and keeps oscillating in
<V> (late-time variance, second half of the run, at least 3x exact's and
the swarm's); exact is the slowest (mean <q> over the second half no more
than the swarm's plus two standard errors) and one trajectory the fastest;
in ``friction_fails``, friction's <q> falls back > 5 bohr from its maximum
while exact's and the swarm's fall back < 1 bohr.
``--quick``: 32 trajectories, 10000 a.u.

BLAS is limited to one thread while the methods run (``threadpoolctl``,
when installed): the numba kernel already uses both cores, and OpenBLAS
threads inside the per-output eigh fought with it.
"""

from __future__ import annotations

import numpy as np

from ..analysis import late_time_variance, max_abs_difference
from ..backend import single_blas_thread
from ..driver import run as run_trajectories
from ..dynamics.friction import ElectronicFriction
from ..grid import Grid, run_exact
from ..model_plots import chemisorption_picture
from ..models.chemisorption import parameter_set
from ..potentials import SPEED
from ..units import FS
from .common import STYLE, Output, centre_state, pyplot, rounded

DT = 50.0
OUTPUT_EVERY = 4  # every 200 a.u.
GRID = ([-15.0], [60.0])  # bohr; the edge density is reported
AGREE_TOLERANCE = 0.5  # bohr, for "methods agree at first"
#: the parameter sets drawn, in order
SETS = ("paper", "friction_fails")


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=32, t_final=10000.0, points=512)
    return dict(n_traj=1024, t_final=20000.0, points=512)


def run_preset(model, cfg: dict, out: Output, wp=None) -> dict:
    """The six methods for one parameter set: name -> Dataset (``wp``: default the model's own)."""
    wp = model.initial_wavepacket() if wp is None else wp
    common = dict(dt=DT, t_final=cfg["t_final"], output_every=OUTPUT_EVERY)
    grid = Grid(GRID[0], GRID[1], [cfg["points"]])
    res = {"exact": run_exact(model, wp, grid, progress=out.progress, **common),
           "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", **common),
           # classical atom on the ground adiabat with electronic friction, T = 0 (the foil)
           "friction": run_trajectories(model, centre_state(model, wp), ElectronicFriction(), **common),
           # one thawed Gaussian (docs/tged.md): where the single trajectory stands, with a width
           "tged": run_trajectories(model, wp, "tged", **common)}
    res["ehrenfest"] = run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed,
                                        progress=out.progress, save_trajectories=True, **common)
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


def statements(res: dict, x0: float) -> dict:
    """The numbers of the paper's statements for one parameter set (module docstring).

    ``res`` holds at least ``exact``, ``single``, ``ehrenfest`` (the swarm, run
    with ``save_trajectories``) and ``friction``; ``x0`` is the start, bohr.
    """
    time = res["exact"]["time"].values
    q = {k: ds["position"].sel(dof=0).values for k, ds in res.items()}
    v = {k: ds["potential_energy"].values for k, ds in res.items()}
    travel = max(float(q["exact"].max()) - x0, 1e-9)
    v_range = max(float(np.ptp(v["exact"])), 1e-12)
    half = time >= 0.5 * time[-1]
    per_traj = res["ehrenfest"]["trajectory_position"].values[:, :, 0]      # (T, N)
    stderr = float(per_traj[half].mean(axis=0).std() / np.sqrt(per_traj.shape[1]))
    late = {k: late_time_variance(time, v[k]) for k in ("exact", "single", "ehrenfest")}
    return {
        "travel": rounded(travel), "V_range": rounded(v_range),
        "dV": rounded(float(np.max(np.abs(v["ehrenfest"] - v["exact"]))) / v_range),
        "dq": rounded(float(np.max(np.abs(q["ehrenfest"] - q["exact"]))) / travel),
        "leave_1": agreement_time(time, q["single"], q["exact"], 0.1 * travel),
        "leave_N": agreement_time(time, q["ehrenfest"], q["exact"], 0.1 * travel),
        "var_1/ex": rounded(late["single"] / max(late["exact"], 1e-30)),
        "var_1/N": rounded(late["single"] / max(late["ehrenfest"], 1e-30)),
        "qbar": {k: rounded(float(q[k][half].mean())) for k in q},
        "qbar_stderr_N": rounded(stderr),
        "rev": {k: rounded(float(q[k].max() - q[k][-1])) for k in q},
        "max_q": {k: rounded(float(q[k].max())) for k in q},
        "edge": rounded(float(res["exact"]["edge_density"].max())),
    }


def verdict(s: dict) -> dict:
    """Which of the paper's Fig. 3 statements hold (booleans), from :func:`statements`."""
    qb = s["qbar"]
    return {"swarm_V": s["dV"] <= 0.10, "swarm_q": s["dq"] <= 0.10,
            "single_leaves_first": s["leave_1"] < s["leave_N"],
            "single_oscillates": s["var_1/ex"] >= 3 and s["var_1/N"] >= 3,
            "exact_slowest": qb["exact"] <= qb["ehrenfest"] + 2 * s["qbar_stderr_N"] and qb["single"] > qb["ehrenfest"],
            "travels": s["travel"] >= 10.0}


def friction_fails(s: dict) -> bool:
    """Fig. S2: friction turns back (> 5 bohr from its maximum), exact and the swarm do not (< 1 bohr)."""
    r = s["rev"]
    return r["friction"] > 5.0 and r["exact"] < 1.0 and r["ehrenfest"] < 1.0


def run(out: Output) -> dict:
    """Both parameter sets: files, figure ``chemisorption.png`` and the numbers."""
    cfg = settings(out.quick)
    summary = {"n_traj": cfg["n_traj"], "t_final": cfg["t_final"], "dt": DT, "sets": list(SETS)}
    results = {}
    for name in SETS:
        model, wp = parameter_set(name)
        with single_blas_thread():
            res = run_preset(model, cfg, out, wp)
        results[name] = res
        for method, ds in res.items():
            out.save(ds, f"chemisorption_{name}_{method}")
        numbers = analyse(res, cfg["t_final"])
        numbers["parameters"] = model.parameters()
        numbers["initial"] = {"x0": float(wp.q0[0]), "p0": float(wp.p0[0]),
                              "electronic": "diabatic (0, 0)" if np.ndim(wp.state) == 0 else "lowest adiabatic"}
        numbers["statements"] = statements(res, float(wp.q0[0]))
        numbers["holds"] = verdict(numbers["statements"])
        numbers["friction_fails"] = friction_fails(numbers["statements"])
        summary[name] = numbers
    out.summary.update(summary)

    plt = pyplot()
    chemisorption_picture(parameter_set("paper")[0], out)     # the model itself (the paper's Fig. 2)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True, layout="constrained")
    labels = {"exact": "exact", "friction": "electronic friction (T = 0)",
              "single": "1 Ehrenfest trajectory", "tged": "1 thawed Gaussian (TGED)",
              "ehrenfest": f"{cfg['n_traj']} Ehrenfest", "speed": f"{cfg['n_traj']} SPEED"}
    style = dict(STYLE, friction={"color": "tab:olive", "lw": 1.5, "ls": (0, (5, 1, 1, 1))})
    for col, (name, res) in enumerate(results.items()):
        for method, ds in res.items():
            t_fs = ds["time"].values / FS
            axes[0, col].plot(t_fs, ds["position"].sel(dof=0), label=labels[method], **style[method])
            axes[1, col].plot(t_fs, ds["potential_energy"] * 1e3, label=labels[method], **style[method])
        axes[0, col].set_title(f"parameter set: {name}", fontsize="medium")
        top = axes[0, col].secondary_xaxis("top", functions=(lambda t: t * FS, lambda t: t / FS))
        top.set_xlabel("time / a.u.")
        axes[0, col].set_ylabel("<q> / bohr")
        axes[1, col].set_ylabel("<V> / millihartree")
        axes[1, col].set_xlabel("time / fs")
    # one legend for all four panels, below them, where it hides no curve
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle("Chemisorption model: atom starting at rest on the first site")
    out.figure(fig, "chemisorption")
    return summary
