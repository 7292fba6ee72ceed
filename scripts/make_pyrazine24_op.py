"""Write ehrenspeed's MCTDH operator file of the 24-mode pyrazine model.

    PYTHONPATH=src python scripts/make_pyrazine24_op.py > src/ehrenspeed/models/data/pyrazine24.op

The file is written term by term from the parameter tables of
:mod:`ehrenspeed.models.pyrazine24` with named parameters, so that a reader
can check every number against the tables (and MCTDH can run it). It is not
written with ``VibronicCoupling.to_mctdh``: the test that reads it back and
compares it with the class then checks two independent assemblies of the
same tables (this script's and ``coefficient_arrays``).
"""

from __future__ import annotations

import sys

from ehrenspeed.models.pyrazine24 import (
    COUPLING,
    DELTA,
    KAPPA,
    LAMBDA,
    MODES24,
    OMEGA,
    QUADRATIC,
    SYMMETRY,
)

HEADER = """\
# Pyrazine S1/S2 in all 24 vibrational modes: the second-order vibronic
# coupling model of A. Raab, G. A. Worth, H.-D. Meyer, L. S. Cederbaum,
# J. Chem. Phys. 110, 936 (1999).
#
# Shipped with ehrenspeed (ehrenspeed.models.Pyrazine24 is this file), written by
# scripts/make_pyrazine24_op.py from the tables of ehrenspeed/models/pyrazine24.py.
# Numbers: pyTTN's example Hamiltonian of this model (github.com/llindoy/pyttn,
# examples/pyrazine/pyrazine_hamiltonian.py, commit ae242ca), with its signs.
#
# Coordinates: dimensionless normal coordinates, H_a = w_a (p_a^2 + q_a^2)/2.
# Bilinear terms: each constant is tabulated once for a pair of modes; the
# product carries twice the tabulated value (both orderings of the pair), on
# the diagonal and on the S1-S2 coupling, as in ehrenspeed's pyrazine4.op (the
# convention that reproduces MCTDH's 4-mode populations; docs/models.md).
# Diagonal quadratic constants enter once (gamma q^2).
"""


def _value(x: float) -> str:
    return f"{x: .5f} , ev"


def lines() -> list[str]:
    out = [HEADER, "OP_DEFINE-SECTION", "title",
           "Pyrazine S1/S2, 24 modes, second-order vibronic coupling (Raab et al. 1999)",
           "end-title", "end-op_define-section", "", "PARAMETER-SECTION"]
    params, terms = [], []
    col = {mode: i + 2 for i, mode in enumerate(MODES24)}     # column 1 is the electronic dof
    for mode in MODES24:
        params.append(f"w_{mode} = {_value(OMEGA[mode])}")
        terms += [f"w_{mode} |{col[mode]} KE", f"0.5*w_{mode} |{col[mode]} q^2"]
    params.append(f"delta = {_value(DELTA)}")
    terms += ["-delta |1 S1&1", "delta |1 S2&2"]
    for k in range(2):
        for mode, value in zip(SYMMETRY["Ag"], KAPPA[k]):
            params.append(f"k_s{k + 1}_{mode} = {_value(value)}")
            terms.append(f"k_s{k + 1}_{mode} |1 S{k + 1}&{k + 1} |{col[mode]} q")
    for block, tables in QUADRATIC.items():
        modes = SYMMETRY[block]
        for k, table in enumerate(tables):
            state = f"|1 S{k + 1}&{k + 1}"
            for i, mi in enumerate(modes):
                for j in range(i, len(modes)):
                    mj = modes[j]
                    if table[i][j] == 0.0:
                        continue
                    if i == j:
                        name = f"g_s{k + 1}_{mi}"
                        terms.append(f"{name} {state} |{col[mi]} q^2")
                    else:
                        name = f"b_s{k + 1}_{mi}_{mj}"
                        terms.append(f"2*{name} {state} |{col[mi]} q |{col[mj]} q")
                    params.append(f"{name} = {_value(table[i][j])}")
    params.append(f"lambda = {_value(LAMBDA)}")
    terms.append("lambda |1 S1&2 |2 q")
    for (first, second), table in COUPLING.items():
        for i, mi in enumerate(SYMMETRY[first]):
            for j, mj in enumerate(SYMMETRY[second]):
                name = f"c_{mi}_{mj}"
                params.append(f"{name} = {_value(table[i][j])}")
                terms.append(f"2*{name} |1 S1&2 |{col[mi]} q |{col[mj]} q")
    out += params + ["end-parameter-section", "", "HAMILTONIAN-SECTION",
                     "modes | el | " + " | ".join(MODES24)]
    out += terms + ["end-hamiltonian-section", "", "end-operator"]
    return out


if __name__ == "__main__":
    sys.stdout.write("\n".join(lines()) + "\n")
