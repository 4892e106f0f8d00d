"""The pool year by year, reconciled: contributions → top-slice → budget → expected gap → calls.

One row per year puts side by side the figures a reader checks against each
other: what the partners pay in, what the top-slice moves into the reserve,
the budget left for spend, the expected spend and the gap between them, the
reserve that meets an overspend first, and the chances of an overspend and of
a cash call (an overspend larger than the reserve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from riskshare.config.model import Model, Reserve
    from riskshare.run import Result

__all__ = ["BudgetYear", "budget_years", "has_reserve"]


@dataclass(frozen=True)
class BudgetYear:
    """The pool in one year. Money in £, chances as fractions.

    Attributes
    ----------
    year : str
        Financial-year label.
    contributions : float
        All partners' contributions. [£]
    top_slice : float
        Paid into the reserve from the contributions: the rate times the
        contributions, less in the first year what would take the reserve over
        its cap (in later years, the most that can be taken; a reserve near
        its cap takes less). [£]
    budget : float
        ``contributions - top_slice``: the budget for spend. [£]
    expected_spend : float
        Expected gross spend of the client groups. [£]
    expected_gap : float
        ``expected_spend - budget``. [£]
    mean_overspend : float
        The simulated average of spend less budget (equals the expected gap
        within Monte Carlo error when there is no charging income, holdback
        or management action). [£]
    reserve_start : float
        Average reserve available at the start of the year: the previous
        year's closing balance (the opening balance in the first year) plus
        this year's top-slice. [£]
    prob_overspend : float
        Chance that spend is more than the budget.
    prob_call : float
        Chance that some partner is called for cash: the overspend is more
        than the reserve (and any uncommitted allocation) can meet.
    """

    year: str
    contributions: float
    top_slice: float
    budget: float
    expected_spend: float
    expected_gap: float
    mean_overspend: float
    reserve_start: float
    prob_overspend: float
    prob_call: float


def _top_slice(contributions: np.ndarray, reserve: Reserve) -> np.ndarray:
    """``(years,)`` what one reserve's top-slice takes from ``contributions``. [£]"""
    top = np.zeros_like(contributions)
    rate = float(reserve.top_slice)
    if reserve.top_slice_years == "every":
        top = rate * contributions
    else:
        top[0] = rate * contributions[0]
    if reserve.cap is not None:
        # Only what fits under the cap is taken: exact in the first year (the reserve
        # opens at a known balance), the most that can be taken in later years.
        top[0] = min(top[0], max(float(reserve.cap) - float(reserve.opening), 0.0))
    return top


def has_reserve(model: Model) -> bool:
    """Whether the agreement (or some schedule of it) keeps a risk reserve."""
    return any(s.reserve is not None for s in model.schedules())


def budget_years(result: Result) -> list[BudgetYear]:
    """The pool's reconciliation table, one :class:`BudgetYear` per year.

    With several schedules the top-slices and opening balances are summed over
    the schedules that keep a reserve, each on its own contributions.
    """
    model = result.model
    contributions = model.contribution_schedule().sum(axis=1)
    top = np.zeros_like(contributions)
    opening = 0.0
    for sub in model.schedule_models():
        reserve = sub.agreement.reserve
        if reserve is not None:
            top += _top_slice(sub.contribution_schedule().sum(axis=1), reserve)
            opening += float(reserve.opening)
    expected = model.expected_spend().sum(axis=1)
    pool = result.pool_by_year(basis="nominal")  # beside cash contributions
    calls = result.by_year().loc["pool", "prob_call"]
    out = []
    for t, year in enumerate(result.years):
        before = opening if t == 0 else float(pool["reserve_mean"].iloc[t - 1])
        budget = float(contributions[t] - top[t])
        out.append(
            BudgetYear(
                year=year,
                contributions=float(contributions[t]),
                top_slice=float(top[t]),
                budget=budget,
                expected_spend=float(expected[t]),
                expected_gap=float(expected[t]) - budget,
                mean_overspend=float(pool["variance_mean"].iloc[t]),
                reserve_start=before + float(top[t]) if has_reserve(model) else 0.0,
                prob_overspend=float(pool["prob_overspend"].iloc[t]),
                prob_call=float(calls.loc[year]),
            )
        )
    return out
