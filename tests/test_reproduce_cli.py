"""The ``ehrenspeed reproduce`` command line."""

from ehrenspeed.cli.main import main


def test_unknown_reproduction_exits_2(tmp_path, capsys):
    assert main(["reproduce", "nonsense", "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_help_lists_the_names(capsys):
    assert main(["reproduce", "--help"]) == 0
    text = capsys.readouterr().out
    for name in ("pyrazine", "chemisorption", "furan", "retinal", "primer", "--quick"):
        assert name in text
