"""Evaluation accounting: how often a run asked the model for V, dV/dq, d2V/dq2.

SPEED's whole point is the number of potential evaluations, so every run
wraps its model in :class:`CountingModel` and reports the counts. One
*evaluation* is one geometry: a batched call with N positions counts N.

The paper's cost model (docs/trajectories.md; Supplement section I) counts the
unique scalars the provider must compute per step:

    Ehrenfest:  N * S(S+1)/2 * (1 + D)
    SPEED:          S(S+1)/2 * (1 + D + D(D+1)/2)

:func:`scalar_cost` gives those; :attr:`EvaluationCounter.scalars` is the
same count measured from the calls actually made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .models.base import Model
from .models.user import call_model


@dataclass
class EvaluationCounter:
    """Geometries at which the potential, gradient and Hessian were computed."""

    potential: int = 0
    gradient: int = 0
    hessian: int = 0
    scalars: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def unique_scalars(n_states: int, n_dof: int, order: int) -> int:
    """Unique scalars per geometry in V (order 0), dV/dq (1) or d2V/dq2 (2)."""
    per_matrix = n_states * (n_states + 1) // 2
    return per_matrix * (1, n_dof, n_dof * (n_dof + 1) // 2)[order]


def scalar_cost(method: str, n_traj: int, n_states: int, n_dof: int) -> int:
    """Paper's scalar count per potential substep for ``"ehrenfest"`` or ``"speed"``."""
    s = n_states * (n_states + 1) // 2
    if method == "ehrenfest":
        return n_traj * s * (1 + n_dof)
    return s * (1 + n_dof + n_dof * (n_dof + 1) // 2)


class CountingModel:
    """A model seen through a counter; forwards everything else unchanged.

    Parameters
    ----------
    model : Model
        The wrapped model (never modified).
    counter : EvaluationCounter, optional
        Where to count (a fresh one by default).
    """

    def __init__(self, model: Model, counter: EvaluationCounter | None = None):
        self.model = model
        self.counter = counter if counter is not None else EvaluationCounter()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def _count(self, kind: str, q: np.ndarray, order: int) -> None:
        self.count_points(kind, q.shape[0], order)

    def count_points(self, kind: str, n: int, order: int) -> None:
        """Count ``n`` evaluations of ``kind`` ("potential", "gradient", "hessian"; derivative
        ``order`` 0, 1, 2) made without calling the model: the fused Tully step
        (propagators/fused.py) computes V and dV/dx inside its kernel, and counts them here
        as the step-by-step path's ``potential_and_gradient`` calls would."""
        setattr(self.counter, kind, getattr(self.counter, kind) + n)
        self.counter.scalars += n * unique_scalars(self.model.n_states, self.model.n_dof, order)

    def _call(self, what: str, fn, q: np.ndarray):
        """Call the model; a failure of the model's own code becomes a one-line ModelError."""
        return call_model(fn, q, what, getattr(self.model, "name", type(self.model).__name__))

    def potential(self, q: np.ndarray) -> np.ndarray:
        self._count("potential", q, 0)
        return self._call("potential", self.model.potential, q)

    def gradient(self, q: np.ndarray) -> np.ndarray:
        self._count("gradient", q, 1)
        return self._call("gradient", self.model.gradient, q)

    def hessian(self, q: np.ndarray) -> np.ndarray:
        self._count("hessian", q, 2)
        return self._call("hessian", self.model.hessian, q)

    def potential_and_gradient(self, q: np.ndarray):
        """V and dV/dq together (one calculation when the model can), both counted."""
        self._count("potential", q, 0)
        self._count("gradient", q, 1)
        both = getattr(self.model, "potential_and_gradient", None)
        if both is not None:
            return self._call("potential and gradient", both, q)
        return self._call("potential", self.model.potential, q), self._call("gradient", self.model.gradient, q)
