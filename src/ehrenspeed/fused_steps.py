"""When and how :meth:`ehrenspeed.driver.TrajectoryRun.advance` takes several steps in one call.

The fused kernels (:mod:`ehrenspeed.propagators.fused`) run K whole Strang
steps of Ehrenfest dynamics with each trajectory's data in the cache: on
Tully's models (two states, closed form) and on vibronic coupling models
with :data:`MIN_VIBRONIC_STATES` or more states (V and dV/dq from the
model's nonzero terms). The driver uses them only where they give what the
step-by-step path gives (to round-off, tests/test_fused.py), and keeps
everything around the steps as it is:

* counts: K steps count K n potential and gradient evaluations, as K calls
  of the model's ``potential_and_gradient`` would (counting.py);
* checks: the finiteness test runs after each block; if it finds a
  non-finite value, the block is discarded and its steps are taken again
  one by one on the reference path, which stops at the very step (and with
  the message) it always did;
* hooks: a block never crosses an output time or a checkpoint step, and the
  ``after_step`` hook (checkpoints, progress time, stop requests) runs after
  each block; a block holds at most :data:`BLOCK_TRAJECTORY_STEPS`
  trajectory-steps (about 0.1 s of work), so a stop request is still
  honoured promptly. A hook that does not say it accepts blocks (the
  driver's own carries ``every``) gets the step-by-step path;
* records: the block that ends an output interval also computes the
  record's per-trajectory observables at its final state, and the record
  takes them (:func:`record_parts`, bit-identical to computing them from
  the model's V afterwards, and counted the same).

The block length depends only on the run's settings and its step counter,
never on timing, so MPI ranks take the same blocks, and results do not
depend on it anyway.
"""

from __future__ import annotations

import numpy as np

from .backend import compiled
from .dynamics.base import MeanField
from .potentials import PerTrajectorySource
from .propagators.splitting import Strang
from .sampling import State

#: Upper bound on trajectories x steps in one fused call (about 0.1 s on one
#: core of the benchmark machine): a stop request waits at most that long.
BLOCK_TRAJECTORY_STEPS = 4_000_000

#: Fewest states for which the fused vibronic step pays: with two, the
#: step-by-step path's closed-form two-state kernel is faster than the fused
#: general eigen-solver (80 against 126 ns per trajectory-step for
#: PyrazineSchneiderDomcke, N = 4096, one thread; with three, the fused step
#: is 232 ns against 300-400 step by step, Pyrazine3).
MIN_VIBRONIC_STATES = 3

#: ``after_step`` attribute naming the hook's step granularity (checkpoint_every or None)
HOOK_ATTRIBUTE = "every"


def fused_parameters(run):
    """(name, arguments) of the fused step when it applies to this run, else None.

    ``name`` is the function of :mod:`ehrenspeed.propagators.fused` that
    takes the steps, called as ``name(*arguments, q, p, c, taus)``.
    Mean-field Ehrenfest (each trajectory's own V), Strang, a model whose
    potential the fused kernels compute themselves (Tully's three:
    ``two_state_step_parameters``; vibronic coupling models:
    ``vibronic_step_parameters``), no periodic coordinates, the compiled
    backend, and the fused path not turned off (``EHRENSPEED_FUSED=0``).
    """
    if not (type(run.dynamics) is MeanField and type(run.source) is PerTrajectorySource
            and type(run.integrator) is Strang and run.integrator.weights == (1.0,)):
        return None
    if getattr(run.model, "periods", None) is not None or not compiled(run.backend):
        return None
    tully = getattr(run.model, "two_state_step_parameters", None)
    vibronic = getattr(run.model, "vibronic_step_parameters", None)
    if tully is not None:
        parameters = tully()
        found = None if parameters is None else ("tully_steps", (*parameters, float(run.inv_mass[0])))
    elif vibronic is not None and run.model.n_states >= MIN_VIBRONIC_STATES:
        terms = vibronic()
        found = None if terms is None else ("vibronic_steps", (terms, run.inv_mass))
    else:
        return None
    if found is None:
        return None
    from .propagators import fused

    return found if fused.enabled() else None


def block_length(run, remaining: int, after_step) -> int:
    """Steps of the next fused block: up to the interval's end, the next
    checkpoint step and :data:`BLOCK_TRAJECTORY_STEPS`; 0 when the hook
    needs every step."""
    if after_step is None:
        every = None
    elif hasattr(after_step, HOOK_ATTRIBUTE):
        every = getattr(after_step, HOOK_ATTRIBUTE)
    else:
        return 0
    k = min(remaining, max(1, BLOCK_TRAJECTORY_STEPS // max(1, run.n_traj_total)))
    if every is not None:
        k = min(k, every - run.n_steps % every)
    return k


def fused_block(run, parameters, taus, observe: bool = False) -> bool:
    """Take the steps ``taus`` in one fused call; False (nothing changed) when
    any rank found a non-finite momentum, so that the caller retakes them
    step by step.

    With ``observe`` (the block ends an output interval), the kernel also
    leaves the record's per-trajectory observables at the final state in
    ``run.observed_parts``, computed while each block is in the cache;
    :func:`record_parts` takes them.
    """
    from .observables import allocate_parts
    from .propagators import fused

    name, arguments = parameters
    state = run.state
    parts = allocate_parts(*state.c.shape) if observe else None
    q, p, c = getattr(fused, name)(*arguments, state.q, state.p, state.c, taus, parts)
    # the same test as TrajectoryRun._check_finite: every non-finite value reaches p
    bad = None if np.isfinite(p.sum()) else True
    if run.comm.first_flag(bad) is not None:
        return False
    t = state.t
    for tau in taus:  # the time as the steps accumulate it
        t = t + tau
    run.state = State(q, p, c, t)
    run.observed_parts = None if parts is None else (run.state, parts)
    k = len(taus)
    n = q.shape[0]
    run.counted.count_points("potential", k * n, 0)
    run.counted.count_points("gradient", k * n, 1)
    run.n_steps += k
    run.interval_step += k
    run.n_substeps += k * len(run.integrator.weights)
    return True


def record_parts(run, parameters) -> dict[str, np.ndarray]:
    """The per-trajectory parts of a record, for a run that :func:`fused_parameters` accepts.

    Those the last fused block left for this very state (``run.observed_parts``:
    the same q, p and c arrays), else computed now (``tully_observables`` or
    ``vibronic_observables`` of :mod:`ehrenspeed.propagators.fused`). Either
    way the model's V is evaluated inline, block by block, by the code of its
    compiled potential, so the parts are those of the reference path (the
    model's V, then ``per_trajectory``) bit for bit, without an (n, S, S)
    array. Counted as the reference path is: one potential evaluation per
    trajectory.
    """
    from .propagators import fused

    state = run.state
    observed, run.observed_parts = run.observed_parts, None
    if observed is not None and all(getattr(observed[0], x) is getattr(state, x) for x in "qpc"):
        parts = observed[1]
    else:
        name, arguments = parameters
        parts = getattr(fused, name.replace("_steps", "_observables"))(*arguments, state.q, state.p, state.c)
    run.counted.count_points("potential", state.q.shape[0], 0)
    return parts
