"""The compiled potential substep (numba) against the NumPy reference.

The fast path must give the same numbers as the reference to round-off on
every built-in model, for Ehrenfest and SPEED, and must not depend on
chunking; without numba the package falls back to NumPy.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.errors import InputError
from ehrenspeed.propagators import kernels, splitting
from ehrenspeed.propagators import potential_substep, set_backend, use_backend

needs_numba = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")


def _random_substep_input(rng, n, s, d):
    v = rng.normal(scale=0.05, size=(n, s, s))
    v = v + v.transpose(0, 2, 1)
    v[:3] = np.diag(rng.normal(scale=0.01, size=s))      # already diagonal
    v[3:5] = 0.02 * np.eye(s)                             # fully degenerate
    if s > 2:
        v[5, 0, 1] = v[5, 1, 0] = 1e-12                  # nearly degenerate pair
        v[5, 0, 0] = v[5, 1, 1] = 0.03
    dv = rng.normal(size=(n, d, s, s))
    dv = dv + dv.transpose(0, 1, 3, 2)
    c = rng.normal(size=(n, s)) + 1j * rng.normal(size=(n, s))
    c /= np.linalg.norm(c, axis=1)[:, None]
    return rng.normal(size=(n, d)), c, v, dv


@needs_numba
@pytest.mark.parametrize("n_states", [1, 2, 3, 6, 45])
@pytest.mark.parametrize("tau", [0.7, 40.0, -3.0])
def test_substep_matches_reference(n_states, tau):
    rng = np.random.default_rng(n_states)
    p, c, v, dv = _random_substep_input(rng, 40, n_states, 2)
    p_ref, c_ref = potential_substep(p, c, v, dv, tau)
    p_fast, c_fast = kernels.potential_substep_numba(p, c, v, dv, tau)
    # the kick is tau * force with |force| ~ S: compare relative to that
    assert np.max(np.abs(p_fast - p_ref)) < 1e-14 * abs(tau) * n_states * 20
    assert np.max(np.abs(c_fast - c_ref)) < 1e-13
    assert np.allclose(np.linalg.norm(c_fast, axis=1), 1.0, atol=1e-14, rtol=0)


@needs_numba
def test_substep_tiny_and_zero_gaps():
    """phi's series branch: level spacings from exactly 0 up past the switch."""
    rng = np.random.default_rng(5)
    for s in (2, 4):
        for gap in (0.0, 1e-9, 1e-5, 0.05, 0.2):
            n = 8
            v = np.zeros((n, s, s))
            v[:, np.arange(s), np.arange(s)] = gap * np.arange(s)
            v[:, 0, 1] = v[:, 1, 0] = 0.5 * gap
            _, c, _, dv = _random_substep_input(rng, n, s, 1)
            p = np.zeros((n, 1))
            for tau in (1.0, 3.0):
                p_ref, c_ref = potential_substep(p, c, v, dv, tau)
                p_fast, c_fast = kernels.potential_substep_numba(p, c, v, dv, tau)
                assert np.allclose(p_fast, p_ref, rtol=1e-13, atol=1e-13)
                assert np.max(np.abs(c_fast - c_ref)) < 1e-14


def _final(res):
    last = res.isel(time=-1)
    c = last.trajectory_coefficients_real.values + 1j * last.trajectory_coefficients_imag.values
    return last.trajectory_position.values, last.trajectory_momentum.values, c


def _initial(model):
    if hasattr(model, "initial_wavepacket"):
        return model.initial_wavepacket()
    d = model.n_dof
    return es.Wavepacket(np.zeros(d), np.zeros(d), np.ones(d), 0)


#: Steps (a.u.) that resolve each model's fastest motion; with a coarser step
#: the splitting is near its stability limit and amplifies any round-off
#: difference exponentially (Jahn-Teller: w = 1 hartree, so w dt must be << 2).
_DT = {"jahn_teller": 0.05, "displaced_oscillators": 0.05}   # w up to 1.6 hartree


@needs_numba
@pytest.mark.parametrize("method", ["ehrenfest", "speed"])
@pytest.mark.parametrize("name", sorted(es.models.REGISTRY))
def test_runs_match_reference_on_every_model(name, method):
    model = es.models.get(name)
    dt = _DT.get(name, 2.0)
    kw = dict(n_traj=6, dt=dt, t_final=12 * dt, output_every=12, seed=11, save_trajectories=True,
              validate=False)
    with use_backend("numpy"):
        ref = es.run(model, _initial(model), method, **kw)
    with use_backend("numba"):
        fast = es.run(model, _initial(model), method, **kw)
    for a, b in zip(_final(ref), _final(fast)):
        scale = max(1.0, float(np.max(np.abs(a))))
        assert np.max(np.abs(a - b)) < 1e-10 * scale, name
    assert ref.attrs["potential_evaluations"] == fast.attrs["potential_evaluations"]


@needs_numba
@pytest.mark.parametrize("name", ["tully_simple", "pyrazine3"])
def test_fast_path_independent_of_chunking(name):
    model = es.models.get(name)
    # 301 trajectories: several SIMD blocks of the two-state kernel, and chunks
    # of 7 put every trajectory at a different place in its block and vector
    kw = dict(n_traj=301, dt=2.0, t_final=20.0, output_every=10, seed=4, save_trajectories=True,
              validate=False)
    with use_backend("numba"):
        whole = es.run(model, _initial(model), "ehrenfest", **kw)
        chunked = es.run(model, _initial(model), "ehrenfest", chunk_size=7, **kw)
    for a, b in zip(_final(whole), _final(chunked)):
        assert np.array_equal(a, b)


def test_backend_selection(monkeypatch):
    with pytest.raises(InputError, match="backend"):
        set_backend("fortran")
    old = splitting.get_backend()
    with use_backend("numpy"):
        assert splitting.get_backend() == "numpy"
        v, dv, c = np.zeros((1, 2, 2)), np.zeros((1, 1, 2, 2)), np.ones((1, 2), complex)
        assert splitting.substep_function(None, v, dv, c) is potential_substep
    assert splitting.get_backend() == old
    # complex matrices always take the reference path
    v = np.zeros((1, 2, 2), complex)
    assert splitting.substep_function("auto", v, dv, c) is potential_substep


def test_without_numba_falls_back(monkeypatch):
    from ehrenspeed import backend

    monkeypatch.setattr(kernels, "HAVE_NUMBA", False)
    monkeypatch.setattr(backend, "HAVE_NUMBA", False)
    v, dv, c = np.zeros((1, 2, 2)), np.zeros((1, 1, 2, 2)), np.ones((1, 2), complex)
    assert splitting.substep_function("auto", v, dv, c) is potential_substep
    with pytest.raises(InputError, match="numba"):
        set_backend("numba")


@needs_numba
def test_polynomial_sincos_accuracy():
    """The kernels' vectorisable sin/cos against libm (NumPy) over its range."""
    import numba

    from ehrenspeed.propagators.trig import SINCOS_MAX, sincos

    @numba.njit
    def both(x):
        s, c = np.empty_like(x), np.empty_like(x)
        for i in range(x.size):
            s[i], c[i] = sincos(x[i])
        return s, c

    rng = np.random.default_rng(3)
    k = np.arange(-60000, 60000)
    x = np.concatenate([[0.0, -0.0, 5e-324, 1e-300, 1e-20, -1e-8, SINCOS_MAX, -SINCOS_MAX],
                        rng.uniform(-1, 1, 10**5), rng.uniform(-100, 100, 10**5),
                        rng.uniform(-SINCOS_MAX, SINCOS_MAX, 10**5),
                        k * (np.pi / 2), np.nextafter(k * (np.pi / 2), np.inf), k * (np.pi / 4)])
    s, c = both(x)
    for got, ref in ((s, np.sin(x)), (c, np.cos(x))):
        assert np.max(np.abs(got - ref)) <= 1.2e-16
        away = np.abs(ref) > 1e-9      # next to a zero only the absolute error is small
        assert np.max(np.abs(got - ref)[away] / np.spacing(np.abs(ref[away]))) <= 2
        assert np.max(np.abs(got - ref)[~away]) < 1e-26
    # beyond SINCOS_MAX the kernels call libm: exactly NumPy's values, also where
    # the polynomial's integer quadrant would overflow (|x| > 2^63 pi/2)
    # (the general kernels' phase pass, next to values the polynomial takes)
    x = np.array([0.3, 1.5e5, -3e7, 1e10, -2.0, 1e19, -1e300, 7.0])
    sin_x, cos_x = np.empty_like(x), np.empty_like(x)
    kernels._phases(x, x.size, sin_x, cos_x)
    big = np.abs(x) > SINCOS_MAX
    assert np.array_equal(sin_x[big], np.sin(x[big])) and np.array_equal(cos_x[big], np.cos(x[big]))
    expected = [sincos(value) for value in x[~big]]
    assert np.array_equal(sin_x[~big], [e[0] for e in expected])
    assert np.array_equal(cos_x[~big], [e[1] for e in expected])


def _taylor_input(rng, s, d):
    v0 = rng.normal(scale=0.05, size=(s, s))
    g = rng.normal(scale=0.02, size=(d, s, s))
    h = rng.normal(scale=0.01, size=(d, d, s, s))
    h = h + h.transpose(1, 0, 2, 3)                     # d2V/dq_a dq_b = d2V/dq_b dq_a
    return v0 + v0.T, g + g.transpose(0, 2, 1), h + h.transpose(0, 1, 3, 2)


@needs_numba
@pytest.mark.parametrize("n_states", [1, 2, 3, 7])
@pytest.mark.parametrize("n_dof", [1, 3])
def test_taylor_kernel_matches_reference(n_states, n_dof):
    """SPEED's fused kernel against the NumPy substep on the same Taylor matrices."""
    from ehrenspeed.potentials import TaylorData, TaylorSource

    rng = np.random.default_rng(10 * n_states + n_dof)
    v0, g, h = _taylor_input(rng, n_states, n_dof)
    n = 300                    # several SIMD blocks and a partial one
    p, c, _, _ = _random_substep_input(rng, n, n_states, n_dof)
    q = rng.normal(scale=2.0, size=(n, n_dof))
    qbar = q.mean(axis=0)
    data = TaylorData(qbar, v0, g, h)
    v, dv = TaylorSource.matrices(None, data, q)    # the NumPy path's matrices; no state used
    for tau in (0.5, -7.0):
        p_ref, c_ref = potential_substep(p, c, v, dv, tau)
        p_fast, c_fast = kernels.taylor_substep_numba(p, c, q, qbar, v0, g, h, tau)
        scale = np.max(np.abs(p_ref - p)) + 1e-300
        assert np.max(np.abs(p_fast - p_ref)) < 1e-12 * scale
        assert np.max(np.abs(c_fast - c_ref)) < 1e-13


@needs_numba
@pytest.mark.parametrize("n_states", [2, 3])
def test_huge_phases_take_libm(n_states):
    """|lambda tau| beyond SINCOS_MAX: the kernels' libm branch (the two-state
    kernel redoes such trajectories after its SIMD pass) is still right.

    A diagonal offset of 3000 hartree with tau = 50 gives phases 1.5e5 >
    SINCOS_MAX; the phase itself then carries rounding ~ 50 ulp(3000) ~ 2e-11,
    whichever way it is computed, so agreement is checked to 1e-9.
    """
    from ehrenspeed.propagators.trig import SINCOS_MAX

    rng = np.random.default_rng(8)
    p, c, v, dv = _random_substep_input(rng, 150, n_states, 1)
    v = v + 3000.0 * np.eye(n_states)
    tau = 50.0
    assert 3000.0 * tau > SINCOS_MAX
    p_ref, c_ref = potential_substep(p, c, v, dv, tau)
    p_fast, c_fast = kernels.potential_substep_numba(p, c, v, dv, tau)
    assert np.max(np.abs(c_fast - c_ref)) < 1e-9
    assert np.max(np.abs(p_fast - p_ref)) < 1e-9 * tau
    assert np.allclose(np.abs(c_fast), np.abs(c_ref), atol=1e-12)


@needs_numba
@pytest.mark.parametrize("name", ["tully_simple", "tully_dual", "tully_extended"])
def test_compiled_tully_matrices_match_numpy(name):
    """Tully's compiled V, dV/dx against the NumPy formulas, across x = 0."""
    model = es.models.get(name)
    x = np.concatenate([np.linspace(-15, 15, 3001), [0.0, -0.0, 1e-300, -1e-300]])[:, None]
    with use_backend("numpy"):
        v_ref, dv_ref = model.potential_and_gradient(x)
    with use_backend("numba"):
        v, dv = model.potential_and_gradient(x)
    assert v.shape == v_ref.shape and dv.shape == dv_ref.shape
    # the compiled exponentials are vexp.py's polynomial (within 1 ulp of libm's,
    # tests/test_fused.py): the matrices agree to a few ulps of their scale
    for fast, ref in ((v, v_ref), (dv, dv_ref)):
        assert np.max(np.abs(fast - ref)) <= 4 * np.finfo(float).eps * np.max(np.abs(ref))
    with use_backend("numba"):   # V alone: the same numbers
        assert np.array_equal(model.potential(x), v)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_default_chunks_bound_the_dense_matrices(monkeypatch, backend):
    """Without chunk_size, V and dV/dq exist for at most DENSE_MATRIX_BUDGET
    bytes of trajectories at once, and the result is the unbatched one."""
    from ehrenspeed import driver

    model = es.models.get("pyrazine3")
    kw = dict(n_traj=37, dt=4.0, t_final=16.0, output_every=2, seed=2, save_trajectories=True,
              validate=False, backend=backend)
    whole = es.run(model, _initial(model), "ehrenfest", **kw)
    per_trajectory = 8 * (1 + model.n_dof) * model.n_states ** 2
    monkeypatch.setattr(driver, "DENSE_MATRIX_BUDGET", 10 * per_trajectory + 5)
    assert driver.default_chunk_size(model) == 10
    sizes = []
    for name in ("potential", "potential_and_gradient"):
        original = getattr(model, name)
        monkeypatch.setattr(model, name, lambda q, f=original: (sizes.append(len(q)), f(q))[1])
    batched = es.run(model, _initial(model), "ehrenfest", **kw)
    assert max(sizes) == 10 and sum(sizes) % 37 == 0
    for a, b in zip(_final(whole), _final(batched)):
        assert np.array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("name", ["pyrazine3", "pyrazine_sd"])
def test_compiled_vibronic_matrices_match_numpy(name):
    model = es.models.get(name)
    q = np.random.default_rng(4).normal(scale=3.0, size=(257, model.n_dof))
    with use_backend("numpy"):
        v_ref, dv_ref = model.potential_and_gradient(q)
    with use_backend("numba"):
        v, dv = model.potential_and_gradient(q)
        v_alone = model.potential(q)
    assert v.shape == v_ref.shape and dv.shape == dv_ref.shape
    assert np.max(np.abs(v - v_ref)) < 1e-14 and np.max(np.abs(dv - dv_ref)) < 1e-14
    assert np.array_equal(v_alone, v)   # the compiled pass without the gradient


@needs_numba
def test_compiled_vibronic_matrices_with_every_kind_of_term():
    # bilinear terms q_a q_b (a != b) within and between states, constant couplings, and
    # some zero coefficients: the compiled sum keeps only nonzero terms and must still
    # equal the dense NumPy polynomial
    rng = np.random.default_rng(11)
    s, d = 4, 5
    lam = rng.normal(scale=0.01, size=(s, s, d))
    lam = 0.5 * (lam + lam.transpose(1, 0, 2))
    lam[0, 1] = lam[1, 0] = 0.0
    gamma = rng.normal(scale=0.002, size=(s, d, d))
    gamma[:, 0, 1] = 0.0
    mu = rng.normal(scale=0.002, size=(s, s, d, d))
    mu = 0.5 * (mu + mu.transpose(1, 0, 2, 3))
    eta = np.zeros((s, s))
    eta[1, 2] = eta[2, 1] = 0.003
    model = es.models.VibronicCoupling(omega=rng.uniform(0.002, 0.01, d), energies=[0.0, 0.1, 0.12, 0.2],
                                       kappa=rng.normal(scale=0.01, size=(s, d)), lam=lam, gamma=gamma, mu=mu,
                                       eta=eta)
    q = rng.normal(scale=3.0, size=(101, d))
    with use_backend("numpy"):
        v_ref, dv_ref = model.potential_and_gradient(q)
    with use_backend("numba"):
        v, dv = model.potential_and_gradient(q)
    assert np.max(np.abs(v - v_ref)) < 1e-15 and np.max(np.abs(dv - dv_ref)) < 1e-15
    assert np.array_equal(v, np.swapaxes(v, 1, 2))


@needs_numba
def test_auto_runs_a_small_run_on_numpy_and_honours_explicit_choices():
    """A run too short to repay compiling the kernels takes NumPy on "auto", by its size alone."""
    from ehrenspeed.backend import COMPILE_PAYS_ABOVE, for_run

    small, large = COMPILE_PAYS_ABOVE - 1, COMPILE_PAYS_ABOVE
    assert for_run("auto", small) == "numpy"
    assert for_run("auto", large) == "auto"
    assert for_run("numba", small) == "numba"      # an explicit choice is never overridden
    assert for_run("numpy", large) == "numpy"
    with use_backend("numba"):
        assert for_run(None, small) is None        # the module default is explicit too
    model = es.models.Pyrazine3()
    run = es.TrajectoryRun(model, model.initial_wavepacket(), "ehrenfest", n_traj=8, dt=4.0, t_final=40.0)
    assert run.backend == "numpy"


@needs_numba
def test_auto_backend_weighs_the_size_of_a_trajectory_substep():
    """A large model's NumPy substep costs more, so its runs repay compiling sooner."""
    from ehrenspeed.backend import COMPILE_PAYS_ABOVE, for_run, numpy_cost_weight

    assert numpy_cost_weight(1, 2) == pytest.approx(1.0, abs=0.02)
    heavy = numpy_cost_weight(24, 2)
    assert heavy > 5.0
    size = int(COMPILE_PAYS_ABOVE / heavy) + 1
    assert for_run("auto", size) == "numpy"
    assert for_run("auto", size, heavy) == "auto"
    # many states: NumPy's batched eigh grows as S^3 (27 states cost ~100 small-model units, measured)
    many_states = numpy_cost_weight(1, 27)
    assert 50.0 < many_states < 200.0
    assert for_run("auto", 1024 * 400, many_states) == "auto"   # a full chemisorption run compiles


@needs_numba
def test_auto_grid_kernels_compile_only_for_large_exact_runs():
    """The quick pyrazine exact run (1.1e8 state-point-steps) stays on NumPy; the full one (6.3e8) compiles."""
    from ehrenspeed import backend

    assert not backend.grid_compiled(3 * 40 * 32 * 40 * 242)
    assert backend.grid_compiled(3 * 60 * 48 * 60 * 1211)
    old = backend.set_backend("numba")
    try:
        assert backend.grid_compiled(1)
        backend.set_backend("numpy")
        assert not backend.grid_compiled(10**12)
    finally:
        backend.set_backend(old)
