"""The configuration stored in a result: one layout for every method, re-runnable.

Every writer (``es.run``, ``es.grid.run_exact``, ``ehrenspeed run``) stores
the configuration-file tables; ``config_of`` returns them for every method
(and converts the layouts of earlier versions); ``ehrenspeed run RESULT.nc``
repeats the run and gives the same observables.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.config import Config, load_config
from ehrenspeed.results import config_of, save

OBSERVABLES = ("population", "adiabatic_population", "position", "momentum", "potential_energy",
               "total_energy", "norm")
RUN = dict(dt=10.0, t_final=200.0, output_every=2)
GRID = es.Grid([-20.0], [25.0], [96])
TABLES = {"model", "initial", "method", "run"}


def _model():
    return es.models.get("tully_simple")


def _wavepacket(model):
    return model.initial_wavepacket(k0=15.0)


def _result(method: str):
    """A small, fast run of ``method`` on Tully's simple crossing."""
    model = _model()
    wp = _wavepacket(model)
    if method == "exact":
        return es.run_exact(model, wp, GRID, **RUN)
    if method == "tged":  # one Gaussian
        return es.run(model, wp, es.ThawedGaussianEhrenfest(potential="local_harmonic"), **RUN)
    return es.run(model, wp, method, n_traj=6, seed=3, **RUN)


def _rerun(ds, tmp_path, capsys):
    """``ehrenspeed run`` on the saved result: the re-run's dataset."""
    path = save(ds, tmp_path / "r.nc")
    status = main(["run", "-q", str(path)])
    assert status == 0, capsys.readouterr().err
    return es.load(tmp_path / "r.rerun.nc")


def _assert_same_observables(a, b, exact: bool) -> None:
    assert np.array_equal(a.time.values, b.time.values)
    for name in OBSERVABLES:
        if exact:  # threaded FFTs may sum in another order: round-off only
            np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-12, atol=1e-14, err_msg=name)
        else:
            assert np.array_equal(a[name].values, b[name].values), name


@pytest.mark.parametrize("method", ["ehrenfest", "speed", "exact", "tged"])
def test_every_method_stores_the_file_layout(method):
    ds = _result(method)
    stored = json.loads(ds.attrs["config"])
    expected = TABLES | ({"grid"} if method == "exact" else set())
    assert set(stored) == expected
    assert stored["model"] == {"name": "tully_simple", "parameters": _model().parameters()}
    assert stored["method"]["name"] == method and stored["run"]["dt"] == RUN["dt"]
    assert config_of(ds) == stored
    # the stored tables are a valid configuration, as a TOML file would be
    cfg = Config.from_dict(stored, "<stored>")
    assert cfg.method.name == method and cfg.run.output_every == RUN["output_every"]


@pytest.mark.parametrize("method", ["ehrenfest", "speed", "exact", "tged"])
def test_rerun_of_a_library_result_gives_the_same_observables(method, tmp_path, capsys):
    ds = _result(method)
    _assert_same_observables(ds, _rerun(ds, tmp_path, capsys), method == "exact")


def test_explicit_output_times_are_stored_and_rerun(tmp_path, capsys):
    model = _model()
    ds = es.run(model, _wavepacket(model), "ehrenfest", n_traj=3, seed=1, dt=10.0, t_final=100.0,
                output_times=[15.0, 42.5, 100.0])
    assert config_of(ds)["run"]["output_times"] == [0.0, 15.0, 42.5, 100.0]
    _assert_same_observables(ds, _rerun(ds, tmp_path, capsys), False)


def _old_trajectory_layout(model, wp) -> dict:
    """What ``es.run`` stored before the layout was unified."""
    times = es.schedule.output_times(RUN["dt"], RUN["t_final"], RUN["output_every"])
    return {"model": {"name": model.name, "parameters": model.parameters()},
            "initial": wp.to_dict(),
            "method": {"name": "speed", "hessian_every": 1, "reference_hessian": False,
                       "reference_geometry": None, "adaptive_tol": None},
            "integrator": "strang", "n_traj": 6, "dt": RUN["dt"], "t_final": RUN["t_final"],
            "output_every": RUN["output_every"], "output_times": times.tolist(), "seed": 3,
            "chunk_size": None}


def _old_exact_layout(model, wp) -> dict:
    """What ``run_exact`` stored before the layout was unified."""
    return {"method": "exact", "model": model.name, "model_parameters": model.parameters(),
            "wavepacket": wp.to_dict(), "grid": GRID.to_dict(), "dt": RUN["dt"], "t_final": RUN["t_final"],
            "output_every": RUN["output_every"], "output_times": None, "integrator": "strang",
            "workers": 2, "edge_threshold": 1e-6, "memory_limit_bytes": None}


@pytest.mark.parametrize("method, old", [("speed", _old_trajectory_layout), ("exact", _old_exact_layout)])
def test_old_layouts_are_read_and_rerun(method, old, tmp_path, capsys):
    ds = _result(method)
    model = _model()
    new = config_of(ds)
    ds.attrs["config"] = json.dumps(old(model, _wavepacket(model)))
    upgraded = config_of(ds)
    assert set(upgraded) == set(new)
    for table in ("model", "initial", "method", "grid"):
        assert upgraded.get(table) == new.get(table), table
    assert Config.from_dict(upgraded, "<old>").to_dict()["run"] == Config.from_dict(new, "<new>").to_dict()["run"]
    _assert_same_observables(ds, _rerun(ds, tmp_path, capsys), method == "exact")


def test_a_run_from_an_explicit_state_describes_itself_but_is_not_rerun(tmp_path):
    model = _model()
    state = es.sample_wigner(_wavepacket(model), 2, seed=1, n_states=model.n_states)
    ds = es.run(model, state, "ehrenfest", **RUN)
    stored = config_of(ds)
    assert stored["initial"] == {"explicit_state": True, "n_traj": 2}
    assert set(stored) == TABLES
    path = save(ds, tmp_path / "s.nc")
    with pytest.raises(es.InputError, match="explicit es.State"):
        load_config(path)


def test_cli_result_keeps_its_layout(tmp_path):
    """``ehrenspeed run`` stores Config.to_json(): config_of returns it unchanged."""
    ds = _result("ehrenfest")
    cfg = Config.from_dict(config_of(ds), "<stored>")
    ds.attrs["config"] = cfg.to_json()
    assert config_of(ds) == cfg.to_dict()


@pytest.mark.filterwarnings("ignore::ehrenspeed.grid.run.GridEdgeWarning")  # a coarse grid is enough here
def test_reproductions_store_the_layout(tmp_path):
    """The reproductions' runs (here chemisorption's four, on a small scale) store the layout."""
    from ehrenspeed.reproduce.chemisorption import run_preset
    from ehrenspeed.reproduce.common import Output

    out = Output(tmp_path, quick=True, seed=2)
    runs = run_preset(es.models.Chemisorption(), dict(n_traj=3, t_final=400.0, points=64), out)
    for name, ds in runs.items():
        stored = config_of(ds)
        assert TABLES <= set(stored), name
        if name in ("single", "friction"):  # one trajectory at the wavepacket centre: an explicit State
            assert stored["initial"]["explicit_state"]
            continue
        cfg = Config.from_dict(stored, name)
        assert cfg.model.name == "chemisorption" and cfg.method.name == ds.attrs["method"]
