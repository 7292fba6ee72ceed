"""Start-up: wall time of ``python -c "import ehrenspeed"`` (issue 18, goal 5).

Each measurement is a fresh interpreter, with compiled bytecode cached as in
an installed package (outside the tree, see :data:`PYCACHE`). ``import ehrenspeed`` and, for
scale, ``import numpy`` (the one heavy import the package cannot avoid) and
an empty interpreter are timed interleaved, best of ``--repeat``, so the
ratios come from the same minutes of a possibly shared machine. Then one
``python -X importtime`` run lists the modules that cost most, and the
script checks that the heavy optional libraries are not imported.

    PYTHONPATH=src python benchmarks/startup.py [--repeat 15] [--top 12]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

SRC = str(Path(__file__).parents[1] / "src")
HEAVY = ("xarray", "pandas", "matplotlib", "numba", "llvmlite", "scipy", "jax", "pyscf", "mpi4py", "h5py")


#: Bytecode cache of the timed processes, outside the source tree. An
#: installed package has its .pyc files; a source tree run with
#: PYTHONDONTWRITEBYTECODE=1 (as on the benchmark machine) would recompile
#: every module at every import and time the compiler, not the import.
PYCACHE = os.path.join(tempfile.gettempdir(), "ehrenspeed-startup-pycache")


def _env(src: str = SRC) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    return env


def wall(code: str, src: str = SRC) -> float:
    """Wall time of one fresh ``python -c code`` process with ``src`` first on the path, seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=_env(src), check=True)
    return time.perf_counter() - start


def importtime(module: str, top: int) -> list[tuple[int, int, str]]:
    """The ``top`` modules by cumulative import time (microseconds) in one ``-X importtime`` run."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=_env(),
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:"):].split("|"))
        rows.append((int(cumulative_us), int(self_us), name))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="3 repeats (a smoke test)")
    parser.add_argument("--compare", metavar="SRC", help="another source tree (e.g. /work/main/src) "
                        "whose 'import ehrenspeed' is timed in the same rounds")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    for key, value in machine().items():
        print(f"{key}: {value}")

    cases = {"python (empty)": ("pass", SRC), "import numpy": ("import numpy", SRC),
             "import ehrenspeed": ("import ehrenspeed", SRC)}
    if args.compare:
        cases["import ehrenspeed (compared tree)"] = ("import ehrenspeed", args.compare)
    for code, src in cases.values():             # untimed: fill the bytecode cache
        wall(code, src)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(repeat):                      # interleaved: each round times every case once
        for name, (code, src) in cases.items():
            best[name] = min(best[name], wall(code, src))
    print(f"\nwall time of a fresh process, best of {repeat} (interleaved):")
    for name, seconds in best.items():
        print(f"  {name:34s} {seconds * 1e3:7.1f} ms")
    own = best["import ehrenspeed"] - best["import numpy"]
    print(f"  ratio import ehrenspeed / import numpy = {best['import ehrenspeed'] / best['import numpy']:.2f} "
          f"(ehrenspeed's own share {own * 1e3:.0f} ms); goal: import ehrenspeed < 200 ms")
    if args.compare:
        print(f"  ratio compared tree / this tree = "
              f"{best['import ehrenspeed (compared tree)'] / best['import ehrenspeed']:.2f} ({args.compare})")

    print("\nlargest cumulative import times (python -X importtime -c 'import ehrenspeed', one run):")
    for cumulative, self_us, name in importtime("ehrenspeed", args.top):
        print(f"  {cumulative / 1e3:7.1f} ms (self {self_us / 1e3:5.1f} ms)  {name}")

    code = f"import sys, ehrenspeed; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                            check=True).stdout.split()
    print(f"\nheavy libraries imported by 'import ehrenspeed': {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
