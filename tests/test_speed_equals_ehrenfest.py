"""SPEC 8.1 / SPEC 3: SPEED equals Ehrenfest to round-off on at-most-quadratic models."""

import numpy as np
import pytest

import ehrenspeed as es
from conftest import random_quadratic_model

POLICIES = [
    es.SPEED(),
    es.SPEED(hessian_every=3),
    es.SPEED(reference_hessian=True),
    es.SPEED(adaptive_tol=1e-6),
]

MODELS = [
    ("pyrazine3", lambda: es.models.Pyrazine3()),
    ("pyrazine_sd", lambda: es.models.PyrazineSchneiderDomcke()),
    ("pyrazine4", lambda: es.models.Pyrazine4()),
    ("pyrazine24", lambda: es.models.Pyrazine24()),
    ("random_quadratic", random_quadratic_model),
]


def _final(res):
    last = res.isel(time=-1)
    c = last.trajectory_coefficients_real.values + 1j * last.trajectory_coefficients_imag.values
    return last.trajectory_position.values, last.trajectory_momentum.values, c


@pytest.mark.parametrize("policy", POLICIES, ids=lambda m: m.policy)
@pytest.mark.parametrize("name,make", MODELS, ids=[m[0] for m in MODELS])
def test_speed_equals_ehrenfest(name, make, policy):
    model = make()
    wp = es.Wavepacket(np.full(model.n_dof, 0.3), np.full(model.n_dof, -0.2), np.ones(model.n_dof),
                       state=model.n_states - 1)
    kw = dict(n_traj=64, dt=4.0, t_final=400.0, output_every=25, seed=3, save_trajectories=True)
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, policy, **kw)
    for a, b in zip(_final(ehr), _final(spd)):
        assert np.max(np.abs(a - b)) < 1e-10
    # the population has moved, so the agreement is not trivial
    assert np.ptp(ehr.population.values[:, -1]) > 1e-3


def test_speed_differs_on_anharmonic_model():
    """The equality above is a property of quadratic models, not of the code."""
    def v(q):
        x = q[:, 0]
        out = np.zeros((len(x), 2, 2))
        out[:, 0, 0] = 0.01 * (1 - np.exp(-x)) ** 2
        out[:, 1, 1] = 0.01 * (1 - np.exp(x)) ** 2 + 0.005
        out[:, 0, 1] = out[:, 1, 0] = 0.002 * np.exp(-x**2)
        return out
    model = es.models.from_function(v, 2, 1, 2000.0)
    wp = es.Wavepacket([-0.5], [5.0], [4.0], 0)
    kw = dict(n_traj=32, dt=2.0, t_final=400.0, output_every=50, seed=2)
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, "speed", **kw)
    assert np.max(np.abs(ehr.position.values - spd.position.values)) > 1e-3


def test_speed_single_trajectory_force_at_t0_equals_ehrenfest():
    """With N = 1 the Taylor surface touches V at q: same V and force at t = 0."""
    model = es.models.Pyrazine3()
    q = np.array([[0.4, -0.3, 0.7]])
    src = es.SPEED().make_source(model)
    v, dv = src.matrices(src.evaluate(q), q)
    assert np.allclose(v, model.potential(q), atol=1e-14)
    assert np.allclose(dv, model.gradient(q), atol=1e-14)
