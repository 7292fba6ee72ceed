"""Fewest-switches surface hopping (FSSH) on any potential source.

Each trajectory carries, besides (q, p, c), an *active* adiabatic state
alpha (the index of an eigenvalue of V(q) in ascending order). One step dt
is a Strang step whose potential substep, at the frozen midpoint position
q' = q + (dt/2) M^-1 p, does in turn:

1. **Adiabatic basis.** V(q') = U diag(E) U^H from the source (per
   trajectory, SPEED's shared Taylor surface, or multi-centre SPEED). The
   phase of each eigenvector is chosen so that <u_k(prev)|u_k(new)> is real
   and positive (continuity along the trajectory; the hop probabilities
   below do not depend on it, the coupling vectors' signs do).
2. **Hop probability by local diabatisation.** The electronic state c is
   the same vector before and after the basis changes from the previous
   substep's eigenvectors U_prev to U: its adiabatic amplitudes change from
   a_old = U_prev^H c to a_new = S a_old with S = U^H U_prev. Inside a
   substep c rotates in the frozen V, which leaves |a_k|^2 unchanged, so
   all population transfer between adiabatic states happens at these basis
   changes, and the overlap matrix S accounts for it exactly, also through
   trivial (unavoided) crossings where the eigenvectors swap within a step
   and d.v is a spike no finite step resolves. The fewest-switches
   probability to leave alpha is the fraction of its population lost,
   (rho_old - rho_new) / rho_old (zero if it gained), shared among the
   states k != alpha in proportion to the flux from alpha into k,
   max(0, Re[conj(a_new_k) S_k,alpha a_old_alpha]) (the part of a_new_k that
   came from a_old_alpha); to first order in dt this is Tully's
   2 dt Re(conj(a_alpha) a_k d_k,alpha.v) / rho_alpha,alpha. This is the
   local-diabatisation scheme of G. Granucci, M. Persico and A. Toniolo,
   J. Chem. Phys. 114, 10608 (2001), doi:10.1063/1.1376633 (our reading of
   it: the lost fraction is shared among the states with a positive flux
   only, so the probabilities add up to exactly the lost fraction).
3. **Hop.** One uniform number xi from the trajectory's own stream picks
   the target k (cumulative probabilities in state order). The momentum is
   rescaled along the nonadiabatic coupling direction
   d_k,alpha ∝ <u_alpha|dV/dq|u_k> (d = that over E_k - E_alpha; only its
   direction matters), p -> p + gamma d with the root gamma of smallest
   magnitude of sum_a (p_a + gamma d_a)^2 / 2 m_a = T - (E_k - E_alpha), so
   T + E_active is exactly conserved at q'. If that has no real root the
   hop is *frustrated*: alpha stays and the momentum is kept
   (``frustrated="keep"``, the default: the frustrated hop changes nothing)
   or, with ``frustrated="reverse"``, its component along d is reversed
   when the force of the target state along d points against the motion
   and against the active state's force along d (the "grad V" rule that
   A. W. Jasper and D. G. Truhlar proposed, Chem. Phys. Lett. 369, 60
   (2003) -- a reference we could not check against the paper).
4. **Kick** p <- p - dt dE_alpha/dq, Hellmann-Feynman
   dE_alpha/dq_a = Re u_alpha^H (dV/dq_a) u_alpha at q', given as two
   halves around the hop of step 3 (first half on the old surface, second
   on the new): (q', p) are then synchronous at the hop, whose rescaling
   conserves the energy there, and the step's energy error stays O(dt^2)
   across hops (a hop before the whole kick would leave an O(dt) error).
5. **Electrons** c <- U exp(-i E dt) U^H c, exactly in the frozen diabatic
   V(q') as in Ehrenfest.
6. **Decoherence** (``decoherence="edc"``): the energy-based correction of
   G. Granucci and M. Persico, J. Chem. Phys. 126, 134114 (2007),
   doi:10.1063/1.2715585:
   a_k <- a_k exp(-dt / tau_k), tau_k = (1 / |E_k - E_alpha|)(1 + C / T),
   T the nuclear kinetic energy, C = 0.1 hartree, for k != alpha, and
   a_alpha rescaled to keep the norm.

Backends: :func:`fssh_substep` is the NumPy reference;
:func:`ehrenspeed.dynamics.fssh_kernels.fssh_substep_numba` does the same
per trajectory, compiled (real V and dV/dq, backend "numba" or "auto"), and
agrees with it to round-off.

The initial active state is drawn from the adiabatic populations |a_k|^2
at the initial positions with the trajectory's stream. Randomness: each
trajectory j has its own PCG64 stream, seeded by
SeedSequence(entropy of the run's seed, spawn_key = (..., 0x46535348, j)),
so its hops do not depend on the chunk size, on the number of MPI ranks or
on the other trajectories; every trajectory uses exactly one number per
step (and one at the start), drawn from its stream in blocks of
:data:`DRAW_BLOCK`, so a checkpoint holds each stream's state and the
unused part of its block, and a resumed run is bit-identical.

Decoherence is off by default, so that ``method="fssh"`` is FSSH as Tully
(J. Chem. Phys. 93, 1061 (1990)) defined it, the reference every other
code's FSSH is compared with; Granucci and Persico (2007) show that the
uncorrected algorithm is overcoherent and recommend the correction, and
on Tully's model 3 it is what brings the reflection channels to the exact
values (docs/surface_hopping.md has the measured tables): use
``FSSH(decoherence="edc")`` for production runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from ..observables import kinetic_energy
from ..potentials import SPEED, Ehrenfest, context_rows
from ..propagators.splitting import drift
from ..sampling import State

#: spawn-key word that separates the hop streams from the Wigner sample ("FSSH")
HOP_STREAMS = 0x46535348
#: uniform numbers each stream draws at once (consumed one per step; part of a checkpoint)
DRAW_BLOCK = 256
#: magnitudes below which a population, flux or coupling counts as zero
_TINY = 1e-300

SOURCES = ("per_trajectory", "speed")
DECOHERENCE = (None, "edc")
FRUSTRATED = ("keep", "reverse")


@dataclass(frozen=True)
class FSSH:
    """Fewest-switches surface hopping (Tully 1990) on a potential source.

    Parameters
    ----------
    source : {"per_trajectory", "speed"} or SPEED or Ehrenfest
        Where each trajectory's diabatic matrix comes from: its own position
        (standard FSSH), or SPEED's shared quadratic Taylor surface at the
        ensemble mean (one potential evaluation per step; a ``SPEED(...)``
        object chooses its Hessian policy or centres).
    decoherence : {None, "edc"}
        Energy-based decoherence correction of Granucci and Persico (2007);
        off by default.
    decoherence_constant : float
        C of the correction, hartree; 0.1 as recommended by Granucci and
        Persico.
    frustrated : {"keep", "reverse"}
        Frustrated hops keep the momentum, or reverse its component along
        the coupling vector by the Jasper-Truhlar grad-V rule.
    """

    source: Any = "per_trajectory"
    decoherence: str | None = None
    decoherence_constant: float = 0.1
    frustrated: str = "keep"
    name: str = field(default="fssh", init=False)

    def __post_init__(self):
        src = self.source
        if isinstance(src, str):
            if src.lower() not in SOURCES:
                raise InputError(f"FSSH source must be one of {', '.join(SOURCES)} or a SPEED object, got {src!r}")
            object.__setattr__(self, "source", src.lower())
        elif not isinstance(src, (SPEED, Ehrenfest)):
            raise InputError(f"FSSH source must be one of {', '.join(SOURCES)} or a SPEED object, "
                             f"got {type(src).__name__}")
        dec = self.decoherence
        if isinstance(dec, str) and dec.lower() in ("none", "edc"):
            dec = None if dec.lower() == "none" else "edc"
            object.__setattr__(self, "decoherence", dec)
        if dec not in DECOHERENCE:
            raise InputError(f"FSSH decoherence must be None or 'edc', got {dec!r}")
        c = self.decoherence_constant
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0 or not np.isfinite(c):
            raise InputError(f"FSSH decoherence_constant must be a positive number (hartree), got {c!r}")
        if self.frustrated not in FRUSTRATED:
            raise InputError(f"FSSH frustrated must be one of {', '.join(FRUSTRATED)}, got {self.frustrated!r}")

    @property
    def source_method(self):
        """The potential-source half: Ehrenfest() (per trajectory) or a SPEED object."""
        src = self.source
        if src == "per_trajectory":
            return Ehrenfest()
        if src == "speed":
            return SPEED()
        return src

    def make_source(self, model):
        return self.source_method.make_source(model)

    def make_dynamics(self) -> SurfaceHopping:
        return SurfaceHopping(self)

    def describe(self) -> dict[str, Any]:
        described = {"name": self.name, "source": "speed" if self.source_method.name == "speed"
                     else "per_trajectory", "decoherence": self.decoherence or "none",
                     "decoherence_constant": float(self.decoherence_constant), "frustrated": self.frustrated}
        if self.source_method.name == "speed":
            speed = self.source_method.describe()
            speed.pop("name")
            described.update(speed)
        return described


def hop_streams(seed, rows: range) -> list[np.random.Generator]:
    """One PCG64 generator per trajectory index in ``rows``, spawned from the run's seed.

    Trajectory j's stream is SeedSequence(entropy, spawn_key + (HOP_STREAMS, j)):
    the j-th child of one SeedSequence, independent of which process builds it.
    """
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    elif seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        root = np.random.SeedSequence(seed)
    else:
        raise InputError(f"FSSH needs seed to be an integer, a SeedSequence or None, got {type(seed).__name__}")
    key = tuple(root.spawn_key) + (HOP_STREAMS,)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(root.entropy, spawn_key=key + (j,))))
            for j in rows]


def _stream_arrays(streams: list[np.random.Generator]) -> np.ndarray:
    """Every stream's PCG64 state as (n, 6) uint64: state hi/lo, inc hi/lo, has_uint32, uinteger."""
    mask = (1 << 64) - 1
    rows = []
    for g in streams:
        s = g.bit_generator.state
        st, inc = s["state"]["state"], s["state"]["inc"]
        rows.append([st >> 64, st & mask, inc >> 64, inc & mask, s["has_uint32"], s["uinteger"]])
    return np.array(rows, dtype=np.uint64).reshape(len(streams), 6)


def _streams_from(arrays: np.ndarray) -> list[np.random.Generator]:
    """Inverse of :func:`_stream_arrays`."""
    streams = []
    for row in arrays:
        hi, lo, ihi, ilo, has, value = (int(x) for x in row)
        bit = np.random.PCG64()
        bit.state = {"bit_generator": "PCG64", "state": {"state": (hi << 64) | lo, "inc": (ihi << 64) | ilo},
                     "has_uint32": has, "uinteger": value}
        streams.append(np.random.Generator(bit))
    return streams


def adiabatic_basis(v: np.ndarray, u_prev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of V with phases continuous from ``u_prev``.

    Parameters
    ----------
    v : ndarray, shape (n, S, S), Hermitian, hartree
    u_prev : ndarray, shape (n, S, S), optional
        The previous eigenvectors; column k of the result is multiplied by
        the phase that makes <u_prev_k|u_k> real and non-negative.

    Returns
    -------
    energies : ndarray, shape (n, S)
    u : ndarray, shape (n, S, S), columns are eigenvectors
    """
    energies, u = np.linalg.eigh(v)
    if u_prev is not None:
        diag = np.einsum("nik,nik->nk", np.conj(u_prev), u)
        size = np.abs(diag)
        phase = np.where(size > 1e-12, diag / np.where(size > 1e-12, size, 1.0), 1.0)
        u = u * np.conj(phase)[:, None, :]
        if not np.iscomplexobj(v):
            u = u.real
    return energies, u


def active_gradient(u: np.ndarray, dv: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Hellmann-Feynman gradient dE_alpha/dq_a = Re u_alpha^H (dV/dq_a) u_alpha, shape (n, D)."""
    ua = u[np.arange(len(active)), :, active]                        # (n, S)
    return np.einsum("ni,naij,nj->na", np.conj(ua), dv, ua).real


def hop_probabilities(a_old: np.ndarray, s: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Fewest-switches probabilities alpha -> k across a basis change (local diabatisation).

    Parameters
    ----------
    a_old : ndarray, shape (n, S), complex
        Adiabatic amplitudes in the previous basis.
    s : ndarray, shape (n, S, S)
        S = U^H U_prev, so that a_new = S a_old.
    active : ndarray, shape (n,), int

    Returns
    -------
    ndarray, shape (n, S)
        Probability of a hop to each state (0 for the active one): the
        fraction of the active population lost, (rho_old - rho_new)/rho_old
        (0 if it gained), times each state's share of the flux out of it,
        max(0, f_k) / sum_k f_k with f_k = Re(a_new,k^* S_k,alpha a_old,alpha)
        (Granucci, Persico and Toniolo 2001); a row adding up to more than
        1 is scaled to 1.
    """
    idx = np.arange(len(active))
    a_new = np.einsum("nkl,nl->nk", s, a_old)
    a_alpha = a_old[idx, active]
    rho_old = np.abs(a_alpha) ** 2
    rho_new = np.abs(a_new[idx, active]) ** 2
    flux = np.real(np.conj(a_new) * s[idx, :, active] * a_alpha[:, None])
    flux[idx, active] = 0.0
    # Granucci-Persico-Toniolo: divide by the signed sum of the fluxes, which is
    # rho_old - Re(a_new,alpha^* S_alpha,alpha a_old,alpha) and, to first order, half
    # the population lost, so that P_k -> Tully's 2 dt Re(...)/rho even when some
    # fluxes are negative (three or more states); the positive sum is the fallback
    # when the signed one is not positive (beyond first order only)
    signed = flux.sum(axis=1)
    flux = np.maximum(flux, 0.0)
    positive = flux.sum(axis=1)
    total = np.where(signed > _TINY, signed, positive)
    lost = np.where((rho_old > rho_new) & (rho_old > _TINY) & (positive > _TINY),
                    (rho_old - rho_new) / np.where(rho_old > _TINY, rho_old, 1.0), 0.0)
    prob = lost[:, None] * flux / np.where(total > _TINY, total, 1.0)[:, None]
    # a probability, not a rate: a step whose hop probabilities add up to more than 1 hops for sure
    return prob / np.maximum(prob.sum(axis=1), 1.0)[:, None]


def _coupling_direction(u: np.ndarray, dv: np.ndarray, alpha: int, k: int) -> np.ndarray:
    """Direction of the nonadiabatic coupling vector d_alpha,k ∝ <u_alpha|dV/dq|u_k>, shape (D,), real."""
    g = np.einsum("i,aij,j->a", np.conj(u[:, alpha]), dv, u[:, k])
    if np.iscomplexobj(g):  # a complex coupling's overall phase is arbitrary: make its largest entry real
        big = g[np.argmax(np.abs(g))]
        g = (g * np.conj(big) / max(abs(big), _TINY)).real
    return g


def _rescale(p: np.ndarray, d: np.ndarray, inv_mass: np.ndarray, gap: float) -> np.ndarray | None:
    """p + gamma d with T(p + gamma d) = T(p) - gap and |gamma| smallest; None if impossible."""
    a = 0.5 * np.sum(d * d * inv_mass)
    if not a > _TINY:  # no coupling direction: scale the whole momentum
        d = p
        a = 0.5 * np.sum(d * d * inv_mass)
        if not a > _TINY:
            return None if gap > 0 else p
    b = np.sum(p * d * inv_mass)
    disc = b * b - 4.0 * a * gap
    if disc < 0:
        return None
    root = np.sqrt(disc)
    gamma = (-b + root) / (2 * a) if b >= 0 else (-b - root) / (2 * a)
    return p + gamma * d


def fssh_substep(p, c, active, u_prev, v, dv, xi, tau, inv_mass, decoherence_constant=None,
                 reverse_frustrated=False):
    """One FSSH potential substep at frozen positions (NumPy reference; module docstring steps 1-6).

    Parameters
    ----------
    p : ndarray, shape (n, D)
    c : ndarray, shape (n, S), complex
        Diabatic coefficients.
    active : ndarray, shape (n,), int
    u_prev : ndarray, shape (n, S, S)
        Eigenvectors of the previous substep (or of the initial positions).
    v, dv : ndarray, shapes (n, S, S), (n, D, S, S)
        Diabatic matrix and its derivatives at the frozen positions.
    xi : ndarray, shape (n,)
        One uniform number in [0, 1) per trajectory.
    tau : float
        Substep length, a.u.
    inv_mass : ndarray, shape (D,)
    decoherence_constant : float or None
        C of the energy-based decoherence correction (None: off).
    reverse_frustrated : bool
        Frustrated hops reverse p along d by the grad-V rule.

    Returns
    -------
    p, c, active, u : new momenta, coefficients, active states, eigenvectors
    hopped, frustrated : ndarray of bool, shape (n,)
    """
    energies, u = adiabatic_basis(v, u_prev)
    a_old = np.einsum("nik,ni->nk", np.conj(u_prev), c)
    s = np.einsum("nik,nil->nkl", np.conj(u), u_prev)
    probabilities = hop_probabilities(a_old, s, active)
    cumulative = np.cumsum(probabilities, axis=1)
    wants = xi < cumulative[:, -1]
    target = np.argmax(xi[:, None] < cumulative, axis=1)
    # half the kick on the old surface first: the hop then sees the momentum that belongs to q'
    # (position Verlet's midpoint), so a hop costs no O(dt) energy error
    p = p - 0.5 * tau * active_gradient(u, dv, active)
    active = active.copy()
    hopped = np.zeros(len(active), dtype=bool)
    frustrated = np.zeros(len(active), dtype=bool)
    for j in np.flatnonzero(wants):
        alpha, k = int(active[j]), int(target[j])
        d = _coupling_direction(u[j], dv[j], alpha, k)
        rescaled = _rescale(p[j], d, inv_mass, energies[j, k] - energies[j, alpha])
        if rescaled is not None:
            p[j], active[j], hopped[j] = rescaled, k, True
            continue
        frustrated[j] = True
        if reverse_frustrated:
            p[j] = _reverse_if_repelled(p[j], d, u[j], dv[j], alpha, k, inv_mass)
    p = p - 0.5 * tau * active_gradient(u, dv, active)
    a = np.einsum("nik,ni->nk", np.conj(u), c) * np.exp(-1j * tau * energies)
    if decoherence_constant is not None:
        a = decohere(a, energies, active, kinetic_energy(p, inv_mass), tau, decoherence_constant)
    c_new = np.einsum("nik,nk->ni", u, a)
    return p, c_new, active, u, hopped, frustrated


def _reverse_if_repelled(p, d, u, dv, alpha, k, inv_mass):
    """Jasper-Truhlar grad-V rule: reverse p along d if both forces along d say the target repels."""
    f_alpha = -np.einsum("i,aij,j->a", np.conj(u[:, alpha]), dv, u[:, alpha]).real @ d
    f_k = -np.einsum("i,aij,j->a", np.conj(u[:, k]), dv, u[:, k]).real @ d
    velocity = np.sum(p * d * inv_mass)
    if f_alpha * f_k < 0 and f_k * velocity < 0:
        a = 0.5 * np.sum(d * d * inv_mass)
        return p - (velocity / a) * d          # the other root: same kinetic energy, reflected along d
    return p


def decohere(a, energies, active, kinetic, tau, constant):
    """Energy-based decoherence correction (Granucci & Persico 2007) on adiabatic amplitudes.

    a_k <- a_k exp(-tau |E_k - E_alpha| / (1 + C / T)) for k != alpha, and
    a_alpha scaled so that sum_k |a_k|^2 is unchanged.

    Parameters
    ----------
    a : ndarray, shape (n, S), complex
    energies : ndarray, shape (n, S), hartree
    active : ndarray, shape (n,), int
    kinetic : ndarray, shape (n,), hartree
    tau : float, a.u.
    constant : float, hartree
    """
    idx = np.arange(len(active))
    gap = np.abs(energies - energies[idx, active][:, None])
    rate = gap / (1.0 + constant / np.maximum(kinetic, _TINY))[:, None]
    damped = a * np.exp(-abs(tau) * rate)
    norm = np.sum(np.abs(a) ** 2, axis=1)
    others = np.sum(np.abs(damped) ** 2, axis=1) - np.abs(damped[idx, active]) ** 2
    own = np.abs(a[idx, active]) ** 2
    scale = np.sqrt(np.maximum(norm - others, 0.0) / np.where(own > _TINY, own, 1.0))
    damped[idx, active] = np.where(own > _TINY, a[idx, active] * scale, a[idx, active])
    return damped


class SurfaceHopping:
    """The FSSH dynamics of a :class:`~ehrenspeed.driver.TrajectoryRun` (see :mod:`ehrenspeed.dynamics.base`).

    Per-trajectory fields of this rank's block: ``active`` (n,), the
    previous eigenvectors ``u_prev`` (n, S, S), the random ``streams`` and
    the counts ``accepted`` and ``frustrated`` (n,).
    """

    name = "surface_hopping"
    observables: ClassVar[dict[str, tuple[str, ...]]] = {"active_population": ("time", "state")}
    trajectory_variables: ClassVar[tuple[str, ...]] = ("active_state",)

    def __init__(self, method: FSSH):
        self.method = method
        self.constant = method.decoherence_constant if method.decoherence == "edc" else None
        self.reverse = method.frustrated == "reverse"

    def check(self, run) -> None:
        if run.integrator.name != "strang":
            raise InputError(f"method 'fssh' needs integrator 'strang' (a hop is not a symmetric "
                             f"substep), got {run.integrator.name!r}")

    def start(self, run, context) -> None:
        state = run.state
        n = state.n_traj
        self.streams = hop_streams(run.seed, range(run.block.start, run.block.start + n))
        self.cursor = DRAW_BLOCK  # the first draw fills the block
        self.block_numbers = np.empty((n, DRAW_BLOCK))
        self.accepted = np.zeros(n, dtype=np.int64)
        self.frustrated = np.zeros(n, dtype=np.int64)
        self.u_prev = np.empty((n, run.model.n_states, run.model.n_states), dtype=complex)
        for rows, v, _ in _chunks(run, context, state.q, need_gradient=False):
            self.u_prev[rows] = adiabatic_basis(v)[1]
        a = np.einsum("nik,ni->nk", np.conj(self.u_prev), state.c)
        cumulative = np.cumsum(np.abs(a) ** 2, axis=1)
        xi = self._draw() * cumulative[:, -1]
        self.active = np.minimum(np.argmax(xi[:, None] < cumulative, axis=1), cumulative.shape[1] - 1)

    def _draw(self) -> np.ndarray:
        """The next uniform number of every trajectory's stream, shape (n,)."""
        if self.cursor == DRAW_BLOCK:  # one call per stream per block, not per step
            for j, g in enumerate(self.streams):
                self.block_numbers[j] = g.random(DRAW_BLOCK)
            self.cursor = 0
        self.cursor += 1
        return self.block_numbers[:, self.cursor - 1]

    def step(self, run, dt: float) -> State:
        state = run.state
        half = 0.5 * dt
        q = drift(state.q, state.p, run.inv_mass, half, run.model)
        xi = self._draw()
        p, c = np.empty_like(state.p), np.empty_like(state.c)
        context = run.source.evaluate(q)
        comm = run.source.comm
        error = None
        try:
            for rows, v, dv in _chunks(run, context, q, need_gradient=True):
                out = substep_function(run.backend, v, dv)(state.p[rows], state.c[rows], self.active[rows], self.u_prev[rows], v, dv,
                                   xi[rows], dt, run.inv_mass, self.constant, self.reverse)
                p[rows], c[rows], self.active[rows], self.u_prev[rows], hopped, frustrated = out
                self.accepted[rows] += hopped
                self.frustrated[rows] += frustrated
        except Exception as exc:
            if comm.size == 1:
                raise
            error = exc
        comm.agree(error)
        q = drift(q, p, run.inv_mass, half, run.model)
        return State(q, p, c, state.t + dt)

    def per_trajectory(self, part: State, v: np.ndarray, inv_mass: np.ndarray, rows: slice) -> dict:
        """Adiabatic populations from c, energies on the active surface, the active state's indicator."""
        energies, u = np.linalg.eigh(v)
        a = np.einsum("nlk,nl->nk", np.conj(u), part.c)
        active = self.active[rows]
        potential = energies[np.arange(len(active)), active]
        indicator = np.zeros_like(energies)
        indicator[np.arange(len(active)), active] = 1.0
        population = part.c.real ** 2 + part.c.imag ** 2
        return {"adiabatic_population": a.real ** 2 + a.imag ** 2, "potential_energy": potential,
                "total_energy": kinetic_energy(part.p, inv_mass) + potential, "active_population": indicator,
                "population": population, "norm": population.sum(axis=1)}

    def ensemble_means(self, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"active_population": parts["active_population"].mean(axis=0)}

    def state_shapes(self, n: int, n_states: int) -> dict[str, tuple[int, ...]]:
        """Shapes of the checkpoint arrays of :meth:`get_state` for n trajectories."""
        return {"active": (n,), "u_prev": (n, n_states, n_states), "streams": (n, 6), "accepted": (n,),
                "frustrated": (n,), "block_numbers": (n, DRAW_BLOCK)}

    def get_state(self, comm) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"active": self.active, "u_prev": self.u_prev, "streams": _stream_arrays(self.streams),
                  "accepted": self.accepted, "frustrated": self.frustrated, "block_numbers": self.block_numbers}
        return {key: comm.gather_rows(value) for key, value in arrays.items()}, {"cursor": self.cursor}

    def set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], block: slice) -> None:
        self.active = np.array(arrays["active"][block], dtype=np.int64)
        self.u_prev = np.array(arrays["u_prev"][block])
        self.streams = _streams_from(arrays["streams"][block])
        self.accepted = np.array(arrays["accepted"][block], dtype=np.int64)
        self.frustrated = np.array(arrays["frustrated"][block], dtype=np.int64)
        self.block_numbers = np.array(arrays["block_numbers"][block], dtype=float)
        cursor = int(meta["cursor"])
        if not 0 <= cursor <= DRAW_BLOCK:
            raise InputError(f"the checkpoint's FSSH draw cursor {cursor} is outside 0..{DRAW_BLOCK}")
        self.cursor = cursor

    def trajectory_fields(self, comm) -> dict[str, np.ndarray]:
        return {"active_state": comm.gather_rows(self.active.copy())}  # the record must not follow later hops

    def attributes(self, comm) -> dict[str, Any]:
        accepted, frustrated = comm.gather_rows(self.accepted), comm.gather_rows(self.frustrated)
        if accepted is None:
            return {}
        return {"hops_accepted": int(accepted.sum()), "hops_frustrated": int(frustrated.sum()),
                "decoherence": self.method.decoherence or "none", "frustrated_hops": self.method.frustrated,
                "fssh_source": self.method.describe()["source"]}


def substep_function(backend: str | None, v: np.ndarray, dv: np.ndarray):
    """The FSSH substep for these matrices: compiled (real V, dV/dq, numba backend) or the NumPy reference."""
    from ..backend import compiled
    from . import fssh_kernels

    if compiled(backend) and fssh_kernels.supports(v, dv):
        return fssh_kernels.fssh_substep_numba
    return fssh_substep


def _chunks(run, context, q, need_gradient):
    """(rows, V, dV/dq) for this rank's trajectories in chunks of ``run._chunk``."""
    n = q.shape[0]
    for start in range(0, n, run._chunk):
        rows = slice(start, min(start + run._chunk, n))
        v, dv = run.source.matrices(context_rows(context, rows), q[rows], need_gradient=need_gradient)
        yield rows, v, dv
