"""Nothing the user has is lost: outputs that would destroy files, full disks,
locks, signals, stale temporaries, permissions, and result files that would run code.

Each case goes through the command line (in-process through
:func:`ehrenspeed.cli.main.main`, or in a subprocess where a signal or an
exit status must be real) and checks the one-line message, the exit status
and that every file the user had is unchanged.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed import files
from ehrenspeed.cli.main import main
from ehrenspeed.errors import OutputError
from ehrenspeed.progress import LogProgress

CONFIG = """
[model]
name = "tully_simple"
[initial]
from_model = true
[method]
name = "ehrenfest"
[run]
n_traj = 4
dt = 2.0
t_final = 8.0
seed = 3
{run_extra}
{output}
"""


def write_config(directory: Path, name: str = "c.toml", run_extra: str = "", output: str = "") -> Path:
    path = directory / name
    path.write_text(CONFIG.format(run_extra=run_extra, output=output))
    return path


def run_cli(args, capsys):
    status = main([str(a) for a in args])
    err = capsys.readouterr().err
    return status, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- outputs that would destroy something (items 4, 5, 14) --------------------------------
def test_output_equal_to_config_is_refused(tmp_path, capsys):
    config = write_config(tmp_path)
    before = config.read_bytes()
    status, err = run_cli(["run", config, "-o", config], capsys)
    assert status == 2
    assert len(error_lines(err)) == 1 and "the configuration being run" in err
    assert config.read_bytes() == before


def test_output_equal_to_checkpoint_is_refused(tmp_path, capsys):
    config = write_config(tmp_path, run_extra="checkpoint_every = 1",
                          output='[output]\npath = "same.nc"\ncheckpoint = "same.nc"')
    status, err = run_cli(["run", config], capsys)
    assert status == 2 and "checkpoint" in error_lines(err)[0]
    assert not (tmp_path / "same.nc").exists()


def test_existing_result_kept_when_checkpoint_would_replace_it(tmp_path, capsys):
    config = write_config(tmp_path, output='[output]\npath = "r.nc"\ncheckpoint = "r.nc"')
    (tmp_path / "r.nc").write_bytes(b"precious")
    status, err = run_cli(["run", config], capsys)
    assert status == 2
    assert (tmp_path / "r.nc").read_bytes() == b"precious"


@pytest.mark.parametrize("target", ["/dev/null", "directory"])
def test_output_that_is_not_a_regular_file_is_refused(tmp_path, capsys, target):
    config = write_config(tmp_path)
    if target == "directory":
        target = tmp_path / "adir"
        target.mkdir()
    before = os.stat(target)
    status, err = run_cli(["run", config, "-o", target], capsys)
    assert status == 2 and len(error_lines(err)) == 1
    after = os.stat(target)
    assert (before.st_ino, before.st_mode) == (after.st_ino, after.st_mode)


def test_too_long_file_name_is_one_line(tmp_path, capsys):
    config = write_config(tmp_path)
    status, err = run_cli(["run", config, "-o", tmp_path / ("x" * 300 + ".nc")], capsys)
    assert status == 2 and "too long" in error_lines(err)[0]


def test_long_but_legal_file_name_is_written(tmp_path, capsys):
    """A 250-byte name is legal; the temporary name must not break the 255-byte limit."""
    config = write_config(tmp_path)
    out = tmp_path / ("y" * 247 + ".nc")
    status, err = run_cli(["run", config, "-o", out, "-q"], capsys)
    assert status == 0, err
    assert es.load(out).sizes["time"] == 5


def test_symlinked_output_replaces_the_target_and_keeps_the_link(tmp_path, capsys):
    config = write_config(tmp_path)
    real = tmp_path / "real.nc"
    real.write_bytes(b"old")
    link = tmp_path / "link.nc"
    link.symlink_to(real)
    status, err = run_cli(["run", config, "-o", link, "-q"], capsys)
    assert status == 0, err
    assert link.is_symlink() and es.load(real).sizes["time"] == 5


def test_plot_onto_a_directory_or_the_result_itself(tmp_path, capsys):
    config = write_config(tmp_path)
    assert run_cli(["run", config, "-o", tmp_path / "r.nc", "-q"], capsys)[0] == 0
    before = (tmp_path / "r.nc").read_bytes()
    (tmp_path / "figs").mkdir()
    status, err = run_cli(["plot", tmp_path / "r.nc", "-o", tmp_path / "figs"], capsys)
    assert status == 2 and "directory" in error_lines(err)[0]
    status, err = run_cli(["plot", tmp_path / "r.nc", "-o", tmp_path / "r.nc"], capsys)
    assert status == 2 and (tmp_path / "r.nc").read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_plot_into_read_only_directory(tmp_path, capsys):
    config = write_config(tmp_path)
    assert run_cli(["run", config, "-o", tmp_path / "r.nc", "-q"], capsys)[0] == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, err = run_cli(["plot", tmp_path / "r.nc", "-o", locked / "f.png"], capsys)
    finally:
        locked.chmod(0o700)
    assert status == 2 and "not writable" in error_lines(err)[0]


def test_traceback_flag_after_the_subcommand(tmp_path):
    """``--traceback`` works after the subcommand too: the error is raised, not a usage error."""
    with pytest.raises(es.errors.InputError):
        main(["run", str(tmp_path / "missing.toml"), "--traceback"])


# -- a full disk (item 6) --------------------------------------------------------------------
def test_full_disk_at_the_final_write_rescues_the_result(tmp_path, capsys, monkeypatch):
    """The output's file system refuses with ENOSPC: one line, exit 2, the result elsewhere."""
    config = write_config(tmp_path)
    out = tmp_path / "out.nc"
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    monkeypatch.setenv("EHRENSPEED_RESCUE_DIR", str(rescue))
    real_write = files.atomic_write

    def full_disk(path, write, what="file"):
        if Path(path).parent == tmp_path:
            raise OutputError(f"no space left on device writing {what} {str(path)!r}", errno.ENOSPC)
        return real_write(path, write, what)

    monkeypatch.setattr(files, "atomic_write", full_disk)
    status, err = run_cli(["run", config, "-o", out], capsys)
    assert status == 2
    (line,) = error_lines(err)
    assert "no space left on device" in line and str(rescue) in line
    (saved,) = rescue.glob("*out.nc")
    assert es.load(saved).sizes["time"] == 5
    assert not out.exists()


def _mount_tmpfs(directory: Path, size: str) -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    directory.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                          capture_output=True)
    return proc.returncode == 0


def test_real_full_disk_is_one_line_not_a_crash(tmp_path):
    """On a real, full file system (a small tmpfs; needs root), in a subprocess: no segfault."""
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "64k"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        config = write_config(tmp_path, output=f'[output]\npath = "{small}/out.nc"')
        rescue = tmp_path / "rescue"
        rescue.mkdir()
        env = {**os.environ, "EHRENSPEED_RESCUE_DIR": str(rescue)}
        # fill the file system: the start-up checks (an empty probe file, the
        # lock) pass, the ~20 kB result does not fit at the end
        with open(small / "filler", "wb") as handle:
            try:
                handle.write(b"\0" * 70_000)
            except OSError:
                pass
        proc = subprocess.run([sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config), "-q"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert len(error_lines(proc.stderr)) == 1 and "no space left" in proc.stderr
        assert list(rescue.glob("*out.nc")) and not list(small.glob(".*tmp"))
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


# -- result files never run code (item 7) ------------------------------------------------------

#: A two-state model with a constant coupling; ``delay`` seconds per call make a
#: run slow enough to interrupt.
USER_MODULE = textwrap.dedent("""
    import time
    import numpy as np
    import ehrenspeed as es

    def make(delay=0.0):
        def v(q):
            time.sleep(delay)
            x = q[:, 0]
            out = np.zeros((len(x), 2, 2))
            out[:, 0, 0] = 0.5 * 0.01 * x ** 2
            out[:, 1, 1] = 0.5 * 0.01 * (x - 1) ** 2 + 0.01
            out[:, 0, 1] = out[:, 1, 0] = 0.002
            return out

        def g(q):
            time.sleep(delay)
            x = q[:, 0]
            out = np.zeros((len(x), 1, 2, 2))
            out[:, 0, 0, 0] = 0.01 * x
            out[:, 0, 1, 1] = 0.01 * (x - 1)
            return out
        return es.models.from_function(v, n_states=2, n_dof=1, mass=2000.0, gradient=g)
""")


USER_CONFIG = """
[model]
python_model = "usermod:make"
[initial]
q0 = [-1.0]
width = [0.5]
[method]
name = "ehrenfest"
[run]
n_traj = 4
dt = 2.0
t_final = 8.0
seed = 1
"""


@pytest.fixture
def user_result(tmp_path, capsys, monkeypatch):
    (tmp_path / "usermod.py").write_text(USER_MODULE)
    config = tmp_path / "u.toml"
    config.write_text(USER_CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_cli(["run", config, "-o", tmp_path / "u.nc", "-q"], capsys)[0] == 0
    return tmp_path / "u.nc"


def test_result_with_python_model_is_not_run_without_trust(user_result, tmp_path, capsys):
    status, err = run_cli(["run", user_result, "-o", tmp_path / "again.nc"], capsys)
    assert status == 2
    (line,) = error_lines(err)
    assert "--trust-model usermod:make" in line and "model.python_model" in line
    assert not (tmp_path / "again.nc").exists()


def test_result_with_python_model_runs_when_trusted(user_result, tmp_path, capsys):
    status, err = run_cli(["run", user_result, "-o", tmp_path / "again.nc", "--trust-model", "usermod:make",
                           "-q"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(es.load(tmp_path / "again.nc")["population"], es.load(user_result)["population"])


def test_trust_must_name_the_stored_module(user_result, tmp_path, capsys):
    status, err = run_cli(["run", user_result, "--trust-model", "othermod:make"], capsys)
    assert status == 2 and "does not match" in error_lines(err)[0]


def test_forged_result_cannot_run_a_shell_command(user_result, tmp_path, capsys):
    """A result whose stored config names os:system: refused, and nothing runs."""
    import h5py

    forged = tmp_path / "forged.nc"
    shutil.copy(user_result, forged)
    marker = tmp_path / "pwned"
    with h5py.File(forged, "r+") as handle:
        stored = json.loads(handle.attrs["config"])
        stored["model"] = {"python_model": "os:system", "parameters": {"command": f"touch {marker}"}}
        handle.attrs["config"] = json.dumps(stored)
    status, err = run_cli(["run", forged, "-o", tmp_path / "x.nc"], capsys)
    assert status == 2 and "--trust-model" in err
    assert not marker.exists()


# -- locks (item 9) -----------------------------------------------------------------------------
def test_second_run_on_a_locked_output_is_refused(tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "out.nc"
    out.write_bytes(b"being written by run 1")
    with files.FileLock(out, "output"):
        status, err = run_cli(["run", config, "-o", out], capsys)
    assert status == 2
    (line,) = error_lines(err)
    assert "in use by another ehrenspeed run" in line and f"process {os.getpid()}" in line
    assert out.read_bytes() == b"being written by run 1"
    # released: the next run goes through, and leaves no lock file behind
    assert run_cli(["run", config, "-o", out, "-q"], capsys)[0] == 0
    assert not files.lock_path(out).exists()


def test_lock_is_taken_across_processes(tmp_path):
    out = tmp_path / "o.nc"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = {sys.path!r}
        from ehrenspeed.files import FileLock
        with FileLock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(es.errors.InputError, match="in use"):
            files.FileLock(out).acquire()
    finally:
        holder.kill()
        holder.wait()
    files.FileLock(out).acquire().release()  # the kernel dropped the dead holder's lock


# -- stale temporaries and permissions (items 12, 13) ----------------------------------------------
def test_stale_temporaries_of_this_output_are_removed_and_nothing_else(tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "out.nc"
    stale = [tmp_path / ".out.nc.abcd_123.ehrenspeed-tmp", tmp_path / ".out.nc.k2j4h5g6.tmp"]
    kept = [tmp_path / ".out.nc.keep", tmp_path / "other.tmp", tmp_path / ".other.nc.abcd_123.ehrenspeed-tmp",
            tmp_path / ".out.nc.abcd_1234.tmp"]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert run_cli(["run", config, "-o", out, "-q"], capsys)[0] == 0
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_results_follow_the_umask(tmp_path, capsys, umask, mode):
    config = write_config(tmp_path)
    old = os.umask(umask)
    try:
        assert run_cli(["run", config, "-o", tmp_path / "out.nc", "-q"], capsys)[0] == 0
        assert run_cli(["plot", tmp_path / "out.nc", "-o", tmp_path / "out.png"], capsys)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "out.nc").st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "out.png").st_mode) == mode


def test_atomic_write_leaves_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def failing(handle):
        handle.write(b"partial")
        raise RuntimeError("writer died")

    with pytest.raises(RuntimeError):
        files.atomic_write(target, failing)
    assert target.read_bytes() == b"old"
    assert files.stale_temporaries(target) == []


# -- signals (item 11) ------------------------------------------------------------------------------

SLOW_CONFIG = """
[model]
python_model = "slowmod:make"
[model.parameters]
delay = 0.004
[initial]
q0 = [-1.0]
width = [0.5]
[method]
name = "ehrenfest"
[run]
n_traj = 6
dt = 2.0
t_final = 3000.0
output_every = 50
seed = 5
"""


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_writes_a_checkpoint_and_resume_finishes_the_same_run(tmp_path, signum, status):
    (tmp_path / "slowmod.py").write_text(USER_MODULE)
    config = tmp_path / "slow.toml"
    config.write_text(SLOW_CONFIG)
    cmd = [sys.executable, "-m", "ehrenspeed.cli.main", "run", str(config)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "EHRENSPEED_PROGRESS_INTERVAL": "0.3"}
    proc = subprocess.Popen(cmd + ["--progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    # the first progress line says the run is stepping (stderr is a pipe: log lines)
    first = proc.stderr.readline()
    assert first.startswith("progress:"), first + proc.stderr.read()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "interrupted at step" in err and "continue with:" in err and "--resume" in err
    checkpoint = tmp_path / "slow.nc.checkpoint.npz"
    assert checkpoint.is_file() and not (tmp_path / "slow.nc").exists()
    resumed = subprocess.run(cmd + ["--resume", "-q"], capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert_is_the_uninterrupted_slow_run(tmp_path)
    assert not checkpoint.exists()


def assert_is_the_uninterrupted_slow_run(directory: Path) -> None:
    """``directory/slow.nc`` (SLOW_CONFIG, interrupted and resumed) equals one uninterrupted es.run."""
    sys.path.insert(0, str(directory))
    try:
        import slowmod
        whole = es.run(slowmod.make(0.0), es.Wavepacket(q0=[-1.0], p0=[0.0], width=[0.5], state=0),
                       n_traj=6, dt=2.0, t_final=3000.0, output_every=50, seed=5)
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop("slowmod", None)
    got = es.load(directory / "slow.nc")
    np.testing.assert_array_equal(got["population"].values, whole["population"].values)
    assert got.attrs["potential_evaluations"] == whole.attrs["potential_evaluations"]


def test_fresh_start_over_an_old_checkpoint_needs_a_flag(tmp_path, capsys):
    config = write_config(tmp_path)
    checkpoint = tmp_path / "out.nc.checkpoint.npz"
    checkpoint.write_bytes(b"an interrupted week")
    status, err = run_cli(["run", config, "-o", tmp_path / "out.nc"], capsys)
    assert status == 2 and "--resume" in error_lines(err)[0] and "--fresh" in err
    assert checkpoint.read_bytes() == b"an interrupted week"
    assert run_cli(["run", config, "-o", tmp_path / "out.nc", "--fresh", "-q"], capsys)[0] == 0


# -- progress in batch jobs (item 19) -------------------------------------------------------------
def test_log_progress_lines(capsys):
    import io

    stream = io.StringIO()
    bar = LogProgress(total=10, desc="speed", interval=0.0, stream=stream)
    bar.time_au = 42.0
    for _ in range(10):
        bar.update(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("progress: speed step 10/10 (100%), t = 42 a.u.")
    assert "elapsed" in lines[0] and "left" in lines[0]


def test_run_prints_progress_lines_when_not_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EHRENSPEED_PROGRESS_INTERVAL", "0")
    config = write_config(tmp_path)
    status, err = run_cli(["run", config, "-o", tmp_path / "o.nc", "--progress"], capsys)
    assert status == 0
    assert any(line.startswith("progress: ehrenfest step 4/4") for line in err.splitlines())
