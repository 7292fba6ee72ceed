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


@pytest.mark.parametrize("name", ["scipy", pytest.param("fftw", marks=needs_fftw)])
@pytest.mark.parametrize("shape, axes", [((3, 12, 10, 8), (1, 2, 3)), ((2, 64), (1,))])
def test_in_place_transforms(name, shape, axes, restore_library):
    # the split operator's planned transforms: NumPy's forward transform, and an
    # inverse that is n times NumPy's (the 1/n goes into the kinetic phase)
    fft.set_library(name)
    rng = np.random.default_rng(3)
    psi = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    transforms = fft.InPlaceTransforms(shape, axes, workers=2)
    assert transforms.library == name
    assert transforms.inverse_scale == 1.0 / np.prod([shape[a] for a in axes])
    forward = transforms.forward(psi.copy())
    scale = np.max(np.abs(forward))
    assert np.max(np.abs(forward - np.fft.fftn(psi, axes=axes))) < 1e-14 * scale
    back = transforms.inverse_unnormalised(forward) * transforms.inverse_scale
    assert np.max(np.abs(back - psi)) < 1e-14
    if name == "fftw":
        # one aligned buffer, transformed in place; the caller's array is only read
        original = psi.copy()
        assert transforms.forward(psi) is transforms.buffer
        assert np.array_equal(psi, original)
        assert transforms.inverse_unnormalised(transforms.buffer) is transforms.buffer
