"""Fault injection: SIGINT and SIGKILL during run and sweep, concurrent runs to one folder.

Real processes of the installed ``riskshare`` command. A run is interrupted
once its simulation has started (a second thread appears: BLAS is held to one
thread), a sweep once its first point is saved.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._support import BAD_INPUT, INTERRUPTED, OK, env_for_subprocess, expect, leftovers

EXE = Path(sys.executable).with_name("riskshare")
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or not EXE.exists(),
    reason="needs Linux /proc and the installed riskshare command",
)


def start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(EXE), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for_subprocess(),
    )


def wait_until(condition, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"finished before the fault could be injected: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the process never reached the point of the fault")
        time.sleep(0.02)


def simulating(proc: subprocess.Popen[str]):
    return lambda: len(list(Path(f"/proc/{proc.pid}/task").iterdir())) >= 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_exits_130_and_writes_nothing(tmp_path: Path, tiny: Path, sig) -> None:
    out = tmp_path / "results" / "d"
    proc = start("run", tiny, "--sims", "20000000", "--workers", "2", "--out", out, "--quiet")
    wait_until(simulating(proc), proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == INTERRUPTED, err
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists() and not leftovers(tmp_path)


def test_killed_run_then_the_next_run_cleans_up(tmp_path: Path, tiny: Path, cli) -> None:
    out = tmp_path / "d"
    out.mkdir()
    proc = start("run", tiny, "--sims", "20000000", "--workers", "2", "--out", out, "--quiet")
    wait_until(simulating(proc), proc)
    proc.kill()
    proc.wait(timeout=60)
    # What a kill at any moment can leave: a staging folder of a process that is gone.
    stale = out / f".riskshare-partial-{proc.pid}-0badc0de"
    stale.mkdir(exist_ok=True)
    (stale / "summary.csv").write_text("half-written")
    expect(cli("run", tiny, "--sims", "200", "--quiet", "--out", out), OK)
    assert not leftovers(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"] + ["manifest.json"]) == sorted(p.name for p in out.iterdir())


def _sweep(tmp_path: Path, tiny: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"config: {tiny.name}\nsims: 40000\nseed: 5\n"
        "grid:\n  contributions.council.factor: [0.9, 1.0, 1.1, 1.2, 1.3, 1.4]\n"
    )
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_sweep_resumes_to_the_same_numbers(tmp_path: Path, tiny: Path, cli, sig):
    sweep = _sweep(tmp_path, tiny)
    out = tmp_path / "sw"
    proc = start("sweep", sweep, "--out", out)
    wait_until(lambda: any((out / "points").glob("*.json")), proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == INTERRUPTED and "Traceback" not in err, err
    assert not (out / "manifest.json").exists() and not (out / "sweep.csv").exists()
    expect(cli("sweep", sweep, "--out", out), OK)
    resumed = (out / "sweep.csv").read_bytes()
    fresh = tmp_path / "fresh"
    expect(cli("sweep", sweep, "--out", fresh), OK)
    assert resumed == (fresh / "sweep.csv").read_bytes()
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("force", [False, True])
def test_two_runs_into_one_folder_at_once(tmp_path: Path, tiny: Path, force: bool) -> None:
    out = tmp_path / "d"
    extra = ["--force"] if force else []
    procs = [
        start("run", tiny, "--sims", "200000", "--seed", seed, "--out", out, "--quiet", *extra)
        for seed in (1, 2)
    ]
    codes = sorted(p.wait(timeout=300) for p in procs)
    errors = [p.stderr.read() for p in procs]
    assert all("Traceback" not in e for e in errors), errors
    assert codes == ([OK, OK] if force else [OK, BAD_INPUT]), errors
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"] + ["manifest.json"]) == sorted(p.name for p in out.iterdir())
    config = json.loads((out / "config.json").read_text())
    assert config["simulation"]["years"] == 2 and manifest["seed"] in (1, 2)
    assert not leftovers(tmp_path)
