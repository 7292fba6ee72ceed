"""The reusable analyses of ehrenspeed.analysis (SPEC section 7)."""

import numpy as np
import pytest
import xarray as xr

import ehrenspeed as es
from ehrenspeed.analysis import (density_histogram, late_time_variance, max_abs_difference,
                                 population_standard_error, rate_constant)
from ehrenspeed.errors import InputError


def test_rate_constant_of_an_exponential_is_its_rate():
    # P = 1/2 + 1/2 exp(-k t): the touching exponential is the curve itself
    t = np.linspace(0.0, 50.0, 2001)
    t_star, k = rate_constant(t, 0.5 + 0.5 * np.exp(-0.13 * t))
    assert t_star == pytest.approx(np.log(2) / 0.13, rel=1e-4)
    assert k == pytest.approx(0.13, rel=1e-3)


def test_rate_constant_of_a_sigmoid_uses_the_first_crossing():
    # a Gaussian decay exp(-(t/tau)^2): P - 1/2 = 1/4 at t* = tau sqrt(ln 2), k = 2 t* / tau^2
    tau = 10.0
    t = np.linspace(0.0, 40.0, 4001)
    p = 0.5 + 0.5 * np.exp(-(t / tau) ** 2)
    p[t > 30] = 1.0                       # a later rise must not matter
    t_star, k = rate_constant(t, p)
    assert t_star == pytest.approx(tau * np.sqrt(np.log(2)), rel=1e-4)
    assert k == pytest.approx(2 * t_star / tau**2, rel=1e-3)


def test_rate_constant_nan_without_a_crossing_and_bad_input():
    t = np.linspace(0, 1, 11)
    assert all(np.isnan(rate_constant(t, np.ones(11))))
    with pytest.raises(InputError):
        rate_constant(t, np.ones(11), p_inf=0.8, threshold=0.75)
    with pytest.raises(InputError):
        rate_constant(t[::-1], np.ones(11))


def test_late_time_variance_separates_an_oscillation_from_a_settled_curve():
    t = np.linspace(0, 100, 1001)
    ringing = np.cos(t)
    settled = np.exp(-t / 5) * np.cos(t)
    assert late_time_variance(t, ringing) == pytest.approx(0.5, rel=0.02)
    assert late_time_variance(t, settled) < 1e-8
    assert late_time_variance(t, ringing, t_from=90.0) == pytest.approx(np.var(ringing[t >= 90]))


def test_max_abs_difference_window():
    t = np.arange(5.0)
    a = xr.DataArray([0, 0, 0, 0, 1.0], dims="time", coords={"time": t})
    b = xr.DataArray(np.zeros(5), dims="time", coords={"time": t})
    assert max_abs_difference(a, b) == 1.0
    assert max_abs_difference(a, b, until=3.0) == 0.0
    with pytest.raises(InputError):
        max_abs_difference(a, b.assign_coords(time=t + 1))


def test_density_histogram_is_normalised_and_matches_the_mean():
    model = es.models.TullySimple()
    ds = es.run(model, model.initial_wavepacket(), n_traj=200, dt=5.0, t_final=50.0, output_every=5,
                seed=3, save_trajectories=True)
    hist = density_histogram(ds, 0, 40, range=(-20.0, 0.0))
    widths = np.diff(hist.attrs["edges"])
    assert np.allclose((hist.values * widths).sum(axis=1), 1.0)
    mean = (hist.values * widths * hist["bin"].values).sum(axis=1)
    assert np.allclose(mean, ds["position"].values[:, 0], atol=0.5 * widths[0])
    by_state = density_histogram(ds, 0, 40, range=(-20.0, 0.0), state=0)
    assert np.allclose((by_state.values * widths).sum(axis=1), ds["population"].values[:, 0])
    err = population_standard_error(ds, 0)
    assert err.shape == (ds.sizes["time"],) and np.all(err.values >= 0)


def test_density_histogram_needs_saved_trajectories():
    model = es.models.TullySimple()
    ds = es.run(model, model.initial_wavepacket(), n_traj=4, dt=5.0, t_final=10.0, seed=1)
    with pytest.raises(InputError):
        density_histogram(ds, 0, 10)
