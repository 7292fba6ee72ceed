"""The multidimensional FFTs of the split-operator step and its observables.

One place that chooses the FFT library:

* ``"fftw"``: FFTW through pyFFTW. The split-operator step uses
  :class:`InPlaceTransforms`: FFTW plans made once per stepper
  (``FFTW_MEASURE``) that transform one aligned buffer in place, the fastest
  way FFTW offers. The one-off transforms :func:`fftn` / :func:`ifftn` go
  through pyFFTW's drop-in ``scipy.fft`` interface with its plan cache on.
  The optional extra ``pip install "ehrenspeed[fftw]"`` installs pyFFTW.
  FFTW was 1.7-3.4x faster than scipy's pocketfft on the benchmark machine
  (issue 18; ``benchmarks/exact.py`` prints the ratio).
* ``"scipy"``: ``scipy.fft`` (pocketfft), always available, the fallback.
* ``"auto"`` (default): FFTW when pyFFTW is installed, scipy otherwise.

Both compute the same transforms (no normalisation forward, 1/n inverse,
NumPy's sign convention) and agree to round-off (tests/test_fft.py);
:class:`InPlaceTransforms` leaves the inverse unnormalised, for the caller
to fold 1/n into a product it does anyway. The
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


class InPlaceTransforms:
    """Forward and unnormalised inverse FFTs of one array shape, in place, planned once.

    The split-operator step transforms the same (S, n_1, ..., n_D) array
    twice per kinetic factor. pyFFTW's ``scipy.fft`` interface allocates a
    fresh output array on every call, and the first touch of those pages cost
    1.7x the transforms themselves at 3 x 64^3 (``benchmarks/exact.py``,
    issue 18). With FFTW this class plans both directions once
    (``FFTW_MEASURE``, the plans reused for the stepper's life) on one
    aligned buffer and executes them in place: the FFTW floor. With scipy it
    calls ``scipy.fft`` with ``overwrite_x``.

    The inverse is *not* divided by the number of points n: callers fold
    :attr:`inverse_scale` (= 1/n) into a product they apply anyway (the
    kinetic phase), which saves one pass over the array.

    Parameters
    ----------
    shape : tuple of int
        Shape of the arrays, (S, n_1, ..., n_D).
    axes : tuple of int
        The transformed axes.
    workers : int
        Threads of the transforms.
    """

    def __init__(self, shape: tuple[int, ...], axes: tuple[int, ...], workers: int = 1) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.axes = tuple(axes)
        self.workers = int(workers)
        self.library = library()
        self.inverse_scale = 1.0 / float(np.prod([self.shape[a] for a in self.axes]))
        if self.library == "fftw":
            import pyfftw

            # FFTW_MEASURE overwrites the array it plans on: plan first, fill later
            self.buffer = pyfftw.empty_aligned(self.shape, dtype=np.complex128)
            plan = dict(axes=self.axes, flags=(PLANNER_EFFORT,), threads=self.workers)
            self._forward = pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_FORWARD", **plan)
            self._backward = pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_BACKWARD", **plan)
        else:
            self.buffer = None

    def _into_buffer(self, psi: np.ndarray) -> np.ndarray:
        if psi is not self.buffer:
            np.copyto(self.buffer, psi)
        return self.buffer

    def forward(self, psi: np.ndarray) -> np.ndarray:
        """psi(k) = sum_x psi(x) exp(-i k x) over :attr:`axes` (NumPy's convention).

        Parameters
        ----------
        psi : ndarray, shape :attr:`shape`, complex128
            May be overwritten.

        Returns
        -------
        ndarray, shape :attr:`shape`
            The transform; with FFTW always :attr:`buffer`.
        """
        if self.buffer is None:
            import scipy.fft

            return scipy.fft.fftn(psi, axes=self.axes, workers=self.workers, overwrite_x=True)
        psi = self._into_buffer(psi)
        self._forward.execute()
        return psi

    def inverse_unnormalised(self, psi: np.ndarray) -> np.ndarray:
        """n times the inverse transform of ``psi`` (multiply by :attr:`inverse_scale` for the inverse).

        Parameters and return as :meth:`forward`.
        """
        if self.buffer is None:
            import scipy.fft

            # norm="forward" puts 1/n on the forward transform: the inverse is left unscaled
            return scipy.fft.ifftn(psi, axes=self.axes, workers=self.workers, overwrite_x=True, norm="forward")
        psi = self._into_buffer(psi)
        self._backward.execute()
        return psi
