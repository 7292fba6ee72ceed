"""MCTDH operator files: reading, writing, round trips and every refusal (issue 19)."""

import textwrap

import numpy as np
import pytest
from conftest import random_quadratic_model

import ehrenspeed as es
from ehrenspeed.errors import InputError
from ehrenspeed.units import EV, INV_CM

VC = es.models.VibronicCoupling

# a two-state, two-mode model using every supported construct once
GOOD = """\
# comment line
OP_DEFINE-SECTION
title
test model
end-title
end-op_define-section

PARAMETER-SECTION
w1    = 0.1 , ev            # a comment after a value
w2    = 800.0 , cm-1
half  = 0.5
k1    = -0.05 , ev
lam   = 2.0d-1 * w1 / 2     # an expression of earlier parameters, au
g     = 1.0e-3 , au
b12   = 0.004 , ev
gap   = 0.4 , eV
end-parameter-section

LABELS-SECTION
end-labels-section

HAMILTONIAN-SECTION
modes | el | v1 | v2
w1        |2 KE
half*w1   |2 q^2
-0.5*w2   |3 dq^2
half*w2   |3 q^2
-gap      |1 S1&1
gap       |1 S2&2
0.01      |1 S1&2
k1        |1 S1&1 |2 q
-k1       |1 S2&2 |2 q
lam       |1 S1&2 |3 q
g         |1 S2&2 |3 q^2
b12       |1 S1&1 |2 q |3 q
b12       |1 S1&2 |v1 q |v2 q
0.002     |2 q
end-hamiltonian-section

HAMILTONIAN-SECTION_pop2
modes | el | v1 | v2
1.0       |1 S2&2
end-hamiltonian-section

end-operator
"""


def write(tmp_path, text, name="model.op"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_reads_every_supported_construct(tmp_path):
    model = VC.from_mctdh(write(tmp_path, GOOD))
    w1, w2 = 0.1 * EV, 800.0 * INV_CM
    np.testing.assert_allclose(model.omega, [w1, w2], rtol=1e-15)
    assert model.mode_labels == ("v1", "v2")
    assert model.name == "model"
    q = np.array([[0.3, -0.7]])
    x, y = q[0]
    gap, k1, lam, g, b12 = 0.4 * EV, -0.05 * EV, 0.2 * w1 / 2, 1e-3, 0.004 * EV
    harmonic = 0.5 * w1 * x**2 + 0.5 * w2 * y**2 + 0.002 * x
    expected = np.array([
        [harmonic - gap + k1 * x + b12 * x * y, 0.01 + lam * y + b12 * x * y],
        [0.01 + lam * y + b12 * x * y, harmonic + gap - k1 * x + g * y**2],
    ])
    np.testing.assert_allclose(model.potential(q)[0], expected, rtol=1e-13, atol=1e-17)


def test_unit_constants_are_codata_2018():
    # CODATA 2018: 1 Eh = 27.211386245988 eV = 219474.6313632 cm^-1
    assert EV == pytest.approx(1 / 27.211386245988, rel=1e-8)
    assert INV_CM == pytest.approx(1 / 219474.6313632, rel=1e-12)


@pytest.mark.parametrize("make", [random_quadratic_model, es.models.Pyrazine3, es.models.PyrazineSchneiderDomcke])
def test_round_trip(tmp_path, make):
    model = make()
    path = tmp_path / "out.op"
    model.to_mctdh(path)
    back = VC.from_mctdh(path)
    assert (back.n_states, back.n_dof) == (model.n_states, model.n_dof)
    assert back.mode_labels == model.mode_labels
    np.testing.assert_array_equal(back.omega, model.omega)
    np.testing.assert_array_equal(back._constant, model._constant)
    np.testing.assert_array_equal(back._linear, model._linear)
    sym = lambda m: m._quadratic + np.swapaxes(m._quadratic, 0, 1)
    np.testing.assert_allclose(sym(back), sym(model), rtol=0, atol=1e-17)
    q = np.random.default_rng(3).normal(size=(7, model.n_dof))
    for what in ("potential", "gradient", "hessian"):
        np.testing.assert_allclose(getattr(back, what)(q), getattr(model, what)(q), rtol=1e-13, atol=1e-16)


def test_second_round_trip_is_textually_identical(tmp_path):
    model = random_quadratic_model()
    model.to_mctdh(tmp_path / "a.op")
    VC.from_mctdh(tmp_path / "a.op").to_mctdh(tmp_path / "b.op")
    text = lambda p: p.read_text().split("end-title")[1]
    assert text(tmp_path / "a.op") == text(tmp_path / "b.op")


HAM = "HAMILTONIAN-SECTION\nmodes | el | v1\n1.0 |2 KE\n0.5 |2 q^2\n0.0 |1 S1&1\n0.1 |1 S2&2\n"
END = "end-hamiltonian-section\nend-operator\n"
PAR = "PARAMETER-SECTION\nw = 1.0\nend-parameter-section\n"

BAD = [
    ("missing section", PAR, 3, "missing section"),
    ("unclosed section", "PARAMETER-SECTION\nw = 1.0\n" + HAM + END, 1, "not closed"),
    ("undefined parameter", HAM + "kap |1 S1&1 |2 q\n" + END, 7, "undefined parameter 'kap'"),
    ("unknown unit", "PARAMETER-SECTION\nw = 1.0 , kcal\nend-parameter-section\n" + HAM + END, 2,
     "unknown unit 'kcal'"),
    ("duplicate parameter", "PARAMETER-SECTION\nw = 1.0\nw = 2.0\nend-parameter-section\n" + HAM + END, 3,
     "duplicate parameter 'w'"),
    ("mode not in modes line", HAM + "0.1 |3 q\n" + END, 7, "mode 3 is not in the modes line"),
    ("mode label not in modes line", HAM + "0.1 |v9 q\n" + END, 7, "mode 'v9' is not in the modes line"),
    ("anharmonic term", HAM + "0.1 |1 S1&1 |2 q^3\n" + END, 7, "unsupported operator 'q^3'"),
    ("anharmonic product", HAM + "0.1 |1 S1&1 |2 q*q^2\n" + END, 7, "degree 3"),
    ("function of q", HAM + "0.1 |2 cos\n" + END, 7, "unsupported operator 'cos'"),
    ("non-harmonic mode", "HAMILTONIAN-SECTION\nmodes | el | v1\n1.0 |2 KE\n0.0 |1 S1&1\n" + END, 3,
     "not harmonic"),
    ("kinetic frequency mismatch", "HAMILTONIAN-SECTION\nmodes | el | v1\n1.0 |2 KE\n0.3 |2 q^2\n" + END, 4,
     "not half the kinetic-energy"),
    ("no kinetic energy", "HAMILTONIAN-SECTION\nmodes | el | v1\n0.5 |2 q^2\n" + END, 1,
     "no kinetic-energy term"),
    ("kinetic times electronic", HAM + "0.1 |1 S1&2 |2 KE\n" + END, 7, "kinetic operator KE combined"),
    ("first derivative", HAM + "0.1 |2 dq\n" + END, 7, "unsupported operator 'dq'"),
    ("non-symmetric electronic operator", HAM + "0.1 |1 Z1&2\n" + END, 7, "unsupported operator 'Z1&2'"),
    ("complex coefficient", HAM + "I*0.1 |1 S1&2\n" + END, 7, "complex coefficient"),
    ("state index zero", HAM + "0.1 |1 S0&1\n" + END, 7, "state index 0"),
    ("electronic operator on a vibration", HAM + "0.1 |2 S1&2\n" + END, 7, "on the vibrational mode"),
    ("unknown section", "FOO-SECTION\nend-foo-section\n" + HAM + END, 1, "unknown section"),
    ("no modes line", "HAMILTONIAN-SECTION\n1.0 |2 KE\n" + END, 2, "must start with a 'modes"),
    ("bad expression", HAM + "0.1*(2 |1 S1&1\n" + END, 7, "missing ')'"),
    ("text outside a section", "hello\n" + HAM + END, 1, "outside a section"),
]


@pytest.mark.parametrize("text,line,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_file_names_file_line_and_problem(tmp_path, text, line, words):
    path = write(tmp_path, text, "bad.op")
    with pytest.raises(InputError) as info:
        VC.from_mctdh(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message


def test_state_index_beyond_the_electronic_dimension(tmp_path):
    path = write(tmp_path, HAM + "0.1 |1 S2&3\n" + END)
    with pytest.raises(InputError, match=rf"^{path}:7: state index 3 is beyond the electronic dimension 2"):
        VC.from_mctdh(path, n_states=2)
    assert VC.from_mctdh(path).n_states == 3  # by default the file's highest index


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r":1: operator file does not exist"):
        VC.from_mctdh(tmp_path / "nope.op")


def test_bilinear_term_counts_once_as_written(tmp_path):
    """``c |a q |b q`` adds c q_a q_b once; a model whose Hamiltonian sums over both
    orderings must say 2c in the file (the Pyrazine4 file does)."""
    text = ("HAMILTONIAN-SECTION\nmodes | el | a | b\n1.0 |2 KE\n0.5 |2 q^2\n1.0 |3 KE\n0.5 |3 q^2\n"
            "0.0 |1 S1&1\n0.3 |1 S1&1 |2 q |3 q\n" + END)
    model = VC.from_mctdh(write(tmp_path, text))
    q = np.array([[2.0, 5.0]])
    assert model.potential(q)[0, 0, 0] == pytest.approx(0.5 * 4 + 0.5 * 25 + 0.3 * 10)


# -- [model] mctdh_operator in a configuration ----------------------------------------
CONFIG = """\
[model]
mctdh_operator = "{op}"

[initial]
from_model = true
state = 1

[method]
name = "{method}"

[run]
n_traj = 8
dt = 10.0
t_final = 100.0
seed = 2
"""


def test_config_reads_the_operator_file_relative_to_the_config(tmp_path):
    from ehrenspeed.config import load_config

    (tmp_path / "ops").mkdir()
    es.models.Pyrazine3().to_mctdh(tmp_path / "ops" / "pyr.op")
    (tmp_path / "run.toml").write_text(CONFIG.format(op="ops/pyr.op", method="ehrenfest"))
    prepared = load_config(tmp_path / "run.toml").build()
    model = prepared.model
    assert (model.n_states, model.n_dof) == (3, 3)
    q = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(model.potential(q), es.models.Pyrazine3().potential(q), rtol=1e-13, atol=1e-17)
    assert prepared.wavepacket.state == 1


CLI_BAD = ["missing section", "undefined parameter", "unknown unit", "duplicate parameter", "mode not in modes line",
           "anharmonic term", "non-harmonic mode", "kinetic frequency mismatch"]


@pytest.mark.parametrize("case", CLI_BAD)
def test_config_bad_operator_file_is_one_line_error_exit_2(tmp_path, capsys, case):
    from ehrenspeed.cli.main import main

    _, text, line, words = next(b for b in BAD if b[0] == case)
    write(tmp_path, text, "bad.op")
    (tmp_path / "run.toml").write_text(CONFIG.format(op="bad.op", method="ehrenfest"))
    assert main(["run", str(tmp_path / "run.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'bad.op'}:{line}: "), err
    assert words in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.op", "run.toml"]   # nothing written


def test_config_mctdh_operator_excludes_name_and_parameters(tmp_path):
    from ehrenspeed.config import load_config

    (tmp_path / "run.toml").write_text(CONFIG.format(op="x.op", method="ehrenfest").replace(
        "[model]\n", "[model]\nname = \"pyrazine3\"\n"))
    with pytest.raises(InputError, match="exactly one of 'model.name', 'model.python_model' or "
                                         "'model.mctdh_operator'"):
        load_config(tmp_path / "run.toml")


def test_column_form_and_rulers(tmp_path):
    text = ("HAMILTONIAN-SECTION\n-----------------\nmodes | el | a | b\n-----------------\n"
            "1.0 | 1 | KE | 1\n0.5 | 1 | q^2 | 1\n2.0 | 1 | 1 | KE\n1.0 | 1 | 1 | q^2\n"
            "0.1 |1 S1&1\n0.3 |1 S2&2\n0.05 | S1&2 | q | 1\n-----------------\n" + END)
    model = VC.from_mctdh(write(tmp_path, text))
    np.testing.assert_array_equal(model.omega, [1.0, 2.0])
    q = np.array([[0.5, 1.0]])
    np.testing.assert_allclose(model.potential(q)[0], [[0.1 + 0.125 + 1.0, 0.025], [0.025, 0.3 + 0.125 + 1.0]])
