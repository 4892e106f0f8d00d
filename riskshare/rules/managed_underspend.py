"""Step 8: an IJB underspend split (``underspend_disposition: ijb``, domain.md R9 f).

The part of an underspend that comes from management action (spend avoided
by the trigger's mitigation and integration savings credited to the pool)
is retained in the reserve (up to its cap) and carried forward; the
windfall rest is returned by the underspend rule.
"""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["ManagedUnderspend"]


class ManagedUnderspend(Rule):
    """Underspend from management action retained in the reserve; the windfall returned."""

    name = "managed_underspend"
    steps = ("disposition",)
    order = -1  # before the reserve records the year's top-ups

    def __init__(self, terms: Terms) -> None:
        self.cap = terms.agreement.reserve.cap

    @classmethod
    def from_terms(cls, terms: Terms) -> ManagedUnderspend | None:
        agr = terms.agreement
        ijb = agr.underspend_disposition == "ijb"
        return cls(terms) if ijb and agr.arrangement == "pooled" else None

    def disposition(self, s: State) -> None:
        managed = np.zeros(s.n_sims)
        for name in ("mitigation", "integration_savings"):
            managed = managed + s.flows.value(name, s.t)
        retained = np.minimum(s.under, managed)
        if self.cap is not None:  # up to the reserve's cap
            retained = np.minimum(retained, np.maximum(self.cap - s.balance, 0.0))
        if s.any_exited:
            retained = np.where(s.live, retained, 0.0)
        s.balance = s.balance + retained
        s.under = s.under - retained
        s.retained = retained
