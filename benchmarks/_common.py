"""Shared helpers of the benchmark scripts: timing, machine description, tables.

Every figure is a best-of-``repeat`` wall time: on a shared machine the
minimum is the measurement least disturbed by other processes. Ratios are
always formed from numbers measured in the same run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time

import numpy as np


def best_time(fn, repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn()``, seconds."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Limit BLAS/LAPACK threads inside the block (needs threadpoolctl; else no-op)."""
    if n is None:
        yield True
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield True


def eigh_floor(v: np.ndarray, repeat: int = 3) -> tuple[float, str]:
    """Time of one batched ``numpy.linalg.eigh(v)``: the best of default BLAS
    threading and single-threaded BLAS (whichever is faster on this machine;
    batched small matrices often lose to OpenBLAS's own threads).

    Returns
    -------
    seconds : float
    how : str
        Which setting gave the figure.
    """
    default = best_time(lambda: np.linalg.eigh(v), repeat)
    with blas_threads(1) as limited:
        single = best_time(lambda: np.linalg.eigh(v), repeat) if limited else np.inf
    return (default, "BLAS default threads") if default <= single else (single, "BLAS 1 thread")


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(), "cores": str(os.cpu_count())}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import numba
        info["numba"] = numba.__version__
        info["numba threads"] = str(numba.get_num_threads())
    except ImportError:
        info["numba"] = "not installed"
    try:
        info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        pass
    return info


def table(title: str, header: list[str], rows: list[list], note: str | None = None) -> str:
    """A plain-text (Markdown-compatible) table."""
    cells = [[str(x) for x in header]] + [[_fmt(x) for x in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"
    out = [f"\n### {title}\n", line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells[1:]]
    if note:
        out.append(f"\n{note}")
    return "\n".join(out)


def _fmt(x) -> str:
    if isinstance(x, float):
        if x == 0 or not np.isfinite(x):
            return str(x)
        if abs(x) >= 1e5 or abs(x) < 1e-2:
            return f"{x:.3g}"
        return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"
    return str(x)
