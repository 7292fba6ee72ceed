"""Automatic differentiation for user models (``es.models.from_jax``)."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import ehrenspeed as es  # noqa: E402
from ehrenspeed.models.base import central_difference  # noqa: E402


def retinal_jax(model):
    """The Hahn-Stock retinal matrix written in jax.numpy (same parameters)."""
    def v(q):
        phi, mode = q[0], q[1]
        torsion = 1.0 - jnp.cos(phi)
        harmonic = 0.5 * model.omega * mode**2
        v00 = 0.5 * model.w0 * torsion + harmonic
        v11 = model.e1 - 0.5 * model.w1 * torsion + harmonic + model.kappa * mode
        v01 = model.lam * mode
        return jnp.array([[v00, v01], [v01, v11]])
    return v


def anharmonic(q):
    """Two states, three coordinates, every derivative nonzero and no closed form used."""
    x, y, z = q[0], q[1], q[2]
    v00 = 0.02 * jnp.tanh(x) + 0.01 * y**2 * jnp.cos(z)
    v11 = -0.02 * jnp.tanh(x) + 0.005 * jnp.exp(-(y - z) ** 2)
    v01 = 0.003 * jnp.exp(-x**2) * jnp.sin(y + 2 * z)
    return jnp.array([[v00, v01], [v01, v11]])


def test_jax_matches_analytic_retinal():
    ref = es.models.Retinal()
    model = es.models.from_jax(retinal_jax(ref), 2, 2, ref.mass, periods=ref.periods, name="retinal_jax")
    q = np.random.default_rng(1).normal(size=(5, 2))
    assert np.allclose(model.potential(q), ref.potential(q), rtol=1e-13, atol=1e-15)
    assert np.allclose(model.gradient(q), ref.gradient(q), rtol=1e-12, atol=1e-15)
    assert np.allclose(model.hessian(q), ref.hessian(q), rtol=1e-12, atol=1e-15)


def test_jax_derivatives_against_finite_differences():
    model = es.models.from_jax(anharmonic, 2, 3, 2000.0)
    q = np.random.default_rng(2).normal(size=(4, 3))
    g, h = model.gradient(q), model.hessian(q)
    assert g.shape == (4, 3, 2, 2) and h.shape == (4, 3, 3, 2, 2)
    fd_g = central_difference(model.potential, q, 1e-5)
    fd_h = np.swapaxes(central_difference(model.gradient, q, 1e-5), 1, 2)
    assert np.abs(g - fd_g).max() < 1e-9
    assert np.abs(h - fd_h).max() < 1e-9
    assert np.allclose(h, np.swapaxes(h, 1, 2), atol=1e-15)


def test_jax_model_runs_speed():
    # one method, one batch shape: every new shape costs a jit compilation
    model = es.models.from_jax(anharmonic, 2, 3, 2000.0)
    wp = es.Wavepacket([-1.0, 0.0, 0.0], [10.0, 0.0, 0.0], [1.0, 1.0, 1.0], 0)
    res = es.run(model, wp, "speed", n_traj=4, dt=5.0, t_final=25.0, output_every=5, seed=1)
    assert np.isfinite(res.population.values).all()
    assert res.attrs["max_norm_error"] < 1e-12


def test_bad_jax_function_is_reported():
    with pytest.raises(es.ModelError):
        es.models.from_jax(lambda q: jnp.zeros((3, 3)), 2, 1, 1.0)
