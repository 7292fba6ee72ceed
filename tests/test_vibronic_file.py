"""Vibronic coupling models read from a parameter file."""

from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es

EXAMPLE = Path(__file__).parents[1] / "examples" / "models" / "pyrazine3_lvc.toml"


def test_file_reproduces_pyrazine3():
    model = es.models.VibronicCoupling.from_file(EXAMPLE)
    ref = es.models.Pyrazine3()
    q = np.random.default_rng(0).normal(size=(10, 3))
    assert np.allclose(model.potential(q), ref.potential(q), rtol=0, atol=1e-15)
    assert np.allclose(model.mass, ref.mass)


def test_quadratic_terms_from_file(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('omega = [1.0, 2.0]\nenergies = [0.0, 1.0]\n'
                 '[[gamma]]\nstate = 1\nmodes = [0, 1]\nvalue = 0.3\n'
                 '[[mu]]\nstates = [0, 1]\nmodes = [1, 1]\nvalue = 0.2\n')
    model = es.models.VibronicCoupling.from_file(f)
    q = np.array([[0.5, -2.0]])
    v = model.potential(q)[0]
    assert np.isclose(v[1, 1], 1.0 + 0.5 * (0.25 + 2 * 4.0) + 0.3 * 0.5 * -2.0)
    assert np.isclose(v[0, 1], 0.2 * 4.0) and np.isclose(v[1, 0], 0.2 * 4.0)


@pytest.mark.parametrize("text,match", [
    ('omega = [1.0]\nenergies = [0.0]\ncolour = 1\n', "unknown key 'colour'"),
    ('omega = [1.0]\n', "missing key 'energies'"),
    ('omega = [1.0]\nenergies = [0.0]\n[[kappa]]\nstate = 3\nmode = 0\nvalue = 1.0\n', "state 3"),
    ('omega = [1.0\n', "TOML"),
])
def test_bad_files(tmp_path, text, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(es.InputError, match=match):
        es.models.VibronicCoupling.from_file(f)
