"""Checkpoint and restart, determinism and chunking: results bit for bit.

* a run interrupted at an arbitrary step and resumed from its checkpoint
  equals the uninterrupted run (library, every SPEED Hessian policy);
* ``ehrenspeed run`` killed with SIGKILL and resumed with ``--resume``
  equals an uninterrupted ``ehrenspeed run``;
* the same seed gives the same result; the chunk size changes nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.errors import InputError


def assert_identical(a, b):
    """Every variable and coordinate equal bit for bit."""
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert np.array_equal(a[name].values, b[name].values), name


class Stop(Exception):
    pass


METHODS = [es.Ehrenfest(), es.SPEED(), es.SPEED(hessian_every=3), es.SPEED(reference_hessian=True),
           es.SPEED(adaptive_tol=1e-4)]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: getattr(m, "policy", m.name))
def test_resume_is_bit_identical(tmp_path, pyrazine, method):
    kwargs = dict(method=method, n_traj=16, dt=4.0, t_final=80.0, output_every=3, seed=5,
                  save_trajectories=True)
    wp = pyrazine.initial_wavepacket()
    reference = es.run(pyrazine, wp, **kwargs)
    path = tmp_path / "run.npz"

    def crash(run):  # save at step 7 (mid-interval) and die, as a kill would
        if run.n_steps == 7:
            run.save_checkpoint(path)
            raise Stop

    sim = TrajectoryRun(pyrazine, wp, **kwargs)
    with pytest.raises(Stop):
        while not sim.done:
            sim.advance(None, crash)
    resumed = es.run(pyrazine, wp, checkpoint_path=path, resume=True, **kwargs)
    assert_identical(reference, resumed)
    for key in ("potential_evaluations", "gradient_evaluations", "hessian_evaluations", "n_steps"):
        assert reference.attrs[key] == resumed.attrs[key], key


def test_checkpoint_every_writes_and_keeps_file(tmp_path, pyrazine):
    path = tmp_path / "c.npz"
    es.run(pyrazine, pyrazine.initial_wavepacket(), n_traj=4, dt=4.0, t_final=40.0, seed=1,
           checkpoint_every=4, checkpoint_path=path)
    data = np.load(path, allow_pickle=False)
    assert {"q", "p", "c", "meta", "record/population"} <= set(data.files)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_checkpoint_of_another_run_is_refused(tmp_path, pyrazine):
    path = tmp_path / "c.npz"
    wp = pyrazine.initial_wavepacket()
    es.run(pyrazine, wp, n_traj=4, dt=4.0, t_final=20.0, seed=1, checkpoint_every=1, checkpoint_path=path)
    with pytest.raises(InputError, match="different configuration"):
        es.run(pyrazine, wp, n_traj=4, dt=2.0, t_final=20.0, seed=1, checkpoint_path=path, resume=True)
    # the chunk size does not change the result, so it may change on resume
    es.run(pyrazine, wp, n_traj=4, dt=4.0, t_final=20.0, seed=1, chunk_size=3, checkpoint_path=path, resume=True)


# Chunk sizes down to 1: every model computes each row in an order that does
# not depend on the batch size.
CHUNKS = [("pyrazine3", {}, (1, 2, 3, 4, 6, 12)), ("tully_simple", {"k0": 15.0}, (1, 7))]


@pytest.mark.parametrize("method", ["ehrenfest", "speed"])
@pytest.mark.parametrize("name, options, chunks", CHUNKS, ids=[c[0] for c in CHUNKS])
def test_same_seed_identical_and_chunking_irrelevant(method, name, options, chunks):
    model = es.models.get(name)
    wp = model.initial_wavepacket(**options)
    kwargs = dict(method=method, n_traj=24, dt=4.0, t_final=40.0, output_every=2, seed=11)
    a = es.run(model, wp, **kwargs)
    b = es.run(model, wp, **kwargs)
    assert_identical(a, b)
    for chunk in chunks:
        assert_identical(a, es.run(model, wp, chunk_size=chunk, **kwargs))
    other = es.run(model, wp, **{**kwargs, "seed": 12})
    assert not np.array_equal(a["position"].values, other["position"].values)


def test_energy_drift_warns_once(pyrazine):
    with pytest.warns(es.driver.EnergyDriftWarning, match="drifted by") as record:
        res = es.run(pyrazine, pyrazine.initial_wavepacket(), n_traj=8, dt=4.0, t_final=80.0, seed=1,
                     energy_drift_warning=1e-15)
    assert len([w for w in record if issubclass(w.category, es.driver.EnergyDriftWarning)]) == 1
    assert res.attrs["max_mean_energy_drift"] > 1e-15


KILL_CONFIG = """
[model]
name = "pyrazine3"
[method]
name = "speed"
[run]
n_traj = 32
dt = 2.0
t_final = 10000.0
output_every = 47
seed = 4
checkpoint_every = 5
"""
# about 5 s of propagation: long enough to be killed mid-run even with the
# compiled kernels, whose first checkpoint comes after a fraction of a second


def test_sigkill_and_resume_bit_identical(tmp_path):
    config = tmp_path / "kill.toml"
    config.write_text(textwrap.dedent(KILL_CONFIG))
    out, checkpoint = tmp_path / "kill.nc", tmp_path / "kill.nc.checkpoint.npz"
    cmd = [sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.005)
        time.sleep(0.05)  # let it get past the first checkpoint
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists(), "the run finished before it could be killed; make it longer"
    stderr = proc.stderr.read().decode()
    assert "%|" not in stderr  # no progress bar when stderr is not a terminal
    meta_steps = np.load(checkpoint)["q"].shape
    assert meta_steps == (32, 3)

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert not checkpoint.exists()  # removed once the result is written
    reference = tmp_path / "reference.nc"
    assert main(["run", "-q", str(config), "-o", str(reference)]) == 0
    assert_identical(es.load(out), es.load(reference))
