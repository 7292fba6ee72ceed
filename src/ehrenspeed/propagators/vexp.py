"""exp(x) in arithmetic the compiler can vectorise (the fused Tully step's exponentials).

Tully's models need two exponentials per trajectory and potential
evaluation (models/tully.py). libm's ``exp`` is a scalar call, about 8.6 ns
per value on the benchmark machine (NumPy's ``np.exp`` is no faster there),
and a call inside a loop stops LLVM from vectorising the rest of it.
:func:`exp_rows` evaluates a branch-free polynomial in loops that the
compiler turns into SIMD code, and leaves the few arguments outside its
range to libm.

Method (the classical one, W. J. Cody and W. Waite, *Software Manual for the
Elementary Functions*, Prentice-Hall 1980):

1. x = k ln 2 + r with k = round(x / ln 2) and |r| <= ln(2)/2, ln 2 split
   into a head of 33 significant bits and a tail (the constants of Sun's
   fdlibm ``e_exp.c``), so that k * head is exact for |k| < 2**20;
2. exp(r) from its Taylor series to r^13 / 13! (the first omitted term is
   below 4.2e-18 relative for |r| <= 0.347), summed by Horner's rule;
3. the factor 2^k is built from its bits, (k + 1023) << 52 (k itself comes
   from adding 1.5 2^52, see :func:`_exp_core`), which needs
   1 <= k + 1023 <= 2046: callers use it for |x| <= :data:`EXP_MAX` only.

Accuracy against ``numpy.exp`` (tests/test_fused.py, which allows 4 units
in the last place): 1.0 ulp at most over 10^5 arguments in [-50, 0] and
[-720, 720].
"""

# Note for editors: numba's on-disk cache of the kernels that inline these
# functions (propagators/fused.py) is keyed on that file alone; delete
# src/ehrenspeed/propagators/__pycache__ after changing this one.

from __future__ import annotations

import numpy as np

try:  # optional dependency: the package works (more slowly) without it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

#: |x| above which the polynomial is not used (its 2^k would leave the
#: normal range below x = -708.4); libm takes over.
EXP_MAX = 700.0

_LOG2E = 1.44269504088896338700e+00
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: 1.5 2^52: adding it rounds |y| < 2^51 to an integer held in the low bits
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = int(np.array(_SHIFTER).view(np.int64))


def _exp_core(x: float) -> tuple[float, float]:
    """(exp(r), k + 1.5 2^52) with exp(x) = exp(r) 2^k, for |x| <= EXP_MAX.

    k = round(x / ln 2) is found by adding 1.5 2^52, which rounds to an
    integer (to nearest) and leaves k in the low bits of the sum: no
    float-to-integer conversion, which AVX2 has no vector instruction for.
    """
    shifted = x * _LOG2E + _SHIFTER
    k = shifted - _SHIFTER
    r = (x - k * _LN2_HI) - k * _LN2_LO
    poly = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
        1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
            1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600 + r * (1.0 / 6227020800)))))))))))))
    return poly, shifted


def exp_rows(arguments, values, scratch, m):
    """values[i] = exp(arguments[i]) for i < m; scratch is int64 (>= m,), aliasing neither.

    Loops the compiler vectorises (the polynomial; the exponent's bits
    (k + 1023) << 52 in integer arithmetic; the product with 2^k read from
    those bits), then a scalar pass that gives the few arguments beyond
    +-:data:`EXP_MAX` (and NaN) to libm.
    """
    shifted = scratch[:m].view(np.float64)
    for i in range(m):
        x = arguments[i]
        x = min(max(x, -EXP_MAX), EXP_MAX)   # keeps k in range; such points are redone below
        poly, shift = _exp_core_jit(x)
        values[i] = poly
        shifted[i] = shift
    for i in range(m):
        scratch[i] = (scratch[i] - _SHIFTER_BITS + 1023) << 52
    scale = scratch[:m].view(np.float64)
    for i in range(m):
        values[i] *= scale[i]
    for i in range(m):
        x = arguments[i]
        if not abs(x) <= EXP_MAX:
            values[i] = np.exp(x)


if numba is not None:  # pragma: no branch
    _exp_core_jit = numba.njit(inline="always", cache=True, error_model="numpy")(_exp_core)
    exp_rows = numba.njit(inline="always", cache=True, error_model="numpy")(exp_rows)
else:  # pragma: no cover - exercised only where numba is missing
    _exp_core_jit = _exp_core
