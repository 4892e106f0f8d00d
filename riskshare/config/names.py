"""Display names: partners, client groups and assumptions as people call them.

Partners and client groups carry an optional ``name`` in the config (else
their id is shown). An assumption (a dotted config path such as
``client_groups.learning_disability.spend.cost.inflation`` or
``client_groups[0].spend.cost.inflation``) is named from the group or partner
it belongs to and the field's meaning: "Learning disability: cost inflation".
Every output (command line, report, workbook, charts, tornado) uses these.

Examples
--------
>>> from riskshare.config import load_config
>>> model = load_config("configs/section75_example.yaml")
>>> assumption_label(model, "client_groups[0].spend.cost.inflation")
'Learning disability: cost inflation'
>>> assumption_label(model, "client_groups.mental_health.spend.growth")
'Mental health (community and s117): spend growth'
>>> assumption_label(model, "agreement.reserve.top_slice")
'Reserve top-slice'
>>> assumption_label(model, "contributions.icb.uplift")
'Integrated Care Board: contribution uplift'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskshare.config.model import Model

__all__ = ["POOL_LABEL", "assumption_label", "partner_labels"]

#: How the pool (all partners together) is named.
POOL_LABEL = "All partners (the pool)"

#: Field paths (below a client group, a partner's contribution, or the top level) in words.
FIELD_WORDS: dict[str, str] = {
    "spend.cost.inflation": "cost inflation",
    "spend.cost.mean": "cost per client",
    "spend.cost.cv": "variability of cost per client (CV)",
    "spend.clients.growth": "growth in client numbers",
    "spend.clients.mean": "clients in the first year",
    "spend.clients.dispersion": "dispersion of client numbers",
    "spend.clients.exit_rate": "clients leaving each year",
    "spend.growth": "spend growth",
    "spend.mean": "spend in the first year",
    "spend.cv": "variability of spend (CV)",
    "spend.amount": "spend",
    "high_cost.rate": "high-cost placements a year",
    "high_cost.mean": "cost of a high-cost placement",
    "charging.rate": "charging income rate",
    "uplift": "contribution uplift",
    "base": "first-year contribution",
    "factor": "contribution factor",
    "amounts": "contribution schedule",
    "agreement.reserve.top_slice": "Reserve top-slice",
    "agreement.reserve.opening": "Reserve opening balance",
    "agreement.reserve.cap": "Reserve cap",
    "agreement.uncommitted": "Uncommitted allocation",
    "simulation.years": "Years",
}


def partner_labels(model: Model, *, pool: bool = True) -> dict[str, str]:
    """Partner id → display name (and ``'pool'`` → :data:`POOL_LABEL`)."""
    out = {p.id: p.label for p in model.partners}
    if pool:
        out["pool"] = POOL_LABEL
    return out


def _words(parts: list[str | int]) -> str:
    key = ".".join(str(p) for p in parts)
    if key in FIELD_WORDS:
        return FIELD_WORDS[key]
    return " ".join(str(p).replace("_", " ") for p in parts if not isinstance(p, int))


def assumption_label(model: Model, path: str) -> str:
    """The display name of the assumption at a dotted config ``path``.

    Client groups and partners are addressed by index or by id; an unknown
    path is shown in words (underscores as spaces).
    """
    from riskshare.config.load import parse_override

    try:
        parts, _ = parse_override(f"{path}=0")
    except ValueError:
        return path
    groups = {g.id: g for g in model.client_groups}
    partners = partner_labels(model, pool=False)
    head = parts[0] if parts else ""
    if head == "client_groups" and len(parts) > 1:
        ref = parts[1]
        if isinstance(ref, int) and -len(model.client_groups) <= ref < len(model.client_groups):
            group = model.client_groups[ref]
        else:
            group = groups.get(str(ref))
        if group is not None:
            rest = parts[2:]
            return f"{group.label}: {_words(rest)}" if rest else group.label
    if head in ("contributions", "appetite") and len(parts) > 1 and parts[1] in partners:
        what = "risk appetite" if head == "appetite" else _words(parts[2:]) or "contribution"
        return f"{partners[str(parts[1])]}: {what}"
    words = _words(parts)
    if words == FIELD_WORDS.get(".".join(str(p) for p in parts)):
        return words
    return words[:1].upper() + words[1:]
