"""Step 9 for aligned budgets (``arrangement: aligned``)."""

from __future__ import annotations

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Aligned"]


class Aligned(Rule):
    """Each partner's position is exactly its own variance ``V_p`` (plus group-profile parts).

    No reserve, waterfall, threshold, sharing rule or cap.
    """

    name = "aligned"
    steps = ("sharing",)
    needs = frozenset({"own_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Aligned | None:
        return cls() if terms.agreement.arrangement == "aligned" else None

    def sharing(self, s: State) -> None:
        s.position = s.aligned_position
