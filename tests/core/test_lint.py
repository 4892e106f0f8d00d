"""Code health gates that run with the tests: ruff and the one-way layer contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    if not exe.exists():
        message = f"{tool} is not installed (it is in the dev dependency group)"
        if os.environ.get("CI"):  # a gate that skips itself in CI guards nothing
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    proc = run(
        "ruff", "check", "riskshare", "tests", "benchmarks", "examples", "docs", "conftest.py"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dependencies_run_one_way() -> None:
    # config -> sampling -> rules -> settle -> run -> analysis -> report -> cli
    proc = run("lint-imports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
