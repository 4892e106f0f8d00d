"""Offsets between schedules (``agreement.across``): underspend of one meets overspend of another.

Over the schedules taking part, ``m = min(Σ O_s, Σ Q_s)`` is offset, taken
from each schedule's overspend and underspend in proportion to its own,
before any schedule's waterfall (``docs/rules.md``, "Schedules").
"""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.rules.base import Rule, between
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["ScheduleOffset", "share_offsets"]


class ScheduleOffset(Rule):
    """This schedule's part of the offset between schedules.

    Reads ``across_over`` and ``across_under``, the overspend and underspend
    of every schedule taking part (set by the settlement once each
    schedule's ``offset`` step has run).
    """

    name = "schedule_offset"
    steps = ("across",)
    writes = frozenset({"schedule_offset_in", "schedule_offset_out"})

    @classmethod
    def from_terms(cls, terms: Terms) -> ScheduleOffset | None:
        return cls() if terms.offset_across else None

    def across(self, s: State) -> None:
        total_over, total_under = s.across_over, s.across_under
        m = np.minimum(total_over, total_under)
        got = m * s.over / np.where(total_over > 0, total_over, 1.0)
        gave = m * s.under / np.where(total_under > 0, total_under, 1.0)
        s.over = s.over - got
        s.under = s.under - gave
        s.offset_net = got - gave
        s.flows.add("schedule_offset_in", s.t, got)
        s.flows.add("schedule_offset_out", s.t, gave)


@between("before", "across")
def share_offsets(terms: Terms, states: list[State]) -> None:
    """Give each schedule taking part the total overspend and underspend of all that take part.

    Simulations where every partner has left (the same in every schedule: an
    exit is agreement-wide) run as aligned budgets and offset nothing.
    """
    taking_part = [s for s in states if s.terms.offset_across]
    if taking_part:
        over = sum(_pooled(s, s.over) for s in taking_part)
        under = sum(_pooled(s, s.under) for s in taking_part)
        for s in taking_part:
            s.across_over, s.across_under = over, under


def _pooled(s: State, amount: FloatArray) -> FloatArray:
    """``amount`` where the schedule still pools (some partner is in), else 0. [£]"""
    return np.where(s.exited, 0.0, amount) if s.any_exited else amount
