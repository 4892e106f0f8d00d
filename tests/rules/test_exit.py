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
