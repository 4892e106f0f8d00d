"""Every command prints its tables the same way: one money format, fitted to the terminal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from riskshare.cli.show import money, percent, print_table, signed_money

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "section75_example.yaml"


def test_money_and_percent_formats():
    assert money(4_123_630.0) == "£4,124k" and money(-150_400.0) == "-£150k"
    assert money(-400.0) == "£0k" and money(float("nan")) == ""
    assert signed_money(12_000.0) == "+£12k" and signed_money(-3_000.0) == "-£3k"
    assert percent(0.9434) == "94.3%" and percent(float("nan")) == ""


def test_a_table_fits_a_narrow_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    header = ["agreement / partner", "mean", "P95", "TVaR95", "P(cash call)", "P(> appetite)"]
    rows = [["Proportional with a 2 % reserve / council", *["£4,124k (+£12k ±£3k)"] * 5]]
    print_table(header, rows, title="A wide table")
    text = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # bold headings on a terminal
    lines = text.splitlines()
    assert lines[0] == "A wide table"
    assert max(len(line) for line in lines) <= 60, "\n".join(lines)
    assert "council" in "".join(lines)  # folded, not cut


def test_piped_tables_are_not_wrapped(capsys):
    header = ["partner", *(f"column {i}" for i in range(12))]
    print_table(header, [["council", *["£4,124k"] * 12]])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith("council") and lines[2].endswith("£4,124k")


def test_app_without_its_extra_says_how_to_install(monkeypatch):
    from riskshare.cli.core import app, register_commands

    register_commands()
    monkeypatch.setitem(sys.modules, "shiny", None)  # import shiny raises ImportError
    res = CliRunner().invoke(app, ["app", str(EXAMPLE)])
    assert res.exit_code == 2
    assert "riskshare[app]" in res.output and "Traceback" not in res.output
