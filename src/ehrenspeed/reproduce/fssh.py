"""Surface hopping against exact scattering on Tully's three models.

For each model and incident momentum k the same Gaussian wavepacket (the
model's :meth:`initial_wavepacket`, width sigma = 20 / k, on the lower
adiabat far to the left) is propagated

* exactly (split operator on a grid, :func:`ehrenspeed.run_exact`);
* with FSSH (per-trajectory source), FSSH with the energy-based
  decoherence correction (``decoherence="edc"``), Ehrenfest, and FSSH on
  SPEED's shared quadratic surface (``FSSH(source="speed")``),

until the reflected and transmitted packets have left the coupling region.
The table gives the probabilities of the four channels: reflected (x < 0)
and transmitted (x > 0), on the lower and the upper adiabatic state
(:func:`exact_channels`, :func:`trajectory_channels`).

What must come out (J. C. Tully, J. Chem. Phys. 93, 1061 (1990)): FSSH
follows the exact branching on models 1 and 2 within its known errors and
the statistical error; on model 3 at low k the exact wavepacket reflects
on the lower state, which FSSH reproduces and Ehrenfest, moving on the mean
force, cannot.

Full: 500 trajectories per method, dt = 4 a.u. (exact: the same dt on a
grid of spacing <= 0.04 bohr). ``--quick``: model 1 at k = 20 and model 3
at k = 10, 100 trajectories, dt = 8 a.u. (exact: 4 a.u.).
"""

from __future__ import annotations

import numpy as np

from ..analysis import trajectory_coefficients
from ..driver import run as run_trajectories
from ..dynamics.fssh import FSSH
from ..grid import Grid, run_exact
from ..models import TullyDual, TullyExtended, TullySimple
from .common import Output, rounded

#: model name -> (class, incident momenta of the full table, of the quick one)
CASES = {
    "tully_simple": (TullySimple, (10.0, 15.0, 20.0, 30.0), (20.0,)),
    "tully_dual": (TullyDual, (16.0, 20.0, 30.0, 40.0), ()),
    "tully_extended": (TullyExtended, (8.0, 10.0, 15.0, 20.0, 25.0), (10.0,)),
}

#: the trajectory methods of the table, by column name
METHODS = {
    "fssh": FSSH(),
    "fssh_edc": FSSH(decoherence="edc"),
    "ehrenfest": "ehrenfest",
    "speed_fssh": FSSH(source="speed"),
}

#: bohr the packets travel (at the incident speed) before the channels are read
_TRAVEL = {"tully_simple": 40.0, "tully_dual": 40.0, "tully_extended": 50.0}
#: grid of the exact runs (lower, upper, points), dx <= 0.04 bohr resolving momenta up to 78 a.u.;
#: model 3's transmitted packet gains 0.2 hartree and runs far to the right
_GRIDS = {"tully_simple": (-80.0, 80.0, 4096), "tully_dual": (-80.0, 80.0, 4096),
          "tully_extended": (-80.0, 250.0, 8192)}


def setup(model, k: float, dt: float = 2.0) -> tuple:
    """The wavepacket, the final time (a.u.) and the exact method's grid for incident momentum k."""
    wp = model.initial_wavepacket(k0=k)
    mass = float(np.asarray(model.mass).ravel()[0])
    t_final = dt * np.ceil(_TRAVEL[model.name] * mass / k / dt)
    lower, upper, points = _GRIDS[model.name]
    grid = Grid([lower], [upper], [points])
    return wp, float(t_final), grid


def _asymptotic_labels(model, x: float) -> np.ndarray:
    """Adiabatic index of each diabatic state at x, where V is (numerically) diagonal."""
    v = model.potential(np.array([[x]]))[0]
    off = np.abs(v - np.diag(np.diag(v))).max()
    if off > 1e-6 * max(1.0, np.abs(v).max()):
        raise ValueError(f"model {model.name!r} is not diabatic at x = {x}: the channels cannot be read")
    return np.argsort(np.argsort(np.diag(v).real))


def exact_channels(ds, model) -> dict[str, np.ndarray]:
    """Reflected and transmitted probability on each adiabatic state from a :func:`run_exact` result.

    Left of x = 0 the diabatic densities are adiabatic ones (Tully's models
    are uncoupled far to the left, checked at the packet's start); the
    transmitted adiabatic probabilities are the exact adiabatic populations
    (with their coherences) minus the reflected ones, so a model still
    coupled on the right (model 3) is read correctly.
    """
    x = ds["grid_0"].values
    dx = x[1] - x[0]
    density = ds["state_density_0"].values[-1]              # (S, n) diabatic, final time
    left = density[:, x < 0].sum(axis=1) * dx
    labels = _asymptotic_labels(model, -20.0)
    reflected = np.zeros_like(left)
    reflected[labels] = left
    adiabatic = ds["adiabatic_population"].values[-1]
    return {"reflected": reflected, "transmitted": adiabatic - reflected}


def trajectory_channels(ds, model) -> dict[str, np.ndarray]:
    """The same channels from a trajectory result saved with ``save_trajectories=True``.

    FSSH: the fraction of trajectories on each active state; mean-field
    methods: each trajectory's adiabatic populations |U^H c|^2 at its final
    position. Reflected: x < 0.
    """
    q = ds["trajectory_position"].values[-1]                # (N, D)
    if "trajectory_active_state" in ds:
        active = ds["trajectory_active_state"].values[-1].astype(int)
        weights = np.eye(model.n_states)[active]
    else:
        c = trajectory_coefficients(ds)[-1]
        _, u = np.linalg.eigh(model.potential(q))
        a = np.einsum("nlk,nl->nk", np.conj(u), c)
        weights = np.abs(a) ** 2
    n = q.shape[0]
    right = q[:, 0] > 0
    return {"reflected": weights[~right].sum(axis=0) / n, "transmitted": weights[right].sum(axis=0) / n}


def channel_row(channels: dict[str, np.ndarray]) -> dict[str, float]:
    """R_lower, R_upper, T_lower, T_upper as a flat dict of rounded numbers."""
    return {"R_lower": rounded(channels["reflected"][0]), "R_upper": rounded(channels["reflected"][1]),
            "T_lower": rounded(channels["transmitted"][0]), "T_upper": rounded(channels["transmitted"][1])}


def scattering(model, k: float, methods: dict, n_traj: int, seed: int, dt: float = 2.0,
               exact_dt: float = 2.0) -> dict[str, dict]:
    """Exact and trajectory channel probabilities for one model and incident momentum, plus hop counts."""
    wp, t_final, grid = setup(model, k, dt)
    ex = run_exact(model, wp, grid, dt=exact_dt, t_final=t_final, output_every=round(t_final / exact_dt))
    rows = {"exact": channel_row(exact_channels(ex, model))}
    for name, method in methods.items():
        ds = run_trajectories(model, wp, method, n_traj=n_traj, dt=dt, t_final=t_final,
                              output_every=round(t_final / dt), seed=seed, save_trajectories=True,
                              energy_drift_warning=None)
        rows[name] = channel_row(trajectory_channels(ds, model))
        if "hops_accepted" in ds.attrs:
            rows[name].update(hops=int(ds.attrs["hops_accepted"]), frustrated=int(ds.attrs["hops_frustrated"]))
    return rows


def format_table(tables: dict) -> str:
    """Markdown table: one row per model, k and method."""
    lines = ["| model | k | method | R lower | R upper | T lower | T upper |", "|---|---|---|---|---|---|---|"]
    for model, by_k in tables.items():
        for k, rows in by_k.items():
            for method, row in rows.items():
                lines.append(f"| {model} | {k} | {method} | {row['R_lower']:.3f} | {row['R_upper']:.3f} | "
                             f"{row['T_lower']:.3f} | {row['T_upper']:.3f} |")
    return "\n".join(lines)


def run(out: Output) -> dict:
    """The Tully tables; writes ``tully_tables.md`` and returns them as the summary."""
    n_traj = 100 if out.quick else 500
    dt = 8.0 if out.quick else 4.0
    tables: dict = {}
    for name, (cls, full, quick) in CASES.items():
        momenta = quick if out.quick else full
        if not momenta:
            continue
        model = cls()
        tables[name] = {float(k): scattering(model, k, METHODS, n_traj, out.seed, dt=dt, exact_dt=4.0)
                        for k in momenta}
    text = format_table(tables)
    path = out.directory / "tully_tables.md"
    path.write_text(text + "\n")
    out.files.append(path)
    out.summary.update(tables=tables, n_traj=n_traj, dt=dt)
    return out.summary
