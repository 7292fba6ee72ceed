"""How a wavepacket or trajectory moves, on a potential source (the second axis of a method).

:mod:`.friction` holds electronic friction dynamics on the ground
adiabat; :mod:`.tged` thawed Gaussian Ehrenfest dynamics (one Gaussian and a
diabatic electronic vector); :mod:`.gaussian_potentials` the sources of its
effective quadratic surface.
"""

from .friction import ElectronicFriction
from .tged import GaussianState, ThawedGaussianEhrenfest

__all__ = ["ElectronicFriction", "GaussianState", "ThawedGaussianEhrenfest"]
