"""Bad input to the library: one ehrenspeed exception naming the problem, before any work."""

import numpy as np
import pytest

import ehrenspeed as es


def _v_non_hermitian(q):
    out = np.zeros((len(q), 2, 2))
    out[:, 0, 1] = 1.0
    return out


def _v_nan(q):
    return np.full((len(q), 2, 2), np.nan)


def _v_shape(q):
    return np.zeros((len(q), 3))


@pytest.fixture
def pyr():
    return es.models.Pyrazine3()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(dt=0.0), es.InputError, "dt"),
    (dict(dt=-1.0), es.InputError, "dt"),
    (dict(t_final=1.0), es.InputError, "t_final"),
    (dict(n_traj=0), es.InputError, "n_traj"),
    (dict(method="surface_hopping"), es.InputError, "unknown method"),
    (dict(integrator="rk4"), es.InputError, "unknown integrator"),
    (dict(output_every=0), es.InputError, "output_every"),
    (dict(chunk_size=0), es.InputError, "chunk_size"),
])
def test_bad_run_arguments(pyr, kwargs, exc, match):
    args = dict(method="ehrenfest", n_traj=4, dt=4.0, t_final=40.0, seed=1)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        es.run(pyr, pyr.initial_wavepacket(), **args)


@pytest.mark.parametrize("potential,match", [
    (_v_non_hermitian, "Hermitian"), (_v_nan, "NaN|finite"), (_v_shape, "shape"),
])
def test_bad_user_potentials(potential, match):
    with pytest.raises(es.ModelError, match=match):
        model = es.models.from_function(potential, 2, 1, 2000.0)
        es.run(model, es.Wavepacket([0.0], [0.0], [1.0], 0), n_traj=2, dt=1.0, t_final=2.0)


def test_non_positive_mass():
    with pytest.raises(es.EhrenspeedError, match="mass"):
        es.models.from_function(lambda q: np.zeros((len(q), 1, 1)), 1, 1, 0.0)


def test_unknown_model_name():
    with pytest.raises(es.InputError, match="unknown model"):
        es.models.get("benzene")


def test_wavepacket_dimension_mismatch(pyr):
    with pytest.raises(es.InputError, match="coordinates"):
        es.run(pyr, es.Wavepacket([0.0], [0.0], [1.0], 0), n_traj=2, dt=1.0, t_final=2.0)


def test_nan_during_run_names_step_and_trajectory():
    def v(q):
        out = np.zeros((len(q), 1, 1))
        out[:, 0, 0] = 0.5 * q[:, 0] ** 2
        out[q[:, 0] > 1.5, 0, 0] = np.nan   # blows up once a trajectory gets there
        return out
    model = es.models.from_function(v, 1, 1, 1.0)
    start = es.State.from_arrays([[0.0], [1.0]], [[0.0], [1.5]], [[1.0], [1.0]])
    with pytest.raises(es.SimulationError, match=r"step \d+ .*trajectory 1"):
        es.run(model, start, dt=0.1, t_final=5.0)


def test_user_potential_raising_mid_run_is_a_model_error():
    """An exception in the user's code during the run: one ModelError naming the call, cause kept."""
    calls = []

    def v(q):
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("SCF did not converge")
        out = np.zeros((len(q), 1, 1))
        out[:, 0, 0] = 0.5 * q[:, 0] ** 2
        return out

    model = es.models.from_function(v, 1, 1, 1.0, gradient=lambda q: q[:, :, None, None].copy())
    with pytest.raises(es.ModelError, match=r"potential( and gradient)? failed .*RuntimeError: SCF did not converge") as info:
        es.run(model, es.Wavepacket([0.0], [0.0], [1.0], 0), n_traj=2, dt=0.1, t_final=5.0)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
@pytest.mark.parametrize("where", ["potential", "gradient"])
def test_nan_in_potential_or_gradient_alone_is_caught_at_its_step(where, backend):
    """The per-step check reads the momenta only: a non-finite V or dV/dq
    (the other one finite) must still reach p within the same substep."""
    def v(q):
        out = np.zeros((len(q), 2, 2))
        out[:, 0, 0] = 0.5 * q[:, 0] ** 2
        out[:, 1, 1] = 0.5 * q[:, 0] ** 2 + 0.01
        out[:, 0, 1] = out[:, 1, 0] = 0.002
        if where == "potential":
            out[q[:, 0] > 1.5, 1, 1] = np.nan
        return out

    def g(q):
        out = np.zeros((len(q), 1, 2, 2))
        out[:, 0, 0, 0] = out[:, 0, 1, 1] = q[:, 0]
        if where == "gradient":
            out[q[:, 0] > 1.5, 0, 0, 1] = np.inf
        return out

    model = es.models.from_function(v, 2, 1, 1.0, gradient=g)
    start = es.State.from_arrays([[0.0], [1.0]], [[0.0], [1.5]], [[1.0, 0.0], [0.6, 0.8]])
    with pytest.raises(es.SimulationError, match=r"at step 5 .*trajectory 1"):
        # q_1(t) ~ cos t + 1.5 sin t passes 1.5 at t = 0.395: step 5 (t = 0.4 -> 0.5)
        # is the first to evaluate the potential beyond it, at t = 0.45
        es.run(model, start, dt=0.1, t_final=5.0, backend=backend, validate=False)
