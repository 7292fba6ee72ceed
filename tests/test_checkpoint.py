"""Checkpoint and restart, determinism and chunking: results bit for bit.

* a run interrupted at an arbitrary step and resumed from its checkpoint
  equals the uninterrupted run (library, every SPEED Hessian policy);
* ``ehrenspeed run`` killed with SIGKILL and resumed with ``--resume``
  equals an uninterrupted ``ehrenspeed run``;
* the same seed gives the same result; the chunk size changes nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

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


# -- a resumed run is the uninterrupted run, or the resume is refused ----------------------

def tully():
    """A cheap model and the keyword arguments of a short run of it."""
    model = es.models.TullySimple()
    return model, model.initial_wavepacket(k0=15.0), dict(n_traj=3, dt=20.0, t_final=200.0, output_every=2,
                                                          seed=2)


def interrupt(path, model, initial, step=3, **kwargs):
    """Run until ``step``, write the checkpoint there and stop, as a killed job would."""
    def crash(run):
        if run.n_steps == step:
            run.save_checkpoint(path)
            raise Stop

    sim = TrajectoryRun(model, initial, **kwargs)
    with pytest.raises(Stop):
        while not sim.done:
            sim.advance(None, crash)
    return path


def resume_error(path, model, initial, **kwargs) -> str:
    """The one-line message of the InputError a resume raises."""
    with pytest.raises(InputError) as info:
        es.run(model, initial, checkpoint_path=path, resume=True, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def rewrite(path, arrays=None, meta=None):
    """Write a checkpoint's members again with some of them replaced (a damaged or edited file)."""
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    saved = json.loads(str(members["meta"]))
    saved.update(meta or {})
    members.update(arrays or {})
    members["meta"] = np.array(json.dumps(saved))
    np.savez(path, **members)


# item 1: the model's identity ---------------------------------------------------------------

USER_MODULE = """
import numpy as np

COUPLING = {coupling}


def potential(q):
    x = q[:, 0]
    v = np.empty((len(x), 2, 2))
    v[:, 0, 0] = 0.01 * np.tanh(x)
    v[:, 1, 1] = -v[:, 0, 0]
    v[:, 0, 1] = v[:, 1, 0] = COUPLING * np.exp(-x ** 2)
    return v
"""


def import_user_module(directory, name, coupling):
    """(Re)write and import a user's model module, as ``python_model`` does."""
    path = directory / f"{name}.py"
    path.write_text(USER_MODULE.format(coupling=coupling))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(name), path
    finally:
        sys.path.remove(str(directory))


def test_resume_after_editing_the_model_module_is_refused(tmp_path):
    module, source = import_user_module(tmp_path, "ckpt_user_model_a", 0.005)
    model = es.models.from_function(module.potential, 2, 1, 2000.0, name="mine")
    _, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    # unchanged: the resume is accepted and is the uninterrupted run
    assert_identical(es.run(model, wp, **kwargs), es.run(model, wp, checkpoint_path=path, resume=True, **kwargs))

    module, _ = import_user_module(tmp_path, "ckpt_user_model_a", 0.0125)
    edited = es.models.from_function(module.potential, 2, 1, 2000.0, name="mine")
    message = resume_error(path, edited, wp, **kwargs)
    assert f"the model's source file {source} changed since the checkpoint was written" in message
    assert str(path) in message


def couplings(coupling):
    """A callback whose number is not in its source, its name or the model's parameters."""
    def potential(q):
        v = np.zeros((len(q), 2, 2))
        v[:, 0, 0] = 0.01 * np.tanh(q[:, 0])
        v[:, 1, 1] = -v[:, 0, 0]
        v[:, 0, 1] = v[:, 1, 0] = coupling * np.exp(-q[:, 0] ** 2)
        return v
    return es.models.from_function(potential, 2, 1, 2000.0, name="mine")


def test_resume_with_another_potential_of_the_same_code_is_refused(tmp_path):
    _, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", couplings(0.005), wp, **kwargs)
    message = resume_error(path, couplings(0.0375), wp, **kwargs)
    assert "the model's potential at the probe geometry q = [0.0] differs by 0.0325 hartree" in message
    # a last-bit difference (another BLAS thread count) is the same model
    es.run(couplings(0.005 * (1 + 1e-15)), wp, checkpoint_path=path, resume=True, **kwargs)


def test_model_sources_name_user_code_only(tmp_path):
    from ehrenspeed.checkpoint import model_sources

    assert model_sources(es.models.TullySimple()) == []
    module, source = import_user_module(tmp_path, "ckpt_user_model_b", 0.01)
    sources = model_sources(es.models.from_function(module.potential, 2, 1, 2000.0))
    assert [(s["module"], s["path"]) for s in sources] == [("ckpt_user_model_b", str(source))]
    single = es.models.from_single_point(lambda q: module.potential(q[None])[0], 2, 1, 2000.0, executor="serial")
    assert [s["path"] for s in model_sources(single)] == [__file__]   # the lambda lives here

    class Subclass(es.models.TullySimple):
        pass

    assert [s["path"] for s in model_sources(Subclass())] == [__file__]


def test_probe_does_not_count_as_electronic_structure(tmp_path):
    """Writing checkpoints (the model's probe) and resuming change no count of the result."""
    base = es.models.TullySimple()
    model = es.models.from_single_point(lambda q: base.potential(q[None])[0], 2, 1, 2000.0, executor="serial")
    _, wp, kwargs = tully()
    reference = es.run(model, wp, **kwargs)
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    resumed = es.run(model, wp, checkpoint_path=path, resume=True, **kwargs)
    for key in ("electronic_structure_calls", "potential_evaluations", "gradient_evaluations"):
        assert resumed.attrs[key] == reference.attrs[key], key


# item 3: files that are not our checkpoints ------------------------------------------------

def _foreign_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a checkpoint")


def _npy(path):
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))


BROKEN = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "random bytes": lambda path: path.write_bytes(np.random.default_rng(0).bytes(3000)),
    "empty": lambda path: path.write_bytes(b""),
    "pickle": lambda path: path.write_bytes(pickle.dumps({"q": [1.0]})),
    "foreign zip": _foreign_zip,
    "npz without meta": lambda path: np.savez(path, q=np.zeros(3)),
    "object-array meta": lambda path: np.savez(path, meta=np.array([{"format_version": 2}], dtype=object)),
    "meta not JSON": lambda path: np.savez(path, meta=np.array("{format_version")),
    "numeric meta": lambda path: np.savez(path, meta=np.arange(3)),
    "bare npy": _npy,
}


@pytest.mark.parametrize("damage", BROKEN, ids=list(BROKEN))
def test_unreadable_checkpoint_is_one_input_error(tmp_path, damage):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    BROKEN[damage](path)
    message = resume_error(path, model, wp, **kwargs)
    assert message.startswith(f"cannot read checkpoint {str(path)!r}: not an ehrenspeed checkpoint"), message
    assert "pickle" not in message


def test_checkpoint_of_an_older_format_is_refused(tmp_path):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    rewrite(path, meta={"format_version": 1})
    assert "has format version 1, this ehrenspeed reads version 2" in resume_error(path, model, wp, **kwargs)


def test_command_line_resume_from_truncated_checkpoint(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(textwrap.dedent(KILL_CONFIG).replace("10000.0", "40.0"))
    out = tmp_path / "run.nc"
    checkpoint = tmp_path / "run.nc.checkpoint.npz"
    model = es.models.get("pyrazine3")
    interrupt(checkpoint, model, model.initial_wavepacket(), method="speed", n_traj=32, dt=2.0, t_final=40.0,
              output_every=47, seed=4)
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    assert main(["run", "-q", str(config), "-o", str(out), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: cannot read checkpoint {str(checkpoint)!r}: not an ehrenspeed checkpoint "
                   "(truncated or foreign file)")
    assert not out.exists()


# item 4: settings and arrays that do not fit -------------------------------------------------

@pytest.mark.parametrize("saved", [False, True])
def test_resume_after_switching_save_trajectories_is_refused(tmp_path, saved):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, save_trajectories=saved, **kwargs)
    message = resume_error(path, model, wp, save_trajectories=not saved, **kwargs)
    assert f"written with run.save_trajectories = {str(saved).lower()}, this run has" in message


def test_another_configuration_is_named(tmp_path):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    message = resume_error(path, model, wp, **{**kwargs, "dt": 10.0})
    assert "different configuration (run.dt: 20.0 in the checkpoint, 10.0 now" in message


DAMAGE = [
    ("q", {"q": np.zeros((2, 1))}, {}, "holds 'q' of shape (2, 1), this run needs (3, 1)"),
    ("records", {"record/population": np.zeros((7, 2))}, {}, "holds 'record/population' of shape (7, 2)"),
    ("missing array", {}, {"n_records": 1, "next_output": 1}, "no 'record/population'"),
    ("counters", {}, {"n_records": 9, "next_output": 9}, "9 records at output 9"),
    ("interval step", {}, {"interval_step": 999}, "step 999 of an interval"),
    ("missing key", {}, {"n_steps": None}, "damaged or incomplete"),
]


@pytest.mark.parametrize("name, arrays, meta, expected", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_checkpoint_that_does_not_fit_the_run_is_refused(tmp_path, name, arrays, meta, expected):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, **kwargs)
    if name == "missing array":
        with np.load(path, allow_pickle=False) as archive:
            members = {key: archive[key] for key in archive.files if key != "record/population"}
        np.savez(path, **members)
    rewrite(path, arrays, meta)
    message = resume_error(path, model, wp, **kwargs)
    assert expected in message and str(path) in message, message


def test_speed_checkpoint_without_its_source_counters_is_refused(tmp_path):
    model, wp, kwargs = tully()
    path = interrupt(tmp_path / "c.npz", model, wp, method="speed", **kwargs)
    rewrite(path, meta={"source": {}})
    assert "damaged or incomplete" in resume_error(path, model, wp, method="speed", **kwargs)


CLIFF = """
import numpy as np
import ehrenspeed as es

EDGE = {edge}


def potential(q):
    x = q[:, 0]
    v = np.zeros((len(x), 2, 2))
    v[:, 0, 0] = np.where(x < EDGE, -0.01 * x, np.nan)   # pushes towards the edge
    v[:, 1, 1] = 0.01
    v[:, 0, 1] = v[:, 1, 0] = 0.001
    return v


def gradient(q):
    g = np.zeros((len(q), 1, 2, 2))
    g[:, 0, 0, 0] = np.where(q[:, 0] < EDGE, -0.01, np.nan)
    return g


model = es.models.from_function(potential, 2, 1, 100.0, gradient=gradient, name="cliff")
"""

CLIFF_CONFIG = """
[model]
python_model = "ckpt_cliff:model"
[initial]
q0 = [-3.0]
p0 = [2.0]
width = [4.0]
[method]
name = "ehrenfest"
[run]
n_traj = 8
dt = 1.0
t_final = 400.0
checkpoint_every = 2
"""


def test_command_line_resume_after_editing_the_python_model_is_refused(tmp_path, capsys):
    """The user's run failed, they fix their module and --resume: the checkpoint is of the old model."""
    module = tmp_path / "ckpt_cliff.py"
    module.write_text(CLIFF.format(edge=0.5))
    config = tmp_path / "config.toml"
    config.write_text(CLIFF_CONFIG)
    sys.modules.pop("ckpt_cliff", None)
    assert main(["run", "-q", str(config)]) == 2   # NaN past the edge; the checkpoint is kept
    assert "checkpoint is kept" in capsys.readouterr().err
    checkpoint = tmp_path / "config.nc.checkpoint.npz"
    assert checkpoint.is_file()

    # V and dV/dq at the probe (q = 0) are unchanged: only the source tells the models apart
    module.write_text(CLIFF.format(edge=50.0))
    sys.modules.pop("ckpt_cliff", None)
    assert main(["run", "-q", str(config), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: cannot resume from checkpoint {str(checkpoint)!r}: the model's source file "
                   f"{module} changed since the checkpoint was written; start afresh without resuming")
    assert not (tmp_path / "config.nc").exists()
