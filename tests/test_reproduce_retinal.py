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


def test_trans_fraction_integral_converges_with_the_grid():
    """The trans half [pi/2, 3pi/2] of a smooth periodic density, on grids with and without points at +-pi/2.

    The old sum over cos(phi) < 0 dropped the boundary points and was low by
    about density(pi/2) dphi; the interpolant's integral converges as dphi^2.
    """
    from scipy.integrate import quad
    from scipy.special import i0

    from ehrenspeed.reproduce.retinal import periodic_interval_integral

    kappa, centre = 1.5, 0.7     # a von Mises density, appreciable at phi = +-pi/2

    def density(phi):
        return np.exp(kappa * np.cos(phi - centre)) / (2 * np.pi * i0(kappa))

    reference = quad(density, 0.5 * np.pi, 1.5 * np.pi, epsabs=1e-13)[0]
    errors = {}
    for n in (64, 128, 256, 257):
        phi = -0.5 * np.pi + 2 * np.pi * np.arange(n) / n
        rho = density(phi)
        errors[n] = abs(periodic_interval_integral(phi, rho[None, :], 0.5 * np.pi, 1.5 * np.pi)[0] - reference)
        old = rho[np.cos(phi) < 0].sum() * (phi[1] - phi[0])
        if n % 2 == 0:
            # the boundary points' weight is what the old sum dropped
            assert abs(old - reference) > 0.5 * density(0.5 * np.pi) * (phi[1] - phi[0])
    assert errors[256] < 1e-4 and errors[257] < 1e-4
    assert errors[128] / errors[256] > 3.5          # second order
    # the whole period integrates to the norm
    phi = -0.5 * np.pi + 2 * np.pi * np.arange(100) / 100
    assert periodic_interval_integral(phi, density(phi), -0.5 * np.pi, 1.5 * np.pi) == pytest.approx(1.0, abs=1e-12)


def test_trans_fraction_exact_weights_the_boundary_points():
    """On the exact result layout: a density of 1/(2 pi) gives exactly 1/2 on every grid."""
    import xarray as xr

    for n in (16, 17, 384):
        phi = -0.5 * np.pi + 2 * np.pi * np.arange(n) / n
        ds = xr.Dataset({"density_0": (("time", "grid_0"), np.full((2, n), 1 / (2 * np.pi)))},
                        coords={"grid_0": phi})
        assert np.allclose(trans_fraction_exact(ds), 0.5, atol=1e-13)


# -- multi-centre SPEED in the reproduction (issue 15, section 4) ---------------------------------

@pytest.fixture(scope="module")
def cost_table(tmp_path_factory):
    """The reproduction's cost-accuracy table on 16 trajectories to 20 fs (quick's methods)."""
    from ehrenspeed.reproduce import retinal as rr
    from ehrenspeed.reproduce.common import Output

    cfg = {"n_traj": 16, "output_fs": 5.0, "multicentre_fs": 20.0}
    out = Output(tmp_path_factory.mktemp("retinal"), quick=True, seed=1)
    methods = rr.multicentre_methods(quick=True)
    runs, failures = rr.run_swarms(rr.PHI_START_TRAJECTORIES,
                                   {"ehrenfest": "ehrenfest", "speed": es.SPEED(), **methods}, cfg, out)
    other, failures_model = rr.run_swarms(rr.PHI_START_MODEL, {"speed": es.SPEED(), **methods}, cfg, out)
    model = es.models.Retinal()
    grid = es.Grid.for_model(model, lower=[None, -6.0], upper=[None, 6.0], points=[128, 24])
    exact = es.run_exact(model, model.initial_wavepacket(), grid, dt=rr.DT, t_final=20 * FS,
                         output_every=round(5.0 * FS / rr.DT))
    reference = runs.pop("ehrenfest")
    return reference, runs, rr.cost_accuracy(reference, exact, runs, other, {**failures, **failures_model})


def test_cost_table_lists_every_method_on_both_intervals(cost_table):
    _, _, table = cost_table
    rows = table["methods"]
    assert set(rows) == {"exact", "ehrenfest", "speed", "speed_k2", "speed_k4"}
    assert rows["ehrenfest"]["trans_fraction_error"] == 0 and rows["ehrenfest"]["max_excited_population_error"] == 0
    for name in ("speed", "speed_k2", "speed_k4"):
        assert {"trans_fraction_error", "max_excited_population_error", "max_abs_p_phi",
                "runaway"} <= set(rows[name])
        assert "max_abs_p_phi" in rows[name]["model_interval"]
    assert table["trans_at_fs"] == pytest.approx(20.0) and table["population_to_fs"] == pytest.approx(20.0)
    assert isinstance(table["issue15_target"]["holds"], bool)


def test_each_centre_costs_one_speed_expansion(cost_table):
    """K centres: K potential (and gradient) evaluations where SPEED makes one (docs/trajectories.md)."""
    _, runs, table = cost_table
    speed = runs["speed"].attrs
    for k in (2, 4):
        a = runs[f"speed_k{k}"].attrs
        assert a["potential_evaluations"] == k * speed["potential_evaluations"]
        assert a["gradient_evaluations"] == k * speed["gradient_evaluations"]
        assert table["methods"][f"speed_k{k}"]["potential_evaluations_per_step"] == pytest.approx(
            k * table["methods"]["speed"]["potential_evaluations_per_step"], rel=1e-3)


def test_multicentre_does_not_depend_on_the_torsion_interval(cost_table, tmp_path):
    """Groups are formed and expanded with minimum-image torsion differences: the wrap interval is irrelevant.

    Besides the table's two intervals (whose seams the swarm reaches only
    after ~80 fs), a seam through the initial swarm (phi_start = -0.01 rad):
    half the trajectories start near 2 pi, so SPEED's plain mean moves to
    ~pi while the multi-centre runs must not change.
    """
    from ehrenspeed.reproduce import retinal as rr
    from ehrenspeed.reproduce.common import Output

    _, runs, table = cost_table
    for k in (2, 4):
        row = table["methods"][f"speed_k{k}"]
        assert row["max_abs_p_phi"] == pytest.approx(row["model_interval"]["max_abs_p_phi"], rel=1e-9)
    cfg = {"n_traj": 16, "output_fs": 5.0, "multicentre_fs": 20.0}
    seam, _ = rr.run_swarms(-0.01, {"speed": es.SPEED(), **rr.multicentre_methods(quick=True)}, cfg,
                            Output(tmp_path, quick=True, seed=1))
    for k in (2, 4):
        a, b = runs[f"speed_k{k}"], seam[f"speed_k{k}"]
        assert np.allclose(a.population.values, b.population.values, atol=1e-9)
        assert np.allclose(np.exp(1j * a.trajectory_position.values[..., 0]),
                           np.exp(1j * b.trajectory_position.values[..., 0]), atol=1e-8)
        assert np.allclose(a.trajectory_momentum.values, b.trajectory_momentum.values, atol=1e-8)
    # the check has teeth: SPEED's single expansion point does move with the seam
    assert not np.allclose(runs["speed"].trajectory_momentum.values, seam["speed"].trajectory_momentum.values,
                           atol=1e-3)


@pytest.mark.slow
def test_quick_reproduction_summary_has_the_cost_table(tmp_path):
    from ehrenspeed.reproduce import retinal as rr
    from ehrenspeed.reproduce.common import Output

    summary = rr.run(Output(tmp_path, quick=True, seed=1))
    rows = summary["cost_accuracy"]["methods"]
    assert {"speed_k2", "speed_k4"} <= set(rows)
    # on 128 trajectories to 150 fs every multi-centre run forms more trans than SPEED
    for k in (2, 4):
        assert rows[f"speed_k{k}"]["trans_fraction_error"] <= rows["speed"]["trans_fraction_error"] + 1e-12
    assert (tmp_path / "retinal_populations.png").exists()
