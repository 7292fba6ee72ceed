"""Molecular dynamics with electronic friction on the ground adiabatic surface.

The nuclei move classically on the lowest adiabatic surface E_0(q) of the
model and the electrons, which follow adiabatically, act on them as a
Markovian bath (atomic units, hbar = 1):

    dq = M^-1 p dt
    dp = -grad E_0(q) dt - Lambda(q) M^-1 p dt + sqrt(2 k_B T) B(q) dW,   B B^T = Lambda

(fluctuation-dissipation: the random force has covariance 2 k_B T Lambda dt;
T = 0 gives deterministic damped dynamics).

The friction tensor. M. Head-Gordon and J. C. Tully, "Molecular dynamics
with electronic frictions", J. Chem. Phys. 103, 10137 (1995),
doi:10.1063/1.469915, give for independent electrons in a metal

    Lambda_ab = pi hbar sum_kl <k|d_a H|l> <l|d_b H|k> delta(e_k - e_F) delta(e_l - e_F),

the T -> 0 limit of pi hbar sum_kl F^a_kl F^b_lk (f_k - f_l) / (e_l - e_k)
delta(e_l - e_k) (the Fermi factors' finite difference becomes -df/de =
delta(e - e_F)). Our models carry one electron, in the ground adiabatic
state: occupation f_0 = 1, f_k = 0 for k > 0. The same expression then
reads (our adaptation; the two orderings (0, k) and (k, 0) each contribute)

    Lambda_ab(q) = 2 pi sum_{k>0} F^a_0k F^b_k0 delta_s(E_k - E_0) / (E_k - E_0)
                 = 2 pi sum_{k>0} (E_k - E_0) d^a_0k d^b_k0 delta_s(E_k - E_0),

with F^a_0k = <0|dV/dq_a|k> (adiabatic states of V(q)) and the
nonadiabatic couplings d^a_0k = F^a_0k / (E_k - E_0): the golden-rule rate
of the transitions 0 -> k that the motion drives, times the energy each
takes away. Every term is a non-negative weight times the outer product of
a real vector with itself (F_k0 = F_0k for real V, and for complex V the
symmetrised real part is used), so Lambda is symmetric positive
semidefinite. A discrete spectrum needs a broadened delta_s; the width s
(``broadening``, hartree) says over which energy range the electronic
states act as a continuum. Default 1e-3 hartree: the energy scale of the
chemisorption model's layer step and couplings (1-2 mEh), so that the
quasi-degenerate manifold of each layer and the neighbouring layer's states
count; the friction depends on it, and it is recorded in the result.
``"gaussian"`` (default): delta_s(x) = exp(-x^2 / 2 s^2) / (s sqrt(2 pi));
``"lorentzian"``: delta_s(x) = (s / pi) / (x^2 + s^2).

Integrator: BAOAB (B. Leimkuhler and C. Matthews, "Rational construction of
stochastic numerical methods for molecular sampling", Appl. Math. Res.
Express 2013, 34 (2013), doi:10.1093/amrx/abs010): half kick B, half drift
A, the exact Ornstein-Uhlenbeck step O with Lambda frozen at the midpoint
position, half drift, half kick. In mass-weighted momenta u = M^-1/2 p,
with G = M^-1/2 Lambda M^-1/2, the O step is

    u <- exp(-G dt) u + sqrt(k_B T (1 - exp(-2 G dt))) xi,   xi ~ N(0, 1),

exact for frozen q. With Lambda = 0 BAOAB is velocity Verlet on E_0
(Born-Oppenheimer dynamics, second order, symplectic).
"""

from __future__ import annotations

import itertools
import time as _time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, SimulationError
from ..sampling import State, Wavepacket, sample_wigner
from ..units import KB

#: shapes of the broadened delta function
SHAPES = ("gaussian", "lorentzian")


@dataclass(frozen=True)
class ElectronicFriction:
    """Electronic friction dynamics on the ground adiabatic surface (see the module docstring).

    Parameters
    ----------
    broadening : float, hartree
        Width s of the broadened delta function; default 1e-3.
    shape : {"gaussian", "lorentzian"}
        Shape of the broadened delta function; default ``"gaussian"``.
    temperature : float, kelvin
        Temperature of the random force; 0 (default) gives deterministic
        damped dynamics.
    strength : float
        Factor on Lambda; 1 (default) is the friction of the model, 0 is
        Born-Oppenheimer dynamics on the ground adiabat.

    Notes
    -----
    Run it with ``es.run(model, initial, method="friction")`` or
    ``method=ElectronicFriction(...)``. The electronic state of the initial
    condition is not used: every trajectory starts on the ground adiabat.
    The random force of trajectory j comes from its own stream, spawned from
    ``seed``.
    """

    broadening: float = 1e-3
    shape: str = "gaussian"
    temperature: float = 0.0
    strength: float = 1.0
    name: str = field(default="friction", init=False)

    def __post_init__(self):
        if not (np.isfinite(self.broadening) and self.broadening > 0):
            raise InputError(f"broadening must be a positive number of hartree, got {self.broadening!r}")
        if self.shape not in SHAPES:
            raise InputError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise InputError(f"temperature must be >= 0 kelvin, got {self.temperature!r}")
        if not (np.isfinite(self.strength) and self.strength >= 0):
            raise InputError(f"strength must be >= 0, got {self.strength!r}")

    def delta(self, x: np.ndarray) -> np.ndarray:
        """The broadened delta function delta_s(x), 1/hartree."""
        s = float(self.broadening)
        if self.shape == "gaussian":
            return np.exp(-0.5 * (x / s) ** 2) / (s * np.sqrt(2.0 * np.pi))
        return (s / np.pi) / (x**2 + s**2)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "broadening": float(self.broadening), "shape": self.shape,
                "temperature": float(self.temperature), "strength": float(self.strength)}


def is_friction(method) -> bool:
    """True when ``method`` names or is electronic friction dynamics."""
    if isinstance(method, ElectronicFriction):
        return True
    return isinstance(method, str) and method.lower() in ("friction", "electronic_friction")


# -- the ground adiabatic surface and its friction ----------------------------------------
def ground_state_terms(model, q: np.ndarray, method: ElectronicFriction):
    """Ground adiabatic energy, force and friction tensor at N positions.

    Parameters
    ----------
    model : Model
    q : ndarray, shape (N, D)
    method : ElectronicFriction

    Returns
    -------
    energy : ndarray, shape (N,)
        E_0(q), hartree.
    force : ndarray, shape (N, D)
        -<0|dV/dq|0>, hartree / coordinate unit.
    friction : ndarray, shape (N, D, D)
        Lambda(q) (times ``method.strength``), atomic units of mass / time.
    ground : ndarray, shape (N, S)
        Ground adiabatic state in the diabatic basis.
    """
    energies, vectors = np.linalg.eigh(model.potential(q))          # (N, S), (N, S, S)
    grad = model.gradient(q)                                         # (N, D, S, S)
    ground = vectors[:, :, 0]                                        # (N, S)
    # F^a_0k = <0| dV/dq_a |k>, shape (N, D, S)
    f0k = np.einsum("ns,ndst,ntk->ndk", ground.conj(), grad, vectors)
    force = -f0k[:, :, 0].real
    gap = energies[:, 1:] - energies[:, :1]                          # (N, S-1), >= 0
    weight = np.zeros_like(gap)
    positive = gap > 0  # an exactly degenerate partner transfers no energy (F_0k = 0 there too)
    weight[positive] = 2.0 * np.pi * method.delta(gap[positive]) / gap[positive]
    coupling = f0k[:, :, 1:]                                         # (N, D, S-1)
    friction = np.einsum("nk,nak,nbk->nab", weight, coupling, coupling.conj()).real
    friction = 0.5 * (friction + np.swapaxes(friction, 1, 2))
    return energies[:, 0], force, method.strength * friction, ground


def friction_tensor(model, q, method: ElectronicFriction | None = None) -> np.ndarray:
    """Lambda(q), shape (N, D, D), of ``model`` at positions ``q`` (N, D) (see the module docstring)."""
    method = ElectronicFriction() if method is None else method
    return ground_state_terms(model, np.atleast_2d(np.asarray(q, dtype=float)), method)[2]


def ornstein_uhlenbeck(p: np.ndarray, friction: np.ndarray, inv_mass: np.ndarray, dt: float,
                       kt: float, noise: np.ndarray | None) -> np.ndarray:
    """Exact O step of BAOAB for frozen Lambda: p (N, D), friction (N, D, D), noise (N, D) or None."""
    root = np.sqrt(inv_mass)
    g = root[None, :, None] * friction * root[None, None, :]           # M^-1/2 Lambda M^-1/2
    rates, axes = np.linalg.eigh(g)                                     # (N, D), (N, D, D)
    rates = np.clip(rates, 0.0, None)  # round-off below zero is no friction
    u = np.einsum("nda,nd->na", axes, p * root)                         # mass-weighted, eigenbasis
    decay = np.exp(-rates * dt)
    u = decay * u
    if noise is not None and kt > 0:
        u = u + np.sqrt(kt * (1.0 - decay**2)) * np.einsum("nda,nd->na", axes, noise)
    return np.einsum("nda,na->nd", axes, u) / root


# -- the runner ---------------------------------------------------------------------------
def _initial_state(model, initial, n_traj, seed) -> State:
    if isinstance(initial, Wavepacket):
        if initial.n_dof != model.n_dof:
            raise InputError(f"wavepacket has {initial.n_dof} coordinates, model {model.name!r} has {model.n_dof}")
        return sample_wigner(initial, 1 if n_traj is None else int(n_traj), seed=seed, n_states=model.n_states)
    if isinstance(initial, State):
        if initial.n_dof != model.n_dof:
            raise InputError(f"initial state has {initial.n_dof} coordinates, model {model.name!r} has {model.n_dof}")
        if n_traj is not None and int(n_traj) != initial.n_traj:
            raise InputError(f"n_traj {n_traj} differs from the {initial.n_traj} trajectories of the initial state")
        return initial
    raise InputError(f"initial conditions must be an es.Wavepacket or es.State, got {type(initial).__name__}")


def run_friction(model, initial, method, *, n_traj=None, dt=1.0, t_final=1.0, output_every=1,
                 output_times=None, seed=None, integrator="strang", save_trajectories=False,
                 chunk_size=None, progress=False, validate=True, checkpoint_every=None, checkpoint_path=None,
                 resume=False, energy_drift_warning=None, comm=None, backend=None):
    """Electronic friction dynamics behind :func:`ehrenspeed.run` (same arguments).

    Returns the common result layout (:data:`ehrenspeed.results.STANDARD_VARIABLES`):
    ensemble means of q, p, E_0 (``potential_energy``), kinetic + E_0
    (``total_energy``, not conserved when there is friction), the diabatic
    populations of the ground adiabatic state, adiabatic populations
    (1 on the ground state), norm 1.

    Raises
    ------
    InputError
        For an integrator other than the default (friction uses BAOAB),
        checkpoints, ``save_trajectories``, or more than one MPI rank.
    """
    from .._version import __version__
    from ..config.stored import trajectory_layout
    from ..driver import _check_model
    from ..parallel import as_comm
    from ..results import make_dataset
    from ..schedule import check_positive, steps_between
    from ..schedule import output_times as make_output_times

    _check_model(model)
    method = method if isinstance(method, ElectronicFriction) else ElectronicFriction()
    if integrator not in ("strang", None):
        raise InputError(f"integrator: method 'friction' uses its own BAOAB scheme, got {integrator!r}")
    if checkpoint_every is not None or resume or checkpoint_path is not None:
        raise InputError("checkpoint_every, checkpoint_path and resume are not available for method 'friction'")
    if save_trajectories:
        raise InputError("save_trajectories is not available for method 'friction'")
    if as_comm(comm).size != 1:
        raise InputError("comm: method 'friction' runs on one rank")
    dt = check_positive("dt", dt)
    times = make_output_times(dt, t_final, output_every, output_times)
    state = _initial_state(model, initial, n_traj, seed)
    q = model.wrap(np.array(state.q, dtype=float))
    p = np.array(state.p, dtype=float)
    n, d, s_ = q.shape[0], model.n_dof, model.n_states
    if validate:
        from ..models.user import validate_model
        validate_model(model, q[:1], derivatives=1)
    inv_mass = 1.0 / np.asarray(model.mass, dtype=float)
    kt = KB * float(method.temperature)
    # one independent stream per trajectory: trajectory j's noise does not depend on N
    entropy = seed.entropy if isinstance(seed, np.random.SeedSequence) else seed
    streams = ([np.random.default_rng(s) for s in np.random.SeedSequence(entropy, spawn_key=(7,)).spawn(n)]
               if kt > 0 else [])

    def noise():
        return np.array([g.standard_normal(d) for g in streams]) if streams else None

    records: dict[str, list] = {}
    energy, force, _, ground = ground_state_terms(model, q, method)

    def record():
        kinetic = 0.5 * np.sum(p * p * inv_mass, axis=1)
        adiabatic = np.zeros(s_)
        adiabatic[0] = 1.0
        values = {"population": np.mean(np.abs(ground) ** 2, axis=0), "adiabatic_population": adiabatic,
                  "position": q.mean(axis=0), "momentum": p.mean(axis=0),
                  "potential_energy": float(energy.mean()), "total_energy": float((kinetic + energy).mean()),
                  "norm": 1.0, "kinetic_energy": float(kinetic.mean())}
        for key, value in values.items():
            records.setdefault(key, []).append(value)

    record()
    n_steps, wall = 0, 0.0
    for t0, t1 in itertools.pairwise(times):
        start = _time.perf_counter()
        for tau in steps_between(t0, t1, dt):
            p = p + 0.5 * tau * force                                   # B
            q = model.wrap(q + 0.5 * tau * inv_mass * p)                # A
            _, _, friction, _ = ground_state_terms(model, q, method)
            p = ornstein_uhlenbeck(p, friction, inv_mass, tau, kt, noise())  # O
            q = model.wrap(q + 0.5 * tau * inv_mass * p)                # A
            energy, force, _, ground = ground_state_terms(model, q, method)
            p = p + 0.5 * tau * force                                   # B
            n_steps += 1
            if not (np.all(np.isfinite(q)) and np.all(np.isfinite(p))):
                bad = int(np.nonzero(~(np.isfinite(q).all(1) & np.isfinite(p).all(1)))[0][0])
                raise SimulationError(f"non-finite position or momentum at step {n_steps}, trajectory {bad}")
        wall += _time.perf_counter() - start
        record()

    energies = np.array(records["total_energy"])
    drift = float(np.max(np.abs(energies - energies[0])))
    attrs = {"method": method.name, "model": getattr(model, "name", "user"), "n_traj": n, "dt": dt,
             "seed": seed if isinstance(seed, int) else "", "integrator": "baoab", "integrator_order": 2,
             "n_steps": n_steps, "mpi_ranks": 1, "wall_time_s": wall, "max_energy_drift": drift,
             "max_mean_energy_drift": drift, "max_norm_error": 0.0, "ehrenspeed_version": __version__,
             "friction": method.describe(),
             "config": trajectory_layout(model, initial, method.describe(), n_traj=n, dt=dt, t_final=float(t_final),
                                         times=times, output_every=output_every, integrator="strang",
                                         seed=seed, save_trajectories=False)}
    dims = {"population": ("time", "state"), "adiabatic_population": ("time", "state"),
            "position": ("time", "dof"), "momentum": ("time", "dof"), "potential_energy": ("time",),
            "total_energy": ("time",), "norm": ("time",), "kinetic_energy": ("time",)}
    data = {name: (dims[name], np.array(values)) for name, values in records.items()}
    return make_dataset(times, data, attrs, coords={"state": np.arange(s_), "dof": np.arange(d)})
