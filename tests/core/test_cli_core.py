"""The run, validate and schema commands end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskshare.cli.core import app, register_commands

register_commands()
runner = CliRunner()
EXAMPLE = "configs/section75_example.yaml"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_validate_good_and_bad(tmp_path: Path) -> None:
    ok = invoke("validate", EXAMPLE)
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        Path(EXAMPLE).read_text().replace("cv: 0.6", "cv: -0.6").replace("host: true", "hots: true")
    )
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    assert "Error: 2 problems:" in result.output
    assert f"{bad}: line" in result.output
    assert "client_groups[0].spend.cost.cv" in result.output
    assert "Traceback" not in result.output


def test_run_writes_the_documented_files(tmp_path: Path) -> None:
    out = tmp_path / "run1"
    result = invoke("run", EXAMPLE, "--sims", "3000", "--seed", "7", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Council" in result.output and "P95 (VaR)" in result.output
    files = {p.name for p in out.iterdir()}
    assert {
        "summary.csv",
        "by_year.csv",
        "pool_by_year.csv",
        "manifest.json",
        "config.json",
    } <= files
    assert "per_simulation.parquet" in files or "per_simulation.csv" in files
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(summary["partner"]) == ["council", "icb", "pool"]
    for col in (
        "mean",
        "sd",
        "p5",
        "p50",
        "p95",
        "p99",
        "tvar95",
        "tvar99",
        "prob_pays",
        "mean_se",
    ):
        assert col in summary.columns
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["n_sims"] == 3000
    assert len(manifest["config_sha256"]) == 64
    assert manifest["overrides"] == []
    per_sim = pd.read_parquet(out / "per_simulation.parquet")
    assert per_sim.shape == (3000, 3)
    assert per_sim["council"].mean() == pytest.approx(summary.loc[0, "mean"])
    assert not list(tmp_path.glob(".run1*")), "no temporary folders left behind"


def test_run_refuses_a_non_empty_folder_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    refused = invoke("run", EXAMPLE, "--sims", "100", "--out", str(out))
    assert refused.exit_code == 2 and "not empty" in refused.output
    assert (out / "keep.txt").exists()
    # --force replaces only a riskshare results folder, recognised by its manifest
    not_ours = invoke("run", EXAMPLE, "--sims", "100", "--out", str(out), "--force", "--quiet")
    assert not_ours.exit_code == 2 and "not a riskshare results folder" in not_ours.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()
    first = invoke("run", EXAMPLE, "--sims", "100", "--out", str(out), "--quiet")
    assert first.exit_code == 0
    (out / "keep.txt").write_text("x")  # the user's notes beside riskshare's files
    forced = invoke("run", EXAMPLE, "--sims", "200", "--out", str(out), "--force", "--quiet")
    assert forced.exit_code == 0, forced.output
    assert (out / "keep.txt").read_text() == "x", "a file riskshare did not write is kept"
    assert json.loads((out / "manifest.json").read_text())["n_sims"] == 200


def test_set_overrides_are_applied_recorded_and_validated(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = invoke(
        "run",
        EXAMPLE,
        "--sims",
        "200",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "simulation.years=3",
        "--set",
        "agreement.reserve.cap=5e5",
    )
    assert result.exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["overrides"] == ["simulation.years=3", "agreement.reserve.cap=5e5"]
    assert len(pd.read_csv(out / "pool_by_year.csv")) == 3
    bad = invoke(
        "run",
        EXAMPLE,
        "--sims",
        "200",
        "--out",
        str(tmp_path / "b"),
        "--set",
        "agreement.reserve.cap=-1",
    )
    assert bad.exit_code == 2 and "agreement.reserve.cap" in bad.output
    assert not (tmp_path / "b").exists()


def test_interrupted_write_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import riskshare.report.files as files

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_run", boom)
    out = tmp_path / "half"
    result = runner.invoke(app, ["run", EXAMPLE, "--sims", "100", "--out", str(out), "--quiet"])
    assert result.exit_code == 130
    assert not out.exists()
    assert not list(tmp_path.iterdir())


def test_schema_is_json() -> None:
    result = invoke("schema")
    schema = json.loads(result.output)
    assert "partners" in schema["properties"]


def test_installed_entry_point_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("riskshare")
    bad = tmp_path / "bad.yaml"
    bad.write_text("partners: 3\n")
    proc = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error:") and "Traceback" not in proc.stderr
    usage = subprocess.run([str(exe), "run"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_run_with_report_and_excel(tmp_path: Path) -> None:
    out = tmp_path / "full"
    result = invoke(
        "run", EXAMPLE, "--sims", "2000", "--out", str(out), "--quiet", "--report", "--excel"
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "results.xlsx").stat().st_size > 5_000
    no_out = invoke("run", EXAMPLE, "--sims", "100", "--report")
    assert no_out.exit_code == 2 and "--out" in no_out.output
