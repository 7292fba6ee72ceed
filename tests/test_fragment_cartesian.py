"""The full-dimensional (Cartesian) fragment-orbital dimer and its molecular Wigner sampling.

The PySCF tests use the stacked ethylene dimer at HF/STO-3G (D = 36; a
single point is three small SCFs, about a second); the sampling and file
tests need no PySCF.
"""

import importlib.util

import numpy as np
import pytest

from ehrenspeed.errors import InputError
from ehrenspeed.models.fragment_cartesian import (
    CartesianFragmentDimer,
    load_hessian,
    sample_dimer,
    save_hessian,
)
from ehrenspeed.models.fragment_diabatisation import RigidFragmentDimer, stacked_dimer
from ehrenspeed.models.pyscf_dimer import MONOMERS
from ehrenspeed.molecular import cartesian_masses
from ehrenspeed.units import ANGSTROM

needs_pyscf = pytest.mark.skipif(importlib.util.find_spec("pyscf") is None, reason="needs PySCF")

ETHYLENE = MONOMERS["ethylene"]
R_REF = 3.8 * ANGSTROM


@pytest.fixture(scope="module")
def model():
    m = CartesianFragmentDimer(ETHYLENE, basis="sto-3g", xc="hf", reference_separation=R_REF,
                               executor="serial")
    yield m
    m.close()


def rotation(axis, angle):
    """Rotation matrix about ``axis`` by ``angle`` (Rodrigues)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


@needs_pyscf
def test_v_is_invariant_under_rigid_translation_and_rotation(model):
    rng = np.random.default_rng(3)
    # a deformed, off-symmetric geometry: nothing special about the reference
    q = model.reference_geometry + rng.normal(scale=0.03, size=model.n_dof)
    xyz = q.reshape(-1, 3)
    moved = (xyz - xyz.mean(0)) @ rotation([0.3, -0.5, 0.8], 0.5).T + [1.7, -0.9, 2.3]
    v = model.potential(np.stack([q, moved.ravel()]))
    # HF (no integration grid to turn with the molecule), SCF to 1e-10 hartree: the bound is
    # the SCF's; measured 1.4e-13 hartree
    assert np.abs(v[0] - v[1]).max() < 1e-8
    assert abs(v[0, 0, 1]) > 1e-3          # a coupling worth comparing


@needs_pyscf
def test_along_the_separation_it_is_the_rigid_1d_model(model):
    rigid = RigidFragmentDimer(ETHYLENE, basis="sto-3g", xc="hf", reference_separation=R_REF,
                               executor="serial")
    separations = np.array([3.5, 4.1]) * ANGSTROM
    q = np.stack([stacked_dimer(ETHYLENE, r)[1] for r in separations])
    v_cartesian = model.potential(q)
    v_rigid = rigid.potential(separations[:, None])
    # the 1-D model reuses the monomer SCFs of its reference geometry: equal to SCF precision
    # (measured: bit for bit)
    assert np.abs(v_cartesian - v_rigid).max() < 1e-8
    assert np.abs(v_cartesian[0] - v_cartesian[1]).max() > 1e-3     # and V does change with R
    assert model.n_dof == 36 and model.mass[0] == pytest.approx(cartesian_masses(["C"])[0])


def test_sample_dimer_gives_each_monomer_its_collision_momentum():
    monomer = [("O", 0.0, 0.0, 1.2), ("H", 0.0, 1.4, 0.0), ("H", 0.0, -1.4, 0.0)]
    rng = np.random.default_rng(0)
    a = rng.normal(size=(9, 9))
    hessian = a @ a.T * 0.05                    # positive definite: every vibration is real
    p_rel, r = -12.0, 9.0
    state = sample_dimer(monomer, hessian, 50, r, p_rel, temperature=300.0, seed=4)
    mass = cartesian_masses(["O", "H", "H"] * 2)
    p = state.p.reshape(50, 2, 3, 3).sum(axis=2)        # total momentum per monomer
    assert np.allclose(p[:, 1, 0], p_rel) and np.allclose(p[:, 0, 0], -p_rel)
    assert np.allclose(p[:, :, 1:], 0.0, atol=1e-10)
    # the vibrations are sampled (not frozen) and leave the centres of mass where they were
    q = state.q.reshape(50, 2, 3, 3)
    m = mass.reshape(2, 3, 3)[None]
    centres = (q * m).sum(axis=2) / m.sum(axis=2)
    reference = (stacked_dimer(monomer, r)[1].reshape(2, 3, 3) * m[0]).sum(axis=1) / m[0].sum(axis=1)
    assert np.allclose(centres, reference[None], atol=1e-10)
    assert state.q.std(axis=0).max() > 1e-3
    assert np.allclose(state.c[:, 0], 1.0)
    again = sample_dimer(monomer, hessian, 50, r, p_rel, temperature=300.0, seed=4)
    assert np.array_equal(again.q, state.q) and np.array_equal(again.p, state.p)


def test_hessian_file_round_trip_and_checks(tmp_path):
    monomer = [("H", 0.0, 0.0, 0.7), ("H", 0.0, 0.0, -0.7)]
    k = np.arange(36.0).reshape(6, 6)
    path = tmp_path / "h.txt"
    if importlib.util.find_spec("pyscf") is None:
        pytest.skip("save_hessian records the PySCF version")
    save_hessian(path, k, monomer, "xc = hf, basis = sto-3g", 1.0)
    assert np.array_equal(load_hessian(path, monomer), k)
    with pytest.raises(InputError, match="another monomer geometry"):
        load_hessian(path, [("H", 0.0, 0.0, 0.8), ("H", 0.0, 0.0, -0.7)])
    with pytest.raises(InputError, match="not found"):
        load_hessian(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("1 2\n3 4\n")
    with pytest.raises(InputError, match="not \\(3 n, 3 n\\)"):
        load_hessian(tmp_path / "bad.txt")


@pytest.mark.slow
@needs_pyscf
def test_short_speed_run_with_bofill_update_from_the_analytic_hessian():
    """H2 dimer (D = 12): the cost bookkeeping of the D = 54 run, and SPEED close to Ehrenfest."""
    import ehrenspeed as es
    from ehrenspeed.models.fragment_cartesian import monomer_hessian

    h2 = MONOMERS["h2"]
    r = 3.0 * ANGSTROM
    model = CartesianFragmentDimer(h2, basis="sto-3g", xc="hf", reference_separation=r,
                                   approximate_hessian=True, executor="serial")
    state = sample_dimer(h2, monomer_hessian(h2, "sto-3g", "hf"), 4, r, -5.0, seed=2)
    d, steps, dt = model.n_dof, 3, 10.0
    before = model.calls.potential
    speed = es.run(model, state, es.SPEED(hessian="update"), dt=dt, t_final=steps * dt,
                   output_every=steps, validate=False)
    # V and the central-difference gradient at the mean, per step and per output; the
    # one Hessian is the analytic approximation (no single points)
    assert model.calls.potential - before == (steps + 2) * (1 + 2 * d)
    assert len(model.analytic_hessian_seconds) == 1
    ehrenfest = es.run(model, state, "ehrenfest", dt=dt, t_final=steps * dt, output_every=steps,
                       validate=False)
    moved = 1.0 - float(ehrenfest.population[-1, 0])
    assert moved > 1e-3                                      # the hole moves
    assert abs(float(speed.population[-1, 0] - ehrenfest.population[-1, 0])) < 0.1 * moved
