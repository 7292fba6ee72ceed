"""The benchmark scripts stay runnable: their quick modes run to the end (no timing asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


# run.py's quick mode takes about a minute on 2 cores: a slow check (CI runs it)
@pytest.mark.parametrize("script", [pytest.param("run.py", marks=pytest.mark.slow), "exact.py", "startup.py",
                                    pytest.param("observables.py", marks=pytest.mark.slow),
                                    pytest.param("threads.py", marks=pytest.mark.slow),
                                    pytest.param("baseline.py", marks=pytest.mark.slow),
                                    pytest.param("hessian_policies.py", marks=pytest.mark.slow),
                                    pytest.param("speed_cubic.py", marks=pytest.mark.slow)])
def test_quick_benchmark_runs(script):
    """Without numba (no 'fast' extra) the scripts run too, on the NumPy kernels."""
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratio" in proc.stdout.lower() or "/" in proc.stdout   # it printed a table
