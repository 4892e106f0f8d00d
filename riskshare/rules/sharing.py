"""Step 9: sharing the overspend and underspend (``overspend``, ``underspend``, thresholds).

Keys, thresholds, towers of bands and ``own``.
"""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.model import Sharing as SharingRule
from riskshare.config.model import Threshold
from riskshare.rules.base import Rule
from riskshare.rules.keys import KeyContext, key_weights
from riskshare.rules.state import State
from riskshare.rules.terms import Terms
from riskshare.rules.tower import apply_tower

__all__ = ["Sharing", "side_shares"]


def side_shares(
    amount: FloatArray,
    sharing: SharingRule,
    threshold: Threshold | None,
    ctx: KeyContext,
    budget: FloatArray,
) -> FloatArray:
    """Each partner's part of one side of the variance, ``(partners, sims)``. [£]

    A threshold first (``below_key`` takes the amount under it), then the
    rule's key, or its tower of bands with the key above the last band.
    """
    if sharing.key == "own":
        return np.zeros((len(ctx.partner_ids), amount.shape[0]))
    shared = amount
    below_part = None
    if threshold is not None:
        tau = threshold.rate * budget
        # First dollar: shared once the amount reaches the threshold (G/B >= MSR);
        # dead band: the first tau always stays with below_key.
        within = amount < tau if threshold.first_dollar else amount <= tau
        below_amount = np.where(within, amount, 0.0 if threshold.first_dollar else tau)
        shared = amount - below_amount
        below_part = key_weights(threshold.below_key, ctx) * below_amount
    fallback = key_weights(sharing.key, ctx)
    if not sharing.bands:
        out = fallback * shared
    else:
        scale = budget if sharing.basis == "budget" else 1.0
        limits = [np.inf if b.upto is None else b.upto * scale for b in sharing.bands]
        weights = [key_weights(b.key, ctx) for b in sharing.bands]
        if sharing.bands[-1].upto is not None:
            limits.append(np.inf)
            weights.append(fallback)
        out = apply_tower(shared, limits, weights)
    if below_part is not None:
        out = out + below_part
    return out


class Sharing(Rule):
    """What is left of the overspend and underspend becomes the partners' positions.

    ``position = share(O) − share(Q)``, each side by its rule. With key
    ``own`` a partner takes its own variance less its part of what the
    reserve, the uncommitted allocation, non-recurrent use and offsets
    between schedules absorbed.
    """

    name = "sharing"
    steps = ("sharing",)

    def __init__(self, terms: Terms) -> None:
        agr = terms.agreement
        self.agreement = agr
        self.over_own = agr.overspend.key == "own"
        self.under_own = agr.underspend.key == "own"
        self.final_key = agr.reserve.final_key if agr.reserve is not None else None
        if self.over_own or self.under_own:
            self.needs = frozenset({"own_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Sharing | None:
        return cls(terms) if terms.agreement.arrangement == "pooled" else None

    def sharing(self, s: State) -> None:
        agr = self.agreement
        shared = side_shares(s.over, agr.overspend, agr.threshold_overspend, s.ctx, s.budget)
        shared -= side_shares(s.under, agr.underspend, agr.threshold_underspend, s.ctx, s.budget)
        if self.over_own or self.under_own:
            own_position = self.own_position(s)
            if self.over_own and self.under_own:
                shared = own_position
            else:
                use_own = (s.v >= 0) if self.over_own else (s.v < 0)
                shared = np.where(use_own, own_position, shared)
        s.position += shared

    def own_position(self, s: State) -> FloatArray:
        """``V_p − a · r_p``: own variance less a part of what was absorbed."""
        absorbed = s.draw + s.release - s.added - s.retained - s.nonrecurrent + s.offset_net
        r_w = key_weights(self.final_key, s.ctx) if self.final_key is not None else s.w_prop
        return s.own - r_w * absorbed
