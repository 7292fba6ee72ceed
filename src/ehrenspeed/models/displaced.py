"""Vertically displaced harmonic diabats with constant couplings (ours).

S diabatic states share one D-dimensional harmonic potential and differ only
by a constant energy offset; every pair of neighbouring states (k, k + 1) is
coupled by a constant c (atomic units throughout):

    V(x) = v(x) 1 + E,   v(x) = sum_a m_a w_a^2 x_a^2 / 2,
    E_kk = e_k,   E_k,k+1 = E_k+1,k = c.

Because V is the identity times one quadratic v plus a constant matrix, the
exact solution from a Gaussian on one state stays a Hartree product: the
Gaussian moves in v, and the electrons rotate as c(t) = exp(-i E t) c(0)
(up to a phase). Thawed Gaussian Ehrenfest dynamics is therefore exact on
this model, a single Ehrenfest trajectory gets the populations but not <V>
(it has no zero-point spread), and thawed Gaussian dynamics without the
coupling gets <V> but no transfer.

This is the *kind* of system of Figure 1 of J. Vanicek's thawed Gaussian
Ehrenfest paper (arXiv:2607.10847, "ten vertically displaced 2-D harmonic
oscillators with constant coupling"); its parameters could not be read, so
every number here is our [default]:

* S = 10 states, D = 2 coordinates, mass 1 for both;
* w = (1.0, 1.6) hartree (incommensurate, so the width breathes
  irregularly);
* e_k = 0.05 k hartree (k = 0..S-1);
* c = 0.04 hartree between neighbours (a few tenths of the level spacing
  times 1, so the population spreads over several states within t ~ 50);
* initial Gaussian (:meth:`initial_wavepacket`): q0 = (1.0, -0.5),
  p0 = (0, 0.5), squeezed width W = (2.0, 0.8) (ground-state widths would be
  m w = (1.0, 1.6)), on state 0.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..sampling import Wavepacket
from .base import Model, as_positions, diagonal_mass


class DisplacedOscillators(Model):
    """Vertically displaced D-dimensional harmonic diabats, constant nearest-neighbour coupling.

    Parameters
    ----------
    n_states : int
        S >= 1; [default] 10.
    omega : array_like, shape (D,)
        Frequencies w_a, hartree; [default] (1.0, 1.6), so D = 2.
    mass : float or array_like, shape (D,)
        Masses m_a, electron masses; [default] 1.
    spacing : float
        Offset e_k = spacing * k, hartree; [default] 0.05.
    coupling : float
        Constant coupling between states k and k + 1, hartree; [default] 0.04.
    energies : array_like, shape (S,), optional
        Explicit offsets e_k (replace ``spacing``).

    Notes
    -----
    Our stand-in for the TGED paper's Figure 1 system (module docstring);
    ``max_degree = 2``, so variational TGED averages exactly from one
    evaluation and SPEED equals Ehrenfest.
    """

    name = "displaced_oscillators"
    max_degree = 2
    coordinate_unit = "bohr"
    parameter_units = {"n_states": "count", "omega": "hartree", "mass": "electron masses",
                       "spacing": "hartree", "coupling": "hartree", "energies": "hartree"}

    def __init__(self, n_states=10, omega=(1.0, 1.6), mass=1.0, spacing=0.05, coupling=0.04, energies=None):
        self._record_parameters(locals())
        if isinstance(n_states, bool) or int(n_states) != n_states or n_states < 1:
            raise InputError(f"n_states must be a positive integer, got {n_states!r}")
        omega = np.atleast_1d(np.asarray(omega, dtype=float))
        if omega.ndim != 1 or not np.all(np.isfinite(omega)) or np.any(omega <= 0):
            raise InputError(f"omega must be positive frequencies, got {omega.tolist()}")
        self.n_states, self.n_dof = int(n_states), omega.size
        self.omega = omega
        self.mass = diagonal_mass(mass, self.n_dof)
        spacing, coupling = _number("spacing", spacing), _number("coupling", coupling)
        if energies is None:
            energies = spacing * np.arange(self.n_states)
        energies = np.atleast_1d(np.asarray(energies, dtype=float))
        if energies.shape != (self.n_states,) or not np.all(np.isfinite(energies)):
            raise InputError(f"energies must be {self.n_states} finite numbers, got {energies.tolist()}")
        constant = np.diag(energies)
        k = np.arange(self.n_states - 1)
        constant[k, k + 1] = constant[k + 1, k] = coupling
        self.constant = constant
        self.force_constants = self.mass * omega ** 2

    def potential(self, q):
        q = as_positions(q, self.n_dof)
        v = 0.5 * np.sum(self.force_constants * q * q, axis=1)
        return v[:, None, None] * np.eye(self.n_states) + self.constant

    def gradient(self, q):
        q = as_positions(q, self.n_dof)
        return (self.force_constants * q)[:, :, None, None] * np.eye(self.n_states)

    def hessian(self, q):
        n = as_positions(q, self.n_dof).shape[0]
        hess = np.diag(self.force_constants)[:, :, None, None] * np.eye(self.n_states)
        return np.broadcast_to(hess, (n,) + hess.shape).copy()

    def initial_wavepacket(self, state=0) -> Wavepacket:
        """[default] Displaced, squeezed Gaussian on ``state`` (module docstring; D = 2 only)."""
        if self.n_dof != 2:
            raise InputError("initial_wavepacket's defaults are for D = 2; build an es.Wavepacket instead")
        return Wavepacket([1.0, -0.5], [0.0, 0.5], [2.0, 0.8], state)


def _number(name: str, value) -> float:
    """``value`` as a finite float, or an InputError naming the parameter."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value):
        raise InputError(f"{name} must be finite, got {value}")
    return value
