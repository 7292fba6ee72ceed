"""The rectangular position grid of exact (split-operator) dynamics.

The wavefunction lives on a uniform product grid with ``n_a`` points per
coordinate a. The fast Fourier transform that applies the kinetic energy
treats every axis as periodic, so the grid of axis a is

    x_j = lower_a + j * dx_a,   j = 0 .. n_a - 1,   dx_a = (upper_a - lower_a) / n_a,

i.e. ``upper`` itself is *not* a grid point: it is the image of ``lower``
one period later. For a genuinely periodic coordinate (a torsion angle)
this is exact when [lower, upper) is one period of the potential; for an
ordinary coordinate the box must be large enough that the wavefunction
vanishes near both ends (:func:`ehrenspeed.grid.run_exact` warns when it
does not).

The conjugate momentum grid is k_j = 2 pi * fftfreq(n_a, dx_a) (in FFT
order), spanning [-pi/dx_a, pi/dx_a).
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from ..errors import InputError

#: Relative tolerance when comparing a grid interval with a model's period.
PERIOD_RTOL = 1e-9


class Grid:
    """A uniform rectangular grid in D nuclear coordinates.

    Parameters
    ----------
    lower, upper : array_like, shape (D,)
        Interval [lower_a, upper_a) of each coordinate, coordinate units
        (bohr, radian or dimensionless). Scalars broadcast against the other
        arguments.
    points : int or array_like of int, shape (D,)
        Number of points n_a >= 2 per coordinate. Even numbers (best: powers
        of two, or products of 2, 3, 5) make the FFTs fastest.
    periodic : bool or array_like of bool, shape (D,), optional
        Coordinates that are periodic with period ``upper - lower``: no
        grid-edge warning is given for them. :meth:`for_model` and
        :func:`~ehrenspeed.grid.run_exact` also mark the coordinates a model
        declares periodic.

    Examples
    --------
    >>> grid = Grid(lower=[-8] * 3, upper=[8] * 3, points=[48] * 3)
    >>> grid.shape, grid.spacing[0]
    ((48, 48, 48), 0.3333333333333333)
    """

    def __init__(self, lower, upper, points, periodic=None) -> None:
        try:
            lower_a, upper_a, points_a = np.broadcast_arrays(
                np.atleast_1d(np.asarray(lower, dtype=float)),
                np.atleast_1d(np.asarray(upper, dtype=float)),
                np.atleast_1d(np.asarray(points)))
        except (ValueError, TypeError):
            raise InputError(f"grid lower, upper and points must have one entry per coordinate; "
                             f"got {lower!r}, {upper!r}, {points!r}") from None
        if lower_a.ndim != 1:
            raise InputError("grid lower, upper and points must be one-dimensional")
        if not (np.all(np.isfinite(lower_a)) and np.all(np.isfinite(upper_a))):
            raise InputError("grid lower and upper must be finite numbers")
        if np.any(upper_a <= lower_a):
            bad = int(np.argmax(upper_a <= lower_a))
            raise InputError(f"grid upper must exceed lower; coordinate {bad} has "
                             f"[{lower_a[bad]}, {upper_a[bad]})")
        pts = []
        for value in points_a:
            if isinstance(value, (bool, np.bool_)) or float(value) != int(value) or int(value) < 2:
                raise InputError(f"grid points must be whole numbers >= 2, got {points!r}")
            pts.append(int(value))
        d = lower_a.size
        flags = np.zeros(d, dtype=bool) if periodic is None else np.asarray(periodic, dtype=bool)
        if flags.ndim == 0:
            flags = np.full(d, bool(flags))
        elif flags.shape != (d,):
            raise InputError(f"periodic must have {d} entries, got {periodic!r}")
        else:
            flags = flags.copy()
        self.lower = lower_a.copy()
        self.upper = upper_a.copy()
        self.points = tuple(pts)
        self.periodic = flags
        for arr in (self.lower, self.upper, self.periodic):
            arr.setflags(write=False)

    # -- construction from a model --------------------------------------
    @classmethod
    def for_model(cls, model, lower=None, upper=None, points=64) -> "Grid":
        """A grid for ``model`` whose periodic coordinates span their natural period.

        Parameters
        ----------
        model : Model
            Supplies ``n_dof`` and ``periods`` (D, 2) (nan rows for ordinary
            coordinates).
        lower, upper : array_like, shape (D,)
            Interval of every coordinate. For a periodic coordinate the
            entry may be ``None`` or ``nan`` (the model's period is used) or
            must span exactly one period.
        points : int or array_like, shape (D,)

        Raises
        ------
        InputError
            When an ordinary coordinate has no interval, or a periodic one is
            given an interval that is not its period.
        """
        d = int(model.n_dof)
        periods = getattr(model, "periods", None)
        periods = np.full((d, 2), np.nan) if periods is None else np.asarray(periods, dtype=float)
        lo = _entries(lower, d, "lower")
        hi = _entries(upper, d, "upper")
        flags = np.isfinite(periods[:, 0])
        for a in range(d):
            if flags[a]:
                p_lo, p_hi = periods[a]
                if np.isnan(lo[a]) and np.isnan(hi[a]):
                    lo[a], hi[a] = p_lo, p_hi
                elif np.isnan(lo[a]) or np.isnan(hi[a]):
                    raise InputError(f"coordinate {a} is periodic: give both lower and upper, or neither")
                elif not spans_period(lo[a], hi[a], p_lo, p_hi):
                    raise InputError(f"coordinate {a} is periodic with period [{p_lo}, {p_hi}); the grid "
                                     f"interval [{lo[a]}, {hi[a]}) must span exactly one period")
            elif np.isnan(lo[a]) or np.isnan(hi[a]):
                raise InputError(f"coordinate {a} is not periodic: give its grid lower and upper")
        return cls(lo, hi, points, periodic=flags)

    # -- geometry -------------------------------------------------------
    @property
    def n_dof(self) -> int:
        """Number of coordinates D."""
        return self.lower.size

    @property
    def shape(self) -> tuple[int, ...]:
        """(n_1, ..., n_D)."""
        return self.points

    @property
    def size(self) -> int:
        """Total number of grid points, prod n_a."""
        return math.prod(self.points)

    @property
    def spacing(self) -> np.ndarray:
        """dx_a = (upper_a - lower_a) / n_a, shape (D,)."""
        return (self.upper - self.lower) / np.asarray(self.points)

    @property
    def volume_element(self) -> float:
        """dV = prod_a dx_a (the quadrature weight of every point)."""
        return float(np.prod(self.spacing))

    @property
    def axes(self) -> list[np.ndarray]:
        """Grid positions of each coordinate, D arrays of shape (n_a,)."""
        return [lo + dx * np.arange(n) for lo, dx, n in zip(self.lower, self.spacing, self.points)]

    @property
    def momentum_axes(self) -> list[np.ndarray]:
        """Momenta k_a = 2 pi fftfreq(n_a, dx_a) in FFT order, D arrays (n_a,), a.u."""
        return [2.0 * np.pi * np.fft.fftfreq(n, dx) for n, dx in zip(self.points, self.spacing)]

    def positions(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Coordinates of the flat (C-order) grid points ``start .. stop - 1``.

        Returns
        -------
        ndarray, shape (stop - start, D)
        """
        stop = self.size if stop is None else min(stop, self.size)
        index = np.unravel_index(np.arange(start, stop), self.points)
        return np.stack([lo + dx * i for lo, dx, i in zip(self.lower, self.spacing, index)], axis=1)

    def chunks(self, chunk_points: int) -> Iterator[tuple[int, int]]:
        """(start, stop) ranges of at most ``chunk_points`` flat indices covering the grid."""
        chunk_points = max(1, int(chunk_points))
        for start in range(0, self.size, chunk_points):
            yield start, min(start + chunk_points, self.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"lower": self.lower.tolist(), "upper": self.upper.tolist(),
                "points": list(self.points), "periodic": self.periodic.tolist()}

    def __repr__(self) -> str:
        return (f"Grid(lower={self.lower.tolist()}, upper={self.upper.tolist()}, "
                f"points={list(self.points)}, periodic={self.periodic.tolist()})")


def spans_period(lo: float, hi: float, p_lo: float, p_hi: float) -> bool:
    """True when [lo, hi) has the length of the period [p_lo, p_hi)."""
    width = p_hi - p_lo
    return abs((hi - lo) - width) <= PERIOD_RTOL * max(1.0, abs(width))


def _entries(values, d: int, name: str) -> np.ndarray:
    """A (D,) float array from a sequence that may hold None (-> nan)."""
    if values is None:
        return np.full(d, np.nan)
    if np.ndim(values) == 0:
        values = [values] * d
    values = list(values)
    if len(values) != d:
        raise InputError(f"grid {name} must have {d} entries, got {len(values)}")
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        raise InputError(f"grid {name} must hold numbers (or None for periodic coordinates)") from None
