"""SPEED(order=3): the cubic Taylor expansion of the diabatic matrix at the mean.

* on a model at most cubic in q the cubic expansion is exact: order=3
  equals Ehrenfest to round-off (and order=2 does not);
* order=2 is today's SPEED bit for bit (and keeps its stored configuration);
* energy is conserved on a cubic surface, to the integrator's order;
* the analytic (Tully 1, furan) and automatic (JAX) third derivatives equal
  finite differences of Hessians, and those finite differences are counted;
* a trajectory running away down the unbounded cubic surface stops the run
  with a one-line message; checkpoint/resume is bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interrupted_and_resumed

import ehrenspeed as es
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.errors import InputError, SimulationError
from ehrenspeed.models.base import Model, as_positions, diagonal_mass
from ehrenspeed.potentials import third_derivative


def _symmetrise(t, n_coord_axes):
    """Symmetric in the first ``n_coord_axes`` axes and in the last two (states)."""
    import itertools

    perms = list(itertools.permutations(range(n_coord_axes)))
    rest = tuple(range(n_coord_axes, t.ndim))
    t = sum(np.transpose(t, p + rest) for p in perms) / len(perms)
    return 0.5 * (t + np.swapaxes(t, -1, -2))


class CubicModel(Model):
    """V(q) = V0 + G.q + q.H.q/2 + T.q.q.q/6 with random symmetric coefficients (exact derivatives)."""

    name = "random_cubic"
    max_degree = 3

    def __init__(self, n_states=2, n_dof=2, seed=3, cubic=2e-3, with_third=True):
        rng = np.random.default_rng(seed)
        s, d = n_states, n_dof
        self.n_states, self.n_dof = s, d
        self.mass = diagonal_mass([2000.0] * d, d)
        self.v0 = _symmetrise(rng.normal(scale=0.01, size=(s, s)), 0) + np.diag(np.arange(s) * 0.01)
        self.g = _symmetrise(rng.normal(scale=0.01, size=(d, s, s)), 1)
        self.h = _symmetrise(rng.normal(scale=0.005, size=(d, d, s, s)), 2) + 0.03 * np.eye(d)[:, :, None, None] \
            * np.eye(s)
        self.t = _symmetrise(rng.normal(scale=cubic, size=(d, d, d, s, s)), 3)
        if not with_third:
            self.third_derivative = None

    def potential(self, q):
        q = as_positions(q, self.n_dof)
        return (self.v0 + np.einsum("na,akl->nkl", q, self.g) + 0.5 * np.einsum("na,nb,abkl->nkl", q, q, self.h)
                + np.einsum("na,nb,nc,abckl->nkl", q, q, q, self.t) / 6.0)

    def gradient(self, q):
        q = as_positions(q, self.n_dof)
        return self.g + np.einsum("nb,abkl->nakl", q, self.h) + 0.5 * np.einsum("nb,nc,abckl->nakl", q, q, self.t)

    def hessian(self, q):
        q = as_positions(q, self.n_dof)
        return self.h + np.einsum("nc,abckl->nabkl", q, self.t)

    def third_derivative(self, q):
        q = as_positions(q, self.n_dof)
        return np.broadcast_to(self.t, (len(q),) + self.t.shape).copy()


def _final(res):
    last = res.isel(time=-1)
    c = last.trajectory_coefficients_real.values + 1j * last.trajectory_coefficients_imag.values
    return last.trajectory_position.values, last.trajectory_momentum.values, c


KW = dict(n_traj=32, dt=4.0, t_final=300.0, output_every=25, seed=4, save_trajectories=True)


def test_cubic_model_order3_equals_ehrenfest():
    model = CubicModel()
    wp = es.Wavepacket([0.3, -0.2], [3.0, -2.0], [4.0, 4.0], state=1)
    ehr = es.run(model, wp, "ehrenfest", **KW)
    cubic = es.run(model, wp, es.SPEED(order=3), **KW)
    quadratic = es.run(model, wp, es.SPEED(), **KW)
    for a, b, c in zip(_final(ehr), _final(cubic), _final(quadratic)):
        assert np.max(np.abs(a - b)) < 1e-10
    # the quadratic expansion is not exact here, so the agreement above is not trivial
    assert np.max(np.abs(_final(ehr)[0] - _final(quadratic)[0])) > 1e-6
    assert np.ptp(ehr.population.values[:, -1]) > 1e-3
    assert cubic.attrs["third_derivative_evaluations_speed"] == cubic.attrs["hessian_evaluations_speed"]


def test_order2_is_unchanged(pyrazine):
    model = CubicModel()
    wp = es.Wavepacket([0.3, -0.2], [3.0, -2.0], [4.0, 4.0], state=1)
    for backend in ("numpy", "auto"):
        a = es.run(model, wp, es.SPEED(), backend=backend, **KW)
        b = es.run(model, wp, es.SPEED(order=2), backend=backend, **KW)
        for name in a.variables:
            if name != "wall_time":
                assert np.array_equal(a[name].values, b[name].values), name
        assert a.attrs["config"] == b.attrs["config"]
        assert "third_derivative_evaluations_speed" not in b.attrs
    assert es.SPEED(order=2).describe() == es.SPEED().describe()


def test_energy_conservation_on_a_cubic_surface():
    """The energy error of Strang splitting on the (exact) cubic surface falls as dt^2."""
    model = CubicModel()
    wp = es.Wavepacket([0.3, -0.2], [3.0, -2.0], [4.0, 4.0], state=1)
    drift = {}
    for dt in (8.0, 4.0):
        res = es.run(model, wp, es.SPEED(order=3), n_traj=16, dt=dt, t_final=400.0, output_every=None, seed=4)
        drift[dt] = res.attrs["max_energy_drift"]
    assert drift[4.0] < 1e-5
    assert 3.0 < drift[8.0] / drift[4.0] < 5.5, drift


@pytest.mark.parametrize("make", [lambda: es.models.TullySimple(), lambda: es.models.FuranDimer(),
                                  lambda: CubicModel(n_states=3, n_dof=3)], ids=["tully1", "furan", "cubic"])
def test_third_derivative_equals_differences_of_hessians(make):
    model = make()
    rng = np.random.default_rng(1)
    if model.n_dof == 1:
        scale = 1.0 if model.name != "furan_dimer" else 3.0
        q = np.array([[-0.7], [0.4], [1.3]]) * scale + (model.r0 if hasattr(model, "r0") else 0.0)
    else:
        q = rng.normal(size=(3, model.n_dof))
    own = model.third_derivative(q)
    model_fd = CountlessView(model)
    fd = third_derivative(model_fd, q)
    assert own.shape == fd.shape == (3,) + (model.n_dof,) * 3 + (model.n_states,) * 2
    assert np.max(np.abs(own - fd)) < 1e-6 * max(1.0, np.max(np.abs(own)))


class CountlessView:
    """The model without its ``third_derivative``, so the finite differences are used."""

    def __init__(self, model):
        self.model = model

    def __getattr__(self, name):
        if name == "third_derivative":
            raise AttributeError(name)
        return getattr(self.model, name)


def test_jax_third_derivative():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    def v(q):
        x, y = q[0], q[1]
        d = 0.02 * (1 - jnp.exp(-x)) ** 2 + 0.01 * y**2 * x
        c = 0.003 * jnp.exp(-x**2) * (1 + y)
        return jnp.array([[d, c], [c, -d + 0.01 * y**3]])

    model = es.models.from_jax(v, 2, 2, 2000.0)
    q = np.array([[0.2, -0.4], [-0.5, 0.3]])
    own = model.third_derivative(q)
    # central differences with h = 1e-3: truncation h^2 |V^(5)| / 6, ~1e-6 of |T| here
    assert np.max(np.abs(own - third_derivative(CountlessView(model), q))) < 1e-5 * np.max(np.abs(own))


def test_finite_difference_third_derivatives_are_counted():
    model = CubicModel(with_third=False)
    assert model.third_derivative is None
    wp = es.Wavepacket([0.3, -0.2], [3.0, -2.0], [4.0, 4.0], state=1)
    res = es.run(model, wp, es.SPEED(order=3), **KW)
    a = res.attrs
    d = model.n_dof
    # each third derivative is 2 D Hessians on top of the expansion's own Hessian
    assert a["third_derivative_evaluations_speed"] == a["hessian_evaluations_speed"]
    assert a["hessian_evaluations"] == a["hessian_evaluations_speed"] * (1 + 2 * d)
    # and the differences are accurate: still Ehrenfest to finite-difference accuracy
    ehr = es.run(model, wp, "ehrenfest", **KW)
    assert np.max(np.abs(_final(ehr)[0] - _final(res)[0])) < 1e-6


def _runaway_model():
    """One coordinate, V = a x^3 on both diabats: a swarm spread across the inflection falls off it."""
    def v(q):
        x = q[:, 0]
        out = np.zeros((len(x), 2, 2))
        out[:, 0, 0] = 0.01 * x**3 - 0.05 * x
        out[:, 1, 1] = out[:, 0, 0] + 0.01
        out[:, 0, 1] = out[:, 1, 0] = 0.001
        return out

    return es.models.from_function(v, 2, 1, 2000.0)


def test_runaway_is_detected_with_a_clear_message():
    model = _runaway_model()
    wp = es.Wavepacket([0.0], [0.0], [1.0], state=0)
    with pytest.raises(SimulationError, match=r"order=3\): trajectory \d+ ran away on the unbounded cubic"):
        es.run(model, wp, es.SPEED(order=3), n_traj=64, dt=10.0, t_final=20000.0, output_every=None, seed=1)


def test_resume_is_bit_identical(tmp_path):
    model = es.models.TullySimple()
    wp = model.initial_wavepacket()
    kwargs = dict(method=es.SPEED(order=3, hessian_every=4), n_traj=12, dt=10.0, t_final=600.0, output_every=3,
                  seed=5, save_trajectories=True)
    reference = es.run(model, wp, **kwargs)
    resumed = interrupted_and_resumed(model, wp, tmp_path / "run.npz", 29, **kwargs)
    for name in reference.variables:
        assert np.array_equal(reference[name].values, resumed[name].values), name


@pytest.mark.parametrize("kwargs, words", [
    (dict(order=4), "order must be 2 or 3"),
    (dict(order=True), "order must be 2 or 3"),
    (dict(order=3, centres=2), "centres"),
    (dict(order=3, hessian="update"), "exact Hessians"),
])
def test_bad_options(kwargs, words):
    with pytest.raises(InputError, match=words):
        es.SPEED(**kwargs)


def test_energy_runaway_check():
    """Energies changed by more than RUNAWAY_ENERGY times the initial spread stop an order-3 run."""
    from ehrenspeed.potentials import RUNAWAY_ENERGY, TaylorSource

    energy0 = np.array([0.010, 0.012, 0.011])                   # spread 2e-3 hartree
    cubic = TaylorSource(CubicModel(), es.SPEED(order=3))
    cubic.check_energies(energy0 + 0.5 * RUNAWAY_ENERGY * 2e-3, energy0, 10.0)   # large, but not a runaway
    with pytest.raises(SimulationError, match=r"trajectory 1 ran away .* by t = 10 a\.u\."):
        cubic.check_energies(energy0 + np.array([0.0, 25.0, 0.0]), energy0, 10.0)
    # quadratic SPEED never stops on its (bounded) drift
    TaylorSource(CubicModel(), es.SPEED()).check_energies(energy0 + 1e3, energy0, 10.0)


def test_driver_asks_the_source_at_output_times():
    model = CubicModel()
    wp = es.Wavepacket([0.3, -0.2], [3.0, -2.0], [4.0, 4.0], state=1)
    sim = TrajectoryRun(model, wp, es.SPEED(order=3), n_traj=8, dt=4.0, t_final=40.0, output_every=5, seed=1)
    seen = []
    sim.source.check_energies = lambda energy, energy0, t: seen.append((energy.shape, energy0.shape, t))
    while not sim.done:
        sim.advance()
    assert [s[2] for s in seen] == [20.0, 40.0]
    assert all(a == b == (8,) for a, b, _ in seen)


CONFIG = """
[model]
name = "tully_simple"
[initial]
from_model = true
[method]
name = "speed"
order = {order}
[run]
n_traj = 8
dt = 10.0
t_final = 100.0
output_every = 5
seed = 3
"""


def test_config_key_order(tmp_path):
    from ehrenspeed.cli.main import main

    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(order=3))
    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    assert main(["run", str(config), "-o", str(out), "-q"]) == 0
    first = es.load(out)
    assert first.attrs["third_derivative_evaluations_speed"] > 0
    assert main(["run", str(out), "-o", str(again), "-q"]) == 0     # the stored configuration reruns it
    assert np.array_equal(first.population.values, es.load(again).population.values)
    config.write_text(CONFIG.format(order=4))
    assert main(["run", str(config), "-o", str(tmp_path / "x.nc"), "-q"]) == 2
