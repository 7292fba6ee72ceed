"""Molecules in Cartesian coordinates: masses and normal-mode Wigner sampling.

A molecule of n atoms has D = 3 n Cartesian coordinates (bohr), ordered
(x1, y1, z1, x2, ...), each with its atom's mass (electron masses; atomic
masses in amu are converted once, 1 amu = 1822.888486 m_e).

Initial conditions come from the harmonic approximation at a reference
geometry q0 with Cartesian Hessian K (hartree / bohr^2): in mass-weighted
coordinates X = M^(1/2) (q - q0) the Hessian is M^(-1/2) K M^(-1/2). The
six (five for a linear molecule) directions of rigid translation and
rotation are projected out first (J. Chem. Phys.
72, 99 (1980)), so no sampled displacement or momentum moves or turns the
molecule as a whole; diagonalising what remains gives the normal modes L_k
and frequencies w_k. Each mode's Wigner function at temperature T is a
Gaussian (Hillery et al., Phys. Rep. 106, 121 (1984)) with

    var(Q_k) = coth(w_k / 2 k_B T) / (2 w_k),  var(P_k) = w_k coth(w_k / 2 k_B T) / 2

(the ground state, variances 1/(2 w) and w/2, at T = 0), and

    q = q0 + M^(-1/2) sum_k L_k Q_k,   p = p0 + M^(1/2) sum_k L_k P_k.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .sampling import State, electronic_vector
from .units import AMU, KB

#: Masses of the most abundant isotopes, amu (IUPAC/AME 2016 values).
ATOMIC_MASSES_AMU = {
    "H": 1.00782503, "D": 2.01410178, "He": 4.00260325, "Li": 7.01600344, "Be": 9.0121831,
    "B": 11.00930536, "C": 12.0, "N": 14.00307400, "O": 15.99491462, "F": 18.99840316,
    "Ne": 19.99244018, "Na": 22.98976928, "Mg": 23.98504170, "Si": 27.97692653,
    "P": 30.97376200, "S": 31.97207117, "Cl": 34.96885268, "Ar": 39.96238312,
}

#: Frequencies below this (hartree) count as rigid-body leftovers or
#: numerically soft modes when ``min_frequency`` is not given (~0.2 cm^-1).
DEFAULT_MIN_FREQUENCY = 1e-6


def cartesian_masses(atoms: Sequence[Any]) -> np.ndarray:
    """Mass of every Cartesian coordinate, electron masses.

    Parameters
    ----------
    atoms : sequence of str or float
        Element symbols (most abundant isotope) or atomic masses in amu.

    Returns
    -------
    ndarray, shape (3 n_atoms,)
        Each atom's mass repeated for x, y, z, in m_e.
    """
    amu = []
    for atom in atoms:
        if isinstance(atom, str):
            key = atom.strip().capitalize()
            if key not in ATOMIC_MASSES_AMU:
                raise InputError(f"no mass for element {atom!r}; give the mass in amu instead")
            amu.append(ATOMIC_MASSES_AMU[key])
        else:
            amu.append(float(atom))
    amu = np.asarray(amu, dtype=float)
    if amu.size == 0 or np.any(~np.isfinite(amu)) or np.any(amu <= 0):
        raise InputError(f"atomic masses must be positive, got {amu.tolist()}")
    return np.repeat(amu * AMU, 3)


def rigid_body_basis(q0: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Orthonormal mass-weighted translation and rotation vectors at q0.

    Parameters
    ----------
    q0 : ndarray, shape (3 n,)
        Cartesian positions, bohr.
    mass : ndarray, shape (3 n,)
        Per-coordinate masses, m_e.

    Returns
    -------
    ndarray, shape (3 n, r)
        r = 6 (r = 5 for a linear molecule, 3 for one atom).
    """
    x = np.asarray(q0, float).reshape(-1, 3)
    m = np.asarray(mass, float).reshape(-1, 3)[:, 0]
    sqm = np.sqrt(m)[:, None]
    centre = (m[:, None] * x).sum(0) / m.sum()
    r = x - centre
    vectors = []
    for k in range(3):
        t = np.zeros_like(x)
        t[:, k] = 1.0
        vectors.append((sqm * t).ravel())
    for k in range(3):
        axis = np.zeros(3)
        axis[k] = 1.0
        vectors.append((sqm * np.cross(axis, r)).ravel())
    u, sv, _ = np.linalg.svd(np.array(vectors).T, full_matrices=False)
    # a linear molecule has one rotation of zero length: drop it
    return u[:, sv > 1e-8 * sv.max()]


def normal_modes(hessian: np.ndarray, mass: np.ndarray, q0: np.ndarray | None = None):
    """Harmonic frequencies and mass-weighted normal modes, rigid motion removed.

    Parameters
    ----------
    hessian : ndarray, shape (D, D)
        Cartesian Hessian, hartree / bohr^2 (symmetrised here).
    mass : ndarray, shape (D,)
        m_e.
    q0 : ndarray, shape (D,), optional
        Geometry for the translation/rotation projection; without it no
        projection is done (e.g. for coordinates that are not Cartesian).

    Returns
    -------
    omega2 : ndarray, shape (K,)
        Squared angular frequencies, hartree^2, ascending (negative for an
        imaginary mode); K = D - 6 (D - 5 linear) with projection.
    modes : ndarray, shape (D, K)
        Orthonormal mass-weighted displacement vectors L_k.
    """
    k = np.asarray(hessian, float)
    d = k.shape[0]
    mass = np.asarray(mass, float)
    if k.shape != (d, d) or mass.shape != (d,):
        raise InputError(f"hessian must be (D, D) and mass (D,), got {k.shape} and {mass.shape}")
    inv_sqm = 1.0 / np.sqrt(mass)
    kmw = 0.5 * (k + k.T) * inv_sqm[:, None] * inv_sqm[None, :]
    if q0 is None:
        basis = np.eye(d)
    else:
        rigid = rigid_body_basis(q0, mass)
        # orthonormal complement of the rigid-body directions
        u, _, _ = np.linalg.svd(np.eye(d) - rigid @ rigid.T)
        basis = u[:, : d - rigid.shape[1]]
    omega2, vec = np.linalg.eigh(basis.T @ kmw @ basis)
    return omega2, basis @ vec


def sample_normal_modes(q0, hessian, mass, n_traj: int, seed=None, temperature: float = 0.0,
                        state: Any = 0, n_states: int | None = None, p0=None,
                        min_frequency: float | None = None, project: bool = True) -> State:
    """Harmonic Wigner sample of a molecule from its Cartesian Hessian.

    Parameters
    ----------
    q0 : array_like, shape (D,)
        Reference (ideally equilibrium) geometry, bohr.
    hessian : array_like, shape (D, D)
        Hessian of the ground-state energy at q0, hartree / bohr^2.
    mass : array_like, shape (D,)
        m_e (see :func:`cartesian_masses`).
    n_traj : int
    seed : int, SeedSequence or Generator, optional
        Same seed, same sample bit for bit.
    temperature : float
        Kelvin; 0 samples the vibrational ground state.
    state : int or array_like
        Electronic state of every trajectory.
    n_states : int, optional
        Needed when ``state`` is an index.
    p0 : array_like, shape (D,), optional
        Momentum added to every sample (e.g. a collision velocity).
    min_frequency : float, optional
        Modes with w below this (hartree), and imaginary modes, are not
        sampled (kept at q0 with zero momentum) -- for the soft
        intermolecular modes of a complex. Without it an imaginary mode is
        an error.
    project : bool
        Remove rigid translation and rotation (Cartesian coordinates).

    Returns
    -------
    State
        q, p of shape (N, D), c (N, S), t = 0. The attribute-free State;
        the frequencies are available from :func:`normal_modes`.

    Raises
    ------
    InputError
        For bad shapes, negative temperature, or an imaginary frequency
        without ``min_frequency``.
    """
    from .sampling import _check_n_traj, _rng

    n_traj = _check_n_traj(n_traj)
    q0 = np.asarray(q0, float).ravel()
    mass = np.asarray(mass, float).ravel()
    d = q0.size
    if temperature < 0:
        raise InputError(f"temperature must be >= 0 K, got {temperature}")
    omega2, modes = normal_modes(hessian, mass, q0 if project else None)
    cutoff = DEFAULT_MIN_FREQUENCY if min_frequency is None else float(min_frequency)
    if min_frequency is None and np.any(omega2 < -cutoff**2):
        raise InputError(f"imaginary frequency {np.sqrt(-omega2.min()):.3g} hartree at q0: not a "
                         f"minimum; pass min_frequency to leave such modes unsampled")
    active = omega2 > cutoff**2
    omega = np.sqrt(omega2[active])
    modes = modes[:, active]
    if temperature > 0:
        coth = 1.0 / np.tanh(np.minimum(omega / (2.0 * KB * temperature), 700.0))
    else:
        coth = np.ones_like(omega)
    if n_states is None:
        if np.ndim(state) == 0:
            raise InputError("n_states is needed when state is an index")
        n_states = np.size(state)
    k = omega.size
    # one block of normals: a trajectory's sample never depends on chunking
    z = _rng(seed).standard_normal((n_traj, 2 * k))
    big_q = z[:, :k] * np.sqrt(coth / (2.0 * omega))
    big_p = z[:, k:] * np.sqrt(omega * coth / 2.0)
    q = q0 + (big_q @ modes.T) / np.sqrt(mass)
    p = (big_p @ modes.T) * np.sqrt(mass)
    if p0 is not None:
        p = p + np.broadcast_to(np.asarray(p0, float), (d,))
    c = np.tile(electronic_vector(state, n_states), (n_traj, 1))
    return State(q, p, c, 0.0)
