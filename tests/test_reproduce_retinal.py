"""Retinal reproduction checks (SPEC section 9), on reduced sizes, seeded."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.reproduce.retinal import (PHI_START_TRAJECTORIES, trans_fraction_exact,
                                          trans_fraction_trajectories)
from ehrenspeed.units import FS


@pytest.fixture(scope="module")
def swarms():
    """Ehrenfest and SPEED swarms to 200 fs, torsion wrapped into [-pi, pi)."""
    model = es.models.Retinal(phi_start=PHI_START_TRAJECTORIES)
    wp = model.initial_wavepacket()
    kw = dict(n_traj=128, dt=10.0, t_final=200 * FS, output_every=40, seed=1, integrator="yoshida4",
              save_trajectories=True)
    return {m: es.run(model, wp, m, **kw) for m in ("ehrenfest", "speed")}


def test_early_agreement_with_exact(swarms):
    """All methods agree for the first ~60 fs (excited population and mean torsion)."""
    model = es.models.Retinal()
    grid = es.Grid.for_model(model, lower=[None, -6.0], upper=[None, 6.0], points=[256, 24])
    t_end = 2400.0  # a.u., about 58 fs, on the swarms' output times
    exact = es.run_exact(model, model.initial_wavepacket(), grid, dt=10.0, t_final=t_end, output_every=40)
    for name, ds in swarms.items():
        early = ds.sel(time=exact.time.values, method="nearest")
        assert np.allclose(early.time.values, exact.time.values)
        assert np.max(np.abs(early.population.values[:, 1] - exact.population.values[:, 1])) < 0.03, name
        # <phi> agrees within the swarm's statistical error (3 standard errors of the mean)
        phi = early.trajectory_position.values[:, :, 0]
        stderr = phi.std(axis=1) / np.sqrt(phi.shape[1])
        assert np.all(np.abs(early.position.values[:, 0] - exact.position.values[:, 0]) < 3 * stderr + 1e-3), name
        assert np.max(trans_fraction_exact(exact)) < 0.02


def test_speed_stays_cis_while_ehrenfest_isomerises(swarms):
    ehr, spd = swarms["ehrenfest"], swarms["speed"]
    # SPEED expands around the mean of the wrapped angles, which symmetry keeps at cis
    assert np.max(np.abs(spd.position.values[:, 0])) < 0.3
    # Ehrenfest forms the trans isomer by ~200 fs; SPEED forms clearly less
    trans_ehr = trans_fraction_trajectories(ehr)[-1]
    trans_spd = trans_fraction_trajectories(spd)[-1]
    assert trans_ehr > 0.5
    assert trans_spd < trans_ehr - 0.1
