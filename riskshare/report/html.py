"""A self-contained HTML report of a result, for a finance director to read and print.

One file: inline CSS, charts as base64 PNG images, no JavaScript and nothing
fetched from the network. Rendered with a Jinja2 template
(``templates/report.html.j2``) with autoescaping on.

Each key figure cell carries ``data-partner``, ``data-measure`` and
``data-value`` (full-precision float) attributes so that programs (and the
tests) can read the exact numbers behind the rounded display.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskshare.report.formats import chance, money, money_k, money_short, percent, rounding_step

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    from matplotlib.figure import Figure

    from riskshare.config.model import Agreement, CaseSplits, Model, ScheduleRules
    from riskshare.run import Result

__all__ = ["describe_agreement", "describe_groups", "money", "percent", "render_html", "write_html"]

#: Key figures shown per partner: (column of summary(), heading, kind).
KEY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("mean", "Expected (mean)", "money"),
    ("p50", "Median", "money"),
    ("p95", "1 in 20 (P95)", "money"),
    ("tvar95", "Average of worst 1 in 20 (TVaR95)", "money"),
    ("p99", "1 in 100 (P99)", "money"),
    ("prob_pays", "Chance of paying anything", "percent"),
    ("prob_call_any_year", "Chance of a cash call in some year", "percent"),
    ("prob_exceeds", "Chance of exceeding appetite", "percent"),
)


# ----------------------------------------------------------------------------- formatting


def _rate(r: Any) -> str:
    if hasattr(r, "mean") and hasattr(r, "sd"):
        return f"{percent(r.mean)} a year (uncertain: ± {percent(r.sd)} standard deviation)"
    return f"{percent(float(r))} a year"


# ----------------------------------------------------------------------------- plain words


def _key_words(key: Any, model: Model, host: str | None = None) -> str:
    """A key in words; ``host``: the partner key 'host' names (a lead schedule's lead)."""
    labels = {p.id: p.label for p in model.partners}
    host = model.host if host is None else host
    if isinstance(key, dict):
        return "fixed shares: " + ", ".join(
            f"{labels.get(p, p)} {percent(s, 0)}" for p, s in key.items()
        )
    return {
        "proportional": "in proportion to contributions",
        "host": f"by the host ({labels.get(host, host)})",
        "own": "each partner its own groups' variance",
        "commissioners": "by commissioning shares",
    }.get(str(key), str(key))


def describe_groups(model: Model) -> list[dict[str, str]]:
    """One row per client group: name, commissioners and its spend model in words."""
    from riskshare.config.model import AggregateSpend, ClientsSpend

    labels = {p.id: p.label for p in model.partners}
    rows = []
    for grp in model.client_groups:
        sp = grp.spend
        if isinstance(sp, ClientsSpend):
            c = sp.clients
            law = c.distribution.replace("_", " ").replace("poisson", "Poisson")
            count = (
                f"{law[0].upper()}{law[1:]} number of clients, {c.mean:,.0f} "
                f"expected in the first year, growing {_rate(c.growth)}"
            )
            if c.dispersion is not None:
                count += f" (dispersion {c.dispersion:g})"
            if c.exit_rate is not None:
                count += f"; a persistent caseload, {percent(c.exit_rate, 0)} leaving each year"
            cost = (
                f"cost per client {sp.cost.distribution}, mean {money(sp.cost.mean)} a "
                f"year, CV {sp.cost.cv:g}, inflation {_rate(sp.cost.inflation)}"
            )
            words = f"{count}; {cost}."
        elif isinstance(sp, AggregateSpend):
            words = (
                f"Spend known in aggregate: {sp.distribution}, {money(sp.mean)} expected "
                f"in the first year, CV {sp.cv:g}, growing {_rate(sp.growth)}."
            )
        else:
            words = (
                "Fixed spend (no uncertainty): "
                + (
                    ", ".join(money(a) for a in sp.amounts)
                    if sp.amounts is not None
                    else f"{money(sp.amount)} growing {percent(sp.growth)} a year"
                )
                + "."
            )
        extras = []
        if grp.high_cost is not None:
            hc = grp.high_cost
            extras.append(
                f"high-cost placements: {hc.rate:g} a year, {hc.distribution}, mean "
                f"{money(hc.mean)}"
            )
        for sc in grp.step_changes:
            extras.append(f"price change ×{sc.factor:g} from year {sc.year + 1}")
        if grp.charging is not None:
            extras.append(f"charging income {percent(grp.charging.rate)} of gross spend")
        if grp.cases is not None:
            extras.append(_case_words(grp.cases, labels))
        if extras:
            words += " Also " + "; ".join(extras) + "."
        comm = ", ".join(
            f"{labels.get(p, p)} {percent(s, 0)}" for p, s in grp.commissioner_shares.items()
        )
        rows.append({"id": grp.id, "name": grp.label, "commissioners": comm, "spend": words})
    return rows


def _case_words(cases: CaseSplits, labels: Mapping[str, str]) -> str:
    """The group's case splits in words (the commissioners' shares are their expected split)."""
    if cases.table is None:
        return (
            "each case's cost split between the partners as agreed case by case, around the "
            f"commissioners' shares (Dirichlet, concentration {cases.concentration:g}); "
            "each pays its cases"
        )
    rows = "; ".join(
        f"{percent(row.probability, 0)} of cases "
        + "/".join(f"{labels.get(p, p)} {percent(s, 0)}" for p, s in row.shares.items())
        for row in cases.table
    )
    return f"each case's cost split between the partners as agreed ({rows}); each pays its cases"


def describe_agreement(model: Model, agreement: Agreement | None = None) -> list[str]:
    """The agreement's rules as sentences a finance director can check.

    With several schedules, a line per schedule (its groups and rules), then
    the offsets between them and the exit clause, which is agreement-wide.
    """
    a = model.agreement if agreement is None else agreement
    if not a.schedules:
        out = _rule_words(a, model)
    else:
        groups = {g.id: g.label for g in model.client_groups}
        out = [
            f"Schedule '{s.label}' ({', '.join(groups.get(g, g) for g in s.groups)}): "
            + " ".join(_rule_words(s, model))
            for s in a.schedules
        ]
        if a.across is not None and a.across.offset:
            taking_part = a.across.schedules or [
                s.id for s in a.schedules if s.arrangement != "aligned"
            ]
            names = {s.id: s.label for s in a.schedules}
            out.append(
                "Across schedules: an underspend in one of "
                f"{', '.join(names.get(i, i) for i in taking_part)} first meets an overspend "
                "in another, before any reserve is used."
            )
    if a.exit is not None:
        out.append(_exit_words(a, model))
    return out


def _rule_words(a: ScheduleRules, model: Model) -> list[str]:
    """One schedule's rules (or a one-schedule agreement's) as sentences."""
    labels = {p.id: p.label for p in model.partners}
    host = a.lead if a.arrangement == "lead" and a.lead is not None else model.host
    if a.arrangement == "aligned":
        return ["Aligned budgets: each partner keeps the variance of its own client groups."]
    out = []
    if a.arrangement == "lead" and a.lead is not None:
        out.append(
            f"Lead commissioning: {labels.get(a.lead, a.lead)} commissions for the others; "
            "overspends and underspends are shared by the rules below."
        )
    else:
        out.append(
            "Pooled budget: one fund; overspends and underspends are shared by the rules below."
        )
    for side in ("overspend", "underspend"):
        s = getattr(a, side)
        if s.bands:
            lo = 0.0
            parts = []
            for b in s.bands:
                top = b.upto
                unit = (
                    (lambda v: percent(v, 1) + " of the budget") if s.basis == "budget" else money
                )
                rng = (
                    f"from {unit(lo) if lo else 'the first pound'} to {unit(top)}"
                    if top is not None
                    else f"above {unit(lo)}"
                )
                parts.append(f"{rng}: {_key_words(b.key, model, host)}")
                lo = top or lo
            parts.append(f"beyond the last band: {_key_words(s.key, model, host)}")
            out.append(f"An {side} is shared in bands — " + "; ".join(parts) + ".")
        else:
            out.append(f"An {side} is shared {_key_words(s.key, model, host)}.")
        th = getattr(a, f"threshold_{side}")
        if th is not None:
            kind = (
                "first-dollar (the whole amount is shared once it passes)"
                if th.first_dollar
                else "dead band (only the part above it is shared)"
            )
            out.append(
                f"{side.capitalize()} threshold of {percent(th.rate)} of the budget, "
                f"{kind}; below it: {_key_words(th.below_key, model, host)}."
            )
    r = a.reserve
    if r is None:
        out.append("No risk reserve.")
    else:
        words = f"A risk reserve opens with {money(r.opening)}"
        if r.top_slice:
            words += (
                f" plus a top-slice of {percent(r.top_slice)} of contributions "
                f"({'in the first year' if r.top_slice_years == 'first' else 'every year'})"
            )
        words += "; overspends draw on it first"
        if r.carry_forward:
            words += "; underspends are carried into it"
            if r.cap is not None:
                words += f" up to a balance of {money(r.cap)}"
        words += f"; what is left at the end is returned {_key_words(r.final_key, model, host)}."
        out.append(words)
    if a.underspend_disposition != "return":
        out.append(
            "An underspend not carried forward is "
            + (
                "retained in the reserve."
                if a.underspend_disposition == "retain"
                else "spent on non-recurrent items."
            )
        )
    groups = {g.id: g.label for g in model.client_groups}
    for gid, key in a.group_keys.items():
        split = _key_words(key, model, host)
        out.append(f"Client group {groups.get(gid, gid)} keeps its own variance, split {split}.")
    for cap in a.caps:
        limit = (
            money(cap.amount)
            if cap.amount is not None
            else f"{percent(cap.fraction)} of its {cap.of.replace('_', ' ')}"
        )
        out.append(
            f"{labels.get(cap.partner, cap.partner)}'s share of an {cap.side} is capped "
            f"at {limit} per {cap.per}; the excess goes to "
            f"{labels.get(cap.overflow, cap.overflow)}."
        )
    if a.holdback is not None:
        hb = a.holdback
        unreleased = (
            f"; what is not released leaves the schemes it funds ({', '.join(hb.funds)}) "
            f"uncommissioned, {percent(hb.fixed_share, 0)} of their cost being committed anyway"
            if hb.unreleased == "uncommission"
            else "; what is not released is an overspend shared by the rules"
        )
        out.append(
            f"{labels.get(hb.partner, hb.partner)} holds back part of its contribution "
            f"against performance metric {hb.metric} (target {hb.target:g}){unreleased}."
        )
    if a.trigger is not None:
        t = a.trigger
        assessed = (
            f"the overspend forecast at month {t.month} (forecast volatility "
            f"{percent(t.forecast.sd)}, bias {t.forecast.bias:+g})"
            if t.on == "forecast"
            else f"the year's overspend, as if known at month {t.month},"
        )
        lag = f" {t.lag} month(s) later" if t.lag else ""
        cost = ""
        if t.cost is not None and (t.cost.fixed or t.cost.proportional):
            cost = (
                f" A recovery plan costs the pool {money(t.cost.fixed)} plus "
                f"{percent(t.cost.proportional)} of what it saves."
            )
        out.append(
            f"Management action: when {assessed} passes {percent(t.threshold)} of the budget, "
            f"action taking effect{lag} removes {percent(t.mitigation, 0)} of the overspend "
            f"in the rest of the year.{cost}"
        )
    if a.instalments is not None:
        out.append(
            f"Contributions are paid in {a.instalments.number} equal instalment(s) a year, "
            "in advance; the host finds any in-year shortfall."
        )
    if a.uncommitted:
        out.append(
            f"An uncommitted allocation of {percent(a.uncommitted)} of the budget is "
            f"held each year to meet an overspend."
        )
    return out


def _exit_words(a: Agreement, model: Model) -> str:
    """The exit clause in words: who leaves when, and (with schedules) that it is agreement-wide."""
    exit_ = a.exit
    if exit_ is None:
        return ""
    labels = {p.id: p.label for p in model.partners}
    whole = " over the whole agreement" if a.schedules else ""
    ways = []
    if exit_.limits:
        lim = ", ".join(f"{labels.get(p, p)} {money(v)}" for p, v in exit_.limits.items())
        n = exit_.notice_years
        notice = (
            "at the start of the next year"
            if n == 0
            else f"after {n} year's notice"
            if n == 1
            else f"after {n} years' notice"
        )
        ways.append(
            f"a partner leaves when its cumulative net position{whole} passes its limit "
            f"({lim}), {notice}"
        )
    first = model.simulation.first_year

    def start_of(t: int) -> str:
        return f"at the start of {first + t}/{(first + t + 1) % 100:02d}"

    for pid, year in exit_.voluntary.items():
        ways.append(f"{labels.get(pid, pid)} leaves {start_of(year)}")
    if exit_.end_year is not None:
        ways.append(f"the agreement ends {start_of(exit_.end_year)}")
    words = "Exit: " + "; ".join(ways) + "."
    if a.schedules:
        words += " A leaver leaves every schedule at once; its exit costs are paid once."
    return words


# ----------------------------------------------------------------------------- figures


def figure_data_uri(fig: Figure, dpi: int = 130) -> str:
    """A figure as a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _chart(title: str, fig: Figure, caption: str) -> dict[str, str]:
    return {"title": title, "src": figure_data_uri(fig), "caption": caption}


def _charts(result: Result) -> list[dict[str, str]]:
    from riskshare.report import plots

    return [
        _chart(
            "Chance of paying more than £X",
            plots.exceedance(result),
            "Each curve shows the chance that a partner pays more than the amount on the "
            "horizontal axis over the whole agreement, beyond its contributions.",
        ),
        _chart(
            "Distribution of each partner's net position",
            plots.distribution(result),
            "Dashed lines mark the 1-in-20 outcome (P95); dotted lines the average of the worst "
            "1 in 20 (TVaR95).",
        ),
        _chart(
            "The pool and the reserve over the years",
            plots.fan(result),
            "Shaded bands hold 90 % (light) and 50 % (dark) of the simulations.",
        ),
    ]


# ----------------------------------------------------------------------------- context


def _cell(
    value: float,
    kind: str,
    partner: str,
    measure: str,
    year: str | None = None,
    *,
    step: float = 1.0,
    digits: int = 1,
) -> dict[str, Any]:
    v = float(value)
    text = money_k(v, step) if kind == "money" else chance(v, digits)
    return {"text": text, "value": repr(v), "partner": partner, "measure": measure, "year": year}


def headline_context(result: Result) -> dict[str, Any]:
    """The headline sentences and the key table, ready for a template."""
    from riskshare.report.headline import expected_contributions, headlines, key_table

    summary = result.summary()
    paid = expected_contributions(result)
    table = key_table(summary, result.model, contributions=paid)
    return {
        "headlines": [
            {
                "partner": h.partner,
                "label": h.label,
                "parts": [
                    p
                    if isinstance(p, str)
                    else {"measure": p.measure, "value": repr(p.value), "text": p.text}
                    for p in h.parts
                ],
            }
            for h in headlines(summary, result.model, contributions=paid)
        ],
        "key_columns": table.columns,
        "key_rows": [
            {
                "partner": pid,
                "label": label,
                "cells": [
                    {
                        "partner": c.partner,
                        "measure": c.measure,
                        "value": repr(c.value),
                        "text": c.text,
                    }
                    for c in cells
                ],
            }
            for pid, label, cells in table.rows
        ],
        "key_precision": table.precision,
        "key_step": table.step,
        "key_digits": table.percent_digits,
    }


def _budget_context(result: Result, step: float) -> dict[str, Any]:
    from riskshare.report.budget import budget_years, has_reserve

    rows = budget_years(result)
    first = rows[0]
    words = (
        f"In {first.year} the partners pay in {money_k(first.contributions, step)}"
        + (
            f"; {money_k(first.top_slice, step)} of it is top-sliced into the reserve, "
            f"leaving a budget for spend of {money_k(first.budget, step)}"
            if first.top_slice
            else ", all of it budget for spend"
        )
        + f". Expected spend is {money_k(first.expected_spend, step)}, so the expected gap is "
        f"{money_k(first.expected_gap, step)} (the simulations average "
        f"{money_k(first.mean_overspend, step)}). "
    )
    several = len(result.model.schedules()) > 1
    if several:
        held = (
            f"The schedules' reserves hold {money_k(first.reserve_start, step)} on average at "
            "the start of the year and meet their own schedule's overspend first. "
            if has_reserve(result.model)
            else ""
        )
        words += (
            f"{held}Spend passes the budget in {chance(first.prob_overspend)} of simulations and "
            f"some partner is called for cash in {chance(first.prob_call)}: with several "
            "schedules one schedule's overspend brings a call even when the pool as a whole is "
            "within budget."
        )
    elif has_reserve(result.model):
        words += (
            f"The reserve holds {money_k(first.reserve_start, step)} on average at the start of "
            f"the year and meets an overspend first, so although spend passes the budget in "
            f"{chance(first.prob_overspend)} of simulations, partners are called for cash only "
            f"when the overspend is larger than the reserve: {chance(first.prob_call)}."
        )
    else:
        words += (
            f"Spend passes the budget in {chance(first.prob_overspend)} of simulations; with no "
            f"reserve, every overspend is a cash call: {chance(first.prob_call)}."
        )
    return {
        "budget_rows": [
            {
                "year": r.year,
                "cells": [
                    money_k(r.contributions, step),
                    money_k(r.top_slice, step),
                    money_k(r.budget, step),
                    money_k(r.expected_spend, step),
                    money_k(r.expected_gap, step),
                    money_k(r.reserve_start, step),
                    chance(r.prob_overspend),
                    chance(r.prob_call),
                ],
            }
            for r in rows
        ],
        "budget_words": words,
        "budget_schedules": several,
    }


def _sensitivity_context(
    result: Result, sensitivity: pd.DataFrame | None, stress: pd.DataFrame | None, step: float
) -> dict[str, Any]:
    from riskshare.config.names import assumption_label, partner_labels
    from riskshare.report import plots

    names = partner_labels(result.model)
    out: dict[str, Any] = {"sensitivity": None, "stress": None}
    if sensitivity is not None and len(sensitivity):
        measure = "p95" if "p95" in set(sensitivity["measure"]) else sensitivity["measure"].iloc[0]
        t = sensitivity[(sensitivity["measure"] == measure) & (sensitivity["partner"] != "pool")]
        top = t.sort_values("swing", ascending=False).head(8)
        out["sensitivity"] = {
            "measure": measure,
            "chart": _chart(
                "What moves each partner's exposure most",
                plots.tornado(sensitivity, measure=measure, model=result.model),
                f"Each bar moves one assumption from its low to its high value, all else as "
                f"assumed, and shows the partner's {measure.upper()} net position.",
            ),
            "rows": [
                {
                    "assumption": assumption_label(result.model, r.assumption),
                    "partner": names.get(r.partner, r.partner),
                    "at_low": money_k(r.at_low, step),
                    "at_high": money_k(r.at_high, step),
                    "swing": money_k(r.swing, step),
                }
                for r in top.itertuples()
            ],
        }
    if stress is not None and len(stress):
        frame = stress.reset_index() if "scenario" not in stress.columns else stress
        out["stress"] = [
            {
                "scenario": str(r.scenario),
                "partner": names.get(r.partner, r.partner),
                "mean": money_k(r.mean, step),
                "p95": money_k(r.p95, step),
                "diff_mean": "" if r.scenario == "base" else money_k(r.diff_mean, step),
                "diff_mean_se": "" if r.scenario == "base" else money_k(r.diff_mean_se, step),
                "diff_p95": "" if r.scenario == "base" else money_k(r.diff_p95, step),
            }
            for r in frame.itertuples()
        ]
    return out


#: Columns of the by-schedule table: (column of :meth:`Result.by_schedule`, heading, kind).
SCHEDULE_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("mean", "Expected (mean)", "money"),
    ("p95", "1 in 20 (P95)", "money"),
    ("prob_pays", "Chance of paying anything", "percent"),
)

#: Columns of the exit-cost table: (column of :meth:`Result.exit_costs`, heading, kind).
EXIT_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("prob_pays", "Chance of paying an exit cost", "percent"),
    ("mean", "Expected (mean)", "money"),
    ("p95", "1 in 20 (P95)", "money"),
)


#: Columns of the holdback table: (column of :meth:`Result.holdback`, heading, kind).
HOLDBACK_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("mean", "Expected (mean)", "money"),
    ("p5", "Low 1 in 20 (P5)", "money"),
    ("p50", "Median", "money"),
    ("p95", "High 1 in 20 (P95)", "money"),
    ("prob_pays", "Chance of any", "percent"),
)


def _rows_of(
    frame: pd.DataFrame, measures: tuple[tuple[str, str, str], ...], labels: dict[str, str]
) -> dict[str, Any]:
    """A table's rows as cells rounded to its own Monte Carlo error, and that rounding in words."""
    from riskshare.report.headline import precision_of

    prec = precision_of(frame)
    # No finer than £1k: a nearly certain amount (a fixed exit cost) has almost no error.
    fmt = {"step": max(prec.step, 1000.0), "digits": prec.percent_digits}
    rows = []
    for key, row in frame.iterrows():
        pid = key[-1] if isinstance(key, tuple) else key
        cells = [_cell(row[m], kind, pid, m, **fmt) for m, _, kind in measures]
        rows.append({"key": key, "partner": pid, "label": labels.get(pid, pid), "cells": cells})
    chances = "0.1 point" if prec.percent_digits else "the nearest 1%"
    note = (
        f"Amounts in £ thousands, rounded to {money_k(fmt['step'], fmt['step'])} (at least the "
        f"Monte Carlo error); chances to {chances}."
    )
    return {"heads": [h for _, h, _ in measures], "rows": rows, "note": note}


#: Columns of the contribution-path table: (column of :meth:`Result.contribution_paths`, heading).
CONTRIBUTION_MEASURES: tuple[tuple[str, str], ...] = (
    ("planned", "Planned"),
    ("mean", "Expected (mean)"),
    ("p5", "P5"),
    ("p50", "Median (P50)"),
    ("p95", "P95"),
)


def contribution_context(result: Result) -> dict[str, Any]:
    """The section on contributions re-set each year; ``None`` when every contribution is fixed.

    ``contribution_paths``: for each partner and the partners together, each
    year's planned contribution and the distribution of the contribution
    paid, from :meth:`Result.contribution_paths`, in £ thousands rounded to
    the Monte Carlo error of the means (at least £1k); with several schedules
    the note says each contribution is the partner's total over them.
    """
    from riskshare.config.names import partner_labels

    if result.outcomes.contribution_paths is None:
        return {"contribution_paths": None}
    frame = result.contribution_paths()
    n = result.outcomes.contribution_paths.shape[0]
    step = max(rounding_step(float(frame["sd"].max()) / max(n, 1) ** 0.5), 1000.0)
    labels = partner_labels(result.model)
    groups = []
    for pid in [*result.partner_ids, "pool"]:
        rows = [
            {
                "year": year,
                "cells": [
                    _cell(row[m], "money", pid, m, year, step=step)
                    for m, _ in CONTRIBUTION_MEASURES
                ],
            }
            for year, row in frame.loc[pid].iterrows()
        ]
        groups.append({"id": pid, "label": labels.get(pid, pid), "rows": rows})
    split = (
        "Each contribution is the partner's total over the schedules: re-set once for the "
        "agreement and split between the schedules by their funding. "
        if result.model.agreement.schedules
        else ""
    )
    return {
        "contribution_paths": {
            "heads": [h for _, h in CONTRIBUTION_MEASURES],
            "groups": groups,
            "note": f"{split}Amounts in £ thousands, rounded to {money_k(step, step)} (at least "
            f"the Monte Carlo error of the means), over {n:,} simulations.",
        }
    }


def _exit_chances(result: Result, labels: dict[str, str]) -> dict[str, Any]:
    """Each partner's chance of having left by each year, and of leaving by its loss limit.

    From :meth:`Result.exits`: a row per partner, a cell per year
    (``prob_exited``) and the chance its loss limit takes it out within the
    agreement (``prob_loss_limit_exited`` of the last year; "no limit" for a
    partner without one). Chances to 0.1
    point when their standard errors are that small, else to 1 point.
    """
    frame = result.exits()
    limits = result.model.agreement.exit.limits
    digits = 1 if float(frame["prob_exited_se"].max()) < 0.0005 else 0
    last = result.years[-1]
    rows = []
    for pid in result.partner_ids:
        part = frame.loc[pid]
        cells = [
            _cell(part.loc[y, "prob_exited"], "percent", pid, "prob_exited", y, digits=digits)
            for y in result.years
        ]
        limit = part.loc[last, "prob_loss_limit_exited"]
        cells.append(_cell(limit, "percent", pid, "prob_loss_limit_exited", last, digits=digits))
        if pid not in limits:
            cells[-1]["text"] = "no limit"
        rows.append({"partner": pid, "label": labels.get(pid, pid), "cells": cells})
    chances = "0.1 point" if digits else "the nearest 1%"
    return {"years": list(result.years), "rows": rows, "note": f"Chances to {chances}."}


def breakdown_context(result: Result) -> dict[str, Any]:
    """The by-schedule and exit sections, each ``None`` where the agreement has no use for it.

    ``schedules`` (more than one schedule): each schedule's net position by
    partner and for its pool, from :meth:`Result.by_schedule`.
    ``exit_costs`` (an exit clause): each partner's exit costs over the
    agreement, from :meth:`Result.exit_costs`; ``rows`` is empty when the
    clause names no costs. ``exits`` (an exit clause): each partner's chance
    of having left by each year, from :meth:`Result.exits`. ``holdback`` (a
    holdback): the amounts released, retained and not commissioned over the
    agreement, from :meth:`Result.holdback`, and the chance each year that
    nothing is released.
    """
    from riskshare.config.names import partner_labels

    model = result.model
    labels = partner_labels(model)
    out: dict[str, Any] = {
        "schedules": None,
        "exit_costs": None,
        "exits": None,
        "holdback": None,
    }
    schedules = model.schedules()
    if len(schedules) > 1:
        names = {s.id: s.label for s in schedules}
        table = _rows_of(result.by_schedule(), SCHEDULE_MEASURES, labels)
        groups = []
        for s in schedules:
            rows = [r for r in table["rows"] if r["key"][0] == s.id]
            groups.append({"id": s.id, "label": names[s.id], "rows": rows})
        out["schedules"] = {**table, "groups": groups}
    if model.agreement.exit is not None:
        if result.outcomes.exit_cost_total is None:
            out["exit_costs"] = {"heads": [], "rows": [], "note": ""}
        else:
            out["exit_costs"] = _rows_of(result.exit_costs(), EXIT_MEASURES, labels)
        out["exits"] = _exit_chances(result, labels)
    if result.outcomes.holdback_total is not None:
        out["holdback"] = _holdback_context(result)
    return out


#: Columns of the management-action table: (column of :meth:`Result.trigger`, heading, kind).
TRIGGER_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("prob_action", "Action taken", "percent"),
    ("prob_needed", "Action needed", "percent"),
    ("prob_false_alarm", "Taken, not needed", "percent"),
    ("prob_missed", "Needed, not taken", "percent"),
    ("forecast_error_mean", "Forecast error: mean", "money"),
    ("forecast_error_p5", "P5", "money"),
    ("forecast_error_p95", "P95", "money"),
)

#: Columns of the in-year cash table: (column of :meth:`Result.cash_calls`, heading, kind).
CASH_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("mean", "Expected (mean)", "money"),
    ("p95", "1 in 20 (P95)", "money"),
    ("prob_call", "Chance of a call", "percent"),
)


#: Columns of each partner in the in-year cash table: (column of :meth:`Result.cash_calls`,
#: heading).
PARTNER_CASH_MEASURES: tuple[tuple[str, str], ...] = (
    ("mean", "Expected"),
    ("p95", "1 in 20"),
)

#: Who finds the in-year cash under each named ``instalments.cash_key``.
CASH_KEYS = {
    "host": "the host (in a lead schedule, the lead), which cash-flows the pooled fund",
    "proportional": "the partners, as in-year additional contributions in proportion to "
    "their contributions",
    "commissioners": "the partners, in proportion to the spend each commissions",
}


def in_year_context(result: Result) -> dict[str, Any]:
    """The management-action and in-year cash sections, each ``None`` without its clause.

    ``management_action`` (a trigger): each year's chance of action and, on a
    forecast, of action needed, of a false alarm and of a miss, and the
    forecast error, from :meth:`Result.trigger`. ``cash_calls``
    (instalments): each quarter's in-year cash call and the year end, from
    :meth:`Result.cash_calls`: first each partner's part of each quarter's call
    (mean and P95), then the pool's. Money in £ thousands to the nearest £1k.
    """
    extras = result.outcomes.extras
    out: dict[str, Any] = {"management_action": None, "cash_calls": None}
    if "trigger_fired" in extras:
        frame = result.trigger()
        measures = [m for m in TRIGGER_MEASURES if m[0] in frame.columns]
        rows = [
            {
                "label": year,
                "cells": [
                    _cell(row[m], kind, "pool", m, year, step=1000.0) for m, _, kind in measures
                ],
            }
            for year, row in frame.iterrows()
        ]
        out["management_action"] = {
            "heads": [h for _, h, _ in measures],
            "rows": rows,
            "forecast": "trigger_needed" in extras,
        }
    if "cash_q1" in extras:
        from riskshare.config.names import partner_labels

        frame = result.cash_calls()
        pool = frame.xs("pool", level="partner")
        rows = []
        for (year, quarter), row in pool.iterrows():
            label = "Year end (all partners)" if quarter == "year end" else quarter
            cells = [
                _cell(row[m], kind, "pool", f"{quarter}:{m}", year, step=1000.0)
                for m, _, kind in CASH_MEASURES
            ]
            rows.append(
                {"year": year, "label": label, "end": quarter == "year end", "cells": cells}
            )
        names = partner_labels(result.model)
        by_partner = [
            {
                "year": year,
                "label": quarter,
                "cells": [
                    _cell(
                        frame.loc[(p, year, quarter), m],
                        "money",
                        p,
                        f"{quarter}:{m}",
                        year,
                        step=1000.0,
                    )
                    for p in result.partner_ids
                    for m, _ in PARTNER_CASH_MEASURES
                ],
            }
            for year, quarter in pool.index
            if quarter != "year end"
        ]
        out["cash_calls"] = {
            "heads": [h for _, h, _ in CASH_MEASURES],
            "rows": rows,
            "partners": [names[p] for p in result.partner_ids],
            "partner_heads": [h for _, h in PARTNER_CASH_MEASURES],
            "by_partner": by_partner,
            "key": _cash_key_text(result.model),
        }
    return out


def _cash_key_text(model: Model) -> str:
    """Who finds the in-year cash, in words, by each schedule's ``instalments.cash_key``."""
    words = []
    for sched in model.schedules():
        key = None if sched.instalments is None else sched.instalments.cash_key
        if isinstance(key, str):
            words.append(CASH_KEYS[key])
        elif key is not None:
            shares = ", ".join(f"{p} {share:.0%}" for p, share in key.items())
            words.append(f"the partners in fixed shares ({shares})")
    return "; ".join(dict.fromkeys(words))


def _yearly(amount: float | list[float]) -> float:
    """A per-year amount, or the average of one given year by year. [£]"""
    return amount if isinstance(amount, float) else sum(amount) / len(amount)


def _holdback_context(result: Result) -> dict[str, Any]:
    """The holdback's amounts over the agreement (:meth:`Result.holdback`'s ``total`` rows),
    with what was held back and the chance, each year, that nothing is released."""
    from riskshare.config.names import partner_labels
    from riskshare.report.glossary import HOLDBACK_LABELS
    from riskshare.report.headline import precision_of

    labels = partner_labels(result.model)
    frame = result.holdback()
    total = frame.xs("total", level="year")
    table = _rows_of(total, HOLDBACK_MEASURES, HOLDBACK_LABELS)
    released = frame.xs("released", level="amount").drop(index="total")
    nothing = 1.0 - released["prob_pays"].to_numpy()
    held = [hb for hb in (s.holdback for s in result.model.schedules()) if hb is not None]
    return {
        **table,
        "held": ", ".join(
            f"{money(_yearly(hb.amount))} a year by {labels.get(hb.partner, hb.partner)} against "
            f"a target of {hb.target:g} for {hb.metric}"
            for hb in held
        ),
        "uncommission": any(hb.unreleased == "uncommission" for hb in held),
        "nothing": [
            {"year": str(y), "text": chance(float(p), precision_of(total).percent_digits)}
            for y, p in zip(released.index, nothing, strict=True)
        ],
    }


def report_context(
    result: Result,
    *,
    title: str | None = None,
    sensitivity: pd.DataFrame | None = None,
    stress: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists."""
    from riskshare import __version__
    from riskshare.config.names import partner_labels
    from riskshare.report.glossary import OUTPUT_TERMS
    from riskshare.report.headline import period_words

    model = result.model
    labels = partner_labels(model)
    summary = result.summary()
    head = headline_context(result)
    fmt = {"step": head["key_step"], "digits": head["key_digits"]}
    detail_measures = [
        ("mean", "Expected (mean)", "money"),
        ("p5", "1 in 20 best (P5)", "money"),
        ("p50", "Median", "money"),
        ("p95", "1 in 20 (P95)", "money"),
        ("p99", "1 in 100 (P99)", "money"),
        ("prob_pays", "Chance of paying anything", "percent"),
    ]
    detail_rows = [
        {
            "partner": pid,
            "label": labels.get(pid, pid),
            "cells": [
                _cell(summary.loc[pid, m], kind, pid, m, **fmt) for m, _, kind in detail_measures
            ],
        }
        for pid in summary.index
    ]
    precision = [
        {
            "label": labels.get(pid, pid),
            "mean_se": money_short(summary.loc[pid, "mean_se"]),
            "prob_pays_se": f"{100 * summary.loc[pid, 'prob_pays_se']:.2f} points",
            "p95_ci": f"{money_k(summary.loc[pid, 'p95_lo'], fmt['step'] / 10)} to "
            f"{money_k(summary.loc[pid, 'p95_hi'], fmt['step'] / 10)}",
        }
        for pid in summary.index
    ]
    year_measures = [
        ("mean", "Mean", "money"),
        ("p95", "P95", "money"),
        ("tvar95", "TVaR95", "money"),
        ("prob_call", "Chance of a call", "percent"),
    ]
    year_rows = [
        {
            "label": labels.get(pid, pid),
            "year": year,
            "cells": [_cell(row[m], k, pid, m, year, **fmt) for m, _, k in year_measures],
        }
        for (pid, year), row in result.by_year().iterrows()
    ]
    pool_measures = [
        ("prob_overspend", "Chance of an overspend", "percent"),
        ("variance_mean", "Mean variance", "money"),
        ("prob_reserve_exhausted", "Chance reserve exhausted", "percent"),
        ("reserve_mean", "Mean reserve at year end", "money"),
        ("reserve_p5", "Reserve P5", "money"),
        ("reserve_p95", "Reserve P95", "money"),
    ]
    pool_rows = [
        {
            "year": year,
            "cells": [_cell(row[m], k, "pool", m, year, **fmt) for m, _, k in pool_measures],
        }
        for year, row in result.pool_by_year().iterrows()
    ]
    sched = model.contribution_schedule()
    contrib_rows = [
        {"year": y, "amounts": [money(v) for v in sched[t]], "total": money(sched[t].sum())}
        for t, y in enumerate(result.years)
    ]
    contrib_total = {"amounts": [money(v) for v in sched.sum(axis=0)], "total": money(sched.sum())}
    manifest = result.manifest
    software = manifest.get("software", {})
    return {
        **head,
        **_budget_context(result, head["key_step"]),
        **_sensitivity_context(result, sensitivity, stress, head["key_step"]),
        **breakdown_context(result),
        **in_year_context(result),
        **contribution_context(result),
        "title": title or model.name,
        "model": model,
        "description": model.description,
        "period": period_words(len(result.years)),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "partners": [
            {
                "id": p.id,
                "label": p.label,
                "host": p.id == model.host,
                "appetite": money(model.appetite[p.id]) if p.id in model.appetite else "",
            }
            for p in model.partners
        ],
        "groups": describe_groups(model),
        "shocks": [
            f"{s.id}: a shared shock of CV {s.cv:g} on "
            f"{'all groups' if s.groups == 'all' else ', '.join(s.groups)}"
            for s in model.common_shocks
        ],
        "agreement_name": model.agreement.name or "The agreement",
        "agreement_words": describe_agreement(model),
        "contrib_partners": [p.label for p in model.partners],
        "contrib_rows": contrib_rows,
        "contrib_total": contrib_total,
        "detail_heads": [h for _, h, _ in detail_measures],
        "detail_rows": detail_rows,
        "year_heads": [h for _, h, _ in year_measures],
        "year_rows": year_rows,
        "pool_heads": [h for _, h, _ in pool_measures],
        "pool_rows": pool_rows,
        "charts": _charts(result),
        "precision": precision,
        "glossary": OUTPUT_TERMS,
        "n_sims": f"{result.n_sims:,}",
        "basis_note": result.basis_note,
        "years": result.years,
        "seed": result.seed,
        "version": software.get("riskshare", __version__),
        "software": ", ".join(f"{k} {v}" for k, v in software.items()),
        "config_sha256": manifest.get("config_sha256", ""),
        "block_size": manifest.get("block_size", ""),
    }


def template_env() -> Any:
    """The Jinja2 environment of the report templates (autoescaping on)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("riskshare.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(
    result: Result,
    *,
    title: str | None = None,
    sensitivity: pd.DataFrame | None = None,
    stress: pd.DataFrame | None = None,
) -> str:
    """The report as an HTML string; see :func:`write_html`."""
    context = report_context(result, title=title, sensitivity=sensitivity, stress=stress)
    return template_env().get_template("report.html.j2").render(**context)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (see ``files.write_file``)."""
    from riskshare.report.files import write_file

    return write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_html(
    result: Result,
    path: str | Path,
    *,
    title: str | None = None,
    sensitivity: pd.DataFrame | None = None,
    stress: pd.DataFrame | None = None,
) -> Path:
    """Write a self-contained HTML report of ``result`` to ``path``.

    The report opens with the answer: a sentence per partner, then the key
    table, then the charts, then the detail.

    Parameters
    ----------
    result : Result
    path : str or pathlib.Path
        The ``.html`` file to write (parent folders are created).
    title : str, optional
        Report title (default: the config's name).
    sensitivity : pandas.DataFrame, optional
        :func:`riskshare.analysis.tornado` output: adds a sensitivity section.
    stress : pandas.DataFrame, optional
        :func:`riskshare.analysis.stress` output: adds a stress section.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    text = render_html(result, title=title, sensitivity=sensitivity, stress=stress)
    return write_text(path, text)
