"""Bad input to ``ehrenspeed run``: one line naming the problem, exit 2, no traceback, no file.

Each case writes a configuration (and, where needed, a user model module)
into a fresh directory and runs the command in-process through
:func:`ehrenspeed.cli.main.main`, which is what the console script calls;
two cases go through a real subprocess to check the exit status and the
absence of a traceback end to end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main

GOOD = """
[model]
name = "tully_simple"
{model_extra}
[initial]
from_model = true
{initial_extra}
[method]
name = "{method}"
{method_extra}
[run]
n_traj = {n_traj}
dt = {dt}
t_final = {t_final}
seed = 3
{run_extra}
"""

USER_MODEL = """
[model]
python_model = "{module}:make"

[initial]
q0 = [-1.0]
width = [1.0]

[method]
name = "ehrenfest"

[run]
n_traj = 4
dt = 1.0
t_final = 4.0
"""

USER_MODULES = {
    "nonhermitian": "v[:, 0, 1] = 0.1; v[:, 1, 0] = -0.3",
    "nan": "v[:, 0, 0] = np.nan",
    "shape": "v = v[:, :1, :]",
}


def good(**changes) -> str:
    fields = {"model_extra": "", "initial_extra": "", "method": "ehrenfest", "method_extra": "",
              "n_traj": 4, "dt": 2.0, "t_final": 8.0, "run_extra": ""}
    fields.update(changes)
    return GOOD.format(**fields)


def user_module(kind: str, name: str) -> str:
    """A module with ``make()`` returning a broken two-state model (shape checks off)."""
    return textwrap.dedent(f"""
        import numpy as np
        from ehrenspeed.models.base import Model

        class Broken(Model):
            n_states, n_dof, name = 2, 1, "{name}"
            mass = np.array([2000.0])
            def potential(self, q):
                v = np.zeros((len(q), 2, 2))
                {USER_MODULES[kind]}
                return v

        def make():
            return Broken()
        """)


#: User modules that end the interpreter instead of making a model.
EXITING_MODULES = {
    "exits_on_import": "import sys\nsys.exit(0)\n",
    "exits_in_factory": "import sys\n\ndef make():\n    sys.exit(3)\n",
}

#: A model whose potential is NaN on 3 < x < 5 only: the two trajectories of
#: SPEED_AT_NAN start at x = 6.45 and 1.32 (seed 3), their mean at 3.89.
NAN_AT_MEAN_MODULE = """
import numpy as np
from ehrenspeed.models.base import Model

class HoleInTheMiddle(Model):
    n_states, n_dof, name = 2, 1, "hole"
    mass = np.array([2000.0])
    def potential(self, q):
        x = q[:, 0]
        v = np.zeros((len(x), 2, 2))
        v[:, 0, 0] = np.where((x > 3.0) & (x < 5.0), np.nan, 0.01 * x)
        v[:, 0, 1] = v[:, 1, 0] = 0.001
        return v

def make():
    return HoleInTheMiddle()
"""

SPEED_AT_NAN = """
[model]
python_model = "nan_at_mean:make"
[initial]
q0 = [0.0]
width = [0.05]
[method]
name = "speed"
[run]
n_traj = 2
seed = 3
dt = 1.0
t_final = 4.0
"""


def explicit(q0="[-5.0]", p0="[10.0]", width="[1.0]", state=None, **changes) -> str:
    """:func:`good` with an explicit Gaussian instead of the model's wavepacket."""
    lines = f"q0 = {q0}\np0 = {p0}\nwidth = {width}" + ("" if state is None else f"\nstate = {state}")
    return good(**changes).replace("from_model = true", lines)


def other_model(name: str, **changes) -> str:
    """:func:`good` with another built-in model."""
    return good(**changes).replace('name = "tully_simple"', f'name = "{name}"')


def python_model(module: str) -> str:
    """:func:`good` with ``module:make`` as the model."""
    return good().replace('name = "tully_simple"', f'python_model = "{module}:make"')


PARAMETERS = "[model.parameters]\n"


def _checkpoint_of_other_config(tmp: Path) -> None:
    """A checkpoint written by a run with another seed, where config.toml's checkpoint goes."""
    model = es.models.TullySimple()
    es.run(model, model.initial_wavepacket(), n_traj=4, dt=2.0, t_final=8.0, seed=99,
           checkpoint_every=1, checkpoint_path=tmp / "out.nc.checkpoint.npz")


# name, configuration text (or None: no file), extra arguments, setup(tmp), expected text
CASES = [
    ("missing file", None, [], None, "no such file"),
    ("toml syntax", "[model\nname = 'x'", [], None, "TOML syntax error"),
    ("not text", b"\x00\xff\xfe binary", [], None, "UTF-8"),
    ("unknown table", good() + "\n[extra]\nx = 1\n", [], None, "unknown table 'extra'"),
    ("unknown key", good(run_extra="dtt = 3.0"), [], None, "unknown key 'run.dtt'"),
    ("missing key", good().replace("dt = 2.0", ""), [], None, "missing key 'run.dt'"),
    ("unknown model", good().replace("tully_simple", "tully_simpel"), [], None, "unknown model 'tully_simpel'"),
    ("unknown method", good(method="surface_hopping"), [], None, "key 'method.name'"),
    ("unknown integrator", good(run_extra='integrator = "euler"'), [], None, "key 'run.integrator'"),
    ("unknown model parameter", good(model_extra="[model.parameters]\nmas = 3.0"), [], None,
     "unknown key 'model.parameters.mas'"),
    ("unknown initial option", good(initial_extra="temperature = 300.0"), [], None, "initial.temperature"),
    ("wrong type", good(dt='"two"'), [], None, "key 'run.dt' must be a number"),
    ("wrong type bool", good(n_traj="true"), [], None, "key 'run.n_traj' must be an integer"),
    ("negative mass", good(model_extra="[model.parameters]\nmass = -2000.0"), [], None, "mass must be positive"),
    ("zero mass", good(model_extra="[model.parameters]\nmass = 0.0"), [], None, "mass must be positive"),
    ("dt zero", good(dt=0.0), [], None, "key 'run.dt' must be positive"),
    ("dt negative", good(dt=-1), [], None, "key 'run.dt' must be positive"),
    ("t_final below dt", good(t_final=1.0), [], None, "key 'run.t_final' must be at least"),
    ("n_traj zero", good(n_traj=0), [], None, "key 'run.n_traj' must be at least 1"),
    ("output_every zero", good(run_extra="output_every = 0"), [], None, "run.output_every"),
    ("two hessian policies", good(method="speed", method_extra="hessian_every = 2\nadaptive_tol = 1e-3"),
     [], None, "one Hessian policy"),
    ("speed key on ehrenfest", good(method_extra="hessian_every = 2"), [], None, "method.hessian_every"),
    ("exact without grid", good(method="exact").replace("n_traj = 4", "").replace("seed = 3", ""), [], None,
     "needs a [grid]"),
    ("grid with ehrenfest", good() + "\n[grid]\nlower = -1\nupper = 1\npoints = 8\n", [], None,
     "[grid] is only used"),
    ("explicit q0 wrong length",
     good().replace("from_model = true", "q0 = [1.0, 2.0]\nwidth = [1.0, 1.0]"), [], None, "initial.q0"),
    ("non-Hermitian user potential", USER_MODEL.format(module="bad_herm"), [], "nonhermitian",
     "not Hermitian"),
    ("NaN from user potential", USER_MODEL.format(module="bad_nan"), [], "nan", "NaN"),
    ("wrong shape from user potential", USER_MODEL.format(module="bad_shape"), [], "shape",
     "returned shape"),
    ("python_model missing module", USER_MODEL.format(module="no_such_module_xyz"), [], None,
     "cannot import module"),
    ("output in missing directory", good(), ["-o", "{tmp}/missing/out.nc"], None, "does not exist"),
    ("output is a directory", good(), ["-o", "{tmp}/adir"], "mkdir", "is a directory"),
    ("output under a file", good(), ["-o", "{tmp}/afile/out.nc"], "file", "not a directory"),
    ("resume without checkpoint", good(), ["--resume"], None, "no checkpoint"),
    ("checkpoint of another config", good(), ["--resume"], "other-checkpoint", "different configuration"),
    # model parameters and initial options of the wrong type, length or value
    ("model parameter string", good(model_extra=PARAMETERS + 'a = "big"'), [], None,
     "key 'model.parameters.a' must be a number, got str 'big'"),
    ("model parameter boolean", good(model_extra=PARAMETERS + "a = true"), [], None,
     "key 'model.parameters.a' must not be a boolean"),
    ("initial state boolean", good(initial_extra="state = true"), [], None,
     "key 'initial.state' must not be a boolean"),
    ("model parameter list for a number", good(model_extra=PARAMETERS + "mass = [1.0, 2.0]"), [], None,
     "key 'model.parameters.mass'"),
    ("vibronic omega wrong length", other_model("pyrazine_sd", model_extra=PARAMETERS + "omega = [0.1]"),
     [], None, "key 'model.parameters.omega' must have 3 entries"),
    ("model count zero", other_model("chemisorption", model_extra=PARAMETERS + "n_layers = 0"), [], None,
     "key 'model.parameters.n_layers'"),
    ("model parameter nan", good(model_extra=PARAMETERS + "a = nan"), [], None,
     "key 'model.parameters.a' must be finite"),
    ("initial option string", good(initial_extra='k0 = "fast"'), [], None,
     "key 'initial.k0' must be a number, got str 'fast'"),
    ("initial temperature string", other_model("furan_dimer", initial_extra='temperature = "room"'), [],
     None, "key 'initial.temperature' must be a number"),
    ("initial temperature nan", other_model("furan_dimer", initial_extra="temperature = nan"), [], None,
     "key 'initial.temperature' must be finite"),
    ("initial temperature negative", other_model("furan_dimer", initial_extra="temperature = -5.0"), [],
     None, "key 'initial.temperature'"),
    ("initial k0 overflows", good(initial_extra="k0 = 1e200"), [], None, "key 'initial.k0'"),
    ("initial p0 overflows", explicit(p0="[1e200]"), [], None, "key 'initial.p0'"),
    ("width wrong length", explicit(width="[1.0, 2.0]"), [], None,
     "key 'initial.width' must have 1 entry (one per coordinate), got 2"),
    ("state index out of range", explicit(state=5), [], None, "key 'initial.state' 5 is out of range"),
    ("state amplitudes wrong length", explicit(state="[1.0, 0.0, 0.0]"), [], None,
     "key 'initial.state' has 3 amplitudes"),
    ("state amplitudes all zero", explicit(state="[0.0, 0.0]"), [], None,
     "key 'initial.state' amplitudes are all zero"),
    ("complex amplitudes wrong length",
     explicit(state="{real = [1.0, 0.0, 0.0], imag = [0.0, 0.0, 0.0]}"), [], None,
     "key 'initial.state' has 3 amplitudes"),
    # runs too long or too large for the machine
    ("grid beyond memory",
     good(method="exact").replace("n_traj = 4", "").replace("seed = 3", "")
     + "\n[grid]\nlower = -10\nupper = 10\npoints = 10000000000000\n", [], None, "key 'grid.points'"),
    ("seed beyond int64", good().replace("seed = 3", f"seed = {2**64}"), [], None,
     "key 'run.seed' must be at most"),
    ("n_traj beyond memory", good(n_traj=10**12), [], None, "key 'run.n_traj'"),
    ("n_traj beyond int64", good(n_traj=10**20), [], None, "key 'run.n_traj'"),
    ("saved trajectories beyond memory", good(n_traj=10**12, run_extra="save_trajectories = true"), [], None,
     "keys 'run.n_traj' and 'run.save_trajectories'"),
    ("t_final too many steps", good(t_final="1e15"), [], None, "keys 'run.t_final' and 'run.dt'"),
    ("dt too many steps", good(dt="1e-300"), [], None, "keys 'run.t_final' and 'run.dt'"),
    ("output_every huge", good(run_extra=f"output_every = {10**400}"), [], None,
     "key 'run.output_every' must be at most 1000000000"),
    ("checkpoint_every huge", good(run_extra=f"checkpoint_every = {10**20}"), [], None,
     "key 'run.checkpoint_every' must be at most 1000000000"),
    # silent early end
    ("output_times end before t_final", good(run_extra="output_times = [2.0, 4.0]"), [], None,
     "key 'run.output_times' ends at 4, before run.t_final = 8"),
    # messages that named neither file nor key
    ("reference_geometry wrong length",
     good(method="speed", method_extra="reference_hessian = true\nreference_geometry = [1.0, 2.0, 3.0]"),
     [], None, "key 'method.reference_geometry' has 3 entries"),
    ("SPEED potential NaN at the mean", SPEED_AT_NAN, [], "module:nan_at_mean",
     "at the ensemble mean (SPEED's expansion point) q = [3.88"),
    # user code that exits instead of returning a model
    ("python_model exits on import", python_model("exits_on_import"), [], "module:exits_on_import",
     "key 'model.python_model': importing 'exits_on_import' called sys.exit(0)"),
    ("python_model factory exits", python_model("exits_in_factory"), [], "module:exits_in_factory",
     "key 'model.python_model': exits_in_factory:make() called sys.exit(3)"),
    ("empty output path", good(), ["-o", ""], None, "names no file"),
    ("output path is a dot", good(), ["-o", "."], None, "names no file"),
    ("initial state option out of range", good(initial_extra="state = 5"), [], None, "initial.state"),
    ("unknown command-line option", good(), ["--bogus"], None, "No such option '--bogus'"),
    ("resume and fresh together", good(), ["--resume", "--fresh"], None, "contradict"),
    ("tged with several trajectories", good(method="tged"), [], None, "key 'run.n_traj' must be 1"),
    ("tged with checkpoints", good(method="tged", n_traj=1, run_extra="checkpoint_every = 2"), [], None,
     "run.checkpoint_every"),
    ("tged unknown potential", good(method="tged", n_traj=1, method_extra='potential = "magic"'), [], None,
     "method.potential"),
    ("potential given to speed", good(method="speed", method_extra='potential = "variational"'), [], None,
     "is only used with method 'tged'"),
    # multi-centre SPEED
    ("centres zero", good(method="speed", method_extra="centres = 0"), [], None,
     "key 'method.centres' must be a positive integer or 'adaptive', got int 0"),
    ("centres a word", good(method="speed", method_extra='centres = "many"'), [], None,
     "key 'method.centres' must be a positive integer or 'adaptive'"),
    ("centres a float", good(method="speed", method_extra="centres = 2.5"), [], None, "key 'method.centres'"),
    ("centres on ehrenfest", good(method_extra="centres = 4"), [], None, "key 'method.centres' is only used"),
    ("max_centres with fixed centres", good(method="speed", method_extra="centres = 2\nmax_centres = 4"), [],
     None, "key 'method.max_centres' is only used with centres = 'adaptive'"),
    ("max_centres zero", good(method="speed", method_extra='centres = "adaptive"\nmax_centres = 0'), [],
     None, "key 'method.max_centres' must be at least 1"),
    ("regroup_every with one centre", good(method="speed", method_extra="regroup_every = 5"), [], None,
     "key 'method.regroup_every' is only used"),
    ("regroup_every negative", good(method="speed", method_extra="centres = 2\nregroup_every = -1"), [], None,
     "key 'method.regroup_every' must be at least 1"),
    ("mctdh operator file missing", good().replace('name = "tully_simple"', 'mctdh_operator = "nosuch.op"'), [],
     None, "key 'model.mctdh_operator': operator file"),
]


def _prepare(tmp: Path, text, setup) -> Path:
    config = tmp / "config.toml"
    if text is not None:
        config.write_bytes(text if isinstance(text, bytes) else text.encode())
    if setup in USER_MODULES:
        module = {"nonhermitian": "bad_herm", "nan": "bad_nan", "shape": "bad_shape"}[setup]
        sys.modules.pop(module, None)
        (tmp / f"{module}.py").write_text(user_module(setup, module))
    elif setup is not None and setup.startswith("module:"):
        module = setup.partition(":")[2]
        sys.modules.pop(module, None)
        source = NAN_AT_MEAN_MODULE if module == "nan_at_mean" else EXITING_MODULES[module]
        (tmp / f"{module}.py").write_text(source)
    elif setup == "mkdir":
        (tmp / "adir").mkdir()
    elif setup == "file":
        (tmp / "afile").write_text("")
    elif setup == "other-checkpoint":
        _checkpoint_of_other_config(tmp)
    return config


@pytest.mark.parametrize("name, text, extra, setup, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, name, text, extra, setup, expected):
    config = _prepare(tmp_path, text, setup)
    before = set(p.name for p in tmp_path.rglob("*"))
    args = ["run", str(config), "-o", str(tmp_path / "out.nc")] + [a.format(tmp=tmp_path) for a in extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert expected in lines[0], err
    assert "Traceback" not in err
    after = set(p.name for p in tmp_path.rglob("*"))
    assert after == before, f"files created: {after - before}"


def test_enough_kinds_of_bad_input():
    assert len(CASES) >= 20


def test_unwritable_directory(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    (tmp_path / "config.toml").write_text(good())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["run", str(tmp_path / "config.toml"), "-o", str(locked / "out.nc")]) == 2
    finally:
        locked.chmod(0o755)
    assert "not writable" in capsys.readouterr().err
    assert not any(locked.iterdir())


def test_subprocess_exit_status_and_traceback(tmp_path):
    """End to end: exit status 2, one line; with --traceback the trace is shown."""
    config = tmp_path / "config.toml"
    config.write_text(good(dt=-1))
    cmd = [sys.executable, "-m", "ehrenspeed.cli.main"]
    out = subprocess.run(cmd + ["run", str(config)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {config}: key 'run.dt' must be positive, got -1"
    assert out.stdout == ""
    out = subprocess.run(cmd + ["--traceback", "run", str(config)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Traceback" in out.stderr and "InputError" in out.stderr
    assert not (tmp_path / "config.nc").exists()


def test_nan_during_run_names_step_and_trajectory_and_keeps_checkpoint(tmp_path, capsys):
    """A potential that is fine where the run starts but NaN further on."""
    (tmp_path / "cliff.py").write_text(textwrap.dedent("""
        import numpy as np
        import ehrenspeed as es

        def potential(q):
            x = q[:, 0]
            v = np.zeros((len(x), 2, 2))
            v[:, 0, 0] = np.where(x < 0.5, -0.01 * x, np.nan)   # pushes towards x > 0
            v[:, 1, 1] = 0.01
            v[:, 0, 1] = v[:, 1, 0] = 0.001
            return v

        def gradient(q):
            g = np.zeros((len(q), 1, 2, 2))
            g[:, 0, 0, 0] = np.where(q[:, 0] < 0.5, -0.01, np.nan)
            return g

        model = es.models.from_function(potential, 2, 1, 100.0, gradient=gradient,
                                        hessian=lambda q: np.zeros((len(q), 1, 1, 2, 2)), name="cliff")
        """))
    sys.modules.pop("cliff", None)
    (tmp_path / "config.toml").write_text(textwrap.dedent("""
        [model]
        python_model = "cliff:model"
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
        """))
    assert main(["run", str(tmp_path / "config.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "non-finite" in err and "at step" in err and "in trajectory" in err and "checkpoint is kept" in err
    assert (tmp_path / "config.nc.checkpoint.npz").is_file()
    assert not (tmp_path / "config.nc").exists()
    arrays = np.load(tmp_path / "config.nc.checkpoint.npz")
    assert np.all(np.isfinite(arrays["q"]))


# -- the same checks in the library, where no configuration file names the keys ------------
def _tully_run(**changes):
    model = es.models.TullySimple()
    kwargs = {"initial": model.initial_wavepacket(), "n_traj": 4, "dt": 2.0, "t_final": 8.0, "seed": 3}
    kwargs.update(changes)
    return es.run(model, **kwargs)


def _nan_beyond_zero(q):
    x = q[:, 0]
    v = np.zeros((len(x), 2, 2))
    v[:, 0, 0] = np.where(x > 0.0, np.nan, 0.01 * x)
    v[:, 1, 1] = 0.01
    return v


LIBRARY_CASES = [
    ("output_times end early", {"output_times": [2.0, 4.0]}, "before t_final = 8"),
    ("output_every huge", {"output_every": 10**400}, "output_every must be at most 1000000000"),
    ("dt too small", {"dt": 1e-300}, "more than the limit of 1e+09"),
    ("t_final too large", {"t_final": 1e15}, "more than the limit of 1e+09"),
    ("n_traj beyond int64", {"n_traj": 10**20}, "of memory available"),
    ("p0 overflows", {"initial": es.Wavepacket([-5.0], [1e200], [1.0], 0)}, "kinetic energy"),
    ("reference_geometry wrong length",
     {"method": es.SPEED(reference_hessian=True, reference_geometry=[1.0, 2.0, 3.0])},
     "reference_geometry must have 1 entry"),
    ("centres zero", {"method": "centres=0"}, "centres must be a positive integer or 'adaptive'"),
    ("max_centres zero", {"method": "centres=adaptive,max_centres=0"}, "max_centres must be a positive"),
    ("max_centres with fixed centres", {"method": "centres=2,max_centres=4"},
     "max_centres is only used with centres='adaptive'"),
    ("regroup_every zero", {"method": "centres=2,regroup_every=0"}, "regroup_every must be a positive"),
]


@pytest.mark.parametrize("name, changes, expected", LIBRARY_CASES, ids=[c[0] for c in LIBRARY_CASES])
def test_library_refuses(name, changes, expected):
    with pytest.raises(es.InputError, match=expected.replace("+", r"\+").replace("(", r"\(")):
        method = changes.get("method")
        if isinstance(method, str) and "=" in method:  # SPEED's own check, at construction
            options = dict(item.split("=") for item in method.split(","))
            changes["method"] = es.SPEED(**{k: v if v == "adaptive" else int(v) for k, v in options.items()})
        _tully_run(**changes)


def test_stored_trajectories_count_against_memory(monkeypatch):
    """With save_trajectories every output time holds the whole ensemble."""
    from ehrenspeed import schedule

    # 4000 trajectories x 6 doubles: 0.4 MB of state, 6 MB over 33 stored output times
    monkeypatch.setattr(schedule, "available_memory", lambda: 2 * 2**20)
    model = es.models.TullySimple()
    args = {"n_traj": 4000, "dt": 1.0, "t_final": 32.0, "seed": 1}
    es.driver.TrajectoryRun(model, model.initial_wavepacket(), **args)
    with pytest.raises(es.InputError, match="storing 33 output times"):
        es.driver.TrajectoryRun(model, model.initial_wavepacket(), save_trajectories=True, **args)


def test_non_finite_initial_energy_names_the_trajectory():
    """Trajectory 0 (which validation probes) is fine; trajectory 1 starts where V is NaN."""
    model = es.models.from_function(_nan_beyond_zero, 2, 1, 2000.0, name="half_nan")
    state = es.State.from_arrays([[-1.0], [1.0]], [[0.0], [0.0]], [[1, 0], [1, 0]])
    with pytest.raises(es.InputError, match="initial total energy of trajectory 1 is nan"):
        es.run(model, state, dt=1.0, t_final=2.0)


@pytest.mark.parametrize("call, expected", [
    (lambda: es.Wavepacket(["x"], [0.0], [1.0]), "q0 must be a number"),
    (lambda: es.Wavepacket([0.0], [0.0], "wide"), "width must be a number"),
    (lambda: es.sample_thermal([0.0], 1.0, 1.0, "room", 4, 1, n_states=2), "temperature must be a number"),
    (lambda: es.sample_thermal([0.0], 1.0, 1.0, [1.0, 2.0], 4, 1, n_states=2), "temperature must be one number"),
    (lambda: es.sample_thermal([0.0], [1.0, 2.0], 1.0, 1.0, 4, 1, n_states=2), "mass must be one number"),
], ids=["q0 string", "width string", "temperature string", "temperature list", "mass list"])
def test_sampling_refuses_wrong_types(call, expected):
    with pytest.raises(es.InputError, match=expected):
        call()


def test_thermal_sample_refuses_nan_temperature():
    """NaN failed the ``temperature > 0`` test and silently gave the 0 K sample."""
    with pytest.raises(es.InputError, match="temperature must be finite"):
        es.sample_thermal([0.0], 1.0, 1.0, float("nan"), 4, 1, n_states=2)
