"""Chemisorption reproduction checks: the paper's statements (issue 14) on a reduced run.

The parameter sets ``paper`` and ``friction_fails``
(:data:`ehrenspeed.models.chemisorption.PARAMETER_SETS`, from
benchmarks/chemisorption_scan.py) on the reduced size of the scan (32
trajectories, 10000 a.u.): the statements of
:func:`ehrenspeed.reproduce.chemisorption.verdict` (swarm <V> within 10 % of
exact's range and <q> within 10 % of the exact travel; one trajectory
leaves exact first and keeps oscillating, late variance >= 3x exact's and
the swarm's; exact slowest, one trajectory fastest) and
:func:`~ehrenspeed.reproduce.chemisorption.friction_fails`. The same checks
fail for the tuned defaults before issue 14 (set ``arriving``), which
docs/reproductions.md records. SPEED equals Ehrenfest to 1e-10.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.models.chemisorption import PARAMETER_SETS, parameter_set
from ehrenspeed.reproduce.chemisorption import DT, friction_fails, statements, verdict
from ehrenspeed.reproduce.common import centre_state

REDUCED = {"n_traj": 32, "t_final": 10000.0}


def _reduced_statements(name, n_traj=REDUCED["n_traj"], t_final=REDUCED["t_final"]):
    model, wp = parameter_set(name)
    kw = {"dt": DT, "t_final": t_final, "output_every": 4}
    lo, hi = -15.0, float(model.centres.max()) + 20.0
    grid = es.Grid([lo], [hi], [int(2 ** np.ceil(np.log2((hi - lo) / 0.15)))])
    res = {"exact": es.run_exact(model, wp, grid, **kw),
           "single": es.run(model, centre_state(model, wp), "ehrenfest", **kw),
           "ehrenfest": es.run(model, wp, "ehrenfest", n_traj=n_traj, seed=1, save_trajectories=True, **kw),
           "friction": es.run(model, centre_state(model, wp), "friction", **kw)}
    return statements(res, float(wp.q0[0]))


@pytest.mark.parametrize("name", ["arriving", "paper"])
def test_speed_equals_ehrenfest(name):
    model, wp = parameter_set(name)
    kw = {"n_traj": 6, "dt": 20.0, "t_final": 600.0, "output_every": 10, "seed": 5}
    ehr = es.run(model, wp, "ehrenfest", **kw)
    spd = es.run(model, wp, es.SPEED(reference_hessian=True), **kw)
    for var in ("population", "position", "momentum", "potential_energy"):
        assert np.max(np.abs(ehr[var].values - spd[var].values)) < 1e-10
    assert spd.attrs["potential_evaluations"] < ehr.attrs["potential_evaluations"]


def test_parameter_sets_start_as_documented():
    for name, entry in PARAMETER_SETS.items():
        model, wp = parameter_set(name)
        assert wp.p0[0] == entry["initial"]["p0"], name
        assert np.allclose(wp.width, model.mass[0] * model.omega), name  # one diabatic oscillator's width
    for name in ("paper", "friction_fails"):
        assert parameter_set(name)[1].p0[0] == 0.0  # at rest, as in the paper


def test_unknown_parameter_set_is_an_input_error():
    with pytest.raises(es.InputError, match="parameter set"):
        parameter_set("nope")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="no scanned set (J = 3 grid, J = 5 one-axis scan) shows 'one trajectory "
                   "leaves exact first and keeps oscillating' (late variance ratio 1.0 / 1.2, need 3): "
                   "docs/reproductions.md")
def test_paper_statements_hold_on_the_reduced_run():
    s = _reduced_statements("paper")
    holds = verdict(s)
    assert all(holds.values()), (holds, s)


@pytest.mark.slow
def test_friction_fails_set_friction_reverses_and_accurate_dynamics_does_not():
    s = _reduced_statements("friction_fails", t_final=20000.0)
    assert friction_fails(s), s["rev"]


@pytest.mark.slow
def test_old_defaults_fail_the_paper_statements():
    """The tuned defaults before issue 14 do not show the paper's statements (the issue's finding)."""
    s = _reduced_statements("arriving")
    assert not all(verdict(s).values())
