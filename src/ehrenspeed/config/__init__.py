"""Run configuration: TOML files validated into typed, frozen objects.

A configuration file describes one run of :func:`ehrenspeed.run` or
:func:`ehrenspeed.grid.run_exact` (layout and every key: docs/configuration.md)::

    [model]
    name = "tully_simple"            # or python_model = "mymodule:make_model"
    [model.parameters]
    c = 0.005
    [initial]
    from_model = true                # or q0, p0, width, state
    k0 = 15.0                        # passed to the model's initial_wavepacket()
    [method]
    name = "speed"                   # "ehrenfest" | "speed" | "exact"
    [run]
    n_traj = 200
    dt = 5.0
    t_final = 2000.0
    [output]
    path = "tully.nc"

Modules: :mod:`.schema` (the frozen dataclasses and constants),
:mod:`.parse` (:func:`load_config` and one parser per table),
:mod:`.tables` (the typed TOML-table reader and value helpers).
"""

from .parse import load_config
from .schema import (
    DEFAULT_DRIFT_WARNING,
    EXACT_INTEGRATORS,
    METHOD_NAMES,
    TRAJECTORY_INTEGRATORS,
    TRAJECTORY_ONLY,
    Config,
    GridConfig,
    InitialConfig,
    MethodConfig,
    ModelConfig,
    OutputConfig,
    Prepared,
    RunConfig,
)

__all__ = [
    "DEFAULT_DRIFT_WARNING",
    "EXACT_INTEGRATORS",
    "METHOD_NAMES",
    "TRAJECTORY_INTEGRATORS",
    "TRAJECTORY_ONLY",
    "Config",
    "GridConfig",
    "InitialConfig",
    "MethodConfig",
    "ModelConfig",
    "OutputConfig",
    "Prepared",
    "RunConfig",
    "load_config",
]
