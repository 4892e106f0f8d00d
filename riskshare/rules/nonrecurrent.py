"""Step 8: underspend spent on non-recurrent items (``underspend_disposition: nonrecurrent``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Nonrecurrent"]


class Nonrecurrent(Rule):
    """What is left of the underspend is spent on one-off items instead of being returned."""

    name = "nonrecurrent"
    steps = ("disposition",)
    writes = frozenset({"nonrecurrent_spend"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Nonrecurrent | None:
        agr = terms.agreement
        pooled = agr.arrangement == "pooled"
        return cls() if pooled and agr.underspend_disposition == "nonrecurrent" else None

    def disposition(self, s: State) -> None:
        nonrecurrent = np.where(s.live, s.under, 0.0) if s.any_exited else s.under
        s.under = s.under - nonrecurrent
        s.nonrecurrent = nonrecurrent
        s.flows.add("nonrecurrent_spend", s.t, nonrecurrent)
