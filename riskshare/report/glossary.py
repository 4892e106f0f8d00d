"""What each output means, in one sentence each: the report's glossary.

The same entries, word for word, make the "Outputs" section of
``docs/glossary.md`` (a test keeps the two equal), so a reader of the report
and a reader of the docs see one definition of each figure.
"""

from __future__ import annotations

__all__ = ["HOLDBACK_LABELS", "OUTPUT_TERMS", "Term", "term"]

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A glossary entry: its anchor in the report, its name, its one-sentence meaning."""

    anchor: str
    name: str
    meaning: str


#: Display names of the holdback amounts (:data:`riskshare.run.HOLDBACK_AMOUNTS`).
HOLDBACK_LABELS = {
    "released": "Released to the pool",
    "retained": "Retained (paid to the acute provider)",
    "uncommissioned": "Schemes not commissioned (spend avoided)",
}

#: The outputs a report shows, in reading order.
OUTPUT_TERMS: tuple[Term, ...] = (
    Term(
        "net-position",
        "Net position",
        "What a partner pays over the whole agreement beyond the contributions it agreed: cash "
        "calls for overspends, less refunds of underspends and its share of the reserve paid "
        "back at the end; positive means it pays, negative means money comes back.",
    ),
    Term(
        "contribution",
        "Contributions",
        "What a partner agreed to pay into the pool, summed over the agreement's years.",
    ),
    Term(
        "mean",
        "Expected (mean)",
        "The average net position over all simulations: what a partner should expect to pay "
        "on top of its contributions.",
    ),
    Term(
        "p95",
        "1 in 20 (P95)",
        "The net position exceeded in 5% of simulations (the 95th percentile): one simulated "
        "agreement in 20, all its years together, costs more than this.",
    ),
    Term(
        "tvar95",
        "Worst 1 in 20, average (TVaR95)",
        "The average net position of the worst 5% of simulations: how bad the 1-in-20 "
        "outcomes are on average.",
    ),
    Term(
        "prob-call",
        "Chance of a cash call (any year)",
        "The share of simulations in which the partner is asked for extra cash to meet an "
        "overspend in at least one year (more than the materiality, £1 unless the "
        "configuration's simulation.materiality says otherwise).",
    ),
    Term(
        "appetite",
        "Risk appetite",
        "The net position over the agreement a partner has said it can bear (from the "
        "configuration's appetite).",
    ),
    Term(
        "prob-exceeds",
        "Chance above appetite",
        "The share of simulations in which the partner's net position is larger than its "
        "risk appetite.",
    ),
    Term(
        "budget",
        "Budget for spend",
        "A year's contributions less the top-slice paid into the reserve: the money the pool "
        "has to spend on its client groups.",
    ),
    Term(
        "top-slice",
        "Top-slice",
        "The part of each contribution paid into the risk reserve instead of the budget; it "
        "comes back to meet an overspend before anyone is called for cash.",
    ),
    Term(
        "expected-gap",
        "Expected gap",
        "Expected spend less the budget for spend in a year; a positive gap is the overspend "
        "the pool should expect before the reserve meets any of it.",
    ),
    Term(
        "prob-overspend",
        "Chance of an overspend",
        "The share of simulations in which a year's spend is more than its budget for spend.",
    ),
    Term(
        "reserve",
        "Reserve",
        "Money held in the pool (opening balance, top-slices, carried-forward underspends) that "
        "meets overspends first; what is left at the end is paid back to the partners.",
    ),
    Term(
        "prob-call-year",
        "Chance of a cash call in a year",
        "The share of simulations in which that year's overspend is more than the reserve can "
        "meet, so that partners are called for cash; in one pooled budget it is never above "
        "the chance of an overspend (with several schedules, one schedule can call while the "
        "pool as a whole is within budget).",
    ),
    Term(
        "holdback",
        "Holdback released and retained",
        "The part of a partner's contribution held back against a performance target: "
        "released to the pool as far as the target is met, otherwise retained and paid to "
        "its acute provider; where the agreement says so, the schemes the retained money "
        "would have funded are not commissioned, and the pool's spend falls with it.",
    ),
    Term(
        "standard-error",
        "Monte Carlo standard error",
        "How much a figure would move if the simulations were run again with another seed; "
        "the figures are rounded to about this precision.",
    ),
    Term(
        "confidence-interval",
        "95% confidence interval",
        "A range that holds the exact figure (the one infinitely many simulations would give) "
        "in 95% of reruns.",
    ),
    Term(
        "difference",
        "Difference to the baseline",
        "An alternative's figure less the baseline's, both settled on the same simulated "
        "spend, so that the difference is the rules' and not chance's; shown with its "
        "standard error.",
    ),
)


def term(anchor: str) -> Term:
    """The entry with ``anchor``."""
    for t in OUTPUT_TERMS:
        if t.anchor == anchor:
            return t
    raise KeyError(anchor)
