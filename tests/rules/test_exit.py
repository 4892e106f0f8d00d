"""Exits as agreements write them: only the leaver leaves, exit costs as a distribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.load import read_config_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def district_leaves() -> rs.Result:
    model = rs.load_config(ROOT / "configs" / "four_partners.yaml")
    data, _ = read_config_data(
        ROOT / "configs" / "agreements" / "four_partners" / "district_exit.yaml"
    )
    agreement = rs.Agreement.model_validate(data["agreement"])
    model = rs.with_changes(model, {"agreement": agreement.model_dump(mode="json")})
    return rs.simulate(model, n_sims=4000, seed=8)


def test_exit_costs_are_reported_as_a_distribution(district_leaves: rs.Result) -> None:
    costs = district_leaves.exit_costs()
    model = district_leaves.model
    c = model.contribution_schedule()
    # Every simulation: the district's 150k redundancy, and 2 years of 100k double running
    # shared by contributions; limit exits of the others add their own costs on top.
    share = c[3:5] / c[3:5].sum(axis=1, keepdims=True) * 100_000  # (2 years, partners)
    floor = share.sum(axis=0)
    floor[model.partner_ids.index("district")] += 150_000
    assert np.all(costs.loc[model.partner_ids, "p5"].to_numpy() >= floor - 1e-6)
    np.testing.assert_allclose(costs.loc[model.partner_ids, "p5"], floor, rtol=1e-9)
    assert costs.loc["pool", "mean"] >= 350_000 - 1e-6


def test_the_district_keeps_its_own_variance_after_it_leaves(district_leaves: rs.Result) -> None:
    model = district_leaves.model
    paths = rs.sample(model, n_sims=200, seed=3)
    ledger = rs.settle(model, paths)
    d = model.partner_ids.index("district")
    g = model.group_ids.index("home_adaptations")
    budget = ledger.flow("contribution")[:, 3:, d]
    own = paths.spend[:, 3:, g] - budget  # its own group less what it puts in
    net = ledger.net()[:, 3:, d] - ledger.flow("exit_cost")[:, 3:, d]
    net = net + ledger.flow("final_distribution")[:, 3:, d]  # its reserve share taken apart
    np.testing.assert_allclose(net, own, rtol=1e-9, atol=1e-4)


def _example_with_exit(exit_clause: dict) -> rs.Result:
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    return rs.simulate(rs.with_changes(model, {"agreement.exit": exit_clause}), n_sims=3000, seed=5)


def test_a_loss_limit_exit_follows_the_first_year_the_cumulative_net_passes_the_limit() -> None:
    # With no notice the council leaves at the start of the year after the end of the
    # first year its cumulative net position is above £1.5m: that year's distribution
    # comes from the net positions alone.
    result = _example_with_exit({"limits": {"council": 1_500_000}, "notice_years": 0})
    years = len(result.years)
    passed = result.outcomes.net[:, :, 0].cumsum(axis=1) > 1_500_000
    leaves = np.where(passed.any(axis=1), passed.argmax(axis=1) + 1, years + 1)
    want = np.array([(leaves == t).mean() for t in range(years)])
    exits = result.exits()
    council = exits.loc["council"]
    np.testing.assert_array_equal(council["prob_exit"], want)
    np.testing.assert_array_equal(council["prob_loss_limit_exit"], want)
    np.testing.assert_allclose(council["prob_exited"], np.cumsum(want), rtol=1e-12)
    assert 0.1 < council["prob_exited"].iloc[-1] < 0.9, "some simulations leave, some stay"
    n = result.n_sims
    se = np.sqrt(council["prob_exited"] * (1 - council["prob_exited"]) / n)
    np.testing.assert_allclose(council["prob_exited_se"], se, rtol=1e-12)
    assert (exits.loc["icb", "prob_exited"] == 0).all(), "the icb has no way out"


def test_voluntary_exits_and_end_dates_are_not_loss_limit_exits() -> None:
    # The icb leaves voluntarily at the start of year 3, the agreement ends at the start
    # of year 4; the council may leave earlier by its loss limit (a year's notice).
    result = _example_with_exit(
        {
            "limits": {"council": 1_500_000},
            "notice_years": 1,
            "voluntary": {"icb": 3},
            "end_year": 4,
        }
    )
    exits = result.exits()
    icb, council = exits.loc["icb"], exits.loc["council"]
    np.testing.assert_array_equal(icb["prob_exit"], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(icb["prob_exited"], [0, 0, 0, 1, 1])
    assert (icb["prob_loss_limit_exit"] == 0).all()
    by_limit = council["prob_loss_limit_exit"]
    assert by_limit.iloc[:2].sum() == 0, "notice given at the end of year 0 takes effect in 2"
    assert 0 < by_limit.sum() < 1
    np.testing.assert_array_equal(by_limit.iloc[:4], council["prob_exit"].iloc[:4])
    assert by_limit.iloc[4] == 0, "leaving at the end date is not a loss-limit exit"
    assert council["prob_exit"].iloc[4] == pytest.approx(1 - by_limit.sum(), abs=1e-12)
    assert council["prob_exited"].iloc[4] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(council["prob_loss_limit_exited"], np.cumsum(by_limit))


def test_the_exit_year_of_each_simulation_is_kept_however_chunked(monkeypatch) -> None:
    import importlib

    settle_module = importlib.import_module("riskshare.settle")  # the function shadows it
    model = rs.with_changes(
        rs.load_config(ROOT / "configs" / "section75_example.yaml"),
        {"agreement.exit": {"limits": {"council": 1_500_000, "icb": 1_000_000}}},
    )
    paths = rs.sample(model, n_sims=3000, seed=4)
    whole = rs.settle(model, paths)
    years = whole.extras["exit_year"]
    assert years.shape == (3000, 2) and 0 < (years < 5).mean() < 1
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 777)
    np.testing.assert_array_equal(rs.settle(model, paths).extras["exit_year"], years)
    result = rs.simulate(model, n_sims=3000, seed=4)
    np.testing.assert_array_equal(result.outcomes.exit_year, years)
