"""SHARC LVC.template files: reading, writing, round trips and refusals (issue 19)."""

import numpy as np
import pytest
from conftest import random_quadratic_model

import ehrenspeed as es
from ehrenspeed.errors import InputError

VC = es.models.VibronicCoupling

# the layout of SHARC's examples/SHARC_LVC (SO2): 9 Cartesian modes, 6 of them zero
V0 = """\
Geometry
 S     16.    0.00000000    0.00000000   -0.00039079   31.97207180
 O      8.    0.00000000   -2.38362453    1.36159121   15.99491464
 O      8.    0.00000000    2.38362453    1.36159120   15.99491464
Frequencies
 -0.0 0.0 0.0 0.0 0.0 0.0 0.0023635993 0.0053089059 0.0064027455
Mass-weighted normal modes
""" + "\n".join(" ".join("1.0" if i == j else "0.0" for j in range(9)) for i in range(9)) + "\n"

TEMPLATE = """\
V0.txt
2 0 1
charge 0 1 0
epsilon
3
  1   1  0.0
  1   2  0.15
  3   1  0.12
eta
1
  1   1   2  0.001
kappa
3
  1   1     7 -6.5e-04
  1   2     8  1.1e-02
  3   1     9  2.0e-03
lambda
1
  1   1   2     9  1.6e-02
lambda_soc
0
gamma
2
  1   2   2   7   7  0.0004
  1   1   2   7   8  0.0002
SOC R
 0.0 0.0 0.0 0.0 0.0
 0.0 0.0 0.0 0.0 0.0
 0.0 0.0 0.0 0.0 0.0
 0.0 0.0 0.0 0.0 0.0
 0.0 0.0 0.0 0.0 0.0
DMX R
 0.1 0.0 0.0 0.0 0.0
 0.0 0.1 0.0 0.0 0.0
 0.0 0.0 0.1 0.0 0.0
 0.0 0.0 0.0 0.1 0.0
 0.0 0.0 0.0 0.0 0.1
"""


def write(tmp_path, template=TEMPLATE, v0=V0):
    (tmp_path / "V0.txt").write_text(v0)
    path = tmp_path / "LVC.template"
    path.write_text(template)
    return path


def test_reads_sharc_layout(tmp_path):
    model = VC.from_sharc(write(tmp_path))
    assert (model.n_states, model.n_dof) == (3, 3)           # 2 singlets + 1 triplet; 3 nonzero modes
    assert model.mode_labels == ("7", "8", "9")
    np.testing.assert_array_equal(model.omega, [0.0023635993, 0.0053089059, 0.0064027455])
    q = np.array([[0.4, -1.2, 0.7]])
    x, y, z = q[0]
    harmonic = 0.5 * (0.0023635993 * x**2 + 0.0053089059 * y**2 + 0.0064027455 * z**2)
    v = model.potential(q)[0]
    assert v[0, 0] == pytest.approx(harmonic - 6.5e-4 * x)
    assert v[1, 1] == pytest.approx(harmonic + 0.15 + 1.1e-2 * y + 0.0004 * x * x)
    assert v[2, 2] == pytest.approx(harmonic + 0.12 + 2.0e-3 * z)
    assert v[0, 1] == pytest.approx(0.001 + 1.6e-2 * z + 0.0002 * x * y)
    assert v[0, 2] == 0.0 and v[1, 2] == 0.0                  # no coupling across multiplicities


@pytest.mark.parametrize("make", [random_quadratic_model, es.models.Pyrazine3])
def test_round_trip(tmp_path, make):
    model = make()
    model.to_sharc(tmp_path / "LVC.template")
    back = VC.from_sharc(tmp_path / "LVC.template")
    np.testing.assert_array_equal(back.omega, model.omega)
    np.testing.assert_array_equal(back._constant, model._constant)
    np.testing.assert_array_equal(back._linear, model._linear)
    q = np.random.default_rng(5).normal(size=(6, model.n_dof))
    for what in ("potential", "gradient", "hessian"):
        np.testing.assert_allclose(getattr(back, what)(q), getattr(model, what)(q), rtol=1e-13, atol=1e-16)


def replace(old, new):
    assert old in TEMPLATE
    return TEMPLATE.replace(old, new, 1)


BAD = [
    ("state beyond the dimension", replace("  1   2  0.15", "  1   3  0.15"), 7, "beyond the electronic dimension"),
    ("mode beyond V0", replace("  1   2     8", "  1   2    10"), 15, "mode 10 is not in V0.txt"),
    ("mode with zero frequency", replace("  1   2     8", "  1   2     3"), 15, "zero frequency"),
    ("duplicate parameter", replace("  1   2     8  1.1e-02", "  1   1     7  1.1e-02"), 15,
     "duplicate parameter"),
    ("nonzero SOC", replace("SOC R\n 0.0 0.0", "SOC R\n 0.0 1e-5"), 26, "SOC"),
    ("lambda_soc", replace("lambda_soc\n0", "lambda_soc\n1\n1 2 9 R 0.1"), 20, "lambda_soc"),
    ("malformed entry", replace("  3   1     9  2.0e-03", "  3   1     x  2.0e-03"), 16, "3 integers and a number"),
    ("count beyond the file", TEMPLATE.split("SOC R")[0].replace("gamma\n2", "gamma\n9"), 25, "file ends"),
    ("unknown entry", replace("eta\n", "etta\n"), 9, "unknown entry"),
    ("bad states line", replace("2 0 1", "two"), 2, "states line"),
    ("eta on one state", replace("  1   1   2  0.001", "  1   2   2  0.001"), 11, "with itself"),
]


@pytest.mark.parametrize("template,line,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_template_names_file_line_and_problem(tmp_path, template, line, words):
    path = write(tmp_path, template)
    with pytest.raises(InputError) as info:
        VC.from_sharc(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message


def test_missing_v0_frequencies(tmp_path):
    path = write(tmp_path, v0="Geometry\n")
    with pytest.raises(InputError, match=r"V0.txt:1: missing section: no 'Frequencies' line"):
        VC.from_sharc(path)
