"""``import ehrenspeed`` stays light: heavy libraries are imported when first used.

A test of behaviour, not of time (benchmarks/startup.py measures the time):
the names users call must all still be there, and importing the package must
not import xarray, matplotlib, numba or scipy, each of which is imported by
the code that needs it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).parents[1] / "src")
HEAVY = ("xarray", "pandas", "matplotlib", "numba", "llvmlite", "scipy", "jax", "pyscf")


def _python(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_import_does_not_import_heavy_libraries():
    out = _python(f"import sys, ehrenspeed; print([m for m in {HEAVY!r} if m in sys.modules])")
    assert out.strip() == "[]"


def test_public_names_and_submodules_still_resolve():
    """Every name in ``__all__`` (and ``es.models``'s), ``from ehrenspeed import *`` and submodules."""
    out = _python(
        "import ehrenspeed as es\n"
        "missing = [n for n in es.__all__ if getattr(es, n, None) is None]\n"
        "missing += [n for n in es.models.__all__ if getattr(es.models, n, None) is None]\n"
        "ns = {}\n"
        "exec('from ehrenspeed import *', ns)\n"
        "missing += [n for n in es.__all__ if n not in ns]\n"
        "assert es.driver.TrajectoryRun is es.TrajectoryRun and es.grid.run_exact is es.run_exact\n"
        "assert es.config.RunConfig is not None and callable(es.schedule.output_times)\n"
        "print(missing)\n")
    assert out.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error():
    import ehrenspeed as es

    with pytest.raises(AttributeError, match="no_such_name"):
        es.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_model"):
        es.models.no_such_model  # noqa: B018


def test_numba_is_imported_by_a_compiled_evaluation():
    """The compiled potentials still load their kernels when used (numba installed)."""
    pytest.importorskip("numba")
    out = _python("import sys, numpy as np, ehrenspeed as es\n"
                  "from ehrenspeed.backend import use_backend\n"
                  "m = es.models.TullySimple()\n"
                  "with use_backend('numba'):\n"
                  "    v, dv = m.potential_and_gradient(np.zeros((3, 1)))\n"
                  "with use_backend('numpy'):\n"
                  "    w, dw = m.potential_and_gradient(np.zeros((3, 1)))\n"
                  "print('numba' in sys.modules, np.allclose(v, w), np.allclose(dv, dw))")
    assert out.split() == ["True", "True", "True"]
