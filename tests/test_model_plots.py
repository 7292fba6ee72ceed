"""Pictures of models: surface cuts, SPEED's Taylor potential, ``ehrenspeed models NAME --plot``."""

from pathlib import Path

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.errors import InputError
from ehrenspeed.model_plots import surface_cut, taylor_cut

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_cut_holds_the_model_and_its_eigenvalues():
    model = es.models.Pyrazine3()
    cut = surface_cut(model, coordinate=2, lower=-2.0, upper=3.0, points=11)
    assert np.allclose(cut.q, np.linspace(-2.0, 3.0, 11))
    # the other coordinates stay at the wavepacket centre, the varied one takes the cut's values
    assert np.allclose(cut.geometries[:, :2], model.initial_wavepacket().q0[:2])
    assert np.allclose(cut.potential, model.potential(cut.geometries))
    assert np.allclose(cut.adiabatic, np.linalg.eigvalsh(model.potential(cut.geometries)))
    # a periodic coordinate spans its period by default
    retinal = es.models.Retinal()
    cut = surface_cut(retinal, 0)
    assert cut.q[0] == pytest.approx(retinal.periods[0][0]) and cut.q[-1] == pytest.approx(retinal.periods[0][1])


def test_taylor_potential_is_exact_for_a_quadratic_model_and_not_for_retinal():
    quadratic = es.models.Pyrazine3(gamma=es.models.Pyrazine3.RAAB_GAMMA)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(7, 3))
    centre = np.array([0.3, -0.4, 0.5])
    assert np.allclose(taylor_cut(quadratic, centre, points), quadratic.potential(points), atol=1e-9)
    retinal = es.models.Retinal()
    cut = surface_cut(retinal, 0, -np.pi / 2, 3 * np.pi / 2, points=41)
    taylor = taylor_cut(retinal, [0.0, 0.0], cut.geometries)
    near = np.abs(cut.q) < 0.05
    assert np.allclose(taylor[near], cut.potential[near], atol=1e-6)       # second order at the point
    # at trans the excited diabat's expansion is an inverted parabola, far below the true curve
    at_trans = np.argmin(np.abs(cut.q - np.pi))
    assert taylor[at_trans, 1, 1] < cut.potential[at_trans, 1, 1] - 0.05


def test_bad_coordinate_and_range_are_input_errors():
    with pytest.raises(InputError, match="out of range"):
        surface_cut(es.models.Retinal(), 2)
    with pytest.raises(InputError, match="lower < upper"):
        surface_cut(es.models.Retinal(), 0, 1.0, 0.0)


def test_models_plot_writes_a_png(tmp_path):
    figure = tmp_path / "retinal.png"
    assert main(["models", "retinal", "--plot", "--coordinate", "1", "--range", "-3", "3", "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_plot_of_a_user_model_from_a_configuration_file(tmp_path):
    figure = tmp_path / "user.png"
    assert main(["models", str(EXAMPLES / "user_model.toml"), "--plot", "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_plot_bad_coordinate_is_one_line_and_exit_2(tmp_path, capsys):
    figure = tmp_path / "x.png"
    assert main(["models", "retinal", "--plot", "--coordinate", "7", "-o", str(figure)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "coordinate 7" in err and "\n" not in err
    assert not figure.exists()
