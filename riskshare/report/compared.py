"""The comparison report: rules side by side, differences to a named baseline, who gains.

Its first section is the comparison itself: for each partner and each rule,
the mean, P95, TVaR95 and chance above appetite of the net position over the
agreement, and each rule's paired difference to the baseline with its
standard error (all from :func:`riskshare.analysis.compare`, settled on the
same simulated spend). Then a paragraph on who gains and who loses, the
exceedance curves overlaid with the baseline named, the mean differences with
their error bars, and the method.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskshare.config.names import partner_labels
from riskshare.report.formats import chance, money_k, money_short, rounding_step

if TYPE_CHECKING:
    from riskshare.analysis.comparison import Comparison
    from riskshare.config.model import Model

__all__ = ["COMPARED", "comparison_context", "reading", "write_comparison_html"]

#: The measures side by side: (column of Comparison.table, heading, kind, glossary anchor).
COMPARED: tuple[tuple[str, str, str, str], ...] = (
    ("mean", "Expected (mean)", "money", "mean"),
    ("p95", "1 in 20 (P95)", "money", "p95"),
    ("tvar95", "Worst 1 in 20, average (TVaR95)", "money", "tvar95"),
    ("prob_exceeds", "Chance above appetite", "chance", "prob-exceeds"),
)


def _significant(diff: float, se: float) -> bool:
    return not math.isnan(diff) and abs(diff) > 2 * (0.0 if math.isnan(se) else se)


def _change(diff: float, se: float) -> str:
    """``+£1,166k ± £4.8k``: the difference rounded to its own standard error. [£]"""
    if abs(diff) < 0.5 and (math.isnan(se) or se < 0.5):
        return "none"
    se = 0.0 if math.isnan(se) else se
    text = money_k(diff, max(rounding_step(se), 100.0))
    sign = "" if text.startswith("−") else "+"
    return f"{sign}{text} ± {money_short(se)}"


def reading(comparison: Comparison, model: Model) -> list[str]:
    """Who gains and who loses under each rule, against the baseline, one sentence each.

    A partner gains when its expected net position falls by more than two
    standard errors, loses when it rises by more; otherwise the change is
    within Monte Carlo error ("no clear change").
    """
    t = comparison.table
    names = partner_labels(model)
    base = comparison.baseline
    out = []
    for rule in comparison.outcomes:
        if rule == base:
            continue
        gains, losses, same, appetite = [], [], [], []
        for pid in model.partner_ids:
            row = t.loc[(rule, pid)]
            d, se = float(row["mean_diff"]), float(row["mean_diff_se"])
            who = names[pid]
            if not _significant(d, se):
                same.append(who)
            elif d < 0:
                gains.append(f"{who} pays {money_short(-d)} less on average")
            else:
                losses.append(f"{who} pays {money_short(d)} more")
            p0, p1 = float(t.loc[(base, pid), "prob_exceeds"]), float(row["prob_exceeds"])
            if not math.isnan(p1) and _significant(
                float(row["prob_exceeds_diff"]), float(row["prob_exceeds_diff_se"])
            ):
                appetite.append(
                    f"{who}'s chance of passing its appetite goes from {chance(p0)} to {chance(p1)}"
                )
        parts = gains + losses
        words = f"Under {rule}, against the baseline ({base}): "
        words += "; ".join(parts) if parts else "no partner's expected position changes clearly"
        if same and parts:
            words += f"; no clear change for {', '.join(same)}"
        pool = t.loc[(rule, "pool")]
        pd_, pse = float(pool["mean_diff"]), float(pool["mean_diff_se"])
        if _significant(pd_, pse) and abs(pd_) >= 0.5:
            more = "more" if pd_ > 0 else "less"
            words += f". All partners together pay {money_short(abs(pd_))} {more}"
        elif parts:
            words += (
                ". Together the partners pay the same: the rule only moves the same risk "
                "between them"
            )
        if appetite:
            words += ". " + "; ".join(appetite)
        out.append(words + ".")
    return out


def comparison_context(comparison: Comparison, model: Model) -> dict[str, Any]:
    """Everything the comparison template shows."""
    from riskshare import __version__
    from riskshare.report import plots
    from riskshare.report.glossary import OUTPUT_TERMS
    from riskshare.report.headline import period_words
    from riskshare.report.html import figure_data_uri

    t = comparison.table
    names = partner_labels(model)
    base = comparison.baseline
    rules = list(comparison.outcomes)
    subjects = [*model.partner_ids, "pool"]
    n = comparison.n_sims
    level_se = [
        float(o.total(pid).std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
        for o in comparison.outcomes.values()
        for pid in subjects
    ]
    diff_se = [
        float(v)
        for c in ("mean_diff_se", "p95_diff_se", "tvar95_diff_se")
        for v in t[c]
        if math.isfinite(float(v))
    ]
    step = rounding_step(max([*level_se, *diff_se, 0.0]))
    groups = []
    for pid in subjects:
        rows = []
        for rule in rules:
            row = t.loc[(rule, pid)]
            cells = []
            for m, _, kind, _ in COMPARED:
                v = float(row[m])
                d, se = float(row[f"{m}_diff"]), float(row[f"{m}_diff_se"])
                if kind == "money":
                    text = money_k(v, step)
                    change = "" if rule == base else _change(d, se)
                else:
                    text = chance(v)
                    change = (
                        ""
                        if rule == base or math.isnan(d)
                        else f"{'+' if d >= 0 else '−'}{abs(100 * d):.0f} ± {100 * se:.1f} pts"
                    )
                cells.append(
                    {
                        "measure": m,
                        "value": repr(v),
                        "text": text,
                        "diff": repr(d),
                        "diff_se": repr(se),
                        "change": change,
                    }
                )
            rows.append({"rule": rule, "baseline": rule == base, "cells": cells})
        groups.append({"partner": pid, "label": names[pid], "rows": rows})
    totals = {
        rule: {pid: o.total(pid) for pid in model.partner_ids}
        for rule, o in comparison.outcomes.items()
    }
    frame = t.drop(index=base, level=0)[["mean_diff", "mean_diff_se"]].reset_index()
    frame.columns = ["agreement", "partner", "diff", "se"]
    frame = frame[frame["partner"] != "pool"]  # the rules share the same spend: no change
    frame["partner"] = frame["partner"].map(names)
    charts = [
        {
            "title": "Chance of paying more than £X under each rule",
            "src": figure_data_uri(
                plots.exceedance_by_rule(totals, base, labels=names, appetite=model.appetite)
            ),
            "caption": f"The black curve is the baseline, {base}; each other curve is a rule "
            "settled on the same simulated spend.",
        },
        {
            "title": "Change in each partner's expected net position",
            "src": figure_data_uri(plots.comparison(frame)),
            "caption": f"Each rule's paired mean difference to the baseline ({base}); bars are "
            "± 2 standard errors.",
        },
    ]
    return {
        "title": f"{model.name}: comparison of rules",
        "version": __version__,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "period": period_words(model.simulation.years),
        "baseline": base,
        "rules": rules,
        "measures": [{"heading": h, "term": g} for _, h, _, g in COMPARED],
        "groups": groups,
        "reading": reading(comparison, model),
        "charts": charts,
        "precision": (
            f"Amounts in £ thousands, rounded to £{money_k(step, step).removeprefix('£')}; "
            "each change is rounded to its own standard error and shown ± it (paired: all rules "
            "were settled on the same simulated spend, so a change is more precise than a level)."
        ),
        "n_sims": f"{n:,}",
        "seed": comparison.seed,
        "glossary": OUTPUT_TERMS,
    }


def write_comparison_html(comparison: Comparison, model: Model, path: str | Path) -> Path:
    """Write the comparison report of ``comparison`` (made from ``model``) to ``path``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from riskshare.report.html import template_env, write_text

    context = comparison_context(comparison, model)
    text = template_env().get_template("comparison.html.j2").render(**context)
    return write_text(path, text)
