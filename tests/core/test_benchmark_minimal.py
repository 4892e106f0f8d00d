"""The benchmark's yardstick (benchmarks/minimal.py) computes the scenario it claims to."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_minimal():
    spec = importlib.util.spec_from_file_location("minimal", ROOT / "benchmarks" / "minimal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_minimal_script_matches_the_scenario_closed_forms(tmp_path: Path) -> None:
    minimal = load_minimal()
    n = 40_000
    r = minimal.simulate(n, seed=3)
    nhs, council = r["net"]
    # shared/reference/benchmark-scenario.md, section 5: means and sds of net_p.
    for x, mean, sd in ((nhs, 2_240_016.26, 1_708_833.07), (council, 5_280_038.32, 4_027_963.66)):
        assert abs(x.mean() - mean) < 4 * sd / np.sqrt(n)
        assert x.std() == pytest.approx(sd, rel=0.03)
    # Shared in proportion and returned in proportion: net_nhs / net_council = 14/33.
    np.testing.assert_allclose(nhs * 33, council * 14, rtol=1e-9, atol=1e-3)
    # Money balances: the partners' yearly nets add up to the top-ups less the reserve returned.
    pool = r["net_year"].sum(axis=1).sum(axis=0)
    np.testing.assert_allclose(pool, r["variance"].sum(axis=0), rtol=1e-9, atol=1e-3)

    minimal.write(tmp_path, minimal.simulate(2_000, seed=1))
    with open(tmp_path / "summary.csv", encoding="utf-8") as f:
        assert [row[0] for row in csv.reader(f)] == ["partner", "nhs", "council", "pool"]
    assert (tmp_path / "by_year.csv").exists() and (tmp_path / "pool_by_year.csv").exists()
    assert {p.name for p in tmp_path.glob("per_simulation.*")}
