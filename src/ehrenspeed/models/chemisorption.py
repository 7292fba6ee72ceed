"""An atom moving across a metal surface: layers of nearly degenerate oscillators.

After I. G. Ryabinkin and A. F. Izmaylov, "Mixed quantum-classical
dynamics using collective electronic variables: a better alternative to
electronic friction theories", J. Phys. Chem. Lett. 8, 440 (2017),
doi:10.1021/acs.jpclett.6b02712, as used in the SPEED paper. One nuclear
coordinate x (bohr); the diabatic states are labelled (l, j), a layer (site)
l = 0..L-1 and a copy j = 0..J-1 inside it, and are ordered layer first:
state index = l * J + j.

    V_(l,j),(l,j)(x)  = (M W^2 / 2) (x - x_l - j delta)^2 + e_l,  x_l = l * spacing
    V_(l,j),(l',j')   = c      if |l - l'| = 1          (all j, j')
    V_(l,j),(l,j')    = c_in   if j != j'
    all other couplings zero.

The J copies of a layer stand for the quasi-continuum of metal electronic
states at that site. Every element is at most quadratic in x, so SPEED is
exact here (equals Ehrenfest to round-off).

Where the numbers come from. [lit]: nine primary oscillators whose minima
are 5 bohr apart, each duplicated into nearly identical states whose minima
are shifted "very slightly", constant couplings. [default]: everything else
-- the original values are in the supporting information of the two papers,
which we could not read. Our choices: a hydrogen atom (M = 1836.15), a soft
site frequency W = 0.0005 hartree (110 cm^-1; the oscillators then overlap
strongly at 5 bohr spacing, so neighbouring diabats cross near 1.6 bohr
from a minimum, about 6e-4 hartree above it), a staircase
e_l = -l dE with dE = 0.002 hartree that pulls the atom across the surface
over low barriers, copies shifted by delta = 0.01 bohr, a neighbouring-layer
coupling c = 0.001 hartree and an in-layer coupling c_in = 0.0002 hartree.
Note that the symmetric combinations of the J copies of two neighbouring
layers are coupled by J c, which lowers the effective barriers further.
These defaults are a starting point, to be tuned against the paper's
qualitative findings (the atom travels; one Ehrenfest trajectory keeps
oscillating in <V>; swarms damp like the exact result and move more slowly
than one trajectory).

The second preset, ``"reversing"`` (:meth:`Chemisorption.reversing`), aims
at the supplement's case where friction theory fails because the atom
reverses direction: the staircase runs down for the first half of the
layers and then up at twice the rate, so the atom is turned back inside the
surface region. Its numbers are [default, to be tuned].
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..sampling import Wavepacket
from .base import Model, as_positions, diagonal_mass

PRESETS = ("default", "reversing")


class Chemisorption(Model):
    """Chemisorption model: L layers x J nearly degenerate harmonic diabats.

    See the module docstring for the equations and the provenance of every
    number.

    Parameters
    ----------
    n_layers : int
        L, number of primary oscillators (surface sites); [lit] 9.
    states_per_layer : int
        J, copies per layer; [default] 5 (the original used 10).
    mass : float, electron masses
        M; [default] 1836.15 (a hydrogen atom).
    omega : float, hartree
        W, frequency of every diabatic oscillator; [default] 0.0005.
    spacing : float, bohr
        Distance between the minima of neighbouring layers; [lit] 5.0.
    energy_step : float, hartree
        dE in the layer energies e_l (see ``preset``); [default] 0.002.
    delta : float, bohr
        Shift of consecutive copies inside a layer; [default] 0.01 ([lit]
        "very slightly").
    coupling : float, hartree
        c, between every pair of states of neighbouring layers;
        [default] 0.001.
    coupling_in : float, hartree
        c_in, between different copies of one layer; [default] 0.0002.
    preset : {"default", "reversing"}
        Shape of the layer energies. ``"default"``: e_l = -l dE, a
        staircase down. ``"reversing"``: e_l = -l dE for l <= t, then
        e_l = -t dE + 2 dE (l - t), with t = ``turn_layer``: down, then up
        twice as steeply, so the atom turns back [default, to be tuned].
    turn_layer : int, optional
        t of the ``"reversing"`` preset; [default, to be tuned]
        n_layers // 2.
    layer_energies : array_like, shape (L,), optional
        Explicit e_l in hartree; overrides ``preset`` and ``energy_step``.

    Attributes
    ----------
    centres : ndarray, shape (S,)
        Minimum x_l + j delta of each diabat, bohr (state order l * J + j).
    layer_energies : ndarray, shape (L,)
        e_l, hartree.
    """

    max_degree = 2
    n_dof = 1

    def __init__(self, n_layers=9, states_per_layer=5, mass=1836.15, omega=0.0005, spacing=5.0,
                 energy_step=0.002, delta=0.01, coupling=0.001, coupling_in=0.0002,
                 preset="default", turn_layer=None, layer_energies=None):
        self._record_parameters(locals())
        if preset not in PRESETS:
            raise InputError(f"unknown chemisorption preset {preset!r}; use one of {PRESETS}")
        for value, what in ((n_layers, "n_layers"), (states_per_layer, "states_per_layer")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{what} must be a positive integer, got {value!r}")
        if not omega > 0:
            raise InputError(f"omega must be positive, got {omega!r}")
        n_layers, per = int(n_layers), int(states_per_layer)
        self.name = "chemisorption" if preset == "default" else f"chemisorption_{preset}"
        self.preset = preset
        self.n_layers, self.states_per_layer = n_layers, per
        self.n_states = n_layers * per
        self.mass = diagonal_mass(mass, 1)
        self.omega = float(omega)
        layers = np.arange(n_layers)
        if layer_energies is not None:
            energies = np.asarray(layer_energies, dtype=float).ravel()
            if energies.shape != (n_layers,):
                raise InputError(f"layer_energies must have {n_layers} values, got {energies.size}")
        elif preset == "reversing":
            t = n_layers // 2 if turn_layer is None else int(turn_layer)
            energies = np.where(layers <= t, -energy_step * layers,
                                -energy_step * t + 2.0 * energy_step * (layers - t))
        else:
            energies = -energy_step * layers
        self.layer_energies = energies + 0.0  # no negative zeros in listings
        layer_of = np.repeat(layers, per)          # (S,) layer of each state
        copy_of = np.tile(np.arange(per), n_layers)  # (S,) copy index j
        self.centres = spacing * layer_of + delta * copy_of
        self._offsets = energies[layer_of]
        self._force_constant = self.mass[0] * self.omega**2
        # the constant off-diagonal part, built once
        gap = np.abs(layer_of[:, None] - layer_of[None, :])
        couplings = np.where(gap == 1, float(coupling), 0.0)
        couplings = np.where(gap == 0, float(coupling_in), couplings)
        np.fill_diagonal(couplings, 0.0)
        self._couplings = couplings

    @classmethod
    def reversing(cls, **overrides) -> "Chemisorption":
        """The preset in which the atom reverses direction [default, to be tuned]."""
        return ChemisorptionReversing(**overrides)

    def state_index(self, layer: int, copy: int = 0) -> int:
        """Index of diabatic state (layer, copy) in the ordering l * J + j."""
        return int(layer) * self.states_per_layer + int(copy)

    def potential(self, q):
        x = as_positions(q, 1)[:, 0]
        n, s = x.size, self.n_states
        out = np.broadcast_to(self._couplings, (n, s, s)).copy()
        diag = np.arange(s)
        out[:, diag, diag] = (0.5 * self._force_constant * (x[:, None] - self.centres) ** 2
                              + self._offsets)
        return out

    def gradient(self, q):
        x = as_positions(q, 1)[:, 0]
        n, s = x.size, self.n_states
        out = np.zeros((n, 1, s, s))
        diag = np.arange(s)
        out[:, 0, diag, diag] = self._force_constant * (x[:, None] - self.centres)
        return out

    def hessian(self, q):
        n = as_positions(q, 1).shape[0]
        curvature = self._force_constant * np.eye(self.n_states)
        return np.broadcast_to(curvature, (n, 1, 1) + curvature.shape).copy()

    def initial_wavepacket(self) -> Wavepacket:
        """Ground state of the first oscillator, on state (0, 0).

        x0 = 0 (the minimum of state (0, 0)), p0 = 0, A = M W [default].
        """
        return Wavepacket([0.0], [0.0], [self.mass[0] * self.omega], 0)


class ChemisorptionReversing(Chemisorption):
    """:class:`Chemisorption` with ``preset="reversing"`` (config name
    ``chemisorption_reversing``): the layer energies run down to the middle
    layer and then up twice as steeply, so the atom turns back. All numbers
    [default, to be tuned]; see :class:`Chemisorption` for the parameters.
    """

    def __init__(self, n_layers=9, states_per_layer=5, mass=1836.15, omega=0.0005, spacing=5.0,
                 energy_step=0.002, delta=0.01, coupling=0.001, coupling_in=0.0002,
                 preset="reversing", turn_layer=None, layer_energies=None):
        self._record_parameters(locals())
        super().__init__(n_layers, states_per_layer, mass, omega, spacing, energy_step, delta,
                         coupling, coupling_in, preset, turn_layer, layer_energies)
