"""The split-operator stepper for an S-state wavefunction on a D-dimensional grid.

Second order (Strang) step of length h (J. Comput. Phys. 47, 412 (1982)):

    S2(h) = exp(-i T h/2) exp(-i V h) exp(-i T h/2),

exact for T = 0 or V = 0, with a local error O(h^3) from the commutator
[T, V]. The fourth-order step is the symmetric triple jump (H. Yoshida,
Phys. Lett. A 150, 262 (1990); Phys. Lett. A 146, 319 (1990))

    S4(h) = S2(w1 h) S2(w0 h) S2(w1 h),  w1 = 1 / (2 - 2^(1/3)),  w0 = 1 - 2 w1,

whose middle substep runs backwards in time (w0 < 0).

Kinetic factors of neighbouring substeps commute and merge, so n Strang
steps cost n + 1 kinetic factors instead of 2n (T/2 V T/2 T/2 V T/2 =
T/2 V T V T/2): :meth:`SplitOperator.advance` merges them over a whole
output interval. Each kinetic factor is a forward FFT, a phase product and
an inverse FFT; each potential factor is an S x S matrix product at every
point with the propagator precomputed for each substep length the time step
uses (for a real potential only its upper triangle: it is complex
symmetric).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..errors import InputError
from . import fft
from .grid import Grid
from .kernels import HAVE_NUMBA, Kernels
from .operators import (PotentialOnGrid, apply_potential_eigenbasis, kinetic_energy, kinetic_phase,
                        potential_propagator)

#: Triple-jump weights of the fourth-order composition.
W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
W0 = 1.0 - 2.0 * W1

#: integrator name -> weights of the Strang substeps of one step.
COMPOSITIONS: dict[str, tuple[float, ...]] = {"strang": (1.0,), "yoshida4": (W1, W0, W1)}
#: integrator name -> order of the global error in dt.
ORDERS = {"strang": 2, "yoshida4": 4}

#: Kinetic phase arrays kept for step lengths other than the regular ones.
_EXTRA_PHASES = 8


def check_integrator(name: str) -> str:
    """Validate an integrator name."""
    key = str(name).lower()
    if key not in COMPOSITIONS:
        raise InputError(f"unknown integrator {name!r} for exact dynamics; use one of {sorted(COMPOSITIONS)}")
    return key


class SplitOperator:
    """Propagates psi of shape (S, n_1, ..., n_D) with split-operator steps.

    Parameters
    ----------
    grid : Grid
    mass : ndarray, shape (D,)
        Masses of the coordinates, electron masses.
    potential : PotentialOnGrid
        V diagonalised at every grid point.
    dt : float
        The regular step, a.u.: exp(-i V w dt) for each weight w of the
        composition is precomputed (and kept) once.
    integrator : {"strang", "yoshida4"}
    workers : int
        Threads for the FFTs (``scipy.fft`` ``workers``) and the compiled
        pointwise kernels.
    use_numba : bool, optional
        None: use numba when installed; False forces the numpy kernels.

    Notes
    -----
    Steps of any other length (the last, shorter step before an output time
    that is not a multiple of dt) are exact too: their potential factor is
    applied through the eigenbasis without storing a propagator.
    """

    def __init__(self, grid: Grid, mass: np.ndarray, potential: PotentialOnGrid, dt: float,
                 integrator: str = "strang", workers: int = 1, use_numba: bool | None = None) -> None:
        self.integrator = check_integrator(integrator)
        self.order = ORDERS[self.integrator]
        self.weights = COMPOSITIONS[self.integrator]
        self.grid = grid
        self.potential_on_grid = potential
        self.n_states = potential.n_states
        self.shape = (self.n_states,) + grid.shape
        self.axes = tuple(range(1, grid.n_dof + 1))
        self.workers = int(workers)
        self.dt = float(dt)
        self.kernels = Kernels(self.n_states, grid.size, use_numba, self.workers)
        self.tkin = kinetic_energy(grid, np.asarray(mass, dtype=float))
        # real V: exp(-i V tau) is complex symmetric, store its upper triangle
        self.packed = self.kernels.use_numba and not np.iscomplexobj(potential.eigenvectors)
        # the regular substep lengths: keys are computed by the same arithmetic
        # as in sequence(), so the cached arrays are found by exact float lookup
        self._propagators = {}
        for w in self.weights:
            tau = w * self.dt
            if tau not in self._propagators:
                self._propagators[tau] = potential_propagator(potential, tau, packed=self.packed)
        self.transforms = fft.InPlaceTransforms(self.shape, self.axes, self.workers)
        self._phases = {tau: self._scaled_phase(tau) for kind, tau in self.sequence([self.dt] * 3) if kind == "T"}
        self._extra_phases: OrderedDict[float, np.ndarray] = OrderedDict()

    # -- the schedule of factors -------------------------------------------
    def sequence(self, steps) -> list[tuple[str, float]]:
        """The factors ("T" or "V", duration) of consecutive steps, kinetic ones merged.

        Parameters
        ----------
        steps : sequence of float
            Step lengths, a.u.

        Returns
        -------
        list of (str, float)
            Applied left to right (the first factor acts first).
        """
        seq: list[tuple[str, float]] = []
        for h in steps:
            for w in self.weights:
                tau = w * h
                _push_kinetic(seq, 0.5 * tau)
                seq.append(("V", tau))
                _push_kinetic(seq, 0.5 * tau)
        return seq

    # -- propagation -------------------------------------------------------
    def advance(self, psi: np.ndarray, steps) -> np.ndarray:
        """Apply consecutive steps of the given lengths.

        Parameters
        ----------
        psi : ndarray, shape (S, n_1, ..., n_D), complex128, C-contiguous
            Overwritten (the buffers are reused).
        steps : sequence of float
            Step lengths, a.u.

        Returns
        -------
        ndarray, shape (S, n_1, ..., n_D)
            The propagated wavefunction (may be a different buffer than the
            input; use the return value).
        """
        for kind, tau in self.sequence(steps):
            psi = self.kinetic(psi, tau) if kind == "T" else self.potential(psi, tau)
        return psi

    def step(self, psi: np.ndarray, tau: float) -> np.ndarray:
        """One full step of length ``tau`` (see :meth:`advance`)."""
        return self.advance(psi, [tau])

    def kinetic(self, psi: np.ndarray, tau: float) -> np.ndarray:
        """psi <- exp(-i T tau) psi: FFT, phase, inverse FFT, all in place.

        The phase arrays carry the inverse transform's 1/n, so the inverse
        FFT is left unnormalised (one pass over psi fewer).
        """
        psi = self.transforms.forward(psi)
        self.kernels.apply_phase(psi.reshape(self.n_states, -1), self._phase(tau))
        return self.transforms.inverse_unnormalised(psi)

    def potential(self, psi: np.ndarray, tau: float) -> np.ndarray:
        """psi <- exp(-i V tau) psi at every grid point."""
        flat = psi.reshape(self.n_states, -1)
        prop = self._propagators.get(tau)
        if prop is None:
            apply_potential_eigenbasis(self.potential_on_grid, flat, tau)
            return psi
        return self.kernels.apply_matrix(prop, flat).reshape(self.shape)

    def _scaled_phase(self, tau: float) -> np.ndarray:
        """exp(-i T tau) / n: the kinetic phase with the inverse FFT's normalisation folded in."""
        return kinetic_phase(self.tkin, tau) * self.transforms.inverse_scale

    def _phase(self, tau: float) -> np.ndarray:
        phase = self._phases.get(tau)
        if phase is None:
            phase = self._extra_phases.get(tau)
            if phase is None:
                phase = self._scaled_phase(tau)
                self._extra_phases[tau] = phase
                if len(self._extra_phases) > _EXTRA_PHASES:
                    self._extra_phases.popitem(last=False)
        return phase

    def close(self) -> None:
        """Release the kernels' worker threads."""
        self.kernels.close()

    @staticmethod
    def stored_propagators(integrator: str) -> int:
        """Number of propagators kept for ``integrator`` (one per distinct substep)."""
        return len(set(COMPOSITIONS[check_integrator(integrator)]))

    @staticmethod
    def propagator_entries(n_states: int, complex_valued: bool, use_numba: bool | None) -> int:
        """Complex numbers per grid point in one stored propagator."""
        numba_on = HAVE_NUMBA if use_numba is None else bool(use_numba) and HAVE_NUMBA
        packed = numba_on and not complex_valued
        return n_states * (n_states + 1) // 2 if packed else n_states * n_states


def _push_kinetic(seq: list, tau: float) -> None:
    """Append a kinetic factor, merging it with a kinetic factor just before."""
    if seq and seq[-1][0] == "T":
        seq[-1] = ("T", seq[-1][1] + tau)
    else:
        seq.append(("T", tau))
