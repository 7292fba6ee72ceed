"""SPEC 8.5 and 8.6: Landau-Zener transitions and the geometric (Berry) phase.

Electrons are driven along prescribed nuclear paths with the same exact
frozen-potential propagator the trajectory integrators use.
"""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.models.crossings import landau_zener_probability


def _diabat1_like(model, x):
    """The adiabatic state at x with the larger weight on diabat 1."""
    _, u = np.linalg.eigh(model.potential(np.array([[x]])))
    return u[0, :, np.argmax(np.abs(u[0, 0, :]))]


@pytest.mark.parametrize("velocity", [0.002, 0.005, 0.01, 0.02, 0.05])
def test_landau_zener_prescribed_path(velocity):
    """P(stay on diabat 1) = exp(-2 pi H12^2 / (v |F1 - F2|)) within 1% over a 40x range of P.

    The formula is the t -> +-infinity limit. At finite |x| the diabatic
    population carries an interference term of order H12 / (|F1 - F2| x)
    (0.5% relative at x = 100 for v = 0.01, 7% for v = 0.002), so the
    populations are read in the adiabatic basis, where the asymptotic
    amplitudes have already converged (residual 1e-5).
    """
    f1, f2, h12 = 0.01, -0.01, 0.005
    model = es.models.LinearCrossing(f1, f2, h12, 2000.0)
    x_max = 30.0
    t_half = x_max / velocity
    start = _diabat1_like(model, -x_max)
    c = es.propagate_along_path(model, lambda t: np.array([[velocity * t]]), start[None, :],
                                -t_half, t_half, dt=min(0.05 / velocity, 2.0))
    p_stay = abs(np.vdot(_diabat1_like(model, x_max), c[0])) ** 2
    p_lz = landau_zener_probability(f1, f2, h12, velocity)
    assert abs(p_stay - p_lz) < 0.01 * p_lz, (p_stay, p_lz)


def test_landau_zener_heavy_nucleus_dynamics():
    """The same through the Ehrenfest integrator: a very heavy, fast nucleus barely slows."""
    f1, f2, h12, v = 0.01, -0.01, 0.005, 0.01
    mass = 1e9
    model = es.models.LinearCrossing(f1, f2, h12, mass)
    start = es.State.from_arrays([[-300.0]], [[mass * v]], [[1.0, 0.0]])
    res = es.run(model, start, "ehrenfest", dt=20.0, t_final=60000.0, output_every=3000)
    p_lz = landau_zener_probability(f1, f2, h12, v)
    assert abs(res.population.values[-1, 0] - p_lz) < 0.01 * p_lz


def _berry_phases(model, centres, radius, period, dt):
    """Geometric phase of the lower adiabatic state around circles (one per centre).

    The total phase of <a(0)|c(T)> minus the dynamical phase -int E_lower dt
    (midpoint rule on the points the propagator used). Real eigenvectors
    are single-valued at the start point, so what remains is the Berry phase.
    """
    centres = np.asarray(centres, dtype=float)

    def path(t):
        angle = 2 * np.pi * t / period
        return centres + radius * np.array([np.cos(angle), np.sin(angle)])

    _, vectors = np.linalg.eigh(model.potential(path(0.0)))
    lower = vectors[:, :, 0]
    c = es.propagate_along_path(model, path, lower, 0.0, period, dt)
    n = int(np.ceil(period / dt - 1e-9))
    mids = (np.arange(n) + 0.5) * period / n
    points = np.concatenate([path(t) for t in mids])
    e_lower = np.linalg.eigvalsh(model.potential(points))[:, 0].reshape(n, len(centres))
    dynamical = -e_lower.sum(axis=0) * period / n
    total = np.angle(np.einsum("nk,nk->n", lower.conj(), c))
    return np.angle(np.exp(1j * (total - dynamical)))


def test_berry_phase():
    """pi within 1e-3 rad around the E x e intersection; 0 for a loop beside it.

    Slow loop (period 8000 a.u., gap 6 Eh): the nonadiabatic correction to
    the phase is of order pi Omega / (2 gap) ~ 2e-4 rad.
    """
    model = es.models.JahnTeller(mass=1.0, omega=1.0, k=3.0)
    around, beside = _berry_phases(model, [(0.0, 0.0), (3.0, 0.0)], radius=1.0, period=8000.0, dt=0.5)
    assert abs(abs(around) - np.pi) < 1e-3, around
    assert abs(beside) < 1e-3, beside
