"""sin and cos together, in arithmetic the compiler can vectorise.

The electronic rotation exp(-i lambda tau) needs a sine and a cosine per
adiabatic level and trajectory. libm's ``sin`` and ``cos`` are scalar calls
(about 8-16 ns each on the benchmark machine) that stop LLVM from
vectorising the loop around them, and for two-state models they were two
thirds of the substep's time. :func:`sincos` below is a handful of
multiply-adds with no call and no branch, so a loop over trajectories
becomes SIMD code.

Method (the classical one):

1. Cody-Waite range reduction, x = k pi/2 + r with |r| <= pi/4 and
   k = round(2 x / pi), with pi/2 split into three parts of 33 significant
   bits each, so that k * part is exact for |k| < 2**20 and r carries a
   relative error of about one unit in the last place
   (W. J. Cody and W. Waite, *Software Manual for the Elementary Functions*,
   Prentice-Hall 1980, chapter 8).
2. Minimax polynomials for sin r and cos r on [-pi/4, pi/4]: the
   coefficients of Sun's fdlibm (``k_sin.c``, ``k_cos.c``, 1993), whose
   approximation error is below 2**-58; the cosine is summed as
   w + ((1 - w) - z/2 + z^2 P(z)) with w = 1 - z/2, which keeps the leading
   term's rounding error out of the result.
3. The quadrant k mod 4 selects (+-sin r, +-cos r) without branches.

Accuracy, against ``numpy.sin`` / ``numpy.cos`` for |x| <= :data:`SINCOS_MAX`
(``tests/test_fastpath.py``): absolute error <= 1.2e-16 everywhere, and at
most 2 units in the last place except next to a zero of sin or cos, where
the neglected tail of pi/2 (8.5e-32 k) leaves an absolute error below 1e-26
(far below the rounding error ~|x| 1e-16 of the phase x itself). The
reduction degrades beyond |x| ~ 1.6e6, so callers must use libm above
:data:`SINCOS_MAX`; the substep kernels do.
"""

# Note for editors: numba's on-disk cache of the kernels that inline
# ``sincos`` (kernels.py) is keyed on kernels.py alone and does not notice an
# edit of this file; delete src/ehrenspeed/propagators/__pycache__ after
# changing it.

from __future__ import annotations

import numpy as np

try:  # optional dependency: the package works (more slowly) without it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

#: Largest |x| for which :func:`sincos` is used; above it, libm. The
#: reduction is accurate to |x| ~ 1.6e6; the margin costs nothing (phases
#: lambda tau are O(1-100) rad for any sensible substep).
SINCOS_MAX = 1.0e5

_TWO_OVER_PI = 0.63661977236758134308
# pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 (+ 8.5e-32): 33 + 33 + 53 bits
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
# sin r = r + r^3 (S1 + z S2 + ... + z^5 S6), z = r^2
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
# cos r = 1 - z/2 + z^2 (C1 + z C2 + ... + z^5 C6)
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11


def _sincos(x: float) -> tuple[float, float]:
    """(sin x, cos x) for |x| <= SINCOS_MAX, to about one ulp."""
    k = np.floor(x * _TWO_OVER_PI + 0.5)
    r = ((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    z = r * r
    sin_r = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    half_z = 0.5 * z
    w = 1.0 - half_z
    cos_r = w + (((1.0 - w) - half_z)
                 + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    quadrant = np.int64(k) & 3
    # quadrant 0: (s, c); 1: (c, -s); 2: (-s, -c); 3: (-c, s)
    odd = (quadrant & 1) == 1
    first = cos_r if odd else sin_r
    second = sin_r if odd else cos_r
    sin_x = -first if (quadrant & 2) == 2 else first
    cos_x = -second if ((quadrant + 1) & 2) == 2 else second
    return sin_x, cos_x


if numba is not None:  # pragma: no branch
    #: compiled, inlined into its callers (a call would block vectorisation)
    sincos = numba.njit(inline="always", cache=True, error_model="numpy")(_sincos)
else:  # pragma: no cover - exercised only where numba is missing
    sincos = _sincos
