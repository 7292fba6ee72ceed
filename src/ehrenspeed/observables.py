"""Observables of a trajectory ensemble: pure functions of (state, V) -> values.

All reductions are plain means over the trajectory axis (docs/trajectories.md):

* diabatic populations  P_k = <|c_k|^2>,
* adiabatic populations <|a_k|^2>, a = U^H c with V(q_j) = U diag(E) U^H
  (eigenvalues ascending),
* <q>, <p>, <V> = <c^H V c>, <T + V>,
* the electronic norm <|c|^2>.

Per-trajectory energies E_j = p^T M^-1 p / 2 + c^H V c are kept too, so
the driver can track each trajectory's drift.
"""

from __future__ import annotations

import numpy as np

from .results import STANDARD_VARIABLES
from .sampling import State

#: names and dimensions of the ensemble observables, in output order (the
#: variables every result has, whatever the method)
ENSEMBLE_OBSERVABLES = STANDARD_VARIABLES


def kinetic_energy(p: np.ndarray, inv_mass: np.ndarray) -> np.ndarray:
    """p^T M^-1 p / 2 per trajectory, shape (N,)."""
    return 0.5 * np.einsum("na,a,na->n", p, inv_mass, p)


def electronic_energy(c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """c^H V c per trajectory, shape (N,) (real: V is Hermitian)."""
    return np.einsum("nk,nkl,nl->n", np.conj(c), v, c).real


def per_trajectory(state: State, v: np.ndarray, inv_mass: np.ndarray) -> dict[str, np.ndarray]:
    """Per-trajectory quantities whose ensemble means are the observables.

    Parameters
    ----------
    state : State
        n trajectories.
    v : ndarray, shape (n, S, S)
        Diabatic matrices at the trajectories' positions.
    inv_mass : ndarray, shape (D,)

    Returns
    -------
    dict
        ``adiabatic_population`` (n, S), ``potential_energy`` (n,) and
        ``total_energy`` (n,); the rest follows from the state alone.
    """
    _, u = np.linalg.eigh(v)
    a = np.einsum("nlk,nl->nk", np.conj(u), state.c)
    e_el = electronic_energy(state.c, v)
    return {"adiabatic_population": a.real**2 + a.imag**2, "potential_energy": e_el,
            "total_energy": kinetic_energy(state.p, inv_mass) + e_el}


def ensemble_means(state: State, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Means over the trajectory axis of every observable (docs/trajectories.md).

    The reduction runs over the full arrays in one call each, so the result
    does not depend on how the per-trajectory parts were computed in chunks.
    """
    pops = state.populations
    return {
        "population": pops.mean(axis=0),
        "adiabatic_population": parts["adiabatic_population"].mean(axis=0),
        "position": state.q.mean(axis=0),
        "momentum": state.p.mean(axis=0),
        "potential_energy": parts["potential_energy"].mean(),
        "total_energy": parts["total_energy"].mean(),
        "norm": pops.sum(axis=1).mean(),
    }
