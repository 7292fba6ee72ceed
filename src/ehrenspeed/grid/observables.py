"""Observables of a grid wavefunction, matching those of the trajectory methods.

With psi_s(x) on the grid, quadrature weight dV = prod dx_a, and N the
number of grid points:

* diabatic population  P_s = sum_x |psi_s(x)|^2 dV; norm = sum_s P_s;
* adiabatic population P_j = sum_x |a_j(x)|^2 dV with a(x) = U(x)^H psi(x),
  U(x) the eigenvectors of V(x) (eigenvalues ascending);
* <V> = sum_x sum_j l_j(x) |a_j(x)|^2 dV / norm  (= sum_x psi^H V psi dV / norm);
* <q_a> from the reduced density along a (for a periodic coordinate: the
  plain mean over the grid interval);
* in momentum space, phi = FFT(psi): <p_a> = sum_k k_a |phi|^2 / sum_k |phi|^2 and
  <T> = sum_k T(k) |phi|^2 / sum_k |phi|^2 (Parseval makes the FFT
  normalisation cancel);
* reduced densities rho_a(x_a) = sum_s sum_{other axes} |psi_s|^2 dV / dx_a,
  so that sum rho_a dx_a = norm.

Expectation values are divided by the norm, populations are not (their sum
is the norm, 1 to round-off).

Grid adequacy: the probability in the outer ``EDGE_FRACTION`` of an axis at
either end (position, for non-periodic coordinates: the first and last
ceil(0.05 n) points) or of the momentum range (every coordinate, |k| >
0.9 pi / dx: momenta beyond the grid alias) is returned so the driver can
warn.
"""

from __future__ import annotations

import math

import numpy as np

from . import fft
from .grid import Grid
from .operators import PotentialOnGrid, chunk_points

#: Fraction of an axis, at each end, that counts as "near the edge".
EDGE_FRACTION = 0.05


def edge_points(n: int) -> int:
    """Points at each end of an n-point axis that make up its edge region."""
    return max(1, math.ceil(EDGE_FRACTION * n))


def measure(psi: np.ndarray, grid: Grid, pot: PotentialOnGrid, tkin: np.ndarray,
            workers: int = 1) -> dict[str, np.ndarray]:
    """All observables of one wavefunction.

    Parameters
    ----------
    psi : ndarray, shape (S, n_1, ..., n_D), complex
        Not modified.
    grid : Grid
    pot : PotentialOnGrid
    tkin : ndarray, shape (npts,)
        Kinetic energy T(k) in FFT order, hartree.
    workers : int
        FFT threads.

    Returns
    -------
    dict
        ``population`` (S,), ``adiabatic_population`` (S,), ``norm``,
        ``position`` (D,), ``momentum`` (D,), ``potential_energy``,
        ``kinetic_energy``, ``total_energy``, ``state_density`` (list of D
        arrays (S, n_a)), ``edge_density`` and ``momentum_edge_density``
        (D,): probability in the edge region of each axis, divided by the
        norm (0 for the position of periodic coordinates).
    """
    s, d = psi.shape[0], grid.n_dof
    dv = grid.volume_element
    rho = psi.real**2 + psi.imag**2                                   # (S, n_1..n_D)
    population = rho.reshape(s, -1).sum(axis=1) * dv
    norm = float(population.sum())

    state_density, position, edge = [], np.empty(d), np.zeros(d)
    for a, (x, dx) in enumerate(zip(grid.axes, grid.spacing)):
        other = tuple(b + 1 for b in range(d) if b != a)
        dens = rho.sum(axis=other) * (dv / dx) if other else rho * (dv / dx)   # (S, n_a)
        state_density.append(dens)
        total = dens.sum(axis=0)
        position[a] = float(total @ x) * dx / norm
        if not grid.periodic[a]:
            m = edge_points(x.size)
            edge[a] = float(total[:m].sum() + total[-m:].sum()) * dx / norm
    del rho

    phi = fft.fftn(psi, axes=tuple(range(1, d + 1)), workers=workers)
    weight = (phi.real**2 + phi.imag**2).sum(axis=0)                  # (n_1..n_D)
    del phi
    wsum = float(weight.sum())
    kinetic = float(weight.ravel() @ tkin) / wsum
    momentum, momentum_edge = np.empty(d), np.zeros(d)
    for a, k in enumerate(grid.momentum_axes):
        other = tuple(b for b in range(d) if b != a)
        wk = weight.sum(axis=other) if other else weight
        momentum[a] = float(wk @ k) / wsum
        # |k| within the outer EDGE_FRACTION of [-pi/dx, pi/dx) at either end
        outer = np.abs(k) > (1.0 - 2.0 * EDGE_FRACTION) * np.pi / grid.spacing[a]
        momentum_edge[a] = float(wk[outer].sum()) / wsum
    del weight

    adiabatic, v_sum = _adiabatic(psi.reshape(s, -1), pot)
    potential = v_sum * dv / norm
    return {
        "population": population,
        "adiabatic_population": adiabatic * dv,
        "norm": norm,
        "position": position,
        "momentum": momentum,
        "potential_energy": potential,
        "kinetic_energy": kinetic,
        "total_energy": kinetic + potential,
        "state_density": state_density,
        "edge_density": edge,
        "momentum_edge_density": momentum_edge,
    }


def _adiabatic(flat: np.ndarray, pot: PotentialOnGrid) -> tuple[np.ndarray, float]:
    """sum_x |U^H psi|^2 per adiabatic state and sum_x l |U^H psi|^2, in chunks."""
    s = flat.shape[0]
    u = pot.eigenvectors
    pops = np.zeros(s)
    v_sum = 0.0
    step = chunk_points(s)
    for start in range(0, flat.shape[1], step):
        sl = slice(start, min(start + step, flat.shape[1]))
        a = np.einsum("ljp,lp->jp", u[:, :, sl].conj(), flat[:, sl])
        w = a.real**2 + a.imag**2
        pops += w.sum(axis=1)
        v_sum += float(np.sum(w * pot.eigenvalues[:, sl]))
    return pops, v_sum
