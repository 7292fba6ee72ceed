"""The primer: textbook nonadiabatic physics, and where Ehrenfest fails, beside exact results.

1. Landau-Zener: the stay-diabatic probability of a linear crossing
   traversed at constant speed (electrons along a prescribed path,
   :func:`ehrenspeed.propagate_along_path`) against
   exp(-2 pi H12^2 / (v |F1 - F2|)), for a range of speeds.
2. Berry phase: the lower adiabatic state of the linear E x e model carried
   slowly around the conical intersection returns with its sign changed
   (geometric phase pi once the dynamical phase is removed); a loop that
   does not enclose the intersection gives 0.
3. Ehrenfest's failures, each next to exact split-operator dynamics:

   * branching -- Tully's extended coupling model at k = 10, started on
     the lower adiabat: the exact wavepacket splits into a transmitted
     (about 70%) and a reflected branch; the Ehrenfest swarm moves on the
     average potential and transmits everything in a mixed state;
   * charge smearing -- Tully's simple avoided crossing at k = 15: the
     exact wavepacket ends as two packets, each on one diabatic state
     (donor or acceptor), with different speeds; one Ehrenfest trajectory
     ends at one place with the charge shared between the two;
   * no tunnelling -- a symmetric Eckart barrier V0 sech^2(x/a) hit
     below its top: the exact wavepacket partly tunnels, the classical
     trajectories all reflect.

The numbers are in ``summary.json``; files ``primer_<case>_<method>.nc``
and ``primer_landau_zener.png``, ``primer_berry_phase.png``,
``primer_ehrenfest_failures.png``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..driver import run as run_trajectories
from ..grid import Grid, run_exact
from ..models import JahnTeller, LinearCrossing, TullyExtended, TullySimple, from_function
from ..models.crossings import landau_zener_probability
from ..prescribed import propagate_along_path
from ..sampling import Wavepacket
from .common import STYLE, Output, centre_state, pyplot, rounded

# -- 1. Landau-Zener -----------------------------------------------------------


def landau_zener_scan(speeds, model: LinearCrossing | None = None, x_max: float = 40.0,
                      dx: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Stay-diabatic probability along x = v t from -x_max to +x_max, and the formula.

    The Landau-Zener formula is for t from -inf to +inf. At a finite
    distance the diabatic populations still carry a dressing of first order
    in H12 / (|F1 - F2| x) that interferes with the transition amplitude
    (about 1% of P here); the eigenvectors of V at the end points absorb
    it. So the electrons start in the adiabatic state that is mostly
    diabat 1 at -x_max and P is the weight, at +x_max, of the adiabatic
    state that is mostly diabat 1 there. The step is the time to move
    ``dx``.

    Returns
    -------
    numeric, formula : ndarray, shape (n_speeds,)
    """
    model = model or LinearCrossing()

    def diabat_like(x):
        vectors = np.linalg.eigh(model.potential([[x]])[0])[1]
        return vectors[:, int(np.argmax(np.abs(vectors[0])))]

    start, end = diabat_like(-x_max), diabat_like(x_max)
    numeric = []
    for v in np.asarray(speeds, dtype=float):
        t_end = x_max / v
        c = propagate_along_path(model, lambda t, v=v: np.array([[v * t]]), start[None, :],
                                 -t_end, t_end, dx / v)
        numeric.append(abs(np.vdot(end, c[0])) ** 2)
    return np.array(numeric), landau_zener_probability(model.f1, model.f2, model.h12, speeds)


# -- 2. Berry phase ------------------------------------------------------------


#: loop period at which the required "pi within 1e-3" is checked, a.u.
BERRY_PERIOD = 1000.0


def berry_phase(model: JahnTeller | None = None, centre=(0.0, 0.0), radius: float | None = None,
                period: float = 1000.0, dt: float = 0.1) -> float:
    """Geometric phase of the lower adiabatic state around a circular loop, radians.

    The electrons follow q(t) = centre + r (cos 2 pi t / T, sin 2 pi t / T)
    for one period T, starting in the lower eigenvector u0 of V(q(0)). The
    overlap <u0|c(T)> = exp(i (gamma - integral E_lower dt)) (adiabatic
    following, slow loop), so gamma = arg<u0|c(T)> + integral E_lower dt,
    folded into (-pi, pi]; the dynamical integral uses the same midpoints
    as the propagator.

    Returns
    -------
    float
        gamma; +-pi around the intersection, 0 for a loop beside it.
    """
    model = model or JahnTeller()
    radius = model.trough_radius if radius is None else float(radius)
    centre = np.asarray(centre, dtype=float)

    def path(t):
        angle = 2 * np.pi * t / period
        return (centre + radius * np.array([np.cos(angle), np.sin(angle)]))[None, :]

    u0 = np.linalg.eigh(model.potential(path(0.0))[0])[1][:, 0]
    # the midpoint propagator of propagate_along_path (exp(-i V(q(t_mid)) tau)
    # per step), with every step's matrix built at once and multiplied
    # pairwise: the same numbers, without a Python loop over 10^4-10^5 steps
    n_steps = int(np.ceil(period / dt - 1e-9))
    tau = period / n_steps
    mids = (np.arange(n_steps) + 0.5) * tau
    points = np.concatenate([path(t) for t in mids])
    lam, u = np.linalg.eigh(model.potential(points))
    steps = np.einsum("nij,nj,nkj->nik", u, np.exp(-1j * tau * lam), np.conj(u))
    c = _ordered_product(steps) @ u0
    dynamical = float(np.sum(lam[:, 0]) * tau)
    gamma = np.angle(np.vdot(u0, c)) + dynamical
    return float(np.angle(np.exp(1j * gamma)))


def _ordered_product(matrices: np.ndarray) -> np.ndarray:
    """M_{n-1} ... M_1 M_0 of a stack (n, S, S), by pairwise products (later steps on the left)."""
    m = np.asarray(matrices)
    while m.shape[0] > 1:
        if m.shape[0] % 2:
            m = np.concatenate([m, np.eye(m.shape[1], dtype=m.dtype)[None]])
        m = m[1::2] @ m[0::2]
    return m[0]


def converged_berry_phase(model: JahnTeller | None = None, centre=(0.0, 0.0), radius: float | None = None,
                          period: float = 1000.0, dt: float = 0.05) -> tuple[float, float]:
    """The geometric phase at a converged step: Richardson extrapolation of :func:`berry_phase`.

    The midpoint propagator is second order, so gamma(dt) = gamma + C dt^2
    once dt is small enough (for the E x e loop of radius 3, dt <= 0.05 a.u.:
    the deviation from pi at period 500 is 4.6e-4, 7.8e-4, 1.02e-3, 1.08e-3
    at dt = 0.2, 0.1, 0.05, 0.025, the last two steps shrinking 4x); then
    gamma = (4 gamma(dt/2) - gamma(dt)) / 3.

    Returns
    -------
    gamma : float
        Extrapolated phase, radians, in (-pi, pi].
    step_error : float
        |gamma - gamma(dt/2)|: what the finer of the two steps still missed.
    """
    coarse = berry_phase(model, centre, radius, period, dt)
    fine = berry_phase(model, centre, radius, period, 0.5 * dt)
    # unwrap the pair before extrapolating (both lie near +-pi around the intersection)
    coarse = fine + float(np.angle(np.exp(1j * (coarse - fine))))
    gamma = (4.0 * fine - coarse) / 3.0
    return float(np.angle(np.exp(1j * gamma))), abs(gamma - fine)


# -- 3. Ehrenfest's failures ---------------------------------------------------


def eckart_barrier(height: float = 0.01, width: float = 0.5, mass: float = 1836.15):
    """One-state model V = V0 sech^2(x / a) with analytic derivatives (hartree, bohr)."""
    def potential(q):
        s = 1.0 / np.cosh(q[:, 0] / width)
        return (height * s**2)[:, None, None]

    def gradient(q):
        x = q[:, 0] / width
        s, t = 1.0 / np.cosh(x), np.tanh(x)
        return (-2.0 * height / width * s**2 * t)[:, None, None, None]

    def hessian(q):
        x = q[:, 0] / width
        s, t = 1.0 / np.cosh(x), np.tanh(x)
        return (2.0 * height / width**2 * s**2 * (3 * t**2 - 1))[:, None, None, None, None]

    return from_function(potential, n_states=1, n_dof=1, mass=mass, gradient=gradient, hessian=hessian,
                         name="eckart_barrier")


def eckart_transmission(energy, height: float = 0.01, width: float = 0.5, mass: float = 1836.15):
    """Exact transmission probability of the Eckart barrier at ``energy`` (plane wave)."""
    k = np.sqrt(2 * mass * np.asarray(energy, dtype=float))
    a = np.sinh(np.pi * k * width) ** 2
    root = np.sqrt(complex(8 * mass * height * width**2 - 1))
    b = np.cosh(0.5 * np.pi * root).real ** 2 if root.imag == 0 else np.cos(0.5 * np.pi * abs(root)) ** 2
    return a / (a + b)


def _split(ds_exact, x_split: float = 0.0) -> dict:
    """Final probabilities left/right of ``x_split`` per state, from the grid's state densities."""
    x = ds_exact["grid_0"].values
    dx = x[1] - x[0]
    dens = ds_exact["state_density_0"].values[-1]          # (S, n)
    right = x > x_split
    return {"right": dens[:, right].sum(axis=1) * dx, "left": dens[:, ~right].sum(axis=1) * dx}


def _trajectory_split(ds, x_split: float = 0.0) -> dict:
    """Final fractions left/right of ``x_split`` weighted by each state's population."""
    from ..analysis import trajectory_coefficients

    x = ds["trajectory_position"].values[-1, :, 0]
    pops = np.abs(trajectory_coefficients(ds)[-1]) ** 2      # (N, S)
    n = x.size
    right = x > x_split
    return {"right": pops[right].sum(axis=0) / n, "left": pops[~right].sum(axis=0) / n}


def mixing_index(ds_exact) -> float:
    """Density-weighted local charge sharing of the final exact state, in [0, 1].

    M = integral 4 rho_0(x) rho_1(x) / rho(x) dx: 0 when each place holds
    one diabatic state (the charge sits on the donor or on the acceptor
    in each branch), 4 P0 P1 when both states share one place -- the value
    a single trajectory always has.
    """
    x = ds_exact["grid_0"].values
    dens = ds_exact["state_density_0"].values[-1]
    total = dens.sum(axis=0)
    keep = total > 1e-12 * total.max()
    return float(np.sum(4 * dens[0, keep] * dens[1, keep] / total[keep]) * (x[1] - x[0]))


def failures(out: Output) -> tuple[dict, dict]:
    """Run the three failure cases: summary numbers and the datasets."""
    quick = out.quick
    n_traj = 64 if quick else 512
    data, numbers = {}, {}

    # branching: Tully's extended coupling model
    model = TullyExtended()
    wp = model.initial_wavepacket(state=1)       # k = 10 from x = -15, on the lower adiabat
    common = dict(dt=2.0, t_final=5000.0 if quick else 6000.0, output_every=50)
    # the transmitted packet leaves at up to ~0.015 bohr/a.u.: room for 6000 a.u. of flight
    grid = Grid([-100.0], [100.0], [4096])
    ex = run_exact(model, wp, grid, **common)
    eh = run_trajectories(model, wp, "ehrenfest", n_traj=n_traj, seed=out.seed, save_trajectories=True,
                          **common)
    data["branching"] = {"exact": ex, "ehrenfest": eh}
    e_split, t_split = _split(ex), _trajectory_split(eh)
    numbers["branching"] = {
        "exact_reflected": rounded(e_split["left"].sum()), "exact_transmitted": rounded(e_split["right"].sum()),
        "exact_reflected_by_state": [rounded(v) for v in e_split["left"]],
        "exact_transmitted_by_state": [rounded(v) for v in e_split["right"]],
        "ehrenfest_reflected": rounded(t_split["left"].sum()),
        "ehrenfest_transmitted": rounded(t_split["right"].sum()),
        "ehrenfest_transmitted_by_state": [rounded(v) for v in t_split["right"]],
        "n_traj": n_traj,
    }

    # charge smearing: Tully's simple avoided crossing, one trajectory
    model = TullySimple()
    wp = model.initial_wavepacket(k0=15.0)
    # long enough for the two branches (speeds differ by 1.5e-3 bohr/a.u.) to part
    common = dict(dt=2.0, t_final=7000.0, output_every=50)
    grid = Grid([-40.0], [100.0], [2048])
    ex = run_exact(model, wp, grid, **common)
    one = run_trajectories(model, centre_state(model, wp), "ehrenfest", save_trajectories=True, **common)
    data["smearing"] = {"exact": ex, "single": one}
    pops = one["population"].values[-1]
    numbers["smearing"] = {
        "exact_final_population": [rounded(v) for v in ex["population"].values[-1]],
        "exact_mixing_index": rounded(mixing_index(ex)),
        "single_final_population": [rounded(v) for v in pops],
        "single_mixing_index": rounded(4 * pops[0] * pops[1]),
        "single_final_position": rounded(one["position"].values[-1, 0]),
    }

    # no tunnelling: Eckart barrier below its top
    height, width, mass = 0.01, 0.5, 1836.15
    model = eckart_barrier(height, width, mass)
    energy = 0.8 * height
    k0 = np.sqrt(2 * mass * energy)
    sigma_p = 0.03 * k0                             # narrow in energy: well below the top
    wp = Wavepacket([-20.0], [k0], [2 * sigma_p**2], 0)
    common = dict(dt=4.0, t_final=12000.0, output_every=50)
    grid = Grid([-80.0], [80.0], [1024 if quick else 2048])
    ex = run_exact(model, wp, grid, **common)
    sw = run_trajectories(model, wp, "ehrenfest", n_traj=n_traj, seed=out.seed, save_trajectories=True,
                          **common)
    one = run_trajectories(model, centre_state(model, wp), "ehrenfest", **common)
    data["tunnelling"] = {"exact": ex, "ehrenfest": sw, "single": one}
    numbers["tunnelling"] = {
        "energy_over_barrier": 0.8, "plane_wave_transmission": rounded(eckart_transmission(energy, height,
                                                                                            width, mass)),
        "exact_transmitted": rounded(_split(ex)["right"].sum()),
        "ehrenfest_transmitted": rounded(_trajectory_split(sw)["right"].sum()),
        "single_final_position": rounded(one["position"].values[-1, 0]),
        "single_final_momentum": rounded(one["momentum"].values[-1, 0]),
    }
    return numbers, data


def run(out: Output) -> dict:
    """Landau-Zener scan, Berry phases, the three failures; figures and numbers."""
    plt = pyplot()
    summary = {}

    speeds = np.geomspace(0.004, 0.05, 4 if out.quick else 10)
    numeric, formula = landau_zener_scan(speeds, dx=0.02 if out.quick else 0.01)
    rel = np.abs(numeric - formula) / formula
    summary["landau_zener"] = {"speeds": speeds, "numeric": numeric, "formula": formula,
                               "max_relative_error": rounded(rel.max())}
    out.save(xr.Dataset({"numeric": ("speed", numeric), "formula": ("speed", formula)},
                        coords={"speed": speeds}, attrs={"f1": 0.01, "f2": -0.01, "h12": 0.005}),
             "primer_landau_zener")
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    fine = np.geomspace(speeds[0], speeds[-1], 200)
    ax.plot(fine, landau_zener_probability(0.01, -0.01, 0.005, fine), "k-", label="Landau-Zener formula")
    ax.plot(speeds, numeric, "o", color="tab:red", label="electrons along x = v t")
    ax.set_xscale("log")
    # a few plain-number ticks: matplotlib's default "2 x 10^-2" minor labels run into each other
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter, NullLocator

    ticks = [t for t in (0.004, 0.01, 0.02, 0.05) if speeds[0] * 0.99 <= t <= speeds[-1] * 1.01]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("speed v / (bohr per a.u. of time)")
    ax.set_ylabel("probability to stay diabatic")
    ax.set_title("Landau-Zener crossing: F1 = -F2 = 0.01 hartree/bohr, H12 = 0.005 hartree\n"
                 f"largest relative error of the propagated electrons {rel.max():.1e}", fontsize="medium")
    ax.legend(loc="lower right")
    out.figure(fig, "primer_landau_zener")

    jt = JahnTeller()
    # the loop must be slow for the adiabatic phase to be pi: the converged
    # deviation falls as 1/period (1.1e-3 at 500 a.u., 5.5e-4 at 1000 a.u.);
    # the required 1e-3 is checked at BERRY_PERIOD
    periods = [250.0, 1000.0] if out.quick else [250.0, 500.0, 1000.0, 2000.0]
    around_pairs = [converged_berry_phase(jt, period=p) for p in periods]
    beside_pairs = [converged_berry_phase(jt, centre=(6.0, 0.0), radius=1.0, period=p) for p in periods]
    around = [g for g, _ in around_pairs]
    beside = [g for g, _ in beside_pairs]
    at = periods.index(BERRY_PERIOD)
    summary["berry_phase"] = {"loop_periods": periods, "around_intersection": around,
                              "beside_intersection": beside,
                              "deviation_from_pi": [rounded(abs(abs(g) - np.pi)) for g in around],
                              "step_error_estimate": [rounded(e) for _, e in around_pairs + beside_pairs],
                              "spec_period": BERRY_PERIOD,
                              "error_around": rounded(abs(abs(around[at]) - np.pi)),
                              "error_beside": rounded(abs(beside[at]))}
    fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
    # the deviations, on a log scale: |phase| itself sits on pi to 1e-3, invisible
    ax.plot(periods, np.abs(np.abs(around) - np.pi), "o-",
            label="around the intersection (r = 3): ||gamma| - pi|")
    ax.plot(periods, np.maximum(np.abs(beside), 1e-12), "s-",
            label="beside it (centre (6, 0), r = 1): |gamma|")
    ax.axhline(1e-3, color="grey", ls=":", label="required: within 1e-3 rad")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(periods))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("loop period / a.u.")
    ax.set_ylabel("deviation of the geometric phase / rad")
    ax.set_title("Berry phase of the linear E x e model (step converged,\n"
                 "Richardson from dt = 0.05 and 0.025 a.u.)", fontsize="medium")
    fig.legend(*ax.get_legend_handles_labels(), fontsize="small", loc="outside lower center", ncol=1)
    out.figure(fig, "primer_berry_phase")

    numbers, data = failures(out)
    summary.update(numbers)
    for case, runs in data.items():
        for name, ds in runs.items():
            out.save(ds, f"primer_{case}_{name}")
    _failure_figure(plt, data, numbers, out)
    out.summary.update(summary)
    return summary


def _failure_figure(plt, data, numbers, out) -> None:
    from ..analysis import density_histogram

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    ax = axes[0]
    ex, eh = data["branching"]["exact"], data["branching"]["ehrenfest"]
    x = ex["grid_0"].values
    for s, colour in ((0, "tab:purple"), (1, "tab:olive")):
        ax.plot(x, ex["state_density_0"].values[-1, s], color=colour, label=f"exact, state {s}")
    hist = density_histogram(eh, 0, np.linspace(x[0], x[-1], 121))
    ax.step(hist["bin"], hist.values[-1], where="mid", color=STYLE["ehrenfest"]["color"],
            label="Ehrenfest swarm (all states)")
    b = numbers["branching"]
    ax.set_title(f"branching (Tully 3, k = 10)\nreflected: exact {b['exact_reflected']:.2f}, "
                 f"Ehrenfest {b['ehrenfest_reflected']:.2f}", fontsize=9)
    ax.set_xlabel("x / bohr")
    ax.set_ylabel("final density / bohr$^{-1}$")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1]
    ex, one = data["smearing"]["exact"], data["smearing"]["single"]
    x = ex["grid_0"].values
    for s, colour in ((0, "tab:purple"), (1, "tab:olive")):
        ax.plot(x, ex["state_density_0"].values[-1, s], color=colour, label=f"exact, state {s}")
    xs = one["position"].values[-1, 0]
    pops = one["population"].values[-1]
    top = ex["state_density_0"].values[-1].max()
    # two side-by-side bars at the trajectory's final x, heights P0 and P1 times the exact peak
    ax.bar([xs - 1.5, xs + 1.5], pops * top, width=3.0, color=["tab:purple", "tab:olive"], alpha=0.6,
           edgecolor="black", linewidth=0.8, label="one Ehrenfest trajectory at its final x:\nP0, P1 (x peak height)")
    s_ = numbers["smearing"]
    ax.set_title(f"charge smearing (Tully 1, k = 15)\nmixing index: exact {s_['exact_mixing_index']:.2f}, "
                 f"one trajectory {s_['single_mixing_index']:.2f}", fontsize=9)
    ax.set_xlabel("x / bohr")
    ax.set_ylabel("final density / bohr$^{-1}$")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[2]
    ex, sw = data["tunnelling"]["exact"], data["tunnelling"]["ehrenfest"]
    x = ex["grid_0"].values
    ax.plot(x, ex["density_0"].values[-1], color="black", label="exact")
    hist = density_histogram(sw, 0, np.linspace(x[0], x[-1], 161))
    ax.step(hist["bin"], hist.values[-1], where="mid", color=STYLE["ehrenfest"]["color"],
            label="classical (Ehrenfest) swarm")
    ax.axvline(0.0, color="grey", ls=":")
    t_ = numbers["tunnelling"]
    ax.set_title(f"tunnelling (Eckart barrier, E = 0.8 V0)\ntransmitted: exact {t_['exact_transmitted']:.3f}, "
                 f"swarm {t_['ehrenfest_transmitted']:.3f}", fontsize=9)
    ax.set_xlabel("x / bohr")
    ax.set_ylabel("final density / bohr$^{-1}$")
    ax.legend(fontsize=8, loc="upper right")
    out.figure(fig, "primer_ehrenfest_failures")
