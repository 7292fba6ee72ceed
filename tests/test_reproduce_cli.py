"""The ``ehrenspeed reproduce`` command line: names, option checks before any file, MPI."""

import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.reproduce import reproduce


def test_unknown_reproduction_exits_2(tmp_path, capsys):
    assert main(["reproduce", "nonsense", "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_help_lists_the_names(capsys):
    assert main(["reproduce", "--help"]) == 0
    text = capsys.readouterr().out
    for name in ("pyrazine", "chemisorption", "furan", "retinal", "primer", "--quick"):
        assert name in text


def test_negative_seed_is_a_usage_error_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["reproduce", "pyrazine", "--quick", "--seed", "-1", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("name,parameters", [("furan", "nonsense"), ("pyrazine", "abinitio")])
def test_unknown_parameter_set_exits_2_and_creates_nothing(tmp_path, capsys, name, parameters):
    out = tmp_path / "p"
    assert main(["reproduce", name, "--quick", "--parameters", parameters, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and parameters in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_furan_reproduction_offers_the_abinitio_fit():
    from ehrenspeed.reproduce import furan

    assert furan.PARAMETER_SETS == ("illustrative", "abinitio", "abinitio-wb97xd")
    assert es.models.FuranDimer(parameters="abinitio").parameter_set == "abinitio"


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_library_checks_the_seed_before_creating_the_directory(tmp_path, seed):
    out = tmp_path / "p"
    with pytest.raises(es.InputError, match="seed must be an integer >= 0"):
        reproduce("pyrazine", out, quick=True, seed=seed)
    assert not out.exists()


def test_reproduce_refuses_under_an_mpi_launcher_on_rank_0(tmp_path, capsys, monkeypatch):
    """Started by mpiexec: rank 0 says how to run it, the other ranks end silently; nothing written."""
    out = tmp_path / "p"
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    assert main(["reproduce", "primer", "--quick", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "without mpiexec" in err[0]
    monkeypatch.setenv("PMI_RANK", "1")
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "primer", "--quick", "-o", str(out)])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ""
    assert not out.exists()


def test_reports_error_rank_0_only_for_shared_errors(monkeypatch):
    """Before MPI starts every rank raises the same input error: only rank 0 prints it."""
    from ehrenspeed.parallel import reports_error

    error = es.InputError("bad key")
    assert reports_error(error)                   # no launcher
    monkeypatch.setenv("PMI_SIZE", "3")
    monkeypatch.setenv("PMI_RANK", "0")
    assert reports_error(error)
    monkeypatch.setenv("PMI_RANK", "2")
    assert not reports_error(error)
