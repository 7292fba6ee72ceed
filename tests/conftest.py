import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.models.vibronic import VibronicCoupling


def random_quadratic_model(n_states=3, n_dof=2, seed=7):
    """A random vibronic model with every kind of quadratic term (incl. off-diagonal)."""
    rng = np.random.default_rng(seed)
    s, d = n_states, n_dof
    lam = rng.normal(scale=0.02, size=(s, s, d))
    lam = 0.5 * (lam + lam.transpose(1, 0, 2))
    gamma = rng.normal(scale=0.005, size=(s, d, d))
    gamma = 0.5 * (gamma + gamma.transpose(0, 2, 1))
    mu = rng.normal(scale=0.003, size=(s, s, d, d))
    mu = 0.5 * (mu + mu.transpose(1, 0, 2, 3))
    return VibronicCoupling(omega=rng.uniform(0.05, 0.15, d), energies=rng.uniform(0, 0.1, s),
                            kappa=rng.normal(scale=0.03, size=(s, d)), lam=lam, gamma=gamma, mu=mu,
                            name="random_quadratic")


@pytest.fixture
def quadratic_model():
    return random_quadratic_model()


@pytest.fixture
def pyrazine():
    return es.models.Pyrazine3()


class _Interrupted(Exception):
    pass


def interrupted_and_resumed(model, initial, path, at_step, **kwargs):
    """Run until ``at_step``, save a checkpoint there and stop (as a kill would); then resume it to the end."""
    from ehrenspeed.driver import TrajectoryRun

    def crash(run):
        if run.n_steps == at_step:
            run.save_checkpoint(path)
            raise _Interrupted

    sim = TrajectoryRun(model, initial, **kwargs)
    with pytest.raises(_Interrupted):
        while not sim.done:
            sim.advance(None, crash)
    return es.run(model, initial, checkpoint_path=path, resume=True, **kwargs)


# -- checks shared by the diabatisation tests (fragment orbitals, block-localised NOCI) -----------
def check_smooth_separation_scan(point, monomer, start, step=0.05, n=6):
    """V along R = start + k step (bohr) of a stacked dimer: 4th differences < 0.1 x 2nd ones.

    Smooth V has 4th differences ~ (k h)^2 of the 2nd ones (k ~ 3 / bohr, the
    repulsive wall; h = 0.05 bohr: ~0.02); a jump or kink (a lost phase, a
    switched SCF solution) makes them comparable.
    """
    from ehrenspeed.models.fragment_diabatisation import stacked_dimer

    v = np.array([point(stacked_dimer(monomer, start + step * k)[1]) for k in range(n)])
    for series in (v[:, 0, 0], np.log(np.abs(v[:, 0, 1]))):
        assert np.abs(np.diff(series, 4)).max() < 0.1 * np.abs(np.diff(series, 2)).max()


def check_random_wobble(point, q0, seed, n=8, scale=0.01):
    """A random walk of all atoms (bohr): V12 keeps its sign and moves < 10 % of |V12| per step."""
    rng = np.random.default_rng(seed)
    path = q0 + np.cumsum(rng.normal(scale=scale, size=(n, q0.size)), axis=0)
    v = np.array([point(q) for q in path])
    assert np.all(np.sign(v[:, 0, 1]) == np.sign(v[0, 0, 1]))
    # a lost phase would jump V12 by 2 |V12|
    assert np.abs(np.diff(v[:, 0, 1])).max() < 0.1 * np.abs(v[:, 0, 1]).min()


def check_depends_on_geometry_alone(point, fresh, geometries):
    """The same V, bit for bit, in any evaluation order and from a fresh object."""
    forward = [point(q) for q in geometries]
    backward = [point(q) for q in geometries[::-1]][::-1]
    for a, b, c in zip(forward, backward, [fresh(q) for q in geometries]):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def check_exponential_decay(r, coupling, max_residual_fraction):
    """One sign; ln|V12| linear in R (slope between -3 and -0.5 / bohr) up to a fraction of its range."""
    coupling = np.asarray(coupling)
    assert np.all(coupling < 0) or np.all(coupling > 0)
    log_h = np.log(np.abs(coupling))
    slope, intercept = np.polyfit(r, log_h, 1)
    residual = log_h - (slope * r + intercept)
    assert -3.0 < slope < -0.5
    assert np.abs(residual).max() < max_residual_fraction * np.ptp(log_h), residual
