"""The fused Tully step (propagators/fused.py, fused_steps.py) against the step-by-step path.

The reference is the same run with ``EHRENSPEED_FUSED=0``: the step-by-step
Strang path (model's compiled V and dV/dx, the two-state substep kernel).
The two differ only in the exponential (vexp.py against NumPy's), so they
agree to round-off; the fused path alone is bit-identical with itself
whatever its block length K, so checkpoints resume bit for bit.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed import fused_steps
from ehrenspeed.backend import HAVE_NUMBA
from ehrenspeed.driver import TrajectoryRun, _after_step
from ehrenspeed.errors import RunInterrupted

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the fused path is compiled")

MODELS = [es.models.TullySimple, es.models.TullyDual, es.models.TullyExtended]
N = 200
# 61 steps with outputs every 7: 8 full intervals and a last one of 5 steps
RUN = {"method": "ehrenfest", "n_traj": N, "dt": 5.0, "t_final": 305.0, "output_every": 7, "seed": 5,
       "backend": "numba"}
RECORDED = ["population", "adiabatic_population", "total_energy", "potential_energy",
            "position", "momentum"]


def _run(model, monkeypatch, fused: bool, k_max: int | None = None, **extra):
    monkeypatch.setenv("EHRENSPEED_FUSED", "1" if fused else "0")
    if k_max is not None:   # blocks of at most k_max steps
        monkeypatch.setattr(fused_steps, "BLOCK_TRAJECTORY_STEPS", k_max * N)
    wp = model.initial_wavepacket(x0=-4.0)  # starts near the couplings: the populations change
    return es.run(model, wp, **{**RUN, **extra})


def _counts(result):
    return {key: result.attrs[key] for key in ("potential_evaluations", "gradient_evaluations",
                                               "hessian_evaluations", "scalar_evaluations")}


@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
def test_fused_run_equals_step_by_step_run(model_class, monkeypatch):
    model = model_class()
    reference = _run(model, monkeypatch, fused=False)
    # K = 3 does not divide the interval of 7 steps; K = 64 is cut by the output times
    results = [_run(model, monkeypatch, fused=True, k_max=k) for k in (1, 3, 64)]
    assert reference["population"].isel(time=-1).values[1] > 0.01   # something happened
    for result in results:
        for name in RECORDED:
            np.testing.assert_allclose(result[name].values, reference[name].values, rtol=0, atol=1e-11,
                                       err_msg=name)
        assert _counts(result) == _counts(reference)
    for result in results[1:]:   # the block length changes no bit
        for name in RECORDED:
            assert np.array_equal(result[name].values, results[0][name].values), name


@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
def test_fused_state_equals_step_by_step_state(model_class, monkeypatch):
    """Positions, momenta and coefficients of every trajectory, not only the means."""
    model = model_class()
    states = {}
    for fused in (False, True):
        monkeypatch.setenv("EHRENSPEED_FUSED", "1" if fused else "0")
        sim = TrajectoryRun(model, model.initial_wavepacket(x0=-4.0), **RUN)
        assert (fused_steps.fused_parameters(sim) is not None) == fused
        while not sim.done:
            sim.advance(None, _after_step(None, None, None))
        states[fused] = sim.state
        assert sim.n_steps == 61 and sim.n_substeps == 61
    a, b = states[False], states[True]
    assert a.t == b.t
    np.testing.assert_allclose(b.q, a.q, rtol=0, atol=1e-11)
    np.testing.assert_allclose(b.p, a.p, rtol=0, atol=1e-10)
    np.testing.assert_allclose(b.c, a.c, rtol=0, atol=1e-12)


def test_backwards_and_uneven_steps_equal_strang():
    """The kernel itself: negative and unequal step lengths, against Strang.step."""
    from ehrenspeed.propagators import fused
    from ehrenspeed.propagators.splitting import Strang

    model = es.models.TullyDual()
    sim = TrajectoryRun(model, model.initial_wavepacket(x0=-3.0), **RUN)
    taus = [5.0, 5.0, 2.5, -5.0, -1.0]
    q, p, c = fused.tully_steps(*model.two_state_step_parameters(), float(sim.inv_mass[0]), sim.state.q,
                                sim.state.p, sim.state.c, taus)
    state = sim.state
    for tau in taus:
        state = Strang().step(state, tau, sim.source, model, sim.inv_mass, None, "numba")
    np.testing.assert_allclose(q, state.q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p, state.p, rtol=0, atol=1e-11)
    np.testing.assert_allclose(c, state.c, rtol=0, atol=1e-13)


def test_resume_from_checkpoint_is_bit_identical(tmp_path, monkeypatch):
    model = es.models.TullySimple()
    monkeypatch.setattr(fused_steps, "BLOCK_TRAJECTORY_STEPS", 4 * N)
    whole = _run(model, monkeypatch, fused=True)
    path = tmp_path / "run.npz"
    wp = model.initial_wavepacket(x0=-4.0)
    sim = TrajectoryRun(model, wp, **RUN)
    hook = _after_step(5, path, None)   # checkpoints every 5 steps, inside the blocks of 4
    while sim.n_steps < 30:
        sim.advance(None, hook)
    assert sim.n_steps == 35   # five output intervals
    resumed = es.run(model, wp, checkpoint_path=path, resume=True, **RUN)
    for name in RECORDED:
        assert np.array_equal(resumed[name].values, whole[name].values), name
    assert _counts(resumed) == _counts(whole)


def test_block_length_respects_hooks_and_checkpoints():
    model = es.models.TullySimple()
    sim = TrajectoryRun(model, model.initial_wavepacket(), **RUN)
    assert fused_steps.block_length(sim, 7, None) == 7
    assert fused_steps.block_length(sim, 7, lambda run: None) == 0   # a hook that wants every step
    sim.n_steps = 12
    assert fused_steps.block_length(sim, 7, _after_step(5, "x.npz", None)) == 3
    assert fused_steps.block_length(sim, 7, _after_step(None, None, None)) == 7


def test_non_finite_block_is_retaken_step_by_step(monkeypatch):
    """A block whose momenta went non-finite is discarded and redone on the reference path."""
    from ehrenspeed.propagators import fused

    model = es.models.TullySimple()
    reference = _run(model, monkeypatch, fused=False)
    original = fused.tully_steps
    poisoned = []

    def poison_once(*args):
        q, p, c = original(*args)
        if not poisoned:
            poisoned.append(True)
            p[3, 0] = np.nan
        return q, p, c

    monkeypatch.setattr(fused, "tully_steps", poison_once)
    result = _run(model, monkeypatch, fused=True)
    assert poisoned
    for name in RECORDED:
        np.testing.assert_allclose(result[name].values, reference[name].values, rtol=0, atol=1e-11)
    assert _counts(result) == _counts(reference)


def test_not_used_where_not_equivalent(monkeypatch):
    model = es.models.TullySimple()
    wp = model.initial_wavepacket()

    class Edited(es.models.TullySimple):
        def potential_and_gradient(self, q):
            return super().potential_and_gradient(q)

    assert Edited().two_state_step_parameters() is None
    for kwargs in ({"method": "speed"}, {"integrator": "yoshida4"}, {"backend": "numpy"}):
        sim = TrajectoryRun(model, wp, **{**RUN, **kwargs})
        assert fused_steps.fused_parameters(sim) is None, kwargs
    monkeypatch.setenv("EHRENSPEED_FUSED", "0")
    assert fused_steps.fused_parameters(TrajectoryRun(model, wp, **RUN)) is None


def test_vectorised_exp_agrees_with_numpy():
    import numba

    from ehrenspeed.propagators.vexp import EXP_MAX, exp_rows

    @numba.njit
    def call(x, out, scratch):
        exp_rows(x, out, scratch, x.size)

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-50.0, 0.0, 5000), rng.uniform(-720.0, 720.0, 2000),
                        [0.0, -0.0, 1e-300, -700.0, 700.0, -708.5, -745.2, -800.0, 800.0, np.inf, -np.inf, np.nan]])
    out = np.empty_like(x)
    call(x, out, np.empty(x.size, dtype=np.int64))
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    polynomial = np.abs(x) <= EXP_MAX   # beyond it (and NaN) libm's value itself
    assert np.max(np.abs(out[polynomial] / ref[polynomial] - 1.0)) < 4 * np.finfo(float).eps
    assert np.array_equal(out[~polynomial], ref[~polynomial], equal_nan=True)


def test_stop_request_is_honoured_at_the_next_block(tmp_path, monkeypatch):
    """SIGTERM during a fused run: the run stops after the current block, saves a
    checkpoint there, and the resumed run is the uninterrupted one, bit for bit."""
    import os
    import signal

    from ehrenspeed import interrupt

    model = es.models.TullySimple()
    monkeypatch.setattr(fused_steps, "BLOCK_TRAJECTORY_STEPS", 3 * N)   # blocks of 3 steps
    whole = _run(model, monkeypatch, fused=True)
    original = fused_steps.fused_block
    calls = []

    def signal_in_fourth_block(run, parameters, taus, *observe):
        calls.append(len(taus))
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGTERM)   # the handler only sets a flag
        return original(run, parameters, taus, *observe)

    monkeypatch.setattr(es.driver, "fused_block", signal_in_fourth_block)
    path = tmp_path / "run.npz"
    wp = model.initial_wavepacket(x0=-4.0)
    with interrupt.stop_on_signals(), pytest.raises(RunInterrupted) as stopped:
        es.run(model, wp, checkpoint_path=path, **RUN)
    assert stopped.value.step == sum(calls) == 10   # blocks 3, 3, 1 (output at step 7), 3: stopped after the 4th
    assert path.is_file()
    monkeypatch.setattr(es.driver, "fused_block", original)
    resumed = es.run(model, wp, checkpoint_path=path, resume=True, **RUN)
    for name in RECORDED:
        assert np.array_equal(resumed[name].values, whole[name].values), name
    assert _counts(resumed) == _counts(whole)


# -- vibronic coupling models (fused_steps.MIN_VIBRONIC_STATES or more states) --------------

def _every_kind_of_term():
    """Four states, five modes: bilinear terms within and between states, constant couplings."""
    rng = np.random.default_rng(11)
    s, d = 4, 5
    lam = rng.normal(scale=0.01, size=(s, s, d))
    lam = 0.5 * (lam + lam.transpose(1, 0, 2))
    gamma = rng.normal(scale=0.002, size=(s, d, d))
    mu = rng.normal(scale=0.002, size=(s, s, d, d))
    mu = 0.5 * (mu + mu.transpose(1, 0, 2, 3))
    eta = np.zeros((s, s))
    eta[1, 2] = eta[2, 1] = 0.003
    return es.models.VibronicCoupling(omega=rng.uniform(0.005, 0.01, d), energies=[0.0, 0.02, 0.03, 0.05],
                                      kappa=rng.normal(scale=0.01, size=(s, d)), lam=lam, gamma=gamma, mu=mu,
                                      eta=eta)


VIBRONIC = {"pyrazine3": (es.models.Pyrazine3, {}), "four_states": (_every_kind_of_term, {"state": 2})}
VIBRONIC_RUN = {**RUN, "dt": 4.0, "t_final": 244.0}


def _vibronic_run(name, monkeypatch, fused: bool, k_max: int | None = None):
    monkeypatch.setenv("EHRENSPEED_FUSED", "1" if fused else "0")
    if k_max is not None:
        monkeypatch.setattr(fused_steps, "BLOCK_TRAJECTORY_STEPS", k_max * N)
    make, initial = VIBRONIC[name]
    model = make()
    return es.run(model, model.initial_wavepacket(**initial), **VIBRONIC_RUN)


@pytest.mark.parametrize("name", list(VIBRONIC))
def test_fused_vibronic_run_equals_step_by_step_run(name, monkeypatch):
    reference = _vibronic_run(name, monkeypatch, fused=False)
    results = [_vibronic_run(name, monkeypatch, fused=True, k_max=k) for k in (1, 3, 64)]
    populations = reference["population"].values
    assert np.max(np.abs(populations[-1] - populations[0])) > 0.02   # something happened
    for result in results:
        for name_ in RECORDED:   # bit for bit: see test_fused_vibronic_state_equals_step_by_step_state
            assert np.array_equal(result[name_].values, reference[name_].values), name_
        assert _counts(result) == _counts(reference)
    for result in results[1:]:   # the block length changes no bit
        for name_ in RECORDED:
            assert np.array_equal(result[name_].values, results[0][name_].values), name_


def test_fused_vibronic_state_equals_step_by_step_state(monkeypatch):
    """Every trajectory's q, p and c after uneven and backward steps, against Strang.step."""
    from ehrenspeed.propagators import fused
    from ehrenspeed.propagators.splitting import Strang

    model = _every_kind_of_term()
    sim = TrajectoryRun(model, model.initial_wavepacket(state=2), **VIBRONIC_RUN)
    name, arguments = fused_steps.fused_parameters(sim)
    assert name == "vibronic_steps"
    taus = [4.0, 4.0, 2.5, -4.0, -1.0, 30.0]
    q, p, c = fused.vibronic_steps(*arguments, sim.state.q, sim.state.p, sim.state.c, taus)
    state = sim.state
    for tau in taus:
        state = Strang().step(state, tau, sim.source, model, sim.inv_mass, None, "numba")
    assert np.max(np.abs(state.q - sim.state.q)) > 0.3     # the steps moved the trajectories
    # the same operations in the same order as the step-by-step path: the same bits
    assert np.array_equal(q, state.q) and np.array_equal(p, state.p) and np.array_equal(c, state.c)


def test_fused_vibronic_not_used_where_not_equivalent(monkeypatch):
    class Edited(es.models.Pyrazine3):
        def gradient(self, q):
            return super().gradient(q)

    assert Edited().vibronic_step_parameters() is None
    assert es.models.Pyrazine3().vibronic_step_parameters() is not None
    spied = es.models.Pyrazine3()   # a wrapper set on the instance must be called, so no fused path
    original = spied.potential_and_gradient
    monkeypatch.setattr(spied, "potential_and_gradient", lambda q: original(q))
    assert spied.vibronic_step_parameters() is None
    two_states = es.models.PyrazineSchneiderDomcke()   # the closed-form two-state kernel is faster
    for model in (Edited(), two_states):
        sim = TrajectoryRun(model, model.initial_wavepacket(), **VIBRONIC_RUN)
        assert fused_steps.fused_parameters(sim) is None
    model = es.models.Pyrazine3()
    for kwargs in ({"method": "speed"}, {"integrator": "yoshida4"}, {"backend": "numpy"}):
        sim = TrajectoryRun(model, model.initial_wavepacket(), **{**VIBRONIC_RUN, **kwargs})
        assert fused_steps.fused_parameters(sim) is None, kwargs


@pytest.mark.parametrize("make", [es.models.TullySimple, es.models.TullyExtended, es.models.Pyrazine3,
                                  _every_kind_of_term], ids=lambda f: getattr(f, "__name__", str(f)))
def test_fused_record_parts_equal_the_reference_parts(make, monkeypatch):
    """The record's per-trajectory observables with V evaluated inline, against the model's
    compiled V followed by observables.per_trajectory: the same numbers, the same count."""
    from ehrenspeed.backend import use_backend
    from ehrenspeed.observables import per_trajectory

    model = make()
    initial = {"state": 2} if make is _every_kind_of_term else {"x0": -0.5} if "Tully" in make.__name__ else {}
    sim = TrajectoryRun(model, model.initial_wavepacket(**initial), **{**RUN, "n_traj": 301})
    sim.advance()   # trajectories spread over the coupling region
    parameters = fused_steps.fused_parameters(sim)
    start = sim.state
    # the parts the last block of an interval computes in the kernel ...
    assert fused_steps.fused_block(sim, parameters, [5.0, -2.0, 5.0], True)
    observed = sim.observed_parts[1]
    end = sim.state
    before = sim.counted.counter.potential
    assert fused_steps.record_parts(sim, parameters) is observed and sim.observed_parts is None
    # ... and those computed for the state afterwards (a record after a step-by-step step)
    parts = fused_steps.record_parts(sim, parameters)
    assert parts is not observed
    assert sim.counted.counter.potential - before == 2 * 301
    with use_backend("numba"):
        reference = per_trajectory(sim.state, model.potential(sim.state.q), sim.inv_mass)
    assert set(parts) == set(reference) == set(observed)
    for key, value in reference.items():
        assert np.array_equal(parts[key], value), key
        assert np.array_equal(observed[key], value), key
    assert np.ptp(parts["adiabatic_population"], axis=0).max() > 0.01   # trajectories differ
    # the observing block took the same steps as one that does not observe
    sim.state = start
    assert fused_steps.fused_block(sim, parameters, [5.0, -2.0, 5.0])
    assert sim.observed_parts is None
    for x in "qpc":
        assert np.array_equal(getattr(sim.state, x), getattr(end, x)), x
