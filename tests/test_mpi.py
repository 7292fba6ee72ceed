"""Distributed runs (mpiexec -n 2) give the one-process result; a failing rank ends the run.

Skipped when mpi4py or mpiexec is not installed (``pip install ".[mpi]"``).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec")
SCRIPT = Path(__file__).parent / "mpi" / "compare_ranks.py"


def _mpirun(*args, timeout=120):
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(SCRIPT), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_two_ranks_equal_one_process(tmp_path):
    proc = _mpirun(str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    model = es.models.Pyrazine3()
    for method in ("ehrenfest", "speed"):
        distributed = es.load(tmp_path / f"{method}.nc")
        serial = es.run(model, model.initial_wavepacket(), method, n_traj=29, dt=4.0, t_final=200.0,
                        output_every=10, seed=4, save_trajectories=True)
        # bit for bit: the mean and every reduction run over the gathered rows
        for name in ("population", "adiabatic_population", "position", "momentum", "potential_energy",
                     "total_energy", "trajectory_position", "trajectory_momentum"):
            assert np.array_equal(distributed[name].values, serial[name].values), (method, name)
        assert distributed.attrs["mpi_ranks"] == 2
        for count in ("potential_evaluations", "gradient_evaluations", "hessian_evaluations"):
            assert distributed.attrs[count] == serial.attrs[count], (method, count)
    # the fused Tully path: each rank's rows in their own blocks, the same bits as one process
    tully = es.models.TullySimple()
    distributed = es.load(tmp_path / "tully_fused.nc")
    serial = es.run(tully, tully.initial_wavepacket(), "ehrenfest", n_traj=29, dt=2.0, t_final=400.0,
                    output_every=25, seed=4, save_trajectories=True, backend="numba")
    for name in ("population", "adiabatic_population", "trajectory_position", "trajectory_momentum"):
        assert np.array_equal(distributed[name].values, serial[name].values), name
    assert distributed.attrs["potential_evaluations"] == serial.attrs["potential_evaluations"]


def test_failing_rank_ends_the_run(tmp_path):
    proc = _mpirun(str(tmp_path), "fail", timeout=60)   # a hang would hit the timeout
    assert proc.returncode != 0
    assert proc.stdout.count("electronic structure failed to converge") == 2, proc.stdout + proc.stderr


FLAKY_CONFIG = """
[model]
python_model = "flaky_model:make_model"
path = "{path}"
[initial]
q0 = [-10.0]
p0 = [15.0]
width = [0.5]
state = 0
[method]
name = "ehrenfest"
[run]
n_traj = 8
dt = 20.0
t_final = 4000.0
seed = 1
"""


def test_command_line_ends_the_job_when_one_rank_fails(tmp_path):
    """``mpiexec -n 2 ehrenspeed run``: a rank's failure ends every rank, with its message, no file."""
    config = tmp_path / "flaky.toml"
    config.write_text(FLAKY_CONFIG.format(path=SCRIPT.parent))
    out = tmp_path / "flaky.nc"
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config),
                           "-o", str(out), "-q"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "electronic structure failed to converge" in proc.stderr, proc.stderr
    assert not out.exists()


RESUME_SCRIPT = Path(__file__).parent / "mpi" / "resume_ranks.py"
RESUME_CASES = ("ehrenfest", "speed", "expensive-ehrenfest", "expensive-speed")
COUNTS = ("potential_evaluations", "gradient_evaluations", "hessian_evaluations", "scalar_evaluations",
          "n_steps", "potential_substeps")


def _ranks(n, *args):
    proc = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(RESUME_SCRIPT), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_resume_on_any_number_of_ranks_is_the_uninterrupted_run(tmp_path):
    """Checkpoint on 2 ranks (5 trajectories: blocks of 3 and 2) or 1, resume on 1 or 2: same result, same counts."""
    out = str(tmp_path)
    _ranks(1, out, "reference", "-")
    _ranks(2, out, "checkpoint", "from2")
    _ranks(1, out, "checkpoint", "from1")
    _ranks(1, out, "resume", "from2")
    _ranks(2, out, "resume", "from2")
    _ranks(2, out, "resume", "from1")
    for case in RESUME_CASES:
        reference = es.load(tmp_path / f"{case}-reference.nc")
        for resumed in ("from2-resumed1", "from2-resumed2", "from1-resumed2"):
            result = es.load(tmp_path / f"{case}-{resumed}.nc")
            for name in reference.data_vars:
                assert np.array_equal(result[name].values, reference[name].values), (case, resumed, name)
            keys = COUNTS + (("electronic_structure_calls",) if case.startswith("expensive") else ())
            for key in keys:
                assert result.attrs[key] == reference.attrs[key], (case, resumed, key)


def test_reproduce_under_mpiexec_refuses_with_one_line(tmp_path):
    """Every rank would repeat the reproduction: refused, one error line (rank 0), no files."""
    out = tmp_path / "rep"
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "ehrenspeed.cli.main", "reproduce",
                           "primer", "--quick", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), proc.stderr
    assert "without mpiexec" in errors[0] and proc.stdout == ""
    assert not out.exists()


def test_agreed_errors_are_marked_for_one_report(tmp_path):
    """A failure agreed by the ranks carries ``agreed``; rank 0 alone reports it (reports_error)."""
    script = tmp_path / "agree.py"
    script.write_text(
        "from mpi4py import MPI\n"
        "from ehrenspeed.parallel import as_comm, reports_error\n"
        "comm = as_comm(MPI.COMM_WORLD)\n"
        "try:\n"
        "    comm.agree(ValueError('bad') if comm.rank == 1 else None)\n"
        "except Exception as exc:\n"
        "    # one file per rank: two ranks printing at once interleave their characters\n"
        f"    open(r'{tmp_path}' + f'/rank{{comm.rank}}.txt', 'w').write(f'{{exc.agreed}} {{reports_error(exc)}}')\n")
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rank0.txt").read_text() == "True True"
    assert (tmp_path / "rank1.txt").read_text() == "True False"


EXACT_CONFIG = """
[model]
name = "tully_simple"
[initial]
from_model = true
[method]
name = "exact"
[run]
dt = 5.0
t_final = 50.0
[grid]
lower = [-20.0]
upper = [20.0]
points = [256]
"""


def test_exact_run_under_mpiexec_refuses_with_one_line(tmp_path):
    """Grid dynamics is not distributed: refused once, not repeated on every rank."""
    config = tmp_path / "exact.toml"
    config.write_text(EXACT_CONFIG)
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "without mpiexec" in lines[0], proc.stderr
    assert not (tmp_path / "exact.nc").exists()


def test_input_error_under_mpiexec_is_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(EXACT_CONFIG.replace('name = "exact"', 'name = "ehrenfest"').replace("dt = 5.0", "dt = -1.0"))
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "run.dt" in lines[0], proc.stderr


def test_sigterm_under_mpiexec_checkpoints_and_resumes(tmp_path):
    """SIGTERM to mpiexec: every rank stops at one step, rank 0 writes the checkpoint and says so once."""
    import os
    import signal

    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from test_file_safety import SLOW_CONFIG, USER_MODULE, assert_is_the_uninterrupted_slow_run
    finally:
        sys.path.pop(0)
    (tmp_path / "slowmod.py").write_text(USER_MODULE)
    config = tmp_path / "slow.toml"
    config.write_text(SLOW_CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path)] + sys.path),
           "EHRENSPEED_PROGRESS_INTERVAL": "0.3"}
    cmd = [MPIEXEC, "-n", "2", sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config)]
    proc = subprocess.Popen(cmd + ["--progress"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    first = proc.stderr.readline()
    assert first.startswith("progress:"), first + proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.count("interrupted at step") == 1 and "MPI_Abort" not in err, err
    assert (tmp_path / "slow.nc.checkpoint.npz").is_file()
    assert not list(tmp_path.glob(".*tmp"))
    resumed = subprocess.run(cmd + ["--resume", "-q"], capture_output=True, text=True, timeout=300, env=env,
                             cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_is_the_uninterrupted_slow_run(tmp_path)
