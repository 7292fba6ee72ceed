"""The command line: run, re-run from a result, plot, models, warnings."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.config import load_config

CONFIG = """
[model]
name = "linear_crossing"
[initial]
from_model = true
[method]
name = "speed"
[run]
n_traj = 16
dt = 20.0
t_final = 400.0
output_every = 2
seed = 2
[output]
path = "lc.nc"
"""


def test_models_subcommand():
    out = subprocess.run([sys.executable, "-m", "ehrenspeed.cli.main", "models"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pyrazine3:" in out.stdout and "tully_simple:" in out.stdout


def test_run_rerun_and_plot(tmp_path, capsys):
    config = tmp_path / "lc.toml"
    config.write_text(CONFIG)
    assert main(["run", str(config)]) == 0
    assert "wrote" in capsys.readouterr().err
    result = tmp_path / "lc.nc"
    ds = es.load(result)
    stored = json.loads(ds.attrs["config"])
    assert stored["run"]["n_traj"] == 16 and stored["method"]["hessian_every"] == 1
    assert load_config(result).to_dict()["run"] == load_config(config).to_dict()["run"]
    # re-run from the result file: same numbers
    assert main(["run", "-q", str(result)]) == 0
    rerun = es.load(tmp_path / "lc.rerun.nc")
    for name in ds.data_vars:
        assert np.array_equal(ds[name].values, rerun[name].values), name
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    # the figure
    figure = tmp_path / "fig.png"
    assert main(["plot", str(result), "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000
    import matplotlib.image

    image = matplotlib.image.imread(figure)
    assert image.shape[0] > 500 and image.shape[1] > 500
    assert main(["plot", str(result)]) == 0
    assert (tmp_path / "lc.png").is_file()


def test_exact_from_config_and_plot(tmp_path):
    config = tmp_path / "ex.toml"
    config.write_text(textwrap.dedent("""
        [model]
        name = "tully_simple"
        [initial]
        k0 = 15.0
        [method]
        name = "exact"
        [grid]
        lower = -20.0
        upper = 20.0
        points = 256
        [run]
        dt = 20.0
        t_final = 200.0
        """))
    assert main(["run", "-q", str(config)]) == 0
    ds = es.load(tmp_path / "ex.nc")
    assert ds.attrs["method"] == "exact" and ds.sizes["time"] == 11
    assert load_config(tmp_path / "ex.nc").grid.points == (256,)
    assert main(["plot", str(tmp_path / "ex.nc")]) == 0
    assert (tmp_path / "ex.png").stat().st_size > 20_000


def test_energy_drift_warning_is_one_line_once(tmp_path, capsys):
    config = tmp_path / "lc.toml"
    config.write_text(CONFIG.replace("seed = 2", "seed = 2\nenergy_drift_warning = 1e-14"))
    assert main(["run", "-q", str(config)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: mean total energy drifted by") == 1
    assert len(err.strip().splitlines()) == 1
