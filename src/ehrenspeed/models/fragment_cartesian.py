"""The fragment-orbital diabatic dimer in all its Cartesian coordinates (D = 6 n_atoms).

:class:`CartesianFragmentDimer` is the full-dimensional counterpart of the
1-D rigid-monomer model
(:class:`~ehrenspeed.models.fragment_diabatisation.RigidFragmentDimer`):
its coordinate vector is the Cartesian geometry of both monomers
(x1, y1, z1, x2, ..., bohr; monomer A's atoms first), its single point the
same fragment-orbital diabatisation
(:class:`~ehrenspeed.models.fragment_diabatisation.FragmentOrbitalDiabatic`),
now with both monomer SCFs redone at every geometry (the monomers deform).
Gradients are central differences of V (2 D single points), Hessians
second differences (2 D^2 + 1 single points), through the executor
(:class:`~ehrenspeed.models.expensive.ExpensiveModel`).

Initial conditions (:func:`sample_dimer`): each monomer's vibrations are
sampled from its harmonic Wigner function (:mod:`ehrenspeed.molecular`)
with the neutral monomer's Cartesian Hessian at the same level of theory
(:func:`monomer_hessian`, PySCF's analytic second derivatives; cached in a
small text file with its provenance by :func:`save_hessian`), and the two
monomers approach each other along the stacking axis x with a given
relative momentum.

For SPEED's quasi-Newton policy (``SPEED(hessian="update")``), whose only
full Hessian is the first, ``approximate_hessian=True`` replaces that one
finite-difference Hessian (2 D^2 + 1 = 5833 single points for the furan
dimer) by a single analytic calculation: the neutral dimer's Hessian of
the energy E_0 on both diabats and zero for the coupling. It is the exact
Hessian of V_kk = E_0 - h_kk without the curvature of the fragment-orbital
energy h_kk, and without that of V_12; the Bofill updates then correct it
from the gradients along the run. ``hessian()`` then returns this
approximation, so the option must not be used with SPEED's exact policies.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..molecular import cartesian_masses, sample_normal_modes
from ..sampling import State
from ..units import ANGSTROM
from .expensive import EXPENSIVE_FD_STEP, EXPENSIVE_HESSIAN_STEP, ExpensiveModel
from .fragment_diabatisation import _molecule, reference_point, run_scf, stacked_dimer


class CartesianFragmentDimer(ExpensiveModel):
    """Two monomers in all Cartesian coordinates -> 2 x 2 diabatic V (hartree).

    Parameters
    ----------
    monomer : list of (element, x, y, z), bohr
        The planar monomer (yz plane); the reference dimer is two copies
        face to face along x, ``reference_separation`` apart
        (:func:`~ehrenspeed.models.fragment_diabatisation.stacked_dimer`).
    basis, xc, carrier, conv_tol, density_fit
        Level of theory, as in
        :class:`~ehrenspeed.models.fragment_diabatisation.FragmentOrbitalDiabatic`.
    reference_separation : float
        Centroid distance (bohr) of the reference geometry, where the
        fragment-orbital phases are fixed and the model is probed.
    approximate_hessian : bool
        ``hessian()`` returns the neutral dimer's analytic Hessian on the
        diagonal and zero off it (module docstring) -- only as the start
        of ``SPEED(hessian="update")``.
    executor, fd_step, hessian_step, max_workers, chunksize
        As in :class:`~ehrenspeed.models.expensive.ExpensiveModel`.

    Attributes
    ----------
    reference_geometry : ndarray, shape (6 n_atoms,)
        The stacked reference dimer, bohr.
    analytic_hessian_seconds : list of float
        Wall time of every approximate (analytic) Hessian computed so far
        (accounting only; ``calls`` counts the single points).
    """

    name = "cartesian_fragment_dimer"

    def __init__(self, monomer, basis: str = "sto-3g", xc: str = "hf", carrier: str = "hole",
                 conv_tol: float = 1e-10, density_fit: bool = False, reference_separation: float = 3.6 * ANGSTROM,
                 approximate_hessian: bool = False, executor=None, fd_step: float = EXPENSIVE_FD_STEP,
                 hessian_step: float = EXPENSIVE_HESSIAN_STEP, max_workers: int | None = None,
                 chunksize: int = 1):
        self._record_parameters(locals())
        monomer, point = reference_point("CartesianFragmentDimer", monomer, reference_separation, basis, xc,
                                         carrier, conv_tol, density_fit)
        symbols, q_ref = stacked_dimer(monomer, reference_separation)
        self.symbols = symbols
        self.reference_geometry = q_ref
        self.approximate_hessian = bool(approximate_hessian)
        self.analytic_hessian_seconds = []
        super().__init__(point, 2, q_ref.size, cartesian_masses(symbols), executor=executor, fd_step=fd_step,
                         hessian_step=hessian_step, name=self.name, max_workers=max_workers,
                         chunksize=chunksize, check=True, probe=q_ref)

    def hessian(self, q):
        """d2V/dq2, shape (N, D, D, 2, 2): finite differences, or the approximation (class docstring)."""
        if not self.approximate_hessian:
            return super().hessian(q)
        q = np.atleast_2d(np.asarray(q, float))
        p = self.single_point
        out = np.zeros((q.shape[0], self.n_dof, self.n_dof, 2, 2))
        for i, x in enumerate(q):
            start = time.perf_counter()
            k = analytic_hessian(p.symbols, x, p.basis, p.xc, p.conv_tol, p.density_fit)
            self.analytic_hessian_seconds.append(time.perf_counter() - start)   # bookkeeping only
            out[i, :, :, 0, 0] = out[i, :, :, 1, 1] = k
        return out


def analytic_hessian(symbols, q, basis: str, xc: str, conv_tol: float = 1e-10,
                     density_fit: bool = False) -> np.ndarray:
    """Cartesian Hessian of a closed-shell molecule's SCF energy (PySCF, analytic).

    Parameters
    ----------
    symbols : list of str
    q : array_like, shape (3 n,)
        Geometry, bohr.
    basis, xc, conv_tol, density_fit
        Level, as in :func:`~ehrenspeed.models.fragment_diabatisation.run_scf`.

    Returns
    -------
    ndarray, shape (3 n, 3 n)
        hartree / bohr^2, symmetrised.
    """
    from pyscf import lib

    lib.num_threads(1)
    mol = _molecule(symbols, q, basis)
    mf = run_scf(mol, xc, conv_tol, where="analytic Hessian", density_fit=density_fit)
    n = len(symbols)
    k = mf.Hessian().kernel()                     # (atom, atom, 3, 3)
    k = k.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    return 0.5 * (k + k.T)


def monomer_hessian(monomer, basis: str, xc: str, density_fit: bool = False) -> np.ndarray:
    """Analytic Cartesian Hessian of the neutral monomer, (3 n, 3 n), hartree / bohr^2."""
    symbols = [a[0] for a in monomer]
    return analytic_hessian(symbols, np.array([a[1:] for a in monomer], float).ravel(), basis, xc,
                            density_fit=density_fit)


def save_hessian(path, hessian, monomer, level: str, seconds: float) -> None:
    """Write a monomer Hessian with its provenance (comment header) as text."""
    import pyscf

    with open(path, "w") as f:
        f.write("# Cartesian Hessian of the neutral monomer, hartree/bohr^2, rows/columns x1 y1 z1 x2 ...\n")
        f.write(f"# made by ehrenspeed.models.fragment_cartesian.monomer_hessian (PySCF {pyscf.__version__} "
                f"analytic), {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s\n")
        f.write(f"# level: {level}\n")
        f.write("# geometry (element x y z, bohr):\n")
        f.writelines(f"#   {a[0]} {a[1]:.6f} {a[2]:.6f} {a[3]:.6f}\n" for a in monomer)
        np.savetxt(f, np.asarray(hessian), fmt="%.10e")


def load_hessian(path, monomer=None) -> np.ndarray:
    """A Hessian written by :func:`save_hessian`; checked against ``monomer`` when given.

    Raises
    ------
    InputError
        Missing file, not square, not 3 x (atoms of ``monomer``), or a
        geometry in its header that differs from ``monomer`` by > 1e-5 bohr.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Hessian file {path} not found")
    try:
        k = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as err:
        raise InputError(f"Hessian file {path}: {err}") from None
    if k.shape[0] != k.shape[1] or k.shape[0] % 3:
        raise InputError(f"Hessian file {path}: shape {k.shape} is not (3 n, 3 n)")
    if monomer is not None:
        header = [line[1:].split() for line in path.read_text().splitlines() if line.startswith("#   ")]
        stored = np.array([[float(x) for x in fields[1:]] for fields in header])
        given = np.array([a[1:] for a in monomer], float)
        if stored.shape != given.shape or np.abs(stored - given).max() > 1e-5:
            raise InputError(f"Hessian file {path} was made for another monomer geometry")
    return k


def sample_dimer(monomer, hessian, n_traj: int, separation: float, relative_momentum: float,
                 temperature: float = 0.0, seed=None, state=0) -> State:
    """Wigner sample of two vibrating monomers approaching along x.

    Parameters
    ----------
    monomer : list of (element, x, y, z), bohr
        The monomer at its minimum (where ``hessian`` was computed).
    hessian : array_like, shape (3 n, 3 n)
        Its Cartesian Hessian, hartree / bohr^2.
    n_traj : int
    separation : float
        Centroid distance R of the stacked reference dimer, bohr.
    relative_momentum : float
        p_R = mu dR/dt of the centroid separation (mu = M / 2), a.u.;
        negative: the monomers approach. Monomer B gets total momentum
        +p_R along x and A -p_R, shared by the atoms in proportion to
        their masses (no rotation, no net momentum of the dimer).
    temperature : float
        Kelvin (0: vibrational ground state), as in
        :func:`~ehrenspeed.molecular.sample_normal_modes`.
    seed : int, optional
        Same seed, same sample.
    state : int
        Initial diabatic state (0: carrier on A).

    Returns
    -------
    State
        q, p of shape (N, 6 n) (A's atoms first), c of shape (N, 2).
    """
    symbols, q_dimer = stacked_dimer(monomer, separation)
    n3 = q_dimer.size // 2
    mass = cartesian_masses(symbols)
    total = mass[:n3:3].sum()
    kick = np.zeros(n3)
    kick[0::3] = relative_momentum * mass[:n3:3] / total    # along x, shared by mass
    seeds = np.random.SeedSequence(seed).spawn(2)
    halves = [sample_normal_modes(q_dimer[i * n3:(i + 1) * n3], hessian, mass[i * n3:(i + 1) * n3], n_traj,
                                  seed=s, temperature=temperature, state=state, n_states=2, p0=sign * kick)
              for i, (s, sign) in enumerate(zip(seeds, (-1.0, 1.0)))]
    return State(np.concatenate([h.q for h in halves], axis=1), np.concatenate([h.p for h in halves], axis=1),
                 halves[0].c, 0.0)
