"""Time steppers for trajectory ensembles (see :mod:`.splitting`)."""

from ..errors import InputError
from .splitting import (BACKENDS, INTEGRATORS, check_backend, Splitting, Strang, Yoshida4, Yoshida6, get_backend, phi,
                        potential_substep, set_backend, use_backend)


def as_integrator(integrator) -> Splitting:
    """Resolve an integrator name (``"strang"``, ``"yoshida4"``, ...) or instance."""
    if isinstance(integrator, Splitting):
        return integrator
    if isinstance(integrator, str) and integrator.lower() in INTEGRATORS:
        return INTEGRATORS[integrator.lower()]()
    raise InputError(f"unknown integrator {integrator!r}; use one of {', '.join(INTEGRATORS)}")


__all__ = ["BACKENDS", "INTEGRATORS", "check_backend", "Splitting", "Strang", "Yoshida4", "Yoshida6", "phi",
           "potential_substep", "as_integrator", "get_backend", "set_backend", "use_backend"]
