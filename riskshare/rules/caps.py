"""Step 10: caps on a partner's overspend or underspend (``agreement.caps``)."""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.model import Cap
from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Caps"]


class Caps(Rule):
    """Each cap in order limits one partner's part; the excess goes to ``overflow``.

    The limit is ``amount`` or ``fraction`` of the partner's contribution, the
    budget or its contribution to a group; ``per: agreement`` limits the
    running total. The excess goes to another partner, the reserve (which may
    go into deficit) or ``unfunded``.
    """

    name = "caps"
    steps = ("caps",)
    writes = frozenset({"reserve_draw", "reserve_topup", "unfunded"})
    carries = ("cap_totals", "cap_limits")

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.cap_list = terms.agreement.caps
        needs = set()
        if any(
            cap.of == "group_contribution" and cap.fraction is not None for cap in self.cap_list
        ):
            needs.add("group_variances")
        if any(cap.overflow == "reserve" for cap in self.cap_list):
            needs.add("reserve_deficit")
        self.needs = frozenset(needs)

    @classmethod
    def from_terms(cls, terms: Terms) -> Caps | None:
        agr = terms.agreement
        return cls(terms) if agr.caps and agr.arrangement == "pooled" else None

    def start(self, s: State) -> None:
        s.cap_totals = [np.zeros(s.n_sims) for _ in self.cap_list]  # what each cap let through
        s.cap_limits = [np.zeros(s.n_sims) for _ in self.cap_list]  # sum of yearly limits

    def caps(self, s: State) -> None:
        for i, cap in enumerate(self.cap_list):
            q = self.terms.partner(cap.partner)
            limit = self.limit(cap, s, q)
            sign = 1.0 if cap.side == "overspend" else -1.0
            part = np.maximum(sign * s.position[q], 0.0)
            if cap.per == "agreement":
                # A pound amount caps the running total; a fraction caps it at
                # that fraction of the contributions (budgets) so far.
                if cap.amount is None:
                    s.cap_limits[i] = s.cap_limits[i] + limit
                    limit = s.cap_limits[i]
                limit = np.maximum(limit - s.cap_totals[i], 0.0)
            excess = np.maximum(part - limit, 0.0)
            if s.any_left:  # no cap on a partner that has left, no overflow to one
                kept = ~s.left[q]
                if cap.overflow not in ("reserve", "unfunded"):
                    kept = kept & ~s.left[self.terms.partner(cap.overflow)]
                excess = np.where(kept & s.live, excess, 0.0)
            s.cap_totals[i] = s.cap_totals[i] + part - excess
            s.position[q] -= sign * excess
            self.overflow(cap, s, sign, excess)

    def limit(self, cap: Cap, s: State, q: int) -> FloatArray | float:
        """This year's limit of ``cap`` on partner ``q``. [£]"""
        if cap.amount is not None:
            return cap.amount
        if cap.of == "contribution":
            return cap.fraction * s.c[q]
        if cap.of == "budget":
            return cap.fraction * s.budget
        g = self.terms.group(cap.group)
        return cap.fraction * self.terms.commissioning[g, q] * s.group_budget[g]

    def overflow(self, cap: Cap, s: State, sign: float, excess: FloatArray) -> None:
        """The excess goes to the reserve, ``unfunded`` or another partner."""
        if cap.overflow == "reserve":
            s.balance = s.balance - sign * excess
            s.flows.add("reserve_draw" if sign > 0 else "reserve_topup", s.t, excess)
        elif cap.overflow == "unfunded":
            s.flows.add("unfunded", s.t, excess)
        else:
            s.position[self.terms.partner(cap.overflow)] += sign * excess
