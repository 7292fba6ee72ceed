"""Fragment-orbital diabatisation (hole transfer) and the ab initio furan parameters.

The diabatisation tests use the stacked ethylene dimer at HF/STO-3G (each
single point is three small SCFs, about a second), which has the same
symmetry as the furan dimer: two planar monomers face to face. They are
skipped without PySCF; the fit and parameter-set tests are not.
"""

import importlib.util

import numpy as np
import pytest
from conftest import (
    check_depends_on_geometry_alone,
    check_exponential_decay,
    check_random_wobble,
    check_smooth_separation_scan,
)

import ehrenspeed as es
from ehrenspeed.config import load_config
from ehrenspeed.errors import InputError
from ehrenspeed.models.fragment_diabatisation import (
    FragmentOrbitalDiabatic,
    RigidFragmentDimer,
    _molecule,
    furan_guess,
    run_scf,
    stacked_dimer,
)
from ehrenspeed.models.furan_abinitio import SCAN_FILES, abinitio_parameters, fit_scan, read_scan
from ehrenspeed.models.pyscf_dimer import MONOMERS
from ehrenspeed.units import ANGSTROM, EV

needs_pyscf = pytest.mark.skipif(importlib.util.find_spec("pyscf") is None, reason="needs PySCF")

ETHYLENE = MONOMERS["ethylene"]


@pytest.fixture(scope="module")
def point():
    symbols, q = stacked_dimer(ETHYLENE, 3.6 * ANGSTROM)
    p = FragmentOrbitalDiabatic(symbols, 6, "sto-3g", "hf")
    p.set_reference(q)
    return p


@pytest.fixture(scope="module")
def scan(point):
    # 3.4-4.6 A, where stacked pi dimers sit; further out the STO-3G Gaussian
    # tails make ln|V12| bend down (faster than exponential), see docs/onthefly.md
    separations = np.arange(3.4, 4.61, 0.2) * ANGSTROM
    v = np.array([point(stacked_dimer(ETHYLENE, r)[1]) for r in separations])
    return separations, v


@needs_pyscf
def test_symmetric_dimer_has_equal_site_energies(scan):
    _, v = scan
    # the mirror plane between the monomers makes V11 = V22 up to the SCF tolerance
    assert np.abs(v[:, 0, 0] - v[:, 1, 1]).max() < 1e-8
    assert np.allclose(v, np.transpose(v, (0, 2, 1)), atol=0)


@needs_pyscf
def test_coupling_decays_exponentially_with_one_sign(scan):
    r, v = scan
    # |V12| = H0 exp(-b R), b ~ 1.2 / bohr here. ln|V12| spans 2.85 (a factor 17);
    # the log-linear fit misses by at most 0.064 (2.2 % of that): the local decay
    # constant grows by ~20 % over the range, as the Gaussian basis tails fall
    # off faster than exponentially
    check_exponential_decay(r, v[:, 0, 1], 0.03)


@needs_pyscf
def test_smooth_along_a_fine_scan(point):
    check_smooth_separation_scan(point, ETHYLENE, 3.8 * ANGSTROM)


@needs_pyscf
def test_random_wobble_keeps_phase_and_is_smooth(point):
    check_random_wobble(point, stacked_dimer(ETHYLENE, 3.8 * ANGSTROM)[1], seed=7)


@needs_pyscf
def test_depends_on_geometry_alone(point):
    fresh = FragmentOrbitalDiabatic(point.symbols, 6, "sto-3g", "hf")
    fresh.reference_orbitals = point.reference_orbitals
    check_depends_on_geometry_alone(point, fresh, [stacked_dimer(ETHYLENE, r * ANGSTROM)[1]
                                                   for r in (3.5, 4.5, 3.9)])


@needs_pyscf
def test_dimer_guess_from_monomers_does_not_bias_the_result(point):
    """The monomer-density guess (a function of q) converges to the same V as PySCF's own guess."""
    q = stacked_dimer(ETHYLENE, 3.7 * ANGSTROM)[1]
    d = point.details(q)
    mol = _molecule(point.symbols, q, "sto-3g")
    mf = run_scf(mol, "hf", 1e-10)              # atomic (minao) guess instead
    assert mf.e_tot == pytest.approx(d["energy_neutral"], abs=1e-9)


@needs_pyscf
def test_eigenvalues_approach_koopmans_hole_energies_at_large_separation(point):
    """Far apart the two fragment HOMOs span the dimer's top two orbitals."""
    q = stacked_dimer(ETHYLENE, 5.0 * ANGSTROM)[1]
    d = point.details(q)
    mol = _molecule(point.symbols, q, "sto-3g")
    mf = run_scf(mol, "hf", 1e-10)
    nocc = mol.nelectron // 2
    koopmans = np.sort(mf.e_tot - mf.mo_energy[nocc - 2:nocc])
    assert np.abs(d["adiabatic"] - koopmans).max() < 1e-3                # hartree


@pytest.mark.slow
@needs_pyscf
def test_rigid_one_dimensional_model(point):
    model = RigidFragmentDimer(ETHYLENE, basis="sto-3g", executor="serial")
    try:
        assert model.n_dof == 1 and model.n_states == 2
        # reduced mass of two ethylenes, C2H4 = 28.05 amu
        assert model.mass[0] == pytest.approx(28.05 / 2 * es.units.AMU, rel=1e-3)
        r = 3.8 * ANGSTROM
        v = model.potential([[r]])[0]
        assert np.allclose(v, point(stacked_dimer(ETHYLENE, r)[1]), atol=1e-9)
        g = model.gradient([[r]])[0, 0]
        dv = model.potential([[r + 0.01]])[0] - model.potential([[r - 0.01]])[0]
        assert np.abs(dv - 0.02 * g).max() < 1e-6
    finally:
        model.close()


def test_bad_carrier_is_an_input_error():
    with pytest.raises(InputError, match="carrier"):
        FragmentOrbitalDiabatic(["H", "H"], 1, carrier="proton")


def test_furan_guess_is_planar_c2v():
    xyz = np.array([a[1:] for a in furan_guess()])
    assert np.allclose(xyz[:, 0], 0.0)
    assert np.allclose(xyz[1::2, 1], -xyz[2::2, 1]) and np.allclose(xyz[1::2, 2], xyz[2::2, 2])


def test_fit_recovers_known_morse_and_exponential():
    r = np.array([3.2, 3.4, 3.6, 3.8, 4.0, 4.3, 4.7, 5.2])
    depth, a, r0, c, h0, b = 0.31, 1.4, 3.7, -0.02, 0.25, 1.6      # eV, 1/A, A
    v11 = (c + depth * (1 - np.exp(-a * (r - r0))) ** 2) * EV
    v12 = -h0 * np.exp(-b * (r - r0)) * EV                            # a hole coupling is negative
    fit = fit_scan(r, v11, v12)
    assert fit["depth_ev"] == pytest.approx(depth, rel=1e-6)
    assert fit["a_per_angstrom"] == pytest.approx(a, rel=1e-6)
    assert fit["r0_angstrom"] == pytest.approx(r0, rel=1e-6)
    assert fit["h0_ev"] == pytest.approx(h0, rel=1e-6)
    assert fit["b_per_angstrom"] == pytest.approx(b, rel=1e-6)
    assert fit["rms_v11_ev"] < 1e-8 and fit["rms_log_v12"] < 1e-8
    with pytest.raises(InputError, match="no minimum"):
        fit_scan(r, np.exp(-r) * EV, v12)                               # purely repulsive


def test_parameter_sets():
    default = es.models.FuranDimer()
    assert default.parameter_set == "illustrative"
    assert default.depth == pytest.approx(0.25 * EV) and default.h0 == pytest.approx(0.30 * EV)
    fitted = es.models.FuranDimer(parameters="abinitio")
    p = abinitio_parameters()
    assert fitted.depth == pytest.approx(p["depth_ev"] * EV)
    assert fitted.r0 == pytest.approx(p["r0_angstrom"] * ANGSTROM)
    assert fitted.b == pytest.approx(p["b_per_angstrom"] / ANGSTROM)
    # an explicit keyword overrides the set; the mass is the same reduced mass
    assert es.models.FuranDimer(parameters="abinitio", h0_ev=0.1).h0 == pytest.approx(0.1 * EV)
    assert fitted.reduced_mass == default.reduced_mass
    with pytest.raises(InputError, match="'illustrative', 'abinitio', 'abinitio-wb97xd'"):
        es.models.FuranDimer(parameters="almo")
    wb97xd = es.models.FuranDimer(parameters="abinitio-wb97xd")
    assert wb97xd.parameter_set == "abinitio-wb97xd"
    assert wb97xd.b == pytest.approx(abinitio_parameters("abinitio-wb97xd")["b_per_angstrom"] / ANGSTROM)


@pytest.mark.parametrize("name", list(SCAN_FILES))
def test_abinitio_fit_describes_the_shipped_scan(name):
    scan = read_scan(SCAN_FILES[name])
    assert any("level:" in line for line in scan["header"])
    model = es.models.FuranDimer(parameters=name)
    r = scan["R_angstrom"] * ANGSTROM
    v = model.potential(r[:, None])
    v11 = 0.5 * (scan["V11_hartree"] + scan["V22_hartree"])
    shifted = v11 - v11.min()
    # Morse through the scan points: residual below 5 % of the scanned energy range
    assert np.abs(v[:, 0, 0] - (shifted - (shifted - v[:, 0, 0]).mean())).max() < 0.05 * np.ptp(shifted)
    # |V12| within 25 % of the computed coupling at every point
    assert np.allclose(np.abs(v[:, 0, 1]), np.abs(scan["V12_hartree"]), rtol=0.25)
    # symmetric dimer: the scan's two site energies agree to SCF accuracy
    assert np.abs(scan["V11_hartree"] - scan["V22_hartree"]).max() < 1e-6


def test_config_selects_the_abinitio_parameters(tmp_path):
    path = tmp_path / "furan.toml"
    path.write_text('[model]\nname = "furan_dimer"\n[model.parameters]\nparameters = "abinitio"\n'
                    "[initial]\nfrom_model = true\n[method]\nname = \"ehrenfest\"\n"
                    "[run]\nn_traj = 2\ndt = 10.0\nt_final = 20.0\nseed = 1\n")
    model = load_config(path).build().model
    assert model.parameter_set == "abinitio"
    assert model.depth == pytest.approx(abinitio_parameters()["depth_ev"] * EV)


def test_the_scan_records_its_optimised_monomer():
    from ehrenspeed.models.furan_abinitio import read_scan, scan_monomer

    atoms = scan_monomer()
    assert [a[0] for a in atoms] == ["O", "C", "C", "C", "C", "H", "H", "H", "H"]
    xyz = np.array([a[1:] for a in atoms])
    assert np.allclose(xyz[:, 0], 0.0)                       # planar, in the yz plane
    assert np.allclose(xyz.mean(axis=0), 0.0, atol=1e-5)     # centred, as optimise_monomer leaves it
    assert any("optimised" in line for line in read_scan()["header"])
