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
