"""Step 8: the overspend and underspend to meet (``agreement.offset_groups``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Offset"]


class Offset(Rule):
    """The overspend ``O`` and underspend ``Q`` of a pooled budget.

    With ``offset_groups: true`` ``O = max(V, 0)`` and ``Q = max(−V, 0)``;
    with ``false`` each pooled group's overspend and underspend are summed
    apart (both can be positive in a year).
    """

    name = "offset"
    steps = ("offset",)

    def __init__(self, terms: Terms) -> None:
        self.by_group = not terms.agreement.offset_groups
        self.pooled_groups = np.flatnonzero(terms.pooled)
        if self.by_group:
            self.needs = frozenset({"group_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Offset | None:
        return cls(terms) if terms.agreement.arrangement == "pooled" else None

    def offset(self, s: State) -> None:
        if not self.by_group:
            s.over = np.maximum(s.v, 0.0)
            s.under = np.maximum(-s.v, 0.0)
        else:
            vp = s.v_g[self.pooled_groups]
            over = np.maximum(vp, 0.0).sum(axis=0) + np.maximum(s.x, 0.0)
            under = np.maximum(-vp, 0.0).sum(axis=0) + np.maximum(-s.x, 0.0)
            s.over, s.under = np.broadcast_arrays(over, under)
        s.live = ~s.exited
