"""Kinetic and potential operators on the grid.

The split operator needs two exponentials (J. Comput. Phys. 47, 412 (1982);
J. Phys. Chem. 92, 2087 (1988)):

* kinetic: T is diagonal in momentum space,
  T(k) = sum_a k_a^2 / (2 M_a), so exp(-i T tau) is a phase per momentum
  grid point;
* potential: V(x) is an S x S Hermitian matrix at each grid point. It does
  not depend on time, so it is diagonalised once, V(x) = U(x) diag(l(x))
  U(x)^H (eigenvalues ascending), and every propagator
  exp(-i V tau) = U diag(exp(-i l tau)) U^H follows from (l, U) for any tau.

The same (l, U) give the adiabatic populations and <V> at output times, so
the model is evaluated exactly once per grid point per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .grid import Grid

#: Bytes of diabatic matrices evaluated per model call (bounds the memory of
#: the set-up on large grids; small enough to sit beside a 64^3 wavefunction).
CHUNK_BYTES = 16 * 2**20

#: Hermiticity tolerance relative to the largest matrix element.
HERMITIAN_RTOL = 1e-10


@dataclass(frozen=True)
class PotentialOnGrid:
    """The diabatic potential diagonalised at every grid point.

    Attributes
    ----------
    eigenvalues : ndarray, shape (S, npts), hartree
        Adiabatic energies l_j(x), ascending in j at each point.
    eigenvectors : ndarray, shape (S, S, npts), float or complex
        ``eigenvectors[:, j, p]`` is the j-th adiabatic state at point p in
        the diabatic basis (float when V is real symmetric).
    evaluations : int
        Grid points at which the model's potential was evaluated.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    evaluations: int

    @property
    def n_states(self) -> int:
        return self.eigenvalues.shape[0]

    @property
    def npts(self) -> int:
        return self.eigenvalues.shape[1]


def chunk_points(n_states: int) -> int:
    """Grid points per model call so that one chunk of V takes about CHUNK_BYTES."""
    return max(256, CHUNK_BYTES // (16 * n_states * n_states))


def diagonalise_potential(model, grid: Grid, complex_valued: bool | None = None) -> PotentialOnGrid:
    """Evaluate V on the grid chunk by chunk and diagonalise it point by point.

    Parameters
    ----------
    model : Model
        Batched ``potential(q)``, q (N, D) -> (N, S, S), hartree.
    grid : Grid
    complex_valued : bool, optional
        Store complex eigenvectors; default ``model.complex_valued``. A
        real-declared model that returns complex matrices is upgraded.

    Returns
    -------
    PotentialOnGrid

    Raises
    ------
    ModelError
        When V has the wrong shape, is not finite or is not Hermitian.
    """
    s = int(model.n_states)
    npts = grid.size
    is_complex = bool(getattr(model, "complex_valued", False)) if complex_valued is None else complex_valued
    values = np.empty((s, npts))
    vectors = np.empty((s, s, npts), dtype=complex if is_complex else float)
    wrap = getattr(model, "wrap", None) if getattr(model, "periods", None) is not None else None
    for start, stop in grid.chunks(chunk_points(s)):
        q = grid.positions(start, stop)
        if wrap is not None:
            q = wrap(q)
        v = np.asarray(model.potential(q))
        _check_matrices(v, stop - start, s)
        if np.iscomplexobj(v):
            if np.any(v.imag != 0):
                if not np.iscomplexobj(vectors):
                    vectors = vectors.astype(complex)
            else:
                v = v.real
        lam, u = np.linalg.eigh(v)           # (M, S), (M, S, S): u[p, :, j] is state j
        values[:, start:stop] = lam.T
        vectors[:, :, start:stop] = np.moveaxis(u, 0, 2)
    return PotentialOnGrid(values, vectors, npts)


def _check_matrices(v: np.ndarray, n: int, s: int) -> None:
    if v.shape != (n, s, s):
        raise ModelError(f"model potential returned shape {v.shape} for {n} points; expected ({n}, {s}, {s})")
    if not np.all(np.isfinite(v)):
        raise ModelError("model potential returned NaN or Inf on the grid")
    scale = max(1.0, float(np.max(np.abs(v))))
    if np.max(np.abs(v - np.conj(np.swapaxes(v, 1, 2)))) > HERMITIAN_RTOL * scale:
        raise ModelError("model potential is not Hermitian on the grid")


def potential_propagator(pot: PotentialOnGrid, tau: float, packed: bool = False) -> np.ndarray:
    """exp(-i V tau) at every grid point.

    P(x) = U(x) diag(exp(-i l(x) tau)) U(x)^H, built in chunks of points.

    Parameters
    ----------
    pot : PotentialOnGrid
    tau : float
        Time, a.u. (any sign: the fourth-order composition has a negative
        substep).
    packed : bool
        Return only the upper triangle (see :func:`pack_symmetric`); valid
        when V is real, so that P is complex symmetric.

    Returns
    -------
    ndarray, shape (S, S, npts) or (S(S+1)/2, npts), complex128
        ``P[k, l, p]``, unitary in (k, l) at each point p.
    """
    s, npts = pot.n_states, pot.npts
    rows, cols = np.triu_indices(s)
    out = np.empty((rows.size, npts) if packed else (s, s, npts), dtype=complex)
    u = pot.eigenvectors
    step = chunk_points(s)
    for start in range(0, npts, step):
        sl = slice(start, min(start + step, npts))
        phase = np.exp(-1j * tau * pot.eigenvalues[:, sl])          # (S, M)
        chunk = np.einsum("kjp,jp,ljp->klp", u[:, :, sl], phase, u[:, :, sl].conj())
        if packed:
            out[:, sl] = chunk[rows, cols]
        else:
            out[:, :, sl] = chunk
    return out


def pack_symmetric(prop: np.ndarray) -> np.ndarray:
    """The upper triangle (k <= m, row-major) of complex symmetric matrices.

    For real symmetric V the eigenvectors are real, so
    exp(-i V tau) = U diag(exp(-i l tau)) U^T is complex *symmetric*: S(S+1)/2
    entries per point determine it.

    Parameters
    ----------
    prop : ndarray, shape (S, S, npts)

    Returns
    -------
    ndarray, shape (S(S+1)/2, npts), C-contiguous
    """
    rows, cols = np.triu_indices(prop.shape[0])
    return np.ascontiguousarray(prop[rows, cols])


def apply_potential_eigenbasis(pot: PotentialOnGrid, psi: np.ndarray, tau: float) -> None:
    """psi <- exp(-i V tau) psi in place, through the eigenbasis, chunk by chunk.

    Used for step lengths met once (the last, shorter step before an output
    time), where building and storing a full (S, S, npts) propagator would
    cost memory for no gain.

    Parameters
    ----------
    pot : PotentialOnGrid
    psi : ndarray, shape (S, npts), complex
    tau : float
        Time, a.u.
    """
    u = pot.eigenvectors
    step = chunk_points(pot.n_states)
    for start in range(0, pot.npts, step):
        sl = slice(start, min(start + step, pot.npts))
        a = np.einsum("ljp,lp->jp", u[:, :, sl].conj(), psi[:, sl])   # adiabatic amplitudes
        a *= np.exp(-1j * tau * pot.eigenvalues[:, sl])
        psi[:, sl] = np.einsum("kjp,jp->kp", u[:, :, sl], a)


def kinetic_energy(grid: Grid, mass: np.ndarray) -> np.ndarray:
    """T(k) = sum_a k_a^2 / (2 M_a) on the momentum grid (FFT order).

    Parameters
    ----------
    grid : Grid
    mass : ndarray, shape (D,), electron masses (or 1/omega for
        dimensionless normal coordinates)

    Returns
    -------
    ndarray, shape (npts,), hartree
        Flattened in C order, matching a flattened ``fftn`` of the grid.
    """
    total = np.zeros(grid.shape)
    for a, k in enumerate(grid.momentum_axes):
        shape = [1] * grid.n_dof
        shape[a] = k.size
        total = total + (k**2 / (2.0 * mass[a])).reshape(shape)
    return total.ravel()


def kinetic_phase(tkin: np.ndarray, tau: float) -> np.ndarray:
    """exp(-i T(k) tau), shape (npts,), complex128."""
    return np.exp(-1j * tau * tkin)
