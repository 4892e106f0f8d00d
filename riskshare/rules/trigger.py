"""Step 6: management action (``agreement.trigger``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.charging import net_spend
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Trigger"]


class Trigger(Rule):
    """Past a threshold at ``month``, part of the rest of the year's overspend is saved.

    ``V0 = Σ_g N_g + X + U − B``; if ``V0 > threshold · B`` a mitigation
    ``M = mitigation · V0 · (12 − month) / 12`` scales every group's spend
    (and income) by ``1 − M / Σ_g S_g``.
    """

    name = "trigger"
    steps = ("trigger",)
    writes = frozenset({"mitigation"})
    records = ("trigger_fired",)

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.action = terms.agreement.trigger

    @classmethod
    def from_terms(cls, terms: Terms) -> Trigger | None:
        return cls(terms) if terms.agreement.trigger is not None else None

    def start(self, s: State) -> None:
        s.extras["trigger_fired"] = np.zeros((s.years, s.n_sims), dtype=bool)

    def trigger(self, s: State) -> None:
        tr = self.action
        budget = s.budget
        v0 = s.n_g.sum(axis=0) + s.x + s.uncommitted - budget
        hit = v0 > tr.threshold * budget
        cut = np.where(hit, tr.mitigation * v0 * (12 - tr.month) / 12, 0.0)
        total = s.gross.sum(axis=0)
        scale = np.clip(1.0 - cut / np.where(total > 0, total, 1.0), 0.0, 1.0)
        s.gross = s.gross * scale
        if s.inc is not None:
            s.inc = s.inc * scale
        s.n_g = net_spend(s.gross, s.inc, self.terms)
        s.extras["trigger_fired"][s.t] = hit
        s.flows.add("mitigation", s.t, total * (1.0 - scale))
