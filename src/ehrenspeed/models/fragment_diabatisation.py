"""Diabatic hole (or electron) transfer states from the dimer Fock matrix in fragment orbitals.

Fragment-orbital diabatisation (the projection-operator diabatisation of
Kondov, Cizek, Benesch, Wang and Thoss, J. Phys. Chem. C 111, 11970 (2007),
doi:10.1021/jp072217m, in its two-orbital form; the same matrix elements
are the fragment-orbital transfer integrals of Senthilkumar, Grozema,
Bickelhaupt and Siebbeles, J. Chem. Phys. 119, 9809 (2003),
doi:10.1063/1.1615476). At one geometry:

1. two closed-shell SCF calculations (HF or Kohn-Sham) of the isolated
   monomers A and B, each in its own atoms' basis functions, give their
   frontier orbitals phi_A, phi_B (HOMO for a hole, LUMO for an excess
   electron), embedded in the dimer's AO basis (A's functions first);
2. one closed-shell SCF calculation of the *neutral* dimer, started from
   the block-diagonal sum of the two monomer densities, gives its Fock
   (Kohn-Sham) matrix F and its energy E_0;
3. the fragment orbitals are Loewdin-orthogonalised,
   h = S_phi^{-1/2} (Phi^T F Phi) S_phi^{-1/2} with S_phi = Phi^T S Phi,
   which keeps phi_A and phi_B as close as possible to the originals and
   treats them alike (so a symmetric dimer stays symmetric);
4. the diabatic matrix is that of a hole (Koopmans' picture, removing an
   electron from phi_i costs -h_ii):

       V_hole = E_0 1 - h,         V_electron = E_0 1 + h.

The neutral dimer's Fock matrix is used (not the cation's): it is a
closed-shell, spin-pure calculation in which neither fragment is favoured,
so both sites see the same field and the diabatic energies are not biased
by where an open-shell SCF of the cation happens to put the hole (DFT's
delocalisation error over-spreads a hole in a cation dimer); this is the
frozen-orbital (Koopmans) choice of the fragment-orbital method.

The potential depends on q alone: every SCF starts from a guess built
from q alone (the monomers from PySCF's fixed atomic "minao" guess, the
dimer from the monomers' converged densities); nothing is carried from
one geometry to the next. The fragment orbitals' signs are fixed against
reference orbitals stored once at construction: the sign makes
c_ref^T S_mon(q) c(q) positive, AO coefficients being labelled by their
atoms (which move with the monomer), so a translated or slightly
deformed monomer keeps its orbital's phase and V_12 its sign.

PySCF (Sun et al., WIREs Comput. Mol. Sci. 8, e1340 (2018)) is optional
and imported only inside the calculation.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ModelError
from ..molecular import cartesian_masses
from ..units import ANGSTROM
from .expensive import EXPENSIVE_FD_STEP, EXPENSIVE_HESSIAN_STEP, ExpensiveModel


def require_pyscf(owner: str) -> None:
    """InputError naming ``owner`` when PySCF (the optional extra) is missing."""
    try:
        import pyscf  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError(f"{owner} needs PySCF: pip install 'ehrenspeed[pyscf]'") from None


def furan_guess(bond_o_c=1.362, bond_c2_c3=1.361, bond_c3_c4=1.431, bond_c2_h=1.075,
                bond_c3_h=1.077, angle_c_o_c=106.5, angle_o_c2_h=115.9):
    """A planar C2v furan in the yz plane (O on +z), atoms (element, x, y, z) in bohr.

    Bond lengths in angstrom, angles in degrees. The ring is placed from
    O-C2, C2=C3, C3-C4 and C-O-C (C3 and C4 symmetric about the z axis);
    C2-H by the O-C2-H angle, C3-H along the outward bisector of the ring
    angle at C3. The default values are rough (not checked against a
    measured structure): a starting point for :func:`optimise_monomer`,
    which the shipped scan used, not a structure to compute with.
    """
    half = np.radians(angle_c_o_c) / 2
    o = np.array([0.0, 0.0])
    c2 = o + bond_o_c * np.array([np.sin(half), -np.cos(half)])
    # C3 at y = bond_c3_c4 / 2 and distance bond_c2_c3 from C2, below C2
    y3 = bond_c3_c4 / 2
    c3 = np.array([y3, c2[1] - np.sqrt(bond_c2_c3**2 - (c2[0] - y3) ** 2)])

    def unit(v):
        return v / np.linalg.norm(v)

    # C2-H: rotate the C2->O direction by the O-C2-H angle, away from the ring
    to_o = unit(o - c2)
    t = -np.radians(angle_o_c2_h)
    h2 = c2 + bond_c2_h * np.array([np.cos(t) * to_o[0] - np.sin(t) * to_o[1],
                                    np.sin(t) * to_o[0] + np.cos(t) * to_o[1]])
    # C3-H along minus the sum of the two ring bond directions at C3
    h3 = c3 - bond_c3_h * unit(unit(c2 - c3) + unit(np.array([-c3[0], c3[1]]) - c3))
    mirror = np.array([-1.0, 1.0])
    atoms = [("O", o), ("C", c2), ("C", c2 * mirror), ("C", c3), ("C", c3 * mirror),
             ("H", h2), ("H", h2 * mirror), ("H", h3), ("H", h3 * mirror)]
    return [(el, 0.0, yz[0] * ANGSTROM, yz[1] * ANGSTROM) for el, yz in atoms]


def _molecule(symbols, xyz, basis, charge=0, spin=0):
    from pyscf import gto
    return gto.M(atom=[(s, tuple(r)) for s, r in zip(symbols, np.asarray(xyz).reshape(-1, 3))],
                 unit="Bohr", basis=basis, charge=charge, spin=spin, verbose=0)


#: Becke-grid level of the Kohn-Sham calculations (PySCF's 0-9 scale): one
#: below PySCF's default 3, to save time (atom-centred: the grid moves with
#: the atoms; its quadrature error is not separately measured here)
GRID_LEVEL = 2


def _mean_field(mol, xc: str, conv_tol: float, max_cycle: int = 100, density_fit: bool = False):
    """An RHF/RKS object (xc = "hf" or a functional), UHF/UKS if mol.spin != 0; not yet run.

    ``density_fit``: Coulomb and exchange from density fitting (PySCF's
    default auxiliary basis), a smooth approximation several times cheaper
    than the exact four-index integrals for a 100-function dimer.
    """
    from pyscf import dft, scf
    open_shell = mol.spin != 0
    if xc.lower() == "hf":
        mf = scf.UHF(mol) if open_shell else scf.RHF(mol)
    else:
        mf = dft.UKS(mol) if open_shell else dft.RKS(mol)
        mf.xc = xc
        mf.grids.level = GRID_LEVEL
    if density_fit:
        mf = mf.density_fit()
    mf.chkfile = None   # no checkpoint file per SCF: nothing is restarted from one
    mf.conv_tol = conv_tol
    mf.conv_tol_grad = np.sqrt(conv_tol) * 0.1
    mf.max_cycle = max_cycle
    return mf


def run_scf(mol, xc: str, conv_tol: float, dm0=None, where: str = "", density_fit: bool = False):
    """Converge an SCF (closed shell, or unrestricted if mol.spin != 0); retry; else ModelError.

    Fallback (documented): when DIIS from the given guess does not
    converge, the same guess is re-run with a 0.3 hartree level shift and
    then refined by the second-order (Newton) solver; if that fails too,
    the calculation stops with a one-line error naming ``where``.
    """
    mf = _mean_field(mol, xc, conv_tol, density_fit=density_fit)
    mf.kernel(dm0=dm0)
    if not mf.converged:
        mf = _mean_field(mol, xc, conv_tol, max_cycle=200, density_fit=density_fit)
        mf.level_shift = 0.3
        mf.kernel(dm0=dm0)
        mf = mf.newton()
        mf.level_shift = 0.0
        mf.kernel(dm0=mf.make_rdm1())
        if not mf.converged:
            raise ModelError(f"SCF did not converge at {where} (also not with level shift + Newton)")
    return mf


def optimise_monomer(atoms, basis: str, xc: str, conv_tol: float = 1e-10, gtol: float = 3e-4):
    """Minimise the neutral monomer's SCF energy (analytic gradients, BFGS).

    Parameters
    ----------
    atoms : list of (element, x, y, z), bohr
    basis, xc : str
        Level of theory (PySCF names; xc="hf" for Hartree-Fock).
    gtol : float
        Largest Cartesian gradient component at convergence, hartree/bohr.

    Returns
    -------
    list of (element, x, y, z), bohr
        Optimised, recentred at the centroid of the atoms.
    """
    from scipy.optimize import minimize

    symbols = [a[0] for a in atoms]

    def energy_and_gradient(x):
        mf = run_scf(_molecule(symbols, x, basis), xc, conv_tol, where="monomer optimisation")
        return mf.e_tot, mf.nuc_grad_method().kernel().ravel()

    x0 = np.array([a[1:] for a in atoms], float).ravel()
    res = minimize(energy_and_gradient, x0, jac=True, method="BFGS", options={"gtol": gtol})
    xyz = res.x.reshape(-1, 3)
    xyz -= xyz.mean(axis=0)
    return [(s, *r) for s, r in zip(symbols, xyz)]


def largest_positive(c):
    """An orbital's coefficients with the sign that makes its largest one positive (a phase convention)."""
    return c * np.sign(c[np.argmax(np.abs(c))])


def each_monomer(calculation, symbols, n_atoms_a: int, xyz, where: str) -> tuple:
    """``calculation(symbols, xyz, index, where)`` for monomer A (the first ``n_atoms_a`` atoms), then B."""
    return (calculation(symbols[:n_atoms_a], xyz[:n_atoms_a], 0, f"monomer A, {where}"),
            calculation(symbols[n_atoms_a:], xyz[n_atoms_a:], 1, f"monomer B, {where}"))


def dimer_geometry(q, symbols, n_atoms_a: int) -> tuple[np.ndarray, str]:
    """Atoms (n, 3) of a dimer geometry q (bohr), checked, and a label "R_AB = ... bohr" for messages."""
    xyz = np.asarray(q, float).reshape(-1, 3)
    if xyz.shape[0] != len(symbols):
        raise InputError(f"geometry has {xyz.shape[0]} atoms, the dimer {len(symbols)}")
    na = n_atoms_a
    return xyz, f"R_AB = {np.linalg.norm(xyz[:na].mean(0) - xyz[na:].mean(0)):.4f} bohr"


class FragmentOrbitalDiabatic:
    """The single point: dimer geometry q (D,) -> 2 x 2 diabatic matrix (picklable).

    Parameters
    ----------
    symbols : list of str
        Element of every atom of the dimer; the first ``n_atoms_a`` form
        monomer A, the rest monomer B.
    n_atoms_a : int
    basis : str
        Gaussian basis (PySCF name), the same for monomers and dimer.
    xc : str
        "hf" or a PySCF/libxc functional name (e.g. "b3lyp",
        "hyb_gga_xc_wb97x_d": wB97X-D's XC part without its dispersion term).
    carrier : {"hole", "electron"}
        Hole transfer (fragment HOMOs, V = E_0 - h) or excess-electron
        transfer (fragment LUMOs, V = E_0 + h).
    conv_tol : float
        SCF energy convergence, hartree.
    density_fit : bool
        Density-fitted Coulomb/exchange in every SCF (see :func:`run_scf`).
    """

    def __init__(self, symbols, n_atoms_a: int, basis: str = "6-31g", xc: str = "hf",
                 carrier: str = "hole", conv_tol: float = 1e-10, density_fit: bool = False):
        if carrier not in ("hole", "electron"):
            raise InputError(f"carrier must be 'hole' or 'electron', got {carrier!r}")
        self.symbols = list(symbols)
        self.n_atoms_a = int(n_atoms_a)
        self.basis = basis
        self.xc = xc
        self.carrier = carrier
        self.conv_tol = float(conv_tol)
        self.density_fit = bool(density_fit)
        self.reference_orbitals = None   # [(nao_A,), (nao_B,)], fixed once by set_reference

    def set_reference(self, q) -> None:
        """Fix the fragment orbitals' phases by those at geometry q (largest coefficient > 0)."""
        self.reference_orbitals = None
        xyz = np.asarray(q, float).reshape(-1, 3)
        self.reference_orbitals = [largest_positive(c) for c, *_ in
                                   self._fragments(xyz, "reference geometry")]

    def fragments(self, q) -> tuple:
        """The monomers' frontier orbital, density and orbital energy at dimer geometry q."""
        return self._fragments(np.asarray(q, float).reshape(-1, 3), "fragment geometry")

    def _fragments(self, xyz, where):
        """Both monomers' SCFs (only the monomers: enough for the fragment orbitals)."""
        return each_monomer(self._fragment, self.symbols, self.n_atoms_a, xyz, where)

    def _fragment(self, symbols, xyz, index, where):
        """Monomer SCF: (frontier orbital, its AO overlap, density, SCF object)."""
        mol = _molecule(symbols, xyz, self.basis)
        mf = run_scf(mol, self.xc, self.conv_tol, where=where, density_fit=self.density_fit)
        nocc = mol.nelectron // 2
        k = nocc - 1 if self.carrier == "hole" else nocc
        c = mf.mo_coeff[:, k].copy()
        s = mf.get_ovlp()
        if self.reference_orbitals is not None and self.reference_orbitals[index] @ s @ c < 0:
            c = -c
        return c, mf.make_rdm1(), mf.mo_energy[k]

    def details(self, q, fragments=None) -> dict:
        """Everything of one calculation.

        Parameters
        ----------
        q : array_like, shape (3 n_atoms,)
            Cartesian geometry of the dimer, bohr.
        fragments : tuple, optional
            The two monomers' (orbital, density, orbital energy) from
            :meth:`fragments` at a geometry where each monomer has the same
            internal geometry as in q (rigid monomers: AO coefficients do
            not change when a molecule is translated), to skip the two
            monomer SCFs. Default: computed here.

        Returns
        -------
        dict
            ``diabatic`` (2, 2) V (hartree); ``energy_neutral`` E_0 of the
            dimer; ``adiabatic`` (2,) the eigenvalues of V (ascending);
            ``fragment_energies`` (2,) the isolated fragments' orbital
            energies; ``fragment_orbitals`` the two monomer orbitals
            (monomer AO basis); ``overlap`` S_AB of the fragment orbitals
            in the dimer; ``h`` (2, 2) the orthogonalised Fock matrix.
        """
        from pyscf import lib

        lib.num_threads(1)
        xyz, where = dimer_geometry(q, self.symbols, self.n_atoms_a)
        if fragments is None:
            fragments = self._fragments(xyz, where)
        (ca, dma, ea), (cb, dmb, eb) = fragments
        nao_a, nao_b = ca.size, cb.size
        phi = np.zeros((nao_a + nao_b, 2))
        phi[:nao_a, 0], phi[nao_a:, 1] = ca, cb
        dm0 = np.zeros((nao_a + nao_b,) * 2)
        dm0[:nao_a, :nao_a], dm0[nao_a:, nao_a:] = dma, dmb
        mol = _molecule(self.symbols, xyz, self.basis)
        mf = run_scf(mol, self.xc, self.conv_tol, dm0=dm0, where=f"dimer, {where}",
                     density_fit=self.density_fit)
        fock = mf.get_fock()
        s_phi = phi.T @ mf.get_ovlp() @ phi
        w, u = np.linalg.eigh(s_phi)
        inv_sqrt = u @ np.diag(w**-0.5) @ u.T
        h = inv_sqrt @ (phi.T @ fock @ phi) @ inv_sqrt
        h = 0.5 * (h + h.T)
        sign = -1.0 if self.carrier == "hole" else 1.0
        v = mf.e_tot * np.eye(2) + sign * h
        return {"diabatic": v, "energy_neutral": mf.e_tot, "adiabatic": np.linalg.eigvalsh(v),
                "fragment_energies": np.array([ea, eb]), "fragment_orbitals": [ca, cb],
                "overlap": s_phi[0, 1], "h": h}

    def __call__(self, q) -> np.ndarray:
        return self.details(q)["diabatic"]


def stacked_dimer(monomer, separation: float) -> tuple[list[str], np.ndarray]:
    """Two copies of a planar monomer (yz plane) face to face along x, ``separation`` bohr apart.

    Returns symbols (A's atoms first) and Cartesian q (6 n,), bohr.
    """
    symbols = [a[0] for a in monomer]
    xyz = np.array([a[1:] for a in monomer], float)
    xyz -= xyz.mean(axis=0)
    return symbols + symbols, np.concatenate([xyz, xyz + [separation, 0.0, 0.0]]).ravel()


def reference_point(owner: str, monomer, separation: float, basis: str, xc: str, carrier: str,
                    conv_tol: float, density_fit: bool, diabatisation: str = "fragment_orbital",
                    diagonal: str = "noci"):
    """Checked inputs and the single point of a stacked dimer model, phases fixed at ``separation``.

    Returns
    -------
    monomer : list of tuple
    point : FragmentOrbitalDiabatic or BlockLocalisedDiabatic
        The single point ``diabatisation`` names, its orbitals' phases fixed
        at the stacked dimer ``separation`` bohr apart.
    """
    require_pyscf(owner)
    if not separation > 0:
        raise InputError(f"reference_separation must be positive, got {separation}")
    monomer = [tuple(a) for a in monomer]
    symbols, q_ref = stacked_dimer(monomer, separation)
    if diabatisation == "fragment_orbital":
        point = FragmentOrbitalDiabatic(symbols, len(monomer), basis, xc, carrier, conv_tol, density_fit)
    elif diabatisation == "block_localised":
        from .block_localised import BlockLocalisedDiabatic

        if carrier != "hole":
            raise InputError(f"diabatisation 'block_localised' does hole transfer only, got carrier {carrier!r}")
        if density_fit:
            raise InputError("density_fit is offered by the fragment-orbital diabatisation only, "
                             "not by diabatisation 'block_localised'")
        point = BlockLocalisedDiabatic(symbols, len(monomer), basis, xc, diagonal, conv_tol)
    else:
        raise InputError(f"diabatisation must be 'fragment_orbital' or 'block_localised', got {diabatisation!r}")
    point.set_reference(q_ref)
    return monomer, point


class RigidSeparation:
    """Single point of a 1-D rigid-monomer model: q = (R,) in bohr -> 2 x 2 V (picklable).

    The monomers stay at their fixed geometry, face to face along x;
    R is the distance between their centroids. Rigid monomers only move
    as a whole, and a translated molecule has the same AO coefficients, so
    their SCFs are done once (at the reference geometry, on first use) and
    each point costs one dimer SCF; V still depends on R alone. With
    ``rigid_fragments=False`` the monomers are recomputed at every R (the
    same V to the SCF convergence: tests/test_fragment_cartesian.py).
    """

    def __init__(self, monomer, point: FragmentOrbitalDiabatic, rigid_fragments: bool = True):
        self.monomer = list(monomer)
        self.point = point
        # only a single point with ``fragments`` (the fragment-orbital one) can reuse them
        self.rigid_fragments = bool(rigid_fragments) and hasattr(point, "fragments")
        self._fragments = None

    def geometry(self, separation: float) -> np.ndarray:
        return stacked_dimer(self.monomer, float(separation))[1]

    def details(self, q) -> dict:
        r = float(np.asarray(q, float).reshape(-1)[0])
        if not r > 0:
            raise ModelError(f"separation must be positive, got R = {r} bohr")
        if not self.rigid_fragments:
            return self.point.details(self.geometry(r))
        if self._fragments is None:
            self._fragments = self.point.fragments(self.geometry(r))
        return self.point.details(self.geometry(r), self._fragments)

    def __call__(self, q) -> np.ndarray:
        return self.details(q)["diabatic"]


class RigidFragmentDimer(ExpensiveModel):
    """1-D on-the-fly model: separation R of two rigid, stacked monomers -> diabatic V.

    The coordinate is the centroid-centroid distance R (bohr) of two copies
    of a planar monomer facing each other along x; its mass is the reduced
    mass of the two monomers, mu = M / 2 (electron masses). Every potential
    evaluation is one fragment-orbital diabatisation (two monomer SCFs, one
    dimer SCF); gradients and Hessians are finite differences in R through
    the executor (:class:`ExpensiveModel`). With
    ``diabatisation="block_localised"`` every evaluation is instead the
    two-determinant NOCI of :mod:`.block_localised` (four monomer SCFs and
    the determinants' matrix elements; hole transfer only). State 0:
    carrier on monomer A (at x = 0), state 1: on B. V in hartree.

    Parameters
    ----------
    monomer : list of (element, x, y, z), bohr
        Planar monomer in the yz plane (e.g. :func:`furan_guess` or a
        geometry from :func:`optimise_monomer`).
    basis, xc, carrier, conv_tol, density_fit
        As in :class:`FragmentOrbitalDiabatic` (``density_fit``: the
        fragment-orbital diabatisation only).
    rigid_fragments : bool
        Compute the monomer SCFs once (see :class:`RigidSeparation`;
        the fragment-orbital diabatisation only).
    reference_separation : float
        R (bohr) at which the fragment-orbital phases are fixed and the
        model is probed.
    executor, fd_step, hessian_step, max_workers, chunksize
        As in :class:`ExpensiveModel`.
    diabatisation : {"fragment_orbital", "block_localised"}
        The single point: :class:`FragmentOrbitalDiabatic` or
        :class:`~ehrenspeed.models.block_localised.BlockLocalisedDiabatic`
        (which needs ``carrier="hole"``).
    diagonal : {"noci", "dft"}
        Block-localised method only: as in ``BlockLocalisedDiabatic``.
    """

    name = "rigid_fragment_dimer"

    def __init__(self, monomer, basis: str = "6-31g", xc: str = "hf", carrier: str = "hole",
                 conv_tol: float = 1e-10, reference_separation: float = 3.6 * ANGSTROM, executor=None,
                 fd_step: float = EXPENSIVE_FD_STEP, hessian_step: float = EXPENSIVE_HESSIAN_STEP,
                 max_workers: int | None = None, chunksize: int = 1,
                 diabatisation: str = "fragment_orbital", diagonal: str = "noci",
                 density_fit: bool = False, rigid_fragments: bool = True):
        self._record_parameters(locals())
        monomer, point = reference_point("RigidFragmentDimer", monomer, reference_separation, basis, xc,
                                         carrier, conv_tol, density_fit, diabatisation, diagonal)
        # the block-localised point computes its four monomer SCFs itself at each R
        rigid_fragments = bool(rigid_fragments) and hasattr(point, "fragments")
        mass = cartesian_masses([a[0] for a in monomer])[::3].sum() / 2.0
        separation = RigidSeparation(monomer, point, rigid_fragments)
        if rigid_fragments:   # once, here: every worker receives them with the pickled model
            separation._fragments = point.fragments(separation.geometry(reference_separation))
        super().__init__(separation, 2, 1, mass, executor=executor, fd_step=fd_step,
                         hessian_step=hessian_step, name=self.name, max_workers=max_workers,
                         chunksize=chunksize, check=True, probe=[reference_separation])
