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
axes of the temperatures differ; each is NaN-padded to the longest).
``--quick``: 100, 300, 500 K, 16 and 128 trajectories, a coarser grid.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analysis import population_standard_error, rate_constant
from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..models import FuranDimer
from ..plotting import add_femtosecond_axis
from ..potentials import SPEED
from ..units import ANGSTROM
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
DT = 40.0
OUTPUT_EVERY = 25


def settings(quick: bool) -> dict:
    """Temperatures, swarm sizes and grid of the full and the quick run."""
    if quick:
        return dict(temperatures=[100.0, 300.0, 500.0], small=16, large=128, points=3072)
    # momenta at the wall reach ~35 a.u.; 3072 points resolve |k| up to ~85 a.u.
    return dict(temperatures=[100.0, 200.0, 300.0, 400.0, 500.0], small=64, large=2048, points=3072)


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
    """All methods at one temperature: name -> Dataset."""
    wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=START_OFFSET)
    r_start, p0 = float(wp.q0[0]), float(wp.p0[0])
    t_final = FLIGHTS * flight_time(model, r_start, p0)
    common = dict(dt=DT, t_final=t_final, output_every=OUTPUT_EVERY)
    grid = Grid([GRID_INNER], [r_start + GRID_BEYOND_START], [cfg["points"]])
    res = {"exact": run_exact(model, wp, grid, progress=out.progress, **common)}
    res["single"] = run_trajectories(model, centre_state(model, wp), "ehrenfest", **common)
    # one thawed Gaussian (docs/tged.md): the single trajectory's place, with a width
    res["tged"] = run_trajectories(model, wp, "tged", **common)
    for size, label in ((cfg["small"], "small"), (cfg["large"], "large")):
        for method, name in (("ehrenfest", "ehrenfest"), (SPEED(), "speed")):
            res[f"{name}_{label}"] = run_trajectories(
                model, wp, method, n_traj=size, seed=out.seed, save_trajectories=True,
                progress=out.progress and size == cfg["large"], **common)
    return res


def run(out: Output) -> dict:
    """Scan the temperatures, save one file per method, draw the figures."""
    cfg = settings(out.quick)
    model = FuranDimer()
    temps = cfg["temperatures"]
    per_t = {}
    for temperature in temps:
        per_t[temperature] = run_temperature(model, temperature, cfg, out)
    methods = list(per_t[temps[0]])
    labels = {"exact": "exact", "single": "1 Ehrenfest", "tged": "1 thawed Gaussian (TGED)",
              "ehrenfest_small": f"{cfg['small']} Ehrenfest", "speed_small": f"{cfg['small']} SPEED",
              "ehrenfest_large": f"{cfg['large']} Ehrenfest", "speed_large": f"{cfg['large']} SPEED"}
    style = {"exact": STYLE["exact"], "single": STYLE["single"], "tged": STYLE["tged"],
             "ehrenfest_small": STYLE["ehrenfest_small"],
             "speed_small": STYLE["speed_small"], "ehrenfest_large": STYLE["ehrenfest"],
             "speed_large": STYLE["speed"]}

    table = {name: {"t_star": [], "k": [], "final_P1": [], "final_P1_error": [], "wall_time_s": []}
             for name in methods}
    for temperature in temps:
        for name in methods:
            ds = per_t[temperature][name]
            p1 = ds["population"].sel(state=0)
            t_star, k = rate_constant(ds["time"].values, p1.values)
            table[name]["t_star"].append(rounded(t_star))
            table[name]["k"].append(rounded(k))
            table[name]["final_P1"].append(rounded(p1.values[-1]))
            err = (float(population_standard_error(ds, 0).values[-1])
                   if "trajectory_coefficients_real" in ds else 0.0)
            table[name]["final_P1_error"].append(rounded(err))
            table[name]["wall_time_s"].append(rounded(ds.attrs["wall_time_s"], 3))

    for name in methods:
        stacked = []
        for temperature in temps:
            ds = per_t[temperature][name]
            keep = [v for v in ("population", "adiabatic_population", "position", "momentum",
                                "potential_energy", "total_energy", "norm") if v in ds]
            stacked.append(ds[keep].expand_dims(temperature=[temperature]))
        merged = xr.concat(stacked, dim="temperature", join="outer")
        merged.attrs = dict(per_t[temps[0]][name].attrs)
        merged.attrs["temperatures_K"] = list(temps)
        merged.attrs["t_star"] = [float(x) for x in table[name]["t_star"]]
        merged.attrs["rate_constant"] = [float(x) for x in table[name]["k"]]
        merged.attrs["wall_time_s"] = float(np.sum(table[name]["wall_time_s"]))
        merged.attrs.pop("config", None)
        out.save(merged, f"furan_{name}")

    summary = {"temperatures_K": temps, "start_offset_angstrom": START_OFFSET, "dt": DT,
               "n_traj": {"small": cfg["small"], "large": cfg["large"]}, "grid_points": cfg["points"],
               "t_final": [rounded(per_t[t]["exact"]["time"].values[-1]) for t in temps],
               "methods": table}
    out.summary.update(summary)

    plt = pyplot()
    fig, (ax_k, ax_p) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    for name in methods:
        ax_k.plot(temps, np.array(table[name]["k"], dtype=float) * 1e3, marker="o", label=labels[name],
                  **style[name])
        ax_p.errorbar(temps, table[name]["final_P1"], yerr=table[name]["final_P1_error"], marker="o",
                      label=labels[name], capsize=3, **style[name])
    ax_k.set_xlabel("temperature / K")
    ax_k.set_ylabel("rate constant k / 10$^{-3}$ a.u.$^{-1}$")
    ax_k.set_title("k = -P'(t*) / (P(t*) - 1/2) at P(t*) = 0.75")
    ax_p.axhline(0.5, color="grey", lw=0.8)
    ax_p.set_xlabel("temperature / K")
    ax_p.set_ylabel("final hole population on monomer 1")
    ax_p.set_ylim(-0.02, 1.02)
    # below both panels: inside, it covered the single trajectory's points
    handles, names = ax_p.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=8)
    fig.suptitle("Furan dimer cation hole transfer")
    out.figure(fig, "furan_rate_constant")

    fig, axes = plt.subplots(len(temps), 1, figsize=(7, 2.0 * len(temps) + 1.2), layout="constrained")
    for ax, temperature in zip(np.atleast_1d(axes), temps):
        for name in methods:
            ds = per_t[temperature][name]
            ax.plot(ds["time"], ds["population"].sel(state=0), label=labels[name], **style[name])
        ax.axhline(0.75, color="grey", lw=0.6, ls=":")
        # the temperature in the axis label: a title would collide with the fs axis on top
        ax.set_ylabel(f"P$_1$ at {temperature:.0f} K")
        top = add_femtosecond_axis(ax)     # each panel has its own time range
        if ax is not np.atleast_1d(axes)[0]:
            top.set_xlabel("")
    np.atleast_1d(axes)[-1].set_xlabel("time / a.u.")
    # below the panels: inside the first one it covered the early decay
    handles, names = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=3, fontsize=7)
    out.figure(fig, "furan_population")
    return summary
