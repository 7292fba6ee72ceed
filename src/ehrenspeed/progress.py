"""Progress of a long run: a bar on a terminal, plain log lines in a batch job.

A batch job's standard error is a file, where a progress bar's carriage
returns make an unreadable line of thousands of updates and tqdm (rightly)
draws nothing at all. :class:`LogProgress` writes one self-contained line
instead, at a modest rate, with what a user checking on a job wants: the
step, the simulated time, the elapsed wall time and the time left.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class LogProgress:
    """Progress as occasional ``progress: ...`` lines (the tqdm methods the driver uses).

    Parameters
    ----------
    total : int
        Steps of the whole run.
    initial : int
        Steps already done (a resumed run).
    desc : str
        What runs (the method's name).
    interval : float, optional
        Seconds between lines (default :func:`log_interval`); the first
        line comes after one interval and, if there was one, a last line
        when the run completes.
    stream : file, optional
        Where to write; standard error by default.
    """

    def __init__(self, total: int, initial: int = 0, desc: str = "run", interval: float | None = None,
                 stream: TextIO | None = None):
        self.total = int(total)
        self.n = int(initial)
        self.desc = desc
        self.interval = log_interval() if interval is None else float(interval)
        self.stream = sys.stderr if stream is None else stream
        self._start = time.monotonic()
        self._start_n = self.n
        self._last = self._start
        self._finished = False
        self._lines = 0
        self.time_au: float | None = None

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps; write a line when an interval has passed."""
        self.n += n
        now = time.monotonic()
        finished = self.n >= self.total
        # the closing line only after earlier ones: a run shorter than one
        # interval adds nothing to the log but its summary
        closing = finished and not self._finished and self._lines > 0
        if now - self._last >= self.interval or closing:
            self._write(now)
            self._last = now
            self._lines += 1
        self._finished = finished

    def _write(self, now: float) -> None:
        elapsed = now - self._start
        done = self.n - self._start_n
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.n) / rate if rate > 0 else float("nan")
        percent = 100.0 * self.n / self.total if self.total else 100.0
        when = "" if self.time_au is None else f", t = {self.time_au:.6g} a.u."
        eta = _clock(left) if left == left else "?"
        self.stream.write(f"progress: {self.desc} step {self.n}/{self.total} ({percent:.0f}%){when}, "
                          f"elapsed {_clock(elapsed)}, left {eta}\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to clear (the lines stay in the log)."""


def log_interval() -> float:
    """Seconds between progress lines: ``EHRENSPEED_PROGRESS_INTERVAL``, else 60."""
    raw = os.environ.get("EHRENSPEED_PROGRESS_INTERVAL", "")
    try:
        value = float(raw)
    except ValueError:
        return 60.0
    return value if value >= 0 and value == value else 60.0


def make_progress(mode, total: int, initial: int = 0, desc: str = "run"):
    """A progress reporter for ``mode``, or None.

    Parameters
    ----------
    mode : bool, "auto", "bar" or "log"
        False/None: none. True or "auto": a tqdm bar when standard error is
        a terminal, :class:`LogProgress` lines otherwise. "bar" or "log":
        that one.
    total, initial, desc
        As for :class:`LogProgress`.
    """
    if not mode:
        return None
    if mode is True or mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "log"
    if mode == "log":
        return LogProgress(total, initial, desc)
    if mode != "bar":
        raise ValueError(f"progress must be True, False, 'auto', 'bar' or 'log', got {mode!r}")
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="step", desc=desc, delay=2.0, file=sys.stderr,
                dynamic_ncols=True)
