"""Diabatic hole-transfer states from two block-localised determinants and their NOCI.

A method of the multistate-DFT family (the family of ALMO(MSDFT2), which
the SPEED paper uses for the furan dimer cation), in its simplest form. At
one dimer geometry:

1. four SCF calculations of the isolated monomers, each in its own atoms'
   basis functions: neutral A and B (closed shell, RHF/RKS) and the cations
   A+ and B+ (unrestricted doublet, UHF/UKS, started from the neutral
   density with the HOMO emptied in the beta spin, so the hole starts -- and
   in practice stays -- in the HOMO; a function of q alone);
2. two charge-localised (block-localised) determinants of the dimer
   cation, the occupied orbitals of one monomer's cation next to those of
   the other, neutral monomer, embedded in the dimer's AO basis,

       Phi_1 = |A+ B|  (hole on A),        Phi_2 = |A B+|  (hole on B);

   orbitals of A and B are *not* orthogonalised against each other
   (the determinants' norms carry that), and Phi_1, Phi_2 overlap;
3. their 2 x 2 Hamiltonian H_ij = <Phi_i|H|Phi_j> and overlap
   S_ij = <Phi_i|Phi_j> with the full electronic Hamiltonian of the dimer,
   by the generalised Slater-Condon rules for non-orthogonal determinants
   (Loewdin's formula through the transition density matrix; P.-O. Loewdin,
   "Quantum Theory of Many-Particle Systems. I", 1955): per spin
   M = C_i^T S_AO C_j, <Phi_i|Phi_j> = det M_alpha det M_beta and the
   transition density D_ij = C_j M^{-1} C_i^T, with which the energy has
   the Hartree-Fock form, E_ij = E_nuc + tr(h D) + 1/2 tr(D J[D]) -
   1/2 sum_sigma tr(D_sigma K[D_sigma]), and H_ij = S_ij E_ij;
4. the diabatic matrix by symmetric (Loewdin) orthogonalisation of the
   two determinants, V = S^{-1/2} H S^{-1/2}, which keeps each diabatic
   state as close as possible to its determinant and treats both alike.
   The eigenvalues of V are those of H c = E S c: the adiabatic energies of
   the two-determinant non-orthogonal CI (NOCI).

What approximation this is. The couplings are Hartree-Fock-level NOCI
matrix elements (no correlation in H_12). The determinants are "frozen
fragments": each monomer relaxed in isolation (the cation relaxes its own
orbitals, a Delta-SCF hole), but not polarised by its partner; a
block-localised (ALMO) SCF would relax each block in the dimer's field
under the block-localisation constraint, and is not done here. With
``xc`` a functional, the monomer orbitals are Kohn-Sham orbitals and the
matrix elements still the HF-form ones. ``diagonal="dft"`` replaces the
determinants' energies by the density functional of their densities,
E_i^DFT = E_xc-functional[D_ii] (non-self-consistent, in the dimer), and
shifts the coupling consistently, H'_ij = H_ij + S_ij (Delta_i + Delta_j)/2
with Delta_i = E_i^DFT - E_i^HF: for Delta_1 = Delta_2 (a symmetric dimer)
this is V' = V + Delta 1, the HF coupling with DFT site energies. This
shift is the "overlap-scaled average of correlation" of pyscf-forge's
MSDFT code (``coup=2``, after Bao, Hettich, Shi and Gao, J. Chem. Theory
Comput. 17, 240 (2021), as that code cites it); it is not the MSDFT2
coupling of ALMO(MSDFT2) (Mao, Montoya-Castillo and Markland,
arXiv:1909.00093), which takes the coupling's exchange-correlation part
from the symmetrised transition density, between ALMO diabats relaxed in
the dimer. See docs/onthefly.md section 7.

V depends on q alone: every SCF starts from a guess built from q (atomic
"minao" for the neutral monomers, the neutral density for the cations);
nothing is carried between geometries. Signs: a determinant's sign is
that of the product of its orbitals'. The cation's occupied orbitals are
aligned with the neutral monomer's (positive determinant of their overlap,
per spin, against the neutral's occupied orbitals without the HOMO in the
hole's spin), so every orbital sign but the neutral HOMOs' cancels from
H_12; the HOMOs' signs are fixed against reference HOMOs stored once
(as in :mod:`.fragment_diabatisation`).

PySCF (Sun et al., WIREs Comput. Mol. Sci. 8, e1340 (2018)) is optional
and imported only inside the calculation.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ModelError
from .fragment_diabatisation import (
    _mean_field,
    _molecule,
    dimer_geometry,
    each_monomer,
    largest_positive,
    run_scf,
)

#: Smallest singular value of an orbital-overlap matrix M the Loewdin
#: formula accepts (it inverts M): below it two determinants are
#: orthogonal to working precision and the calculation stops.
SINGULAR_OVERLAP = 1e-10


def _embed(c, rows, nao):
    """AO coefficients (k, n) of a monomer placed in rows ``rows`` of the dimer basis (nao, n)."""
    out = np.zeros((nao, c.shape[1]))
    out[rows] = c
    return out


def _align(c, c_ref, s):
    """``c`` with its last column's sign chosen so det(c^T s c_ref) > 0 (square overlap)."""
    if np.linalg.det(c.T @ s @ c_ref) < 0:
        c = c.copy()
        c[:, -1] *= -1.0
    return c


def determinant_matrix_elements(mol, determinants, hcore=None):
    """Overlap and Hamiltonian matrices of single determinants with non-orthogonal orbitals.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        The whole system (AO basis, nuclei).
    determinants : list of (c_alpha, c_beta)
        Occupied orbitals of each determinant, AO coefficients of shape
        (nao, n_alpha) and (nao, n_beta); orbitals need be neither
        normalised nor orthogonal (nor the determinants normalised).
    hcore : ndarray (nao, nao), optional
        One-electron Hamiltonian (default: kinetic + nuclear attraction).

    Returns
    -------
    overlap, hamiltonian : ndarray (n, n)
        S_ij = <Phi_i|Phi_j> and H_ij = <Phi_i|H|Phi_j> (hartree), of the
        determinants as given (not normalised).
    """
    from pyscf.scf import hf

    s_ao = mol.intor_symmetric("int1e_ovlp")
    if hcore is None:
        hcore = mol.intor_symmetric("int1e_kin") + mol.intor_symmetric("int1e_nuc")
    n = len(determinants)
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    overlaps, densities = [], []
    for i, j in pairs:
        ov = 1.0
        for c_i, c_j in zip(determinants[i], determinants[j]):
            if c_i.shape[1] != c_j.shape[1]:
                raise ModelError("determinants with different numbers of electrons of one spin")
            if c_i.shape[1] == 0:
                densities.append(np.zeros_like(s_ao))
                continue
            m = c_i.T @ s_ao @ c_j
            if np.linalg.svd(m, compute_uv=False).min() < SINGULAR_OVERLAP:
                raise ModelError(f"determinants {i} and {j} are orthogonal to working precision: "
                                 "the Loewdin transition density is undefined")
            ov *= np.linalg.det(m)
            densities.append(c_j @ np.linalg.solve(m, c_i.T))
        overlaps.append(ov)
    dms = np.array(densities)
    vj, vk = hf.get_jk(mol, dms, hermi=0)
    overlap, hamiltonian = np.zeros((n, n)), np.zeros((n, n))
    for k, (i, j) in enumerate(pairs):
        da, db = dms[2 * k], dms[2 * k + 1]
        j_total = vj[2 * k] + vj[2 * k + 1]
        # tr(h D) + 1/2 tr(D J[D]) - 1/2 sum_s tr(D_s K[D_s]), PySCF's index order of vj, vk
        e = (np.einsum("ij,ji", hcore, da + db)
             + 0.5 * np.einsum("ij,ji", da + db, j_total)
             - 0.5 * (np.einsum("ij,ji", da, vk[2 * k]) + np.einsum("ij,ji", db, vk[2 * k + 1])))
        overlap[i, j] = overlap[j, i] = overlaps[k]
        hamiltonian[i, j] = hamiltonian[j, i] = overlaps[k] * (e + mol.energy_nuc())
    return overlap, hamiltonian


def symmetric_orthogonalisation(hamiltonian, overlap):
    """V = S^{-1/2} H S^{-1/2}: the Hamiltonian in Loewdin-orthogonalised states."""
    w, u = np.linalg.eigh(overlap)
    inv_sqrt = u @ np.diag(w**-0.5) @ u.T
    v = inv_sqrt @ hamiltonian @ inv_sqrt
    return 0.5 * (v + v.T)


class BlockLocalisedDiabatic:
    """The single point: dimer geometry q (D,) -> 2 x 2 diabatic hole-transfer matrix (picklable).

    State 0: hole on monomer A (the first ``n_atoms_a`` atoms), state 1:
    hole on B. V in hartree. See the module docstring for the method.

    Parameters
    ----------
    symbols : list of str
        Element of every atom of the dimer, A's atoms first.
    n_atoms_a : int
    basis : str
        Gaussian basis (PySCF name).
    xc : str
        Level of the monomer SCFs: "hf" or a PySCF/libxc functional.
    diagonal : {"noci", "dft"}
        "noci": H and S of the determinants as they are (HF-form energies);
        "dft": the determinants' energies from the functional ``xc`` of their
        densities, the coupling shifted consistently (module docstring).
    conv_tol : float
        SCF energy convergence, hartree.
    """

    def __init__(self, symbols, n_atoms_a: int, basis: str = "6-31g", xc: str = "hf",
                 diagonal: str = "noci", conv_tol: float = 1e-10):
        if diagonal not in ("noci", "dft"):
            raise InputError(f"diagonal must be 'noci' or 'dft', got {diagonal!r}")
        if diagonal == "dft" and xc.lower() == "hf":
            raise InputError("diagonal='dft' needs a functional as xc, got 'hf'")
        self.symbols = list(symbols)
        self.n_atoms_a = int(n_atoms_a)
        self.basis = basis
        self.xc = xc
        self.diagonal = diagonal
        self.conv_tol = float(conv_tol)
        self.reference_homos = None      # [(nao_A,), (nao_B,)], fixed once by set_reference

    def set_reference(self, q) -> None:
        """Fix the monomer HOMOs' phases by those at geometry q (largest coefficient > 0)."""
        self.reference_homos = None
        xyz = np.asarray(q, float).reshape(-1, 3)
        self.reference_homos = [largest_positive(frag["neutral"][:, -1])
                                for frag in self._monomers(xyz, "reference geometry")]

    def _monomers(self, xyz, where):
        return each_monomer(self._monomer, self.symbols, self.n_atoms_a, xyz, where)

    def _monomer(self, symbols, xyz, index, where):
        """Neutral (closed-shell) and cation (doublet, hole in beta) SCFs of one monomer.

        Returns a dict: ``neutral`` occupied orbitals (k, n), HOMO last and
        sign-fixed; ``cation`` (alpha (k, n), beta (k, n - 1)) aligned with
        them; ``energies`` (E_neutral, E_cation).
        """
        neutral_mol = _molecule(symbols, xyz, self.basis)
        neutral = run_scf(neutral_mol, self.xc, self.conv_tol, where=f"{where} (neutral)")
        n_occ = neutral_mol.nelectron // 2
        c_n = neutral.mo_coeff[:, :n_occ].copy()
        s = neutral.get_ovlp()
        if self.reference_homos is not None and self.reference_homos[index] @ s @ c_n[:, -1] < 0:
            c_n[:, -1] *= -1.0
        # cation guess: the neutral density, HOMO emptied in the beta spin (a function of q)
        d_alpha = c_n @ c_n.T
        d_beta = c_n[:, :-1] @ c_n[:, :-1].T
        cation_mol = _molecule(symbols, xyz, self.basis, charge=1, spin=1)
        cation = run_scf(cation_mol, self.xc, self.conv_tol, dm0=np.array([d_alpha, d_beta]),
                         where=f"{where} (cation)")
        c_a = cation.mo_coeff[0][:, cation.mo_occ[0] > 0]
        c_b = cation.mo_coeff[1][:, cation.mo_occ[1] > 0]
        # the cation's beta orbitals must span the neutral's below the HOMO: else the hole is elsewhere
        kept = np.linalg.svd(c_b.T @ s @ c_n[:, :-1], compute_uv=False)
        hole = 1.0 - kept.min() if kept.size else 0.0
        if hole > 0.5:
            raise ModelError(f"cation SCF at {where} put the hole outside the neutral HOMO "
                             f"(its beta orbitals miss the neutral's lower ones by {hole:.2f})")
        return {"neutral": c_n, "cation": (_align(c_a, c_n, s), _align(c_b, c_n[:, :-1], s)),
                "energies": (neutral.e_tot, cation.e_tot)}

    def details(self, q) -> dict:
        """Everything of one calculation.

        Returns
        -------
        dict
            ``diabatic`` (2, 2) V (hartree); ``adiabatic`` (2,) its
            eigenvalues (the NOCI energies, ascending); ``hamiltonian``,
            ``overlap`` (2, 2) H and S of the normalised determinants;
            ``monomer_energies`` (2, 2) rows A, B: (E_neutral, E_cation)
            of the isolated monomers.
        """
        from pyscf import lib

        lib.num_threads(1)
        xyz, where = dimer_geometry(q, self.symbols, self.n_atoms_a)
        mol = _molecule(self.symbols, xyz, self.basis, charge=1, spin=1)
        frag_a, frag_b = self._monomers(xyz, where)
        dets = self._determinants(mol, frag_a, frag_b)
        s_raw, h_raw = determinant_matrix_elements(mol, dets)
        norm = np.sqrt(np.diag(s_raw))
        overlap = s_raw / np.outer(norm, norm)
        hamiltonian = h_raw / np.outer(norm, norm)
        if self.diagonal == "dft":
            shift = self._functional_shift(mol, dets, hamiltonian)
            hamiltonian = hamiltonian + overlap * 0.5 * (shift[:, None] + shift[None, :])
        v = symmetric_orthogonalisation(hamiltonian, overlap)
        return {"diabatic": v, "adiabatic": np.linalg.eigvalsh(v), "hamiltonian": hamiltonian,
                "overlap": overlap,
                "monomer_energies": np.array([frag_a["energies"], frag_b["energies"]])}

    def _determinants(self, mol, frag_a, frag_b):
        """[(alpha, beta) hole on A, (alpha, beta) hole on B]: occupied AO coefficients (nao, n)."""
        nao_a = frag_a["neutral"].shape[0]
        rows_a, rows_b = slice(0, nao_a), slice(nao_a, mol.nao)

        def determinant(orbitals_a, orbitals_b):
            # per spin: A's occupied orbitals, then B's, in the dimer basis (one fixed order)
            return tuple(np.hstack([_embed(ca, rows_a, mol.nao), _embed(cb, rows_b, mol.nao)])
                         for ca, cb in zip(orbitals_a, orbitals_b))

        neutral_a, neutral_b = (frag_a["neutral"],) * 2, (frag_b["neutral"],) * 2
        return [determinant(frag_a["cation"], neutral_b), determinant(neutral_a, frag_b["cation"])]

    def determinants(self, q):
        """The two block-localised determinants at geometry q (bohr), as :meth:`_determinants`."""
        xyz = np.asarray(q, float).reshape(-1, 3)
        mol = _molecule(self.symbols, xyz, self.basis, charge=1, spin=1)
        return self._determinants(mol, *self._monomers(xyz, "determinants"))

    def _functional_shift(self, mol, dets, hamiltonian):
        """Delta_i = E_xc[D_ii] - E_HF[D_ii] of each normalised determinant's density (hartree)."""
        mf = _mean_field(mol, self.xc, self.conv_tol)
        shift = np.zeros(len(dets))
        for i, (c_a, c_b) in enumerate(dets):
            dm = np.array([c @ np.linalg.solve(c.T @ mf.get_ovlp() @ c, c.T) for c in (c_a, c_b)])
            shift[i] = mf.energy_tot(dm=dm) - hamiltonian[i, i]
        return shift

    def __call__(self, q) -> np.ndarray:
        return self.details(q)["diabatic"]
