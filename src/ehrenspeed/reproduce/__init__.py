"""Reproductions of the SPEED paper's figures and of the primer's textbook cases.

``ehrenspeed reproduce NAME [-o DIR] [--quick] [--seed N]`` calls
:func:`reproduce`; each NAME is one module here exposing
``run(output: Output) -> dict`` that writes netCDF results and PNG figures
into ``output.directory`` and returns the numbers that matter (also written
to ``summary.json``). See docs/reproductions.md for what each one shows.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import InputError
from .common import Output

#: reproduction name -> module under ehrenspeed.reproduce
REPRODUCTIONS = {
    "pyrazine": "pyrazine",
    "pyrazine4": "pyrazine4",
    "pyrazine24": "pyrazine24",
    "chemisorption": "chemisorption",
    "furan": "furan",
    "retinal": "retinal",
    "primer": "primer",
    "tged": "tged",
    "fssh": "fssh",
}


def reproduce(name: str, directory=None, quick: bool = False, seed: int = 1,
              progress: bool = False, parameters: str | None = None) -> Output:
    """Run one reproduction and write its files.

    Parameters
    ----------
    name : {"pyrazine", "pyrazine4", "pyrazine24", "chemisorption", "furan", "retinal", "primer", "tged", "fssh"}
    directory : path-like, optional
        Output directory; [default] ``reproduce-<name>``.
    quick : bool
        Reduced version (fewer trajectories, shorter time, coarser grid)
        that runs in well under a minute.
    seed : int
        Sampling seed of the trajectory runs, >= 0.
    progress : bool
        Progress bars on the long parts.
    parameters : str, optional
        A named parameter set of the model, for the reproductions that have
        several (``PARAMETER_SETS`` of the module; furan: "illustrative",
        the default, "abinitio" or "abinitio-wb97xd").

    Returns
    -------
    Output
        ``files`` written and ``summary`` (the numbers that matter).

    Raises
    ------
    InputError
        Unknown name or bad seed, before any file or directory is created.
    """
    # every argument is checked before the output directory is created, so a
    # mistake leaves nothing behind
    key = str(name).lower()
    if key not in REPRODUCTIONS:
        raise InputError(f"unknown reproduction {name!r}; choose one of {', '.join(REPRODUCTIONS)}")
    seed = _check_seed(seed)
    module = importlib.import_module(f"{__name__}.{REPRODUCTIONS[key]}")
    sets = getattr(module, "PARAMETER_SETS", ())
    if parameters is not None and parameters not in sets:
        if not sets:
            raise InputError(f"reproduction {key!r} has one parameter set: --parameters {parameters!r} "
                             "does not apply to it")
        raise InputError(f"reproduction {key!r}: unknown parameter set {parameters!r}; choose one of "
                         f"{', '.join(sets)}")
    out = Output(Path(directory or f"reproduce-{key}"), quick=bool(quick), seed=int(seed),
                 progress=bool(progress), parameters=parameters)
    module.run(out)
    out.write_summary(key)
    return out


def _check_seed(seed) -> int:
    """``seed`` as an int, or an InputError: numpy takes only whole numbers >= 0."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


__all__ = ["REPRODUCTIONS", "reproduce", "Output"]
