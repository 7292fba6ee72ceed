"""Electronic friction dynamics on the ground adiabat (ehrenspeed.dynamics.friction).

Checks: the friction of a linear two-state crossing against the hand-computed
value; Lambda symmetric positive semidefinite; zero friction is energy
conserving Born-Oppenheimer dynamics (second order in dt); friction only
removes energy at T = 0; a thermal run of a harmonic oscillator reaches the
bath's kinetic temperature; bad options give InputError.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.dynamics.friction import ElectronicFriction, friction_tensor
from ehrenspeed.errors import InputError
from ehrenspeed.units import KB

K, C, MASS = 0.02, 0.004, 2000.0  # slope, coupling (hartree, hartree/bohr), mass


def _crossing(k=K, c=C, offset=0.0):
    """V = [[k x, c], [c, -k x]] + offset * x^2 / 2 (both states)."""
    def v(q):
        x = q[:, 0]
        out = np.zeros((len(x), 2, 2))
        out[:, 0, 0], out[:, 1, 1] = k * x + 0.5 * offset * x**2, -k * x + 0.5 * offset * x**2
        out[:, 0, 1] = out[:, 1, 0] = c
        return out

    def g(q):
        x = q[:, 0]
        out = np.zeros((len(x), 1, 2, 2))
        out[:, 0, 0, 0], out[:, 0, 1, 1] = k + offset * x, -k + offset * x
        return out
    return es.models.from_function(v, n_states=2, n_dof=1, mass=MASS, gradient=g, name="crossing")


@pytest.mark.parametrize("shape", ["gaussian", "lorentzian"])
@pytest.mark.parametrize("x", [0.0, 0.15])
def test_two_state_friction_equals_hand_computed_value(shape, x):
    """|<0|dV|1>| = k c / sqrt(k^2 x^2 + c^2), gap 2 sqrt(k^2 x^2 + c^2): Lambda = 2 pi F^2 delta(gap) / gap."""
    s = 0.01
    method = ElectronicFriction(broadening=s, shape=shape)
    root = np.sqrt(K**2 * x**2 + C**2)
    gap, coupling = 2 * root, K * C / root
    delta = (np.exp(-0.5 * (gap / s) ** 2) / (s * np.sqrt(2 * np.pi)) if shape == "gaussian"
             else (s / np.pi) / (gap**2 + s**2))
    expected = 2 * np.pi * coupling**2 * delta / gap
    got = friction_tensor(_crossing(), [[x]], method)[0, 0, 0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_friction_is_symmetric_positive_semidefinite():
    model = es.models.Chemisorption()
    rng = np.random.default_rng(3)
    lam = friction_tensor(model, rng.uniform(-2, 42, (50, 1)))
    assert np.all(lam[:, 0, 0] >= 0) and np.any(lam[:, 0, 0] > 0)
    # a 2D model: the tensor is symmetric with non-negative eigenvalues
    two_d = es.models.JahnTeller()
    lam = friction_tensor(two_d, rng.normal(size=(40, two_d.n_dof)), ElectronicFriction(broadening=0.05))
    assert np.allclose(lam, np.swapaxes(lam, 1, 2))
    assert np.linalg.eigvalsh(lam).min() > -1e-12 * np.abs(lam).max()


def test_zero_friction_is_energy_conserving_born_oppenheimer_dynamics():
    """strength 0: velocity Verlet on E_0; energy error falls as dt^2."""
    model = _crossing(offset=0.002)
    start = es.State.from_arrays(np.array([[-0.5]]), np.array([[8.0]]), np.array([[1.0, 0.0]]), 0.0)
    drifts = []
    for dt in (8.0, 4.0):
        res = es.run(model, start, ElectronicFriction(strength=0.0), dt=dt, t_final=800.0, output_every=1)
        assert np.allclose(res["adiabatic_population"].values[:, 0], 1.0)
        drifts.append(res.attrs["max_energy_drift"])
    assert drifts[0] < 1e-5
    assert 3.0 < drifts[0] / drifts[1] < 5.0
    # the ground-state force: crossing the avoided crossing adiabatically, E_0 stays the lower root
    x = res["position"].sel(dof=0).values
    e0 = -np.sqrt(K**2 * x**2 + C**2) + 0.001 * x**2
    assert np.allclose(res["potential_energy"].values, e0, atol=1e-12)


def test_zero_temperature_friction_only_removes_energy():
    model = _crossing(offset=0.002)
    start = es.State.from_arrays(np.array([[-0.5]]), np.array([[8.0]]), np.array([[1.0, 0.0]]), 0.0)
    res = es.run(model, start, ElectronicFriction(broadening=0.01), dt=2.0, t_final=1200.0, output_every=5)
    e = res["total_energy"].values
    assert e[-1] < e[0] - 1e-5
    assert np.all(np.diff(e) < 1e-7)  # monotone, up to the integrator's O(dt^2) wiggle


def test_method_name_runs_and_keeps_the_result_layout():
    model = es.models.Chemisorption()
    res = es.run(model, model.initial_wavepacket(), "friction", n_traj=3, seed=2, dt=50.0, t_final=500.0)
    for name in ("population", "adiabatic_population", "position", "momentum", "potential_energy",
                 "total_energy", "norm"):
        assert name in res
    assert res.attrs["method"] == "friction"
    assert np.allclose(res["population"].sum("state"), 1.0)


@pytest.mark.parametrize("kwargs", [{"broadening": 0.0}, {"shape": "box"}, {"temperature": -1.0},
                                    {"strength": -0.5}])
def test_bad_options_are_input_errors(kwargs):
    with pytest.raises(InputError):
        ElectronicFriction(**kwargs)


def test_other_integrator_is_an_input_error():
    model = _crossing()
    start = es.State.from_arrays(np.zeros((1, 1)), np.zeros((1, 1)), np.array([[1.0, 0.0]]), 0.0)
    with pytest.raises(InputError, match="BAOAB"):
        es.run(model, start, "friction", dt=1.0, t_final=2.0, integrator="yoshida4")


@pytest.mark.slow
def test_thermal_run_reaches_the_bath_temperature():
    """Harmonic ground surface with constant friction: <p^2/M> -> k_B T (fluctuation-dissipation)."""
    model = _crossing(k=0.005, c=0.003, offset=0.01)  # near-harmonic ground surface, friction > 0
    temperature = 300.0
    n = 400
    start = es.State.from_arrays(np.zeros((n, 1)), np.zeros((n, 1)), np.tile([1.0, 0.0], (n, 1)), 0.0)
    method = ElectronicFriction(broadening=0.01, temperature=temperature, strength=50.0)
    res = es.run(model, start, method, seed=4, dt=5.0, t_final=30000.0, output_every=200)
    late = res["kinetic_energy"].values[len(res.time) // 2:]
    assert np.mean(late) == pytest.approx(0.5 * KB * temperature, rel=0.08)


def test_thermal_noise_is_seeded_per_trajectory():
    """Same seed, same run; another seed, another run."""
    model = _crossing(offset=0.002)
    method = ElectronicFriction(broadening=0.01, temperature=300.0, strength=20.0)

    def run(n, seed):
        start = es.State.from_arrays(np.zeros((n, 1)), np.zeros((n, 1)), np.tile([1.0, 0.0], (n, 1)), 0.0)
        return es.run(model, start, method, seed=seed, dt=5.0, t_final=200.0, output_every=40)

    a, b = run(3, 11), run(3, 11)
    assert np.array_equal(a["position"].values, b["position"].values)
    assert not np.array_equal(a["position"].values, run(3, 12)["position"].values)
    assert np.ptp(a["position"].values) > 0  # the noise moved the atoms off the start
