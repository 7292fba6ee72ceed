"""Thawed Gaussian Ehrenfest dynamics (TGED): one Gaussian, a diabatic electronic vector.

The molecular wavefunction is the Hartree product Psi(x) = psi(x) c of a
diabatic electronic vector c (S components, |c| = 1) and one nuclear Gaussian
(hbar = 1, atomic units)

    psi(x) = exp(i [ (x - q)^T A (x - q) + p^T (x - q) + gamma ]),

with centre q (D,), momentum p (D,), complex symmetric width matrix A
(D, D) with Im A positive definite, and complex phase gamma (its imaginary
part normalises psi). The nuclear density |psi|^2 is N(q, Sigma) with

    Sigma = (4 Im A)^-1,

because |psi|^2 ~ exp(-2 (x - q)^T Im A (x - q)). In the convention of
:class:`ehrenspeed.Wavepacket`, psi ~ exp(-(x - q)^T W (x - q) / 2 + ...),
the width is W = -2 i A; the result's ``width_real``/``width_imag`` are the
real and imaginary parts of W, so that ``width_real`` at t = 0 is the input
width.

Equations of motion (our derivation: the time-dependent variational
principle for the Hartree product, in which the electrons feel the
nuclear-averaged diabatic matrix and the Gaussian feels the mean-field
surface U(x) = c^H V(x) c replaced by the quadratic polynomial with the
Gaussian-averaged value, gradient and Hessian, as in the
variational Gaussian approximation; see J. J. L. Vaníček, "Family of Gaussian
wavepacket dynamics methods from the perspective of a nonlinear Schrodinger
equation", arXiv:2302.10221, for the single-surface family, and the TGED
papers cited in docs/tged.md). With vbar, g, h the coefficients of
:class:`~ehrenspeed.dynamics.gaussian_potentials.EffectiveQuadratic`:

    dq/dt     = M^-1 p
    dp/dt     = -c^H g c                          (D components)
    dA/dt     = -2 A M^-1 A - (1/2) c^H h c       (D x D)
    i dc/dt   = vbar c
    dgamma/dt = p^T M^-1 p / 2 + (1/2) c^H tr(Sigma h) c + i tr(M^-1 A)

(the phase gamma carries only the nuclear part; the mean-field energy
c^H vbar c is in the electronic phase, so that the product is not charged
twice).

The geometric integrator splits this flow into two parts, each solved
exactly (our derivation):

* kinetic, time tau (free Gaussian; c frozen):
  q <- q + tau M^-1 p;
  A <- A B^-1 with B = 1 + 2 tau M^-1 A, the solution of dA/dt = -2 A M^-1 A
  (d(A^-1)/dt = 2 M^-1, so A(t)^-1 = A^-1 + 2 t M^-1);
  gamma <- gamma + tau p^T M^-1 p / 2 + (i/2) ln det B, since
  tr(M^-1 A(s)) = (1/2) d/ds ln det B(s). The logarithm is summed over the
  eigenvalues 1 + 2 tau mu of B (mu: eigenvalues of M^-1 A, all with
  positive imaginary part), each of which stays in one half plane along
  the step, so the principal branch is the continuous one.
* potential, time tau (q, p-independent terms frozen): Im A does not change
  (c^H h c is real), so Sigma, and with it vbar, g, h, are constant; the
  electrons rotate exactly, c <- exp(-i vbar tau) c, and p, A and gamma
  receive the exact time integrals of -c^H g c, -(1/2) c^H h c and
  (1/2) c^H tr(Sigma h) c along the rotation, from the same time-averaged
  density as the Ehrenfest kick (:func:`ehrenspeed.propagators.splitting.averaged_density`).

The Strang step T(dt/2) V(dt) T(dt/2) is second order and time reversible;
the composition weights of the trajectory integrators (``"yoshida4"``,
``"yoshida6"``) raise the order. |c| = 1 exactly (unitary rotation) and the
Gaussian stays normalised (Im gamma follows Im A exactly in the kinetic
step; the potential step changes neither).

Exactness (our derivation): if V(x) = v(x) 1 + E with v quadratic and E a
constant Hermitian matrix (vertically displaced diabats of one frequency
with constant couplings), the exact solution is a Hartree product of a
Gaussian moving in v and c(t) = exp(-i E t) c(0) up to a phase, which is
what TGED propagates; only the nuclear splitting error remains.
"""

from __future__ import annotations

import time as _time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError, SimulationError
from ..propagators import as_integrator
from ..propagators.splitting import averaged_density
from ..sampling import State, Wavepacket, electronic_vector
from .gaussian_potentials import (EffectiveQuadratic, LocalHarmonicSource, SingleHessianSource,
                                  VariationalSource)

#: members of the family, as accepted by ``ThawedGaussianEhrenfest(potential=...)``
POTENTIALS = ("variational", "local_harmonic", "single_hessian")


@dataclass(frozen=True)
class ThawedGaussianEhrenfest:
    """Thawed Gaussian Ehrenfest dynamics: one Gaussian wavepacket, mean-field electrons.

    Parameters
    ----------
    potential : {"variational", "local_harmonic", "single_hessian"}
        Where the effective quadratic surface comes from
        (:mod:`ehrenspeed.dynamics.gaussian_potentials`).
    reference_geometry : array_like, shape (D,), optional
        Where the single Hessian is taken (``potential="single_hessian"``
        only); default: the initial centre.
    quadrature_points : int, optional
        Gauss-Hermite nodes per coordinate for the variational averages of
        models that are not polynomials of degree <= 2 (default 10;
        ``variational`` only).

    Notes
    -----
    Run it with ``es.run(model, wavepacket, method="tged")`` or
    ``method=ThawedGaussianEhrenfest(...)``; the initial condition must be a
    :class:`ehrenspeed.Wavepacket` and ``n_traj`` 1 (or omitted).
    """

    potential: str = "variational"
    reference_geometry: Any = None
    quadrature_points: int | None = None
    name: str = field(default="tged", init=False)

    def __post_init__(self):
        if not isinstance(self.potential, str) or self.potential not in POTENTIALS:
            raise InputError(f"potential must be one of {', '.join(POTENTIALS)}, got {self.potential!r}")
        if self.reference_geometry is not None and self.potential != "single_hessian":
            raise InputError("reference_geometry is only used with potential='single_hessian'")
        n = self.quadrature_points
        if n is not None:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise InputError(f"quadrature_points must be a positive integer, got {n!r}")
            if self.potential != "variational":
                raise InputError("quadrature_points is only used with potential='variational'")

    def make_source(self, model):
        """The per-run potential source on the (counted) ``model``."""
        if self.potential == "variational":
            return VariationalSource(model, self.quadrature_points)
        if self.potential == "local_harmonic":
            return LocalHarmonicSource(model)
        _check_reference(self.reference_geometry, model)
        return SingleHessianSource(model, self.reference_geometry)

    def describe(self) -> dict[str, Any]:
        ref = self.reference_geometry
        return {"name": self.name, "potential": self.potential,
                "reference_geometry": None if ref is None else np.asarray(ref, float).tolist(),
                "quadrature_points": None if self.quadrature_points is None else int(self.quadrature_points)}


def _check_reference(reference, model) -> None:
    try:
        ref = np.asarray(reference, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"reference_geometry must be {model.n_dof} numbers, got {reference!r}") from None
    if reference is not None and (ref.shape != (model.n_dof,) or not np.all(np.isfinite(ref))):
        raise InputError(f"reference_geometry must be {model.n_dof} finite numbers, got {np.ravel(ref).tolist()}")


def is_tged(method) -> bool:
    """True when ``method`` names or is thawed Gaussian Ehrenfest dynamics."""
    if isinstance(method, ThawedGaussianEhrenfest):
        return True
    return isinstance(method, str) and method.lower() in ("tged", "thawed_gaussian_ehrenfest")


def as_tged(method) -> ThawedGaussianEhrenfest:
    return method if isinstance(method, ThawedGaussianEhrenfest) else ThawedGaussianEhrenfest()


# -- the state ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaussianState:
    """The state of thawed Gaussian Ehrenfest dynamics (one Gaussian, no trajectory axis).

    Parameters
    ----------
    q : ndarray, shape (D,)
        Centre, coordinate units.
    p : ndarray, shape (D,)
        Momentum, atomic units.
    a : ndarray, shape (D, D), complex
        Width matrix A of exp(i (x-q)^T A (x-q)), symmetric, Im A positive
        definite; 1 / coordinate^2.
    gamma : complex
        Phase; Im gamma normalises the Gaussian.
    c : ndarray, shape (S,), complex
        Diabatic electronic vector, norm 1.
    t : float
        Time, a.u.
    """

    q: np.ndarray
    p: np.ndarray
    a: np.ndarray
    gamma: complex
    c: np.ndarray
    t: float = 0.0

    @property
    def sigma(self) -> np.ndarray:
        """Position covariance (4 Im A)^-1, shape (D, D), coordinate^2."""
        return np.linalg.inv(4.0 * self.a.imag)

    @property
    def width(self) -> np.ndarray:
        """W = -2 i A, the width in the :class:`~ehrenspeed.Wavepacket` convention (D, D), complex."""
        return -2j * self.a

    @property
    def nuclear_norm(self) -> float:
        """int |psi|^2 dx = exp(-2 Im gamma) (pi^D / det(2 Im A))^(1/2)."""
        d = self.q.size
        _, logdet = np.linalg.slogdet(2.0 * self.a.imag)
        return float(np.exp(-2.0 * self.gamma.imag + 0.5 * (d * np.log(np.pi) - logdet)))

    @classmethod
    def from_wavepacket(cls, wp: Wavepacket, n_states: int, t: float = 0.0) -> "GaussianState":
        """The normalised Gaussian of ``wp`` (A = i W / 2) on its electronic state."""
        a = 0.5j * np.asarray(wp.width, dtype=float)
        d = wp.n_dof
        _, logdet = np.linalg.slogdet(2.0 * a.imag)
        # exp(-2 Im gamma) (pi^D / det(2 Im A))^(1/2) = 1
        gamma = 0.25j * (d * np.log(np.pi) - logdet)
        return cls(wp.q0.copy(), wp.p0.copy(), a, complex(gamma), electronic_vector(wp.state, n_states), t)


# -- the two exactly solved parts ---------------------------------------------------------
def kinetic_step(s: GaussianState, tau: float, inv_mass: np.ndarray, model) -> GaussianState:
    """Free-particle flow for time ``tau`` (exact); ``inv_mass`` (D,) is the diagonal of M^-1."""
    if tau == 0.0:  # the first half step of a composition starts from nothing pending
        return s
    d = s.q.size
    m_inv_a = inv_mass[:, None] * s.a
    b = np.eye(d) + 2.0 * tau * m_inv_a
    # A B^-1 = (B^-T A^T)^T; A B^-1 = (A^-1 + 2 tau M^-1)^-1 is symmetric, round-off is not
    a_new = np.linalg.solve(b.T, s.a.T).T
    a_new = 0.5 * (a_new + a_new.T)
    log_det = np.sum(np.log(np.linalg.eigvals(b)))
    gamma = s.gamma + 0.5 * tau * float(np.dot(s.p, inv_mass * s.p)) + 0.5j * log_det
    q = model.wrap((s.q + tau * inv_mass * s.p)[None, :])[0]
    return replace(s, q=q, a=a_new, gamma=complex(gamma))


def potential_step(s: GaussianState, tau: float, surface: EffectiveQuadratic,
                   sigma: np.ndarray | None = None) -> GaussianState:
    """Electronic rotation in the frozen vbar with the exact time-integrated kicks of p, A, gamma.

    ``sigma`` (D, D) is the state's position covariance when the caller has it already.
    """
    sigma = s.sigma if sigma is None else sigma
    r, c_new = averaged_density(s.c[None, :], surface.vbar[None], tau)
    r = r[0]
    # int_0^tau c(s)^H X c(s) ds = tau Re sum_ij R_ij X_ij for Hermitian X
    force = np.einsum("ij,aij->a", r, surface.g).real
    curvature = np.einsum("ij,abij->ab", r, surface.h).real
    curvature = 0.5 * (curvature + curvature.T)
    spread = 0.5 * np.einsum("ab,abij->ij", sigma, surface.h)
    phase = np.einsum("ij,ij->", r, spread).real
    return replace(s, p=s.p - tau * force, a=s.a - 0.5 * tau * curvature, gamma=s.gamma + tau * phase,
                   c=c_new[0])


def step(s: GaussianState, dt: float, weights, source, inv_mass: np.ndarray, model) -> GaussianState:
    """One composed step: symmetric Strang steps T(w dt/2) V(w dt) T(w dt/2) for each weight.

    Adjacent half kinetic steps merge into one (the free flow is a group, so
    this is exact); each weight costs one evaluation of the source.
    """
    pending = 0.0
    for w in weights:
        s = kinetic_step(s, pending + 0.5 * w * dt, inv_mass, model)
        sigma = s.sigma
        s = potential_step(s, w * dt, source.evaluate(s.q, sigma), sigma)
        pending = 0.5 * w * dt
    s = kinetic_step(s, pending, inv_mass, model)
    return replace(s, t=s.t + dt)


# -- observables --------------------------------------------------------------------------
def kinetic_energy(s: GaussianState, inv_mass: np.ndarray) -> float:
    """<T> = p^T M^-1 p / 2 + 2 tr(conj(A) M^-1 A Sigma), hartree (our derivation:
    -i grad psi = (2 A y + p) psi, so <T> = <(2Ay + p)^H M^-1 (2Ay + p)> / 2)."""
    spread = 2.0 * np.trace(np.conj(s.a) @ (inv_mass[:, None] * s.a) @ s.sigma).real
    return 0.5 * float(np.dot(s.p, inv_mass * s.p)) + float(spread)


def observables(s: GaussianState, surface: EffectiveQuadratic, v_centre: np.ndarray,
                inv_mass: np.ndarray) -> dict[str, Any]:
    """The common result variables of one Gaussian (the layout of ehrenspeed.results), plus its width.

    ``adiabatic_population`` projects c on the eigenvectors of V at the
    centre; ``potential_energy`` is c^H vbar c, the Gaussian-averaged <V>
    (for the local harmonic and single-Hessian members, the average of
    their quadratic surrogate); ``norm`` is |c|^2 times the nuclear norm.
    """
    pops = s.c.real ** 2 + s.c.imag ** 2
    _, u = np.linalg.eigh(v_centre)
    adiabatic = np.abs(np.conj(u).T @ s.c) ** 2
    potential = float(np.real(np.conj(s.c) @ surface.vbar @ s.c))
    width = s.width
    return {"population": pops, "adiabatic_population": adiabatic, "position": s.q.copy(),
            "momentum": s.p.copy(), "potential_energy": potential,
            "total_energy": kinetic_energy(s, inv_mass) + potential,
            "norm": float(pops.sum()) * s.nuclear_norm,
            "width_real": width.real.copy(), "width_imag": width.imag.copy()}


#: extra result variables of TGED and their dimensions
#: (xarray and netCDF refuse a repeated dimension name, so the second axis is ``dof_b``)
TGED_VARIABLES = {"width_real": ("time", "dof", "dof_b"), "width_imag": ("time", "dof", "dof_b")}


# -- the runner ---------------------------------------------------------------------------
def run_tged(model, initial, method, *, n_traj=None, dt=1.0, t_final=1.0, output_every=1,
             output_times=None, seed=None, integrator="strang", save_trajectories=False,
             chunk_size=None, progress=False, validate=True, checkpoint_every=None, checkpoint_path=None,
             resume=False, energy_drift_warning=None, comm=None, backend=None):
    """Thawed Gaussian Ehrenfest dynamics behind :func:`ehrenspeed.run` (same arguments).

    One Gaussian needs no trajectory loop, batches, ranks or checkpoints, so
    it has this small runner instead of :class:`ehrenspeed.TrajectoryRun`;
    the result has the common layout (:data:`ehrenspeed.results.STANDARD_VARIABLES`)
    plus ``width_real`` and ``width_imag`` (time, dof, dof).

    Raises
    ------
    InputError
        For ``n_traj`` other than 1, an initial condition that is not a
        Wavepacket, checkpointing or resuming, ``save_trajectories``, or an
        MPI communicator with more than one rank.
    """
    from .._version import __version__
    from ..backend import check_backend, for_run, single_blas_thread, use_backend
    from ..config.stored import trajectory_layout
    from ..counting import CountingModel, scalar_cost
    from ..driver import EnergyDriftWarning, _check_model
    from ..parallel import as_comm
    from ..progress import make_progress
    from ..results import make_dataset
    from ..schedule import check_positive, steps_between
    from ..schedule import output_times as make_output_times

    _check_model(model)
    method = as_tged(method)
    if n_traj is not None and (isinstance(n_traj, bool) or n_traj != 1):
        raise InputError(f"n_traj must be 1 (or omitted) for thawed Gaussian Ehrenfest dynamics, got {n_traj!r}")
    if not isinstance(initial, Wavepacket):
        kind = "an es.State" if isinstance(initial, State) else type(initial).__name__
        raise InputError(f"initial conditions for method 'tged' must be an es.Wavepacket (a Gaussian), got {kind}")
    if initial.n_dof != model.n_dof:
        raise InputError(f"wavepacket has {initial.n_dof} coordinates, model {model.name!r} has {model.n_dof}")
    if checkpoint_every is not None or resume or checkpoint_path is not None:
        raise InputError("checkpoint_every, checkpoint_path and resume are not available for method 'tged'")
    if save_trajectories:
        raise InputError("save_trajectories is not available for method 'tged' (there is one Gaussian; "
                         "its centre and width are in the result)")
    if as_comm(comm).size != 1:
        raise InputError("comm: method 'tged' propagates one Gaussian and runs on one rank")
    if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if backend is not None:
        check_backend(backend)
    integrator = as_integrator(integrator)
    dt = check_positive("dt", dt)
    drift_limit = None if energy_drift_warning is None else check_positive("energy_drift_warning",
                                                                             energy_drift_warning)
    times = make_output_times(dt, t_final, output_every, output_times)
    state = GaussianState.from_wavepacket(initial, model.n_states)
    state = replace(state, q=model.wrap(state.q[None, :])[0])
    if validate:
        from ..models.user import validate_model
        validate_model(model, state.q[None, :], derivatives=2)
    counted = CountingModel(model)
    source = method.make_source(counted)
    inv_mass = 1.0 / np.asarray(model.mass, dtype=float)
    weights = integrator.weights

    records: dict[str, list] = {}
    n_steps = 0
    wall = 0.0
    warned = False

    def record(s: GaussianState):
        surface = source.evaluate(s.q, s.sigma)
        v_centre = surface.v_centre
        if v_centre is None:  # quadrature did not evaluate the centre itself
            v_centre = counted.potential(s.q[None, :])[0]
        for key, value in observables(s, surface, v_centre, inv_mass).items():
            records.setdefault(key, []).append(value)

    # one Gaussian's matrices are S x S and D x D: BLAS threads only add start-up
    # and contention (the 45-state chemisorption model ran 50x slower with
    # them on a loaded 2-core machine), so BLAS runs on one thread here
    # one Gaussian is a small run: on "auto" the compiled model potentials
    # would cost more to compile than they save (backend.for_run)
    run_steps = sum(len(steps_between(a, b, dt)) for a, b in zip(times[:-1], times[1:]))
    with single_blas_thread(), use_backend(for_run(backend, run_steps * len(weights))):
        record(state)
        e0 = records["total_energy"][0]
        if not np.isfinite(e0):
            raise InputError(f"initial total energy is {e0}; the run would record no finite energy")
        bar = make_progress(progress, run_steps, 0, method.name)
        try:
            for t0, t1 in zip(times[:-1], times[1:]):
                start = _time.perf_counter()
                for tau in steps_between(t0, t1, dt):
                    state = step(state, tau, weights, source, inv_mass, model)
                    n_steps += 1
                    if not (np.all(np.isfinite(state.p)) and np.all(np.isfinite(state.a))
                            and np.all(np.isfinite(state.c))):
                        raise SimulationError(f"non-finite Gaussian parameter at step {n_steps} "
                                              f"(t = {state.t:.6g} a.u.)")
                    if bar is not None:
                        bar.update(1)
                state = replace(state, t=float(t1))
                wall += _time.perf_counter() - start
                record(state)
                drift = abs(records["total_energy"][-1] - e0)
                if drift_limit is not None and not warned and drift > drift_limit:
                    warned = True
                    warnings.warn(f"total energy drifted by {drift:.3e} hartree by t = {t1:.6g} a.u. "
                                  f"(threshold {drift_limit:.3e}); consider a smaller dt or a higher-order "
                                  "integrator", EnergyDriftWarning, stacklevel=2)
        finally:
            if bar is not None:
                bar.close()

    energies = np.array(records["total_energy"])
    norms = np.array(records["norm"])
    counts = counted.counter.as_dict()
    n_substeps = n_steps * len(weights)
    s_, d_ = model.n_states, model.n_dof
    drift = float(np.max(np.abs(energies - e0)))
    attrs = {
        "method": method.name, "model": getattr(model, "name", "user"), "n_traj": 1,
        "dt": dt, "seed": seed if isinstance(seed, int) else "",
        "integrator": integrator.name, "integrator_order": integrator.order,
        "n_steps": n_steps, "potential_substeps": n_substeps,
        "potential_evaluations": counts["potential"], "gradient_evaluations": counts["gradient"],
        "hessian_evaluations": counts["hessian"], "scalar_evaluations": counts["scalars"],
        "mpi_ranks": 1,
        "scalar_cost_ehrenfest": n_substeps * scalar_cost("ehrenfest", 1, s_, d_),
        "scalar_cost_speed": n_substeps * scalar_cost("speed", 1, s_, d_),
        "wall_time_s": wall, "max_energy_drift": drift,
        "max_relative_energy_drift": drift / max(abs(e0), np.finfo(float).tiny),
        "max_norm_error": float(np.max(np.abs(norms - 1.0))), "max_mean_energy_drift": drift,
        "ehrenspeed_version": __version__,
        "config": trajectory_layout(model, initial, method.describe(), n_traj=1, dt=dt, t_final=float(t_final),
                                    times=times, output_every=output_every, integrator=integrator.name,
                                    seed=seed, save_trajectories=False),
    }
    attrs.update(source.statistics())
    dims = {"population": ("time", "state"), "adiabatic_population": ("time", "state"),
            "position": ("time", "dof"), "momentum": ("time", "dof"), "potential_energy": ("time",),
            "total_energy": ("time",), "norm": ("time",), **TGED_VARIABLES}
    data = {name: (dims[name], np.array(values)) for name, values in records.items()}
    return make_dataset(times, data, attrs,
                        coords={"state": np.arange(s_), "dof": np.arange(d_), "dof_b": np.arange(d_)})


