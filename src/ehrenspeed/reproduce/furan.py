"""Furan dimer cation hole transfer: rate constant and final population versus temperature.

Two degenerate Morse diabats with an exponential coupling
(:class:`ehrenspeed.models.FuranDimer`). The two monomers approach at the
mean thermal relative speed of temperature T (docs/trajectories.md), collide and
separate; the hole starts on monomer 1. For each T in 100..500 K we run

* exact split-operator dynamics on a 1D grid,
* one Ehrenfest trajectory (the wavepacket centre),
* 64 and 2048 Ehrenfest trajectories,
* 64 and 2048 SPEED trajectories (Hessian every step; the Morse curves are
  not quadratic, so SPEED differs from Ehrenfest here),
* multi-centre SPEED with K = 2 and 4 groups on the small swarm (64;
  --quick 16), groups formed once (regrouping runs away on furan,
  docs/trajectories.md); summary.json's ``cost_accuracy`` gives every
  swarm's potential evaluations per step and |k - k(large Ehrenfest)|,

all on one time axis per temperature, and analyse P_1(t) with
:func:`ehrenspeed.analysis.rate_constant` (t* where P_1 = 0.75, k there
with P_inf = 1/2) and the final P_1.

Start geometry [ours]: the wavepacket starts 6 angstrom outside R0, not
the model's generic 3 angstrom. Because the diabats are degenerate, even
a tiny coupling rotates the hole given enough time: the phase collected on
the way in is about H0 exp(-b d) / (b v) for a start d outside R0, which
is ~2 rad at 3 angstrom and 100 K (the hole would move before the
monomers meet), and ~0.03 rad at 6 angstrom. The run lasts four inward
flight times (:func:`flight_time`): at two (the classical centre back at
its start) the slow tail of the wavepacket still exchanges the hole and
the exact P_1 still swings between 0.43 and 0.59; at four it has settled
to 1/2 within 0.004 at 100, 300 and 500 K.

One netCDF file per method, with a ``temperature`` dimension (the time
axes of the temperatures differ; each is NaN-padded to the longest); the
trajectory methods' files also hold ``final_trajectory_population``, each
trajectory's final P_1. Every swarm k carries a bootstrap error
(:func:`ehrenspeed.analysis.bootstrap_rate_constant`). Figures:
``furan_model.png`` (the model), ``furan_rate_constant.png`` (k in ps^-1,
final P_1), ``furan_population.png`` (P_1(t), time in fs) and
``furan_final_population_histogram.png``. dt = 10 a.u. (converged: see
docs/reproductions.md); ``--quick``: 100, 300, 500 K, 16 and 128
trajectories, dt = 40 a.u. (not converged after the collision), output
every 200 a.u.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analysis import (
    bootstrap_rate_constant,
    population_standard_error,
    rate_constant,
    trajectory_coefficients,
)
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..model_plots import furan_picture
from ..models import FuranDimer
from ..models.furan import PARAMETER_SETS as FURAN_PARAMETER_SETS
from ..plotting import add_atomic_time_axis
from ..potentials import SPEED
from ..units import FS
from .common import STYLE, Output, centre_state, pyplot, rounded

#: start this far outside R0, angstrom (see the module docstring)
START_OFFSET = 6.0
#: run length in inward flight times (see the module docstring)
FLIGHTS = 4.0
#: the grid reaches this far beyond the start, bohr: room for the outgoing packet
GRID_BEYOND_START = 90.0
#: inner end of the grid, bohr: far inside the repulsive wall, so that the
#: outer 5% watched by the edge check (GridEdgeWarning) lies beyond the
#: turning points (~5-6 bohr) where the wall keeps the density at zero
GRID_INNER = -2.0
#: time step of the full run, a.u.: converged for the final populations
#: (docs/reproductions.md, the dt table of 64-SPEED at 100 K)
DT = 10.0
#: the model's parameter sets (``reproduce furan --parameters SET``): our
#: illustrative numbers (default) or the fit to the first-principles scan
#: (docs/onthefly.md, "The furan dimer from first principles"), at two levels
PARAMETER_SETS = FURAN_PARAMETER_SETS

#: time step of --quick, a.u.: fast, not converged after the collision
DT_QUICK = 40.0
#: output spacing of exact and the swarms, a.u. (full run; --quick: 200):
#: the centred-difference slope at t* is then converged (1000 a.u. biased
#: the exact k low by 0.5-3.4%)
OUTPUT_SPACING = 100.0
#: output spacing of one trajectory and of TGED during the collision, a.u.:
#: one trajectory's P_1 swings with a half period of ~100 a.u. there, so
#: anything coarser aliases it; before and after, where it is flat, 500 a.u.
FINE_SPACING = 20.0
COARSE_SPACING = 500.0
#: the collision window, in inward flight times: the centre trajectory is
#: then within ~5 bohr of its turning point
COLLISION_WINDOW = (0.5, 1.5)
#: resamples of the bootstrap error of every swarm k
BOOTSTRAP_RESAMPLES = 400
#: ps^-1 per (a.u. of time)^-1
PER_PS = FS * 1000.0
#: multi-centre SPEED runs (issue 15, section 4): numbers of groups, on the small swarm
MULTICENTRE_K = (2, 4)


def settings(quick: bool) -> dict:
    """Temperatures, swarm sizes, grid and time step of the full and the quick run.

    ``every`` is the output stride of exact and the swarms (OUTPUT_SPACING,
    or the nearest multiple of dt), ``fine`` the output spacing of the single
    trajectory and the thawed Gaussian during the collision, a.u.
    (:func:`single_output_times`).
    """
    if quick:
        dt, spacing = DT_QUICK, 2 * OUTPUT_SPACING
        base = dict(temperatures=[100.0, 300.0, 500.0], small=16, large=128, points=3072)
    else:
        # momenta at the wall reach ~35 a.u.; 3072 points resolve |k| up to ~85 a.u.
        dt, spacing = DT, OUTPUT_SPACING
        base = dict(temperatures=[100.0, 200.0, 300.0, 400.0, 500.0], small=64, large=2048, points=3072)
    return dict(base, dt=dt, every=max(1, round(spacing / dt)), fine=max(1, round(FINE_SPACING / dt)) * dt)


def single_output_times(t_flight: float, t_final: float, dt: float, fine: float) -> np.ndarray:
    """Output times of one trajectory and of TGED: ``fine`` apart during the collision, COARSE_SPACING outside.

    Every time but the last (t_final itself, which the driver requires) is
    a whole number of steps ``dt``.
    """
    coarse = max(1, round(COARSE_SPACING / dt)) * dt
    a, b = (w * t_flight for w in COLLISION_WINDOW)
    steps = np.concatenate([np.arange(0.0, t_final, coarse), np.arange(round(a / dt) * dt, min(b, t_final), fine)])
    steps = np.unique(np.round(steps / dt) * dt)
    return np.concatenate([steps[steps < t_final - 1e-9 * t_final], [t_final]])


def flight_time(model: FuranDimer, r_start: float, p0: float) -> float:
    """Classical time from ``r_start`` in to the turning point on V_11, a.u.

    t = integral dR / v(R), v = sqrt(2 (E - V_11(R)) / mu), by the
    substitution that removes the turning point's inverse square-root
    singularity (R = R_turn + s^2).
    """
    mu = model.reduced_mass
    energy = p0**2 / (2 * mu) + float(model.potential([[r_start]])[0, 0, 0])
    # turning point on the repulsive wall: V_11 = E, R < R0
    u = 1.0 + np.sqrt(energy / model.depth)           # exp(-a (R - R0)) at the wall
    r_turn = model.r0 - np.log(u) / model.a
    s = np.linspace(0.0, np.sqrt(r_start - r_turn), 4001)[1:]
    r = r_turn + s**2
    v11 = model.potential(r[:, None])[:, 0, 0]
    speed = np.sqrt(np.maximum(2 * (energy - v11) / mu, 1e-300))
    integrand = 2 * s / speed
    # the integrand tends to a finite limit at s -> 0: extend with its first value
    return float(np.trapezoid(np.concatenate([[integrand[0]], integrand]), np.concatenate([[0.0], s])))


def run_temperature(model: FuranDimer, temperature: float, cfg: dict, out: Output) -> dict:
    """All methods at one temperature: name -> Dataset (swarms with their trajectories)."""
    wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=START_OFFSET)
    r_start, p0 = float(wp.q0[0]), float(wp.p0[0])
    t_flight = flight_time(model, r_start, p0)
    t_final = FLIGHTS * t_flight
    common = dict(dt=cfg["dt"], t_final=t_final, output_every=cfg["every"])
    fine = dict(dt=cfg["dt"], t_final=t_final,
                output_times=single_output_times(t_flight, t_final, cfg["dt"], cfg["fine"]))
    grid = Grid([GRID_INNER], [r_start + GRID_BEYOND_START], [cfg["points"]])
    res = {"exact": run_exact(model, wp, grid, progress=out.progress, **common)}
    res["single"] = run_trajectories(model, centre_state(model, wp), "ehrenfest", **fine)
    # one thawed Gaussian (docs/tged.md): the single trajectory's place, with a width
    res["tged"] = run_trajectories(model, wp, "tged", **fine)
    for size, label in ((cfg["small"], "small"), (cfg["large"], "large")):
        for method, name in (("ehrenfest", "ehrenfest"), (SPEED(), "speed")):
            res[f"{name}_{label}"] = run_trajectories(
                model, wp, method, n_traj=size, seed=out.seed, save_trajectories=True,
                progress=out.progress and size == cfg["large"], **common)
    for k in MULTICENTRE_K:
        res[f"speed_k{k}"] = run_trajectories(model, wp, SPEED(centres=k), n_traj=cfg["small"], seed=out.seed,
                                              save_trajectories=True, **common)
    return res


def trajectory_donor_populations(ds) -> np.ndarray:
    """Every trajectory's population of monomer 1 (state 0), shape (T, N); (T, 1) for one trajectory."""
    if "trajectory_coefficients_real" in ds:
        return np.abs(trajectory_coefficients(ds)[:, :, 0]) ** 2
    return ds["population"].sel(state=0).values[:, None]


def run(out: Output) -> dict:
    """Scan the temperatures, save one file per method, draw the figures."""
    cfg = settings(out.quick)
    model = FuranDimer(parameters=out.parameters or PARAMETER_SETS[0])
    out.summary["parameter_set"] = model.parameter_set
    temps = cfg["temperatures"]
    per_t = {}
    for temperature in temps:
        per_t[temperature] = run_temperature(model, temperature, cfg, out)
    methods = list(per_t[temps[0]])
    labels = {"exact": "exact", "single": "1 Ehrenfest", "tged": "1 thawed Gaussian (TGED)",
              "ehrenfest_small": f"{cfg['small']} Ehrenfest", "speed_small": f"{cfg['small']} SPEED",
              "ehrenfest_large": f"{cfg['large']} Ehrenfest", "speed_large": f"{cfg['large']} SPEED",
              **{f"speed_k{k}": f"{cfg['small']} SPEED, K = {k} centres" for k in MULTICENTRE_K}}
    style = {"exact": STYLE["exact"], "single": STYLE["single"], "tged": STYLE["tged"],
             "ehrenfest_small": STYLE["ehrenfest_small"],
             "speed_small": STYLE["speed_small"], "ehrenfest_large": STYLE["ehrenfest"],
             "speed_large": STYLE["speed"],
             "speed_k2": {"color": "tab:olive", "lw": 1.1, "ls": ":"},
             "speed_k4": {"color": "tab:green", "lw": 1.1, "ls": "-."}}

    table = {name: {"t_star": [], "k": [], "k_error": [], "k_per_ps": [], "k_per_ps_error": [],
                    "final_P1": [], "final_P1_error": [], "wall_time_s": [],
                    "potential_evaluations_per_step": []} for name in methods}
    final_p1 = {name: [] for name in methods}       # per-trajectory final P_1, per temperature
    coarse_k_exact = []
    for temperature in temps:
        for name in methods:
            ds = per_t[temperature][name]
            p1 = ds["population"].sel(state=0)
            t_star, k = rate_constant(ds["time"].values, p1.values)
            pops = trajectory_donor_populations(ds)
            k_err = (bootstrap_rate_constant(ds["time"].values, pops, BOOTSTRAP_RESAMPLES, seed=out.seed)[0]
                     if pops.shape[1] > 1 else 0.0)
            final_p1[name].append(pops[-1])
            table[name]["t_star"].append(rounded(t_star))
            table[name]["k"].append(rounded(k))
            table[name]["k_error"].append(rounded(k_err))
            table[name]["k_per_ps"].append(rounded(k * PER_PS))
            table[name]["k_per_ps_error"].append(rounded(k_err * PER_PS))
            table[name]["final_P1"].append(rounded(p1.values[-1]))
            err = (float(population_standard_error(ds, 0).values[-1])
                   if "trajectory_coefficients_real" in ds else 0.0)
            table[name]["final_P1_error"].append(rounded(err))
            table[name]["wall_time_s"].append(rounded(ds.attrs["wall_time_s"], 3))
            table[name]["potential_evaluations_per_step"].append(
                None if name == "exact" else evaluations_per_step(ds))
        # the old 1000 a.u. output spacing, for the record of its bias on the exact k
        ex = per_t[temperature]["exact"]
        stride = max(1, round(1000.0 / (ex["time"].values[1] - ex["time"].values[0])))
        coarse_k_exact.append(rounded(rate_constant(ex["time"].values[::stride],
                                                    ex["population"].sel(state=0).values[::stride])[1]))

    for name in methods:
        stacked = []
        for temperature, finals in zip(temps, final_p1[name]):
            ds = per_t[temperature][name]
            keep = [v for v in ("population", "adiabatic_population", "position", "momentum",
                                "potential_energy", "total_energy", "norm") if v in ds]
            one = ds[keep]
            if name != "exact":
                # the charge distribution after the collision: each trajectory's final P_1
                one = one.assign(final_trajectory_population=(("trajectory",), finals))
            stacked.append(one.expand_dims(temperature=[temperature]))
        merged = xr.concat(stacked, dim="temperature", join="outer")
        if "final_trajectory_population" in merged:
            merged["final_trajectory_population"].attrs["description"] = (
                "population of monomer 1 (state 0) of each trajectory at the final time")
        merged.attrs = dict(per_t[temps[0]][name].attrs)
        merged.attrs["temperatures_K"] = list(temps)
        merged.attrs["t_star"] = [float(x) for x in table[name]["t_star"]]
        merged.attrs["rate_constant"] = [float(x) for x in table[name]["k"]]
        merged.attrs["rate_constant_bootstrap_error"] = [float(x) for x in table[name]["k_error"]]
        merged.attrs["wall_time_s"] = float(np.sum(table[name]["wall_time_s"]))
        merged.attrs.pop("config", None)
        out.save(merged, f"furan_{name}")

    summary = {"temperatures_K": temps, "start_offset_angstrom": START_OFFSET, "dt": cfg["dt"],
               "output_spacing": {"exact_and_swarms": cfg["dt"] * cfg["every"],
                                  "single_and_tged_in_collision": cfg["fine"],
                                  "single_and_tged_outside": COARSE_SPACING},
               "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
               "n_traj": {"small": cfg["small"], "large": cfg["large"]}, "grid_points": cfg["points"],
               "t_final": [rounded(per_t[t]["exact"]["time"].values[-1]) for t in temps],
               "exact_k_from_1000au_output": coarse_k_exact,
               "methods": table,
               "cost_accuracy": cost_accuracy(table)}
    out.summary.update(summary)

    plt = pyplot()
    furan_picture(model, out)          # the model itself (the paper's Fig. 4)
    _rate_figure(plt, temps, methods, table, labels, style, cfg, out)
    _population_figure(plt, temps, methods, per_t, labels, style, out)
    _histogram_figure(plt, temps, final_p1, table, labels, style, cfg, out)
    return summary


def evaluations_per_step(ds) -> float:
    """Model potential evaluations per time step of a trajectory run (the observables' included)."""
    return rounded(ds.attrs["potential_evaluations"] / ds.attrs["n_steps"])


def cost_accuracy(table: dict) -> dict:
    """Evaluations per step against the rate constant's error, per temperature, for every swarm method.

    Two errors, ps^-1: |k - k(large Ehrenfest swarm)|, the issue's measure
    (sampling noise of the small swarms included), and |k - k(Ehrenfest on
    the same initial conditions)| (the large or the small swarm; same
    seed), the method's own error with the sampling taken out.
    """
    def distance(row, reference):
        return [rounded(abs(k - r)) for k, r in zip(row["k_per_ps"], table[reference]["k_per_ps"])]

    return {name: {"potential_evaluations_per_step": row["potential_evaluations_per_step"],
                   "k_per_ps_error_vs_ehrenfest_large": distance(row, "ehrenfest_large"),
                   "k_per_ps_error_vs_ehrenfest_same_trajectories": distance(
                       row, "ehrenfest_large" if name.endswith("_large") else "ehrenfest_small")}
            for name, row in table.items() if name not in ("exact", "single", "tged")}


#: the level at which t* and k are read, drawn in the population figure
THRESHOLD = 0.75


def _rate_figure(plt, temps, methods, table, labels, style, cfg, out) -> None:
    fig, (ax_k, ax_p) = plt.subplots(1, 2, figsize=(11, 4.9), layout="constrained")
    shift = {name: (i - 0.5 * (len(methods) - 1)) * 2.0 for i, name in enumerate(methods)}
    for name in methods:
        # a small horizontal offset per method: error bars of neighbours stay apart
        x = np.asarray(temps) + shift[name]
        ax_k.errorbar(x, table[name]["k_per_ps"], yerr=table[name]["k_per_ps_error"], marker="o", capsize=3,
                      label=labels[name], **style[name])
        ax_p.errorbar(x, table[name]["final_P1"], yerr=table[name]["final_P1_error"], marker="o",
                      label=labels[name], capsize=3, **style[name])
    ax_k.set_xlabel("temperature / K")
    ax_k.set_ylabel("rate constant k / ps$^{-1}$")
    ax_k.set_title(f"k = -P'(t*) / (P(t*) - 1/2) at P(t*) = {THRESHOLD}\n"
                   f"error bars: bootstrap over trajectories ({BOOTSTRAP_RESAMPLES} resamples)", fontsize=9)
    ax_p.axhline(0.5, color="grey", lw=0.8)
    ax_p.set_xlabel("temperature / K")
    ax_p.set_ylabel("final hole population on monomer 1")
    ax_p.set_title("error bars: standard error over trajectories", fontsize=9)
    ax_p.set_ylim(-0.02, 1.02)
    # below both panels: inside, it covered the single trajectory's points
    handles, names = ax_p.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(f"Furan dimer cation hole transfer (dt = {cfg['dt']:g} a.u.)")
    out.figure(fig, "furan_rate_constant")


def _population_figure(plt, temps, methods, per_t, labels, style, out) -> None:
    fig, axes = plt.subplots(len(temps), 1, figsize=(7.5, 2.0 * len(temps) + 1.6), layout="constrained")
    axes = np.atleast_1d(axes)
    for ax, temperature in zip(axes, temps):
        for name in methods:
            ds = per_t[temperature][name]
            kw = dict(style[name])
            if name == "tged":
                # one Gaussian swings 0 <-> 1 through the collision: thin and behind, not over the others
                kw.update(lw=0.6, alpha=0.6, zorder=1)
            ax.plot(ds["time"].values / FS, ds["population"].sel(state=0), label=labels[name], **kw)
        ax.axhline(THRESHOLD, color="grey", lw=0.6, ls=":")
        # the temperature in the axis label: a title would collide with the a.u. axis on top
        ax.set_ylabel(f"P$_1$ at {temperature:.0f} K")
        top = add_atomic_time_axis(ax)     # each panel has its own time range
        if ax is not axes[0]:
            top.set_xlabel("")
    axes[-1].set_xlabel(f"time / fs  (dotted: P$_1$ = {THRESHOLD}, where t* and k are read)")
    # below the panels: inside the first one it covered the early decay
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=4, fontsize=7)
    out.figure(fig, "furan_population")


def _histogram_figure(plt, temps, final_p1, table, labels, style, cfg, out) -> None:
    """Final P_1 over the trajectories: how the swarms share the hole after the collision."""
    fig, axes = plt.subplots(len(temps), 2, figsize=(9, 1.9 * len(temps) + 1.4), sharex=True,
                             layout="constrained", squeeze=False)
    edges = np.linspace(0.0, 1.0, 21)
    for row, temperature in enumerate(temps):
        i = temps.index(temperature)
        for col, method in enumerate(("ehrenfest", "speed")):
            ax = axes[row, col]
            for size in ("small", "large"):
                name = f"{method}_{size}"
                ax.hist(final_p1[name][i], bins=edges, density=True, histtype="step",
                        color=style[name]["color"], ls=style[name]["ls"], lw=1.5,
                        label=f"{cfg[size]} trajectories")
            # one trajectory: a single value, drawn as a line (the mean-field centre
            # trajectory is the same for Ehrenfest and SPEED)
            ax.axvline(final_p1["single"][i][0], color=style["single"]["color"], lw=2, ls="-",
                       label=labels["single"])
            ax.axvline(table["exact"]["final_P1"][i], color="black", lw=1, ls=":", label="exact final P$_1$")
            if col == 0:
                ax.set_ylabel(f"{temperature:.0f} K\nprobability density")
            means = ", ".join(f"{cfg[size]}: {table[f'{method}_{size}']['final_P1'][i]:.2f}"
                              for size in ("small", "large"))
            # in the title, not over the bars
            what = "Ehrenfest" if method == "ehrenfest" else "SPEED"
            ax.set_title(f"{what}, {temperature:.0f} K: mean final P$_1$ {means}", fontsize=8)
    # one legend below the panels: inside, it would cover bars
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=4, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("final P$_1$ of a trajectory (hole on monomer 1)")
    fig.suptitle("Furan: how the trajectories share the hole after the collision", fontsize="medium")
    out.figure(fig, "furan_final_population_histogram")
