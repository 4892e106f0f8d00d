"""Steps 5 and 8: the uncommitted allocation (``agreement.uncommitted``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Uncommitted"]


class Uncommitted(Rule):
    """``uncommitted · B`` of the budget is held back; released to meet an overspend, else spent."""

    name = "uncommitted"
    steps = ("uncommitted", "waterfall")
    writes = frozenset({"uncommitted_spend"})

    def __init__(self, terms: Terms) -> None:
        agr = terms.agreement
        self.fraction = agr.uncommitted
        self.pooled = agr.arrangement == "pooled"
        self.in_waterfall = self.pooled and self.name in agr.waterfall
        self.order = agr.waterfall.index(self.name) if self.in_waterfall else 0

    @classmethod
    def from_terms(cls, terms: Terms) -> Uncommitted | None:
        agr = terms.agreement
        return cls(terms) if agr.uncommitted > 0 or agr.arrangement == "aligned" else None

    def uncommitted(self, s: State) -> None:
        s.uncommitted = self.fraction * s.budget

    def waterfall(self, s: State) -> None:
        """Released to meet the overspend (in the waterfall's order); the rest is spent."""
        if self.in_waterfall:
            release = np.minimum(s.uncommitted, s.over)
            if s.any_exited:
                release = np.where(s.live, release, 0.0)
            s.over = s.over - release
            s.release = release
        s.flows.add("uncommitted_spend", s.t, s.uncommitted - s.release)
