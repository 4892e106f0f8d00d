"""Several schedules in one agreement: one explicit schedule, sums, results by schedule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.load import read_config_data, validate_data

ROOT = Path(__file__).resolve().parents[2]


def as_one_schedule(config: str) -> tuple[rs.Model, rs.Model]:
    """A config, and the same agreement written as one explicit schedule of every group."""
    data, _ = read_config_data(ROOT / "configs" / config)
    model = validate_data(data)
    agreement = dict(data.get("agreement") or {})
    name = agreement.pop("name", None)
    exit_ = agreement.pop("exit", None)
    one = json.loads(json.dumps(data))
    one["agreement"] = {
        "name": name,
        "schedules": [{"id": "all", "groups": model.group_ids, **agreement}],
    }
    assert exit_ is None
    return model, validate_data(one)


@pytest.mark.parametrize(
    "config", ["section75_example.yaml", "four_partners.yaml", "presets/bcf_holdback.yaml"]
)
def test_one_explicit_schedule_gives_identical_numbers(config: str) -> None:
    model, one = as_one_schedule(config)
    paths = rs.sample(model, n_sims=3000, seed=4)
    a, b = rs.settle(model, paths), rs.settle(one, paths)
    np.testing.assert_array_equal(a.net(), b.net())
    np.testing.assert_array_equal(a.reserve, b.reserve)


@pytest.fixture(scope="module")
def scheduled() -> rs.Result:
    return rs.simulate(rs.load_config(ROOT / "configs" / "schedules_example.yaml"), 4000, seed=2)


def test_results_by_schedule_add_up_to_the_summary(scheduled: rs.Result) -> None:
    table = scheduled.by_schedule()
    ids = [s.id for s in scheduled.model.schedules()]
    assert list(dict.fromkeys(table.index.get_level_values("schedule"))) == ids
    summary = scheduled.summary()
    for pid in [*scheduled.partner_ids, "pool"]:
        total = sum(table.loc[(sid, pid), "mean"] for sid in ids)
        np.testing.assert_allclose(total, summary.loc[pid, "mean"], rtol=1e-9, atol=1e-3)


def test_offsets_between_schedules_balance(scheduled: rs.Result) -> None:
    model = scheduled.model
    paths = rs.sample(model, n_sims=500, seed=9)
    ledger = rs.settle(model, paths)  # each schedule's ledger and the sum are balance-checked
    got, gave = ledger.flow("schedule_offset_in"), ledger.flow("schedule_offset_out")
    np.testing.assert_allclose(got, gave, atol=1e-6)
    assert (got > 0).mean() > 0.05, "the example's schedules do offset each other"
    no_offset = rs.with_changes(model.agreement, {"across": None})
    other = rs.settle(model, paths, agreement=no_offset)
    assert np.all(other.flow("schedule_offset_in") == 0)
    # Over the agreement the pool pays its overspend either way (the reserves end paid out).
    total = ledger.net().sum(axis=(1, 2))
    np.testing.assert_allclose(other.net().sum(axis=(1, 2)), total, rtol=1e-12, atol=1e-4)
    assert not np.allclose(other.net(), ledger.net()), "who pays does change"


def test_one_schedule_one_output_file_more(scheduled: rs.Result, tmp_path: Path) -> None:
    from riskshare.report import write_run

    write_run(scheduled, tmp_path)
    assert (tmp_path / "by_schedule.csv").exists()
