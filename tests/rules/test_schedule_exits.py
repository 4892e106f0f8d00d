"""An exit and integration savings in an agreement of several schedules (docs/rules.md).

The worked examples check the numbers by hand; these check the whole pipeline
on ``configs/schedules_exit_example.yaml``: one exit year per partner whatever
the chunking, exit costs paid once, savings shared out in full, results by
schedule adding up, and the report's exit tables.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.ledger import check_balance
from riskshare.report.html import breakdown_context, describe_agreement

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "schedules_exit_example.yaml"


@pytest.fixture(scope="module")
def model() -> rs.Model:
    return rs.load_config(CONFIG)


@pytest.fixture(scope="module")
def paths(model: rs.Model):
    return rs.sample(model, n_sims=3000, seed=4)


def test_every_schedule_shares_one_exit_year_however_chunked(model, paths, monkeypatch) -> None:
    settle_module = importlib.import_module("riskshare.settle")  # the function shadows it
    whole = rs.settle(model, paths)
    check_balance(whole)
    years = whole.extras["exit_year"]
    district, icb = model.partner_ids.index("district"), model.partner_ids.index("icb")
    assert years.shape == (3000, 4)
    assert (years[:, district] == 3).all(), "the voluntary exit, the same in every schedule"
    assert 0 < (years[:, icb] < 5).mean() < 0.5, "the icb's loss limit takes it out sometimes"
    assert years.max() == 6, "never: years + 1 (no notice at the end of the last year)"
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 701)
    chunked = rs.settle(model, paths)
    np.testing.assert_array_equal(chunked.extras["exit_year"], years)
    np.testing.assert_array_equal(chunked.net(), whole.net())
    np.testing.assert_array_equal(chunked.extras["schedule_net"], whole.extras["schedule_net"])


def test_net_positions_by_schedule_add_up(model, paths) -> None:
    ledger = rs.settle(model, paths)
    np.testing.assert_allclose(
        ledger.extras["schedule_net"].sum(axis=2), ledger.net(), rtol=0, atol=1e-6
    )


def test_an_exit_cost_is_paid_once_across_schedules(model, paths) -> None:
    """A leaver's £150k redundancy, booked to the three schedules by its funding, sums to £150k."""
    once = rs.with_changes(
        model,
        {
            "agreement.exit": {
                "voluntary": {"icb": 2},
                "costs": [{"kind": "redundancy", "amount": 150_000, "paid_by": "leaver"}],
            }
        },
    )
    ledger = rs.settle(once, paths)
    cost = ledger.flow("exit_cost")  # (sims, years, partners)
    icb = once.partner_ids.index("icb")
    np.testing.assert_allclose(cost[:, 2, icb], 150_000.0, rtol=1e-12)
    assert cost.sum() == pytest.approx(150_000.0 * 3000, rel=1e-12)


def test_integration_savings_are_shared_out_in_full(model, paths) -> None:
    """Every receiving schedule credits its pool: the pools' savings are the drawn savings."""
    for schedules in ({"learning_disability": 0.75, "equipment": 0.25}, None):
        changed = rs.with_changes(model, {"integration_savings.schedules": schedules})
        ledger = rs.settle(changed, paths)
        np.testing.assert_allclose(ledger.flow("integration_savings"), paths.savings, rtol=1e-12)
    shares = model.savings_shares()
    assert shares.shape == (3, 5)
    np.testing.assert_allclose(shares[:, 0], [0.75, 0.0, 0.25])
    default = rs.with_changes(model, {"integration_savings.schedules": None}).savings_shares()
    np.testing.assert_allclose(default.sum(axis=0), 1.0)
    assert (default > 0).all(), "by expected spend: every schedule receives some"


def test_the_report_shows_exits_with_schedules(model) -> None:
    result = rs.simulate(model, n_sims=2000, seed=3)
    exits = result.exits()
    assert exits.loc[("district", "2029/30"), "prob_exit"] == 1.0
    assert exits.loc[("district", "2029/30"), "prob_loss_limit_exit"] == 0.0
    assert 0 < exits.loc[("icb", "2030/31"), "prob_exited"] < 1
    context = breakdown_context(result)
    assert [g["id"] for g in context["schedules"]["groups"]] == [
        "learning_disability",
        "mental_health",
        "equipment",
    ]
    assert len(context["exits"]["rows"]) == 4 and context["exit_costs"]["rows"]
    lines = describe_agreement(model)  # a line per schedule, the offsets, the exit
    assert [line.split("'")[1] for line in lines[:3]] == [s.label for s in model.schedules()]
    assert "by the host (Community health trust)" in lines[2], "a lead schedule's host is its lead"
    assert lines[3].startswith("Across schedules")
    assert "over the whole agreement" in lines[4] and "every schedule at once" in lines[4]
    by_schedule = result.by_schedule()
    for pid in model.partner_ids:
        total = sum(by_schedule.loc[(s.id, pid), "mean"] for s in model.schedules())
        np.testing.assert_allclose(total, result.summary().loc[pid, "mean"], rtol=1e-9, atol=1e-3)
