"""The on-the-fly PySCF hole-transfer dimer: validation of its diabatisation.

Each calculation is one RHF/STO-3G run of (H2)2 (about 10 ms), so the
default tests stay fast; the short dynamics run is marked slow.
"""

import numpy as np
import pytest

pytest.importorskip("pyscf")

import ehrenspeed as es  # noqa: E402
from ehrenspeed.models.pyscf_dimer import PySCFDimer, dimer_geometry  # noqa: E402
from ehrenspeed.units import AMU  # noqa: E402


@pytest.fixture(scope="module")
def dimer():
    model = PySCFDimer("h2", separation=5.0, executor="serial")
    yield model
    model.close()


def test_coordinates_and_masses(dimer):
    assert dimer.n_dof == 12 and dimer.n_states == 2
    assert dimer.mass == pytest.approx(np.full(12, 1.00782503 * AMU))
    symbols, q = dimer_geometry("ethylene", 7.0)
    assert len(symbols) == 12 and q.shape == (36,)


def test_lean_scf_matches_pyscf_rhf(dimer):
    from pyscf import gto, scf
    q = dimer.geometry(4.5) + np.random.default_rng(0).normal(scale=0.05, size=12)
    details = dimer.single_point.details(q)
    mol = gto.M(atom=[(s, tuple(r)) for s, r in zip(dimer.symbols, q.reshape(-1, 3))],
                unit="Bohr", basis="sto-3g", verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-12
    e = mf.kernel()
    assert details["energy_hf"] == pytest.approx(e, abs=1e-9)
    nocc = mol.nelectron // 2
    koopmans = np.sort(e - mf.mo_energy[nocc - 2:nocc])
    assert details["adiabatic"] == pytest.approx(koopmans, abs=1e-8)


def test_diabatic_matrix_reproduces_adiabatic_energies(dimer):
    rng = np.random.default_rng(1)
    for separation in (3.5, 5.0, 7.0):
        q = dimer.geometry(separation) + rng.normal(scale=0.05, size=12)
        d = dimer.single_point.details(q)
        assert np.allclose(np.linalg.eigvalsh(d["diabatic"]), d["adiabatic"], atol=1e-12, rtol=0)
        assert np.allclose(d["rotation"].T @ d["rotation"], np.eye(2), atol=1e-14)
        # state 0 is the hole on A (x near 0), state 1 on B (x near separation)
        assert abs(d["centroids"][0, 0]) < abs(d["centroids"][0, 0] - separation)
        assert abs(d["centroids"][1, 0] - separation) < abs(d["centroids"][1, 0])


def test_smooth_along_a_scan_with_continuous_phase(dimer):
    separations = np.arange(3.0, 8.01, 0.1)
    v = dimer.potential(np.array([dimer.geometry(r) for r in separations]))
    coupling = v[:, 0, 1]
    assert np.all(coupling > 0)                    # one sign all along: phase kept
    # smooth: for step h the 4th differences are ~ (beta h)^2 times the 2nd ones
    # (beta ~ 2 / bohr); a jump or kink anywhere would make them comparable
    for series in (v[:, 0, 0], v[:, 1, 1], np.log(coupling)):
        assert np.abs(np.diff(series, 4)).max() < 0.2 * np.abs(np.diff(series, 2)).max()
    # a wobbling, rotating path: V changes by small amounts between neighbours
    rng = np.random.default_rng(3)
    path = dimer.geometry(4.5) + np.cumsum(rng.normal(scale=0.02, size=(15, 12)), axis=0)
    vp = dimer.potential(path)
    assert np.all(vp[:, 0, 1] > 0)
    # a lost phase would jump V12 by 2 |V12| ~ 0.05 hartree here
    assert np.abs(np.diff(vp[:, 0, 1])).max() < 5e-3


def test_coupling_decays_exponentially(dimer):
    separations = np.arange(4.0, 9.01, 0.5)
    v = dimer.potential(np.array([dimer.geometry(r) for r in separations]))
    log_h = np.log(np.abs(v[:, 0, 1]))
    slope, intercept = np.polyfit(separations, log_h, 1)
    fit = slope * separations + intercept
    r2 = 1 - np.sum((log_h - fit) ** 2) / np.sum((log_h - log_h.mean()) ** 2)
    assert slope < -0.5 and r2 > 0.99               # |V12| ~ exp(-beta R), beta ~ 1 / bohr
    # symmetric dimer: the two diabatic energies are equal at the reference geometry
    assert v[2, 0, 0] == pytest.approx(v[2, 1, 1], abs=1e-10)


def test_finite_difference_gradient_consistent(dimer):
    q = dimer.geometry(4.5)[None] + 0.03
    g = dimer.gradient(q)[0]
    # the gradient predicts the change of V along a small random step
    step = np.random.default_rng(4).normal(scale=1e-3, size=12)
    dv = dimer.potential(q + step)[0] - dimer.potential(q - step)[0]
    assert np.abs(dv - 2 * np.einsum("a,akl->kl", step, g)).max() < 1e-7


@pytest.mark.slow
def test_short_dynamics_speed_and_ehrenfest_parallel():
    from ehrenspeed.molecular import sample_normal_modes
    model = PySCFDimer("h2", separation=5.0, max_workers=2)
    try:
        q0 = model.reference_geometry
        hess = model.ground_state().hessian(q0[None])[0, :, :, 0, 0]
        st = sample_normal_modes(q0, hess, model.mass, 4, seed=1, state=0, n_states=2,
                                 min_frequency=4.6e-3)
        kw = dict(dt=10.0, t_final=30.0, output_every=3, validate=False)
        speed = es.run(model, st, es.SPEED(reference_hessian=True), **kw)
        ehr = es.run(model, st, "ehrenfest", **kw)
        assert np.abs(speed.population - ehr.population).max() < 0.01
        n, d, steps = 4, 12, 3
        # SPEED: 1 + 2D per step and per record, one Hessian of 2 D^2 + 1;
        # Ehrenfest: N (1 + 2D) per step and N per record
        assert speed.attrs["electronic_structure_calls"] == (steps + 2) * (1 + 2 * d) + 2 * d * d + 1
        assert ehr.attrs["electronic_structure_calls"] == steps * n * (1 + 2 * d) + 2 * n
    finally:
        model.close()
