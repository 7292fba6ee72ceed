"""The multidimensional FFTs of the split-operator step and its observables.

One place that chooses the FFT library:

* ``"fftw"``: FFTW through pyFFTW's drop-in ``scipy.fft`` interface
  (``pyfftw.interfaces.scipy_fft``), with its plan cache on, so that each
  shape is planned once per run and every later step reuses the plan. The
  optional extra ``pip install "ehrenspeed[fftw]"`` installs pyFFTW.
  FFTW was 1.7-3.4x faster than scipy's pocketfft on the benchmark machine
  (issue 18; ``benchmarks/exact.py`` prints the ratio).
* ``"scipy"``: ``scipy.fft`` (pocketfft), always available, the fallback.
* ``"auto"`` (default): FFTW when pyFFTW is installed, scipy otherwise.

Both compute the same transforms (no normalisation forward, 1/n inverse,
NumPy's sign convention) and agree to round-off (tests/test_fft.py). The
choice is read from ``EHRENSPEED_FFT`` at import or set with
:func:`set_library`. Both libraries are imported on first use: ``scipy.fft``
alone takes 0.1-0.2 s, which ``import ehrenspeed`` does not pay.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from ..errors import InputError

#: Accepted library names.
LIBRARIES = ("auto", "scipy", "fftw")

#: Seconds pyFFTW keeps an unused plan: longer than any step or output
#: interval, so a run never plans the same shape twice.
PLAN_KEEPALIVE_S = 600.0

#: FFTW's planner effort: "FFTW_MEASURE" times candidate algorithms once per
#: shape (well under a second for the grids here), "FFTW_ESTIMATE" (pyFFTW's
#: interface default) guesses.
PLANNER_EFFORT = "FFTW_MEASURE"

HAVE_FFTW = importlib.util.find_spec("pyfftw") is not None


def _check(name) -> str:
    key = str(name).lower()
    if key not in LIBRARIES:
        raise InputError(f"unknown FFT library {name!r}; use one of {', '.join(LIBRARIES)}")
    if key == "fftw" and not HAVE_FFTW:
        raise InputError("FFT library 'fftw' needs pyFFTW: pip install 'ehrenspeed[fftw]'")
    return key


_choice = _check(os.environ.get("EHRENSPEED_FFT", "auto"))
_fftw_module = None


def set_library(name: str) -> str:
    """Set the FFT library (``"auto"``, ``"scipy"`` or ``"fftw"``); return the previous setting."""
    global _choice
    old, _choice = _choice, _check(name)
    return old


def library() -> str:
    """The library the transforms use now: ``"fftw"`` or ``"scipy"``."""
    if _choice == "auto":
        return "fftw" if HAVE_FFTW else "scipy"
    return _choice


def _module():
    """``scipy.fft`` or pyFFTW's interface to it (plan cache enabled once)."""
    global _fftw_module
    if library() == "scipy":
        import scipy.fft

        return scipy.fft
    if _fftw_module is None:
        import pyfftw.interfaces.cache
        import pyfftw.interfaces.scipy_fft

        pyfftw.interfaces.cache.enable()
        pyfftw.interfaces.cache.set_keepalive_time(PLAN_KEEPALIVE_S)
        _fftw_module = pyfftw.interfaces.scipy_fft
    return _fftw_module


def _options() -> dict:
    """Extra keywords of the FFTW interface: measured plans (FFTW tries several
    algorithms once per shape; the cache keeps the winner for the run)."""
    return {"planner_effort": PLANNER_EFFORT} if library() == "fftw" else {}


def fftn(psi: np.ndarray, axes: tuple[int, ...], workers: int = 1, overwrite_x: bool = False) -> np.ndarray:
    """Forward FFT of ``psi`` (complex) over ``axes`` (no normalisation, NumPy's sign convention).

    ``overwrite_x`` lets the library reuse ``psi``'s memory; callers must use
    the returned array either way.
    """
    return _module().fftn(psi, axes=axes, workers=workers, overwrite_x=overwrite_x, **_options())


def ifftn(psi: np.ndarray, axes: tuple[int, ...], workers: int = 1, overwrite_x: bool = False) -> np.ndarray:
    """Inverse FFT of ``psi`` over ``axes`` (normalised by 1/n, NumPy's convention)."""
    return _module().ifftn(psi, axes=axes, workers=workers, overwrite_x=overwrite_x, **_options())
