"""Tully's three one-dimensional two-state scattering models.

J. C. Tully, "Molecular dynamics with electronic transitions",
J. Chem. Phys. 93, 1061 (1990), doi:10.1063/1.459170. Atomic units
throughout (x in bohr, energies in hartree), nuclear mass 2000 m_e [lit].

All three are given in the diabatic representation. The simple avoided
crossing and the extended coupling model are written piecewise at x = 0;
both pieces are joined so that V and dV/dx are continuous, but d2V/dx2
jumps at x = 0 (by 2 A B^2 in V11 of the simple model and by 2 B C^2 in V12
of the extended coupling model). Both models are therefore C1 and not C2
there: the analytic Hessian at exactly x = 0 is the x >= 0 branch, and a
quadratic (SPEED) expansion about a mean position close to 0 sees a
curvature that changes abruptly. The classes list these points in
``second_derivative_jumps`` so that tests and diagnostics can stay clear of
them. The dual avoided crossing is analytic everywhere.
"""

from __future__ import annotations

import sys

import numpy as np

from ..backend import compiled, use_threads_for
from ..sampling import Wavepacket
from ._twostate import two_state
from .base import Model, as_positions, diagonal_mass, methods_unchanged


def _tully_wavepacket(k0: float, x0: float, sigma: float | None, state) -> Wavepacket:
    """Gaussian psi ~ exp(-(x - x0)^2 / (2 sigma^2) + i k0 (x - x0)), sigma = 20 / k0."""
    if sigma is None:
        sigma = 20.0 / k0
    return Wavepacket([x0], [k0], [1.0 / sigma**2], state)


class _Tully(Model):
    """Shared plumbing of the three Tully models (one coordinate, two states)."""

    n_states = 2
    n_dof = 1
    max_degree = None
    #: ((coordinate, position), ...) where d2V/dq2 is discontinuous.
    second_derivative_jumps: tuple = ()
    #: defaults of :meth:`initial_wavepacket`
    _default_k0 = 15.0
    _default_x0 = -10.0
    _default_state = 0

    def _elements(self, x, order=2):
        """(V11, V22, V12) and their derivatives up to ``order``, each (N,).

        Returns a list of ``order + 1`` triples (values, first, second
        derivatives); the derivatives not asked for are not computed.
        """
        raise NotImplementedError

    def potential(self, q):
        x = as_positions(q, 1)[:, 0]
        if compiled():  # recording observables: the compiled pass is ~10x faster than _elements
            return _compiled_matrices(self._kind, self._kernel_parameters(), x, gradient=False)[0]
        return two_state(*self._elements(x, 0)[0])

    def gradient(self, q):
        x = as_positions(q, 1)[:, 0]
        return two_state(*self._elements(x, 1)[1])[:, None]

    def potential_and_gradient(self, q):
        # the exponentials are shared by V and dV/dx: evaluate them once
        x = as_positions(q, 1)[:, 0]
        if compiled():
            return _compiled_matrices(self._kind, self._kernel_parameters(), x)
        values, slopes = self._elements(x, 1)
        return two_state(*values), two_state(*slopes)[:, None]

    def _kernel_parameters(self) -> np.ndarray:
        """The model's parameters in the order the compiled ``tully_arguments`` and
        ``tully_elements`` (models/_compiled.py) read them (``kind`` tells which model)."""
        raise NotImplementedError

    def two_state_step_parameters(self) -> tuple[int, np.ndarray] | None:
        """(kind, parameters) for the fused compiled Strang step (propagators/fused.py).

        The fused step computes V and dV/dx inline from these, with the
        formulas of the compiled potential; a model whose :meth:`potential`
        or :meth:`potential_and_gradient` was replaced (by a subclass or on
        the instance) gets None (the step-by-step path, which calls its methods).
        """
        if not methods_unchanged(self, _Tully, ("potential", "potential_and_gradient")):
            return None
        return self._kind, self._kernel_parameters()

    def hessian(self, q):
        x = as_positions(q, 1)[:, 0]
        return two_state(*self._elements(x, 2)[2])[:, None, None]

    def initial_wavepacket(self, k0: float | None = None, x0: float | None = None,
                           sigma: float | None = None, state=None) -> Wavepacket:
        """Incoming Gaussian wavepacket from the left.

        psi(x) ~ exp(-(x - x0)^2 / (2 sigma^2) + i k0 (x - x0)), i.e. width
        A = 1 / sigma^2, so the Wigner spreads are std(x) = sigma / sqrt(2)
        and std(p) = 1 / (sigma sqrt(2)).

        Parameters
        ----------
        k0 : float, optional
            Mean momentum, a.u.; [default] 15 (simple, dual), 10 (extended).
        x0 : float, optional
            Centre, bohr; [default] -10 (simple, dual), -15 (extended), far
            outside the coupling region.
        sigma : float, optional
            Gaussian width parameter, bohr; [default] 20 / k0, which keeps
            the relative momentum spread std(p) / k0 = 1 / (20 sqrt 2), about
            3.5 per cent, the same at every k0.
            Some authors write the Gaussian as exp(-(x - x0)^2 / sigma^2);
            pass ``sigma / sqrt(2)`` here to reproduce that convention.
        state : int or array_like
            Initial diabatic state; [default] the lower adiabatic state far
            to the left, as in Tully's paper: diabat 0 for the simple and
            dual models, diabat 1 for the extended-coupling model.
        """
        state = self._default_state if state is None else state
        k0 = self._default_k0 if k0 is None else float(k0)
        x0 = self._default_x0 if x0 is None else float(x0)
        return _tully_wavepacket(k0, x0, sigma, state)


class TullySimple(_Tully):
    """Tully's simple avoided crossing (model 1).

    V11(x) =  A (1 - exp(-B x))   for x >= 0,
    V11(x) = -A (1 - exp( B x))   for x <  0,
    V22 = -V11,  V12(x) = C exp(-D x^2),

    equivalently V11 = sign(x) A (1 - exp(-B |x|)). The diabatic energies
    cross at x = 0 and the adiabatic gap there is 2 C. d2V11/dx2 jumps from
    +A B^2 to -A B^2 at x = 0 (see the module docstring).

    Parameters
    ----------
    a : float, hartree
        [lit] 0.01.
    b : float, 1/bohr
        [lit] 1.6.
    c : float, hartree
        [lit] 0.005.
    d : float, 1/bohr^2
        [lit] 1.0.
    mass : float, electron masses
        [lit] 2000.

    References
    ----------
    J. C. Tully, J. Chem. Phys. 93, 1061 (1990). Adiabatic energies at
    x = -1.1: (-0.008413, 0.008413) hartree.
    """

    name = "tully_simple"
    coordinate_unit = "bohr"
    parameter_units = {"a": "hartree", "b": "1/bohr", "c": "hartree", "d": "1/bohr^2",
                       "mass": "electron masses"}
    second_derivative_jumps = ((0, 0.0),)
    _kind = 0

    def __init__(self, a=0.01, b=1.6, c=0.005, d=1.0, mass=2000.0):
        self._record_parameters(locals())
        self.a, self.b, self.c, self.d = float(a), float(b), float(c), float(d)
        self.mass = diagonal_mass(mass, 1)

    def _kernel_parameters(self):
        return np.array([self.a, self.b, self.c, self.d])

    def _elements(self, x, order=2):
        a, b = self.a, self.b
        side = np.where(x >= 0.0, 1.0, -1.0)  # x = 0 belongs to the x >= 0 branch
        decay = np.exp(-b * np.abs(x))
        v11 = side * a * (1.0 - decay)
        v12 = self.c * np.exp(-self.d * x * x)
        out = [(v11, -v11, v12)]
        if order >= 1:
            d11 = a * b * decay
            d12 = -2.0 * self.d * x * v12
            out.append((d11, -d11, d12))
        if order >= 2:
            h11 = -side * a * b * b * decay
            h12 = (4.0 * self.d**2 * x * x - 2.0 * self.d) * v12
            out.append((h11, -h11, h12))
        if order >= 3:
            t11 = a * b**3 * decay
            t12 = (12.0 * self.d**2 * x - 8.0 * self.d**3 * x**3) * v12
            out.append((t11, -t11, t12))
        return out

    def third_derivative(self, q):
        """d3V/dx3, shape (N, 1, 1, 1, 2, 2), analytic (for ``SPEED(order=3)``)."""
        x = as_positions(q, 1)[:, 0]
        return two_state(*self._elements(x, 3)[3])[:, None, None, None]


class TullyDual(_Tully):
    """Tully's dual avoided crossing (model 2).

    V11 = 0,  V22(x) = -A exp(-B x^2) + E0,  V12(x) = C exp(-D x^2).

    The diabats cross twice, at x = +-sqrt(ln(A / E0) / B); analytic
    everywhere.

    Parameters
    ----------
    a : float, hartree
        [lit] 0.10.
    b : float, 1/bohr^2
        [lit] 0.28.
    e0 : float, hartree
        [lit] 0.05.
    c : float, hartree
        [lit] 0.015.
    d : float, 1/bohr^2
        [lit] 0.06.
    mass : float, electron masses
        [lit] 2000.

    References
    ----------
    J. C. Tully, J. Chem. Phys. 93, 1061 (1990). Adiabatic energies at
    x = -1.1: (-0.028170, 0.006908) hartree.
    """

    name = "tully_dual"
    coordinate_unit = "bohr"
    parameter_units = {"a": "hartree", "b": "1/bohr^2", "e0": "hartree", "c": "hartree",
                       "d": "1/bohr^2", "mass": "electron masses"}
    _kind = 1

    def __init__(self, a=0.10, b=0.28, e0=0.05, c=0.015, d=0.06, mass=2000.0):
        self._record_parameters(locals())
        self.a, self.b, self.e0 = float(a), float(b), float(e0)
        self.c, self.d = float(c), float(d)
        self.mass = diagonal_mass(mass, 1)

    def _kernel_parameters(self):
        return np.array([self.a, self.b, self.e0, self.c, self.d])

    def _elements(self, x, order=2):
        zero = 0.0  # two_state broadcasts it
        well = self.a * np.exp(-self.b * x * x)
        v22 = self.e0 - well
        v12 = self.c * np.exp(-self.d * x * x)
        out = [(zero, v22, v12)]
        if order >= 1:
            d22 = 2.0 * self.b * x * well
            d12 = -2.0 * self.d * x * v12
            out.append((zero, d22, d12))
        if order >= 2:
            h22 = (2.0 * self.b - 4.0 * self.b**2 * x * x) * well
            h12 = (4.0 * self.d**2 * x * x - 2.0 * self.d) * v12
            out.append((zero, h22, h12))
        return out


class TullyExtended(_Tully):
    """Tully's extended coupling with reflection (model 3).

    V11 = A,  V22 = -A,
    V12(x) = B exp(C x)          for x <  0,
    V12(x) = B (2 - exp(-C x))   for x >= 0.

    The coupling rises from 0 to 2 B across x = 0 and stays, so on the
    right the adiabatic states are strongly mixed and the upper one is
    closed at low energy: the textbook case where Ehrenfest dynamics
    transmits an average that matches neither branch. d2V12/dx2 jumps from
    +B C^2 to -B C^2 at x = 0 (see the module docstring).

    Parameters
    ----------
    a : float, hartree
        [lit] 6e-4.
    b : float, hartree
        [lit] 0.10.
    c : float, 1/bohr
        [lit] 0.90.
    mass : float, electron masses
        [lit] 2000.

    References
    ----------
    J. C. Tully, J. Chem. Phys. 93, 1061 (1990). Adiabatic energies at
    x = -1.1: (-0.037163, 0.037163) hartree.
    """

    name = "tully_extended"
    coordinate_unit = "bohr"
    parameter_units = {"a": "hartree", "b": "hartree", "c": "1/bohr", "mass": "electron masses"}
    second_derivative_jumps = ((0, 0.0),)
    _default_k0 = 10.0
    _default_x0 = -15.0
    _default_state = 1  # V11 = +A > V22 = -A: the lower state on the left is diabat 1
    _kind = 2

    def __init__(self, a=6e-4, b=0.10, c=0.90, mass=2000.0):
        self._record_parameters(locals())
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.mass = diagonal_mass(mass, 1)

    def _kernel_parameters(self):
        return np.array([self.a, self.b, self.c])

    def _elements(self, x, order=2):
        b, c = self.b, self.c
        right = x >= 0.0
        decay = np.exp(-c * np.abs(x))
        v12 = b * np.where(right, 2.0 - decay, decay)
        out = [(self.a, -self.a, v12)]
        if order >= 1:
            out.append((0.0, 0.0, b * c * decay))
        if order >= 2:
            out.append((0.0, 0.0, np.where(right, -1.0, 1.0) * b * c * c * decay))
        return out


# -- compiled V and dV/dx (the propagation's hot path) -----------------------
# The same formulas as the ``_elements`` methods above in one threaded
# compiled pass over blocks of points (models/_compiled.py): the arguments of
# the two exponentials each model needs, the exponentials by a vectorised
# polynomial (propagators/vexp.py; libm's and NumPy's exp cost ~8.6 ns per
# value here), then V and dV/dx. The NumPy ``_elements`` stay the reference
# (tests/test_fastpath.py checks the two agree to round-off). One kernel
# serves the three models (``kind``), so it is compiled once.

def _compiled_matrices(kind: int, parameters: np.ndarray, x: np.ndarray, gradient: bool = True):
    """V (N, 2, 2) and dV/dx (N, 1, 2, 2; None without ``gradient``) of Tully model ``kind`` at x (N,)."""
    compiled_module = sys.modules.get(f"{__package__}._compiled")
    if compiled_module is None:  # imports numba on first use (a plain import per call costs ~10 us)
        from . import _compiled as compiled_module
    x = np.ascontiguousarray(x, dtype=np.float64)
    v = np.empty((x.size, 2, 2))
    dv = np.empty((x.size if gradient else 0, 1, 2, 2))
    n_blocks = min(x.size, 4 * use_threads_for(x.size, 2))
    if n_blocks:
        compiled_module.tully_matrices(kind, parameters, x, v, dv, n_blocks, gradient)
    return v, (dv if gradient else None)
