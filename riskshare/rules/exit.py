"""Step 12: exit (``agreement.exit``).

After settling a year, a partner whose cumulative net position passes its
limit gives notice; from ``notice_years`` later the simulation runs as an
aligned budget, and at the start of that year the reserve is paid out by
``exit.reserve_key``.
"""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.keys import key_weights
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Exit"]

#: The partner flows that make up a net position besides calls and refunds, with their signs.
_NET_FLOWS = (
    ("income_shortfall", 1.0),
    ("partner_integration_cost", 1.0),
    ("partner_integration_savings", -1.0),
    ("final_distribution", -1.0),
)


class Exit(Rule):
    """A partner leaves when its cumulative net position passes its limit."""

    name = "exit"
    steps = ("exit_start", "exited", "exit_notice")
    writes = frozenset({"reserve_release", "final_distribution"})
    carries = ("cum_net", "exit_year")
    records = ("exit",)
    needs = frozenset({"own_variances"})

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.exit = terms.agreement.exit

    @classmethod
    def from_terms(cls, terms: Terms) -> Exit | None:
        return cls(terms) if terms.agreement.exit is not None else None

    def start(self, s: State) -> None:
        s.cum_net = np.zeros((s.n_partners, s.n_sims))
        s.exit_year = np.full(s.n_sims, s.years + 1)  # year an exit takes effect (years+1: never)
        s.extras["exit"] = np.zeros((s.years, s.n_sims), dtype=bool)

    def exit_start(self, s: State) -> None:
        """Exits taking effect this year pay out the reserve."""
        t = s.t
        starting = s.exit_year == t
        if not np.any(starting):
            return
        s.extras["exit"][t] = starting
        w = key_weights(self.exit.reserve_key, self.terms.context(t, s.cumulative, s.gross))
        out = np.where(starting, s.balance, 0.0)
        s.flows.add("reserve_release", t, out)
        s.flows.add("final_distribution", t, w * out)
        s.balance = np.where(starting, 0.0, s.balance)
        s.exited = s.exited | starting
        s.any_exited = True

    def exited(self, s: State) -> None:
        """After an exit, a simulation's positions are those of an aligned budget."""
        if s.any_exited:
            s.position = np.where(s.exited, s.aligned_position, s.position)

    def exit_notice(self, s: State) -> None:
        """Notice is given when a cumulative net position passes its limit."""
        t = s.t
        s.cum_net += s.calls - s.refunds
        for name, sign in _NET_FLOWS:
            if name in s.flows.partner:
                s.cum_net += sign * s.flows.partner[name][t]
        passed = np.zeros(s.n_sims, dtype=bool)
        for pid, limit in self.exit.limits.items():
            passed |= s.cum_net[self.terms.partner(pid)] > limit
        notice = passed & (s.exit_year > s.years) & ~s.exited
        s.exit_year = np.where(notice, t + 1 + self.exit.notice_years, s.exit_year)
