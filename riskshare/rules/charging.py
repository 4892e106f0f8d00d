"""Step 3: client charging income (``client_groups[].charging``, ``agreement.charging``)."""

from __future__ import annotations

from riskshare._types import FloatArray
from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Charging", "net_spend"]


def net_spend(gross: FloatArray, income: FloatArray | None, terms: Terms) -> FloatArray:
    """Each group's spend net of charging income, ``(groups, sims)``. [£]

    ``S − I`` when income is pooled gross, ``(1 − rate) S`` when net (the pool
    works at the expected rate); the gross spend when there is no income.
    """
    if income is None:
        return gross
    if terms.agreement.charging.pooling == "net":
        return gross * (1.0 - terms.charging_rate)[:, None]
    return gross - income


class Charging(Rule):
    """The pool receives charging income; with ``pooling: net`` the bearer meets its shortfall.

    The shortfall against the expected rate, ``rate_g · S_g − I_g``, is
    paid by ``charging.bearer`` (default the host) as ``income_shortfall``.
    """

    name = "charging"
    steps = ("charging", "spend")
    writes = frozenset({"charging_income", "income_shortfall"})

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.rate = terms.charging_rate
        charging = terms.agreement.charging
        self.net = charging.pooling == "net"
        self.bearer = terms.partner(charging.bearer) if charging.bearer else terms.host

    @classmethod
    def from_terms(cls, terms: Terms) -> Charging | None:
        return cls(terms) if bool((terms.charging_rate > 0).any()) else None

    def charging(self, s: State) -> None:
        """This year's income and each group's spend net of it."""
        if s.income is not None:
            s.inc = s.income[s.t]
            s.n_g = net_spend(s.gross, s.inc, self.terms)

    def spend(self, s: State) -> None:
        """The income received (after any management action) and the bearer's shortfall."""
        if s.inc is None:
            return
        s.flows.add("charging_income", s.t, s.inc.sum(axis=0))
        if self.net:
            shortfall = (s.gross * self.rate[:, None] - s.inc).sum(axis=0)
            s.flows.add_column("income_shortfall", s.t, self.bearer, shortfall)
