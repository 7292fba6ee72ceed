"""Regenerate the measured section of docs/performance.md (issue 18) in one command.

Runs the benchmark scripts of issue 18 one after the other -- start-up,
observables, threads, the careful NumPy baseline, the exact propagator
with scipy and FFTW -- and writes their output, with the date, the command,
the machine's CPU (read from /proc/cpuinfo) and the load average, between
the markers ``<!-- measured:begin -->`` and ``<!-- measured:end -->`` of
docs/performance.md. Every ratio printed is formed within one script's run.

    PYTHONPATH=src python benchmarks/report.py            # full sizes (~10 min on 2 loaded cores)
    PYTHONPATH=src python benchmarks/report.py --quick    # smoke test, writes nothing unless --write
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "performance.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"

#: (title, script and arguments, quick arguments)
SCRIPTS = [
    ("Start-up (goal 5)", ["startup.py", "--repeat", "15"], ["startup.py", "--quick"]),
    ("Recording observables (goal 1)", ["observables.py", "--repeat", "9"], ["observables.py", "--quick"]),
    ("Threads (goal 3)", ["threads.py", "--repeat", "7"], ["threads.py", "--quick"]),
    ("Against the careful NumPy baseline (goal 2)", ["baseline.py", "--repeat", "5"], ["baseline.py", "--quick"]),
    ("Exact propagator: scipy and FFTW (goal 4)", ["exact.py", "--samples", "20"], ["exact.py", "--quick"]),
    ("FFT pairs on one thread (goal 4)", ["exact.py", "--samples", "10", "--workers", "1"],
     ["exact.py", "--quick", "--workers", "1"]),
]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (or "unknown")."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def run(arguments: list[str]) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(HERE / arguments[0]), *arguments[1:]], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"FAILED (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    return proc.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="with --quick: write the document anyway")
    args = parser.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [f"Measured {now:%Y-%m-%d %H:%M} UTC by `PYTHONPATH=src python benchmarks/report.py"
             f"{' --quick' if args.quick else ''}`; CPU (from /proc/cpuinfo): {cpu_name()}, {os.cpu_count()} "
             f"cores; load average at the start {os.getloadavg()[0]:.1f}. Absolute times scatter from run to "
             "run on this virtual machine (and inflate when it is shared); the ratios (formed within each "
             "script's run, interleaved, best of repeats) are the figures to quote.", ""]
    for title, full, quick in SCRIPTS:
        arguments = quick if args.quick else full
        print(f"running {' '.join(arguments)} ...", flush=True)
        lines += [f"### {title}", "", f"`PYTHONPATH=src python benchmarks/{' '.join(arguments)}` "
                  f"(load average at its start {os.getloadavg()[0]:.1f}):", "", "```", run(arguments), "```", ""]
    body = "\n".join(lines)
    print(body)
    if args.quick and not args.write:
        return
    text = DOC.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + body + "\n" + text[stop:])
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
