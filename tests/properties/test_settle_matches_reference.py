"""The vectorised engine equals the plain reference implementation on random agreements."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskshare._reference import reference_imbalance, reference_settle
from riskshare.ledger import check_balance
from riskshare.testing import engine_ledger
from riskshare.testing.asserts import engine_view
from riskshare.testing.strategies import models, spend_arrays

SIMS = 3
FLOWS = (
    "contribution",
    "holdback_released",
    "holdback_retained",
    "overspend_call",
    "underspend_refund",
    "final_distribution",
    "income_shortfall",
    "partner_integration_cost",
    "partner_integration_savings",
    "spend",
    "charging_income",
    "integration_cost",
    "integration_savings",
    "uncommitted_spend",
    "nonrecurrent_spend",
    "reserve_draw",
    "reserve_topup",
    "reserve_release",
    "unfunded",
    "mitigation",
    "reserve",
    "net",
)


@st.composite
def cases(draw):
    model = draw(models())
    years, n_g = model.simulation.years, len(model.group_ids)
    spend = draw(spend_arrays(SIMS, years, n_g))
    # income: the expected rate times spend, times a factor 0.5 .. 1.5
    rate = np.array([g.charging.rate if g.charging else 0.0 for g in model.client_groups])
    factor = draw(spend_arrays(SIMS, years, n_g, scale=1.0e6)) / 1.0e6 + 0.5
    income = spend * rate * factor
    metric = draw(spend_arrays(SIMS, years, 1, scale=0.1e6))[:, :, 0] / 1e6 - 0.02
    savings = draw(spend_arrays(SIMS, years, 1, scale=1e6))[:, :, 0]
    return model, spend, income, metric, savings


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_settle_matches_reference(case) -> None:
    model, spend, income, metric, savings = case
    metrics = {"nea": metric} if model.performance else None
    sav = savings if model.integration_savings is not None else None
    ledger = engine_ledger(model, spend, income, metrics=metrics, savings=sav)
    check_balance(ledger, allow_deficit=True)
    for i in range(SIMS):
        ref = reference_settle(
            model,
            spend[i],
            income[i],
            metrics={"nea": metric[i]} if metrics else None,
            savings=None if sav is None else sav[i],
        )
        np.testing.assert_allclose(reference_imbalance(ref), 0.0, atol=1e-5)
        for name in FLOWS:
            got, want = engine_view(ledger, name, i), ref[name]
            if got.ndim == want.ndim + 1:
                got = got.sum(axis=-1)
            np.testing.assert_allclose(
                got, want, rtol=1e-9, atol=1e-6, err_msg=f"simulation {i}: flow {name!r}"
            )
