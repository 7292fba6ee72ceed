"""Model crossings with closed-form answers: Landau-Zener and the linear E x e cone.

Both models are at most quadratic in the coordinates (``max_degree``), so
SPEED reproduces Ehrenfest on them exactly; their value is that the
electronic dynamics has an analytic reference (the Landau-Zener
probability, the geometric phase pi), which the test suite checks the
electronic propagator against (docs/trajectories.md).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..sampling import Wavepacket
from ._twostate import two_state
from .base import Model, as_positions, diagonal_mass


def landau_zener_probability(f1, f2, h12, velocity):
    """Probability to stay on the diabatic state through a linear crossing.

    P = exp(-2 pi H12^2 / (|v| |F1 - F2|))   (hbar = 1)

    for the diabats V11 = F1 x, V22 = F2 x, the constant coupling H12, and
    the prescribed path x = v t traversed from t = -inf to +inf.

    Parameters
    ----------
    f1, f2 : float or array_like
        Diabatic slopes, hartree/bohr.
    h12 : float or array_like
        Diabatic coupling, hartree.
    velocity : float or array_like
        Nuclear speed, bohr per a.u. of time (its sign does not matter).

    Returns
    -------
    float or ndarray
        P in [0, 1]: 0 in the adiabatic limit v -> 0, 1 when H12 = 0
        (nan when v |F1 - F2| and H12 both vanish: there is no crossing).

    References
    ----------
    Phys. Z. Sowjetunion 2, 46 (1932); Proc. R. Soc. Lond. A 137, 696
    (1932), doi:10.1098/rspa.1932.0165.

    Examples
    --------
    >>> round(float(landau_zener_probability(0.01, -0.01, 0.005, 0.01)), 4)
    0.4559
    """
    rate = np.abs(np.asarray(velocity, dtype=float)) * np.abs(np.asarray(f1, dtype=float)
                                                               - np.asarray(f2, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = 2.0 * np.pi * np.asarray(h12, dtype=float) ** 2 / rate
    result = np.exp(-exponent)
    return float(result) if result.ndim == 0 else result


class LinearCrossing(Model):
    """Two diabatic lines crossing at x = 0 with a constant coupling.

    V11 = F1 x,  V22 = F2 x,  V12 = H12,

    the Landau-Zener problem. With the path x = v t the stay-diabatic
    probability is :func:`landau_zener_probability`. With dynamics rather
    than a prescribed path, the nuclear speed changes along the way by the
    diabatic force; a heavy mass (or a large kinetic energy compared with
    |F| times the distance travelled) keeps it nearly constant.

    Parameters
    ----------
    f1, f2 : float, hartree/bohr
        Diabatic slopes; [default] 0.01 and -0.01.
    h12 : float, hartree
        Constant coupling; [default] 0.005. With v = 0.01 these give
        P = 0.4559.
    mass : float, electron masses
        [default] 2000 (Tully's mass, so the toy models are comparable).
    """

    name = "linear_crossing"
    coordinate_unit = "bohr"
    parameter_units = {"f1": "hartree/bohr", "f2": "hartree/bohr", "h12": "hartree",
                       "mass": "electron masses"}
    n_states = 2
    n_dof = 1
    max_degree = 1

    def __init__(self, f1=0.01, f2=-0.01, h12=0.005, mass=2000.0):
        self._record_parameters(locals())
        self.f1, self.f2, self.h12 = float(f1), float(f2), float(h12)
        self.mass = diagonal_mass(mass, 1)

    def potential(self, q):
        x = as_positions(q, 1)[:, 0]
        return two_state(self.f1 * x, self.f2 * x, self.h12)

    def gradient(self, q):
        n = as_positions(q, 1).shape[0]
        return np.broadcast_to(two_state(self.f1, self.f2, 0.0), (n, 1, 2, 2)).copy()

    def hessian(self, q):
        n = as_positions(q, 1).shape[0]
        return np.zeros((n, 1, 1, 2, 2))

    def landau_zener(self, velocity):
        """Stay-diabatic probability of this crossing at speed ``velocity``."""
        return landau_zener_probability(self.f1, self.f2, self.h12, velocity)

    def initial_wavepacket(self, velocity: float = 0.01, x0: float = -5.0, width: float = 1.0,
                           state=0) -> Wavepacket:
        """Gaussian coming in from the left on one diabat.

        Parameters
        ----------
        velocity : float, bohr per a.u. of time
            [default] 0.01; p0 = mass * velocity.
        x0 : float, bohr
            [default] -5, where the coupling is small next to the diabatic
            gap |F1 - F2| |x0| = 0.1 hartree.
        width : float, 1/bohr^2
            A; [default] 1.
        state : int or array_like
            [default] 0.
        """
        return Wavepacket([x0], [self.mass[0] * velocity], [width], state)


class JahnTeller(Model):
    """Linear E x e Jahn-Teller model: a conical intersection at the origin.

    V(x, y) = (M w^2 / 2)(x^2 + y^2) 1 + k [[x, y], [y, -x]],

    with adiabatic energies (M w^2 / 2) r^2 -+ k r, a trough of radius
    r0 = k / (M w^2) and depth k^2 / (2 M w^2). The adiabatic states change
    sign on a loop around the origin (Berry phase pi).

    Parameters
    ----------
    mass : float, electron masses
        M of both coordinates; [default] 1.
    omega : float, hartree
        Harmonic frequency w; [default] 1.
    k : float, hartree/bohr
        Linear Jahn-Teller coupling; [default] 3 (trough radius 3 for
        M = w = 1).

    References
    ----------
    Proc. R. Soc. Lond. A 244, 1 (1958), doi:10.1098/rspa.1958.0022 (the
    E x e model); Proc. R. Soc. Lond. A 392, 45 (1984),
    doi:10.1098/rspa.1984.0023 (the geometric phase).
    """

    name = "jahn_teller"
    coordinate_unit = "bohr"
    parameter_units = {"mass": "electron masses", "omega": "hartree", "k": "hartree/bohr"}
    n_states = 2
    n_dof = 2
    max_degree = 2

    def __init__(self, mass=1.0, omega=1.0, k=3.0):
        self._record_parameters(locals())
        self.omega, self.k = float(omega), float(k)
        self.mass = diagonal_mass(mass, 2)
        if not np.allclose(self.mass, self.mass[0]):
            # the E x e symmetry needs one mass for both components of e
            raise InputError(f"JahnTeller needs one mass for x and y, got {self.mass.tolist()}")
        self._force_constant = self.mass[0] * self.omega**2
        # coordinate-first linear matrices: d/dx -> k sigma_z, d/dy -> k sigma_x
        self._linear = np.array([[[self.k, 0.0], [0.0, -self.k]],
                                 [[0.0, self.k], [self.k, 0.0]]])

    def potential(self, q):
        q = as_positions(q, 2)
        harmonic = 0.5 * self._force_constant * np.sum(q * q, axis=1)
        return harmonic[:, None, None] * np.eye(2) + np.einsum("na,akl->nkl", q, self._linear)

    def gradient(self, q):
        q = as_positions(q, 2)
        return self._force_constant * q[:, :, None, None] * np.eye(2) + self._linear

    def hessian(self, q):
        n = as_positions(q, 2).shape[0]
        hess = self._force_constant * np.eye(2)[:, :, None, None] * np.eye(2)
        return np.broadcast_to(hess, (n, 2, 2, 2, 2)).copy()

    @property
    def trough_radius(self) -> float:
        """Radius r0 = k / (M w^2) of the lower cone's minimum, bohr."""
        return self.k / self._force_constant

    def initial_wavepacket(self, state=1) -> Wavepacket:
        """Harmonic ground-state Gaussian sitting in the trough at (r0, 0).

        On the positive x axis V is diagonal with V22 the lower diabat, so
        [default] state 1 is the lower adiabatic state there. p0 = 0 and
        A = M w for both coordinates [default].
        """
        a = self.mass[0] * self.omega
        return Wavepacket([self.trough_radius, 0.0], [0.0, 0.0], [a, a], state)
