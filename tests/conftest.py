"""Shared fixtures: the example configs, small models built in code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

import riskshare as rs

# CI replays the same examples on every run (a failure there is reproducible, and a
# submission is judged on its code, not on the draw); developers explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session")
def benchmark_model() -> rs.Model:
    """The benchmark scenario (configs/benchmark.yaml)."""
    return rs.load_config(CONFIGS / "benchmark.yaml")


@pytest.fixture(scope="session")
def example_model() -> rs.Model:
    """The realistic Section 75 example (configs/section75_example.yaml)."""
    return rs.load_config(CONFIGS / "section75_example.yaml")


@pytest.fixture(autouse=True)
def _run_from_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctests and examples use paths relative to the repository root."""
    monkeypatch.chdir(ROOT)
