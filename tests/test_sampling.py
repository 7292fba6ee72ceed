"""SPEC section 5: Wigner sampling of Gaussian wavepackets and thermal oscillators."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.units import KB


def test_wigner_moments_full_width_matrix():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    wp = es.Wavepacket([1.0, -2.0], [0.3, 0.0], a, state=[1, 1j])
    s = es.sample_wigner(wp, 200_000, seed=1)
    assert np.allclose(s.q.mean(0), wp.q0, atol=0.01)
    assert np.allclose(s.p.mean(0), wp.p0, atol=0.01)
    assert np.allclose(np.cov(s.q.T), np.linalg.inv(a) / 2, atol=0.01)
    assert np.allclose(np.cov(s.p.T), a / 2, atol=0.01)
    assert np.allclose(s.c, np.array([1, 1j]) / np.sqrt(2))


def test_wigner_seeded_and_independent_of_later_use():
    wp = es.Wavepacket([0.0], [0.0], [1.0], 0)
    a = es.sample_wigner(wp, 100, seed=5, n_states=2)
    b = es.sample_wigner(wp, 100, seed=5, n_states=2)
    assert np.array_equal(a.q, b.q) and np.array_equal(a.p, b.p)
    assert not np.array_equal(a.q, es.sample_wigner(wp, 100, seed=6, n_states=2).q)


def test_thermal_wigner_limits():
    mass, omega = 2000.0, 0.001
    cold = es.sample_thermal([0.0], mass, omega, 0.0, 200_000, seed=2, n_states=1)
    assert np.isclose(cold.q.var(), 1 / (2 * mass * omega), rtol=0.02)
    assert np.isclose(cold.p.var(), mass * omega / 2, rtol=0.02)
    hot_t = 100 * omega / KB
    hot = es.sample_thermal([0.0], mass, omega, hot_t, 200_000, seed=3, n_states=1)
    # classical limit: equipartition, <p^2/2m> = kT/2
    assert np.isclose(np.mean(hot.p[:, 0] ** 2) / (2 * mass), KB * hot_t / 2, rtol=0.02)


def test_wavepacket_amplitude_normalised():
    wp = es.Wavepacket([0.5], [1.0], [3.0], 0)
    x = np.linspace(-10, 10, 4001)[:, None]
    assert np.isclose(np.sum(abs(wp.amplitude(x)) ** 2) * (x[1, 0] - x[0, 0]), 1.0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(q0=[0.0], p0=[0.0, 1.0], width=[1.0]), "same length"),
    (dict(q0=[0.0], p0=[0.0], width=[-1.0]), "positive definite"),
    (dict(q0=[0.0, 0.0], p0=[0.0, 0.0], width=[[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (dict(q0=[np.nan], p0=[0.0], width=[1.0]), "finite"),
])
def test_bad_wavepackets(kwargs, match):
    with pytest.raises(es.InputError, match=match):
        es.Wavepacket(**kwargs)


def test_explicit_state_validated():
    with pytest.raises(es.InputError, match="norm 1"):
        es.State.from_arrays([[0.0]], [[0.0]], [[1.0, 1.0]])
    with pytest.raises(es.InputError, match="shape"):
        es.State.from_arrays([[0.0]], [[0.0, 1.0]], [[1.0, 0.0]])
