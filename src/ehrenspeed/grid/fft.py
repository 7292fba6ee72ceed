"""The multidimensional FFTs of the split-operator step and its observables.

One place that chooses the FFT library, imported lazily: ``scipy.fft`` (the
default, always available) takes ~0.1-0.2 s to import, which the package does
not pay until an exact run first transforms a wavefunction.
"""

from __future__ import annotations

import numpy as np


def fftn(psi: np.ndarray, axes: tuple[int, ...], workers: int = 1, overwrite_x: bool = False) -> np.ndarray:
    """Forward FFT of ``psi`` (complex) over ``axes`` (no normalisation, NumPy's sign convention)."""
    import scipy.fft

    return scipy.fft.fftn(psi, axes=axes, workers=workers, overwrite_x=overwrite_x)


def ifftn(psi: np.ndarray, axes: tuple[int, ...], workers: int = 1, overwrite_x: bool = False) -> np.ndarray:
    """Inverse FFT of ``psi`` over ``axes`` (normalised by 1/n, NumPy's convention)."""
    import scipy.fft

    return scipy.fft.ifftn(psi, axes=axes, workers=workers, overwrite_x=overwrite_x)
