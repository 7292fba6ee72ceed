"""How a wavepacket or trajectory moves (DESIGN.md, "the second axis").

:mod:`.tged` holds thawed Gaussian Ehrenfest dynamics (one Gaussian and a
diabatic electronic vector); :mod:`.gaussian_potentials` the sources of its
effective quadratic surface.
"""

from .tged import GaussianState, ThawedGaussianEhrenfest

__all__ = ["GaussianState", "ThawedGaussianEhrenfest"]
