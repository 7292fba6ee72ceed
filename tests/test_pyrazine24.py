"""Pyrazine24 (Raab et al. 1999, 24 modes): its operator file, its 4-mode core, SPEED = Ehrenfest."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.models.pyrazine24 import MODES24, SYMMETRY
from ehrenspeed.models.pyrazine_raab import operator_file
from ehrenspeed.units import EV


@pytest.fixture(scope="module")
def pair():
    return es.models.Pyrazine24(), es.models.VibronicCoupling.from_mctdh(operator_file("pyrazine24"))


def test_registered_and_shipped():
    model = es.models.get("pyrazine24")
    assert (model.name, model.n_states, model.n_dof) == ("pyrazine24", 2, 24)
    assert operator_file("pyrazine24").is_file()
    # every mode in exactly one symmetry block
    assert sorted(m for block in SYMMETRY.values() for m in block) == sorted(MODES24)


@pytest.mark.parametrize("what", ["potential", "gradient", "hessian"])
def test_class_equals_operator_file_at_random_geometries(pair, what):
    model, from_file = pair
    assert from_file.mode_labels == model.mode_labels == MODES24
    q = np.random.default_rng(12).normal(scale=2.0, size=(20, 24))
    np.testing.assert_allclose(getattr(from_file, what)(q), getattr(model, what)(q), rtol=1e-13, atol=1e-16)


def test_four_mode_core_is_pyrazine4_with_q6a_and_q1_reversed():
    """With the other 20 modes at zero, the model is Pyrazine4 (pyr4+) in its 4-digit
    transcription, the signs of q6a and q1 reversed, and the two interstate constants
    that differ between the transcriptions (0.00551, 0.00127) taken from this table."""
    core = es.models.Pyrazine4(kappa1=(0.0981, 0.0503, 0.1452), kappa2=(-0.1355, 0.1710, 0.0375),
                               lam=0.2080, coupling_bilinear=(0.01000, 0.00551, 0.00127))
    full = es.models.Pyrazine24()
    q4 = np.random.default_rng(3).normal(scale=2.0, size=(30, 4))
    q24 = np.zeros((30, 24))
    q24[:, :4] = q4 * np.array([1.0, -1.0, -1.0, 1.0])
    np.testing.assert_allclose(full.potential(q24), core.potential(q4), rtol=1e-13, atol=1e-16)


def test_bilinear_conventions():
    q = np.zeros((1, 24))
    q[0, MODES24.index("v10a")] = q[0, MODES24.index("v8a")] = 1.0    # an interstate product
    twice, once = es.models.Pyrazine24(), es.models.Pyrazine24(coupling_bilinear_factor=1.0)
    assert twice.potential(q)[0, 0, 1] / EV == pytest.approx(0.2080 + 2 * 0.00799, abs=1e-12)
    assert once.potential(q)[0, 0, 1] / EV == pytest.approx(0.2080 + 0.00799, abs=1e-12)
    q = np.zeros((1, 24))
    q[0, MODES24.index("v16a")] = q[0, MODES24.index("v17a")] = 1.0   # Au block, S2
    harmonic = 0.5 * (0.0423 + 0.1190)
    expected = 0.4230 + harmonic - 0.01459 - 0.00618 + 2 * (-0.00091)
    assert twice.potential(q)[0, 1, 1] / EV == pytest.approx(expected, abs=1e-12)


def test_symmetry_forbids_linear_terms_off_ag_and_b1g():
    """Only Ag modes tune and only the B1g mode couples linearly (D2h selection rules)."""
    model = es.models.Pyrazine24()
    g0 = model.gradient(np.zeros((1, 24)))[0]                      # (D, S, S)
    for a, mode in enumerate(MODES24):
        if mode not in SYMMETRY["Ag"]:
            assert g0[a, 0, 0] == g0[a, 1, 1] == 0.0
        if mode != "v10a":
            assert g0[a, 0, 1] == 0.0


def test_speed_with_one_reference_hessian_equals_ehrenfest():
    model = es.models.Pyrazine24()
    wp = model.initial_wavepacket()
    common = {"n_traj": 32, "dt": 10.0, "t_final": 300.0, "output_every": 10, "seed": 5}
    ehr = es.run(model, wp, "ehrenfest", **common)
    spd = es.run(model, wp, es.SPEED(reference_hessian=True), **common)
    for name in ("population", "position", "momentum", "potential_energy"):
        np.testing.assert_allclose(spd[name].values, ehr[name].values, rtol=0, atol=1e-10)
    assert spd.attrs["hessian_evaluations"] <= 1
    assert spd.attrs["potential_evaluations"] < ehr.attrs["potential_evaluations"]


def test_quick_reproduction(tmp_path):
    from ehrenspeed.reproduce import reproduce

    summary = reproduce("pyrazine24", tmp_path, quick=True).summary
    assert summary["max_abs_speed_minus_ehrenfest"] < 1e-10
    cost = summary["cost"]
    # one potential evaluation per substep against one per trajectory per substep
    assert cost["ehrenfest"]["potential_evaluations"] == summary["n_traj"] * cost["speed"]["potential_evaluations"]
    assert cost["speed"]["hessian_evaluations"] == 1
    assert (tmp_path / "pyrazine24_population.png").is_file()
