"""How a wavepacket or trajectory moves, on a potential source (the second axis of a method).

:mod:`.tged` holds thawed Gaussian Ehrenfest dynamics (one Gaussian and a
diabatic electronic vector); :mod:`.gaussian_potentials` the sources of its
effective quadratic surface.
"""

from .tged import GaussianState, ThawedGaussianEhrenfest

__all__ = ["GaussianState", "ThawedGaussianEhrenfest"]
