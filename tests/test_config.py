"""Configuration files: every example validates, builds, runs, and round-trips."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.config import Config, load_config
from ehrenspeed.models import REGISTRY

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


def test_an_example_for_every_builtin_model():
    names = {load_config(path).model.name for path in EXAMPLES}
    assert set(REGISTRY) <= names


@pytest.mark.filterwarnings("ignore::ehrenspeed.grid.GridEdgeWarning")  # the grid is cut to 64 points
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_builds_runs_and_round_trips(path):
    cfg = load_config(path)
    again = Config.from_dict(cfg.to_dict(), cfg.source, cfg.base_dir)
    assert again.to_dict() == cfg.to_dict()
    prepared = cfg.build()
    assert prepared.model.n_dof == prepared.wavepacket.n_dof
    # a few steps only: the examples' full lengths are for users
    short = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, t_final=2 * cfg.run.dt, n_traj=3,
                                                             output_every=1, output_times=None))
    kwargs = short.run_kwargs()
    if cfg.method.name == "exact":
        from ehrenspeed.grid import Grid, run_exact

        g = cfg.grid
        grid = Grid(g.lower, g.upper, [min(p, 64) for p in g.points])
        res = run_exact(prepared.model, prepared.wavepacket, grid, **kwargs)
    else:
        res = es.run(prepared.model, prepared.wavepacket, prepared.method, **kwargs)
    assert res.sizes["time"] == 3
    assert np.all(np.isfinite(res["population"].values))


def test_defaults_and_types(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nname = "tully_simple"\n[method]\nname = "speed"\n[run]\ndt = 2\nt_final = 10\n')
    cfg = load_config(path)
    assert cfg.run == es.config.RunConfig(dt=2.0, t_final=10.0)
    assert isinstance(cfg.run.dt, float) and cfg.run.n_traj == 100 and cfg.run.seed == 0
    assert cfg.method == es.config.MethodConfig("speed")
    assert cfg.initial.from_model
    assert cfg.output_path() == tmp_path / "c.nc"
    assert cfg.checkpoint_path() == tmp_path / "c.nc.checkpoint.npz"
    assert cfg.output_path("x/y.nc") == Path("x/y.nc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.run.dt = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.model.parameters["a"] = 1  # read-only mapping


def test_explicit_wavepacket_and_grid(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("""
[model]
name = "jahn_teller"
[initial]
q0 = [3.0, 0.0]
width = [[1.0, 0.0], [0.0, 1.0]]
state = [0.0, 1.0]
[method]
name = "exact"
[grid]
lower = -6
upper = 6
points = [16, 16]
[run]
dt = 0.05
t_final = 0.2
output_times = [0.1, 0.2]
""")
    cfg = load_config(path)
    assert cfg.grid.lower == (-6.0, -6.0) and cfg.grid.points == (16, 16)
    prepared = cfg.build()
    np.testing.assert_array_equal(prepared.wavepacket.q0, [3.0, 0.0])
    assert prepared.grid.shape == (16, 16)
    assert Config.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


def test_complex_amplitudes_build_and_round_trip(tmp_path):
    """``state = {real, imag}`` (the layout results store) gives the complex electronic state."""
    path = tmp_path / "c.toml"
    path.write_text("""
[model]
name = "tully_simple"
[initial]
q0 = [-5.0]
p0 = [10.0]
width = [1.0]
state = {real = [0.6, 0.0], imag = [0.0, 0.8]}
[method]
name = "ehrenfest"
[run]
n_traj = 2
dt = 1.0
t_final = 2.0
""")
    cfg = load_config(path)
    prepared = cfg.build()
    np.testing.assert_allclose(prepared.wavepacket.state, [0.6, 0.8j])
    assert Config.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
