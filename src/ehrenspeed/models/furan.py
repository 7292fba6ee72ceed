"""Hole transfer in the furan dimer cation: two Morse diabats, one coordinate.

The coordinate is the separation R of the two monomers (bohr inside the
code). The two charge-localised diabatic states (hole on monomer 1, hole on
monomer 2) are degenerate by symmetry and coupled by an exponentially
decaying transfer integral:

    V_11(R) = V_22(R) = D (1 - exp(-a (R - R0)))^2
    V_12(R) = H0 exp(-b (R - R0))

The SPEED paper fitted these forms to ALMO(MSDFT2)/wB97X-D energies of the
cation dimer; the fitted numbers are not public. Two parameter sets:

``parameters="illustrative"`` (the default)
    D, R0, a, H0 and b are [default]: values physically reasonable for a
    pi-stacked cation dimer (a quarter-eV binding at 3.6 A, a transfer
    integral of 0.3 eV there that decays on the angstrom scale), chosen by us.
``parameters="abinitio"``
    The same forms fitted to our own first-principles scan of two rigid,
    face-to-face furan monomers (fragment-orbital diabatisation with PySCF,
    :mod:`ehrenspeed.models.furan_abinitio`; data/furan_scan.csv states the
    level of theory and its provenance).
``parameters="abinitio-wb97xd"``
    The same, fitted to a second scan at wB97X-D's exchange-correlation
    functional (without its dispersion term) / 6-31+G(d), the SPEED paper's
    level as far as PySCF provides it (data/furan_scan_wb97xd.csv).

The mass is [lit]: the reduced mass of two furan (C4H4O) monomers,
mu = m / 2 with m = 68.07 amu.

Because the diabats are degenerate, the adiabatic states are the
symmetric and antisymmetric combinations at every R, and the exact hole
population on monomer 1 tends to 1/2 after a collision at any temperature
(docs/reproductions.md).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..sampling import Wavepacket
from ..units import AMU, ANGSTROM, EV, KB
from ._twostate import two_state
from .base import Model, as_positions, diagonal_mass
from .furan_abinitio import SCAN_FILES


def collision_momentum(temperature, mu):
    """Magnitude of the mean relative momentum of a thermal collision.

    p = mu v(T),  v(T) = sqrt(8 k_B T / (pi mu)),

    v being the mean relative speed of two bodies with Maxwell-Boltzmann
    velocities (reduced mass mu); so p = sqrt(8 mu k_B T / pi).

    Parameters
    ----------
    temperature : float or array_like
        Kelvin, >= 0.
    mu : float
        Reduced mass, electron masses.

    Returns
    -------
    float or ndarray
        Momentum, atomic units (positive; the wavepacket points it inward).
    """
    t = np.asarray(temperature, dtype=float)
    if np.any(t < 0) or not mu > 0:
        raise InputError(f"need temperature >= 0 K and mu > 0, got {temperature!r} and {mu!r}")
    p = mu * np.sqrt(8.0 * KB * t / (np.pi * mu))
    return float(p) if p.ndim == 0 else p


#: The parameter sets: our illustrative numbers [default], then the fits to the shipped scans.
PARAMETER_SETS = ("illustrative", *SCAN_FILES)

#: Our own illustrative numbers (eV, angstrom): the default parameter set.
ILLUSTRATIVE_PARAMETERS = {"depth_ev": 0.25, "r0_angstrom": 3.6, "a_per_angstrom": 1.2, "h0_ev": 0.30,
                           "b_per_angstrom": 1.4}


class FuranDimer(Model):
    """Furan dimer cation hole transfer: degenerate Morse diabats, exponential coupling.

    V_11 = V_22 = D (1 - exp(-a (R - R0)))^2,  V_12 = H0 exp(-b (R - R0)),

    R in bohr, energies in hartree (arguments in eV and angstrom are
    converted once, here).

    Parameters
    ----------
    depth_ev : float, eV
        Morse depth D; from the parameter set if not given ("illustrative": 0.25).
    r0_angstrom : float, angstrom
        Equilibrium separation R0 ("illustrative": 3.6).
    a_per_angstrom : float, 1/angstrom
        Morse range parameter a ("illustrative": 1.2).
    h0_ev : float, eV
        Coupling at R0, H0 ("illustrative": 0.30).
    b_per_angstrom : float, 1/angstrom
        Decay constant of the coupling b ("illustrative": 1.4).
    monomer_mass_amu : float, amu
        Mass m of one C4H4O monomer; [lit] 68.07. The coordinate's mass is
        the reduced mass mu = m / 2 (in electron masses).
    parameters : {"illustrative", "abinitio", "abinitio-wb97xd"}
        The set that supplies D, R0, a, H0 and b not given explicitly
        ("abinitio", "abinitio-wb97xd": the fits of
        :func:`~ehrenspeed.models.furan_abinitio.abinitio_parameters`).

    Attributes
    ----------
    depth, r0, a, h0, b : float
        The parameters in hartree and bohr.
    reduced_mass : float
        mu, electron masses (also ``mass[0]``).
    frequency : float
        Harmonic frequency of the Morse well, a sqrt(2 D / mu), hartree.
    """

    name = "furan_dimer"
    coordinate_unit = "bohr"
    parameter_units = {"depth_ev": "eV", "r0_angstrom": "angstrom", "a_per_angstrom": "1/angstrom",
                       "h0_ev": "eV", "b_per_angstrom": "1/angstrom", "monomer_mass_amu": "amu",
                       "parameters": "parameter set"}
    n_states = 2
    n_dof = 1
    max_degree = None

    def __init__(self, depth_ev: float | None = None, r0_angstrom: float | None = None,
                 a_per_angstrom: float | None = None, h0_ev: float | None = None,
                 b_per_angstrom: float | None = None, monomer_mass_amu=68.07,
                 parameters: str = "illustrative"):
        self._record_parameters(locals())
        if parameters == "illustrative":
            chosen = dict(ILLUSTRATIVE_PARAMETERS)
        elif parameters in SCAN_FILES:
            from .furan_abinitio import abinitio_parameters
            chosen = dict(abinitio_parameters(parameters))    # a copy: the fit is cached
        else:
            raise InputError(f"parameters must be one of {', '.join(map(repr, PARAMETER_SETS))}, "
                             f"got {parameters!r}")
        given = {"depth_ev": depth_ev, "r0_angstrom": r0_angstrom, "a_per_angstrom": a_per_angstrom,
                 "h0_ev": h0_ev, "b_per_angstrom": b_per_angstrom}
        chosen.update({k: v for k, v in given.items() if v is not None})
        depth_ev, r0_angstrom, a_per_angstrom, h0_ev, b_per_angstrom = (chosen[k] for k in given)
        # record the numbers in use, so parameters() and the listing show them
        self._parameters.update({k: float(chosen[k]) for k in given})
        self.parameter_set = parameters
        self.depth = float(depth_ev) * EV
        self.r0 = float(r0_angstrom) * ANGSTROM
        self.a = float(a_per_angstrom) / ANGSTROM
        self.h0 = float(h0_ev) * EV
        self.b = float(b_per_angstrom) / ANGSTROM
        self.mass = diagonal_mass(0.5 * float(monomer_mass_amu) * AMU, 1)
        if not (self.depth > 0 and self.a > 0):
            raise InputError("the Morse depth and range parameter must be positive")
        self.reduced_mass = float(self.mass[0])
        self.frequency = self.a * np.sqrt(2.0 * self.depth / self.reduced_mass)

    def _elements(self, r):
        """(V11, V12), first and second derivatives, each (N,)."""
        morse = np.exp(-self.a * (r - self.r0))
        v11 = self.depth * (1.0 - morse) ** 2
        d11 = 2.0 * self.depth * self.a * morse * (1.0 - morse)
        h11 = 2.0 * self.depth * self.a**2 * morse * (2.0 * morse - 1.0)
        v12 = self.h0 * np.exp(-self.b * (r - self.r0))
        return (v11, v12), (d11, -self.b * v12), (h11, self.b**2 * v12)

    def potential(self, q):
        (v11, v12), _, _ = self._elements(as_positions(q, 1)[:, 0])
        return two_state(v11, v11, v12)

    def gradient(self, q):
        _, (d11, d12), _ = self._elements(as_positions(q, 1)[:, 0])
        return two_state(d11, d11, d12)[:, None]

    def hessian(self, q):
        _, _, (h11, h12) = self._elements(as_positions(q, 1)[:, 0])
        return two_state(h11, h11, h12)[:, None, None]

    def third_derivative(self, q):
        """d3V/dR3, shape (N, 1, 1, 1, 2, 2), analytic (for ``SPEED(order=3)``).

        Morse: d3/dR3 D (1 - m)^2 = -2 D a^3 m (4 m - 1), m = exp(-a (R - R0));
        coupling: -b^3 H0 exp(-b (R - R0)).
        """
        r = as_positions(q, 1)[:, 0]
        morse = np.exp(-self.a * (r - self.r0))
        t11 = -2.0 * self.depth * self.a**3 * morse * (4.0 * morse - 1.0)
        t12 = -self.b**3 * self.h0 * np.exp(-self.b * (r - self.r0))
        return two_state(t11, t11, t12)[:, None, None, None]

    def initial_wavepacket(self, temperature: float = 300.0, offset_angstrom: float = 3.0,
                           state=0) -> Wavepacket:
        """Hole on monomer 1, the monomers approaching at the thermal mean speed.

        R0 = r0 + offset, p0 = -mu v(T) (:func:`collision_momentum`: the
        gap closes), A = mu w with w = a sqrt(2 D / mu), the ground-state
        width of the intermolecular vibration in the harmonic approximation
        of the Morse well.

        Parameters
        ----------
        temperature : float, K
            [default] 300 (the paper scans 100-500 K).
        offset_angstrom : float, angstrom
            Start this far outside R0, where the coupling is negligible;
            [default] 3.0 (H12 = H0 exp(-4.2) there).
        state : int or array_like
            [default] 0, hole on monomer 1.
        """
        p0 = -collision_momentum(temperature, self.reduced_mass)
        r_start = self.r0 + float(offset_angstrom) * ANGSTROM
        return Wavepacket([r_start], [p0], [self.reduced_mass * self.frequency], state)
