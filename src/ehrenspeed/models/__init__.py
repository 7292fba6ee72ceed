"""Diabatic models: built-in families, user callbacks, and the name registry.

Every model follows the contract of :class:`ehrenspeed.models.base.Model`:
``n_states``, ``n_dof``, ``mass`` (D,), and batched ``potential(q)`` (N, S, S),
``gradient(q)`` (N, D, S, S), ``hessian(q)`` (N, D, D, S, S).

A new model family is one new module plus one line in :data:`REGISTRY`.
"""

from __future__ import annotations

from ..errors import InputError
from .base import Model
from .chemisorption import Chemisorption, ChemisorptionReversing
from .displaced import DisplacedOscillators
from .crossings import JahnTeller, LinearCrossing, landau_zener_probability
from .furan import FuranDimer, collision_momentum
from .retinal import Retinal
from .tully import TullyDual, TullyExtended, TullySimple
from .user import FunctionModel, from_function, validate_model
from .pyrazine_raab import Pyrazine4
from .pyrazine24 import Pyrazine24
from .vibronic import Pyrazine3, PyrazineSchneiderDomcke, VibronicCoupling

#: name (as in config files) -> model class. Classes listed here build with
#: no arguments, from their documented defaults.
REGISTRY: dict[str, type[Model]] = {
    "pyrazine3": Pyrazine3,
    "pyrazine_sd": PyrazineSchneiderDomcke,
    "pyrazine4": Pyrazine4,
    "pyrazine24": Pyrazine24,
    "tully_simple": TullySimple,
    "tully_dual": TullyDual,
    "tully_extended": TullyExtended,
    "linear_crossing": LinearCrossing,
    "jahn_teller": JahnTeller,
    "chemisorption": Chemisorption,
    "chemisorption_reversing": ChemisorptionReversing,
    "furan_dimer": FuranDimer,
    "retinal": Retinal,
    "displaced_oscillators": DisplacedOscillators,
}


def get(name: str, **parameters) -> Model:
    """Build a built-in model by name, e.g. ``get("pyrazine3", lam=0.2)``.

    Raises
    ------
    InputError
        For an unknown name or parameters the model does not take.
    """
    key = str(name).lower()
    if key not in REGISTRY:
        raise InputError(f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))}")
    try:
        return REGISTRY[key](**parameters)
    except TypeError as exc:
        raise InputError(f"model {name!r}: {exc}") from None


__all__ = [
    "Model", "REGISTRY", "get", "Pyrazine3", "PyrazineSchneiderDomcke", "Pyrazine4", "Pyrazine24", "VibronicCoupling",
    "TullySimple", "TullyDual", "TullyExtended", "LinearCrossing", "JahnTeller",
    "landau_zener_probability", "Chemisorption", "ChemisorptionReversing", "FuranDimer",
    "collision_momentum", "Retinal", "DisplacedOscillators", "FunctionModel", "from_function", "validate_model",
]

# on-the-fly electronic structure and automatic differentiation (issue 7),
# imported on first use (PEP 562): .expensive brings multiprocessing's process
# pool, which ``import ehrenspeed`` need not pay for (benchmarks/startup.py)
_LAZY = {"ExpensiveModel": "expensive", "SerialExecutor": "expensive", "from_single_point": "expensive",
         "from_jax": "jax_model"}

__all__ += ["ExpensiveModel", "SerialExecutor", "from_single_point", "from_jax"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
