"""Photoisomerisation of retinal: a torsion and a coupling mode, two states.

S. Hahn and G. Stock, J. Phys. Chem. B 104, 1146 (2000),
doi:10.1021/jp992939g. Coordinates q = (phi, Q): the torsion angle phi
(radian, periodic) and a dimensionless vibronic coupling mode Q.

    H = -(1 / 2m) d2/dphi2 - (w / 2) d2/dQ2 + V
    V_00 = (W0 / 2)(1 - cos phi) + (w / 2) Q^2
    V_11 = E1 - (W1 / 2)(1 - cos phi) + (w / 2) Q^2 + kappa Q
    V_01 = lambda Q

so the torsion's mass is m = 1 / (m^-1 in hartree) and the coupling mode's
mass is 1 / w (w in hartree), as for any dimensionless normal coordinate.
phi is periodic with period 2 pi on [-pi/2, 3 pi/2) (``periods``): cis is
phi near 0, trans is phi near pi. The cos phi terms make this model
non-polynomial, and the mean of a wrapped angle is what makes SPEED fail
here (docs/trajectories.md and docs/reproductions.md), which is the point of the example.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..sampling import Wavepacket
from ..units import EV
from ._twostate import two_state
from .base import Model, as_positions


class Retinal(Model):
    """Hahn-Stock two-state, two-mode model of retinal isomerisation.

    Parameters (all in eV, all [lit], Hahn and Stock 2000)
    ----------
    inverse_mass_ev : float
        m^-1 of the torsion, 4.84e-4 eV (the torsional kinetic constant).
    e1 : float
        Vertical offset E1 of the excited diabat at phi = 0, 2.48.
    w0 : float
        Torsional barrier W0 of the ground diabat, 3.6.
    w1 : float
        Torsional depth W1 of the excited diabat, 1.09.
    omega : float
        Frequency w of the coupling mode, 0.19.
    kappa : float
        Tuning constant kappa of the coupling mode in the excited diabat, 0.10.
    lam : float
        Interstate coupling lambda, 0.19; 0 switches the coupling off (the
        supplement's Fig. S4 case).
    phi_start : float, radian
        Start of the 2 pi interval phi is wrapped into; [default] -pi/2
        ([-pi/2, 3pi/2): cis and trans both inside). Irrelevant
        for Ehrenfest and exact dynamics; for SPEED it decides which angles
        enter the plain arithmetic mean. With ``-pi`` the interval is
        centred on the cis start, a swarm spreading to +phi and -phi keeps
        its mean at cis by symmetry, and SPEED fails as the paper reports
        (docs/reproductions.md compares both choices).

    Attributes
    ----------
    mass : ndarray, shape (2,)
        (1 / m^-1, 1 / w), both in hartree^-1 (electron-mass units for
        radian and dimensionless coordinates).
    periods : ndarray, shape (2, 2)
        [[-pi/2, 3 pi/2], [nan, nan]].
    """

    name = "retinal"
    coordinate_unit = "phi: rad, Q: dimensionless"
    parameter_units = {"inverse_mass_ev": "eV", "e1": "eV", "w0": "eV", "w1": "eV", "omega": "eV",
                       "kappa": "eV", "lam": "eV", "phi_start": "rad"}
    n_states = 2
    n_dof = 2
    max_degree = None

    def __init__(self, inverse_mass_ev=4.84e-4, e1=2.48, w0=3.6, w1=1.09, omega=0.19,
                 kappa=0.10, lam=0.19, phi_start=-0.5 * np.pi):
        self._record_parameters(locals())
        if not (inverse_mass_ev > 0 and omega > 0):
            raise InputError("inverse_mass_ev and omega must be positive")
        self.inverse_mass = float(inverse_mass_ev) * EV
        self.e1, self.w0, self.w1 = float(e1) * EV, float(w0) * EV, float(w1) * EV
        self.omega, self.kappa, self.lam = float(omega) * EV, float(kappa) * EV, float(lam) * EV
        self.mass = np.array([1.0 / self.inverse_mass, 1.0 / self.omega])
        # where the 2 pi interval of phi starts decides which angles are averaged
        # in SPEED's plain arithmetic mean (docs/trajectories.md); the dynamics of a
        # single trajectory does not depend on it
        self.periods = np.array([[phi_start, phi_start + 2 * np.pi], [np.nan, np.nan]])

    def potential(self, q):
        q = as_positions(q, 2)
        phi, mode = q[:, 0], q[:, 1]
        torsion = 1.0 - np.cos(phi)
        harmonic = 0.5 * self.omega * mode**2
        v00 = 0.5 * self.w0 * torsion + harmonic
        v11 = self.e1 - 0.5 * self.w1 * torsion + harmonic + self.kappa * mode
        return two_state(v00, v11, self.lam * mode)

    def gradient(self, q):
        q = as_positions(q, 2)
        phi, mode = q[:, 0], q[:, 1]
        sin = np.sin(phi)
        d_phi = two_state(0.5 * self.w0 * sin, -0.5 * self.w1 * sin, 0.0)
        restoring = self.omega * mode
        d_mode = two_state(restoring, restoring + self.kappa, self.lam)
        return np.stack([d_phi, d_mode], axis=1)

    def hessian(self, q):
        q = as_positions(q, 2)
        cos = np.cos(q[:, 0])
        out = np.zeros((q.shape[0], 2, 2, 2, 2))
        out[:, 0, 0] = two_state(0.5 * self.w0 * cos, -0.5 * self.w1 * cos, 0.0)
        out[:, 1, 1] = two_state(self.omega, self.omega, 0.0)
        return out

    def initial_wavepacket(self, state=1) -> Wavepacket:
        """Harmonic ground state of S0 at the cis geometry, put vertically on state 1.

        Near phi = 0, V_00 ~ (W0 / 4) phi^2, a harmonic well of frequency
        w_phi = sqrt((W0 / 2) m^-1); the ground-state width is
        A_phi = m w_phi = sqrt((W0 / 2) / m^-1). The coupling mode starts in
        its ground state, A_Q = 1. phi0 = Q0 = 0, p0 = 0 (vertical excitation
        from the cis ground state).
        """
        a_phi = np.sqrt(0.5 * self.w0 / self.inverse_mass)
        return Wavepacket([0.0, 0.0], [0.0, 0.0], [a_phi, 1.0], state)
