"""SPEED(hessian="update"): quasi-Newton Hessians from the gradients SPEED already has.

* the update formulas: secant condition H_new s = y exactly, symmetry in
  (a, b), Hermiticity in (k, l), the Bofill weight's two limits;
* a constant-Hessian (quadratic) model: the update changes nothing, so the
  run equals every-step SPEED, with one Hessian evaluation;
* an anharmonic model: the counts in the result are the calls made, and
  every expansion is an update, a skipped update or a recomputation;
* checkpoint/resume is bit-identical (the updated Hessian is state);
* input errors name the option; config keys round-trip.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interrupted_and_resumed

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.errors import InputError
from ehrenspeed.hessian_update import MIN_RELATIVE_STEP, step_too_small, update_hessian


def _random_symmetric(rng, d, s, hermitian=False):
    h = rng.normal(size=(d, d, s, s))
    if hermitian:
        h = h + 1j * rng.normal(size=(d, d, s, s))
    h = h + h.transpose(1, 0, 2, 3)                      # symmetric in the coordinates
    return h + np.conj(h.transpose(0, 1, 3, 2))          # Hermitian in the states


def _apply(h, s):
    return np.einsum("abkl,b->akl", h, s)


@pytest.mark.parametrize("formula", ["bofill", "psb"])
@pytest.mark.parametrize("hermitian", [False, True])
def test_secant_condition_on_a_quadratic_function(formula, hermitian):
    """For V exactly quadratic (Hessian A), every update satisfies H_new s = A s along each sampled step."""
    rng = np.random.default_rng(4)
    d, n_states = 5, 3
    exact = _random_symmetric(rng, d, n_states, hermitian)
    h = _random_symmetric(rng, d, n_states, hermitian)  # a wrong starting Hessian
    for _ in range(4):
        s = rng.normal(size=d)
        y = _apply(exact, s)                             # G(q + s) - G(q) of the quadratic function
        h = update_hessian(h, s, y, formula)
        assert np.max(np.abs(_apply(h, s) - y)) < 1e-12
        assert np.max(np.abs(h - h.transpose(1, 0, 2, 3))) < 1e-13
        assert np.max(np.abs(h - np.conj(h.transpose(0, 1, 3, 2)))) < 1e-13
    # the update is not trivially exact: the directions not sampled keep an error
    assert np.max(np.abs(h - exact)) > 1e-2


def test_psb_and_sr1_limits_of_bofill():
    """Residual along the step: Bofill is SR1 (phi = 1); orthogonal to it: PSB (phi = 0)."""
    d = 3
    h = np.zeros((d, d, 1, 1))
    s = np.array([1.0, 0.0, 0.0])
    along = np.array([2.0, 0.0, 0.0])[:, None, None]
    sr1 = np.zeros((d, d, 1, 1))
    sr1[0, 0] = 2.0                                      # xi xi^T / xi.s = 4 / 2
    assert np.allclose(update_hessian(h, s, along, "bofill"), sr1)
    across = np.array([0.0, 1.0, 0.0])[:, None, None]
    assert np.allclose(update_hessian(h, s, across, "bofill"), update_hessian(h, s, across, "psb"))
    # an exact Hessian (zero residual) is left as it is
    assert np.array_equal(update_hessian(h, s, np.zeros((d, 1, 1)), "bofill"), h)


def test_tiny_step_is_skipped():
    q = np.array([1.0, -2.0])
    assert step_too_small(np.array([1e-9, 0.0]), q)
    assert not step_too_small(np.array([10 * MIN_RELATIVE_STEP * 4, 0.0]), q)


KW = dict(n_traj=24, dt=4.0, t_final=200.0, output_every=10, seed=3, save_trajectories=True)


@pytest.mark.parametrize("method", [es.SPEED(hessian="update"), es.SPEED(hessian="update", hessian_update="psb"),
                                    es.SPEED(hessian="update", adaptive_tol=1e-8)],
                         ids=lambda m: f"{m.policy}-{m.adaptive_tol}")
def test_constant_hessian_equals_every_step_speed(pyrazine, method):
    """On a quadratic model the first Hessian is exact and every update leaves it so."""
    wp = pyrazine.initial_wavepacket()
    every = es.run(pyrazine, wp, es.SPEED(), **KW)
    updated = es.run(pyrazine, wp, method, **KW)
    for name in ("trajectory_position", "trajectory_momentum", "population"):
        assert np.max(np.abs(every[name].values - updated[name].values)) < 1e-10, name
    assert updated.attrs["hessian_evaluations_speed"] == 1
    assert updated.attrs["hessian_updates"] > 0


def anharmonic():
    """Two states, two coordinates, every Hessian element varying with q (Morse, Gaussian coupling)."""
    def v(q):
        x, y = q[:, 0], q[:, 1]
        out = np.zeros((len(x), 2, 2))
        out[:, 0, 0] = 0.02 * (1 - np.exp(-0.8 * x)) ** 2 + 0.004 * y**2 + 0.002 * x * y**2
        out[:, 1, 1] = 0.02 * (1 - np.exp(0.8 * (x - 0.5))) ** 2 + 0.01 + 0.005 * y**2
        out[:, 0, 1] = out[:, 1, 0] = 0.003 * np.exp(-(x - 0.2) ** 2) * (1 + 0.3 * y)
        return out
    return es.models.from_function(v, 2, 2, [2000.0, 3000.0])


class CountingHessians:
    """Wraps a model and counts the Hessians it is asked for, independently of ehrenspeed's counter."""

    def __init__(self, model):
        self.model = model
        self.hessian_calls = 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def hessian(self, q):
        self.hessian_calls += len(q)
        return self.model.hessian(q)


@pytest.mark.parametrize("tol", [None, 3e-5])
def test_counts_are_what_was_done(tol):
    model = CountingHessians(anharmonic())
    wp = es.Wavepacket([-0.3, 0.1], [8.0, -3.0], [3.0, 4.0], state=1)
    res = es.run(model, wp, es.SPEED(hessian="update", adaptive_tol=tol), n_traj=16, dt=4.0, t_final=400.0,
                 output_every=20, seed=1, validate=False)
    a = res.attrs
    assert a["hessian_evaluations_speed"] == model.hessian_calls == a["hessian_evaluations"]
    # each dynamics expansion recomputes, updates, or skips a tiny step (the first
    # Hessian comes from recording the initial observables)
    assert a["hessian_updates"] + a["hessian_updates_skipped"] + a["hessian_evaluations_speed"] - 1 \
        == a["taylor_expansions"]
    if tol is None:
        assert a["hessian_evaluations_speed"] == 1
    else:  # the drift criterion triggered recomputations, but not at every step
        assert 1 < a["hessian_evaluations_speed"] < a["taylor_expansions"] / 2
        assert a["max_gradient_prediction_error"] > tol


def test_update_is_closer_to_every_step_speed_than_a_frozen_hessian():
    """On an anharmonic model the updates track the Hessian the reference policy keeps fixed."""
    model = anharmonic()
    wp = es.Wavepacket([-0.3, 0.1], [8.0, -3.0], [3.0, 4.0], state=1)
    kw = dict(n_traj=16, dt=4.0, t_final=800.0, output_every=20, seed=1)
    every = es.run(model, wp, es.SPEED(), **kw)

    def error(method):
        res = es.run(model, wp, method, **kw)
        return float(np.max(np.abs(res.position.values - every.position.values)))

    frozen = error(es.SPEED(reference_hessian=True))
    updated = error(es.SPEED(hessian="update"))
    assert updated < 0.2 * frozen, (updated, frozen)


@pytest.mark.parametrize("tol", [None, 2e-6])
def test_resume_is_bit_identical(tmp_path, tol):
    model = anharmonic()
    wp = es.Wavepacket([-0.3, 0.1], [8.0, -3.0], [3.0, 4.0], state=1)
    kwargs = dict(method=es.SPEED(hessian="update", adaptive_tol=tol), n_traj=12, dt=4.0, t_final=200.0,
                  output_every=3, seed=5, save_trajectories=True)
    reference = es.run(model, wp, **kwargs)
    resumed = interrupted_and_resumed(model, wp, tmp_path / "run.npz", 29, **kwargs)
    for name in reference.variables:
        assert np.array_equal(reference[name].values, resumed[name].values), name
    for key in ("hessian_evaluations_speed", "hessian_updates", "hessian_updates_skipped", "taylor_expansions"):
        assert reference.attrs[key] == resumed.attrs[key], key


@pytest.mark.parametrize("kwargs, words", [
    (dict(hessian="newton"), "hessian must be"),
    (dict(hessian_update="bfgs", hessian="update"), "hessian_update must be"),
    (dict(hessian_update="psb"), "only used with hessian='update'"),
    (dict(hessian="update", hessian_every=2), "combines with adaptive_tol only"),
    (dict(hessian="update", reference_hessian=True), "combines with adaptive_tol only"),
    (dict(hessian="update", centres=2), "centres"),
])
def test_bad_options(kwargs, words):
    with pytest.raises(InputError, match=words):
        es.SPEED(**kwargs)


CONFIG = """
[model]
name = "retinal"
[initial]
from_model = true
[method]
name = "speed"
hessian = "update"
{extra}
[run]
n_traj = 8
dt = 4.0
t_final = 40.0
output_every = 5
seed = 3
"""


@pytest.mark.parametrize("extra", ["", 'hessian_update = "psb"\nadaptive_tol = 1e-6'])
def test_config_keys_and_stored_config_rerun(tmp_path, extra):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(extra=extra))
    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    assert main(["run", str(config), "-o", str(out), "-q"]) == 0
    first = es.load(out)
    assert first.attrs["hessian_policy"].startswith("update_")
    assert main(["run", str(out), "-o", str(again), "-q"]) == 0
    second = es.load(again)
    for name in ("population", "position", "momentum"):
        assert np.array_equal(first[name].values, second[name].values), name


def test_config_key_errors(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(extra="hessian_every = 2"))
    assert main(["run", str(config), "-o", str(tmp_path / "x.nc"), "-q"]) == 2
    config.write_text(CONFIG.replace('hessian = "update"', 'hessian_update = "psb"').format(extra=""))
    assert main(["run", str(config), "-o", str(tmp_path / "x.nc"), "-q"]) == 2
