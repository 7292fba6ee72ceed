"""Chemisorption reproduction checks on reduced sizes."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.analysis import late_time_variance
from ehrenspeed.reproduce.common import centre_state


@pytest.mark.parametrize("preset", ["default", "reversing"])
def test_speed_equals_ehrenfest_on_both_presets(preset):
    model = es.models.Chemisorption() if preset == "default" else es.models.Chemisorption.reversing()
    wp = model.initial_wavepacket()
    kw = dict(n_traj=6, dt=20.0, t_final=600.0, output_every=10, seed=5)
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, es.SPEED(reference_hessian=True), **kw)
    for name in ("population", "position", "momentum", "potential_energy"):
        assert np.max(np.abs(ehr[name].values - spd[name].values)) < 1e-10
    assert spd.attrs["potential_evaluations"] < ehr.attrs["potential_evaluations"]


@pytest.mark.slow
def test_single_trajectory_keeps_oscillating_while_swarm_settles():
    """Late-time variance of <V>: one trajectory at least 3x the swarm's.

    Documented criterion of the chemisorption reproduction; the present
    defaults do not yet meet it (see docs/reproductions.md).
    """
    model = es.models.Chemisorption()
    wp = model.initial_wavepacket()
    kw = dict(dt=20.0, t_final=20000.0, output_every=10)
    one = es.run(model, centre_state(model, wp), "ehrenfest", **kw)
    swarm = es.run(model, wp, "ehrenfest", n_traj=64, seed=1, **kw)
    v1 = late_time_variance(one["time"].values, one["potential_energy"].values)
    vn = late_time_variance(swarm["time"].values, swarm["potential_energy"].values)
    assert v1 > 3 * vn
