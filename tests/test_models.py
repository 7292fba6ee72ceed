"""Tests of the diabatic models: derivatives, symmetry, shapes, reference values.

Every model in REGISTRY is covered by the parametrised tests automatically;
a new model only needs a sensible sampling box in BOXES (otherwise one is
derived from its initial wavepacket).
"""

from __future__ import annotations

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.errors import ModelError
from ehrenspeed.models import REGISTRY, from_function, get, validate_model
from ehrenspeed.models.base import central_difference
from ehrenspeed.models.user import probe_point

ALL_MODELS = sorted(REGISTRY)

#: physically sensible sampling boxes (lower, upper) per coordinate
BOXES = {
    "pyrazine3": ([-3.0] * 3, [3.0] * 3),
    "pyrazine_sd": ([-3.0] * 3, [3.0] * 3),
    "pyrazine4": ([-3.0] * 4, [3.0] * 4),
    "pyrazine24": ([-3.0] * 24, [3.0] * 24),
    "tully_simple": ([-4.0], [4.0]),
    "tully_dual": ([-6.0], [6.0]),
    "tully_extended": ([-5.0], [5.0]),
    "linear_crossing": ([-5.0], [5.0]),
    "jahn_teller": ([-4.0, -4.0], [4.0, 4.0]),
    "chemisorption": ([-3.0], [43.0]),
    "chemisorption_reversing": ([-3.0], [43.0]),
    "furan_dimer": ([5.8], [14.5]),  # R in bohr: the repulsive wall to far outside
    "retinal": ([-0.5 * np.pi, -4.0], [1.5 * np.pi, 4.0]),
}

#: keep this far from points where the second derivative jumps (>> fd_step)
KINK_MARGIN = 1e-2


def _box(name, model):
    if name in BOXES:
        return np.array(BOXES[name][0]), np.array(BOXES[name][1])
    wp = model.initial_wavepacket() if hasattr(model, "initial_wavepacket") else None
    if wp is None:
        return -np.ones(model.n_dof), np.ones(model.n_dof)
    spread = 6.0 * np.sqrt(np.diag(wp.position_covariance()))
    return wp.q0 - spread, wp.q0 + spread


def _points(name, model, n=6, seed=0):
    """Random points in the model's box, moved off second-derivative jumps."""
    lower, upper = _box(name, model)
    q = np.random.default_rng(seed).uniform(lower, upper, size=(n, model.n_dof))
    for dof, where in getattr(model, "second_derivative_jumps", ()):
        near = np.abs(q[:, dof] - where) < KINK_MARGIN
        q[near, dof] = where + np.where(q[near, dof] >= where, KINK_MARGIN, -KINK_MARGIN)
    return q


def _assert_close_scaled(actual, expected, rtol):
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


@pytest.fixture(params=ALL_MODELS)
def named_model(request):
    return request.param, get(request.param)


# -- every registered model ---------------------------------------------------
def test_shapes_and_mass(named_model):
    name, model = named_model
    s, d = model.n_states, model.n_dof
    q = _points(name, model, n=5)
    assert model.potential(q).shape == (5, s, s)
    assert model.gradient(q).shape == (5, d, s, s)
    assert model.hessian(q).shape == (5, d, d, s, s)
    assert model.mass.shape == (d,) and np.all(model.mass > 0)
    validate_model(model, q)


def test_gradient_matches_finite_differences(named_model):
    name, model = named_model
    q = _points(name, model)
    fd = central_difference(model.potential, q, model.fd_step)
    _assert_close_scaled(model.gradient(q), fd, 1e-6)


def test_hessian_matches_finite_differences(named_model):
    name, model = named_model
    q = _points(name, model, seed=1)
    fd = np.swapaxes(central_difference(model.gradient, q, model.fd_step), 1, 2)
    _assert_close_scaled(model.hessian(q), fd, 1e-6)


def test_hermitian_and_symmetric(named_model):
    name, model = named_model
    q = _points(name, model, seed=2)
    for arr in (model.potential(q), model.gradient(q), model.hessian(q)):
        np.testing.assert_array_equal(arr, np.conj(np.swapaxes(arr, -1, -2)))
    h = model.hessian(q)
    np.testing.assert_array_equal(h, np.swapaxes(h, 1, 2))


def test_batch_equals_single_points(named_model):
    """A batch gives the same numbers as the points one by one."""
    name, model = named_model
    q = _points(name, model, n=4, seed=3)
    for method in (model.potential, model.gradient, model.hessian):
        whole = method(q)
        single = np.concatenate([method(q[i:i + 1]) for i in range(len(q))])
        np.testing.assert_allclose(whole, single, rtol=1e-14, atol=0)


def test_initial_wavepacket(named_model):
    name, model = named_model
    wp = model.initial_wavepacket()
    assert wp.n_dof == model.n_dof
    state = es.sample_wigner(wp, 3, seed=0, n_states=model.n_states)
    assert state.c.shape == (3, model.n_states)


def test_parameters_rebuild(named_model):
    name, model = named_model
    rebuilt = get(name, **model.parameters())
    q = _points(name, model, n=3)
    np.testing.assert_array_equal(rebuilt.potential(q), model.potential(q))


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if get(n).max_degree is not None
                                  and get(n).max_degree <= 2])
def test_quadratic_models_are_exactly_quadratic(name):
    """max_degree <= 2: the Taylor expansion of degree 2 is exact far away."""
    model = get(name)
    rng = np.random.default_rng(4)
    q = _points(name, model, n=4)
    lower, upper = _box(name, model)
    u = rng.normal(size=q.shape) * (upper - lower) / 4
    v, g, h = model.potential(q), model.gradient(q), model.hessian(q)
    taylor = v + np.einsum("na,nakl->nkl", u, g) + 0.5 * np.einsum("na,nb,nabkl->nkl", u, u, h)
    _assert_close_scaled(model.potential(q + u), taylor, 1e-10)
    third = (model.potential(q + 3 * u) - 3 * model.potential(q + 2 * u)
             + 3 * model.potential(q + u) - v)
    scale = np.abs(model.potential(q + 3 * u)).max()
    assert np.abs(third).max() <= 1e-10 * scale
    _assert_close_scaled(model.hessian(q + u), h, 1e-12)


# -- Tully --------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("tully_simple", (-0.008413, 0.008413)),
    ("tully_dual", (-0.028170, 0.006908)),
    ("tully_extended", (-0.037163, 0.037163)),
])
def test_tully_reference_adiabatic_energies(name, expected):
    energies = np.linalg.eigvalsh(get(name).potential([[-1.1]]))[0]
    np.testing.assert_allclose(energies, expected, atol=6e-7)


@pytest.mark.parametrize("name, element, jump", [
    ("tully_simple", (0, 0), lambda m: -2 * m.a * m.b**2),
    ("tully_extended", (0, 1), lambda m: -2 * m.b * m.c**2),
])
def test_tully_piecewise_models_are_c1_not_c2(name, element, jump):
    """V and dV/dx are continuous at x = 0; d2V/dx2 jumps by a known amount."""
    model = get(name)
    eps = 1e-12
    left, right = np.array([[-eps]]), np.array([[eps]])
    np.testing.assert_allclose(model.potential(left), model.potential(right), atol=1e-12)
    np.testing.assert_allclose(model.gradient(left), model.gradient(right), atol=1e-12)
    k, l = element
    step = model.hessian(right)[0, 0, 0, k, l] - model.hessian(left)[0, 0, 0, k, l]
    assert step == pytest.approx(jump(model), rel=1e-9)
    assert model.second_derivative_jumps == ((0, 0.0),)
    # x = 0 itself takes the x >= 0 branch
    np.testing.assert_allclose(model.hessian([[0.0]]), model.hessian(right), rtol=1e-10)


def test_tully_dual_is_smooth_at_zero():
    model = get("tully_dual")
    np.testing.assert_allclose(model.hessian([[-1e-12]]), model.hessian([[1e-12]]), atol=1e-12)
    assert model.second_derivative_jumps == ()


def test_tully_initial_wavepackets():
    wp = get("tully_simple").initial_wavepacket()
    assert wp.q0[0] == -10 and wp.p0[0] == 15 and wp.width[0, 0] == pytest.approx((15 / 20) ** 2)
    wp = get("tully_extended").initial_wavepacket()
    assert wp.q0[0] == -15 and wp.p0[0] == 10
    wp = get("tully_dual").initial_wavepacket(k0=30.0, x0=-8.0)
    assert wp.p0[0] == 30 and wp.width[0, 0] == pytest.approx((30 / 20) ** 2)


# -- crossings ----------------------------------------------------------------
def test_landau_zener_example():
    p = es.models.landau_zener_probability(0.01, -0.01, 0.005, 0.01)
    assert p == pytest.approx(0.4559, abs=1e-4)
    assert get("linear_crossing").landau_zener(0.01) == pytest.approx(p)
    assert es.models.landau_zener_probability(0.01, -0.01, 0.005, 0.0) == 0.0


def test_jahn_teller_trough_and_sign():
    model = get("jahn_teller")
    assert model.trough_radius == pytest.approx(3.0)
    angles = np.linspace(0, 2 * np.pi, 7)
    ring = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    e = np.linalg.eigvalsh(model.potential(ring))
    np.testing.assert_allclose(e[:, 0], -4.5)  # (1/2) r0^2 - k r0 on the whole trough
    # transporting the lower adiabatic vector continuously around the loop
    # brings it back with the opposite sign (geometric phase pi)
    _, vecs = np.linalg.eigh(model.potential(ring))
    lower = vecs[:, :, 0]
    v = lower[0].copy()
    for w in lower[1:]:
        v = w * np.sign(v @ w)
    assert v @ lower[0] == pytest.approx(-1.0)


# -- chemisorption ------------------------------------------------------------
def test_chemisorption_state_order_and_couplings():
    model = get("chemisorption")
    assert model.n_states == 45
    j_count = model.states_per_layer
    i = model.state_index(3, 2)
    assert i == 3 * j_count + 2
    assert model.centres[i] == pytest.approx(3 * 5.0 + 2 * 0.01)
    v = model.potential([[model.centres[i]]])[0]
    assert v[i, i] == pytest.approx(-3 * 0.002)
    assert v[model.state_index(3, 0), model.state_index(4, 4)] == 0.0008
    assert v[model.state_index(3, 0), model.state_index(3, 4)] == 0.0
    assert v[model.state_index(3, 0), model.state_index(5, 0)] == 0.0
    wp = model.initial_wavepacket()
    assert wp.q0[0] == 0 and wp.width[0, 0] == pytest.approx(1836.15 * 0.001)


def test_chemisorption_reversing_preset():
    model = es.models.Chemisorption.reversing()
    assert model.name == "chemisorption_reversing"
    e = model.layer_energies
    assert np.argmin(e) == 4 and np.all(np.diff(e[:5]) < 0) and np.all(np.diff(e[4:]) > 0)
    np.testing.assert_array_equal(e, get("chemisorption", preset="reversing").layer_energies)


# -- furan --------------------------------------------------------------------
def test_furan_units_and_initial_state():
    model = get("furan_dimer")
    mu = 68.07 / 2 * es.units.AMU
    assert model.mass[0] == pytest.approx(mu)
    r0 = 3.6 * es.units.ANGSTROM
    v = model.potential([[r0]])[0]
    assert v[0, 0] == pytest.approx(0.0, abs=1e-15)
    assert v[0, 1] == pytest.approx(0.30 * es.units.EV)
    far = model.potential([[r0 + 100.0]])[0]
    assert far[0, 0] == pytest.approx(0.25 * es.units.EV)
    t = 300.0
    p = es.models.collision_momentum(t, mu)
    assert p == pytest.approx(mu * np.sqrt(8 * es.units.KB * t / (np.pi * mu)))
    wp = model.initial_wavepacket(t)
    assert wp.p0[0] == pytest.approx(-p)
    assert wp.q0[0] == pytest.approx(r0 + 3.0 * es.units.ANGSTROM)
    assert wp.width[0, 0] == pytest.approx(mu * model.frequency)


# -- retinal ------------------------------------------------------------------
def test_retinal_wrap_and_periodicity():
    model = get("retinal")
    q = np.array([[5.0, 7.0], [-2.0, -1.0], [0.3, 0.0]])
    w = model.wrap(q)
    np.testing.assert_allclose(w[:, 0], [5.0 - 2 * np.pi, -2.0 + 2 * np.pi, 0.3])
    np.testing.assert_array_equal(w[:, 1], q[:, 1])
    assert np.all((w[:, 0] >= -0.5 * np.pi) & (w[:, 0] < 1.5 * np.pi))
    np.testing.assert_allclose(model.potential(w), model.potential(q), atol=1e-14)
    np.testing.assert_allclose(model.hessian(w), model.hessian(q), atol=1e-14)


def test_retinal_masses_coupling_switch_and_wavepacket():
    model = get("retinal")
    ev = es.units.EV
    np.testing.assert_allclose(model.mass, [1 / (4.84e-4 * ev), 1 / (0.19 * ev)])
    uncoupled = get("retinal", lam=0.0)
    q = _points("retinal", uncoupled, n=4)
    assert np.all(uncoupled.potential(q)[:, 0, 1] == 0)
    assert np.all(uncoupled.gradient(q)[:, :, 0, 1] == 0)
    wp = model.initial_wavepacket()
    assert wp.state == 1
    assert wp.width[0, 0] == pytest.approx(np.sqrt(1.8 / 4.84e-4))
    # the width is the harmonic ground state of V_00 near phi = 0
    curvature = model.hessian([[0.0, 0.0]])[0, 0, 0, 0, 0]
    assert wp.width[0, 0] == pytest.approx(np.sqrt(model.mass[0] * curvature))


# -- user functions -----------------------------------------------------------
def _jt_functions():
    ref = es.models.JahnTeller(mass=2.0, omega=0.5, k=1.5)
    return ref, ref.potential, ref.gradient, ref.hessian


def test_from_function_with_analytic_derivatives():
    ref, v, g, h = _jt_functions()
    model = from_function(v, 2, 2, ref.mass, gradient=g, hessian=h, name="jt_user")
    q = _points("jahn_teller", ref)
    for a, b in ((model.potential, ref.potential), (model.gradient, ref.gradient),
                 (model.hessian, ref.hessian)):
        np.testing.assert_array_equal(a(q), b(q))
    assert model.name == "jt_user" and not model.complex_valued
    assert "potential" in repr(model)


def test_from_function_finite_difference_derivatives():
    ref, v, _, _ = _jt_functions()
    model = from_function(v, 2, 2, ref.mass)
    q = _points("jahn_teller", ref)
    _assert_close_scaled(model.gradient(q), ref.gradient(q), 1e-8)
    _assert_close_scaled(model.hessian(q), ref.hessian(q), 1e-6)
    validate_model(model, q)


def test_from_function_unbatched_and_periodic():
    def one_point(x):  # (D,) -> (S, S), a cosine well with a constant coupling
        return np.array([[1 - np.cos(x[0]), 0.1], [0.1, 0.5 * x[1] ** 2]])

    model = from_function(one_point, 2, 2, [100.0, 1.0], periods=[(0.0, 2 * np.pi), None],
                          batched=False)
    np.testing.assert_allclose(probe_point(model), [[np.pi, 0.0]])
    q = np.array([[7.0, 0.3], [-1.0, 2.0]])
    np.testing.assert_allclose(model.wrap(q)[:, 0], [7.0 - 2 * np.pi, 2 * np.pi - 1.0])
    np.testing.assert_allclose(model.gradient(q)[:, 0, 0, 0], np.sin(q[:, 0]), rtol=1e-8)
    np.testing.assert_allclose(model.hessian(q)[:, 1, 1, 1, 1], 1.0, rtol=1e-6)
    alias = from_function(one_point, 2, 2, [100.0, 1.0], periodic=[(0.0, 2 * np.pi), None],
                          batched=False)
    np.testing.assert_array_equal(alias.periods, model.periods)


def _matrix_fn(make):
    def fn(q):
        return np.stack([make(x) for x in np.asarray(q)])
    return fn


@pytest.mark.parametrize("bad, message", [
    (_matrix_fn(lambda x: np.array([[0.0, 1.0], [0.0, 0.0]])), "not Hermitian"),
    (_matrix_fn(lambda x: np.array([[np.nan, 0.0], [0.0, 0.0]])), "NaN"),
    (_matrix_fn(lambda x: np.zeros((3, 3))), "shape"),
    (lambda q: np.zeros(2), "shape"),
    (lambda q: 1 / 0, "ZeroDivisionError"),
])
def test_from_function_rejects_bad_potentials(bad, message):
    with pytest.raises(ModelError, match=message):
        from_function(bad, 2, 1, 1.0)


def test_from_function_rejects_bad_unbatched_shape():
    with pytest.raises(ModelError, match="shape"):
        from_function(lambda x: np.zeros((2,)), 2, 1, 1.0, batched=False)


def test_hermiticity_tolerance_is_relative():
    big = 1e6
    tiny_asym = _matrix_fn(lambda x: np.array([[big, 1.0], [1.0 + 1e-6, 0.0]]))
    from_function(tiny_asym, 2, 1, 1.0)  # 1e-12 relative: accepted
    with pytest.raises(ModelError, match="not Hermitian"):
        from_function(_matrix_fn(lambda x: np.array([[1.0, 1.0], [1.0 + 1e-6, 0.0]])), 2, 1, 1.0)


def test_validate_model_checks_derivatives():
    ref, v, g, h = _jt_functions()
    wrong_grad = from_function(v, 2, 2, ref.mass, gradient=lambda q: g(q)[:, :1])
    with pytest.raises(ModelError, match="gradient returned shape"):
        validate_model(wrong_grad)
    validate_model(wrong_grad, derivatives=0)

    def lopsided(q):
        out = h(q)
        out[:, 0, 1] += 1.0
        return out

    with pytest.raises(ModelError, match="not symmetric"):
        validate_model(from_function(v, 2, 2, ref.mass, gradient=g, hessian=lopsided))

    def nan_grad(q):
        out = g(q)
        out[:] = np.nan
        return out

    with pytest.raises(ModelError, match="NaN"):
        validate_model(from_function(v, 2, 2, ref.mass, gradient=nan_grad), derivatives=1)


def test_complex_hermitian_user_potential():
    def v(q):
        x = q[:, 0]
        out = np.zeros((len(x), 2, 2), dtype=complex)
        out[:, 0, 0], out[:, 1, 1] = x, -x
        out[:, 0, 1], out[:, 1, 0] = 0.1j, -0.1j
        return out

    model = from_function(v, 2, 1, 1.0)
    assert model.complex_valued
    validate_model(model, [[0.3], [-0.2]])


def test_pyrazine3_raab_gamma_enters_as_gamma_q_squared():
    """Pyrazine3(gamma=...) puts gamma q10a^2 (no 1/2) on S1 and S2, as the pyr4+ operator does."""
    from ehrenspeed.errors import InputError
    from ehrenspeed.units import EV

    plain = es.models.Pyrazine3()
    raab = es.models.Pyrazine3(gamma=es.models.Pyrazine3.RAAB_GAMMA)
    assert es.models.Pyrazine3.RAAB_GAMMA == -0.01159
    q = np.array([[0.3, -0.2, 1.7]])
    shift = (raab.potential(q) - plain.potential(q))[0] / EV
    assert np.allclose(np.diag(shift), [0.0, -0.01159 * 1.7**2, -0.01159 * 1.7**2], atol=1e-12)
    assert np.allclose(shift - np.diag(np.diag(shift)), 0.0, atol=1e-15)
    assert np.allclose(raab.potential(q), es.models.Pyrazine3(gamma1=-0.01159, gamma2=-0.01159).potential(q))
    # the same coefficient as the shipped MCTDH operator's g10a_s1, g10a_s2 (entered as "g |2 q^2")
    assert es.models.Pyrazine4().parameters()["gamma1"] == es.models.Pyrazine3.RAAB_GAMMA
    assert es.models.Pyrazine3(**raab.parameters()).parameters() == raab.parameters()
    with pytest.raises(InputError, match="gamma"):
        es.models.Pyrazine3(gamma=-0.01, gamma1=-0.02)
