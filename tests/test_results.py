"""Result layout (docs/trajectories.md table), attributes, and file round trip."""

import json

import numpy as np
import pytest

import ehrenspeed as es


@pytest.fixture(scope="module")
def result():
    model = es.models.Pyrazine3()
    return es.run(model, model.initial_wavepacket(), "speed", n_traj=16, dt=4.0, t_final=99.0,
                  output_times=[10.0, 33.3, 50.0, 99.0], seed=3, save_trajectories=True)


def test_layout(result):
    dims = {"population": ("time", "state"), "adiabatic_population": ("time", "state"),
            "position": ("time", "dof"), "momentum": ("time", "dof"), "potential_energy": ("time",),
            "total_energy": ("time",), "norm": ("time",)}
    for name, d in dims.items():
        assert result[name].dims == d
    for attr in ("method", "model", "n_traj", "dt", "seed", "potential_evaluations", "wall_time_s",
                 "max_energy_drift", "ehrenspeed_version", "config"):
        assert attr in result.attrs
    assert result.attrs["method"] == "speed" and result.attrs["model"] == "pyrazine3"
    assert json.loads(result.attrs["config"])["run"]["n_traj"] == 16


def test_output_times_apart_from_step(result):
    """Output times need not be multiples of dt; the last step shortens to land on them."""
    assert np.allclose(result.time.values, [0.0, 10.0, 33.3, 50.0, 99.0])
    assert np.allclose(result.population.sum("state").values, 1.0)


def test_netcdf_round_trip(result, tmp_path):
    path = tmp_path / "r.nc"
    result.to_netcdf(path)
    back = es.load(path)
    for name in ("population", "position", "total_energy", "trajectory_position"):
        assert np.array_equal(back[name].values, result[name].values)
    c = result.trajectory_coefficients_real.values + 1j * result.trajectory_coefficients_imag.values
    assert np.array_equal(back.trajectory_coefficients.values, c)
    assert back.attrs["config"] == result.attrs["config"]


def test_save_is_atomic_and_checks_directory(result, tmp_path):
    from ehrenspeed.results import save
    with pytest.raises(es.InputError, match="does not exist"):
        save(result, tmp_path / "missing" / "r.nc")
    save(result, tmp_path / "ok.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.nc"]  # no temporary left behind
