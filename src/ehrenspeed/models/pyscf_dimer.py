"""Hole transfer in a molecular dimer cation, computed on the fly with PySCF.

The two diabatic states are the hole localised on monomer A and the hole
localised on monomer B. At every geometry q (Cartesian, bohr) one
closed-shell Hartree-Fock calculation of the *neutral* dimer (PySCF
integrals, Sun et al., WIREs Comput. Mol. Sci. 8, e1340 (2018)) gives,
by Koopmans' theorem, the two lowest cation (hole) states

    E_k = E_HF - eps_k,     k = HOMO, HOMO-1,

with the hole in orbital psi_k. These adiabatic states are rotated into
charge-localised diabatic states by the two-state Boys localisation of the
hole orbitals: the rotation angle maximises |<a|r|a> - <b|r|b>|^2 over the
2 x 2 orbital dipole matrix (Subotnik, Yeganeh, Cave and Ratner, J. Chem.
Phys. 129, 244101 (2008), doi:10.1063/1.3042233), which for two states is
the generalised Mulliken-Hush diabatisation along the direction of the
dipole difference (Chem. Phys. Lett. 249, 15 (1996),
doi:10.1016/0009-2614(95)01310-5). The diabatic matrix

    V = R^T diag(E_HOMO-1, E_HOMO) R,      R the 2 x 2 rotation,

has by construction exactly the adiabatic energies as eigenvalues, and
V_12 = (E_2 - E_1) |mu_12| / sqrt((mu_11 - mu_22)^2 + 4 mu_12^2) as in GMH.

Labels and phases are fixed by q alone (no memory of earlier geometries,
so finite differences and parallel evaluation see the same function):
state 0 is the diabat whose hole centroid <a|r|a> lies nearer monomer A,
and each diabatic orbital's sign makes its overlap with the same diabatic
orbital at the reference geometry (computed once, at construction)
positive. This keeps V_12 continuous along a run as long as the monomers do
not turn by ~90 degrees relative to the reference.

The SCF is a plain restricted Hartree-Fock with DIIS on PySCF's integrals
from the core-Hamiltonian guess: deterministic (same q, same numbers, in
any process) and converged tightly (commutator below ``conv_tol``), which
the finite-difference derivatives need; it is several times cheaper per
call than PySCF's general driver for these small systems (the test suite
checks it against ``pyscf.scf.RHF``).

PySCF is optional (``pip install 'ehrenspeed[pyscf]'``) and imported only
inside the calculation.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ModelError
from ..molecular import cartesian_masses
from ..units import ANGSTROM
from .expensive import EXPENSIVE_FD_STEP, EXPENSIVE_HESSIAN_STEP, ExpensiveModel
from .fragment_diabatisation import require_pyscf

#: Monomer geometries (element, x, y, z in bohr), molecule in the yz plane so
#: that stacking along x puts p(pi) orbitals face to face.
MONOMERS = {
    # H2 at its RHF/STO-3G minimum, 1.346 bohr (so the neutral monomer is stationary
    # and its Hessian gives proper normal modes for Wigner sampling)
    "h2": [("H", 0.0, 0.0, 0.673), ("H", 0.0, 0.0, -0.673)],
    # ethylene: C=C 1.339 A, C-H 1.086 A, HCH 117.6 degrees (experimental)
    "ethylene": [("C", 0.0, 0.0, 0.6695 * ANGSTROM), ("C", 0.0, 0.0, -0.6695 * ANGSTROM),
                 ("H", 0.0, 0.9289 * ANGSTROM, 1.2321 * ANGSTROM),
                 ("H", 0.0, -0.9289 * ANGSTROM, 1.2321 * ANGSTROM),
                 ("H", 0.0, 0.9289 * ANGSTROM, -1.2321 * ANGSTROM),
                 ("H", 0.0, -0.9289 * ANGSTROM, -1.2321 * ANGSTROM)],
}


def dimer_geometry(monomer="h2", separation: float = 6.0) -> tuple[list[str], np.ndarray]:
    """Two copies of a monomer stacked along x, centre-to-centre ``separation`` bohr.

    Returns
    -------
    symbols : list of str, length 2 n
        Monomer A's atoms first.
    q : ndarray, shape (6 n,)
        Cartesian coordinates, bohr.
    """
    atoms = MONOMERS[monomer] if isinstance(monomer, str) else monomer
    symbols = [a[0] for a in atoms]
    xyz = np.array([a[1:] for a in atoms], float)
    xyz = xyz - xyz.mean(axis=0)
    other = xyz + np.array([separation, 0.0, 0.0])
    return symbols + symbols, np.concatenate([xyz, other]).ravel()


def _rhf(mol, conv_tol: float, max_cycle: int = 200):
    """Closed-shell RHF with DIIS from the core guess; returns E, eps, C, S, r."""
    s = mol.intor("int1e_ovlp")
    hcore = mol.intor("int1e_kin") + mol.intor("int1e_nuc")
    eri = mol.intor("int2e")
    nocc = mol.nelectron // 2
    w, v = np.linalg.eigh(s)
    x = v / np.sqrt(w)                       # canonical orthogonalisation
    fock = hcore
    focks, errors = [], []
    for _ in range(max_cycle):
        eps, c = np.linalg.eigh(x.T @ fock @ x)
        c = x @ c
        dm = 2.0 * c[:, :nocc] @ c[:, :nocc].T
        fock = hcore + np.einsum("ijkl,kl->ij", eri, dm) - 0.5 * np.einsum("ikjl,kl->ij", eri, dm)
        err = fock @ dm @ s - s @ dm @ fock
        if np.abs(err).max() < conv_tol:
            break
        focks, errors = (focks + [fock])[-8:], (errors + [err])[-8:]
        n = len(focks)
        b = -np.ones((n + 1, n + 1))
        b[n, n] = 0.0
        b[:n, :n] = [[np.vdot(e1, e2) for e2 in errors] for e1 in errors]
        rhs = np.zeros(n + 1)
        rhs[n] = -1.0
        coef = np.linalg.lstsq(b, rhs, rcond=None)[0][:n]
        fock = sum(ci * fi for ci, fi in zip(coef, focks))
    else:
        raise ModelError(f"RHF did not converge in {max_cycle} cycles")
    eps, c = np.linalg.eigh(x.T @ fock @ x)
    c = x @ c
    energy = 0.5 * np.sum(dm * (hcore + fock)) + mol.energy_nuc()
    return energy, eps[:nocc], c[:, :nocc], s


class KoopmansBoysDiabatic:
    """The single-point calculation: q (D,) -> 2 x 2 diabatic matrix (picklable).

    Parameters
    ----------
    symbols : list of str
        Elements, monomer A's atoms first.
    n_atoms_a : int
        Atoms of monomer A.
    basis : str
        Gaussian basis set name understood by PySCF.
    conv_tol : float
        SCF convergence: max |F D S - S D F|, hartree.
    """

    def __init__(self, symbols, n_atoms_a: int, basis: str = "sto-3g", conv_tol: float = 1e-10):
        self.symbols = list(symbols)
        self.n_atoms_a = int(n_atoms_a)
        self.basis = basis
        self.conv_tol = float(conv_tol)
        self.reference_orbitals = None   # (nao, 2), set once by set_reference

    def set_reference(self, q) -> None:
        """Fix the diabatic phases by the orbitals at geometry q (largest AO coefficient > 0)."""
        self.reference_orbitals = None
        orbitals = self.details(q)["diabatic_orbitals"]
        big = np.argmax(np.abs(orbitals), axis=0)
        self.reference_orbitals = orbitals * np.sign(orbitals[big, [0, 1]])

    def details(self, q) -> dict:
        """Everything of one calculation: energies, orbitals, dipoles, V.

        Returns
        -------
        dict
            ``energy_hf`` (neutral RHF energy), ``adiabatic`` (2,) the hole
            state energies E_HOMO-1... sorted ascending (hartree),
            ``diabatic`` (2, 2) V, ``rotation`` (2, 2) R (adiabatic ->
            diabatic, columns), ``diabatic_orbitals`` (nao, 2),
            ``centroids`` (2, 3) <a|r|a> and <b|r|b>, bohr.
        """
        from pyscf import gto, lib

        # parallelism comes from the executor's processes; OpenMP threads
        # inside such tiny integral calls cost far more than they save
        lib.num_threads(1)
        xyz = np.asarray(q, float).reshape(-1, 3)
        mol = gto.M(atom=[(s, tuple(r)) for s, r in zip(self.symbols, xyz)], unit="Bohr",
                    basis=self.basis, charge=0, spin=0, verbose=0)
        energy, eps, c_occ, s = _rhf(mol, self.conv_tol)
        # hole states: removing an electron from psi_k costs -eps_k (Koopmans)
        psi = c_occ[:, -2:]                          # HOMO-1, HOMO
        e_hole = energy - eps[-2:]                   # E(HOMO hole) is the lower one
        dip = np.einsum("xij,ia,jb->xab", mol.intor("int1e_r"), psi, psi)
        # two-state Boys: maximise |d cos 2t + m sin 2t|^2
        d = 0.5 * (dip[:, 0, 0] - dip[:, 1, 1])
        m = dip[:, 0, 1]
        gram = np.array([[d @ d, d @ m], [d @ m, m @ m]])
        _, vec = np.linalg.eigh(gram)
        theta = 0.5 * np.arctan2(vec[1, -1], vec[0, -1])
        cos, sin = np.cos(theta), np.sin(theta)
        rot = np.array([[cos, -sin], [sin, cos]])    # columns: diabats in the adiabatic basis
        cen = np.einsum("xab,ai,bi->ix", dip, rot, rot)
        mass_free_a = xyz[: self.n_atoms_a].mean(axis=0)
        mass_free_b = xyz[self.n_atoms_a:].mean(axis=0)
        axis = mass_free_a - mass_free_b
        if (cen[0] - cen[1]) @ axis < 0:             # state 0 = hole on A
            rot = rot[:, ::-1]
            cen = cen[::-1]
        orbitals = psi @ rot
        if self.reference_orbitals is not None:
            overlap = np.einsum("ia,ij,ja->a", self.reference_orbitals, s, orbitals)
            signs = np.where(overlap < 0, -1.0, 1.0)
            rot, orbitals = rot * signs, orbitals * signs
        v = rot.T @ np.diag(e_hole) @ rot
        v = 0.5 * (v + v.T)
        order = np.argsort(e_hole)
        return {"energy_hf": energy, "adiabatic": e_hole[order], "diabatic": v, "rotation": rot,
                "diabatic_orbitals": orbitals, "centroids": cen}

    def __call__(self, q) -> np.ndarray:
        return self.details(q)["diabatic"]


class NeutralGroundState(KoopmansBoysDiabatic):
    """Single point q -> [[E_HF]] of the neutral dimer, 1 x 1 (for its Hessian)."""

    def __call__(self, q) -> np.ndarray:
        return np.array([[self.details(q)["energy_hf"]]])


class PySCFDimer(ExpensiveModel):
    """Hole transfer in a dimer cation from on-the-fly Koopmans/Boys diabatisation.

    Coordinates: all 3 n Cartesian coordinates of the dimer (bohr), monomer
    A's atoms first; masses per coordinate from the element (amu converted
    to m_e). State 0: hole on A; state 1: hole on B. V in hartree. Each
    potential evaluation is one neutral-dimer RHF calculation; gradients
    and Hessians are finite differences run through the executor
    (:class:`ExpensiveModel`).

    Parameters
    ----------
    monomer : {"h2", "ethylene"} or list of (element, x, y, z)
        Monomer geometry (bohr); ``MONOMERS`` gives the presets.
    separation : float
        Centre-to-centre distance along x of the reference geometry, bohr.
        The reference geometry fixes the diabatic phases.
    basis : str
        PySCF basis name ("sto-3g" keeps the calls cheap).
    conv_tol : float
        SCF commutator threshold.
    executor, fd_step, hessian_step, max_workers, chunksize
        As in :class:`ExpensiveModel`.

    Attributes
    ----------
    symbols : list of str
    reference_geometry : ndarray, shape (D,)
    single_point : KoopmansBoysDiabatic
        Its :meth:`~KoopmansBoysDiabatic.details` gives the adiabatic
        energies and orbitals behind V at one geometry.
    """

    name = "pyscf_dimer"

    def __init__(self, monomer="h2", separation: float = 6.0, basis: str = "sto-3g",
                 conv_tol: float = 1e-10, executor=None, fd_step: float = EXPENSIVE_FD_STEP,
                 hessian_step: float = EXPENSIVE_HESSIAN_STEP, max_workers: int | None = None,
                 chunksize: int = 4):
        self._record_parameters(locals())
        require_pyscf("PySCFDimer")
        if not separation > 0:
            raise InputError(f"separation must be positive, got {separation}")
        symbols, q0 = dimer_geometry(monomer, separation)
        self.symbols = symbols
        self.reference_geometry = q0
        point = KoopmansBoysDiabatic(symbols, len(symbols) // 2, basis, conv_tol)
        point.set_reference(q0)
        super().__init__(point, 2, q0.size, cartesian_masses(symbols), executor=executor,
                         fd_step=fd_step, hessian_step=hessian_step, name="pyscf_dimer",
                         max_workers=max_workers, chunksize=chunksize, check=True, probe=q0)

    def ground_state(self) -> ExpensiveModel:
        """The neutral dimer's RHF energy as a one-state model on the same executor.

        Its :meth:`hessian` at the initial geometry is the ground-state
        Hessian for :func:`ehrenspeed.molecular.sample_normal_modes`
        (vertical ionisation of the neutral dimer).
        """
        point = NeutralGroundState(self.symbols, len(self.symbols) // 2,
                                   self.single_point.basis, self.single_point.conv_tol)
        model = ExpensiveModel(point, 1, self.n_dof, self.mass, executor=self._executor_spec,
                               fd_step=self.fd_step, hessian_step=self.hessian_step,
                               name="pyscf_dimer_neutral", max_workers=self.max_workers,
                               chunksize=self.chunksize, check=False)
        model._executor = self._executor       # share a running pool
        return model

    def collision_ensemble(self, n_traj: int, seed=None, collision_energy_ev: float = 1.0,
                           temperature: float = 0.0, min_frequency_cm: float = 1000.0, state: int = 0):
        """Initial ensemble of a collision: Wigner sample of the neutral dimer, monomers approaching.

        The Hessian of the neutral ground state at the reference geometry
        (2 D^2 + 1 single points, through the executor) gives the normal
        modes (rigid translation and rotation projected out); modes below
        ``min_frequency_cm`` -- the intermolecular ones, not at a minimum
        at this separation -- are not sampled. Every atom of A gets the
        velocity +v/2 along x and every atom of B -v/2, with
        mu v^2 / 2 = ``collision_energy_ev`` (mu: reduced mass of the two
        monomers). The hole starts on ``state`` (0: on A): a vertical
        ionisation.

        Returns
        -------
        State
            q, p of shape (N, D) in bohr and atomic units.
        """
        from ..molecular import sample_normal_modes
        from ..units import EV

        q0 = self.reference_geometry
        hessian = self.ground_state().hessian(q0[None])[0, :, :, 0, 0]
        n = len(self.symbols) // 2
        mu = self.mass[: 3 * n: 3].sum() / 2.0
        v = np.sqrt(2.0 * collision_energy_ev * EV / mu)
        vel = np.zeros((2 * n, 3))
        vel[:n, 0], vel[n:, 0] = 0.5 * v, -0.5 * v
        return sample_normal_modes(q0, hessian, self.mass, n_traj, seed=seed, temperature=temperature,
                                   state=state, n_states=2, p0=self.mass * vel.ravel(),
                                   min_frequency=min_frequency_cm / 219474.6313632)

    def geometry(self, separation: float) -> np.ndarray:
        """The reference monomers at another centre-to-centre distance, shape (D,)."""
        n = len(self.symbols) // 2
        q = self.reference_geometry.reshape(-1, 3).copy()
        shift = separation - (q[n:, 0].mean() - q[:n, 0].mean())
        q[n:, 0] += shift
        return q.ravel()
