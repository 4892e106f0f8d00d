"""The vectorised engine equals the plain reference implementation on random agreements."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from riskshare._reference import reference_imbalance, reference_settle
from riskshare.ledger import FLOWS as LEDGER_FLOWS
from riskshare.ledger import check_balance
from riskshare.rules.instalments import QUARTERS, partner_quarter
from riskshare.testing import engine_ledger
from riskshare.testing.asserts import engine_view
from riskshare.testing.strategies import settlement_cases

SIMS = 3
#: Every flow of the ledger, the reserve balance and the net positions, and the
#: in-year indicators (a trigger on a forecast, instalments' quarterly cash calls).
FLOWS = (*LEDGER_FLOWS, "reserve", "net")
INDICATORS = ("trigger_fired", "trigger_needed", "forecast_error", *QUARTERS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS))
def test_settle_matches_reference(case) -> None:
    _check_against_reference(case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS, min_partners=3, max_partners=6, max_groups=4))
def test_settle_matches_reference_with_three_to_six_partners(case) -> None:
    _check_against_reference(case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS, resets=True))
def test_resetting_contributions_match_reference(case) -> None:
    """Contributions re-based or re-set to the outturn, per simulation, with every clause."""
    _check_against_reference(case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS, resets=True, min_partners=3, max_partners=5, max_groups=4))
def test_resetting_contributions_match_reference_with_three_to_five_partners(case) -> None:
    _check_against_reference(case)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS, schedules=True, resets=True, max_partners=4, max_groups=4))
def test_resetting_contributions_with_schedules_match_reference(case) -> None:
    """Contributions re-set once for the agreement and split between its schedules."""
    _check_against_reference(case)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settlement_cases(SIMS, schedules=True, max_partners=5, max_groups=4))
def test_schedules_match_reference(case) -> None:
    ledger = _check_against_reference(case)
    model, spend, income, metric, savings, forecast, cases = case
    if len(model.agreement.schedules) > 1:
        for i in range(SIMS):
            ref = reference_settle(
                model,
                spend[i],
                income[i],
                metrics={"nea": metric[i]} if model.performance else None,
                savings=savings[i] if model.integration_savings is not None else None,
                forecast=forecast[i],
                case_shares={g: v[i] for g, v in cases.items()},
            )
            np.testing.assert_allclose(
                engine_view(ledger, "schedule_net", i), ref["schedule_net"], rtol=1e-9, atol=1e-6
            )


def _check_against_reference(case):
    model, spend, income, metric, savings, forecast, cases = case
    metrics = {"nea": metric} if model.performance else None
    sav = savings if model.integration_savings is not None else None
    ledger = engine_ledger(
        model, spend, income, metrics=metrics, savings=sav, forecast=forecast, case_shares=cases
    )
    check_balance(ledger, allow_deficit=True)
    for i in range(SIMS):
        ref = reference_settle(
            model,
            spend[i],
            income[i],
            metrics={"nea": metric[i]} if metrics else None,
            savings=None if sav is None else sav[i],
            forecast=forecast[i],
            case_shares={g: v[i] for g, v in cases.items()},
        )
        np.testing.assert_allclose(reference_imbalance(ref), 0.0, atol=1e-5)
        for name in FLOWS:
            got, want = engine_view(ledger, name, i), ref[name]
            if got.ndim == want.ndim + 1:
                got = got.sum(axis=-1)
            np.testing.assert_allclose(
                got, want, rtol=1e-9, atol=1e-6, err_msg=f"simulation {i}: flow {name!r}"
            )
        by_partner = [partner_quarter(q, p) for q in QUARTERS for p in ledger.partner_ids]
        for name in (*INDICATORS, *by_partner):
            if name in ledger.extras:
                np.testing.assert_allclose(
                    engine_view(ledger, name, i),
                    ref[name],
                    rtol=1e-9,
                    atol=1e-6,
                    err_msg=f"simulation {i}: {name!r}",
                )
        if "exit_year" in ledger.extras:  # the year each partner's exit takes effect
            # Exactly: no notice is given at the end of the last year (docs/rules.md, 12).
            np.testing.assert_array_equal(
                ledger.extras["exit_year"][i],
                ref["exit_year"],
                err_msg=f"simulation {i}: exit_year",
            )
    return ledger
