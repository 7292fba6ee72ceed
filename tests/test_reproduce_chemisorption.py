"""Chemisorption reproduction checks on reduced sizes (tuned defaults).

The criteria of docs/reproductions.md, on 32 trajectories and a shorter
run (seeded): the exact atom travels several sites; all methods agree at
first; one Ehrenfest trajectory keeps oscillating in <V> while the swarm
settles (late-time variance of <V>, one trajectory >= 3x the swarm's); the
swarm moves more slowly than one trajectory; in the ``reversing`` preset
the atom turns back. SPEED equals Ehrenfest to 1e-10 on both presets.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.analysis import late_time_variance
from ehrenspeed.reproduce.chemisorption import DT, GRID, agreement_time
from ehrenspeed.reproduce.common import centre_state


def _model(preset):
    return es.models.Chemisorption() if preset == "default" else es.models.Chemisorption.reversing()


def _runs(preset, t_final, n_traj=32):
    model = _model(preset)
    wp = model.initial_wavepacket()
    kw = dict(dt=DT, t_final=t_final, output_every=4)
    return {"exact": es.run_exact(model, wp, es.Grid(GRID[0], GRID[1], [512]), **kw),
            "single": es.run(model, centre_state(model, wp), "ehrenfest", **kw),
            "swarm": es.run(model, wp, "ehrenfest", n_traj=n_traj, seed=1, **kw)}


def _q(ds):
    return ds["position"].sel(dof=0).values


def _late_var(ds):
    return late_time_variance(ds["time"].values, ds["potential_energy"].values)


@pytest.fixture(scope="module")
def default_runs():
    return _runs("default", 10000.0)


@pytest.mark.parametrize("preset", ["default", "reversing"])
def test_speed_equals_ehrenfest_on_both_presets(preset):
    model = _model(preset)
    wp = model.initial_wavepacket()
    kw = dict(n_traj=6, dt=20.0, t_final=600.0, output_every=10, seed=5)
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, es.SPEED(reference_hessian=True), **kw)
    for name in ("population", "position", "momentum", "potential_energy"):
        assert np.max(np.abs(ehr[name].values - spd[name].values)) < 1e-10
    assert spd.attrs["potential_evaluations"] < ehr.attrs["potential_evaluations"]


def test_initial_state_is_bright_and_above_the_first_barrier():
    model = es.models.Chemisorption()
    wp = model.initial_wavepacket()
    c = np.asarray(wp.state)
    bright = abs(c[:model.states_per_layer].sum()) ** 2 / model.states_per_layer
    assert bright > 0.9
    x = np.linspace(0.0, 4.0, 401)
    ground = np.linalg.eigvalsh(model.potential(x[:, None]))[:, 0]
    kinetic = wp.p0[0] ** 2 / (2 * model.mass[0])
    assert ground[0] + kinetic > ground.max() + 5e-4  # crosses the first barrier, with margin


def test_exact_atom_travels_and_methods_agree_at_first(default_runs):
    t = default_runs["exact"]["time"].values
    q_exact = _q(default_runs["exact"])
    assert q_exact.max() > 15.0  # at least three sites
    for name in ("single", "swarm"):
        assert agreement_time(t, _q(default_runs[name]), q_exact) >= 4000.0
    e = default_runs["exact"]
    assert float(e["edge_density"].max()) < 1e-8
    assert np.ptp(e["total_energy"].values) < 1e-5


def test_single_trajectory_keeps_oscillating_while_swarm_settles(default_runs):
    """Late-time variance of <V>: one trajectory at least 3x the swarm's."""
    assert _late_var(default_runs["single"]) > 3 * _late_var(default_runs["swarm"])


def test_swarm_moves_more_slowly_than_one_trajectory(default_runs):
    t = default_runs["single"]["time"].values
    q1, qn = _q(default_runs["single"]), _q(default_runs["swarm"])
    assert qn[-1] < q1[-1] - 1.0
    assert t[np.argmax(q1 >= 20.0)] < t[np.argmax(qn >= 20.0)]
    assert qn.max() >= 20.0  # the swarm does get there, later


def test_reversing_preset_turns_back():
    res = _runs("reversing", 20000.0, n_traj=16)
    for name, ds in res.items():
        q = _q(ds)
        peak = int(np.argmax(q))
        # turns back inside the surface, before the last sites (x = 35, 40 bohr)
        assert 18.0 < q.max() < 30.0, name
        assert 0 < peak < q.size - 1 and q[-1] < q.max() - 5.0, name
