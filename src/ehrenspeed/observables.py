"""Observables of a trajectory ensemble: pure functions of (state, V) -> values.

All reductions are plain means over the trajectory axis (docs/trajectories.md):

* diabatic populations  P_k = <|c_k|^2>,
* adiabatic populations <|a_k|^2>, a = U^H c with V(q_j) = U diag(E) U^H
  (eigenvalues ascending),
* <q>, <p>, <V> = <c^H V c>, <T + V>,
* the electronic norm <|c|^2>.

Per-trajectory energies E_j = p^T M^-1 p / 2 + c^H V c are kept too, so
the driver can track each trajectory's drift.

Two implementations give the same numbers to round-off
(tests/test_observables_fast.py): :func:`per_trajectory_reference`, a
batched general ``eigh``, and the fast path :func:`per_trajectory` that a
run records with. For two states the adiabatic populations are closed-form
(:func:`two_state_adiabatic_populations`); for more states with real V a
compiled loop (numba, :mod:`._compiled_observables`) diagonalises each
trajectory's V in place. Recording was otherwise slower than propagating
(issue 18; ``benchmarks/observables.py`` measures the ratio).
"""

from __future__ import annotations

import numpy as np

from .backend import compiled
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


def per_trajectory_reference(state: State, v: np.ndarray, inv_mass: np.ndarray) -> dict[str, np.ndarray]:
    """The reference per-trajectory observables: general batched ``eigh``.

    Same parameters and returns as :func:`per_trajectory` without the
    ``population`` and ``norm`` entries. Kept as the definition the fast
    path is tested against.
    """
    _, u = np.linalg.eigh(v)
    a = np.einsum("nlk,nl->nk", np.conj(u), state.c)
    e_el = electronic_energy(state.c, v)
    return {"adiabatic_population": a.real**2 + a.imag**2, "potential_energy": e_el,
            "total_energy": kinetic_energy(state.p, inv_mass) + e_el}


def two_state_adiabatic_populations(c: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adiabatic populations and c^H V c of two-state trajectories, closed form.

    With V = m + [[h, b], [b*, -h]] (m the mean of the diagonal, r = sqrt(h^2
    + |b|^2) half the gap), the projectors on the upper and lower adiabatic
    states are Pi_+- = (1 +- (V - m) / r) / 2, so

        |a_+-|^2 = c^H Pi_+- c = (|c|^2 +- c^H (V - m) c / r) / 2,

    with c^H (V - m) c = h (|c_1|^2 - |c_2|^2) + 2 Re(b c_1* c_2). At an
    exact degeneracy (r = 0) the adiabatic states are undefined; the diabatic
    ones are taken, in the order LAPACK's ``eigh`` returns for a multiple of
    the identity.

    Parameters
    ----------
    c : ndarray, shape (N, 2), complex
    v : ndarray, shape (N, 2, 2), real symmetric or complex Hermitian

    Returns
    -------
    adiabatic : ndarray, shape (N, 2)
        Lower state first (ascending energies, as ``eigh``).
    electronic_energy : ndarray, shape (N,)
        c^H V c in V's units.
    """
    c1, c2 = c[:, 0], c[:, 1]
    w1 = c1.real**2 + c1.imag**2
    w2 = c2.real**2 + c2.imag**2
    a, d, b = v[:, 0, 0].real, v[:, 1, 1].real, v[:, 0, 1]
    h = 0.5 * (a - d)
    coherence = c1.real * c2.real + c1.imag * c2.imag                 # Re(c1* c2)
    if np.iscomplexobj(b):
        # Re(b c1* c2) = Re b Re(c1* c2) - Im b Im(c1* c2)
        coherence = b.real * coherence - b.imag * (c1.real * c2.imag - c1.imag * c2.real)
        r = np.hypot(h, np.abs(b))
    else:
        coherence = b * coherence
        r = np.hypot(h, b)
    shifted = h * (w1 - w2) + 2.0 * coherence                          # c^H (V - m) c
    degenerate = r == 0.0
    split = np.where(degenerate, w2 - w1, shifted / np.where(degenerate, 1.0, r))
    norm = w1 + w2
    adiabatic = np.empty((c.shape[0], 2))
    adiabatic[:, 0] = 0.5 * (norm - split)
    adiabatic[:, 1] = 0.5 * (norm + split)
    return adiabatic, 0.5 * (a + d) * norm + shifted


def per_trajectory(state: State, v: np.ndarray, inv_mass: np.ndarray,
                   backend: str | None = None) -> dict[str, np.ndarray]:
    """Per-trajectory quantities whose ensemble means are the observables.

    Parameters
    ----------
    state : State
        n trajectories.
    v : ndarray, shape (n, S, S)
        Diabatic matrices at the trajectories' positions.
    inv_mass : ndarray, shape (D,)
    backend : str, optional
        ``"numpy"`` keeps to NumPy; otherwise the compiled loop is used for
        real V when numba is installed (see :mod:`.backend`).

    Returns
    -------
    dict
        ``adiabatic_population`` (n, S), ``potential_energy`` (n,),
        ``total_energy`` (n,), diabatic ``population`` (n, S) and ``norm``
        (n,) (the last two follow from the state alone, computed once here).
    """
    c = state.c
    s = c.shape[1]
    if compiled(backend) and not np.iscomplexobj(v):
        from ._compiled_observables import per_trajectory_real

        out = allocate_parts(state.n_traj, s)
        per_trajectory_real(v, c, state.p, inv_mass, out)
        return out
    population = c.real**2 + c.imag**2
    if s == 2:
        adiabatic, e_el = two_state_adiabatic_populations(c, v)
        parts = {"adiabatic_population": adiabatic, "potential_energy": e_el,
                 "total_energy": _kinetic(state.p, inv_mass) + e_el}
    else:
        parts = per_trajectory_reference(state, v, inv_mass)
    parts["population"] = population
    parts["norm"] = population.sum(axis=1)
    return parts


def _kinetic(p: np.ndarray, inv_mass: np.ndarray) -> np.ndarray:
    """p^T M^-1 p / 2 per trajectory, as :func:`kinetic_energy` without einsum's set-up cost."""
    if p.shape[1] == 1:
        return (0.5 * inv_mass[0]) * p[:, 0] ** 2
    return (p * p) @ (0.5 * inv_mass)


def allocate_parts(n: int, s: int) -> dict[str, np.ndarray]:
    """Empty per-trajectory arrays, as :func:`per_trajectory` returns them, for n trajectories and s states."""
    return {"adiabatic_population": np.empty((n, s)), "potential_energy": np.empty(n),
            "total_energy": np.empty(n), "population": np.empty((n, s)), "norm": np.empty(n)}


def column_means(a: np.ndarray) -> np.ndarray:
    """Mean over the first (trajectory) axis of an (N, K) array, shape (K,).

    NumPy reduces a C-ordered (N, K) array along axis 0 with an inner loop
    of only K elements (~1.5 ms for N = 10^4, K = 2 here); each column
    reduced on its own is one strided, pairwise-summed pass (the numbers of
    ``a[:, k].mean()``, at a fraction of the cost: see :func:`mean`).
    """
    return np.array([np.add.reduce(a[:, k]) for k in range(a.shape[1])]) / a.shape[0]


def mean(a: np.ndarray) -> float:
    """``a.mean()`` of a 1-D float array: the same pairwise sum and division,
    without ``ndarray.mean``'s Python-level set-up (~5 us a call, several
    per record)."""
    return np.add.reduce(a) / a.shape[0]


def ensemble_means(state: State, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Means over the trajectory axis of every observable (docs/trajectories.md).

    The reduction runs over the full arrays in one call each, so the result
    does not depend on how the per-trajectory parts were computed in chunks.
    The diabatic populations and norms are taken from ``parts`` when there.
    """
    pops = parts["population"] if "population" in parts else state.populations
    norm = parts["norm"] if "norm" in parts else pops.sum(axis=1)
    return {
        "population": column_means(pops),
        "adiabatic_population": column_means(parts["adiabatic_population"]),
        "position": column_means(state.q),
        "momentum": column_means(state.p),
        "potential_energy": mean(parts["potential_energy"]),
        "total_energy": mean(parts["total_energy"]),
        "norm": mean(norm),
    }
