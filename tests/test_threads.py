"""The number of numba threads: one for small runs, all for large ones, and overrides honoured."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ehrenspeed import backend
from ehrenspeed.errors import InputError

needs_numba = pytest.mark.skipif(not backend.HAVE_NUMBA, reason="numba not installed")


@pytest.fixture
def automatic_threads():
    old = backend.set_threads(None)
    yield
    backend.set_threads(old)


@needs_numba
@pytest.mark.parametrize("policy", ["PASSIVE", "ACTIVE"])
def test_small_runs_take_one_thread_large_ones_all(automatic_threads, monkeypatch, policy):
    import numba

    monkeypatch.setenv("OMP_WAIT_POLICY", policy.lower())
    assert backend.wait_policy() == policy
    most = numba.config.NUMBA_NUM_THREADS
    two_state, general = backend.TWO_STATE_PARALLEL_FROM[policy], backend.GENERAL_PARALLEL_FROM[policy]
    assert backend.threads_for(10, 2) == 1
    assert backend.threads_for(two_state - 1, 2) == 1
    assert backend.threads_for(two_state, 2) == most
    n3 = -(-general // 27)                          # the first N with N * 3^3 >= the threshold
    assert backend.threads_for(n3 - 1, 3) == 1
    assert backend.threads_for(n3, 3) == most
    assert backend.threads_for(10**6, 5) == most


def test_active_waiting_lowers_the_crossover():
    """A spinning worker costs less to wake, so the second thread pays from a smaller N."""
    for table in (backend.TWO_STATE_PARALLEL_FROM, backend.GENERAL_PARALLEL_FROM):
        assert table["ACTIVE"] < table["PASSIVE"]


def test_wait_policy_reads_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "Active")
    assert backend.wait_policy() == "ACTIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    assert backend.wait_policy() == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert backend.wait_policy() == "PASSIVE"


@needs_numba
def test_override_is_honoured_and_restored(automatic_threads):
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    backend.set_threads(2)
    assert backend.threads_for(10, 2) == min(2, most)
    assert backend.use_threads_for(10, 2) == min(2, most) == numba.get_num_threads()
    backend.set_threads(1)
    assert backend.threads_for(10**7, 2) == 1
    assert backend.set_threads(None) == 1
    assert backend.threads_for(10, 2) == 1


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5])
def test_bad_thread_count_is_an_input_error(bad, automatic_threads):
    with pytest.raises(InputError, match="threads"):
        backend.set_threads(bad)


@needs_numba
def test_environment_variable_sets_the_threads():
    src = str(Path(__file__).parents[1] / "src")
    env = dict(os.environ, EHRENSPEED_THREADS="1", PYTHONPATH=src)
    code = "from ehrenspeed import backend; print(backend.threads_for(10**7, 2))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    env["EHRENSPEED_THREADS"] = "lots"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "EHRENSPEED_THREADS" in bad.stderr


@needs_numba
@pytest.mark.parametrize("n_states", [2, 3])
def test_substep_is_the_same_on_one_and_all_threads(n_states, automatic_threads):
    """Trajectories are independent: the thread count must not change a single bit."""
    from ehrenspeed.propagators.kernels import potential_substep_numba

    rng = np.random.default_rng(n_states)
    n = 300
    v = rng.normal(scale=0.05, size=(n, n_states, n_states))
    v = v + v.transpose(0, 2, 1)
    dv = rng.normal(size=(n, 1, n_states, n_states))
    dv = dv + dv.transpose(0, 1, 3, 2)
    c = rng.normal(size=(n, n_states)) + 1j * rng.normal(size=(n, n_states))
    c /= np.linalg.norm(c, axis=1)[:, None]
    p = rng.normal(size=(n, 1))
    results = []
    for threads in (1, 2):
        backend.set_threads(threads)
        results.append(potential_substep_numba(p, c, v, dv, 0.7))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])
