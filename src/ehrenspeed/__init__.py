"""ehrenspeed: Ehrenfest, SPEED and exact quantum dynamics on diabatic models.

>>> import ehrenspeed as es
>>> model = es.models.Pyrazine3()
>>> res = es.run(model, model.initial_wavepacket(), method="speed", n_traj=64,
...              dt=4.0, t_final=40.0, seed=1)
"""

from . import models
from ._version import __version__
from .driver import TrajectoryRun, run
from .grid import Grid, GridEdgeWarning, run_exact
from .errors import EhrenspeedError, InputError, ModelError, SimulationError
from .potentials import SPEED, Ehrenfest
from .dynamics import ElectronicFriction, ThawedGaussianEhrenfest
from .prescribed import propagate_along_path
from .results import load
from .sampling import State, Wavepacket, sample_thermal, sample_wigner

__all__ = [
    "__version__", "models", "load", "run", "TrajectoryRun", "Grid", "GridEdgeWarning", "run_exact", "Ehrenfest", "SPEED", "ThawedGaussianEhrenfest", "ElectronicFriction", "propagate_along_path", "State", "Wavepacket", "sample_wigner", "sample_thermal",
    "EhrenspeedError", "InputError", "ModelError", "SimulationError",
]
