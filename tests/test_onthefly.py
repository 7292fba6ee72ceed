"""On-the-fly (expensive) potentials: finite differences, parallel maps, Hessian policies.

Covers :mod:`ehrenspeed.models.expensive`, the SPEED Hessian policies of
:mod:`ehrenspeed.potentials` and :mod:`ehrenspeed.molecular`. Nothing here
needs PySCF or JAX.
"""

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.errors import InputError
from ehrenspeed.models.expensive import (EXPENSIVE_FD_STEP, EXPENSIVE_HESSIAN_STEP,
                                         from_single_point)
from ehrenspeed.molecular import cartesian_masses, normal_modes, sample_normal_modes
from ehrenspeed.units import AMU


class SinglePoint:
    """One geometry of a built-in model, as an 'electronic-structure' call (picklable)."""

    def __init__(self, model, with_gradient=False):
        self.model, self.with_gradient = model, with_gradient

    def __call__(self, q):
        v = self.model.potential(q[None])[0]
        if self.with_gradient:
            return v, self.model.gradient(q[None])[0]
        return v


class GradientPoint(SinglePoint):
    def __call__(self, q):
        return self.model.gradient(q[None])[0]


def wrap(model, **kw):
    kw.setdefault("executor", "serial")
    return from_single_point(SinglePoint(model), model.n_states, model.n_dof, model.mass,
                             periods=model.periods, **kw)


MODELS = [es.models.Retinal(), es.models.Pyrazine3(), es.models.TullySimple()]


def positions(model, n=3, seed=0):
    q = np.random.default_rng(seed).normal(scale=0.5, size=(n, model.n_dof))
    return model.wrap(q)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_finite_difference_derivatives_match_analytic(model):
    fd = wrap(model)
    q = positions(model)
    g, h = model.gradient(q), model.hessian(q)
    # errors ~ h^2 |V'''| / 6 and ~ (2h)^2 |V''''| / 12 for the default steps
    assert np.abs(fd.gradient(q) - g).max() <= 1e-6 * max(1.0, np.abs(g).max())
    assert np.abs(fd.hessian(q) - h).max() <= 1e-4 * max(1.0, np.abs(h).max())
    assert np.allclose(fd.potential(q), model.potential(q), rtol=1e-13, atol=1e-15)


def test_step_sizes_documented_and_second_order():
    model = es.models.Retinal()
    q = positions(model, n=2, seed=4)
    assert EXPENSIVE_FD_STEP == 1e-3 and EXPENSIVE_HESSIAN_STEP == 5e-3
    errors = []
    for step in (0.04, 0.02):
        fd = wrap(model, fd_step=step, hessian_step=step)
        errors.append((np.abs(fd.gradient(q) - model.gradient(q)).max(),
                       np.abs(fd.hessian(q) - model.hessian(q)).max()))
    (g1, h1), (g2, h2) = errors
    assert 3.5 < g1 / g2 < 4.5 and 3.5 < h1 / h2 < 4.5   # halving h divides errors by 4


def test_call_counts_and_within_call_caching():
    model = es.models.Pyrazine3()
    n, d = 2, model.n_dof
    fd = wrap(model, check=False)
    q = positions(model, n)
    fd.potential(q)
    assert fd.calls.total == n
    fd.gradient(q)
    assert fd.calls.total == n + 2 * d * n
    fd.hessian(q)
    # distinct geometries of the differences of differences: 2 D^2 + 1, not 4 D^2
    assert fd.calls.total == n + 2 * d * n + (2 * d * d + 1) * n
    # a function returning V and dV/dq: one call per geometry for both
    both = from_single_point(SinglePoint(model, True), 3, d, model.mass, gradient=True,
                             executor="serial", check=False)
    v, g = both.potential_and_gradient(q)
    assert both.calls.total == n
    assert np.allclose(g, model.gradient(q), rtol=1e-13, atol=1e-15)
    assert np.allclose(v, model.potential(q), rtol=1e-13, atol=1e-15)
    both.hessian(q)   # differences of the given gradients: 2 D gradient calls per geometry
    assert both.calls.total == n + 2 * d * n
    assert np.abs(both.hessian(q) - model.hessian(q)).max() < 1e-8


def test_separate_gradient_function():
    model = es.models.Retinal()
    fd = from_single_point(SinglePoint(model), 2, 2, model.mass, gradient=GradientPoint(model),
                           executor="serial")
    q = positions(model)
    assert np.allclose(fd.gradient(q), model.gradient(q), rtol=1e-13, atol=1e-15)
    assert np.abs(fd.hessian(q) - model.hessian(q)).max() < 1e-5
    assert fd.calls.gradient == 3 + 2 * 2 * 3


def test_parallel_equals_serial_bit_for_bit():
    model = es.models.Retinal()
    q = positions(model, n=4)
    serial = wrap(model)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = wrap(model, executor=pool, chunksize=3)
        for name in ("potential", "gradient", "hessian"):
            assert np.array_equal(getattr(serial, name)(q), getattr(parallel, name)(q)), name
    # the default executor is a process pool created on first use
    default = from_single_point(SinglePoint(model), 2, 2, model.mass, max_workers=2)
    try:
        assert np.array_equal(default.hessian(q[:1]), serial.hessian(q[:1]))
        assert isinstance(default.executor, ProcessPoolExecutor)
    finally:
        default.close()


def test_speed_run_through_parallel_executor_identical():
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    kw = dict(n_traj=8, dt=20.0, t_final=100.0, output_every=5, seed=2, validate=False)
    serial = es.run(wrap(model), wp, es.SPEED(hessian_every=2), **kw)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = es.run(wrap(model, executor=pool), wp, es.SPEED(hessian_every=2), **kw)
    assert np.array_equal(serial.population.values, parallel.population.values)
    assert np.array_equal(serial.position.values, parallel.position.values)
    assert serial.attrs["electronic_structure_calls"] == parallel.attrs["electronic_structure_calls"]


def test_ehrenfest_and_speed_call_counts_in_result():
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    n, d, steps = 4, 2, 5
    kw = dict(n_traj=n, dt=20.0, t_final=steps * 20.0, output_every=steps, seed=2, validate=False)
    ehr = es.run(wrap(model), wp, "ehrenfest", **kw)
    # per step N (V) + 2 D N (gradient); two records of N potentials
    assert ehr.attrs["electronic_structure_calls"] == steps * n * (1 + 2 * d) + 2 * n
    ref = es.run(model, wp, "ehrenfest", **kw)
    assert np.abs(ehr.population - ref.population).max() < 1e-7
    speed = es.run(wrap(model), wp, es.SPEED(reference_hessian=True), **kw)
    # per step (and per record) 1 + 2 D; one Hessian of 2 D^2 + 1
    assert speed.attrs["electronic_structure_calls"] == (steps + 2) * (1 + 2 * d) + 2 * d * d + 1
    assert speed.attrs["hessian_evaluations_speed"] == 1


def test_input_errors():
    model = es.models.Retinal()
    with pytest.raises(InputError):
        wrap(model, fd_step=0.0)
    with pytest.raises(InputError):
        from_single_point(SinglePoint(model), 2, 2, model.mass, gradient="yes")
    with pytest.raises(InputError):
        from_single_point(SinglePoint(model), 2, 2, model.mass, executor="threads")


# -- Hessian policies ------------------------------------------------------------
def test_adaptive_never_refreshes_on_quadratic_model():
    model = es.models.Pyrazine3()
    wp = model.initial_wavepacket()
    res = es.run(model, wp, es.SPEED(adaptive_tol=1e-9), n_traj=16, dt=4.0, t_final=200.0,
                 output_every=10, seed=1)
    assert res.attrs["hessian_evaluations_speed"] == 1
    assert res.attrs["max_gradient_prediction_error"] < 1e-12
    exact = es.run(model, wp, "speed", n_traj=16, dt=4.0, t_final=200.0, output_every=10, seed=1)
    assert np.abs(res.population - exact.population).max() < 1e-12


def test_adaptive_refreshes_on_retinal_and_beats_reference():
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    kw = dict(n_traj=16, dt=20.0, t_final=4000.0, output_every=10, seed=3)
    every = es.run(model, wp, es.SPEED(), **kw)
    reference = es.run(model, wp, es.SPEED(reference_hessian=True), **kw)
    adaptive = es.run(model, wp, es.SPEED(adaptive_tol=1e-4), **kw)
    n_h = adaptive.attrs["hessian_evaluations_speed"]
    assert 1 < n_h < every.attrs["hessian_evaluations_speed"] / 10
    assert reference.attrs["hessian_evaluations_speed"] == 1
    err_ref = float(np.abs(reference.population - every.population).max())
    err_ada = float(np.abs(adaptive.population - every.population).max())
    assert err_ada < 0.2 * err_ref
    assert 0 < adaptive.attrs["max_gradient_prediction_error"]


def test_hessian_every_k_counts():
    model = es.models.Retinal()
    res = es.run(model, model.initial_wavepacket(), es.SPEED(hessian_every=5), n_traj=4,
                 dt=20.0, t_final=400.0, output_every=20, seed=1)
    # 20 steps: steps 0, 5, 10, 15, plus the Hessian built for the t = 0 record
    assert res.attrs["hessian_evaluations_speed"] == 5


# -- molecular initial conditions ------------------------------------------------
def spring_hessian(xyz, pairs, k):
    """Cartesian Hessian of harmonic springs at their rest lengths (hartree/bohr^2)."""
    n = len(xyz)
    h = np.zeros((3 * n, 3 * n))
    for i, j in pairs:
        u = xyz[i] - xyz[j]
        block = k * np.outer(u, u) / (u @ u)
        for a, b, sign in ((i, i, 1), (j, j, 1), (i, j, -1), (j, i, -1)):
            h[3 * a:3 * a + 3, 3 * b:3 * b + 3] += sign * block
    return h


def test_cartesian_masses_in_electron_masses():
    m = cartesian_masses(["H", "c", 16.0])
    assert m.shape == (9,)
    assert m[0] == m[2] == pytest.approx(1.00782503 * AMU)
    assert m[3] == pytest.approx(12.0 * AMU) and m[8] == pytest.approx(16.0 * AMU)
    with pytest.raises(InputError):
        cartesian_masses(["Xx"])


def test_normal_modes_diatomic_and_triatomic():
    k = 0.37
    xyz = np.array([[0.0, 0.0, 0.0], [0.3, 0.2, 1.4]])
    mass = cartesian_masses(["H", "H"])
    w2, modes = normal_modes(spring_hessian(xyz, [(0, 1)], k), mass, xyz.ravel())
    assert w2.shape == (1,)                       # 6 - 5 for a linear molecule
    mu = mass[0] / 2
    assert np.sqrt(w2[0]) == pytest.approx(np.sqrt(k / mu), rel=1e-12)
    tri = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0], [0.4, 1.5, 0.3]])
    mass3 = cartesian_masses(["O", "H", "H"])
    w2, modes = normal_modes(spring_hessian(tri, [(0, 1), (0, 2), (1, 2)], k), mass3, tri.ravel())
    assert w2.shape == (3,) and np.all(w2 > 1e-8)
    assert np.allclose(modes.T @ modes, np.eye(3), atol=1e-12)


def test_wigner_sampling_variances_and_no_rigid_motion():
    tri = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0], [0.4, 1.5, 0.3]])
    mass = cartesian_masses(["O", "H", "H"])
    hess = spring_hessian(tri, [(0, 1), (0, 2), (1, 2)], 0.4)
    w2, modes = normal_modes(hess, mass, tri.ravel())
    omega = np.sqrt(w2)
    for temperature in (0.0, 3000.0):
        st = sample_normal_modes(tri.ravel(), hess, mass, 20000, seed=5, temperature=temperature,
                                 n_states=2)
        big_q = ((st.q - tri.ravel()) * np.sqrt(mass)) @ modes
        big_p = (st.p / np.sqrt(mass)) @ modes
        coth = 1.0 if temperature == 0 else 1.0 / np.tanh(omega / (2 * 3.166811563e-6 * temperature))
        assert np.allclose(big_q.var(0), coth / (2 * omega), rtol=0.05)
        assert np.allclose(big_p.var(0), omega * coth / 2, rtol=0.05)
        # total momentum and angular momentum (about the centre of mass at q0) vanish
        p = st.p.reshape(-1, 3, 3)
        assert np.abs(p.sum(1)).max() < 1e-10
        m_atom = mass[::3]
        r = tri - (m_atom[:, None] * tri).sum(0) / m_atom.sum()
        assert np.abs(np.cross(r[None], p).sum(1)).max() < 1e-10
    again = sample_normal_modes(tri.ravel(), hess, mass, 10, seed=5, n_states=2)
    assert np.array_equal(again.q, sample_normal_modes(tri.ravel(), hess, mass, 10, seed=5,
                                                       n_states=2).q)


def test_imaginary_mode_needs_min_frequency():
    xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.4]])
    mass = cartesian_masses(["H", "H"])
    with pytest.raises(InputError):
        sample_normal_modes(xyz.ravel(), spring_hessian(xyz, [(0, 1)], -0.3), mass, 4, n_states=1)
    st = sample_normal_modes(xyz.ravel(), spring_hessian(xyz, [(0, 1)], -0.3), mass, 4,
                             n_states=1, min_frequency=1e-3)
    assert np.array_equal(st.q, np.tile(xyz.ravel(), (4, 1)))
