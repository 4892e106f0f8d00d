"""Step 7: group variances and profiles (``agreement.group_keys``, ``group_budgets``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.keys import key_weights
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Variances"]


class Variances(Rule):
    """The year's spend, the pooled variance, and each partner's own variance when needed.

    Group budgets ``B_g = (B − U) · share_g``, group variances
    ``V_g = N_g − B_g``; a group with a profile puts ``w_p(key) · V_g`` in
    partner p's position, a group with case splits ``a_gp N_g − s_gp B_g``
    (its cases' share ``a_gp`` of the spend less its expected share ``s_gp``
    of the budget); the pooled variance is ``V = Σ_{g pooled} V_g + X``.
    Each partner's own variance ``V_p`` (for ``own``, aligned budgets and
    exits) is what it commissions minus what it put in.
    """

    name = "variances"
    steps = ("spend", "variances")
    carries = ("group_level", "own_level")

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        agr = terms.agreement
        self.profiles = [(terms.group(gid), key) for gid, key in agr.group_keys.items()]
        self.pooled_groups = np.flatnonzero(terms.pooled)
        self.settled_apart = bool(self.profiles or terms.case_groups)
        if self.settled_apart:
            self.needs = frozenset({"group_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Variances:
        return cls(terms)

    def start(self, s: State) -> None:
        s.own_level = s.needs("own_variances")
        s.group_level = s.own_level or s.needs("group_variances")

    def spend(self, s: State) -> None:
        """The pool's spend this year, after any management action."""
        s.pool_spend[s.t] = s.gross.sum(axis=0)

    def variances(self, s: State) -> None:
        t = s.t
        present = ~s.left if s.any_left else None  # keys over the partners still in
        s.ctx = ctx = self.terms.context(t, s.cumulative, s.gross, present, s.cases_at(t), s.c)
        s.position = np.zeros((s.n_partners, s.n_sims))
        if s.group_level:
            s.group_budget = self.terms.budget_shares[t][:, None] * (s.budget - s.uncommitted)
            s.v_g = v_g = s.n_g - s.group_budget  # (groups, sims)
            for g, key in self.profiles:
                w = (
                    self.terms.commissioning[g][:, None]
                    if key in ("commissioners", "own")
                    else key_weights(key, ctx)
                )
                s.position += w * v_g[g]
            for g, shares in s.cases_at(t).items():
                # Each partner its cases' spend less its expected part of the group budget.
                s.position += shares * s.n_g[g]
                s.position -= self.terms.commissioning[g][:, None] * s.group_budget[g]
            pooled = v_g[self.pooled_groups].sum(axis=0) if self.settled_apart else v_g.sum(axis=0)
            s.v = pooled + s.x
        else:
            spend = s.pool_spend[t] if s.inc is None else s.n_g.sum(axis=0)
            s.v = spend - s.budget + s.uncommitted + s.x
        s.variance[t] = s.v
        if s.own_level:
            self.own(s)

    def own(self, s: State) -> None:
        """Each partner's own variance ``V_p`` and its aligned position."""
        terms = self.terms
        # The spend on the pooled groups it commissions (and its proportional
        # part of pool-level effects and the uncommitted allocation) minus its
        # own part of the budget, less what funds the groups settled on their own.
        s.w_prop = key_weights("proportional", s.ctx)
        own = np.zeros((s.n_partners, s.n_sims)) + s.w_prop * (s.x + s.uncommitted) - s.budget_p
        for g in range(len(terms.group_ids)):
            for p in range(s.n_partners):
                share = terms.commissioning[g, p]
                if share:
                    own[p] += share * (s.n_g[g] if terms.pooled[g] else s.group_budget[g])
        s.own = own
        s.aligned_position = s.position + own
