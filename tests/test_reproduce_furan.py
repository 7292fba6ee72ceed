"""Furan dimer reproduction checks (reduced sizes; the full scan is slow)."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.analysis import population_standard_error, rate_constant
from ehrenspeed.grid import Grid, run_exact
from ehrenspeed.reproduce.common import centre_state
from ehrenspeed.reproduce.furan import DT, FLIGHTS, GRID_BEYOND_START, GRID_INNER, START_OFFSET, flight_time


def _setup(temperature):
    model = es.models.FuranDimer()
    wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=START_OFFSET)
    t_final = FLIGHTS * flight_time(model, float(wp.q0[0]), float(wp.p0[0]))
    return model, wp, dict(dt=DT, t_final=t_final, output_every=25)


def test_flight_time_matches_a_classical_trajectory():
    model, wp, common = _setup(300.0)
    one = es.run(model, centre_state(model, wp), "ehrenfest", **common)
    r = one["position"].values[:, 0]
    t = one["time"].values
    # the centre turns after one flight time and is back near its start after two
    i_turn = int(np.argmin(r))
    assert abs(t[i_turn] / common["t_final"] - 1 / FLIGHTS) < 0.03
    i_back = int(np.argmin(np.abs(t - 2 * common["t_final"] / FLIGHTS)))
    assert abs(r[i_back] - r[0]) < 0.5


def test_exact_final_population_half_and_rate_rises_with_temperature():
    ks = []
    for temperature in (100.0, 300.0, 500.0):
        model, wp, common = _setup(temperature)
        ex = run_exact(model, wp, Grid([GRID_INNER], [float(wp.q0[0]) + GRID_BEYOND_START], [3072]), **common)
        p1 = ex["population"].sel(state=0).values
        assert abs(p1[-1] - 0.5) < 0.01
        ks.append(rate_constant(ex["time"].values, p1)[1])
    assert np.all(np.diff(ks) > 0)


def test_single_trajectory_fails_and_swarm_within_error():
    model, wp, common = _setup(300.0)
    one = es.run(model, centre_state(model, wp), "ehrenfest", **common)
    assert abs(one["population"].values[-1, 0] - 0.5) > 0.1
    swarm = es.run(model, wp, "ehrenfest", n_traj=256, seed=2, save_trajectories=True, **common)
    err = float(population_standard_error(swarm, 0).values[-1])
    assert abs(swarm["population"].values[-1, 0] - 0.5) < 3 * err
