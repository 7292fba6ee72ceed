"""FFTW (pyFFTW, optional) and scipy.fft give the same transforms and the same exact dynamics."""

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.errors import InputError
from ehrenspeed.grid import fft

needs_fftw = pytest.mark.skipif(not fft.HAVE_FFTW, reason="pyFFTW not installed")


@pytest.fixture
def restore_library():
    old = fft.set_library("auto")
    yield
    fft.set_library(old)


@needs_fftw
@pytest.mark.parametrize("shape, axes", [((3, 16, 12, 10), (1, 2, 3)), ((2, 64), (1,)), ((2, 9, 7), (1, 2))])
def test_fftw_equals_scipy(shape, axes, restore_library):
    rng = np.random.default_rng(len(shape))
    psi = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    out = {}
    for name in ("scipy", "fftw"):
        fft.set_library(name)
        assert fft.library() == name
        forward = fft.fftn(psi.copy(), axes, workers=2, overwrite_x=True)
        back = fft.ifftn(forward.copy(), axes, workers=2, overwrite_x=True)
        out[name] = forward
        assert np.max(np.abs(back - psi)) < 1e-14
    scale = np.max(np.abs(out["scipy"]))
    assert np.max(np.abs(out["fftw"] - out["scipy"])) < 1e-14 * scale
    assert np.max(np.abs(out["scipy"] - np.fft.fftn(psi, axes=axes))) < 1e-14 * scale


@needs_fftw
def test_exact_run_is_the_same_with_fftw(restore_library):
    model = es.models.TullySimple()
    grid = es.Grid([-24.0], [24.0], [512])
    results = {}
    for name in ("scipy", "fftw"):
        fft.set_library(name)
        results[name] = es.run_exact(model, model.initial_wavepacket(), grid, dt=5.0, t_final=200.0,
                                     output_every=10)
    for key in ("population", "adiabatic_population", "position", "momentum", "total_energy", "norm"):
        assert np.max(np.abs(results["fftw"][key].values - results["scipy"][key].values)) < 1e-12, key


def test_auto_falls_back_to_scipy_without_pyfftw(monkeypatch, restore_library):
    monkeypatch.setattr(fft, "HAVE_FFTW", False)
    assert fft.library() == "scipy"
    with pytest.raises(InputError, match="pyFFTW"):
        fft.set_library("fftw")


def test_unknown_library_is_an_input_error(restore_library):
    with pytest.raises(InputError, match="FFT library"):
        fft.set_library("fftpack")
