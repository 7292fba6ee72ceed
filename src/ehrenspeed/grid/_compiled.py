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
