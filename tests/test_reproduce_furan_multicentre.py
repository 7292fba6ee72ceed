"""Multi-centre SPEED in the furan reproduction (issue 15, section 4): its cost and its table."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.reproduce import furan


def test_multicentre_costs_k_speed_expansions_on_furan():
    model = es.models.FuranDimer()
    wp = model.initial_wavepacket(temperature=300.0, offset_angstrom=furan.START_OFFSET)
    kw = {"n_traj": 8, "seed": 1, "dt": 40.0, "t_final": 2000.0, "output_every": 5}
    speed = es.run(model, wp, es.SPEED(), **kw)
    for k in furan.MULTICENTRE_K:
        multi = es.run(model, wp, es.SPEED(centres=k), **kw)
        assert multi.attrs["potential_evaluations"] == k * speed.attrs["potential_evaluations"]
        assert furan.evaluations_per_step(multi) == pytest.approx(k * furan.evaluations_per_step(speed), rel=1e-3)
        assert np.all(np.isfinite(multi.population.values))


def test_cost_table_measures_k_against_the_large_ehrenfest_swarm():
    row = {"k_per_ps": [4.0, 6.0], "potential_evaluations_per_step": [2.4, 2.4]}
    table = {"exact": {"k_per_ps": [5.0, 5.0], "potential_evaluations_per_step": [None, None]},
             "ehrenfest_large": {"k_per_ps": [5.0, 5.5], "potential_evaluations_per_step": [2049, 2049]},
             "ehrenfest_small": {"k_per_ps": [3.0, 7.0], "potential_evaluations_per_step": [65, 65]},
             "speed_k2": row}
    cost = furan.cost_accuracy(table)
    assert set(cost) == {"ehrenfest_large", "ehrenfest_small", "speed_k2"}
    assert cost["speed_k2"]["k_per_ps_error_vs_ehrenfest_large"] == pytest.approx([1.0, 0.5])
    # the small swarms are compared with Ehrenfest on their own initial conditions too
    assert cost["speed_k2"]["k_per_ps_error_vs_ehrenfest_same_trajectories"] == pytest.approx([1.0, 1.0])
    assert cost["ehrenfest_large"]["k_per_ps_error_vs_ehrenfest_large"] == [0.0, 0.0]
    assert cost["ehrenfest_small"]["k_per_ps_error_vs_ehrenfest_same_trajectories"] == [0.0, 0.0]
