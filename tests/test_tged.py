"""Thawed Gaussian Ehrenfest dynamics: exact limits, conservation, convergence order, input errors."""

import numpy as np
import pytest
from scipy.linalg import expm

import ehrenspeed as es
from ehrenspeed.dynamics.gaussian_potentials import gauss_hermite_rule
from ehrenspeed.dynamics.tged import GaussianState, kinetic_step
from ehrenspeed.errors import InputError
from ehrenspeed.results import STANDARD_VARIABLES


def harmonic_reference(model, wp, times):
    """Analytic solution on DisplacedOscillators (V = v(x) 1 + E, v separable harmonic).

    Per coordinate (our derivation, Hagedorn-like pair): Z(t) = cos wt + 2 A0 sin(wt) / (m w),
    P(t) = 2 A0 cos wt - m w sin wt and A(t) = P / (2 Z) solve dA/dt = -2 A^2 / m - m w^2 / 2;
    the centre follows the classical path; c(t) = exp(-i E t) c(0) up to a phase.
    Returns populations (T, S), <V> (T,), q (T, D), W = -2 i A diagonal (T, D).
    """
    m, w, k = model.mass, model.omega, model.force_constants
    q0, p0 = wp.q0, wp.p0
    a0 = 0.5j * np.diag(wp.width)
    c0 = np.zeros(model.n_states, complex)
    c0[wp.state] = 1.0
    t = np.asarray(times)[:, None]
    q = q0 * np.cos(w * t) + p0 / (m * w) * np.sin(w * t)
    z = np.cos(w * t) + 2 * a0 * np.sin(w * t) / (m * w)
    p_z = 2 * a0 * np.cos(w * t) - m * w * np.sin(w * t)
    a = p_z / (2 * z)
    sigma = 1.0 / (4 * a.imag)
    e_const = float(np.real(np.conj(c0) @ model.constant @ c0))  # conserved by the rotation
    potential = 0.5 * np.sum(k * (q ** 2 + sigma), axis=1) + e_const
    pops = np.array([np.abs(expm(-1j * model.constant * ti) @ c0) ** 2 for ti in times])
    return pops, potential, q, -2j * a


def tged(model, wp, **kwargs):
    kwargs.setdefault("method", "tged")
    return es.run(model, wp, **kwargs)


def errors_against_reference(model, wp, dt, integrator, t_final=6.0):
    res = tged(model, wp, dt=dt, t_final=t_final, output_every=int(round(1.0 / dt)), integrator=integrator)
    pops, pot, q, width = harmonic_reference(model, wp, res.time.values)
    diag = np.einsum("tjj->tj", res.width_real.values) + 1j * np.einsum("tjj->tj", res.width_imag.values)
    return {"population": np.abs(res.population.values - pops).max(),
            "potential": np.abs(res.potential_energy.values - pot).max(),
            "position": np.abs(res.position.values - q).max(),
            "width": np.abs(diag - width).max()}


@pytest.fixture(scope="module")
def displaced():
    model = es.models.DisplacedOscillators(n_states=2, coupling=0.04)
    return model, model.initial_wavepacket()


# -- (a) exactness for vertically displaced harmonic diabats with constant coupling ----------
def test_exact_on_displaced_oscillators_against_grid(displaced):
    model, wp = displaced
    grid = es.Grid(lower=[-6.5, -6.5], upper=[6.5, 6.5], points=[40, 40])
    exact = es.run_exact(model, wp, grid, dt=0.02, t_final=10.0, output_every=50, integrator="yoshida4")
    res = tged(model, wp, dt=0.02, t_final=10.0, output_every=50, integrator="yoshida4")
    assert np.abs(res.population.values - exact.population.values).max() < 1e-8
    assert np.abs(res.potential_energy.values - exact.potential_energy.values).max() < 1e-6
    assert np.abs(res.position.values - exact.position.values).max() < 1e-6
    # the populations move: the test would notice a TGED without transfer
    assert exact.population.values[:, 1].max() > 0.1


def test_exact_population_error_is_round_off_and_v_error_falls_at_order_two(displaced):
    model, wp = displaced
    errs = [errors_against_reference(model, wp, dt, "strang") for dt in (0.1, 0.05)]
    assert max(e["population"] for e in errs) < 1e-11
    ratio = errs[0]["potential"] / errs[1]["potential"]
    assert 3.5 < ratio < 4.5


# -- (f) measured convergence order --------------------------------------------------------
@pytest.mark.parametrize("integrator, order, steps", [("strang", 2, (0.1, 0.05, 0.025)),
                                                      ("yoshida4", 4, (0.2, 0.1, 0.05))])
def test_convergence_order(displaced, integrator, order, steps):
    model, wp = displaced
    for key in ("potential", "position", "width"):
        errs = [errors_against_reference(model, wp, dt, integrator)[key] for dt in steps]
        slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
        assert abs(slope - order) < 0.25, (key, slope, errs)


def test_convergence_order_on_anharmonic_model():
    """Variational TGED on Tully's dual crossing (Gauss-Hermite averages) against a fine step.

    (Not the simple crossing: its V'' jumps at x = 0, and a quadrature node
    crossing the jump makes the averaged vector field non-smooth, which lowers
    the observed order.)"""
    model = es.models.TullyDual()
    wp = es.Wavepacket([-4.0], [25.0], [4.0], 0)
    kwargs = dict(t_final=300.0, output_times=[0.0, 150.0, 300.0])
    ref = tged(model, wp, dt=1.0, integrator="yoshida6", **kwargs)
    for integrator, order, steps in (("strang", 2, (8.0, 4.0, 2.0)), ("yoshida4", 4, (12.0, 6.0, 3.0))):
        errs = []
        for dt in steps:
            res = tged(model, wp, dt=dt, integrator=integrator, **kwargs)
            errs.append(np.abs(res.position.values - ref.position.values).max()
                        + np.abs(res.population.values - ref.population.values).max())
        slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
        assert abs(slope - order) < 0.3, (integrator, slope, errs)


# -- (b) single surface: thawed Gaussian wavepacket dynamics in a harmonic potential -------------
@pytest.mark.parametrize("width", [1.3, 4.0, 0.3])   # coherent (m w), squeezed, stretched
def test_single_surface_width_oscillation(width):
    model = es.models.DisplacedOscillators(n_states=1, omega=[1.3], coupling=0.0)
    wp = es.Wavepacket([0.7], [-0.4], [width], 0)
    res = tged(model, wp, dt=0.01, t_final=8.0, output_every=40, integrator="yoshida4")
    _, pot, q, w_exact = harmonic_reference(model, wp, res.time.values)
    w = res.width_real.values[:, 0, 0] + 1j * res.width_imag.values[:, 0, 0]
    assert np.abs(w - w_exact[:, 0]).max() < 1e-6 * max(1.0, np.abs(w_exact).max())
    assert np.abs(res.position.values - q).max() < 1e-7
    assert np.abs(res.potential_energy.values - pot).max() < 1e-7
    if width == 1.3:  # the coherent state keeps its width
        assert np.abs(w - 1.3).max() < 1e-6
    else:
        assert np.abs(w - width).max() > 0.1


def test_free_gaussian_spreads_as_the_analytic_formula():
    """Kinetic step alone: variance sigma0^2 + (t / (2 m sigma0))^2 of a free Gaussian (hbar = 1)."""
    mass, width = 3.0, 2.0
    wp = es.Wavepacket([0.0], [1.0], [width], 0)
    s = GaussianState.from_wavepacket(wp, 1)
    model = es.models.DisplacedOscillators(n_states=1, omega=[1.0], mass=mass)
    for t in (0.5, 2.0, 7.0):
        moved = kinetic_step(s, t, np.array([1.0 / mass]), model)
        var0 = 1.0 / (2 * width)
        assert moved.sigma[0, 0] == pytest.approx(var0 + (t / mass) ** 2 / (4 * var0), rel=1e-12)
        assert moved.nuclear_norm == pytest.approx(1.0, abs=1e-13)
        assert moved.q[0] == pytest.approx(t / mass)


# -- (c) frozen width / hbar -> 0: single-trajectory Ehrenfest ---------------------------------
def test_classical_limit_is_single_trajectory_ehrenfest():
    """Mass m -> infinity at fixed velocity with width m/100: Sigma ~ 1/m, so TGED -> Ehrenfest as 1/m."""
    diffs = []
    for mass in (2e4, 2e5, 2e6):
        model = es.models.TullySimple(mass=mass)
        p0 = 0.01 * mass
        res = tged(model, es.Wavepacket([-4.0], [p0], [mass / 100.0], 0), dt=2.0, t_final=800.0,
                   output_every=50)
        traj = es.run(model, es.State.from_arrays([[-4.0]], [[p0]], [[1.0, 0.0]]), method="ehrenfest",
                      dt=2.0, t_final=800.0, output_every=50)
        diffs.append(np.abs(res.population.values - traj.population.values).max()
                     + np.abs(res.position.values - traj.position.values).max())
        assert traj.population.values[-1, 1] > 0.3   # a real transition happened
    assert diffs[0] / diffs[1] > 5 and diffs[1] / diffs[2] > 5, diffs
    assert diffs[2] < 3e-4


# -- (d) the family: equal on quadratic models, different on anharmonic ones ---------------------------
def test_three_potentials_coincide_on_quadratic_model():
    model = es.models.Pyrazine3(gamma1=-0.018, gamma2=-0.018)
    wp = es.Wavepacket([0.3, -0.2, 0.4], [0.1, 0.0, -0.2], [1.0, 1.2, 0.8], 2)
    runs = [tged(model, wp, method=es.ThawedGaussianEhrenfest(pot), dt=4.0, t_final=400.0, output_every=20)
            for pot in ("variational", "local_harmonic", "single_hessian")]
    for other in runs[1:]:
        for name in ("population", "position", "potential_energy", "width_real", "width_imag"):
            np.testing.assert_allclose(other[name].values, runs[0][name].values, atol=1e-10, rtol=0)
    assert runs[0].population.values[:, 1].max() > 0.01   # nontrivial dynamics
    assert runs[2].attrs["hessian_evaluations"] == 1


def test_three_potentials_differ_on_anharmonic_model():
    model = es.models.TullySimple()
    wp = es.Wavepacket([-3.0], [15.0], [2.0], 0)
    runs = {pot: tged(model, wp, method=es.ThawedGaussianEhrenfest(pot), dt=4.0, t_final=600.0,
                      output_every=50) for pot in ("variational", "local_harmonic", "single_hessian")}
    pops = {k: r.population.values[-1, 1] for k, r in runs.items()}
    assert abs(pops["variational"] - pops["local_harmonic"]) > 1e-3
    assert abs(pops["single_hessian"] - pops["local_harmonic"]) > 1e-3
    assert runs["variational"].attrs["tged_averaging"] == "gauss_hermite"


def test_gauss_hermite_rule_averages_polynomials_exactly():
    z, w = gauss_hermite_rule(5, 2)
    assert w.sum() == pytest.approx(1.0)
    assert np.sum(w * z[:, 0] ** 4) == pytest.approx(3.0)          # E[z^4] = 3
    assert np.sum(w * z[:, 0] ** 2 * z[:, 1] ** 2) == pytest.approx(1.0)


def test_variational_quadrature_matches_taylor_on_a_quadratic_model():
    """Quadrature on a model that hides its degree agrees with the exact Taylor average."""
    base = es.models.Pyrazine3(gamma1=-0.018)
    hidden = es.models.from_function(base.potential, 3, 3, base.mass, gradient=base.gradient,
                                     hessian=base.hessian)
    wp = es.Wavepacket([0.3, -0.2, 0.4], [0.1, 0.0, -0.2], [1.0, 1.2, 0.8], 2)
    a = tged(base, wp, dt=4.0, t_final=200.0, output_every=10)
    b = tged(hidden, wp, method=es.ThawedGaussianEhrenfest(quadrature_points=3), dt=4.0, t_final=200.0,
             output_every=10)
    assert b.attrs["tged_averaging"] == "gauss_hermite"
    np.testing.assert_allclose(b.population.values, a.population.values, atol=1e-10)
    np.testing.assert_allclose(b.potential_energy.values, a.potential_energy.values, atol=1e-10)


# -- (e) energy and norm conservation -------------------------------------------------------
def test_energy_and_norm_conservation_variational():
    model = es.models.TullyDual()
    wp = es.Wavepacket([-4.0], [25.0], [2.0], 0)
    drifts = []
    for dt in (4.0, 2.0):
        res = tged(model, wp, dt=dt, t_final=600.0, output_every=int(20 / dt))
        e = res.total_energy.values
        drifts.append(np.abs(e - e[0]).max())
        assert np.abs(res.norm.values - 1).max() < 1e-12
        assert np.abs(res.population.values.sum(axis=1) - 1).max() < 1e-13
        assert res.population.values[-1, 1] > 0.05
    assert drifts[1] < 1e-5
    assert 3.0 < drifts[0] / drifts[1] < 5.0   # second order, no drift growing with the run


def test_pyrazine_stays_on_s2_by_symmetry():
    model = es.models.Pyrazine3()
    res = tged(model, model.initial_wavepacket(), dt=4.0, t_final=2000.0, output_every=50)
    assert np.abs(res.population.values[:, 2] - 1).max() < 1e-14
    assert np.abs(res.position.values[:, 2]).max() == 0.0   # nu10a, the coupling mode, never moves
    e = res.total_energy.values
    assert np.abs(e - e[0]).max() < 1e-5


# -- result layout and input errors --------------------------------------------------------
def test_result_layout_and_file_round_trip(displaced, tmp_path):
    model, wp = displaced
    res = tged(model, wp, dt=0.1, t_final=1.0, output_every=5)
    for name, dims in STANDARD_VARIABLES.items():
        assert res[name].dims == dims
    assert res.width_real.shape == (3, 2, 2) and res.width_imag.shape == (3, 2, 2)
    np.testing.assert_allclose(res.width_real.values[0], wp.width)
    assert res.attrs["method"] == "tged" and res.attrs["n_traj"] == 1
    assert res.attrs["potential_evaluations"] > 0 and res.attrs["hessian_evaluations"] > 0
    res.to_netcdf(tmp_path / "tged.nc")
    back = es.load(tmp_path / "tged.nc")   # the reader joins name_real / name_imag into one complex variable
    np.testing.assert_array_equal(back.width.values, res.width_real.values + 1j * res.width_imag.values)


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_traj=2), "n_traj"),
    (dict(checkpoint_every=5, checkpoint_path="x.npz"), "checkpoint"),
    (dict(resume=True, checkpoint_path="x.npz"), "resume"),
    (dict(save_trajectories=True), "save_trajectories"),
    (dict(dt=-1.0), "dt"),
    (dict(integrator="rk4"), "integrator"),
])
def test_bad_run_arguments(displaced, kwargs, word):
    model, wp = displaced
    args = dict(dt=0.1, t_final=1.0)
    args.update(kwargs)
    with pytest.raises(InputError, match=word):
        tged(model, wp, **args)


def test_bad_method_arguments_and_state_input(displaced):
    model, wp = displaced
    with pytest.raises(InputError, match="potential"):
        es.ThawedGaussianEhrenfest("frozen")
    with pytest.raises(InputError, match="reference_geometry"):
        es.ThawedGaussianEhrenfest("variational", reference_geometry=[0.0, 0.0])
    with pytest.raises(InputError, match="quadrature_points"):
        es.ThawedGaussianEhrenfest(quadrature_points=0)
    with pytest.raises(InputError, match="reference_geometry"):
        tged(model, wp, method=es.ThawedGaussianEhrenfest("single_hessian", reference_geometry=[0.0]),
             dt=0.1, t_final=1.0)
    with pytest.raises(InputError, match="Wavepacket"):
        tged(model, es.State.from_arrays([[0.0, 0.0]], [[0.0, 0.0]], [[1.0, 0.0]]), dt=0.1, t_final=1.0)


# -- the reproduction ---------------------------------------------------------------------
@pytest.mark.slow   # about 10 s on an idle machine, 26 s on a loaded one
@pytest.mark.filterwarnings("ignore::ehrenspeed.grid.run.GridEdgeWarning")
def test_reproduce_tged_quick(tmp_path):
    """TGED on exact; Ehrenfest's populations exact; one trajectory misses <V>; TGWD misses transfer."""
    from ehrenspeed.reproduce import reproduce

    out = reproduce("tged", tmp_path / "r", quick=True)
    s = out.summary
    assert s["max_abs_P0_minus_exact"]["tged"] < 1e-10
    assert s["max_abs_V_minus_exact"]["tged"] < 1e-4
    assert s["max_abs_P0_minus_exact"]["tgwd"] > 0.2
    assert s["max_abs_V_minus_exact"]["tgwd"] < 1e-4
    assert s["max_abs_P0_minus_exact"]["ehrenfest"] < 1e-10
    assert s["max_abs_V_minus_exact"]["single"] > 0.5
    assert (tmp_path / "r" / "tged_population_energy.png").is_file()


def test_step_is_time_reversible():
    """Forward by dt then backward by dt returns the start to round-off (symmetric composition)."""
    from ehrenspeed.dynamics.tged import step
    from ehrenspeed.propagators import Yoshida4

    model = es.models.TullyDual()
    source = es.ThawedGaussianEhrenfest().make_source(model)
    s0 = GaussianState.from_wavepacket(es.Wavepacket([-0.5], [25.0], [3.0], [0.6, 0.8j]), 2)
    s0 = s0.__class__(s0.q, s0.p, s0.a + 0.3, s0.gamma, s0.c)   # a chirped Gaussian, a superposition
    inv_mass = 1.0 / model.mass
    s = s0
    for _ in range(20):
        s = step(s, 7.0, Yoshida4.weights, source, inv_mass, model)
    assert abs(s.q[0] - s0.q[0]) > 0.5
    for _ in range(20):
        s = step(s, -7.0, Yoshida4.weights, source, inv_mass, model)
    np.testing.assert_allclose(s.q, s0.q, atol=1e-11)
    np.testing.assert_allclose(s.p, s0.p, atol=1e-9)
    np.testing.assert_allclose(s.a, s0.a, atol=1e-11)
    np.testing.assert_allclose(s.c, s0.c, atol=1e-11)
    assert abs(s.gamma - s0.gamma) < 1e-9


@pytest.mark.parametrize("name", ["jahn_teller", "chemisorption"])
def test_common_hessian_makes_the_centre_an_ehrenfest_trajectory(name):
    """When every diabat has the same Hessian (times the identity matrix), tr(Sigma H)/2 only
    shifts vbar by a multiple of 1 and c^H g c is the Ehrenfest force at the centre: the centre
    and c follow one Ehrenfest trajectory to round-off, whatever the width does (our derivation)."""
    model = es.models.get(name)
    base = model.initial_wavepacket()
    wp = es.Wavepacket(base.q0, base.p0, 3.0 * base.width, base.state)   # squeezed: the width breathes
    dt = 0.05 if name == "jahn_teller" else 20.0
    kw = dict(dt=dt, t_final=100 * dt, output_every=20, integrator="yoshida4")
    res = tged(model, wp, **kw)
    traj = es.run(model, es.State.from_arrays(wp.q0[None], wp.p0[None],
                                              es.sampling.electronic_vector(wp.state, model.n_states)[None]),
                  method="ehrenfest", **kw)
    np.testing.assert_allclose(res.position.values, traj.position.values, atol=1e-9)
    np.testing.assert_allclose(res.population.values, traj.population.values, atol=1e-9)
    assert np.abs(res.width_real.values - res.width_real.values[0]).max() > 1e-3   # the width moves


def test_trajectory_run_refuses_tged_with_a_pointer_to_run(displaced):
    model, wp = displaced
    for method in ("tged", es.ThawedGaussianEhrenfest()):
        with pytest.raises(InputError, match="es.run"):
            es.TrajectoryRun(model, wp, method)


def test_exact_for_a_user_model_with_complex_couplings_and_a_correlated_width():
    """V = v(x) 1 + E with v non-separable quadratic plus linear, E complex Hermitian, unequal
    masses, a correlated initial width and a complex superposition: still exact (quadrature path)."""
    k = np.array([[0.8, 0.3], [0.3, 1.5]])
    g0 = np.array([0.2, -0.1])
    e = np.array([[0.0, 0.15 + 0.1j, 0.0], [0.15 - 0.1j, 0.1, 0.12j], [0.0, -0.12j, 0.25]])

    def potential(q):
        v = 0.5 * np.einsum("na,ab,nb->n", q, k, q) + q @ g0
        return v[:, None, None] * np.eye(3) + e

    def gradient(q):
        return (q @ k + g0)[:, :, None, None] * np.eye(3)

    def hessian(q):
        return np.broadcast_to(k[:, :, None, None] * np.eye(3), (q.shape[0], 2, 2, 3, 3)).copy()

    model = es.models.from_function(potential, 3, 2, [1.0, 2.0], gradient=gradient, hessian=hessian)
    wp = es.Wavepacket([0.5, -0.3], [0.4, 0.2], [[1.5, 0.4], [0.4, 2.5]], [0.8, 0.6j, 0.0])
    kw = dict(dt=0.02, t_final=6.0, output_every=50, integrator="yoshida4")
    exact = es.run_exact(model, wp, es.Grid([-7, -7], [7, 7], [40, 40]), **kw)
    res = tged(model, wp, **kw)
    assert res.attrs["tged_averaging"] == "gauss_hermite"
    assert exact.population.values[:, 0].min() < 0.8          # real transfer
    for name, tol in (("population", 1e-10), ("potential_energy", 1e-7), ("position", 1e-7),
                      ("momentum", 1e-7), ("total_energy", 1e-9)):
        assert np.abs(res[name].values - exact[name].values).max() < tol, name
