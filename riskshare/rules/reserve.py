"""The reserve (``agreement.reserve``): top-slice, draw, carry-forward, retention, final release.

Steps 2 and 8 of ``docs/rules.md``, and the payout after the last year.
"""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.rules.base import Rule
from riskshare.rules.keys import column, key_weights
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Reserve"]


class Reserve(Rule):
    """A risk reserve: overspends draw on it, underspends are carried into it.

    It opens with ``opening`` plus a ``top_slice`` of contributions; in the
    waterfall it meets ``min(max(R, 0), O)`` of the overspend; eligible
    underspend is carried into it; with ``underspend_disposition: retain``
    the rest of the underspend too; what is left after the last year is paid
    out by ``final_key``. ``cap`` limits the balance whatever feeds it: a
    top-slice takes only what fits, and underspend that does not fit is
    returned by the underspend rule. An overspend is counted as exhausting
    the reserve when more than the materiality is left unmet.
    """

    name = "reserve"
    steps = ("top_slice", "waterfall", "carry_forward", "disposition")
    writes = frozenset({"reserve_topup", "reserve_draw", "reserve_release", "final_distribution"})

    def __init__(self, terms: Terms) -> None:
        agr = terms.agreement
        self.terms = terms
        self.reserve = agr.reserve
        self.order = agr.waterfall.index(self.name) if self.name in agr.waterfall else 0
        self.in_waterfall = self.name in agr.waterfall
        self.retain = agr.underspend_disposition == "retain"
        self.materiality = terms.materiality
        pooled = terms.pooled
        excluded = np.zeros(len(terms.group_ids), dtype=bool)
        for gid in self.reserve.exclude_groups:
            excluded[terms.group(gid)] = True
        self.eligible = np.flatnonzero(pooled & ~excluded)
        self.all_eligible = len(self.eligible) == int(pooled.sum())
        self.offset = agr.offset_groups
        if not self.all_eligible:
            self.needs = frozenset({"group_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Reserve | None:
        agr = terms.agreement
        return cls(terms) if agr.arrangement == "pooled" and agr.reserve is not None else None

    def start(self, s: State) -> None:
        s.balance = np.full(s.n_sims, self.reserve.opening)

    def top_slice(self, s: State) -> None:
        """``top_slice · c_p`` of each contribution goes into the reserve."""
        res = self.reserve
        if not (res.top_slice > 0 and (res.top_slice_years == "every" or s.t == 0)):
            return
        ts = res.top_slice * column(s.c)
        if s.any_left:  # a partner that has left tops up no more
            ts = ts * ~s.left
        ts_total = ts.sum(axis=0)
        if res.cap is not None:
            # Only what fits under the cap is taken, from each partner in proportion.
            room = np.maximum(res.cap - s.balance, 0.0)
            over = ts_total > room
            if over.any():
                ts = np.where(over, ts * (room / np.where(over, ts_total, 1.0)), ts)
                ts_total = np.where(over, room, ts_total)
        s.budget_p = s.budget_p - ts
        s.balance = s.balance + ts_total
        s.flows.add("reserve_topup", s.t, ts_total)

    def waterfall(self, s: State) -> None:
        """The reserve meets what it can of the overspend."""
        if not self.in_waterfall:
            return
        draw = np.minimum(np.maximum(s.balance, 0.0), s.over)
        if s.any_exited:
            draw = np.where(s.live, draw, 0.0)
        s.balance = s.balance - draw
        s.over = s.over - draw
        s.exhausted[s.t] = s.over > self.materiality
        if s.any_exited:
            s.exhausted[s.t] &= s.live
        s.draw = draw

    def carry_forward(self, s: State) -> None:
        """Eligible underspend goes into the reserve while the balance is below the cap."""
        res = self.reserve
        if not res.carry_forward:
            return
        if not self.offset:
            v_g = s.v_g[self.eligible]
            eligible = np.maximum(-v_g, 0.0).sum(axis=0) + np.maximum(-s.x, 0.0)
            eligible = np.minimum(eligible, s.under)  # after offsets between schedules
        elif self.all_eligible:
            eligible = s.under
        else:
            elig = s.v_g[self.eligible].sum(axis=0) + s.x - s.gone  # less leavers' own
            eligible = np.minimum(s.under, np.maximum(-elig, 0.0))
        added = np.minimum(eligible, self.room(s))
        if s.any_exited:
            added = np.where(s.live, added, 0.0)
        s.balance = s.balance + added
        s.under = s.under - added
        s.added = added

    def disposition(self, s: State) -> None:
        """With ``retain`` the rest of the underspend stays in the reserve; the year's flows."""
        if self.retain:
            retained = np.minimum(s.under, self.room(s))
            if s.any_exited:
                retained = np.where(s.live, retained, 0.0)
            s.balance = s.balance + retained
            s.under = s.under - retained
            s.retained = retained
        s.flows.add("reserve_draw", s.t, s.draw)
        s.flows.add("reserve_topup", s.t, s.added + s.retained)

    def room(self, s: State) -> FloatArray | float:
        """What the reserve can still take under its cap, ``max(cap − R, 0)`` (∞ without). [£]"""
        cap = self.reserve.cap
        return np.inf if cap is None else np.maximum(cap - s.balance, 0.0)

    def finish(self, s: State) -> None:
        """The balance left after the last year is paid out by ``final_key``."""
        last = s.years - 1
        present = ~s.left if s.any_left else None
        # the last year's spend as settled (after an unreleased holdback's schemes and action)
        ctx = self.terms.context(last, s.cumulative, s.gross, present, s.cases_at(last), s.c)
        w = key_weights(self.reserve.final_key, ctx)
        s.flows.add("reserve_release", last, s.balance)
        s.flows.add("final_distribution", last, w * s.balance)
        s.closing = s.balance
        s.reserve[last] = 0.0
