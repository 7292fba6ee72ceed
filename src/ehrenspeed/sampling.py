"""Initial conditions: Gaussian wavepackets, their Wigner samples, ensemble states.

The nuclear wavepacket at t = 0 is the Gaussian (docs/trajectories.md)

    psi(q) ~ exp(-(q - q0)^T A (q - q0) / 2 + i p0^T (q - q0)),

with A real symmetric positive definite. Its Wigner distribution is the
product of two Gaussians, q ~ Normal(q0, A^-1 / 2) and p ~ Normal(p0, A / 2)
(E. Wigner, Phys. Rev. 40, 749 (1932); Hillery et al., Phys. Rep. 106, 121
(1984)). For the ground state of a harmonic oscillator of mass m and
frequency w, A = m w; in dimensionless normal coordinates A = 1.

Randomness is explicit: a seed (or :class:`numpy.random.SeedSequence`)
goes in, and all N samples are drawn in one block, so a sample never
depends on how trajectories are later split into chunks or across ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class State:
    """The state of an ensemble of N trajectories (trajectory axis first).

    Parameters
    ----------
    q : ndarray, shape (N, D)
        Positions, coordinate units (bohr, radian, or dimensionless).
    p : ndarray, shape (N, D)
        Momenta, atomic units.
    c : ndarray, shape (N, S), complex
        Diabatic electronic coefficients, each row of norm 1.
    t : float
        Time, atomic units.
    """

    q: np.ndarray
    p: np.ndarray
    c: np.ndarray
    t: float = 0.0

    @property
    def n_traj(self) -> int:
        return self.q.shape[0]

    @property
    def n_dof(self) -> int:
        return self.q.shape[1]

    @property
    def n_states(self) -> int:
        return self.c.shape[1]

    @property
    def populations(self) -> np.ndarray:
        """Diabatic populations of each trajectory |c_jk|^2, shape (N, S)."""
        return self.c.real**2 + self.c.imag**2

    def replace(self, **changes: Any) -> "State":
        """A copy with some fields replaced (the state itself never mutates)."""
        fields = {"q": self.q, "p": self.p, "c": self.c, "t": self.t}
        fields.update(changes)
        return State(**fields)

    def take(self, index) -> "State":
        """The sub-ensemble ``index`` (a slice or index array) at the same time."""
        return State(self.q[index], self.p[index], self.c[index], self.t)

    @classmethod
    def from_arrays(cls, q, p, c, t: float = 0.0) -> "State":
        """Build a validated state from user arrays (copied).

        Raises
        ------
        InputError
            On inconsistent shapes, non-finite values or unnormalised ``c``.
        """
        q = np.array(q, dtype=float, ndmin=2)
        p = np.array(p, dtype=float, ndmin=2)
        c = np.array(c, dtype=complex, ndmin=2)
        if q.ndim != 2 or q.shape != p.shape:
            raise InputError(f"q and p must both have shape (N, D); got {q.shape} and {p.shape}")
        if c.ndim != 2 or c.shape[0] != q.shape[0]:
            raise InputError(f"c must have shape (N, S) with N = {q.shape[0]}; got {c.shape}")
        for name, arr in (("q", q), ("p", p), ("c", c)):
            if not np.all(np.isfinite(arr)):
                raise InputError(f"initial {name} contains NaN or Inf")
        norms = np.linalg.norm(c, axis=1)
        if np.any(np.abs(norms - 1.0) > 1e-8):
            raise InputError(f"every row of c must have norm 1; worst is {norms[np.argmax(np.abs(norms - 1))]:.6g}")
        return cls(q, p, c, float(t))


def electronic_vector(state: Any, n_states: int) -> np.ndarray:
    """Turn a state index or an amplitude vector into a normalised (S,) vector."""
    if np.ndim(state) == 0:
        index = int(state)
        if not 0 <= index < n_states:
            raise InputError(f"initial state index {index} is out of range for {n_states} states")
        vec = np.zeros(n_states, dtype=complex)
        vec[index] = 1.0
        return vec
    vec = np.asarray(state, dtype=complex).ravel()
    if vec.size != n_states:
        raise InputError(f"initial amplitudes have length {vec.size}, the model has {n_states} states")
    norm = np.linalg.norm(vec)
    if not np.isfinite(norm) or norm == 0:
        raise InputError("initial amplitudes must be finite and not all zero")
    return vec / norm


@dataclass(frozen=True)
class Wavepacket:
    """A Gaussian nuclear wavepacket on one diabatic state (or a superposition).

    Parameters
    ----------
    q0 : array_like, shape (D,)
        Centre, coordinate units.
    p0 : array_like, shape (D,)
        Mean momentum, atomic units.
    width : array_like, shape (D,) or (D, D)
        The matrix A of exp(-(q - q0)^T A (q - q0) / 2): its diagonal, or the
        full symmetric positive definite matrix. Units: 1 / coordinate^2.
    state : int or array_like, shape (S,)
        Initial diabatic state index, or amplitudes (normalised here).

    Notes
    -----
    The same object feeds Wigner sampling (trajectories) and the grid
    wavefunction (exact dynamics), so both start from the same state.
    """

    q0: np.ndarray
    p0: np.ndarray
    width: np.ndarray
    state: Any = 0
    _chol_cov: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        q0 = np.atleast_1d(_real_array("q0", self.q0))
        p0 = np.atleast_1d(_real_array("p0", self.p0))
        d = q0.size
        if q0.ndim != 1 or p0.shape != q0.shape:
            raise InputError(f"q0 and p0 must be vectors of the same length; got {q0.shape} and {p0.shape}")
        width = _real_array("width", self.width)
        if width.ndim <= 1:
            width = np.diag(np.broadcast_to(width, (d,)).astype(float))
        if width.shape != (d, d):
            raise InputError(f"width must have shape ({d},) or ({d}, {d}); got {width.shape}")
        if not (np.all(np.isfinite(width)) and np.all(np.isfinite(q0)) and np.all(np.isfinite(p0))):
            raise InputError("wavepacket centre, momentum and width must be finite")
        if not np.allclose(width, width.T):
            raise InputError("width matrix A must be symmetric")
        try:
            chol = np.linalg.cholesky(np.linalg.inv(width) / 2.0)
        except np.linalg.LinAlgError:
            raise InputError("width matrix A must be positive definite") from None
        object.__setattr__(self, "q0", q0)
        object.__setattr__(self, "p0", p0)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "_chol_cov", chol)

    @property
    def n_dof(self) -> int:
        return self.q0.size

    def position_covariance(self) -> np.ndarray:
        """Wigner covariance of q, A^-1 / 2, shape (D, D)."""
        return np.linalg.inv(self.width) / 2.0

    def momentum_covariance(self) -> np.ndarray:
        """Wigner covariance of p, A / 2, shape (D, D)."""
        return self.width / 2.0

    def amplitude(self, q: np.ndarray) -> np.ndarray:
        """Nuclear wavefunction at points ``q`` (M, D), normalised in R^D.

        psi(q) = (det A / pi^D)^(1/4) exp(-(q-q0)^T A (q-q0)/2 + i p0.(q-q0)).
        """
        dq = np.asarray(q, dtype=float) - self.q0
        quad = np.einsum("ma,ab,mb->m", dq, self.width, dq)
        norm = (np.linalg.det(self.width) / np.pi**self.n_dof) ** 0.25
        return norm * np.exp(-0.5 * quad + 1j * dq @ self.p0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for the ``config`` attribute of results)."""
        state = self.state
        if np.ndim(state) != 0:
            arr = np.asarray(state, dtype=complex)
            state = {"real": arr.real.tolist(), "imag": arr.imag.tolist()}
        else:
            state = int(state)
        return {"q0": self.q0.tolist(), "p0": self.p0.tolist(), "width": self.width.tolist(), "state": state}


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def sample_wigner(wp: Wavepacket, n_traj: int, seed=None, n_states: int | None = None) -> State:
    """Draw N phase-space points from the Wigner distribution of ``wp``.

    Parameters
    ----------
    wp : Wavepacket
    n_traj : int
        Number of trajectories N >= 1.
    seed : int, SeedSequence or Generator, optional
        Same seed, same sample, bit for bit.
    n_states : int, optional
        Number of electronic states S; needed when ``wp.state`` is an index.

    Returns
    -------
    State
        q ~ Normal(q0, A^-1/2), p ~ Normal(p0, A/2), every c equal to the
        wavepacket's electronic state, t = 0.
    """
    n_traj = _check_n_traj(n_traj)
    if n_states is None:
        if np.ndim(wp.state) == 0:
            raise InputError("n_states is needed when the wavepacket's state is an index")
        n_states = np.size(wp.state)
    rng = _rng(seed)
    d = wp.n_dof
    # one block of normals: the sample of trajectory j never depends on chunking
    z = rng.standard_normal((n_traj, 2 * d))
    q = wp.q0 + z[:, :d] @ wp._chol_cov.T
    chol_p = np.linalg.cholesky(wp.momentum_covariance())
    p = wp.p0 + z[:, d:] @ chol_p.T
    c = np.tile(electronic_vector(wp.state, n_states), (n_traj, 1))
    return State(q, p, c, 0.0)


def sample_thermal(q0, mass, omega, temperature: float, n_traj: int, seed=None,
                   state: Any = 0, n_states: int | None = None, p0=None) -> State:
    """Thermal Wigner sample of independent harmonic oscillators.

    The Wigner function of a harmonic oscillator (mass m, frequency w) at
    temperature T is Gaussian with variances

        var(q) = coth(w / 2 k_B T) / (2 m w),  var(p) = m w coth(w / 2 k_B T) / 2,

    which tend to the ground state (T -> 0) and to Boltzmann (w << k_B T).

    Parameters
    ----------
    q0 : array_like, shape (D,)
        Oscillator minima.
    mass, omega : array_like, shape (D,)
        Masses (electron masses) and angular frequencies (hartree).
    temperature : float
        Kelvin, >= 0.
    n_traj : int
    seed : int, SeedSequence or Generator, optional
    state : int or array_like
        Electronic state of every trajectory.
    n_states : int, optional
        Needed when ``state`` is an index.
    p0 : array_like, shape (D,), optional
        Mean momentum (default zero).
    """
    from .units import KB

    n_traj = _check_n_traj(n_traj)
    q0 = np.atleast_1d(_real_array("q0", q0))
    d = q0.size
    mass = _per_coordinate("mass", mass, d)
    omega = _per_coordinate("omega", omega, d)
    if not (np.all(np.isfinite(q0)) and np.all(np.isfinite(mass)) and np.all(np.isfinite(omega))):
        raise InputError("thermal sampling needs finite q0, masses and frequencies")
    if np.any(mass <= 0) or np.any(omega <= 0):
        raise InputError("thermal sampling needs positive masses and frequencies")
    temperature = _real_array("temperature", temperature)
    if temperature.ndim != 0:
        raise InputError(f"temperature must be one number (kelvin), got shape {temperature.shape}")
    temperature = float(temperature)
    # a NaN would fail "> 0" below and silently sample the ground state
    if not math.isfinite(temperature) or temperature < 0:
        raise InputError(f"temperature must be finite and >= 0 K, got {temperature}")
    x = omega / (2 * KB * temperature) if temperature > 0 else np.full(d, np.inf)
    coth = np.where(np.isinf(x), 1.0, 1.0 / np.tanh(np.minimum(x, 700.0)))
    sq = np.sqrt(coth / (2 * mass * omega))
    sp = np.sqrt(mass * omega * coth / 2)
    p0 = np.zeros(d) if p0 is None else np.asarray(p0, dtype=float)
    if n_states is None:
        if np.ndim(state) == 0:
            raise InputError("n_states is needed when state is an index")
        n_states = np.size(state)
    z = _rng(seed).standard_normal((n_traj, 2 * d))
    c = np.tile(electronic_vector(state, n_states), (n_traj, 1))
    return State(q0 + z[:, :d] * sq, p0 + z[:, d:] * sp, c, 0.0)


def _real_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, or an InputError naming ``name`` (strings, None, ragged lists)."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or an array of numbers, got {value!r}") from None


def _per_coordinate(name: str, value: Any, n_dof: int) -> np.ndarray:
    """One value for all ``n_dof`` coordinates or one per coordinate, shape (D,)."""
    array = _real_array(name, value)
    try:
        return np.broadcast_to(array, (n_dof,))
    except ValueError:
        per_coordinate = "" if n_dof == 1 else f" or {n_dof}, one per coordinate"
        raise InputError(f"{name} must be one number{per_coordinate}, got shape {array.shape}") from None


def _check_n_traj(n_traj) -> int:
    if isinstance(n_traj, bool) or not isinstance(n_traj, (int, np.integer)):
        raise InputError(f"n_traj must be an integer, got {n_traj!r}")
    if n_traj < 1:
        raise InputError(f"n_traj must be at least 1, got {n_traj}")
    return int(n_traj)
