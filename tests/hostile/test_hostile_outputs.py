"""Output folders and files: never lose a user's file, never leave a half-written folder.

The rules (riskshare.report.files): a destination must be free; --force replaces
only a previous riskshare results folder, and only the files its manifest
lists; no command writes over its own inputs; the check is repeated at the
final move; staging folders of killed runs are cleaned by the next run.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from ._support import BAD_INPUT, OK, expect, leftovers, snapshot

SIMS = ["--sims", "200", "--quiet"]


def run(cli, config: Path, out: Path | str, *extra: str):
    return cli("run", config, *SIMS, "--out", out, *extra)


def test_force_keeps_a_users_notes_and_replaces_only_riskshares_files(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    (out / "notes.txt").write_text("mine")
    expect(run(cli, tiny, out, "--force", "--seed", "9"), OK)
    assert (out / "notes.txt").read_text() == "mine"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 9 and "notes.txt" not in manifest["files"]
    assert all((out / f).exists() for f in manifest["files"])


def test_force_refuses_a_folder_riskshare_did_not_write(tmp_path, cli, tiny):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "budget.xlsx").write_bytes(b"PK")
    before = snapshot(out)
    expect(run(cli, tiny, out, "--force"), BAD_INPUT, "not a riskshare results folder")
    assert snapshot(out) == before


def test_force_refuses_when_a_users_file_has_the_name_of_an_output(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    (out / "report.html").write_text("my own report")  # not in the manifest
    expect(run(cli, tiny, out, "--force", "--report"), BAD_INPUT, "report.html")
    assert (out / "report.html").read_text() == "my own report"


def test_a_config_inside_the_results_folder_survives_force(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    config = out / "my_config.yaml"
    config.write_text(tiny.read_text())
    expect(run(cli, config, out, "--force"), OK)
    assert config.read_text() == tiny.read_text()


def test_a_results_folder_file_given_as_input_is_not_replaced(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    before = (out / "config.json").read_bytes()
    # config.json is riskshare's own output in that folder: --force would replace it.
    config = out / "config.json"
    result = cli("run", config, *SIMS, "--out", out, "--force")
    expect(result, BAD_INPUT)
    assert (out / "config.json").read_bytes() == before


def test_without_force_a_previous_results_folder_is_kept(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    before = snapshot(out)
    expect(run(cli, tiny, out), BAD_INPUT, "not empty")
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "where", ["file", "file/sub", "/proc/riskshare-x", "/dev/null/x", "/proc/self"]
)
def test_impossible_destinations_are_refused(tmp_path, cli, tiny, where):
    if where.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    (tmp_path / "file").write_text("keep")
    out = tmp_path / where if not where.startswith("/") else Path(where)
    expect(run(cli, tiny, out), BAD_INPUT, str(out))
    assert (tmp_path / "file").read_text() == "keep"
    assert not leftovers(tmp_path)


def test_out_dot_in_an_empty_folder_then_force(tmp_path, cli, tiny, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    expect(run(cli, tiny, "."), OK)
    assert (here / "manifest.json").exists()
    (here / "notes.txt").write_text("mine")
    expect(run(cli, tiny, "."), BAD_INPUT, "not empty")
    expect(run(cli, tiny, ".", "--force"), OK)
    assert (here / "notes.txt").read_text() == "mine"
    assert not leftovers(tmp_path)


def test_out_dot_in_a_users_folder_is_refused_even_with_force(tmp_path, cli, tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)  # holds tiny.yaml, the user's config
    before = snapshot(tmp_path)
    expect(run(cli, tiny, ".", "--force"), BAD_INPUT)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("stage", ["write_run", "write_html"])
def test_a_full_disk_leaves_nothing_behind(tmp_path, cli, tiny, monkeypatch, stage):
    import riskshare.report.files as files
    import riskshare.report.html as html

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "d" / "x"))

    monkeypatch.setattr(files if stage == "write_run" else html, stage, full)
    expect(run(cli, tiny, tmp_path / "d", "--report"), BAD_INPUT, "No space left on device")
    assert not (tmp_path / "d").exists()
    assert not leftovers(tmp_path)


def test_a_full_disk_under_force_keeps_the_previous_results(tmp_path, cli, tiny, monkeypatch):
    import riskshare.report.files as files

    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_run", full)
    expect(run(cli, tiny, out, "--force"), BAD_INPUT, "No space left on device")
    assert snapshot(out) == before


def test_stale_staging_of_a_killed_run_is_cleaned_by_the_next_run(tmp_path, cli, tiny):
    out = tmp_path / "d"
    out.mkdir()
    dead = out / ".riskshare-partial-999999999-deadbeef"  # no such process
    dead.mkdir()
    (dead / "summary.csv").write_text("half")
    expect(run(cli, tiny, out), OK)
    assert not dead.exists() and not leftovers(tmp_path)


def test_staging_of_a_live_run_is_left_alone(tmp_path, cli, tiny):
    out = tmp_path / "d"
    out.mkdir()
    live = out / f".riskshare-partial-{os.getppid()}-cafe0001"  # a process that exists
    live.mkdir()
    expect(run(cli, tiny, out), OK)
    assert live.exists()


def test_a_run_that_appears_meanwhile_is_not_replaced(tmp_path, cli, tiny, monkeypatch):
    """The target-is-free check is repeated when the files are moved in."""
    import riskshare.report.files as files

    out = tmp_path / "d"
    real = files.write_run

    def meanwhile(result, folder, **kwargs):
        other = out / "other"  # another command finishes first
        other.mkdir()
        (out / "manifest.json").write_text('{"command": "run", "files": ["other"]}')
        return real(result, folder, **kwargs)

    monkeypatch.setattr(files, "write_run", meanwhile)
    expect(run(cli, tiny, out), BAD_INPUT, "not empty")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "other"]


def test_interrupted_run_leaves_nothing(tmp_path, cli, tiny, monkeypatch):
    import riskshare.report.files as files

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_run", interrupt)
    result = run(cli, tiny, tmp_path / "a" / "b" / "d")
    assert result.exit_code == 130
    assert not (tmp_path / "a").exists()


def test_fit_does_not_write_over_its_history(tmp_path, cli):
    history = tmp_path / "h.csv"
    history.write_bytes(Path("examples/history.csv").read_bytes())
    before = history.read_bytes()
    expect(cli("fit", history, "--out", history), BAD_INPUT, "input")
    assert history.read_bytes() == before


def test_stress_does_not_write_over_its_config(tmp_path, cli, tiny):
    before = tiny.read_bytes()
    result = cli("stress", tiny, "--scenarios", "examples/stress.yaml", "--out", tiny)
    expect(result, BAD_INPUT, "input")
    assert tiny.read_bytes() == before


def test_stress_does_not_write_over_its_scenarios(tmp_path, cli, tiny):
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text("base: {simulation.seed: 3}\n")
    before = scenarios.read_bytes()
    result = cli("stress", tiny, "--scenarios", scenarios, "--out", scenarios)
    expect(result, BAD_INPUT, "input")
    assert scenarios.read_bytes() == before


@pytest.mark.parametrize("where", ["dir", "file/sub.json", "file/a/b.json"])
def test_schema_out_refuses_a_folder_or_a_path_under_a_file(tmp_path, cli, where):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("keep")
    expect(cli("schema", "--out", tmp_path / where), BAD_INPUT, str(tmp_path / where))
    assert (tmp_path / "file").read_text() == "keep"
    assert not any((tmp_path / "dir").iterdir())


def test_schema_out_to_a_new_file(tmp_path, cli):
    out = tmp_path / "s" / "schema.json"
    expect(cli("schema", "--out", out), OK)
    assert json.loads(out.read_text())["title"]
    assert not leftovers(tmp_path)


def test_report_out_refuses_an_existing_folder_and_its_own_inputs(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    (tmp_path / "existing").mkdir()
    expect(cli("report", out, "--out", tmp_path / "existing"), BAD_INPUT, "is a folder")
    before = snapshot(out)
    expect(cli("report", out, "--out", out / "manifest.json"), BAD_INPUT, "input")
    assert snapshot(out) == before


def test_report_into_its_folder_is_recorded_in_the_manifest(tmp_path, cli, tiny):
    out = tmp_path / "d"
    expect(run(cli, tiny, out), OK)
    expect(cli("report", out), OK)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "report.html" in manifest["files"]
    # so a later run --force replaces it instead of refusing it as the user's
    expect(run(cli, tiny, out, "--force"), OK)
    assert not (out / "report.html").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "--agreements", "configs/agreements/aligned.yaml", "--sims", "200"],
        [
            "solve",
            "--vary",
            "contributions.council",
            "--target",
            "council:p95<=2e6",
            "--sims",
            "200",
        ],
        ["sensitivity", "--sims", "100"],
        ["precise", "--target-rel", "0.5", "--max-sims", "2000"],
    ],
    ids=["compare", "solve", "sensitivity", "precise"],
)
def test_every_folder_command_follows_the_same_rules(tmp_path, cli, tiny, command):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    name, *rest = command
    expect(cli(name, tiny, *rest, "--out", out), BAD_INPUT, "not empty")
    expect(cli(name, tiny, *rest, "--out", out, "--force"), BAD_INPUT, "riskshare")
    assert snapshot(out) == {"notes.txt": b"mine"}


def _sweep_file(tmp_path: Path, tiny: Path, grid: str = "[1.0, 1.1]") -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"config: {tiny.name}\nsims: 200\nseed: 3\ngrid:\n  contributions.council.factor: {grid}\n"
    )
    return path


def test_sweep_into_a_run_folder_is_refused(tmp_path, cli, tiny):
    out = tmp_path / "run1"
    expect(run(cli, tiny, out), OK)
    before = snapshot(out)
    expect(cli("sweep", _sweep_file(tmp_path, tiny), "--out", out), BAD_INPUT, "not empty")
    assert snapshot(out) == before


def test_sweep_into_a_users_folder_is_refused(tmp_path, cli, tiny):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    expect(cli("sweep", _sweep_file(tmp_path, tiny), "--out", out), BAD_INPUT)
    assert snapshot(out) == {"notes.txt": b"mine"}


def test_sweep_resumes_in_its_own_folder(tmp_path, cli, tiny):
    out = tmp_path / "sw"
    sweep = _sweep_file(tmp_path, tiny)
    expect(cli("sweep", sweep, "--out", out), OK)
    first = (out / "sweep.csv").read_bytes()
    expect(cli("sweep", sweep, "--out", out), OK)
    assert (out / "sweep.csv").read_bytes() == first
    manifest = json.loads((out / "manifest.json").read_text())
    assert "points" in manifest["files"] and "sweep.csv" in manifest["files"]
    assert not leftovers(tmp_path)
