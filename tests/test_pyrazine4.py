"""Pyrazine4 (Raab et al. 1999): the class equals its shipped operator file; SPEED = Ehrenfest on it."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.models.pyrazine_raab import operator_file
from ehrenspeed.units import EV


@pytest.fixture(scope="module")
def pair():
    return es.models.Pyrazine4(), es.models.VibronicCoupling.from_mctdh(operator_file("pyrazine4"))


def test_registered_and_shipped():
    assert es.models.get("pyrazine4").name == "pyrazine4"
    assert operator_file("pyrazine4").is_file()


@pytest.mark.parametrize("what", ["potential", "gradient", "hessian"])
def test_class_equals_operator_file_at_random_geometries(pair, what):
    model, from_file = pair
    assert from_file.mode_labels == model.mode_labels == ("v10a", "v6a", "v1", "v9a")
    q = np.random.default_rng(11).normal(scale=2.0, size=(50, 4))
    a, b = getattr(model, what)(q), getattr(from_file, what)(q)
    np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-16)


def test_literature_numbers(pair):
    model = pair[0]
    np.testing.assert_allclose(model.omega / EV, [0.1139, 0.0739, 0.1258, 0.1525], rtol=1e-14)
    np.testing.assert_allclose(model.energies / EV, [-0.423, 0.423], rtol=1e-14)
    # bilinear products enter with twice the tabulated coefficient (both orderings)
    q = np.zeros((1, 4))
    q[0, [1, 2]] = 1.0                                        # q6a = q1 = 1
    v = model.potential(q)[0] / EV
    harmonic = 0.5 * (0.0739 + 0.1258)
    assert v[0, 0] == pytest.approx(-0.423 + harmonic + 0.09806 + 0.05033 + 2 * 0.00108, abs=1e-12)
    q = np.zeros((1, 4))
    q[0, [0, 1]] = 1.0                                        # q10a = q6a = 1
    assert model.potential(q)[0, 0, 1] / EV == pytest.approx(0.20804 + 2 * 0.01, abs=1e-12)
    once = es.models.Pyrazine4(bilinear_factor=1.0)
    assert once.potential(q)[0, 0, 1] / EV == pytest.approx(0.20804 + 0.01, abs=1e-12)


def test_speed_equals_ehrenfest(pair):
    model = pair[0]
    wp = model.initial_wavepacket()
    common = {"n_traj": 32, "dt": 10.0, "t_final": 400.0, "output_every": 10, "seed": 4}
    ehr = es.run(model, wp, "ehrenfest", **common)
    spd = es.run(model, wp, "speed", **common)
    for name in ("population", "position", "momentum", "potential_energy"):
        np.testing.assert_allclose(spd[name].values, ehr[name].values, rtol=0, atol=1e-10)
    assert spd.attrs["potential_evaluations"] < ehr.attrs["potential_evaluations"]


def test_reproduction_grid_fits_in_memory():
    from ehrenspeed.grid.run import memory_estimate
    from ehrenspeed.reproduce import REPRODUCTIONS
    from ehrenspeed.reproduce.pyrazine4 import GRID, make_grid

    assert "pyrazine4" in REPRODUCTIONS
    grid = make_grid(GRID["points"], GRID["half_width"])
    assert grid.size == 32 * 32 * 24 * 24
    assert memory_estimate(2, grid) < 2**30          # measured: 326 MiB


@pytest.mark.slow
def test_quick_reproduction_matches_mctdh_and_speed_equals_ehrenfest(tmp_path):
    from ehrenspeed.reproduce import reproduce

    summary = reproduce("pyrazine4", tmp_path, quick=True).summary
    assert summary["max_abs_speed_minus_ehrenfest"] < 1e-10
    assert summary["max_abs_single_minus_one"] < 1e-10
    # 16x16x12x12 grid, 30 fs: 0.022 from MCTDH (the full grid: docs/reproductions.md)
    assert summary["max_abs_exact_minus_mctdh"] < 0.03
