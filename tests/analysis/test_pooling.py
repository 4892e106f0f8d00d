"""Value of pooling, fairness and the co-TVaR (Euler) allocation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.analysis.pooling import co_tvar, risk_allocation, value_of_pooling
from riskshare.config.model import Agreement
from riskshare.metrics import tvar

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "section75_example.yaml"


@pytest.fixture(scope="module")
def model() -> rs.Model:
    return rs.load_config(EXAMPLE)


def test_co_tvar_by_hand():
    # S = [1, 3, 4, 0]; the worst half is sims 1 and 2 (S = 3, 4): TVaR50 = 3.5.
    x = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0], [0.0, 0.0]])
    alloc, total = co_tvar(x, 0.5)
    np.testing.assert_allclose(alloc, [1.0, 2.5])
    assert total == 3.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_co_tvar_sums_to_tvar_of_the_total(seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(1001, 4)) - rng.normal(size=(1001, 4))
    alloc, total = co_tvar(x, 0.95)
    assert total == pytest.approx(tvar(x.sum(axis=1), 0.95), rel=1e-14)
    assert alloc.sum() == pytest.approx(total, rel=1e-12)


def test_co_tvar_takes_tied_totals_in_simulation_order():
    """Totals tied at the threshold: the first in simulation order are in the tail.

    Totals 0, 3, 3, 1, 3, 3, 5; the tail of ceil(0.5 · 7) = 4 is the 5 and three
    of the four 3s: simulations 1, 2 and 4 (not 5), parts (3, 0), (2, 1), (0, 3).
    """
    x = np.array([[0, 0], [3, 0], [2, 1], [0, 1], [0, 3], [1, 2], [5, 0]], dtype=float)
    alloc, total = co_tvar(x, 0.5)
    np.testing.assert_array_equal(alloc, [(5 + 3 + 2 + 0) / 4, (0 + 0 + 1 + 3) / 4])
    assert total == (5 + 3 + 3 + 3) / 4


def test_risk_allocation_sums_to_pool_tvar(model):
    alloc = risk_allocation(model, n_sims=4000, seed=8)
    result = rs.simulate(model, n_sims=4000, seed=8)
    assert alloc.pool_tvar == pytest.approx(result.summary().loc["pool", "tvar95"], rel=1e-12)
    assert alloc.partners["co_tvar"].sum() == pytest.approx(alloc.pool_tvar, rel=1e-12)
    assert alloc.groups["co_tvar"].sum() == pytest.approx(alloc.pool_tvar, rel=1e-12)
    assert alloc.partners["share"].sum() == pytest.approx(1.0)
    # Diversification: no partner's share of the pool's tail exceeds its own tail.
    assert (alloc.partners["co_tvar"] <= alloc.partners["standalone_tvar"] + 1e-6).all()
    assert list(alloc.groups.index) == [*model.group_ids, "other"]


def test_pooling_an_aligned_budget_changes_nothing(model):
    frame = value_of_pooling(model, n_sims=2000, seed=1, agreement=Agreement(arrangement="aligned"))
    assert (frame["gain_mean"] == 0).all()
    assert (frame["prob_worse_off"] == 0).all()
    np.testing.assert_array_equal(frame["pooled_tvar"], frame["alone_tvar"])


def test_value_of_pooling_columns_and_zero_sum(model):
    frame = value_of_pooling(model, n_sims=3000, seed=2)
    assert set(frame.index) == set(model.partner_ids)
    # What one partner gains from pooling another loses, plus the reserve's opening (0 here).
    assert frame["gain_mean"].sum() == pytest.approx(0.0, abs=1e-3)
    assert frame["contribution_share"].sum() == pytest.approx(1.0)
    assert frame["exposure_share"].sum() == pytest.approx(1.0)
    assert ((frame["prob_worse_off"] >= 0) & (frame["prob_worse_off"] <= 1)).all()
