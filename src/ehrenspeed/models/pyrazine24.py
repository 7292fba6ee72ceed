"""The 24-mode pyrazine S1/S2 model of Raab, Worth, Meyer and Cederbaum (1999).

A. Raab, G. A. Worth, H.-D. Meyer, L. S. Cederbaum, J. Chem. Phys. 110,
936 (1999), doi:10.1063/1.478061: all 24 vibrational modes of pyrazine in a
second-order vibronic coupling model of S1 (B3u) and S2 (B2u). This is the
model in which SPEED's economy is plain: D = 24, one potential evaluation
per step for the whole swarm.

Where the numbers come from. The paper's table was not available to this
work. The constants below are those of pyTTN's example Hamiltonian
(github.com/llindoy/pyttn, ``examples/pyrazine/pyrazine_hamiltonian.py``,
commit ae242ca, Apache-2.0), which states that it implements this paper's
24-mode model; the 4 coupling/tuning modes among them agree with the
"pyr4+" 4-mode operator shipped as :class:`.Pyrazine4` (frequencies, tuning
constants to 4 digits, gamma, lambda and the bilinear constants; the signs of
q6a and q1 are reversed between the two transcriptions, which flips the
sign of every term odd in them, and two interstate constants differ in their
third significant digit: c(1, 10a) = 0.00551 here, 0.00553 there; c(9a, 10a)
= 0.00127 here, 0.00126 there). The tests check this agreement term by term.
We keep pyTTN's signs, so that every number below can be read against it.

The bilinear convention. Each bilinear constant is tabulated once for an
unordered pair of modes. Both transcriptions let an intrastate product
q_i q_j carry twice the tabulated value (a sum over both orderings of the
pair); for the interstate products pyTTN takes the value once, while the
pyr4+ operator as MCTDH runs it takes it twice, and only the latter
reproduces MCTDH's 4-mode populations (0.003 against 0.097 over 0-120 fs,
docs/models.md). The paper writes one Hamiltonian for both models, so the
default here is twice for both kinds (``bilinear_factor=2``,
``coupling_bilinear_factor=2``); ``coupling_bilinear_factor=1`` is pyTTN's
choice. The diagonal quadratic constants (q_i^2 terms, including
gamma(10a) = -0.01159 eV) enter once, as gamma q_i^2.
"""

from __future__ import annotations

import numpy as np

from ..sampling import Wavepacket
from .vibronic import VibronicCoupling

#: Mode order (pyTTN's): the four modes of Pyrazine4 first.
MODES24 = ("v10a", "v6a", "v1", "v9a", "v8a", "v2", "v6b", "v8b", "v4", "v5", "v3", "v16a", "v12",
           "v13", "v19b", "v18b", "v18a", "v14", "v19a", "v17a", "v20b", "v16b", "v11", "v7b")

#: Ground-state harmonic frequencies, eV.
OMEGA = {
    "v6a": 0.0739, "v1": 0.1258, "v9a": 0.1525, "v8a": 0.1961, "v2": 0.3788, "v10a": 0.1139,
    "v4": 0.0937, "v5": 0.1219, "v6b": 0.0873, "v3": 0.1669, "v8b": 0.1891, "v7b": 0.3769,
    "v16a": 0.0423, "v17a": 0.1190, "v12": 0.1266, "v18a": 0.1408, "v19a": 0.1840, "v13": 0.3734,
    "v18b": 0.1318, "v14": 0.1425, "v19b": 0.1756, "v20b": 0.3798, "v16b": 0.0521, "v11": 0.0973,
}

#: Half the vertical S1-S2 gap, eV: E(S1) = -DELTA, E(S2) = +DELTA.
DELTA = 0.4230

#: The modes of each irreducible representation of D2h, in table order.
SYMMETRY = {
    "Ag": ("v6a", "v1", "v9a", "v8a", "v2"),
    "B1g": ("v10a",),
    "B2g": ("v4", "v5"),
    "B3g": ("v6b", "v3", "v8b", "v7b"),
    "Au": ("v16a", "v17a"),
    "B1u": ("v12", "v18a", "v19a", "v13"),
    "B2u": ("v18b", "v14", "v19b", "v20b"),
    "B3u": ("v16b", "v11"),
}

#: Tuning constants kappa on the Ag modes, eV: (S1, S2).
KAPPA = ((-0.0981, -0.0503, 0.1452, -0.0445, 0.0247),
         (0.1355, -0.1710, 0.0375, 0.0168, 0.0162))

#: The S1-S2 coupling constant on nu10a (B1g), eV.
LAMBDA = 0.2080

#: Intrastate quadratic constants per symmetry block, eV: (S1 table, S2 table),
#: upper triangles in the block's mode order; diagonal entries multiply q_i^2,
#: off-diagonal ones the product q_i q_j (tabulated once, see the module text).
QUADRATIC = {
    "Ag": (((0.0, 0.00108, -0.00204, -0.00135, -0.00285),
            (0.0, 0.0, 0.00474, 0.00154, -0.00163),
            (0.0, 0.0, 0.0, 0.00872, -0.00474),
            (0.0, 0.0, 0.0, 0.0, -0.00143),
            (0.0, 0.0, 0.0, 0.0, 0.0)),
           ((0.0, -0.00298, -0.00189, -0.00203, -0.00128),
            (0.0, 0.0, 0.00155, 0.00311, -0.00600),
            (0.0, 0.0, 0.0, 0.01194, -0.00334),
            (0.0, 0.0, 0.0, 0.0, -0.00713),
            (0.0, 0.0, 0.0, 0.0, 0.0))),
    "Au": (((0.01145, 0.00100), (0.0, -0.02040)),
           ((-0.01459, -0.00091), (0.0, -0.00618))),
    "B1g": (((-0.01159,),), ((-0.01159,),)),
    "B2g": (((-0.02252, -0.00049), (0.0, -0.01825)),
            ((-0.03445, 0.00911), (0.0, -0.00265))),
    "B3g": (((-0.00741, 0.01321, -0.00717, 0.00515),
             (0.0, 0.05183, -0.03942, 0.00170),
             (0.0, 0.0, -0.05733, -0.00204),
             (0.0, 0.0, 0.0, -0.00333)),
            ((-0.00385, -0.00661, 0.00429, -0.00246),
             (0.0, 0.04842, -0.03034, -0.00185),
             (0.0, 0.0, -0.06332, -0.00388),
             (0.0, 0.0, 0.0, -0.00040))),
    "B1u": (((-0.04819, 0.00525, -0.00485, -0.00326),
             (0.0, -0.00792, 0.00852, 0.00888),
             (0.0, 0.0, -0.02429, -0.00443),
             (0.0, 0.0, 0.0, -0.00492)),
            ((-0.00840, 0.00536, -0.00097, 0.00034),
             (0.0, 0.00429, 0.00209, -0.00049),
             (0.0, 0.0, -0.00734, 0.00346),
             (0.0, 0.0, 0.0, 0.00062))),
    "B2u": (((-0.00277, 0.00016, -0.00250, 0.00357),
             (0.0, 0.03924, -0.00197, -0.00355),
             (0.0, 0.0, 0.00992, 0.00623),
             (0.0, 0.0, 0.0, -0.00110)),
            ((-0.01179, -0.00844, 0.07000, -0.01249),
             (0.0, 0.04000, -0.05000, 0.00265),
             (0.0, 0.0, 0.01246, -0.00422),
             (0.0, 0.0, 0.0, 0.00069))),
    "B3u": (((-0.02176, -0.00624), (0.0, 0.00315)),
            ((-0.02214, -0.00261), (0.0, -0.00496))),
}

#: Interstate bilinear constants, eV, for the products of a mode of the first
#: block with a mode of the second (the product of the two representations is
#: B1g, that of the coupling mode); rows: first block's modes, columns: second's.
COUPLING = {
    ("B1g", "Ag"): ((-0.01000, -0.00551, 0.00127, 0.00799, -0.00512),),
    ("B2g", "B3g"): ((-0.01372, -0.00466, 0.00329, -0.00031),
                     (0.00598, -0.00914, 0.00961, 0.00500)),
    ("Au", "B1u"): ((-0.01056, 0.00559, 0.00401, -0.00226),
                    (-0.01200, -0.00213, 0.00328, -0.00396)),
    ("B3u", "B2u"): ((0.00118, -0.00009, -0.00285, -0.00095),
                     (0.01281, -0.01780, 0.00134, -0.00481)),
}


def _index(mode: str) -> int:
    return MODES24.index(mode)


def coefficient_arrays(bilinear_factor: float = 2.0, coupling_bilinear_factor: float = 2.0) -> dict:
    """The tables as :class:`.VibronicCoupling` arrays, eV.

    Returns
    -------
    dict
        ``omega`` (24,), ``energies`` (2,), ``kappa`` (2, 24), ``lam``
        (2, 2, 24), ``gamma`` (2, 24, 24) and ``mu`` (2, 2, 24, 24), with
        V_kk = E_k + sum_a w_a q_a^2 / 2 + sum_a kappa_ka q_a + sum_ab gamma_kab q_a q_b
        and V_12 = sum_a lam_12a q_a + sum_ab mu_12ab q_a q_b.
    """
    d = len(MODES24)
    kappa = np.zeros((2, d))
    for k in range(2):
        for mode, value in zip(SYMMETRY["Ag"], KAPPA[k]):
            kappa[k, _index(mode)] = value
    lam = np.zeros((2, 2, d))
    lam[0, 1, _index("v10a")] = lam[1, 0, _index("v10a")] = LAMBDA
    gamma = np.zeros((2, d, d))
    for block, tables in QUADRATIC.items():
        modes = SYMMETRY[block]
        for k, table in enumerate(tables):
            for i, mode_i in enumerate(modes):
                a = _index(mode_i)
                gamma[k, a, a] += table[i][i]
                for j in range(i + 1, len(modes)):
                    b = _index(modes[j])
                    # the product q_a q_b carries f c; the double sum sees it as gamma_ab + gamma_ba
                    gamma[k, a, b] += 0.5 * bilinear_factor * table[i][j]
                    gamma[k, b, a] += 0.5 * bilinear_factor * table[i][j]
    mu = np.zeros((2, 2, d, d))
    for (first, second), table in COUPLING.items():
        for i, mode_i in enumerate(SYMMETRY[first]):
            for j, mode_j in enumerate(SYMMETRY[second]):
                a, b = _index(mode_i), _index(mode_j)
                half = 0.5 * coupling_bilinear_factor * table[i][j]
                for (k, l) in ((0, 1), (1, 0)):
                    mu[k, l, a, b] += half
                    mu[k, l, b, a] += half
    omega = np.array([OMEGA[m] for m in MODES24])
    return {"omega": omega, "energies": np.array([-DELTA, DELTA]), "kappa": kappa, "lam": lam,
            "gamma": gamma, "mu": mu}


class Pyrazine24(VibronicCoupling):
    """Pyrazine S1/S2 in all 24 vibrational modes (Raab et al. 1999), second-order vibronic coupling.

    In dimensionless normal coordinates q (order :data:`MODES24`), eV::

        V_11 = -delta + sum_a w_a q_a^2 / 2 + sum_{i in Ag} a_i q_i + sum_{g} sum_{i<=j in g} f_ij a_ij q_i q_j
        V_22 = +delta + sum_a w_a q_a^2 / 2 + sum_{i in Ag} b_i q_i + sum_{g} sum_{i<=j in g} f_ij b_ij q_i q_j
        V_12 = lambda q10a + sum_{(g, h)} sum_{i in g, j in h} f' c_ij q_i q_j

    over the symmetry blocks g of :data:`SYMMETRY` (intrastate) and the block
    pairs (g, h) of :data:`COUPLING` whose product is B1g (interstate);
    f_ii = 1, f_ij = ``bilinear_factor`` for i != j, f' =
    ``coupling_bilinear_factor``. Kinetic energy sum_a w_a p_a^2 / 2 (mass
    1 / w_a). States (S1, S2); the initial state is the S0 vibrational ground
    state on S2.

    Parameters
    ----------
    bilinear_factor : float
        How often each tabulated intrastate bilinear constant enters (2,
        the default: both orderings of the pair, as every transcription of
        the model does).
    coupling_bilinear_factor : float
        The same for the interstate constants: 2 (default, the convention
        that reproduces MCTDH for the paper's 4-mode model) or 1 (pyTTN).

    Notes
    -----
    Numbers and their provenance in the module docstring (:data:`OMEGA`,
    :data:`KAPPA`, :data:`LAMBDA`, :data:`QUADRATIC`, :data:`COUPLING`,
    :data:`DELTA`) and in docs/models.md. The same model is shipped as an MCTDH
    operator file, ``ehrenspeed/models/data/pyrazine24.op``
    (:func:`ehrenspeed.models.pyrazine_raab.operator_file`); the tests read it
    back to this class.
    """

    parameter_units = {"bilinear_factor": "1", "coupling_bilinear_factor": "1"}

    def __init__(self, bilinear_factor=2.0, coupling_bilinear_factor=2.0):
        self._record_parameters(locals())
        arrays = coefficient_arrays(bilinear_factor, coupling_bilinear_factor)
        super().__init__(arrays["omega"], arrays["energies"], arrays["kappa"], arrays["lam"],
                         gamma=arrays["gamma"], mu=arrays["mu"], unit="eV", name="pyrazine24",
                         modes=MODES24)

    def initial_wavepacket(self, state=1) -> Wavepacket:
        """S0 vibrational ground state (q = p = 0, A = 1), vertically on S2 (``state=1``)."""
        return super().initial_wavepacket(state=state)
