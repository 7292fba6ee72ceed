"""Retinal reproduction checks (reduced sizes)."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.reproduce.retinal import trans_fraction_trajectories
from ehrenspeed.units import FS


@pytest.mark.slow
def test_speed_stays_cis_while_ehrenfest_isomerises():
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    kw = dict(n_traj=64, dt=4.0, t_final=250 * FS, output_every=50, seed=1, integrator="yoshida4",
              save_trajectories=True)
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, "speed", **kw)
    # early times: both start alike
    early = ehr["time"].values <= 20 * FS
    assert np.max(np.abs(ehr["population"].values[early, 1] - spd["population"].values[early, 1])) < 0.05
    # SPEED's mean torsion stays near cis (symmetry), Ehrenfest forms trans
    assert np.max(np.abs(spd["position"].values[:, 0])) < 0.3
    assert trans_fraction_trajectories(ehr)[-1] > 0.3
