"""What the user reads matches what the code does: model listing, grids, citations, figures."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main

SRC = Path(__file__).resolve().parents[1] / "src" / "ehrenspeed"


# -- ehrenspeed models -----------------------------------------------------------------------

def test_models_listing_gives_every_parameter_a_unit_and_no_none(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "``" not in out and ":class:" not in out          # no reST markup on the terminal
    params = [line for line in out.splitlines() if line.startswith("    ") and " = " in line]
    assert len(params) > 40
    for line in params:
        # "    name = value  (unit)": the unit in parentheses closes every parameter line
        assert re.search(r"\)\s*$", line) and "  (" in line, line
    assert "(bohr)" in out and "(eV)" in out and "(hartree)" in out
    assert "1 coordinate (bohr)" in out and "(dimensionless)" in out


def test_every_built_in_model_lists_units_for_all_its_parameters():
    for key, cls in es.models.REGISTRY.items():
        model = cls()
        assert model.coordinate_unit != "coordinate units", key
        missing = set(model.parameters()) - set(cls.parameter_units)
        assert not missing, (key, missing)


def test_mistyped_model_name_suggests_the_closest(capsys):
    assert main(["models", "tuly_simple"]) == 2
    err = capsys.readouterr().err
    assert "error: unknown model 'tuly_simple'; did you mean 'tully_simple'?" in err


def test_one_model_by_name(capsys):
    assert main(["models", "Retinal"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("retinal: ") and "phi_start = " in out and "(rad)" in out


# -- pyrazine: the documented grid is wide enough ------------------------------------------------

def test_pyrazine_quick_grid_raises_no_edge_warning():
    """The exact part of ``reproduce pyrazine --quick`` with warnings as errors.

    (The whole quick reproduction takes longer than a unit test should on
    the shared machine; its only GridEdgeWarning source is this run.)
    """
    from ehrenspeed.reproduce import pyrazine

    cfg = pyrazine.settings(quick=True)
    model = es.models.Pyrazine3()
    grid = es.Grid(list(pyrazine.GRID_LOWER), list(pyrazine.GRID_UPPER), list(cfg["points"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", es.GridEdgeWarning)
        ds = es.run_exact(model, model.initial_wavepacket(), grid, dt=pyrazine.DT, t_final=cfg["t_final"],
                          output_every=cfg["output_every"])
    assert ds.attrs["max_edge_density"] < 1e-7


def test_the_old_pyrazine_box_did_reach_the_edge():
    """The check the new box avoids is real: [-8, 8] along nu10a fills its edge by 1000 a.u."""
    model = es.models.Pyrazine3()
    grid = es.Grid([-8.0] * 3, [8.0] * 3, [32] * 3)
    with pytest.warns(es.GridEdgeWarning):
        es.run_exact(model, model.initial_wavepacket(), grid, dt=4.13, t_final=1000.0, output_every=10)


def test_reproduce_prints_warnings_as_one_line(tmp_path, capsys, monkeypatch):
    """``reproduce`` shows a warning as ``warning: ...``, not as a Python source excerpt."""
    import ehrenspeed.reproduce as rep

    def fake(name, directory, quick=False, seed=1, progress=False, parameters=None):
        warnings.warn("first line\n   second line", UserWarning)
        out = rep.Output(tmp_path / "o", quick=quick)
        out.summary["wall_time_s"] = 0.0
        return out

    monkeypatch.setattr(rep, "reproduce", fake)
    assert main(["reproduce", "pyrazine", "--quick", "-o", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "warning: first line second line" in err
    assert "UserWarning" not in err


# -- citations -----------------------------------------------------------------------------------

def test_speed_paper_is_cited_with_its_real_authors():
    text = (SRC / "potentials.py").read_text()
    assert "Scheidegger" in text and "044105" in text
    assert "Kang, Ren" not in text


def test_no_reference_to_specification_files_outside_the_repository():
    # driver.py keeps two such mentions for now: it is another developer's file in this round
    paths = [p for p in SRC.rglob("*.py") if p.name != "driver.py"]
    paths += list((SRC.parents[1] / "docs").glob("*.md")) + [SRC.parents[1] / "README.md"]
    for path in paths:
        text = path.read_text()
        for name in ("API.md", "MODELS.md", "DESIGN.md"):
            assert name not in text, (path, name)
    for path in (SRC.parents[1] / "docs").glob("*.md"):
        assert "SPEC" not in path.read_text(), path      # the specification is not shipped either


# -- figures -------------------------------------------------------------------------------------

def _short_chemisorption_run():
    model = es.models.get("chemisorption")
    return es.run(model, model.initial_wavepacket(), "speed", n_traj=4, dt=50.0, t_final=500.0, seed=1)


def test_45_state_plot_has_few_lines_per_panel_and_legends(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from ehrenspeed.plotting import plot_result

    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))   # keep the figure to look at
    ds = _short_chemisorption_run()
    plot_result(ds, tmp_path / "chem.png")
    real_close("all")
    fig = figures[-1]
    assert (tmp_path / "chem.png").stat().st_size > 0
    panels = [ax for ax in fig.axes if ax.get_ylabel()]
    assert len(panels) == 4                       # diabatic, adiabatic, <q>, energies
    for ax in panels:
        drawn = [line for line in ax.get_lines() if len(line.get_xdata())]
        assert len(drawn) <= 12, (ax.get_ylabel(), len(drawn))
        assert ax.get_legend() is not None, ax.get_ylabel()
    labels = [t.get_text() for t in panels[0].get_legend().get_texts()]
    assert any(label.startswith("layer 0") for label in labels)
    labels = [t.get_text() for t in panels[1].get_legend().get_texts()]
    assert any("other" in label and "summed" in label for label in labels)
    assert panels[2].get_ylabel() == "<q> / bohr"
    # time in fs on top of the first panel (1 a.u. = 0.02418884 fs)
    assert any(getattr(child, "get_xlabel", lambda: "")() == "time / fs" for child in panels[0].get_children())


# -- energy-drift warnings of SPEED --------------------------------------------------------------

EXAMPLES = SRC.parents[1] / "examples"


def _speed_examples():
    from ehrenspeed.config import load_config

    found = []
    for path in sorted(EXAMPLES.glob("*.toml")):
        cfg = load_config(path)
        if cfg.method.name == "speed":
            found.append((path.stem, cfg))
    return found


def test_there_are_speed_examples():
    names = [name for name, _ in _speed_examples()]
    assert {"tully_dual", "retinal", "pyrazine3", "chemisorption"} <= set(names)


@pytest.mark.parametrize("name", ["tully_dual", "retinal", "linear_crossing", "jahn_teller", "pyrazine3",
                                  "user_model", "chemisorption", "chemisorption_reversing"])
def test_speed_example_runs_without_drift_warning(name, monkeypatch):
    """A reduced run of each SPEED example gives no drift warning.

    32 trajectories and up to 1500 steps; retinal 128 trajectories to
    4000 a.u. Both tully_dual (9e-3 hartree by 2000 a.u.) and retinal
    (9e-3 by 4000 a.u.) pass the default 1e-3 threshold in these reduced
    runs, so without the thresholds their configurations set this fails.
    """
    from ehrenspeed.config import load_config
    from ehrenspeed.driver import EnergyDriftWarning

    monkeypatch.chdir(EXAMPLES)          # user_model.toml finds user_model.py next to it
    monkeypatch.syspath_prepend(str(EXAMPLES))
    cfg = load_config(EXAMPLES / f"{name}.toml")
    prepared = cfg.build()
    kwargs = cfg.run_kwargs()
    steps = 600 if name.startswith("chemisorption") else 1500
    kwargs["t_final"] = min(kwargs["t_final"], steps * kwargs["dt"])
    kwargs["n_traj"] = min(kwargs.get("n_traj", 32), 32)
    if name == "retinal":
        kwargs["t_final"], kwargs["n_traj"] = 4000.0, 128
    kwargs.pop("output_times", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EnergyDriftWarning)
        es.run(prepared.model, prepared.wavepacket, prepared.method, **kwargs)


def test_speed_drift_warning_does_not_blame_the_time_step():
    from ehrenspeed.driver import EnergyDriftWarning

    model = es.models.get("tully_dual")
    wp = model.initial_wavepacket(k0=20.0)
    with pytest.warns(EnergyDriftWarning) as record:
        es.run(model, wp, "speed", n_traj=32, dt=5.0, t_final=2000.0, seed=1, energy_drift_warning=1e-4)
    text = str(record[0].message)
    assert "not the time step" in text and "smaller dt" not in text.replace("a smaller dt will not", "")
    with pytest.warns(EnergyDriftWarning) as record:
        es.run(model, wp, "ehrenfest", n_traj=8, dt=40.0, t_final=2000.0, seed=1, energy_drift_warning=1e-12)
    assert "consider a smaller dt" in str(record[0].message)


def test_layer_grouping_found_in_every_kind_of_result():
    """Trajectory runs, exact runs and configuration files store the model parameters differently."""
    import json

    import xarray as xr

    from ehrenspeed.plotting import _layers

    def result(config, model="chemisorption"):
        return xr.Dataset({"population": (("time", "state"), np.zeros((2, 45)))},
                          attrs={"model": model, "config": json.dumps(config)})

    assert _layers(result({"model": {"name": "chemisorption", "parameters": {"states_per_layer": 5}}})) == 5
    assert _layers(result({"model": "chemisorption", "model_parameters": {"states_per_layer": 5}})) == 5
    assert _layers(result({"model": {"name": "chemisorption", "parameters": {}}})) == 5   # the default
    assert _layers(result({"model": {"name": "x", "parameters": {}}}, model="user")) is None
