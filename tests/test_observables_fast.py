"""The fast per-trajectory observables equal the reference (batched eigh) to round-off.

Random states and random Hermitian V, two and more states, real and complex
V, NumPy and compiled paths; plus the degenerate and diagonal corner cases
of the two-state closed form and an end-to-end run that records with both.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.backend import HAVE_NUMBA, use_backend
from ehrenspeed.observables import (
    column_means,
    ensemble_means,
    per_trajectory,
    per_trajectory_reference,
    two_state_adiabatic_populations,
)
from ehrenspeed.sampling import State

BACKENDS = ["numpy"] + (["numba"] if HAVE_NUMBA else [])


def _random(rng, n, s, d, complex_v):
    v = rng.normal(scale=0.05, size=(n, s, s))
    if complex_v:
        v = v + 1j * rng.normal(scale=0.05, size=(n, s, s))
    v = v + np.conj(v.transpose(0, 2, 1))
    c = rng.normal(size=(n, s)) + 1j * rng.normal(size=(n, s))
    c /= np.linalg.norm(c, axis=1)[:, None]
    state = State(rng.normal(size=(n, d)), rng.normal(size=(n, d)), c)
    return state, v, 1.0 / rng.uniform(1.0, 2000.0, size=d)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_v", [False, True])
@pytest.mark.parametrize("n_states, n_dof", [(2, 1), (2, 3), (3, 3), (5, 2)])
def test_fast_observables_match_reference(backend, complex_v, n_states, n_dof):
    rng = np.random.default_rng(10 * n_states + n_dof + complex_v)
    state, v, inv_mass = _random(rng, 500, n_states, n_dof, complex_v)
    reference = per_trajectory_reference(state, v, inv_mass)
    with use_backend(backend):
        fast = per_trajectory(state, v, inv_mass)
    for key, value in reference.items():
        assert fast[key].shape == value.shape
        assert np.max(np.abs(fast[key] - value)) < 1e-12, key
    assert np.allclose(fast["population"], state.populations, rtol=0, atol=1e-15)
    assert np.allclose(fast["norm"], 1.0, rtol=0, atol=1e-14)
    # the adiabatic populations are a rotation of the diabatic ones: same norm
    assert np.allclose(fast["adiabatic_population"].sum(axis=1), 1.0, rtol=0, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_state_closed_form_corner_cases(backend):
    """Diagonal V either way round, and an exact degeneracy (eigh's choice: the diabatic states)."""
    c = np.array([[0.6, 0.8j], [0.6, 0.8j], [0.6, 0.8j]])
    v = np.array([[[0.3, 0.0], [0.0, -0.1]],     # state 1 upper
                  [[-0.1, 0.0], [0.0, 0.3]],     # state 1 lower
                  [[0.2, 0.0], [0.0, 0.2]]])     # degenerate
    state = State(np.zeros((3, 1)), np.zeros((3, 1)), c)
    reference = per_trajectory_reference(state, v, np.ones(1))
    with use_backend(backend):
        fast = per_trajectory(state, v, np.ones(1))
    expected = np.array([[0.64, 0.36], [0.36, 0.64], [0.36, 0.64]])
    assert np.allclose(reference["adiabatic_population"], expected, atol=1e-15)
    assert np.allclose(fast["adiabatic_population"], expected, atol=1e-15)
    adiabatic, _ = two_state_adiabatic_populations(c, v.astype(complex))
    assert np.allclose(adiabatic, expected, atol=1e-15)


def test_column_means_and_ensemble_means_match_plain_numpy():
    rng = np.random.default_rng(2)
    state, v, inv_mass = _random(rng, 301, 3, 2, False)
    parts = per_trajectory(state, v, inv_mass)
    means = ensemble_means(state, parts)
    assert np.allclose(column_means(state.q), state.q.mean(axis=0), rtol=0, atol=1e-15)
    assert np.allclose(means["population"], state.populations.mean(axis=0), rtol=0, atol=1e-15)
    assert np.allclose(means["norm"], 1.0, rtol=0, atol=1e-14)
    reduced = {k: v for k, v in parts.items() if k not in ("population", "norm")}
    for key, value in ensemble_means(state, reduced).items():   # without the precomputed parts
        assert np.allclose(value, means[key], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["tully_simple", "pyrazine3"])
def test_recorded_run_matches_reference_observables(name, monkeypatch):
    """A run's recorded observables are those of the reference implementation."""
    from ehrenspeed.dynamics import base

    model = es.models.get(name)
    kw = {"n_traj": 64, "dt": 2.0, "t_final": 20.0, "output_every": 5, "seed": 3, "backend": "numpy"}
    fast = es.run(model, model.initial_wavepacket(), "ehrenfest", **kw)

    def reference(state, v, inv_mass, backend=None):
        parts = per_trajectory_reference(state, v, inv_mass)
        parts["population"] = state.populations
        parts["norm"] = parts["population"].sum(axis=1)
        return parts

    monkeypatch.setattr(base, "per_trajectory", reference)
    slow = es.run(model, model.initial_wavepacket(), "ehrenfest", **kw)
    for key in ("population", "adiabatic_population", "position", "momentum", "potential_energy",
                "total_energy", "norm"):
        assert np.max(np.abs(fast[key].values - slow[key].values)) < 1e-13, key
