"""The two pointwise kernels of the split-operator step, compiled when possible.

Per step the split operator does two FFTs and two pointwise products:

* the kinetic phase, psi_s(k) <- exp(-i T(k) tau) psi_s(k) for every state s;
* the potential propagator, psi(x) <- P(x) psi(x) with an S x S matrix P at
  every grid point.

The FFTs are the unavoidable floor; the products must cost little next to
them. The phase product is numpy's in-place broadcast multiply (as fast as
anything compiled we tried). With numba (the ``fast`` extra) the S x S
product is one pass over memory, in place, split across threads, working on
blocks of points in real arithmetic (2-3x
faster than ``numpy.einsum`` on 3 x 64^3 points, see
``benchmarks/exact.py``); without numba ``numpy.einsum`` does it with one
temporary.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

# numba is optional (extra "fast"); the numpy path gives the same numbers. The
# compiled kernels live in ._compiled, imported when a Kernels object first
# uses them, so that importing the package does not import numba.
from ..backend import HAVE_NUMBA

#: Points per block in the compiled matrix kernel: the 2 S accumulators of
#: this length stay in L1 cache while the S x S entries stream past.
_BLOCK = 256


def apply_matrix_numpy(prop: np.ndarray, psi: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[k, p] = sum_l prop[k, l, p] psi[l, p] with numpy.

    Parameters
    ----------
    prop : ndarray, shape (S, S, npts), complex
    psi : ndarray, shape (S, npts), complex
    out : ndarray, shape (S, npts), complex
        Must not share memory with ``psi``.
    """
    return np.einsum("klp,lp->kp", prop, psi, out=out)


def apply_phase_numpy(psi: np.ndarray, phase: np.ndarray) -> None:
    """psi[s, p] *= phase[p] in place, with numpy broadcasting."""
    np.multiply(psi, phase, out=psi)


#: Below this many points one thread does the work (thread hand-off costs more).
_PARALLEL_MIN_POINTS = 32768


class Kernels:
    """The pointwise products, with numba when available and allowed.

    The compiled kernels release the GIL and are run on contiguous ranges of
    points by a small thread pool of our own, rather than through numba's
    ``parallel=True``: on a shared, oversubscribed machine an OpenMP team
    that spin-waits can cost milliseconds per launch, while a plain thread
    pool degrades gracefully.

    Parameters
    ----------
    n_states, npts : int
        Shape (S, npts) of the flattened wavefunction.
    use_numba : bool or None
        None: use numba when it is installed. False: numpy only.
    workers : int
        Threads for the compiled kernels.
    """

    def __init__(self, n_states: int, npts: int, use_numba: bool | None = None, workers: int = 1) -> None:
        self.use_numba = HAVE_NUMBA if use_numba is None else bool(use_numba) and HAVE_NUMBA
        # the numpy matrix product cannot work in place: one (S, npts) buffer
        self._work = None if self.use_numba else np.empty((n_states, npts), dtype=complex)
        self._ranges = [(0, npts)]
        self._pool = None
        if self.use_numba and workers > 1 and npts >= _PARALLEL_MIN_POINTS:
            edges = np.linspace(0, npts // _BLOCK, workers + 1).astype(int) * _BLOCK
            edges[-1] = npts
            self._ranges = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
            self._pool = ThreadPoolExecutor(max_workers=len(self._ranges), thread_name_prefix="ehrenspeed-grid")

    def close(self) -> None:
        """Stop the worker threads (also done when the object is collected)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self) -> None:
        self.close()

    @staticmethod
    def work_bytes(n_states: int, npts: int, use_numba: bool | None = None) -> int:
        """Bytes of the buffer the kernels allocate."""
        numba_on = HAVE_NUMBA if use_numba is None else bool(use_numba) and HAVE_NUMBA
        return 0 if numba_on else 16 * n_states * npts

    def _run(self, kernel, *arrays) -> None:
        if self._pool is None:
            kernel(*arrays, 0, self._ranges[-1][1])
            return
        futures = [self._pool.submit(kernel, *arrays, lo, hi) for lo, hi in self._ranges]
        for future in futures:
            future.result()

    def apply_matrix(self, prop: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """psi(x) <- prop(x) psi(x) at every point.

        Parameters
        ----------
        prop : ndarray, shape (S, S, npts) or (S(S+1)/2, npts), complex128
            The full matrix, or (numba only) the packed upper triangle of a
            complex symmetric one (see :func:`~.operators.pack_symmetric`).
        psi : ndarray, shape (S, npts), complex128, C-contiguous

        Returns
        -------
        ndarray, shape (S, npts)
            The product, in ``psi`` itself.
        """
        if self.use_numba:
            from ._compiled import SYMMETRIC_BY_STATES, matrix_kernel, symmetric_kernel  # imports numba

            if prop.ndim == 2:
                kernel = SYMMETRIC_BY_STATES.get(psi.shape[0], symmetric_kernel)
            else:
                kernel = matrix_kernel
            self._run(kernel, prop.view(np.float64), psi.view(np.float64))
            return psi
        if prop.ndim == 2:
            raise ValueError("packed symmetric propagators need the numba kernels")
        # einsum cannot write over its input: into our buffer, then back into psi
        # (the caller's array may be an FFT buffer it must keep using)
        apply_matrix_numpy(prop, psi, self._work)
        np.copyto(psi, self._work)
        return psi

    def apply_phase(self, psi: np.ndarray, phase: np.ndarray) -> None:
        """psi[s, p] *= phase[p] in place; psi (S, npts), phase (npts,) complex.

        Always numpy: its SIMD complex multiply beat a compiled loop (1.2
        against 2.1 ms on 3 x 64^3, one thread), and splitting this
        memory-bound pass over threads gained nothing measurable.
        """
        apply_phase_numpy(psi, phase)


