"""Fewest-switches surface hopping (ehrenspeed.dynamics.fssh).

* the hop probability by local diabatisation is Tully's fewest-switches
  probability to first order in dt, and is 1 through a trivial crossing;
* the total energy of every trajectory is conserved across accepted hops;
* one Landau-Zener passage: the fraction of trajectories that hop equals the
  Landau-Zener probability and the coefficients' adiabatic population;
* the energy-based decoherence correction collapses the coefficients onto
  the active state away from the coupling region, keeping the norm;
* determinism: same seed bit-identical, chunk size irrelevant, a
  checkpoint resumed mid-interval bit-identical;
* SPEED-FSSH equals per-trajectory FSSH on a model whose diabatic matrix is
  at most quadratic;
* against exact scattering on Tully's models (slow).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm

import ehrenspeed as es
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.dynamics.fssh import FSSH, decohere, hop_probabilities
from ehrenspeed.errors import InputError
from ehrenspeed.models import LinearCrossing, TullyExtended, TullySimple
from ehrenspeed.models.crossings import landau_zener_probability


def assert_identical(a, b):
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert np.array_equal(a[name].values, b[name].values), name
    for key in ("hops_accepted", "hops_frustrated"):
        assert a.attrs[key] == b.attrs[key], key


# -- the hop probability ------------------------------------------------------------------------
def test_local_diabatisation_is_tullys_probability_to_first_order():
    """S = exp(-T dt) with T the (antisymmetric) time-derivative coupling: P = 2 dt Re(a_k* a_a T_ka) / rho_aa.

    Three states, twenty random (T, a): where the active state loses population,
    each P_k is Tully's, also when the flux into another state is negative (the
    signed normalisation of Granucci, Persico and Toniolo; normalising by the
    positive fluxes alone fails 4 of these 20); where it gains, no hop (both as
    Granucci, Persico and Toniolo 2001).
    """
    s_states = 3
    losing = mixed = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        t = rng.normal(size=(s_states, s_states))
        t = t - t.T
        a = rng.normal(size=s_states) + 1j * rng.normal(size=s_states)
        a /= np.linalg.norm(a)
        # d a_k/dt = -sum_l T_kl a_l: flux from 0 into k is -2 Re(conj(a_k) T_k0 a_0)
        rate = -2 * np.real(np.conj(a) * t[:, 0] * a[0]) / abs(a[0]) ** 2
        rate[0] = 0
        for dt in (1e-3, 1e-4):
            s = expm(-t * dt)[None]
            p = hop_probabilities(a[None], s, np.array([0]))[0]
            if rate.sum() > 0:          # state 0 loses population
                assert np.allclose(p, np.maximum(rate, 0) * dt, rtol=100 * dt, atol=1e-14), seed
            else:
                assert np.all(p == 0), seed
        losing += rate.sum() > 0
        mixed += rate.sum() > 0 and rate.min() < 0
    assert losing >= 5 and mixed >= 3   # the cases the test is about do occur


def test_trivial_crossing_hops_with_certainty():
    """Uncoupled diabats that cross: the eigenvectors swap within the step, the label must follow."""
    a_old = np.array([[1.0 + 0j, 0.0]])
    swap = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    p = hop_probabilities(a_old, swap, np.array([0]))
    assert np.array_equal(p, [[0.0, 1.0]])


def uncoupled_crossing():
    def v(q):
        out = np.zeros((len(q), 2, 2))
        out[:, 0, 0], out[:, 1, 1] = 0.01 * q[:, 0], -0.01 * q[:, 0]
        return out

    return es.models.from_function(v, n_states=2, n_dof=1, mass=2000.0)


def test_trivial_crossing_keeps_the_diabatic_state_and_the_energy():
    model = uncoupled_crossing()
    start = es.State.from_arrays(np.full((8, 1), -2.0), np.full((8, 1), 20.0), np.tile([1.0, 0.0], (8, 1)))
    res = es.run(model, start, method="fssh", dt=1.0, t_final=400.0, output_every=400, seed=1)
    # on the right diabat 0 is the upper adiabat: every trajectory switched label, none lost energy
    assert np.array_equal(res.active_population.values[-1], [0.0, 1.0])
    assert res.attrs["hops_accepted"] == 8 and res.attrs["hops_frustrated"] == 0
    # the hop happens at the first midpoint past x = 0, where the adiabats are 0.02 |x_mid| apart and
    # the lower one has its cusp: energy is conserved up to that gap, |F1 - F2| v dt / 2 = 1e-4
    assert res.attrs["max_energy_drift"] < 1e-4
    assert np.allclose(res.population.values[-1], [1.0, 0.0])


# -- energy ---------------------------------------------------------------------------------------
def test_total_energy_conserved_across_hops():
    model = TullySimple()
    res = es.run(model, model.initial_wavepacket(k0=10.0), method="fssh", n_traj=40, dt=1.0, t_final=3000.0,
                 output_every=30, seed=2)
    # a hop moves 0.006-0.02 hartree between kinetic and potential energy (the adiabatic gap at the
    # hop); the rescaling must put it back exactly, leaving the integrator's O(dt^2) error
    # (measured 1.1e-7 at dt = 1, as Ehrenfest's 7e-8; 2e-5 when the hop preceded the whole kick)
    assert res.attrs["hops_accepted"] >= 10
    assert res.attrs["max_energy_drift"] < 1e-6
    without = es.run(model, model.initial_wavepacket(k0=10.0), method="fssh", n_traj=40, dt=2.0,
                     t_final=3000.0, output_every=30, seed=2)
    # and halving dt reduces the drift about fourfold (second order), hops or not
    ratio = without.attrs["max_energy_drift"] / res.attrs["max_energy_drift"]
    assert 3.0 < ratio < 5.5


def lz_start(model, n, x0=-5.0, p0=200.0):
    """n identical trajectories on the lower adiabat at x0."""
    _, u = np.linalg.eigh(model.potential(np.array([[x0]])))
    c = np.tile(u[0, :, 0].astype(complex), (n, 1))
    return es.State.from_arrays(np.full((n, 1), x0), np.full((n, 1), p0), c)


def test_landau_zener_passage():
    model = LinearCrossing(mass=20000.0)
    n = 400
    res = es.run(model, lz_start(model, n), method="fssh", dt=1.0, t_final=1000.0, output_every=1000, seed=4)
    # the speed at the crossing, from energy conservation on the lower adiabat
    e0 = -np.hypot(0.01 * 5.0, 0.005)
    v_cross = np.sqrt(2 * (0.5 * 200.0**2 / 20000.0 + e0 + 0.005) / 20000.0)
    p_lz = landau_zener_probability(0.01, -0.01, 0.005, v_cross)
    upper_active = res.active_population.values[-1, 1]
    upper_coefficients = res.adiabatic_population.values[-1, 1]
    sigma = np.sqrt(p_lz * (1 - p_lz) / n)
    # the coefficients follow the finite-range Landau-Zener problem (a few per cent from the formula);
    # the hops follow the coefficients within the binomial error
    assert abs(upper_coefficients - p_lz) < 0.03
    assert abs(upper_active - upper_coefficients) < 4 * sigma


def test_decoherence_collapses_onto_the_active_state():
    model = TullySimple()
    kwargs = {"n_traj": 40, "dt": 2.0, "t_final": 2500.0, "output_every": 1250, "seed": 3, "save_trajectories": True}
    wp = model.initial_wavepacket(k0=20.0)
    plain = es.run(model, wp, method="fssh", **kwargs)
    edc = es.run(model, wp, method=FSSH(decoherence="edc"), **kwargs)
    assert abs(edc.norm.values[-1] - 1) < 1e-12
    # past the crossing: with EDC each trajectory's coefficients sit on its active state, so the
    # coefficient populations equal the fraction on each surface; without, they stay mixed
    assert np.allclose(edc.adiabatic_population.values[-1], edc.active_population.values[-1], atol=1e-3)
    mixed = np.abs(plain.adiabatic_population.values[-1] - plain.active_population.values[-1]).max()
    assert mixed > 0.01 or plain.attrs["hops_accepted"] == 0


def test_decohere_keeps_norm_and_damps_with_the_gap():
    a = np.array([[0.6 + 0.0j, 0.8j]])
    out = decohere(a, np.array([[0.0, 0.1]]), np.array([0]), np.array([0.05]), 10.0, 0.1)
    assert np.isclose(np.sum(np.abs(out) ** 2), 1.0)
    # tau = (1 + C/T) / gap = 30 a.u.: the inactive amplitude shrinks by exp(-10/30)
    assert np.isclose(abs(out[0, 1]), 0.8 * np.exp(-10.0 / 30.0))


# -- determinism and checkpoints -------------------------------------------------------------------
KW = {"n_traj": 24, "dt": 4.0, "t_final": 2400.0, "output_every": 50, "seed": 7, "save_trajectories": True}


def test_same_seed_bit_identical_and_chunking_irrelevant():
    model = TullySimple()
    wp = model.initial_wavepacket(k0=12.0)
    a = es.run(model, wp, method="fssh", **KW)
    assert a.attrs["hops_accepted"] > 0
    assert_identical(a, es.run(model, wp, method="fssh", **KW))
    assert_identical(a, es.run(model, wp, method="fssh", chunk_size=5, **KW))
    other = es.run(model, wp, method="fssh", **{**KW, "seed": 8})
    assert not np.array_equal(other.trajectory_active_state.values, a.trajectory_active_state.values)


class Stop(Exception):
    pass


def _checkpoint_and_stop(run, path, step):
    """After-step hook: write a checkpoint at ``step`` and end the run there, as a kill would."""
    if run.n_steps == step:
        run.save_checkpoint(path)
        raise Stop


@pytest.mark.parametrize("method", [FSSH(), FSSH(source="speed", decoherence="edc")], ids=["fssh", "speed_edc"])
def test_resume_mid_interval_is_bit_identical(tmp_path, method):
    model = TullySimple()
    wp = model.initial_wavepacket(k0=12.0)
    kwargs = dict(KW, method=method)
    reference = es.run(model, wp, **kwargs)
    path = tmp_path / "run.npz"

    sim = TrajectoryRun(model, wp, **kwargs)
    # step 163: mid-interval, after some hops, the streams part-way through a block of draws
    with pytest.raises(Stop):
        for _ in range(len(sim.times)):
            sim.advance(None, lambda run: _checkpoint_and_stop(run, path, 163))
    resumed = es.run(model, wp, checkpoint_path=path, resume=True, chunk_size=7, **kwargs)
    assert_identical(reference, resumed)


# -- SPEED's source ---------------------------------------------------------------------------------
def test_speed_fssh_equals_fssh_on_a_linear_model():
    """On a model with V at most quadratic SPEED's Taylor surface is the model: same hops, round-off apart."""
    model = LinearCrossing(mass=20000.0)
    start = lz_start(model, 64)
    start = start.replace(q=start.q + np.linspace(-0.5, 0.5, 64)[:, None])
    kwargs = {"dt": 2.0, "t_final": 800.0, "output_every": 100, "seed": 9, "save_trajectories": True}
    own = es.run(model, start, method="fssh", **kwargs)
    shared = es.run(model, start, method=FSSH(source="speed"), **kwargs)
    assert own.attrs["hops_accepted"] > 5
    assert own.attrs["hops_accepted"] == shared.attrs["hops_accepted"]
    assert np.array_equal(own.trajectory_active_state.values, shared.trajectory_active_state.values)
    for name in ("trajectory_position", "trajectory_momentum", "population", "active_population"):
        assert np.allclose(own[name].values, shared[name].values, rtol=1e-10, atol=1e-12), name


# -- input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    ({"source": "cubic"}, "FSSH source"), ({"decoherence": "magic"}, "decoherence"),
    ({"decoherence_constant": -1.0}, "decoherence_constant"), ({"frustrated": "bounce"}, "frustrated")])
def test_bad_fssh_options(kwargs, words):
    with pytest.raises(InputError, match=words):
        FSSH(**kwargs)


def test_fssh_needs_strang():
    model = TullySimple()
    with pytest.raises(InputError, match="strang"):
        es.run(model, model.initial_wavepacket(), method="fssh", integrator="yoshida4", n_traj=2,
               dt=1.0, t_final=2.0, seed=1)


def test_config_round_trip(tmp_path):
    from ehrenspeed.config import load_config

    path = tmp_path / "fssh.toml"
    path.write_text('[model]\nname = "tully_simple"\n[initial]\nfrom_model = true\n'
                    '[method]\nname = "fssh"\nsource = "speed"\ndecoherence = "edc"\nhessian_every = 2\n'
                    '[run]\ndt = 4.0\nt_final = 40.0\nn_traj = 4\n')
    method = load_config(path).build().method
    assert method == FSSH(source=es.SPEED(hessian_every=2), decoherence="edc")
    path.write_text(path.read_text().replace('source = "speed"', 'source = "per_trajectory"'))
    with pytest.raises(InputError, match="hessian_every.*source = 'speed'"):
        load_config(path)


# -- against exact scattering (Tully 1990) ------------------------------------------------------------
#: FSSH's own error on these channels (Tully 1990; our tables in docs/surface_hopping.md) on top of the
#: binomial statistical error 4 sqrt(p (1 - p) / N)
FSSH_ERROR = 0.05


def _channels(model, k, methods, n_traj, dt):
    from ehrenspeed.reproduce.fssh import scattering

    return scattering(model, k, methods, n_traj, seed=1, dt=dt, exact_dt=dt)


@pytest.mark.slow
@pytest.mark.parametrize("k", [10.0, 20.0])
def test_tully_simple_against_exact(k):
    n = 400
    rows = _channels(TullySimple(), k, {"fssh": FSSH()}, n, 2.0)
    exact, fssh = rows["exact"], rows["fssh"]
    for key in ("T_lower", "T_upper"):
        p = exact[key]
        assert abs(fssh[key] - p) < FSSH_ERROR + 4 * np.sqrt(p * (1 - p) / n), (key, fssh, exact)


@pytest.mark.slow
def test_tully_extended_reflects_where_ehrenfest_cannot():
    n = 400
    rows = _channels(TullyExtended(), 10.0, {"fssh_edc": FSSH(decoherence="edc"), "ehrenfest": "ehrenfest"},
                     n, 2.0)
    exact, edc, ehrenfest = rows["exact"], rows["fssh_edc"], rows["ehrenfest"]
    reflected = exact["R_lower"] + exact["R_upper"]
    assert reflected > 0.25                      # the exact packet reflects
    assert ehrenfest["R_lower"] + ehrenfest["R_upper"] < 0.01   # the mean field cannot
    for key in ("R_lower", "R_upper", "T_lower"):
        p = exact[key]
        assert abs(edc[key] - p) < FSSH_ERROR + 4 * np.sqrt(p * (1 - p) / n), (key, edc, exact)


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec")
def test_two_ranks_hop_as_one_process(tmp_path):
    script = Path(__file__).parent / "mpi" / "fssh_ranks.py"
    proc = subprocess.run([shutil.which("mpiexec"), "-n", "2", sys.executable, str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    model = TullySimple()
    for name, method in (("fssh", "fssh"), ("speed_edc", FSSH(source="speed", decoherence="edc"))):
        distributed = es.load(tmp_path / f"{name}.nc")
        serial = es.run(model, model.initial_wavepacket(k0=12.0), method, n_traj=23, dt=4.0, t_final=2400.0,
                        output_every=100, seed=6, save_trajectories=True)
        assert serial.attrs["hops_accepted"] > 0
        for key in ("population", "active_population", "total_energy", "trajectory_position",
                    "trajectory_active_state"):
            assert np.array_equal(distributed[key].values, serial[key].values), (name, key)
        assert distributed.attrs["hops_accepted"] == serial.attrs["hops_accepted"]


@pytest.mark.skipif(not __import__("ehrenspeed.backend", fromlist=["HAVE_NUMBA"]).HAVE_NUMBA, reason="no numba")
@pytest.mark.parametrize("model, k, method", [(TullyExtended(), 9.0, FSSH(decoherence="edc")),
                                              (TullySimple(), 6.0, FSSH(frustrated="reverse"))],
                         ids=["edc", "reverse"])
def test_compiled_substep_agrees_with_numpy(model, k, method):
    """Same hops, and momenta and populations equal to round-off, on the compiled and the NumPy path."""
    kwargs = {"n_traj": 24, "dt": 4.0, "t_final": 6000.0, "output_every": 250, "seed": 5, "save_trajectories": True,
                  "method": method}
    wp = model.initial_wavepacket(k0=k)
    reference = es.run(model, wp, backend="numpy", **kwargs)
    fast = es.run(model, wp, backend="numba", **kwargs)
    # below the upper surface's 0.01 hartree at the crossing (k = 6: 0.009 hartree) every hop is frustrated
    key = "hops_frustrated" if method.frustrated == "reverse" else "hops_accepted"
    assert reference.attrs[key] > 0
    assert reference.attrs["hops_accepted"] == fast.attrs["hops_accepted"]
    assert reference.attrs["hops_frustrated"] == fast.attrs["hops_frustrated"]
    assert np.array_equal(reference.trajectory_active_state.values, fast.trajectory_active_state.values)
    for name in ("trajectory_momentum", "population", "adiabatic_population"):
        assert np.allclose(reference[name].values, fast[name].values, rtol=0, atol=1e-10), name


@pytest.mark.slow
def test_quick_reproduction_shows_the_known_outcomes(tmp_path):
    from ehrenspeed.reproduce import reproduce

    out = reproduce("fssh", tmp_path / "fssh", quick=True, seed=1)
    tables = out.summary["tables"]
    model3 = tables["tully_extended"][10.0]
    # model 3 at k = 10: the exact packet and FSSH reflect, Ehrenfest transmits everything
    assert model3["exact"]["R_lower"] + model3["exact"]["R_upper"] > 0.25
    assert model3["fssh"]["R_lower"] + model3["fssh"]["R_upper"] > 0.15
    assert model3["ehrenfest"]["R_lower"] + model3["ehrenfest"]["R_upper"] < 0.01
    assert (tmp_path / "fssh" / "tully_tables.md").is_file()


def test_fssh_on_multicentre_speed():
    """The source axis: multi-centre SPEED's expansions serve FSSH as they serve Ehrenfest."""
    model = TullyExtended()
    res = es.run(model, model.initial_wavepacket(k0=10.0), method=FSSH(source=es.SPEED(centres=2)), n_traj=40,
                 dt=4.0, t_final=4000.0, output_every=500, seed=1, backend="numpy")
    assert res.attrs["hops_accepted"] > 0
    assert np.array_equal(res.n_centres.values, [2, 2, 2])
    assert np.isclose(res.active_population.values.sum(axis=1), 1.0).all()


def _three_coupled_states(q):
    """Three diabats, two crossing at x = 0 and a flat one between, all pairs coupled by 0.005 exp(-x^2)."""
    x = q[:, 0]
    v = np.empty((len(x), 3, 3))
    v[:] = 0.005 * np.exp(-x**2)[:, None, None]
    v[:, 0, 0], v[:, 1, 1], v[:, 2, 2] = 0.01 * np.tanh(1.6 * x), 0.002 * np.ones_like(x), -0.01 * np.tanh(1.6 * x)
    return v


def _three_coupled_gradient(q):
    x = q[:, 0]
    g = np.empty((len(x), 1, 3, 3))
    g[:, 0] = (-0.01 * x * np.exp(-x**2))[:, None, None]
    sech2 = 1.0 / np.cosh(1.6 * x) ** 2
    g[:, 0, 0, 0], g[:, 0, 1, 1], g[:, 0, 2, 2] = 0.016 * sech2, 0.0, -0.016 * sech2
    return g


@pytest.mark.skipif(not __import__("ehrenspeed.backend", fromlist=["HAVE_NUMBA"]).HAVE_NUMBA, reason="no numba")
def test_compiled_substep_agrees_with_numpy_on_three_coupled_states():
    """Three mutually coupled states (fluxes of both signs): the compiled kernel's hop probability is the NumPy one.

    The run stops before the packet reaches x ~ 19, where the couplings'
    squares are subnormal and the shared compiled eigensolver loses
    orthogonality (next test).
    """
    model = es.models.from_function(_three_coupled_states, 3, 1, 2000.0, gradient=_three_coupled_gradient,
                                    name="three_coupled")
    wp = es.Wavepacket([-6.0], [15.0], [1.0], 2)
    kwargs = {"n_traj": 24, "dt": 4.0, "t_final": 2400.0, "output_every": 200, "seed": 7,
              "save_trajectories": True, "method": "fssh"}
    reference = es.run(model, wp, backend="numpy", **kwargs)
    fast = es.run(model, wp, backend="numba", **kwargs)
    assert reference.attrs["hops_accepted"] > 0
    assert reference.attrs["hops_accepted"] == fast.attrs["hops_accepted"]
    assert reference.attrs["hops_frustrated"] == fast.attrs["hops_frustrated"]
    assert np.array_equal(reference.trajectory_active_state.values, fast.trajectory_active_state.values)
    for name in ("trajectory_momentum", "population", "adiabatic_population"):
        assert np.allclose(reference[name].values, fast[name].values, rtol=0, atol=1e-10), name


@pytest.mark.skipif(not __import__("ehrenspeed.backend", fromlist=["HAVE_NUMBA"]).HAVE_NUMBA, reason="no numba")
def test_compiled_eigensolver_stays_orthogonal_with_subnormal_couplings():
    """Couplings of ~1e-160 (squares subnormal): the Householder column is scaled first
    (before that fix, |Z Z^T - 1| was 1.5e-6 at x = 19)."""
    from ehrenspeed.propagators.kernels import _eigh_ql

    for x in (10.0, 19.0, 26.0):
        v = _three_coupled_states(np.array([[x]]))[0]
        lam, zt, w1, w2 = np.empty(3), np.empty((3, 3)), np.empty(3), np.empty(3)
        _eigh_ql(v.copy(), lam, zt, w1, w2)
        assert np.abs(zt @ zt.T - np.eye(3)).max() < 1e-12, x
        np.testing.assert_allclose(np.sort(lam), np.linalg.eigvalsh(v), rtol=0, atol=1e-14)
        np.testing.assert_allclose(zt.T @ np.diag(lam) @ zt, v, rtol=0, atol=1e-14)
