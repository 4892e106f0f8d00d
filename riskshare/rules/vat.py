"""Step 6, after action: irrecoverable VAT on the host's commissioning (``vat``).

The host buys for the pool under its own VAT regime: a council recovers the
VAT on what it commissions (s33 VATA 1994), an NHS body largely cannot
(only on contracted-out services, s41(3)). What is not recovered is a cost
to the pool, shared by the sharing rule like any other pool-level cost.
"""

from __future__ import annotations

from riskshare.rules.base import Rule
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["IrrecoverableVat"]


class IrrecoverableVat(Rule):
    """The pool pays ``rate · vatable · (1 − recovered) · Σ_g S_g`` of VAT it cannot recover.

    ``S_g`` is each group's spend (net of VAT) after management action; the
    cost joins the pool-level effects ``X`` of the pooled variance.
    """

    name = "vat"
    steps = ("spend",)
    writes = frozenset({"irrecoverable_vat"})

    def __init__(self, terms: Terms) -> None:
        vat = terms.agreement.vat
        self.fraction = vat.rate * vat.vatable * (1.0 - vat.recovered)

    @classmethod
    def from_terms(cls, terms: Terms) -> IrrecoverableVat | None:
        return cls(terms) if terms.agreement.vat is not None else None

    def spend(self, s: State) -> None:
        lost = self.fraction * s.gross.sum(axis=0)
        s.x = s.x + lost
        s.flows.add("irrecoverable_vat", s.t, lost)
