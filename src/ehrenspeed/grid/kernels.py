"""The two pointwise kernels of the split-operator step, compiled when possible.

Per step the split operator does two FFTs and two pointwise products:

* the kinetic phase, psi_s(k) <- exp(-i T(k) tau) psi_s(k) for every state s;
* the potential propagator, psi(x) <- P(x) psi(x) with an S x S matrix P at
  every grid point.

The FFTs are the unavoidable floor; the products must cost little next to
them. With numba (the ``fast`` extra) both products run as one parallel
pass over memory; the S x S product works on blocks of points with the
complex numbers split into real arithmetic, which the compiler vectorises
(about 3x faster than ``numpy.einsum`` on 3 x 64^3 points, measured in
``benchmarks/exact.py``). Without numba the numpy versions below do the same
work with one temporary.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional (extra "fast"); the numpy path gives the same numbers
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

HAVE_NUMBA = numba is not None

#: Points per block in the compiled matrix kernel: S accumulators of this
#: length stay in L1 cache while the inner loop over points vectorises.
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


if HAVE_NUMBA:

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _matrix_kernel(prop, psi):  # pragma: no cover - compiled
        # prop: (S, S, 2 npts) float view of complex; psi: (S, 2 npts) float view
        n_states = psi.shape[0]
        npts = psi.shape[1] // 2
        nblk = (npts + _BLOCK - 1) // _BLOCK
        for b in numba.prange(nblk):
            lo = b * _BLOCK
            n = min(npts, lo + _BLOCK) - lo
            acc_re = np.zeros((n_states, _BLOCK))
            acc_im = np.zeros((n_states, _BLOCK))
            for k in range(n_states):
                for m in range(n_states):
                    for i in range(n):
                        j = 2 * (lo + i)
                        a = prop[k, m, j]
                        c = prop[k, m, j + 1]
                        x = psi[m, j]
                        y = psi[m, j + 1]
                        acc_re[k, i] += a * x - c * y
                        acc_im[k, i] += a * y + c * x
            # all S inputs of a point are read before any is overwritten
            for k in range(n_states):
                for i in range(n):
                    j = 2 * (lo + i)
                    psi[k, j] = acc_re[k, i]
                    psi[k, j + 1] = acc_im[k, i]

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _phase_kernel(psi, phase):  # pragma: no cover - compiled
        n_states, npts = psi.shape
        nblk = (npts + 4095) // 4096
        for b in numba.prange(nblk):
            lo = b * 4096
            hi = min(npts, lo + 4096)
            for s in range(n_states):
                for p in range(lo, hi):
                    psi[s, p] *= phase[p]


class Kernels:
    """The pointwise products, with numba when available and allowed.

    Parameters
    ----------
    n_states, npts : int
        Shape (S, npts) of the flattened wavefunction.
    use_numba : bool or None
        None: use numba when it is installed. False: numpy only.
    """

    def __init__(self, n_states: int, npts: int, use_numba: bool | None = None) -> None:
        self.use_numba = HAVE_NUMBA if use_numba is None else bool(use_numba) and HAVE_NUMBA
        # the numpy matrix product cannot work in place: one (S, npts) buffer
        self._work = None if self.use_numba else np.empty((n_states, npts), dtype=complex)

    @staticmethod
    def work_bytes(n_states: int, npts: int, use_numba: bool | None = None) -> int:
        """Bytes of the buffer the kernels allocate."""
        numba_on = HAVE_NUMBA if use_numba is None else bool(use_numba) and HAVE_NUMBA
        return 0 if numba_on else 16 * n_states * npts

    def apply_matrix(self, prop: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """psi(x) <- prop(x) psi(x) at every point.

        Parameters
        ----------
        prop : ndarray, shape (S, S, npts), complex128, C-contiguous
        psi : ndarray, shape (S, npts), complex128, C-contiguous

        Returns
        -------
        ndarray, shape (S, npts)
            The product: ``psi`` itself (numba) or the other of two buffers
            (numpy), so callers must use the return value.
        """
        if self.use_numba:
            _matrix_kernel(prop.view(np.float64), psi.view(np.float64))
            return psi
        out = self._work
        apply_matrix_numpy(prop, psi, out)
        self._work = psi
        return out

    def apply_phase(self, psi: np.ndarray, phase: np.ndarray) -> None:
        """psi[s, p] *= phase[p] in place; psi (S, npts), phase (npts,) complex."""
        if self.use_numba:
            _phase_kernel(psi, phase)
        else:
            apply_phase_numpy(psi, phase)


def set_threads(workers: int) -> int | None:
    """Set numba's thread count (bounded by its pool); return the old one."""
    if not HAVE_NUMBA:
        return None
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS)))
    return old
