"""Step 11: instalments and in-year cash (``agreement.instalments``).

The year-end settlement is unchanged: this rule only times the year's money.
Contributions (the budget ``B``) arrive in equal instalments at the start of
each period, spend accrues by the accrual profiles (after management action
from the month it takes effect), and the pool's cash shortfall at each month
end is the pool's in-year cash call; ``cash_key`` splits it between the
partners (by default the host finds it).
"""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.rules.base import Rule
from riskshare.rules.keys import key_weights, sum_by_group
from riskshare.rules.state import State
from riskshare.rules.terms import Terms
from riskshare.rules.timing import MONTHS, group_accrued, pool_accrued

__all__ = ["QUARTERS", "Instalments", "paid_share", "partner_quarter"]

#: The extras holding each quarter's in-year cash call, ``(years, sims)`` each. [£]
QUARTERS = ("cash_q1", "cash_q2", "cash_q3", "cash_q4")


def partner_quarter(quarter: str, partner: str) -> str:
    """The extra holding one partner's part of a quarter's cash call, ``(years, sims)``. [£]

    >>> partner_quarter("cash_q1", "council")
    'cash_q1:council'
    """
    return f"{quarter}:{partner}"


def paid_share(number: int) -> FloatArray:
    """``(13,)`` share of the year's contributions paid by the end of month k. [fraction]

    ``number`` equal instalments paid at the start of each period of
    ``12 / number`` months: ``ceil(k · number / 12) / number``.
    """
    k = np.arange(MONTHS + 1)
    return -(-k * number // MONTHS) / number


def after_action(accrued: FloatArray, month: int) -> FloatArray:
    """``(years, 13)`` share of a change made from month ``month`` on that has accrued by month k.

    ``(A_t(k) − A_t(month)) / (1 − A_t(month))`` after ``month``, 0 before and
    1 at the year's end. [fraction]
    """
    base = accrued[:, month : month + 1]
    rest = 1.0 - base
    out = np.where(rest > 0, (accrued - base) / np.where(rest > 0, rest, 1.0), 0.0)
    out[:, : month + 1] = 0.0
    out[:, MONTHS] = 1.0
    return out


class Instalments(Rule):
    """In-year cash: accrued spend against instalments received, quarter by quarter.

    At the end of month k the pool has spent
    ``C(k) = Σ_g A_g(k) N_g + A_t(k) (X + U) + r(k) Δ`` (``N_g`` and ``X``
    before action, ``Δ`` what action and any recovery plan change of the
    year's spend, ``r`` :func:`after_action` from the month action takes
    effect) and received ``paid(k) · B``. Quarter q's cash call is
    ``max(0, max_{k in q} C(k) − paid(k) B)``, and partner p finds
    ``w_p(cash_key)`` of it (the key over the partners still in): the
    extras :func:`partner_quarter`.
    """

    name = "instalments"
    steps = ("trigger", "cash")
    carries = ("unmitigated",)
    #: At ``trigger``: before management action, to keep the spend it changes.
    order = -1

    def __init__(self, terms: Terms) -> None:
        self.cash_key = terms.agreement.instalments.cash_key
        self.by_partner = tuple(
            tuple(partner_quarter(q, p) for p in terms.partner_ids) for q in QUARTERS
        )
        self.records = QUARTERS + tuple(name for names in self.by_partner for name in names)
        self.paid = paid_share(terms.agreement.instalments.number)
        self.group_accrued = group_accrued(terms)  # (groups, 13)
        self.pool_accrued = pool_accrued(terms)
        tr = terms.agreement.trigger
        self.after = after_action(self.pool_accrued, MONTHS if tr is None else tr.month + tr.lag)

    @classmethod
    def from_terms(cls, terms: Terms) -> Instalments | None:
        return cls(terms) if terms.agreement.instalments is not None else None

    def start(self, s: State) -> None:
        s.unmitigated = None
        for name in self.records:
            s.extras[name] = np.zeros((s.years, s.n_sims))

    def trigger(self, s: State) -> None:
        """Keep the year's spend before management action."""
        s.unmitigated = (s.n_g, s.x)

    def cash(self, s: State) -> None:
        t = s.t
        n_g, x = s.unmitigated
        before = sum_by_group(self.group_accrued, n_g)  # (13, sims)
        before += np.multiply.outer(
            self.pool_accrued[t], np.broadcast_to(x + s.uncommitted, before.shape[1:])
        )
        change = s.n_g.sum(axis=0) + s.x - n_g.sum(axis=0) - x
        short = before + np.multiply.outer(self.after[t], change)
        short -= np.multiply.outer(self.paid, s.budget)
        w = key_weights(self.cash_key, s.ctx)  # (partners, 1 or sims)
        for q, name in enumerate(QUARTERS):
            worst = short[3 * q + 1 : 3 * q + 4].max(axis=0)
            call = s.extras[name][t]
            np.maximum(worst, 0.0, out=call)
            for p, part in enumerate(self.by_partner[q]):
                s.extras[part][t] = w[p] * call
