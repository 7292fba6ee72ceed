"""Numerically exact quantum dynamics on a grid (split operator), the reference for trajectories.

>>> import ehrenspeed as es
>>> from ehrenspeed.grid import Grid, run_exact
>>> model = es.models.Pyrazine3()
>>> grid = Grid(lower=[-8] * 3, upper=[8] * 3, points=[32] * 3)
>>> ref = run_exact(model, model.initial_wavepacket(), grid, dt=4.0, t_final=40.0)

Modules: :mod:`.grid` (the grid), :mod:`.operators` (kinetic energy,
potential diagonalised on the grid, propagators), :mod:`.kernels`
(pointwise products, compiled with numba when available),
:mod:`.splitoperator` (the stepper), :mod:`.observables`, :mod:`.run`
(:func:`run_exact`). See ``docs/exact.md``.
"""

from .grid import Grid
from .run import GridEdgeWarning, initial_wavefunction, memory_estimate, run_exact
from .splitoperator import SplitOperator

__all__ = ["Grid", "run_exact", "GridEdgeWarning", "SplitOperator", "initial_wavefunction", "memory_estimate"]
