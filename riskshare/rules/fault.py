"""Step 9: fault-based allocation (``fault``, domain.md R10).

A tagged share of the overspend left after the waterfall is paid by the
partner whose decision caused it; the rest is shared by the overspend rule.
"""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["FaultAllocation"]


class FaultAllocation(Rule):
    """The partner at fault meets ``share`` of the overspend before it is shared."""

    name = "fault"
    steps = ("sharing",)
    order = -1  # before the sharing rule shares the rest

    def __init__(self, terms: Terms) -> None:
        fault = terms.agreement.fault
        self.partner = terms.partner(fault.partner)
        self.share = fault.share

    @classmethod
    def from_terms(cls, terms: Terms) -> FaultAllocation | None:
        agr = terms.agreement
        return cls(terms) if agr.fault is not None and agr.arrangement == "pooled" else None

    def sharing(self, s: State) -> None:
        tagged = self.share * s.over
        if s.any_left:  # a partner that has left is at fault for nothing more
            tagged = np.where(s.left[self.partner], 0.0, tagged)
        s.position[self.partner] += tagged
        s.over = s.over - tagged
