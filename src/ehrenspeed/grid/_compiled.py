"""Compiled (numba) pointwise kernels of the split-operator step (see :mod:`.kernels`).

Apart from :mod:`.kernels` so that importing the package does not import
numba: :class:`.kernels.Kernels` imports this module when it first applies a
propagator with numba.
"""

from __future__ import annotations

import numba
import numpy as np

from .kernels import _BLOCK


@numba.njit(nogil=True, fastmath=True, cache=True)
def matrix_kernel(prop, psi, lo, hi):  # pragma: no cover - compiled
    # prop: (S, S, 2 npts) float view of complex; psi: (S, 2 npts) float view;
    # points lo .. hi-1. Real arithmetic on explicit (re, im) pairs avoids
    # numba's general complex multiply; blocks of points keep each pass
    # over the S x S entries streaming through memory once.
    n_states = psi.shape[0]
    acc_re = np.empty((n_states, _BLOCK))
    acc_im = np.empty((n_states, _BLOCK))
    for start in range(lo, hi, _BLOCK):
        n = min(hi, start + _BLOCK) - start
        acc_re[:, :n] = 0.0
        acc_im[:, :n] = 0.0
        for k in range(n_states):
            for m in range(n_states):
                for i in range(n):
                    j = 2 * (start + i)
                    a = prop[k, m, j]
                    c = prop[k, m, j + 1]
                    x = psi[m, j]
                    y = psi[m, j + 1]
                    acc_re[k, i] += a * x - c * y
                    acc_im[k, i] += a * y + c * x
        # all S inputs of a point are read before any is overwritten
        for k in range(n_states):
            for i in range(n):
                j = 2 * (start + i)
                psi[k, j] = acc_re[k, i]
                psi[k, j + 1] = acc_im[k, i]

@numba.njit(nogil=True, fastmath=True, cache=True)
def symmetric_kernel(packed, psi, lo, hi):  # pragma: no cover - compiled
    # packed: (S(S+1)/2, 2 npts) float view of the upper triangle of a
    # complex *symmetric* matrix per point (exp(-i V tau) for real V),
    # rows in the order (0,0), (0,1), ..., (0,S-1), (1,1), ...: each
    # off-diagonal entry is read once and used for both (k, m) and (m, k),
    # a third less memory traffic than the full matrix for S = 3.
    n_states = psi.shape[0]
    acc_re = np.empty((n_states, _BLOCK))
    acc_im = np.empty((n_states, _BLOCK))
    for start in range(lo, hi, _BLOCK):
        n = min(hi, start + _BLOCK) - start
        acc_re[:, :n] = 0.0
        acc_im[:, :n] = 0.0
        row = 0
        for k in range(n_states):
            for m in range(k, n_states):
                if m == k:
                    for i in range(n):
                        j = 2 * (start + i)
                        a = packed[row, j]
                        c = packed[row, j + 1]
                        x = psi[k, j]
                        y = psi[k, j + 1]
                        acc_re[k, i] += a * x - c * y
                        acc_im[k, i] += a * y + c * x
                else:
                    for i in range(n):
                        j = 2 * (start + i)
                        a = packed[row, j]
                        c = packed[row, j + 1]
                        x = psi[m, j]
                        y = psi[m, j + 1]
                        acc_re[k, i] += a * x - c * y
                        acc_im[k, i] += a * y + c * x
                        x = psi[k, j]
                        y = psi[k, j + 1]
                        acc_re[m, i] += a * x - c * y
                        acc_im[m, i] += a * y + c * x
                row += 1
        for k in range(n_states):
            for i in range(n):
                j = 2 * (start + i)
                psi[k, j] = acc_re[k, i]
                psi[k, j + 1] = acc_im[k, i]


# The blocked kernels above keep 2 S accumulators in L1 and go through them
# once per matrix entry: four loads and two stores per complex multiply-add,
# which bounds them by the core, not by memory (6.3 ms on 3 x 64^3, one
# thread, against 3.5 ms for a copy of the same bytes). For the common small
# S the whole point fits in registers; these straight-line kernels read each
# byte once and write psi once, and run at memory bandwidth (2.1 ms).


@numba.njit(nogil=True, fastmath=True, cache=True)
def symmetric_kernel_2(packed, psi, lo, hi):  # pragma: no cover - compiled
    # S = 2; packed rows (0,0), (0,1), (1,1), float views as in symmetric_kernel
    for p in range(lo, hi):
        j = 2 * p
        x0 = psi[0, j]
        y0 = psi[0, j + 1]
        x1 = psi[1, j]
        y1 = psi[1, j + 1]
        a00 = packed[0, j]
        c00 = packed[0, j + 1]
        a01 = packed[1, j]
        c01 = packed[1, j + 1]
        a11 = packed[2, j]
        c11 = packed[2, j + 1]
        psi[0, j] = a00 * x0 - c00 * y0 + a01 * x1 - c01 * y1
        psi[0, j + 1] = a00 * y0 + c00 * x0 + a01 * y1 + c01 * x1
        psi[1, j] = a01 * x0 - c01 * y0 + a11 * x1 - c11 * y1
        psi[1, j + 1] = a01 * y0 + c01 * x0 + a11 * y1 + c11 * x1


@numba.njit(nogil=True, fastmath=True, cache=True)
def symmetric_kernel_3(packed, psi, lo, hi):  # pragma: no cover - compiled
    # S = 3; packed rows (0,0), (0,1), (0,2), (1,1), (1,2), (2,2)
    for p in range(lo, hi):
        j = 2 * p
        x0 = psi[0, j]
        y0 = psi[0, j + 1]
        x1 = psi[1, j]
        y1 = psi[1, j + 1]
        x2 = psi[2, j]
        y2 = psi[2, j + 1]
        a00 = packed[0, j]
        c00 = packed[0, j + 1]
        a01 = packed[1, j]
        c01 = packed[1, j + 1]
        a02 = packed[2, j]
        c02 = packed[2, j + 1]
        a11 = packed[3, j]
        c11 = packed[3, j + 1]
        a12 = packed[4, j]
        c12 = packed[4, j + 1]
        a22 = packed[5, j]
        c22 = packed[5, j + 1]
        psi[0, j] = a00 * x0 - c00 * y0 + a01 * x1 - c01 * y1 + a02 * x2 - c02 * y2
        psi[0, j + 1] = a00 * y0 + c00 * x0 + a01 * y1 + c01 * x1 + a02 * y2 + c02 * x2
        psi[1, j] = a01 * x0 - c01 * y0 + a11 * x1 - c11 * y1 + a12 * x2 - c12 * y2
        psi[1, j + 1] = a01 * y0 + c01 * x0 + a11 * y1 + c11 * x1 + a12 * y2 + c12 * x2
        psi[2, j] = a02 * x0 - c02 * y0 + a12 * x1 - c12 * y1 + a22 * x2 - c22 * y2
        psi[2, j + 1] = a02 * y0 + c02 * x0 + a12 * y1 + c12 * x1 + a22 * y2 + c22 * x2


#: S -> the straight-line symmetric kernel for that S (others use symmetric_kernel).
SYMMETRIC_BY_STATES = {2: symmetric_kernel_2, 3: symmetric_kernel_3}
