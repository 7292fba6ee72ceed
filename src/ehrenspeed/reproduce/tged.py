"""Thawed Gaussian Ehrenfest dynamics on vertically displaced oscillators: P_0(t) and <V>(t).

The kind of system of Figure 1 of the TGED paper (J. Vanicek,
arXiv:2607.10847): ten vertically displaced two-dimensional harmonic
oscillators with constant couplings. The paper's parameters could not be
read, so the model is our stand-in :class:`ehrenspeed.models.DisplacedOscillators`
with its documented defaults (10 states, w = (1.0, 1.6), offsets 0.05 k,
neighbour coupling 0.04, a displaced and squeezed Gaussian on state 0; all
in atomic units). Methods:

* exact: split operator on a 40^2 grid over [-6.5, 6.5]^2, fourth order;
* multi-trajectory Ehrenfest (1024 trajectories, Wigner sample);
* one Ehrenfest trajectory at the wavepacket centre;
* TGWD: thawed Gaussian dynamics with the couplings switched off
  (``coupling=0``), i.e. on state 0 alone;
* TGED (variational; on this model all three members coincide).

What must come out (our derivation, docs/tged.md): TGED lies on the exact
curves to the time-step error, because the exact solution is a Hartree
product of a Gaussian and an electronic vector rotating in the constant
matrix; Ehrenfest's populations are exact too (the electrons feel the same
constant matrix on every trajectory) and its <V> carries only the sampling
noise of the swarm (a harmonic Wigner distribution moves exactly), while one
trajectory misses the zero-point part of <V>; TGWD gets <V> (c^H E c is
conserved on this model) but no transfer.

``--quick``: 128 trajectories, t = 15 a.u., a 32^2 grid.
"""

from __future__ import annotations

import numpy as np

from ..analysis import max_abs_difference
from ..driver import run as run_trajectories
from ..dynamics.tged import ThawedGaussianEhrenfest
from ..grid import Grid, run_exact
from ..models import DisplacedOscillators
from .common import STYLE, Output, centre_state, pyplot, rounded

DT = 0.02


def settings(quick: bool) -> dict:
    """Run sizes of the full and the quick reproduction."""
    if quick:
        return dict(n_traj=128, t_final=15.0, points=32, output_every=10)
    return dict(n_traj=1024, t_final=40.0, points=40, output_every=10)


def run(out: Output) -> dict:
    """Run the five methods, save them, draw ``tged_population_energy.png``."""
    cfg = settings(out.quick)
    model = DisplacedOscillators()
    uncoupled = DisplacedOscillators(coupling=0.0)
    wp = model.initial_wavepacket()
    common = dict(dt=DT, t_final=cfg["t_final"], output_every=cfg["output_every"])
    grid = Grid([-6.5] * 2, [6.5] * 2, [cfg["points"]] * 2)
    tged = ThawedGaussianEhrenfest()
    results = {
        "exact": run_exact(model, wp, grid, integrator="yoshida4", progress=out.progress, **common),
        "ehrenfest": run_trajectories(model, wp, "ehrenfest", n_traj=cfg["n_traj"], seed=out.seed,
                                      integrator="yoshida4", progress=out.progress, **common),
        "single": run_trajectories(model, centre_state(model, wp), "ehrenfest", integrator="yoshida4", **common),
        "tgwd": run_trajectories(uncoupled, wp, tged, integrator="yoshida4", **common),
        "tged": run_trajectories(model, wp, tged, integrator="yoshida4", **common),
    }
    for name, ds in results.items():
        out.save(ds, f"tged_{name}")

    p0 = {name: ds["population"].sel(state=0) for name, ds in results.items()}
    v = {name: ds["potential_energy"] for name, ds in results.items()}
    summary = {
        "n_traj": cfg["n_traj"], "t_final": cfg["t_final"], "grid_points": cfg["points"], "dt": DT,
        "max_abs_P0_minus_exact": {name: rounded(max_abs_difference(p0[name], p0["exact"]))
                                   for name in results if name != "exact"},
        "max_abs_V_minus_exact": {name: rounded(max_abs_difference(v[name], v["exact"]))
                                  for name in results if name != "exact"},
        "min_P0_exact": rounded(float(p0["exact"].min())),
        "potential_evaluations": {name: int(ds.attrs["potential_evaluations"]) for name, ds in results.items()},
        "wall_time_s": {name: rounded(ds.attrs["wall_time_s"], 3) for name, ds in results.items()},
        "tged_max_energy_drift": rounded(results["tged"].attrs["max_energy_drift"]),
    }
    out.summary.update(summary)

    plt = pyplot()
    fig, (ax_p, ax_v) = plt.subplots(2, 1, figsize=(7, 7.4), sharex=True, constrained_layout=True)
    labels = {"exact": f"exact (split operator, {cfg['points']}$^2$ grid)",
              "ehrenfest": f"Ehrenfest, {cfg['n_traj']} trajectories",
              "single": "one Ehrenfest trajectory (wavepacket centre)",
              "tgwd": "thawed Gaussian, no coupling (TGWD)",
              "tged": "thawed Gaussian Ehrenfest (TGED)"}
    for name in results:
        ax_p.plot(p0[name]["time"], p0[name], label=labels[name], **STYLE[name])
        ax_v.plot(v[name]["time"], v[name], label=labels[name], **STYLE[name])
    ax_p.set_ylabel("population of state 0")
    ax_p.set_ylim(-0.02, 1.05)
    ax_v.set_ylabel(r"$\langle V \rangle$ / hartree")
    ax_v.set_xlabel("time / a.u.")
    ax_v.set_xlim(0.0, cfg["t_final"])
    ax_p.set_title("10 vertically displaced 2-D oscillators, constant coupling (our parameters)")
    # below both panels: TGWD runs along the top of the population panel
    fig.legend(*ax_p.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    out.figure(fig, "tged_population_energy")
    return summary
