"""Step 4: integration effects (``agreement.integration``, model ``integration_savings``)."""

from __future__ import annotations

import numpy as np

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Integration"]


class Integration(Rule):
    """One-off set-up costs and drawn savings, met by the pool or by a partner outside it.

    The pool-level net effect ``X = setup_pool − savings_pool`` is part of the
    pooled variance; what a partner pays or keeps is a memo flow in its net
    position.
    """

    name = "integration"
    steps = ("integration",)
    writes = frozenset(
        {
            "integration_cost",
            "integration_savings",
            "partner_integration_cost",
            "partner_integration_savings",
        }
    )

    def __init__(self, terms: Terms) -> None:
        integ = terms.agreement.integration
        years, n_partners = terms.contributions.shape
        self.setup_pool = np.zeros(years)
        self.setup_partner = np.zeros((years, n_partners))
        for sc in integ.setup_costs:
            if sc.charged_to == "pool":
                self.setup_pool[sc.year] += sc.amount
            else:
                self.setup_partner[sc.year, terms.partner(sc.charged_to)] += sc.amount
        self.savings_to = None if integ.savings_to == "pool" else terms.partner(integ.savings_to)

    @classmethod
    def from_terms(cls, terms: Terms) -> Integration:
        return cls(terms)

    def integration(self, s: State) -> None:
        t = s.t
        x = self.setup_pool[t]
        if s.savings is not None:
            z = np.asarray(s.savings)[:, t]
            if self.savings_to is None:
                x = x - z
                s.flows.add("integration_savings", t, z)
            else:
                s.flows.add_column("partner_integration_savings", t, self.savings_to, z)
        if self.setup_pool[t]:
            s.flows.add("integration_cost", t, self.setup_pool[t])
        if np.any(self.setup_partner[t]):
            s.flows.add("partner_integration_cost", t, self.setup_partner[t][:, None])
        s.x = x
