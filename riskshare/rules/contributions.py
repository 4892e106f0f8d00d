"""Step 1: contributions and holdback (``contributions``, ``agreement.holdback``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.keys import column
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Contributions"]


class Contributions(Rule):
    """Each partner pays its contribution; a holdback partner holds part back on performance.

    Partner p's part of the budget is ``c_p``; the holdback partner k pays
    ``c_k − H`` and the pool gets ``released = H · clip(m / target, 0, 1)``
    of ``H``, the rest going to k's acute provider (a memo flow). With
    ``unreleased: uncommission`` the schemes the unreleased part would fund
    are not commissioned: the spend of the groups in ``funds`` falls by
    ``(1 − fixed_share) · (H − released)`` (``holdback_uncommissioned``, a
    memo flow), split between them by their group budget shares, no group
    below 0. With contributions re-set each year (rule ``rebasing``) ``c_p``
    differs per simulation and ``H`` is at most ``c_k``.
    """

    name = "contributions"
    steps = ("contributions",)
    writes = frozenset(
        {"contribution", "holdback_released", "holdback_retained", "holdback_uncommissioned"}
    )

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.holdback = hb = terms.agreement.holdback
        self.funds = None
        if hb is not None and hb.unreleased == "uncommission":
            self.funds = np.array([terms.group(g) for g in hb.funds])
        # Re-set contributions (rule 'rebasing') differ per simulation: (partners, sims).
        self.varies = terms.reset is not None

    @classmethod
    def from_terms(cls, terms: Terms) -> Contributions:
        return cls(terms)

    def start(self, state: State) -> None:
        hb = self.holdback
        if hb is not None and (state.metrics is None or hb.metric not in state.metrics):
            raise ValueError(f"the holdback needs performance metric '{hb.metric}' in the draws")

    def contributions(self, s: State) -> None:
        t = s.t
        c = s.c if self.varies else self.terms.contributions[t]
        s.c = c
        s.cumulative = s.cumulative + c
        # (partners, 1) while the budget is the same in every simulation.
        budget_p = column(c).copy()
        hb = self.holdback
        if hb is not None:
            h = np.broadcast_to(np.asarray(hb.amount, dtype=float), (s.years,))[t]
            k = self.terms.partner(hb.partner)
            if self.varies:  # at most what the partner contributes this year
                h = np.minimum(h, c[k])
            released = h * np.clip(np.asarray(s.metrics[hb.metric])[:, t] / hb.target, 0.0, 1.0)
            shape = (s.n_partners, s.n_sims)
            budget_p = np.broadcast_to(budget_p, shape).copy()
            budget_p[k] += released - h
            paid = np.broadcast_to(column(c), shape).copy()
            paid[k] -= h
            s.flows.add("contribution", t, paid)
            s.flows.add_column("holdback_released", t, k, released)
            s.flows.add_column("holdback_retained", t, k, h - released)
            if self.funds is not None:
                self.uncommission(s, (1.0 - hb.fixed_share) * (h - released))
        elif self.varies:
            s.flows.add("contribution", t, c)
        s.budget_p = budget_p

    def uncommission(self, s: State, cut: np.ndarray) -> None:
        """Take ``cut`` (sims,) off the funded groups' spend, by their budget shares. [£]

        No group's spend falls below 0 (nor a negative spend any further).
        """
        shares = self.terms.budget_shares[s.t, self.funds]
        total = shares.sum()
        shares = shares / total if total > 0 else np.full(shares.size, 1.0 / shares.size)
        gross = s.gross.copy()  # the year's spend is a view of the draws: never written
        cut_g = np.minimum(shares[:, None] * cut, np.maximum(gross[self.funds], 0.0))
        gross[self.funds] -= cut_g
        s.gross = s.n_g = gross
        s.flows.add("holdback_uncommissioned", s.t, cut_g.sum(axis=0))

    def finish(self, s: State) -> None:
        if self.holdback is None and not self.varies:
            # The same contributions in every simulation: a read-only broadcast view.
            c = self.terms.contributions
            s.flows.constant("contribution", np.broadcast_to(c[:, :, None], s.flows.shape_partner))
