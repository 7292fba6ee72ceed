"""Small, reusable analyses of result datasets (docs/trajectories.md).

Everything here is a pure function of arrays or of the
:class:`xarray.Dataset` that :func:`ehrenspeed.run` and
:func:`ehrenspeed.grid.run_exact` return, so the same analysis applies to
exact, Ehrenfest and SPEED results:

* :func:`rate_constant` -- t* and k of a sigmoid population decay towards a
  plateau (the furan hole transfer);
* :func:`late_time_variance` -- how much an observable still fluctuates at
  late times (one Ehrenfest trajectory keeps oscillating, a swarm settles);
* :func:`max_abs_difference` -- the largest deviation of two curves on a
  common time axis, optionally up to a time;
* :func:`density_histogram` -- the nuclear density along one coordinate from
  a trajectory swarm (the counterpart of the grid's ``density_<a>``);
* :func:`population_standard_error` -- the statistical error of a swarm's
  mean population;
* :func:`trajectory_coefficients` -- the complex per-trajectory electronic
  coefficients of a run with ``save_trajectories=True``, in memory or read
  back from a file.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .errors import InputError

__all__ = ["rate_constant", "bootstrap_rate_constant", "late_time_variance", "max_abs_difference", "density_histogram",
           "population_standard_error", "trajectory_coefficients"]


def _curve(time, values) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if t.shape != y.shape:
        raise InputError(f"time and values need the same length, got {t.size} and {y.size}")
    if t.size < 3:
        raise InputError(f"need at least 3 output times, got {t.size}")
    if np.any(np.diff(t) <= 0):
        raise InputError("time must increase strictly")
    return t, y


def rate_constant(time, population, p_inf: float = 0.5, threshold: float = 0.75) -> tuple[float, float]:
    """Rate constant of a population decaying in a sigmoid towards a plateau.

    docs/trajectories.md: t* is the first time at which P(t*) = ``threshold``
    (linear interpolation between the output times that bracket the first
    downward crossing); P'(t*) is the centred-difference slope at the output
    times, interpolated linearly to t*; and

        k = -P'(t*) / (P(t*) - P_inf),

    the rate of the exponential P_inf + (P(t*) - P_inf) exp(-k (t - t*))
    that touches the curve at t*.

    Parameters
    ----------
    time : array_like, shape (T,)
        Output times, a.u., strictly increasing.
    population : array_like, shape (T,)
        P(t), e.g. the population of the donor state.
    p_inf : float
        Plateau P_inf; [default] 0.5 (a symmetric hole transfer).
    threshold : float
        Level that defines t*; [default] 0.75.

    Returns
    -------
    t_star : float
        a.u. of time; nan when the curve never falls to ``threshold``.
    k : float
        1 / a.u. of time; nan with t*.

    Examples
    --------
    >>> t = np.linspace(0.0, 10.0, 1001)
    >>> t_star, k = rate_constant(t, 0.5 + 0.5 * np.exp(-0.3 * t))
    >>> round(t_star, 3), round(k, 3)
    (2.31, 0.3)
    """
    t, p = _curve(time, population)
    if not threshold > p_inf:
        raise InputError(f"threshold ({threshold}) must lie above the plateau p_inf ({p_inf})")
    below = np.flatnonzero(p <= threshold)
    if below.size == 0 or below[0] == 0:
        # never crosses, or starts at or below the threshold: no decay to time
        return float("nan"), float("nan")
    i = int(below[0])
    # P(t[i-1]) > threshold >= P(t[i]): interpolate inside that interval
    frac = (p[i - 1] - threshold) / (p[i - 1] - p[i])
    t_star = float(t[i - 1] + frac * (t[i] - t[i - 1]))
    slope = np.gradient(p, t)  # centred differences inside, one-sided at the ends
    s_star = float(slope[i - 1] + frac * (slope[i] - slope[i - 1]))
    k = -s_star / (threshold - p_inf)
    return t_star, float(k)


def bootstrap_rate_constant(time, populations, n_resamples: int = 400, seed: int = 0,
                            p_inf: float = 0.5, threshold: float = 0.75) -> tuple[float, float]:
    """Statistical error of a swarm's rate constant: bootstrap over its trajectories.

    The swarm's k comes from the mean population (1/N) sum_j P_j(t)
    (:func:`rate_constant`); resampling the N trajectories with replacement
    ``n_resamples`` times and taking k of every resampled mean gives the
    spread of k over swarms of the same size (Efron's bootstrap). For SPEED
    the trajectories share the expansion point, so they are not strictly
    independent; the bootstrap then measures the spread of the sample, not
    of a rerun.

    Parameters
    ----------
    time : array_like, shape (T,)
        Output times, a.u.
    populations : array_like, shape (T, N)
        Every trajectory's population of the decaying state.
    n_resamples : int
        Number of bootstrap samples.
    seed : int
        Seed of the resampling.
    p_inf, threshold : float
        As in :func:`rate_constant`.

    Returns
    -------
    k_error : float
        Standard deviation of k over the resamples, 1 / a.u. of time; nan
        when fewer than half of them cross ``threshold``; 0 for N = 1.
    t_star_error : float
        The same for t*, a.u.
    """
    t = np.asarray(time, dtype=float)
    pops = np.asarray(populations, dtype=float)
    if pops.ndim != 2 or pops.shape[0] != t.size:
        raise InputError(f"populations must have shape (T, N) with T = {t.size}, got {pops.shape}")
    n = pops.shape[1]
    if n == 1:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    # how often each trajectory is drawn, per resample: means by one product
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_resamples)], axis=1)
    means = pops @ counts / n                      # (T, n_resamples)
    pairs = np.array([rate_constant(t, means[:, b], p_inf, threshold) for b in range(n_resamples)])
    ok = np.isfinite(pairs[:, 1])
    if ok.sum() < n_resamples / 2:
        return float("nan"), float("nan")
    return float(np.std(pairs[ok, 1], ddof=1)), float(np.std(pairs[ok, 0], ddof=1))


def late_time_variance(time, values, t_from: float | None = None, fraction: float = 0.5) -> float:
    """Variance of an observable over the late part of a run.

    A single Ehrenfest trajectory that keeps oscillating has a large
    late-time variance of, e.g., <V>(t); a swarm or the exact wavepacket
    whose mean settles has a small one.

    Parameters
    ----------
    time : array_like, shape (T,)
        a.u. of time.
    values : array_like, shape (T,)
        The observable.
    t_from : float, optional
        Start of the late window, a.u.; default the last ``fraction`` of the
        time span.
    fraction : float
        Late fraction of the run used when ``t_from`` is not given.

    Returns
    -------
    float
        Population variance (ddof = 0) of ``values`` for t >= t_from, in the
        observable's unit squared.
    """
    t, y = _curve(time, values)
    if t_from is None:
        if not 0 < fraction <= 1:
            raise InputError(f"fraction must lie in (0, 1], got {fraction}")
        t_from = t[-1] - fraction * (t[-1] - t[0])
    window = y[t >= t_from]
    if window.size < 2:
        raise InputError(f"fewer than 2 output times at or after t = {t_from}")
    return float(np.var(window))


def max_abs_difference(a, b, until: float | None = None, since: float | None = None) -> float:
    """max |a(t) - b(t)| over the common time axis (optionally a window of it).

    Parameters
    ----------
    a, b : xarray.DataArray
        Curves with a ``time`` dimension (any other dimensions are included
        in the maximum). They must share their time values (all methods of
        the package write the same axis for the same ``dt`` and
        ``output_every``).
    until, since : float, optional
        Restrict to ``since <= t <= until``, a.u.

    Returns
    -------
    float
    """
    if not np.allclose(a["time"].values, b["time"].values, rtol=1e-12, atol=1e-9):
        raise InputError("the two curves are not on the same time axis")
    diff = np.abs(np.asarray(a) - np.asarray(b))
    t = a["time"].values
    mask = np.ones(t.size, dtype=bool)
    if until is not None:
        mask &= t <= until
    if since is not None:
        mask &= t >= since
    axis = a.dims.index("time")
    return float(np.max(np.compress(mask, diff, axis=axis)))


def trajectory_coefficients(ds: xr.Dataset) -> np.ndarray:
    """Per-trajectory electronic coefficients c of a run with ``save_trajectories=True``.

    Returns
    -------
    ndarray, shape (T, N, S), complex
        Joined from ``trajectory_coefficients_real``/``_imag`` when stored
        split (as :func:`ehrenspeed.run` returns them and files hold them).
    """
    if "trajectory_coefficients" in ds:
        return np.asarray(ds["trajectory_coefficients"].values, dtype=complex)
    if "trajectory_coefficients_real" in ds and "trajectory_coefficients_imag" in ds:
        return ds["trajectory_coefficients_real"].values + 1j * ds["trajectory_coefficients_imag"].values
    raise InputError("the result holds no per-trajectory coefficients: run with save_trajectories=True")


def density_histogram(ds: xr.Dataset, dof: int, bins, range=None, state: int | None = None) -> xr.DataArray:
    """Nuclear density along one coordinate from a swarm, at every output time.

    Each trajectory contributes weight 1 / N (or 1 / N times its population
    of ``state``) to the bin of its position; dividing by the bin width
    makes the result a density comparable with the exact
    ``density_<dof>`` of :func:`ehrenspeed.grid.run_exact`.

    Parameters
    ----------
    ds : xarray.Dataset
        A trajectory result with ``trajectory_position`` (time, trajectory,
        dof), i.e. from ``run(..., save_trajectories=True)``.
    dof : int
        Coordinate index.
    bins : int or array_like
        Number of bins or the bin edges (as :func:`numpy.histogram`).
    range : (float, float), optional
        Lower and upper edge when ``bins`` is a number; default the range of
        all positions.
    state : int, optional
        Weight every trajectory by its population of this diabatic state
        (the state-resolved density).

    Returns
    -------
    xarray.DataArray, dims (time, bin)
        Density, 1 / coordinate unit, with coordinates ``time`` and ``bin``
        (bin centres); the edges are in ``attrs["edges"]``.
    """
    if "trajectory_position" not in ds:
        raise InputError("the result holds no per-trajectory positions: run with save_trajectories=True")
    x = np.asarray(ds["trajectory_position"].values)[:, :, int(dof)]   # (T, N)
    n_times, n_traj = x.shape
    if range is None and np.ndim(bins) == 0:
        range = (float(np.min(x)), float(np.max(x)))
        if range[1] <= range[0]:
            range = (range[0] - 0.5, range[1] + 0.5)
    edges = np.histogram_bin_edges(x[0], bins=bins, range=range)
    weights = np.full(x.shape, 1.0 / n_traj)
    if state is not None:
        c = trajectory_coefficients(ds)
        weights = np.abs(c[:, :, int(state)]) ** 2 / n_traj
    widths = np.diff(edges)
    out = np.empty((n_times, widths.size))
    for i in np.arange(n_times):
        out[i] = np.histogram(x[i], bins=edges, weights=weights[i])[0] / widths
    centres = 0.5 * (edges[1:] + edges[:-1])
    da = xr.DataArray(out, dims=("time", "bin"), coords={"time": ds["time"].values, "bin": centres},
                      name=f"density_{int(dof)}")
    da.attrs["edges"] = edges
    return da


def population_standard_error(ds: xr.Dataset, state: int) -> xr.DataArray:
    """Standard error of a swarm's mean diabatic population, at every output time.

    sigma_P(t) = std_j |c_jk(t)|^2 / sqrt(N) (ddof = 1), the statistical
    error of P_k(t) = (1/N) sum_j |c_jk|^2 from N independent samples.

    Parameters
    ----------
    ds : xarray.Dataset
        A trajectory result with saved trajectories.
    state : int
        Diabatic state k.

    Returns
    -------
    xarray.DataArray, dims (time,)
        Zero for a single trajectory (there is no spread to estimate from).
    """
    c = trajectory_coefficients(ds)
    pops = np.abs(c[:, :, int(state)]) ** 2
    n = pops.shape[1]
    err = pops.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(pops.shape[0])
    return xr.DataArray(err, dims=("time",), coords={"time": ds["time"].values})
