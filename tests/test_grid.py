"""Exact split-operator dynamics on a grid (ehrenspeed.grid).

Physics checks (SPEC sections 6 and 8): analytic limits (coherent state,
free Gaussian, free rotor revival), agreement with direct exponentiation of
the grid Hamiltonian, measured order in dt, conservation of norm and energy,
and the comparison with 1024-trajectory Ehrenfest on pyrazine.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest
import scipy.fft
import scipy.linalg

import ehrenspeed as es
from ehrenspeed.errors import InputError, ModelError
from ehrenspeed.grid import Grid, GridEdgeWarning, SplitOperator, initial_wavefunction, run_exact
from ehrenspeed.grid import kernels
from ehrenspeed.grid.operators import (diagonalise_potential, kinetic_energy, pack_symmetric,
                                       potential_propagator)
from ehrenspeed.models.base import Model
from ehrenspeed.models.vibronic import VibronicCoupling
from ehrenspeed.schedule import output_times


# -- small models -------------------------------------------------------------
class Free(Model):
    """V = 0 on one state."""

    name = "free"

    def __init__(self, mass=1.0, n_dof=1, periods=None):
        self.n_states, self.n_dof = 1, n_dof
        self.mass = np.full(n_dof, float(mass))
        self.periods = None if periods is None else np.asarray(periods, dtype=float)

    def potential(self, q):
        return np.zeros((len(q), 1, 1))


class TwoState(Model):
    """Two shifted anharmonic diabats with a Gaussian coupling, in any D.

    V11 = sum_a k_a x_a^2 / 2,  V22 = sum_a k_a (x_a - d)^2 / 2 + e + b x_0^4,
    V12 = c exp(-|x|^2 / 2) (complex when ``phase`` != 0). Not polynomial, so
    the split-operator error is generic.
    """

    name = "twostate"

    def __init__(self, n_dof=1, mass=50.0, k=0.02, d=1.0, e=0.005, b=1e-4, c=0.01, phase=0.0):
        self.n_states, self.n_dof = 2, n_dof
        self.mass = np.asarray(mass, dtype=float) * np.ones(n_dof)
        self.k = np.asarray(k, dtype=float) * np.ones(n_dof)
        self.d, self.e, self.b, self.c, self.phase = d, e, b, c, phase
        self.complex_valued = phase != 0.0

    def potential(self, q):
        q = np.asarray(q, dtype=float)
        v = np.zeros((len(q), 2, 2), dtype=complex if self.phase else float)
        v[:, 0, 0] = 0.5 * (self.k * q**2).sum(axis=1)
        v[:, 1, 1] = 0.5 * (self.k * (q - self.d) ** 2).sum(axis=1) + self.e + self.b * q[:, 0] ** 4
        coupling = self.c * np.exp(-0.5 * (q**2).sum(axis=1))
        v[:, 0, 1] = coupling * np.exp(1j * self.phase) if self.phase else coupling
        v[:, 1, 0] = np.conj(v[:, 0, 1])
        return v


def harmonic(omega):
    """One state, one dimensionless mode: V = omega q^2 / 2, mass 1/omega."""
    return VibronicCoupling([omega], [0.0], [[0.0]], np.zeros((1, 1, 1)))


def grid_hamiltonian(model, grid):
    """The full grid Hamiltonian (S npts x S npts), psi ordered as psi.ravel() of (S, n...)."""
    npts, s = grid.size, model.n_states
    tk = kinetic_energy(grid, model.mass)
    axes = tuple(range(1, grid.n_dof + 1))
    eye = np.eye(npts).reshape((npts,) + grid.shape)
    t_mat = scipy.fft.ifftn(tk.reshape(grid.shape) * scipy.fft.fftn(eye, axes=axes), axes=axes)
    t_mat = t_mat.reshape(npts, npts).T
    v = model.potential(grid.positions())                  # (npts, S, S)
    h = np.zeros((s * npts, s * npts), dtype=complex)
    for k in range(s):
        h[k * npts:(k + 1) * npts, k * npts:(k + 1) * npts] += t_mat
        for m in range(s):
            h[k * npts:(k + 1) * npts, m * npts:(m + 1) * npts] += np.diag(v[:, k, m])
    return h


def propagate(model, grid, wp, dt, n_steps, integrator="strang", use_numba=None):
    pot = diagonalise_potential(model, grid)
    stepper = SplitOperator(grid, model.mass, pot, dt, integrator, 1, use_numba)
    psi, _ = initial_wavefunction(wp, grid, model.n_states)
    return stepper.advance(psi, [dt] * n_steps)


def fitted_order(dts, errors):
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


# -- the grid -----------------------------------------------------------------
def test_grid_geometry():
    g = Grid([-1, 0], [1, 3], [4, 6])
    assert g.shape == (4, 6) and g.size == 24 and g.n_dof == 2
    np.testing.assert_allclose(g.spacing, [0.5, 0.5])
    np.testing.assert_allclose(g.axes[0], [-1, -0.5, 0, 0.5])
    assert g.volume_element == pytest.approx(0.25)
    np.testing.assert_allclose(g.momentum_axes[1], 2 * np.pi * np.fft.fftfreq(6, 0.5))
    pts = g.positions()
    assert pts.shape == (24, 2)
    np.testing.assert_allclose(pts[7], [-0.5, 0.5])       # C order: index 7 = (1, 1)
    np.testing.assert_allclose(g.positions(5, 9), pts[5:9])
    assert not g.periodic.any()


@pytest.mark.parametrize("args", [([0], [0], [8]), ([0, 0], [1], [8, 8, 8]), ([0], [1], [1]),
                                  ([0], [1], [2.5]), ([0], [np.inf], [4])])
def test_grid_rejects_bad_input(args):
    with pytest.raises(InputError):
        Grid(*args)


def test_grid_for_model_uses_periods():
    rotor = Free(n_dof=2, periods=[[0, 2 * np.pi], [np.nan, np.nan]])
    g = Grid.for_model(rotor, lower=[None, -5], upper=[None, 5], points=[16, 8])
    np.testing.assert_allclose(g.lower, [0, -5])
    np.testing.assert_allclose(g.upper, [2 * np.pi, 5])
    assert g.periodic.tolist() == [True, False]
    # another interval of one period is fine; a wrong length is not
    Grid.for_model(rotor, lower=[-np.pi, -5], upper=[np.pi, 5], points=8)
    with pytest.raises(InputError, match="period"):
        Grid.for_model(rotor, lower=[0, -5], upper=[np.pi, 5], points=8)
    with pytest.raises(InputError, match="not periodic"):
        Grid.for_model(rotor, lower=[None, None], upper=[None, 5], points=8)


def test_run_rejects_grid_that_misses_the_period():
    rotor = Free(periods=[[0, 2 * np.pi]])
    wp = es.Wavepacket([1.0], [0.0], [4.0], 0)
    with pytest.raises(InputError, match="periodic"):
        run_exact(rotor, wp, Grid([0], [3], [16]), dt=1.0, t_final=2.0)


# -- analytic limits ------------------------------------------------------------
def test_coherent_state_follows_classical_path():
    omega = 0.01
    model = harmonic(omega)
    q0, p0 = 3.0, 1.0
    wp = es.Wavepacket([q0], [p0], [1.0], 0)                # A = m omega = 1: coherent state
    grid = Grid([-12], [12], [64])
    period = 2 * np.pi / omega
    ds = run_exact(model, wp, grid, dt=2.0, t_final=period, output_every=20, integrator="yoshida4")
    wt = omega * ds.time.values
    np.testing.assert_allclose(ds.position.values[:, 0], q0 * np.cos(wt) + p0 * np.sin(wt), atol=1e-6)
    np.testing.assert_allclose(ds.momentum.values[:, 0], p0 * np.cos(wt) - q0 * np.sin(wt), atol=1e-6)
    # the width of a coherent state does not change: variance 1/2
    x = ds.grid_0.values
    dx = x[1] - x[0]
    rho = ds.density_0.values
    var = (rho * x**2).sum(axis=1) * dx - ((rho * x).sum(axis=1) * dx) ** 2
    np.testing.assert_allclose(var, 0.5, atol=1e-7)
    energy = omega * (q0**2 + p0**2) / 2 + omega / 2
    np.testing.assert_allclose(ds.total_energy.values, energy, rtol=1e-7)


def test_free_gaussian_spreads_as_analytic_formula():
    mass, a, x0, p0 = 10.0, 1.0, -3.0, 2.0
    model = Free(mass=mass)
    wp = es.Wavepacket([x0], [p0], [a], 0)
    grid = Grid([-20], [20], [256])
    ds = run_exact(model, wp, grid, dt=0.5, t_final=20.0, output_every=8)
    t = ds.time.values[:, None]
    var = (1 + (a * t / mass) ** 2) / (2 * a)
    centre = x0 + p0 * t / mass
    x = ds.grid_0.values[None, :]
    analytic = np.exp(-((x - centre) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)
    np.testing.assert_allclose(ds.density_0.values, analytic, atol=1e-10)
    np.testing.assert_allclose(ds.position.values[:, 0], centre[:, 0], atol=1e-10)
    np.testing.assert_allclose(ds.momentum.values[:, 0], p0, atol=1e-10)
    np.testing.assert_allclose(ds.kinetic_energy.values, (p0**2 + a / 2) / (2 * mass), rtol=1e-10)


def test_free_rotor_revives_on_a_periodic_grid():
    # levels k^2 / (2 m) with integer k on a ring of period 2 pi: full revival at 4 pi m
    mass = 2.0
    rotor = Free(mass=mass, periods=[[0, 2 * np.pi]])
    wp = es.Wavepacket([0.2], [3.0], [8.0], 0)              # centre near the end of the period
    grid = Grid.for_model(rotor, points=64)
    t_rev = 4 * np.pi * mass
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridEdgeWarning)   # periodic axis: no position-edge warning
        ds = run_exact(rotor, wp, grid, dt=t_rev / 50, t_final=t_rev, output_every=25)
    assert ds.attrs["initial_grid_norm"] == pytest.approx(1.0, abs=1e-12)   # whole (nearest image)
    np.testing.assert_allclose(ds.density_0.values[-1], ds.density_0.values[0], atol=1e-10)
    assert np.abs(ds.density_0.values[1] - ds.density_0.values[0]).max() > 0.1   # it did move


# -- against the exact exponential of the grid Hamiltonian ----------------------
def _expm_reference(model, grid, wp, t):
    psi0, _ = initial_wavefunction(wp, grid, model.n_states)
    return (scipy.linalg.expm(-1j * t * grid_hamiltonian(model, grid)) @ psi0.ravel()).reshape(psi0.shape)


@pytest.mark.parametrize("integrator, order", [("strang", 2), ("yoshida4", 4)])
def test_order_in_dt_against_expm(integrator, order):
    model = TwoState()
    grid = Grid([-7], [7], [48])
    wp = es.Wavepacket([-1.0], [1.5], [1.0], 1)
    t = 60.0
    exact = _expm_reference(model, grid, wp, t)
    n_steps = np.array([6, 12, 24, 48]) if order == 4 else np.array([12, 24, 48, 96])
    dts = t / n_steps
    errors = [np.linalg.norm(propagate(model, grid, wp, dt, n, integrator) - exact) * np.sqrt(grid.volume_element)
              for dt, n in zip(dts, n_steps)]
    assert abs(fitted_order(dts, errors) - order) < 0.05, errors
    assert errors[-1] < (5e-5 if order == 2 else 2e-7)


@pytest.mark.parametrize("shape, integrator", [((10, 8), "strang"), ((6, 5, 4), "yoshida4")])
def test_multidimensional_grid_matches_expm(shape, integrator):
    d = len(shape)
    model = TwoState(n_dof=d, mass=[20.0, 35.0, 50.0][:d], k=[0.02, 0.03, 0.01][:d], phase=0.7)
    grid = Grid([-4.0, -3.5, -5.0][:d], [4.0, 4.5, 4.0][:d], shape)
    wp = es.Wavepacket([-0.5, 0.3, 0.1][:d], [0.5, -0.4, 0.2][:d], [1.0, 1.3, 0.8][:d],
                       [0.6, 0.8j])
    t, n = 20.0, 200
    exact = _expm_reference(model, grid, wp, t)
    psi = propagate(model, grid, wp, t / n, n, integrator)
    tol = 2e-5 if integrator == "strang" else 1e-9
    assert np.linalg.norm(psi - exact) * np.sqrt(grid.volume_element) < tol
    # the observables of run_exact from the same propagation
    ds = run_exact(model, wp, grid, dt=t / n, t_final=t, output_every=n, integrator=integrator,
                   edge_threshold=1.0)
    dv = grid.volume_element
    np.testing.assert_allclose(ds.population.values[-1], (np.abs(exact) ** 2).reshape(2, -1).sum(1) * dv,
                               atol=tol)
    rho = (np.abs(exact) ** 2).sum(axis=0)
    for a, x in enumerate(grid.axes):
        other = tuple(b for b in range(d) if b != a)
        marginal = rho.sum(axis=other) * dv
        assert ds.position.values[-1, a] == pytest.approx(marginal @ x, abs=10 * tol)


def test_output_times_off_the_step_match_expm():
    # output times that are not multiples of dt: shorter last steps, applied exactly
    model = TwoState()
    grid = Grid([-7], [7], [48])
    wp = es.Wavepacket([-1.0], [1.5], [1.0], 1)
    times = [0.0, 3.3, 7.1, 10.0]
    ds = run_exact(model, wp, grid, dt=0.05, t_final=10.0, output_times=times, integrator="yoshida4")
    np.testing.assert_allclose(ds.time.values, times)
    for t, pops in zip(times, ds.population.values):
        exact = _expm_reference(model, grid, wp, t)
        ref = (np.abs(exact) ** 2).sum(axis=1) * grid.volume_element
        np.testing.assert_allclose(pops, ref, atol=1e-10)


# -- conservation ------------------------------------------------------------------
def test_norm_conserved_on_pyrazine():
    model = es.models.Pyrazine3()
    ds = run_exact(model, model.initial_wavepacket(), Grid([-8] * 3, [8] * 3, [24] * 3), dt=4.0,
                   t_final=400.0, output_every=5, edge_threshold=1.0)
    np.testing.assert_allclose(ds.norm.values, 1.0, atol=1e-10)
    np.testing.assert_allclose(ds.population.sum("state").values, 1.0, atol=1e-10)
    np.testing.assert_allclose(ds.adiabatic_population.sum("state").values, 1.0, atol=1e-10)
    assert ds.population.values[-1, 2] < 0.95                # the S2 population does decay


@pytest.mark.parametrize("integrator, order", [("strang", 2), ("yoshida4", 4)])
def test_energy_conserved_to_the_splitting_error(integrator, order):
    model = TwoState()
    grid = Grid([-9], [9], [64])
    wp = es.Wavepacket([-1.0], [1.5], [1.0], 1)
    drift = []
    for dt in (2.0, 1.0):
        ds = run_exact(model, wp, grid, dt=dt, t_final=200.0, output_every=1, integrator=integrator)
        drift.append(ds.attrs["max_energy_drift"])
    ratio = drift[0] / drift[1]
    assert 2**order * 0.7 < ratio < 2**order * 1.3, drift
    assert drift[1] < 1e-5


# -- the dataset --------------------------------------------------------------------
def test_dataset_layout_and_attributes():
    model = TwoState(n_dof=2)
    wp = es.Wavepacket([-0.5, 0.0], [0.5, 0.0], [1.0, 1.0], 1)
    grid = Grid([-6, -6], [6, 6], [24, 20])
    ds = run_exact(model, wp, grid, dt=2.0, t_final=21.0, output_every=3)
    np.testing.assert_allclose(ds.time.values, output_times(2.0, 21.0, 3))
    standard = {"population": ("time", "state"), "adiabatic_population": ("time", "state"),
                "position": ("time", "dof"), "momentum": ("time", "dof"), "potential_energy": ("time",),
                "total_energy": ("time",), "norm": ("time",)}
    for name, dims in standard.items():
        assert ds[name].dims == dims
    assert ds.population.shape == (ds.time.size, 2) and ds.position.shape == (ds.time.size, 2)
    for a, n in enumerate(grid.points):
        assert ds[f"density_{a}"].dims == ("time", f"grid_{a}")
        assert ds[f"state_density_{a}"].dims == ("time", "state", f"grid_{a}")
        np.testing.assert_allclose(ds[f"grid_{a}"].values, grid.axes[a])
        integral = ds[f"density_{a}"].sum(f"grid_{a}").values * grid.spacing[a]
        np.testing.assert_allclose(integral, ds.norm.values, rtol=1e-12)
    attrs = ds.attrs
    assert attrs["method"] == "exact" and attrs["model"] == "twostate" and attrs["integrator"] == "strang"
    assert attrs["dt"] == 2.0 and attrs["potential_evaluations"] == grid.size
    assert json.loads(attrs["grid_points"]) == [24, 20]
    assert attrs["ehrenspeed_version"] == es.__version__ and attrs["wall_time_s"] > 0
    energy = ds.total_energy.values
    assert attrs["max_energy_drift"] == pytest.approx(np.abs(energy - energy[0]).max())
    config = json.loads(attrs["config"])
    # the configuration-file layout, as trajectory results store it
    assert config["initial"] == {"from_model": False, **wp.to_dict()}
    assert config["model"]["name"] == "twostate" and config["method"] == {"name": "exact"}
    assert config["run"]["dt"] == 2.0 and config["run"]["integrator"] == "strang"
    assert config["grid"]["points"] == [24, 20]


def test_adiabatic_population_and_potential_energy_at_t0():
    model = TwoState(n_dof=2, c=0.03)
    wp = es.Wavepacket([0.4, -0.2], [0.0, 0.3], [1.0, 2.0], [0.8, 0.6])
    grid = Grid([-6, -6], [6, 6], [32, 32])
    ds = run_exact(model, wp, grid, dt=1.0, t_final=1.0)
    psi, _ = initial_wavefunction(wp, grid, 2)
    flat = psi.reshape(2, -1)
    v = model.potential(grid.positions())
    lam, u = np.linalg.eigh(v)
    a = np.einsum("plj,lp->jp", u.conj(), flat)
    dv = grid.volume_element
    np.testing.assert_allclose(ds.adiabatic_population.values[0], (np.abs(a) ** 2).sum(1) * dv, atol=1e-12)
    vpsi = np.einsum("pkl,lp->kp", v, flat)
    assert ds.potential_energy.values[0] == pytest.approx(np.vdot(flat, vpsi).real * dv, abs=1e-12)
    assert ds.population.values[0] == pytest.approx([0.64, 0.36], abs=1e-12)


# -- warnings and errors ---------------------------------------------------------------
def test_edge_warning_once_per_run():
    model = harmonic(0.01)
    wp = es.Wavepacket([4.0], [0.0], [1.0], 0)               # oscillates out to |q| = 4
    with pytest.warns(GridEdgeWarning, match="position grid of coordinate 0") as record:
        run_exact(model, wp, Grid([-5], [5], [64]), dt=5.0, t_final=400.0, output_every=2)
    assert sum(issubclass(w.category, GridEdgeWarning) for w in record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridEdgeWarning)
        run_exact(model, wp, Grid([-12], [12], [96]), dt=5.0, t_final=400.0, output_every=2)


def test_momentum_edge_warning():
    model = harmonic(0.01)
    wp = es.Wavepacket([0.0], [5.0], [1.0], 0)               # momentum 5 near pi / dx = 6.3
    with pytest.warns(GridEdgeWarning, match="momentum grid"):
        run_exact(model, wp, Grid([-8], [8], [32]), dt=5.0, t_final=20.0)


def test_memory_error_before_allocation():
    model = es.models.Pyrazine3()
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"\d+\.\d\d GiB"):
        run_exact(model, model.initial_wavepacket(), Grid([-8] * 3, [8] * 3, [2048] * 3), dt=4.0, t_final=8.0)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(InputError, match="memory_limit_bytes"):
        run_exact(model, model.initial_wavepacket(), Grid([-8] * 3, [8] * 3, [16] * 3), dt=4.0, t_final=8.0,
                  memory_limit_bytes=1e6)


@pytest.mark.parametrize("kwargs, match", [
    ({"integrator": "rk4"}, "integrator"), ({"dt": -1.0}, "dt"), ({"workers": 0}, "workers"),
    ({"edge_threshold": 0.0}, "edge_threshold"), ({"t_final": 0.5}, "t_final"),
])
def test_bad_arguments(kwargs, match):
    args = {"dt": 1.0, "t_final": 2.0}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        run_exact(harmonic(0.01), es.Wavepacket([0.0], [0.0], [1.0], 0), Grid([-8], [8], [32]), **args)


def test_mismatched_dimensions_and_bad_models():
    wp1 = es.Wavepacket([0.0], [0.0], [1.0], 0)
    with pytest.raises(InputError, match="grid has 2"):
        run_exact(harmonic(0.01), wp1, Grid([-8, -8], [8, 8], [8, 8]), dt=1.0, t_final=2.0)
    with pytest.raises(InputError, match="out of range"):
        run_exact(harmonic(0.01), es.Wavepacket([0.0], [0.0], [1.0], 3), Grid([-8], [8], [8]), dt=1.0,
                  t_final=2.0)

    class NotHermitian(TwoState):
        def potential(self, q):
            v = super().potential(q)
            v[:, 0, 1] += 0.1
            return v

    with pytest.raises(InputError, match="mass"):
        run_exact(Free(mass=-1.0), wp1, Grid([-8], [8], [8]), dt=1.0, t_final=2.0)

    with pytest.raises(ModelError, match="Hermitian"):
        run_exact(NotHermitian(), es.Wavepacket([0.0], [0.0], [1.0], 0), Grid([-8], [8], [8]), dt=1.0,
                  t_final=2.0)


# -- kernels -----------------------------------------------------------------------------
@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("phase", [0.0, 0.3])          # real V: packed symmetric propagator
def test_numba_and_numpy_kernels_agree(phase):
    model = TwoState(n_dof=2, phase=phase)
    wp = es.Wavepacket([-0.5, 0.0], [0.5, 0.2], [1.0, 1.0], 1)
    grid = Grid([-6, -6], [6, 6], [20, 18])
    stepper = SplitOperator(grid, model.mass, diagonalise_potential(model, grid), 1.0, "strang", 1, True)
    assert stepper.packed == (phase == 0.0)
    a = propagate(model, grid, wp, 1.0, 15, "yoshida4", use_numba=True)
    b = propagate(model, grid, wp, 1.0, 15, "yoshida4", use_numba=False)
    np.testing.assert_allclose(a, b, atol=1e-13)
    rng = np.random.default_rng(0)
    prop = potential_propagator(diagonalise_potential(model, grid), 0.7)
    psi = rng.standard_normal((2, grid.size)) + 1j * rng.standard_normal((2, grid.size))
    expected = np.einsum("klp,lp->kp", prop, psi)
    out = kernels.Kernels(2, grid.size, use_numba=True).apply_matrix(prop, psi.copy())
    np.testing.assert_allclose(out, expected, atol=1e-14)
    # the threaded path (split into ranges of points), with a ragged last block
    npts = 3 * kernels._PARALLEL_MIN_POINTS + 77
    prop = rng.standard_normal((3, 3, npts)) + 1j * rng.standard_normal((3, 3, npts))
    psi = rng.standard_normal((3, npts)) + 1j * rng.standard_normal((3, npts))
    phase = np.exp(1j * rng.standard_normal(npts))
    threaded = kernels.Kernels(3, npts, use_numba=True, workers=3)
    assert len(threaded._ranges) == 3
    out = threaded.apply_matrix(prop, psi.copy())
    np.testing.assert_allclose(out, np.einsum("klp,lp->kp", prop, psi), atol=1e-13)
    threaded.apply_phase(out, phase)
    np.testing.assert_allclose(out, np.einsum("klp,lp->kp", prop, psi) * phase, atol=1e-13)
    symmetric = prop + prop.transpose(1, 0, 2)
    out = threaded.apply_matrix(pack_symmetric(symmetric), psi.copy())
    np.testing.assert_allclose(out, np.einsum("klp,lp->kp", symmetric, psi), atol=1e-13)
    threaded.close()


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("n_states", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("workers", [1, 2])
def test_symmetric_kernels_equal_the_full_product(n_states, workers):
    # S = 2 and 3 have straight-line kernels, the others the blocked general one;
    # all must equal the full complex-symmetric product, threaded or not
    rng = np.random.default_rng(n_states)
    npts = 2 * kernels._PARALLEL_MIN_POINTS + 301
    half = rng.standard_normal((n_states, n_states, npts)) + 1j * rng.standard_normal((n_states, n_states, npts))
    symmetric = half + half.transpose(1, 0, 2)
    psi = rng.standard_normal((n_states, npts)) + 1j * rng.standard_normal((n_states, npts))
    product = kernels.Kernels(n_states, npts, use_numba=True, workers=workers)
    out = product.apply_matrix(pack_symmetric(symmetric), psi.copy())
    product.close()
    np.testing.assert_allclose(out, np.einsum("klp,lp->kp", symmetric, psi), rtol=0, atol=1e-13)


def test_kinetic_factors_merge():
    model = harmonic(0.01)
    grid = Grid([-8], [8], [16])
    stepper = SplitOperator(grid, model.mass, diagonalise_potential(model, grid), 1.0, "strang")
    seq = stepper.sequence([1.0, 1.0, 1.0])
    assert [k for k, _ in seq] == ["T", "V", "T", "V", "T", "V", "T"]
    assert [tau for _, tau in seq] == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
    y4 = SplitOperator(grid, model.mass, diagonalise_potential(model, grid), 1.0, "yoshida4")
    seq = y4.sequence([1.0, 1.0])
    assert len(seq) == 13 and sum(t for k, t in seq if k == "T") == pytest.approx(2.0)
    assert sum(t for k, t in seq if k == "V") == pytest.approx(2.0)


# -- pyrazine -----------------------------------------------------------------------------
#: Ehrenfest (1024 trajectories) against exact P_S2 on Pyrazine3. Measured
#: with an independent Ehrenfest integrator (RK4, dt = 1 a.u., seeds 1-4,
#: exact on 48^3, dt = 1): max |dP_S2| is 0.017-0.024 up to 300 a.u. and
#: 0.065-0.078 up to 800 a.u. (largest near 600 a.u.), so the "0.02 up to
#: 800 a.u." of the issue does not hold for this model; these bounds do.
EHRENFEST_BOUNDS = [(300.0, 0.03), (800.0, 0.10)]


def test_ehrenfest_against_exact_on_pyrazine():
    from ehrenspeed import driver
    model = es.models.Pyrazine3()
    wp = model.initial_wavepacket()
    exact = run_exact(model, wp, Grid([-8] * 3, [8] * 3, [32] * 3), dt=2.0, t_final=800.0, output_every=5,
                      edge_threshold=1e-5)
    ehr = driver.run(model, wp, method="ehrenfest", n_traj=1024, dt=2.0, t_final=800.0, output_every=5, seed=1)
    np.testing.assert_allclose(ehr.time.values, exact.time.values)
    diff = np.abs(ehr.population.values[:, 2] - exact.population.values[:, 2])
    for t_max, bound in EHRENFEST_BOUNDS:
        assert diff[exact.time.values <= t_max].max() < bound, (t_max, diff.max())


@pytest.mark.slow
def test_pyrazine_grid_and_step_convergence():
    model = es.models.Pyrazine3()
    wp = model.initial_wavepacket()
    times = np.arange(0.0, 1001.0, 20.0)

    def p_s2(points, dt, integrator="strang"):
        ds = run_exact(model, wp, Grid([-8] * 3, [8] * 3, [points] * 3), dt=dt, t_final=1000.0,
                       output_times=times, integrator=integrator, edge_threshold=1e-5)
        return ds.population.values[:, 2]

    # docs/exact.md: 32^3 is within 3e-7 of 64^3 up to 1000 a.u.; Strang at
    # dt = 4 a.u. within ~2e-5 of the fourth-order reference
    ref = p_s2(48, 1.0, "yoshida4")
    assert np.abs(p_s2(32, 1.0, "yoshida4") - ref).max() < 1e-5
    assert np.abs(p_s2(48, 4.0) - ref).max() < 1e-4
