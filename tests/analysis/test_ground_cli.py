"""CLI: riskshare fit, sensitivity, stress, precise."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskshare.cli.core import app, register_commands
from riskshare.config import load_config

ROOT = Path(__file__).resolve().parents[2]
HISTORY = str(ROOT / "examples" / "history.csv")
EXAMPLE = str(ROOT / "configs" / "section75_example.yaml")

register_commands()
runner = CliRunner()


def test_fit_writes_fragment_and_full_config(tmp_path):
    out = tmp_path / "assumptions.yaml"
    res = runner.invoke(app, ["fit", HISTORY, "--base", EXAMPLE, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "client_groups:" in out.read_text() and "learning_disability" in res.output
    full = tmp_path / "fitted.yaml"
    res = runner.invoke(app, ["fit", HISTORY, "--base", EXAMPLE, "--full", "--out", str(full)])
    assert res.exit_code == 0, res.output
    model = load_config(full)
    assert model.partner_ids == ["council", "icb"] and model.correlation is not None


def test_fit_bad_file_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "h.csv"
    bad.write_text("year,group,spend\n2019,ld,100\n2020,ld,x\n2021,ld,120\n")
    res = runner.invoke(app, ["fit", str(bad)])
    assert res.exit_code == 2
    assert "row 3, column 'spend'" in res.output
    assert "Traceback" not in res.output


def test_sensitivity_writes_csv_and_png(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "assumptions:\n  client_groups[0].spend.cost.inflation: [0.04, 0.07]\n"
        "  client_groups[1].spend.growth: {absolute: 0.01}\n"
    )
    out = tmp_path / "sens"
    res = runner.invoke(
        app, ["sensitivity", EXAMPLE, "--spec", str(spec), "--sims", "1000", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "tornado.csv")
    assert set(table["measure"]) == {"mean", "p95"}
    assert (out / "tornado.png").stat().st_size > 1000


def test_sensitivity_bad_path_exits_2(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("assumptions:\n  client_groups[7].spend.cv: [0.1, 0.2]\n")
    res = runner.invoke(
        app, ["sensitivity", EXAMPLE, "--spec", str(spec), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "does not exist" in res.output


def test_stress_command(tmp_path):
    out = tmp_path / "stress.csv"
    res = runner.invoke(
        app,
        [
            "stress",
            EXAMPLE,
            "--scenarios",
            str(ROOT / "examples" / "stress.yaml"),
            "--sims",
            "1000",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert "base" in set(table["scenario"]) and len(set(table["scenario"])) == 6


def test_precise_command(tmp_path):
    res = runner.invoke(
        app, ["precise", EXAMPLE, "--target-rel", "0.05", "--out", str(tmp_path / "run")]
    )
    assert res.exit_code == 0, res.output
    assert "target met" in res.output
    assert (tmp_path / "run" / "precision.csv").exists()
    res = runner.invoke(app, ["precise", EXAMPLE])
    assert res.exit_code == 2


@pytest.mark.parametrize("cmd", ["fit", "sensitivity", "stress", "precise"])
def test_help(cmd):
    assert runner.invoke(app, [cmd, "--help"]).exit_code == 0
