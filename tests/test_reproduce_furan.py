"""Furan dimer reproduction checks (reduced sizes; the full scan is slow)."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.analysis import population_standard_error, rate_constant
from ehrenspeed.grid import Grid, run_exact
from ehrenspeed.reproduce.common import centre_state
from ehrenspeed.reproduce.furan import DT_QUICK, FLIGHTS, GRID_BEYOND_START, GRID_INNER, START_OFFSET, flight_time


def _setup(temperature):
    model = es.models.FuranDimer()
    wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=START_OFFSET)
    t_final = FLIGHTS * flight_time(model, float(wp.q0[0]), float(wp.p0[0]))
    return model, wp, dict(dt=DT_QUICK, t_final=t_final, output_every=25)


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


def test_bootstrap_error_of_the_rate_matches_the_spread_of_the_trajectories():
    """Trajectories P_j = 1/2 + 1/2 exp(-k_j t): the bootstrap error of k is std(k_j) / sqrt(N)."""
    from ehrenspeed.analysis import bootstrap_rate_constant, rate_constant

    rng = np.random.default_rng(3)
    n = 400
    rates = 1e-3 * (1.0 + 0.2 * rng.standard_normal(n))
    t = np.linspace(0.0, 5000.0, 501)
    pops = 0.5 + 0.5 * np.exp(-np.outer(t, rates))
    k_error, t_error = bootstrap_rate_constant(t, pops, n_resamples=300, seed=1)
    expected = np.std(rates, ddof=1) / np.sqrt(n)
    assert 0.7 * expected < k_error < 1.3 * expected
    assert t_error > 0
    # the k of the mean is the mean rate up to the mixture's second-order (variance) term, ~2% here
    assert rate_constant(t, pops.mean(axis=1))[1] == pytest.approx(rates.mean(), rel=0.05)
    assert bootstrap_rate_constant(t, pops[:, :1]) == (0.0, 0.0)


def test_single_trajectory_output_is_fine_through_the_collision_only():
    from ehrenspeed.reproduce.furan import COARSE_SPACING, COLLISION_WINDOW, single_output_times

    t_flight, dt = 66000.0, 10.0
    times = single_output_times(t_flight, 4 * t_flight, dt, 20.0)
    assert np.allclose(times[:-1] / dt, np.round(times[:-1] / dt))          # whole steps
    assert times[0] == 0.0 and times[-1] == 4 * t_flight
    inside = (times > COLLISION_WINDOW[0] * t_flight + dt) & (times < COLLISION_WINDOW[1] * t_flight - dt)
    assert np.max(np.diff(times)[inside[:-1]]) <= 20.0 + 1e-9     # below the ~100 a.u. half period
    assert np.max(np.diff(times)) <= COARSE_SPACING + 1e-9
