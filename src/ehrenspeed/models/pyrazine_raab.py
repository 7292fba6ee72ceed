"""The 4-mode pyrazine S1/S2 model of Raab, Worth, Meyer and Cederbaum (1999).

A. Raab, G. A. Worth, H.-D. Meyer, L. S. Cederbaum, J. Chem. Phys. 110,
936 (1999), doi:10.1063/1.478061: the S2 -> S1 internal conversion of
pyrazine, in the MCTDH operator known as "pyr4+". The same numbers are
shipped as an MCTDH operator file, ``ehrenspeed/models/data/pyrazine4.op``
(:func:`operator_file`), which :meth:`VibronicCoupling.from_mctdh` reads to
the same model; the tests check the two against each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sampling import Wavepacket
from .vibronic import VibronicCoupling

MODES4 = ("v10a", "v6a", "v1", "v9a")


def operator_file(name: str = "pyrazine4") -> Path:
    """Path of a shipped MCTDH operator file (package data), e.g. ``pyrazine4``."""
    # imported here, not at module level: it adds ~17 ms to `import ehrenspeed`
    from importlib import resources

    path = resources.files("ehrenspeed.models").joinpath("data", f"{name}.op")
    return Path(str(path))


class Pyrazine4(VibronicCoupling):
    """Pyrazine S1/S2 in four modes (nu10a, nu6a, nu1, nu9a), bilinear vibronic coupling.

    In dimensionless normal coordinates q = (q10a, q6a, q1, q9a), eV::

        V_11 = -delta + sum_a w_a q_a^2 / 2 + sum_i kappa1_i q_i + gamma1 q10a^2 + f sum_{i<j} b1_ij q_i q_j
        V_22 = +delta + sum_a w_a q_a^2 / 2 + sum_i kappa2_i q_i + gamma2 q10a^2 + f sum_{i<j} b2_ij q_i q_j
        V_12 = lam q10a + f sum_i c_i q_i q10a

    with i, j over the tuning modes (6a, 1, 9a) and f = ``bilinear_factor``.
    Kinetic energy sum_a w_a p_a^2 / 2 (mass 1 / w_a). States (S1, S2); the
    initial state is the S0 vibrational ground state on S2.

    Parameters (all [lit]: the pyr4+ operator of Raab et al. 1999, as
    transcribed in Renormalizer, github.com/shuaigroup/Renormalizer,
    ``renormalizer/vibronic/tests/test_pyr4.py`` at commit 940161a; checked
    against pyTTN's table of the paper's 24-mode model, github.com/llindoy/pyttn,
    ``examples/pyrazine/pyrazine_hamiltonian.py`` at commit ae242ca, which gives
    the same frequencies, tuning, gamma and lambda constants to its 4 digits,
    with the signs of q6a and q1 reversed, and c = 0.00551 and 0.00127 for
    the 1-10a and 9a-10a products)
    ----------
    omega : (4,) eV
        0.1139, 0.0739, 0.1258, 0.1525 (10a, 6a, 1, 9a).
    delta : float, eV
        0.423: E(S1) = -delta, E(S2) = +delta.
    kappa1, kappa2 : (3,) eV
        Tuning constants on (6a, 1, 9a): S1 (0.09806, 0.05033, 0.14521),
        S2 (-0.13545, 0.17100, 0.03746).
    gamma1, gamma2 : float, eV
        q10a^2 coefficient in S1 and S2: -0.01159 each.
    bilinear1, bilinear2 : (3,) eV
        Tabulated b_ij on the pairs (6a, 1), (1, 9a), (6a, 9a): S1 (0.00108,
        -0.00474, 0.00204), S2 (-0.00298, -0.00155, 0.00189).
    lam : float, eV
        S1-S2 coupling on nu10a, 0.20804.
    coupling_bilinear : (3,) eV
        Tabulated c_i on the products (6a, 10a), (1, 10a), (9a, 10a):
        0.01000, 0.00553, 0.00126.
    bilinear_factor : float
        How often each tabulated bilinear coefficient enters: 2 (default,
        [lit]) because the paper's Hamiltonian sums a_ij q_i q_j over both
        orderings of each pair; 1 takes each product once. Exact grid
        dynamics reproduce MCTDH's P_S2(t) for this model to 0.003 over
        0-120 fs with 2, and miss it by 0.097 with 1 (docs/models.md).
    """

    parameter_units = {"omega": "eV", "delta": "eV", "kappa1": "eV", "kappa2": "eV", "gamma1": "eV",
                       "gamma2": "eV", "bilinear1": "eV", "bilinear2": "eV", "lam": "eV",
                       "coupling_bilinear": "eV", "bilinear_factor": "1"}

    def __init__(self, omega=(0.1139, 0.0739, 0.1258, 0.1525), delta=0.423,
                 kappa1=(0.09806, 0.05033, 0.14521), kappa2=(-0.13545, 0.17100, 0.03746),
                 gamma1=-0.01159, gamma2=-0.01159,
                 bilinear1=(0.00108, -0.00474, 0.00204), bilinear2=(-0.00298, -0.00155, 0.00189),
                 lam=0.20804, coupling_bilinear=(0.01000, 0.00553, 0.00126), bilinear_factor=2.0):
        self._record_parameters(locals())
        kappa = np.zeros((2, 4))
        kappa[0, 1:], kappa[1, 1:] = kappa1, kappa2
        lam_arr = np.zeros((2, 2, 4))
        lam_arr[0, 1, 0] = lam_arr[1, 0, 0] = lam
        gamma = np.zeros((2, 4, 4))
        gamma[0, 0, 0], gamma[1, 0, 0] = gamma1, gamma2
        pairs = ((1, 2), (2, 3), (1, 3))                 # (6a, 1), (1, 9a), (6a, 9a)
        for k, b in enumerate((bilinear1, bilinear2)):
            for (i, j), value in zip(pairs, b):
                # f b q_i q_j, split evenly over gamma_ij and gamma_ji
                gamma[k, i, j] += 0.5 * bilinear_factor * value
                gamma[k, j, i] += 0.5 * bilinear_factor * value
        mu = np.zeros((2, 2, 4, 4))
        for i, value in zip((1, 2, 3), coupling_bilinear):
            for a, b in ((0, i), (i, 0)):
                mu[0, 1, a, b] = mu[1, 0, a, b] = 0.5 * bilinear_factor * value
        super().__init__(omega, [-delta, delta], kappa, lam_arr, gamma=gamma, mu=mu, unit="eV",
                         name="pyrazine4", modes=MODES4)

    def initial_wavepacket(self, state=1) -> Wavepacket:
        """S0 vibrational ground state (q = p = 0, A = 1), vertically on S2 (``state=1``)."""
        return super().initial_wavepacket(state=state)
