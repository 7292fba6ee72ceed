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
_DT = {"jahn_teller": 0.05}


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
    kw = dict(n_traj=23, dt=2.0, t_final=20.0, output_every=10, seed=4, save_trajectories=True,
              validate=False)
    with use_backend("numba"):
        whole = es.run(model, _initial(model), "ehrenfest", **kw)
        chunked = es.run(model, _initial(model), "ehrenfest", chunk_size=5, **kw)
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
    monkeypatch.setattr(kernels, "HAVE_NUMBA", False)
    v, dv, c = np.zeros((1, 2, 2)), np.zeros((1, 1, 2, 2)), np.ones((1, 2), complex)
    assert splitting.substep_function("auto", v, dv, c) is potential_substep
    with pytest.raises(InputError, match="numba"):
        set_backend("numba")
