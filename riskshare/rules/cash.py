"""Step 11: cash (every agreement)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Cash"]


class Cash(Rule):
    """Positions become cash: calls ``max(position, 0)``, refunds ``max(−position, 0)``.

    The reserve balance at the year's end is recorded.
    """

    name = "cash"
    steps = ("cash",)
    writes = frozenset({"overspend_call", "underspend_refund"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Cash:
        return cls()

    def cash(self, s: State) -> None:
        s.calls = s.flows.year("overspend_call", s.t)
        s.refunds = s.flows.year("underspend_refund", s.t)
        np.maximum(s.position, 0.0, out=s.calls)
        np.subtract(s.calls, s.position, out=s.refunds)  # max(-position, 0)
        s.reserve[s.t] = s.balance
