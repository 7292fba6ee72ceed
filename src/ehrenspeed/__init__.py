"""ehrenspeed: Ehrenfest, SPEED and exact quantum dynamics on diabatic models.

>>> import ehrenspeed as es
>>> model = es.models.Pyrazine3()
>>> res = es.run(model, model.initial_wavepacket(), method="speed", n_traj=64,
...              dt=4.0, t_final=40.0, seed=1)
"""

import importlib as _importlib
import importlib.util as _importlib_util

from . import models
from ._version import __version__
from .errors import EhrenspeedError, InputError, ModelError, SimulationError
from .potentials import SPEED, Ehrenfest
from .sampling import State, Wavepacket, sample_thermal, sample_wigner

# Names whose modules are imported on first use (PEP 562), so that
# ``import ehrenspeed`` stays fast: the driver and the grid code bring the
# propagators, the configuration layer and, when a run writes its result,
# xarray; numba, scipy.fft and xarray themselves are imported only inside the
# functions that use them (benchmarks/startup.py, tests/test_startup.py).
_LAZY = {
    "run": "driver", "TrajectoryRun": "driver",
    "Grid": "grid", "GridEdgeWarning": "grid", "run_exact": "grid",
    "ThawedGaussianEhrenfest": "dynamics", "ElectronicFriction": "dynamics", "FSSH": "dynamics.fssh",
    "propagate_along_path": "prescribed",
    "load": "results",
}

__all__ = [
    "__version__", "models", "load", "run", "TrajectoryRun", "Grid", "GridEdgeWarning", "run_exact", "Ehrenfest", "SPEED", "ThawedGaussianEhrenfest", "FSSH", "ElectronicFriction", "propagate_along_path", "State", "Wavepacket", "sample_wigner", "sample_thermal",
    "EhrenspeedError", "InputError", "ModelError", "SimulationError",
]


def __getattr__(name: str):
    """A lazily imported public name, or a submodule (``es.driver``, ``es.config``, ...)."""
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif not name.startswith("__") and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
