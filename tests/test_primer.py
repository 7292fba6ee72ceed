"""The primer's textbook checks (SPEC section 8, checks 5-7)."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.grid import Grid, run_exact
from ehrenspeed.reproduce.primer import (BERRY_PERIOD, _split, _trajectory_split, berry_phase,
                                         converged_berry_phase, eckart_transmission, landau_zener_scan)


def test_landau_zener_within_one_percent():
    numeric, formula = landau_zener_scan([0.004, 0.01, 0.05], dx=0.02)
    assert np.all(np.abs(numeric - formula) / formula < 0.01)
    # and the probabilities span the interesting range, so the check has teeth
    assert formula.min() < 0.2 and formula.max() > 0.8


def test_berry_phase_is_pi_around_the_intersection_and_zero_beside_it():
    """Pi within 1e-3 at the reproduction's loop period, with the step converged."""
    around, step_error = converged_berry_phase(period=BERRY_PERIOD)
    beside = berry_phase(centre=(6.0, 0.0), radius=1.0, period=BERRY_PERIOD, dt=0.1)
    assert step_error < 1e-5            # the step is converged well below the tolerance
    assert abs(abs(around) - np.pi) < 1e-3
    assert abs(beside) < 1e-3
    # the extrapolation matters: the step of the earlier default (0.1) missed by 1.5e-4
    assert abs(berry_phase(period=BERRY_PERIOD, dt=0.1) - around) > 10 * step_error


def test_eckart_transmission_limits():
    # far below the top: tiny; far above: one
    assert eckart_transmission(0.002) < 1e-3
    assert eckart_transmission(0.05) > 0.99


def test_ehrenfest_transmits_where_exact_branches():
    """Tully's extended coupling model at k = 10 (SPEC 8.7): exact splits into
    transmitted and reflected branches; the Ehrenfest swarm only transmits.

    The grid needs k_max = pi / dx above the lower-state momentum after the
    coupling region (about 30 a.u.): 2048 points on [-60, 60).
    """
    model = es.models.TullyExtended()
    wp = model.initial_wavepacket(state=1)     # the lower adiabat on the left, as in Tully's paper
    common = dict(dt=4.0, t_final=5000.0, output_every=125)
    exact = run_exact(model, wp, Grid([-60.0], [60.0], [2048]), **common)
    swarm = es.run(model, wp, "ehrenfest", n_traj=32, seed=1, save_trajectories=True, **common)
    e, t = _split(exact), _trajectory_split(swarm)
    # exact (measured: 0.70 transmitted, 0.21 + 0.09 reflected on states 0 and 1):
    # the wavepacket branches into a transmitted and a reflected part
    assert e["right"].sum() > 0.5
    assert e["left"].sum() > 0.2
    # Ehrenfest (measured: everything transmitted, populations 0.54 / 0.46): the
    # mean-field swarm crosses on the average potential and has no reflected branch
    assert t["left"].sum() < 0.05


def test_batched_berry_propagation_equals_the_step_loop():
    """berry_phase's pairwise product is propagate_along_path's midpoint steps, to round-off."""
    from ehrenspeed.prescribed import propagate_along_path
    from ehrenspeed.reproduce.primer import _ordered_product

    model = es.models.JahnTeller()
    period, dt, r = 50.0, 0.1, model.trough_radius

    def path(t):
        return np.array([[r * np.cos(2 * np.pi * t / period), r * np.sin(2 * np.pi * t / period)]])

    u0 = np.linalg.eigh(model.potential(path(0.0))[0])[1][:, 0]
    looped = propagate_along_path(model, path, u0[None, :], 0.0, period, dt)[0]
    n = int(round(period / dt))
    mids = (np.arange(n) + 0.5) * dt
    lam, u = np.linalg.eigh(model.potential(np.concatenate([path(t) for t in mids])))
    steps = np.einsum("nij,nj,nkj->nik", u, np.exp(-1j * dt * lam), np.conj(u))
    assert np.allclose(_ordered_product(steps) @ u0, looped, atol=1e-12)
    # an odd count pads with the identity in the right place
    assert np.allclose(_ordered_product(steps[:7]), steps[6] @ steps[5] @ steps[4] @ steps[3] @ steps[2]
                       @ steps[1] @ steps[0], atol=1e-14)
