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

from riskshare.report.formats import money, percent

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from riskshare.config.model import Agreement, Model
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


def _key_words(key: Any, model: Model) -> str:
    labels = {p.id: p.label for p in model.partners}
    if isinstance(key, dict):
        return "fixed shares: " + ", ".join(
            f"{labels.get(p, p)} {percent(s, 0)}" for p, s in key.items()
        )
    return {
        "proportional": "in proportion to contributions",
        "host": f"by the host ({labels.get(model.host, model.host)})",
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
            count = (
                f"{c.distribution.replace('_', ' ')} number of clients, {c.mean:,.0f} "
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
        if extras:
            words += " Also " + "; ".join(extras) + "."
        comm = ", ".join(
            f"{labels.get(p, p)} {percent(s, 0)}" for p, s in grp.commissioner_shares.items()
        )
        rows.append({"id": grp.id, "name": grp.label, "commissioners": comm, "spend": words})
    return rows


def describe_agreement(model: Model, agreement: Agreement | None = None) -> list[str]:
    """The agreement's rules as sentences a finance director can check."""
    a = model.agreement if agreement is None else agreement
    labels = {p.id: p.label for p in model.partners}
    out = []
    if a.arrangement == "aligned":
        out.append("Aligned budgets: each partner keeps the variance of its own client groups.")
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
                parts.append(f"{rng}: {_key_words(b.key, model)}")
                lo = top or lo
            parts.append(f"beyond the last band: {_key_words(s.key, model)}")
            out.append(f"An {side} is shared in bands — " + "; ".join(parts) + ".")
        else:
            out.append(f"An {side} is shared {_key_words(s.key, model)}.")
        th = getattr(a, f"threshold_{side}")
        if th is not None:
            kind = (
                "first-dollar (the whole amount is shared once it passes)"
                if th.first_dollar
                else "dead band (only the part above it is shared)"
            )
            out.append(
                f"{side.capitalize()} threshold of {percent(th.rate)} of the budget, "
                f"{kind}; below it: {_key_words(th.below_key, model)}."
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
        words += f"; what is left at the end is returned {_key_words(r.final_key, model)}."
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
    for gid, key in a.group_keys.items():
        out.append(f"Client group {gid} keeps its own variance, split {_key_words(key, model)}.")
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
        out.append(
            f"{labels.get(hb.partner, hb.partner)} holds back part of its contribution "
            f"against performance metric {hb.metric} (target {hb.target:g})."
        )
    if a.trigger is not None:
        t = a.trigger
        out.append(
            f"Management action: when the forecast overspend at month {t.month} passes "
            f"{percent(t.threshold)} of the budget, {percent(t.mitigation, 0)} of the "
            f"rest of the year's overspend is mitigated."
        )
    if a.exit is not None:
        lim = ", ".join(f"{labels.get(p, p)} {money(v)}" for p, v in a.exit.limits.items())
        out.append(
            f"Exit: a partner leaves when its cumulative net position passes its limit "
            f"({lim}), after {a.exit.notice_years} year(s) notice."
        )
    if a.uncommitted:
        out.append(
            f"An uncommitted allocation of {percent(a.uncommitted)} of the budget is "
            f"held each year to meet an overspend."
        )
    return out


# ----------------------------------------------------------------------------- figures


def figure_data_uri(fig: Figure, dpi: int = 130) -> str:
    """A figure as a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _charts(result: Result, comparison: pd.DataFrame | None) -> list[dict[str, str]]:
    from riskshare.report import plots

    charts = [
        (
            "Chance of paying more than £X",
            plots.exceedance(result),
            "Each curve shows the chance that a partner pays more than the amount on the "
            "horizontal axis over the whole agreement, beyond its contributions.",
        ),
        (
            "Distribution of each partner's net position",
            plots.distribution(result),
            "Dashed lines mark the 1-in-20 outcome (P95); dotted lines the average of the worst "
            "1 in 20 (TVaR95).",
        ),
        (
            "The pool and the reserve over the years",
            plots.fan(result),
            "Shaded bands hold 90 % (light) and 50 % (dark) of the simulations.",
        ),
    ]
    if comparison is not None and len(comparison):
        charts.append(
            (
                "Comparison of agreements",
                plots.comparison(comparison),
                "Paired mean differences on the same simulated spend; bars are ± 2 "
                "standard errors.",
            )
        )
    return [{"title": t, "src": figure_data_uri(f), "caption": c} for t, f, c in charts]


# ----------------------------------------------------------------------------- context


def _cell(
    value: float, kind: str, partner: str, measure: str, year: str | None = None
) -> dict[str, Any]:
    v = float(value)
    text = money(v) if kind == "money" else percent(v)
    return {"text": text, "value": repr(v), "partner": partner, "measure": measure, "year": year}


def report_context(
    result: Result, *, comparison: pd.DataFrame | None = None, title: str | None = None
) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists."""
    from riskshare import __version__

    model = result.model
    labels = {p.id: p.label for p in model.partners}
    labels["pool"] = "Pool (all partners)"
    summary = result.summary()
    measures = [m for m in KEY_MEASURES if m[0] in summary.columns]
    key_rows = [
        {
            "partner": pid,
            "label": labels.get(pid, pid),
            "cells": [_cell(summary.loc[pid, m], kind, pid, m) for m, _, kind in measures],
        }
        for pid in summary.index
    ]
    precision = [
        {
            "label": labels.get(pid, pid),
            "mean_se": money(summary.loc[pid, "mean_se"]),
            "prob_pays_se": percent(summary.loc[pid, "prob_pays_se"], 2),
            "p95_ci": f"{money(summary.loc[pid, 'p95_lo'])} to {money(summary.loc[pid, 'p95_hi'])}",
        }
        for pid in summary.index
    ]
    by_year = result.by_year()
    year_measures = [
        ("mean", "Mean", "money"),
        ("p95", "P95", "money"),
        ("tvar95", "TVaR95", "money"),
        ("prob_call", "Chance of a call", "percent"),
    ]
    year_rows = []
    for (pid, year), row in by_year.iterrows():
        year_rows.append(
            {
                "label": labels.get(pid, pid),
                "year": year,
                "cells": [_cell(row[m], k, pid, m, year) for m, _, k in year_measures],
            }
        )
    pool = result.pool_by_year()
    pool_measures = [
        ("prob_overspend", "Chance of an overspend", "percent"),
        ("variance_mean", "Mean variance", "money"),
        ("prob_reserve_exhausted", "Chance reserve exhausted", "percent"),
        ("reserve_mean", "Mean reserve at year end", "money"),
        ("reserve_p5", "Reserve P5", "money"),
        ("reserve_p95", "Reserve P95", "money"),
    ]
    pool_rows = [
        {"year": year, "cells": [_cell(row[m], k, "pool", m, year) for m, _, k in pool_measures]}
        for year, row in pool.iterrows()
    ]
    sched = model.contribution_schedule()
    contrib_rows = [
        {"year": y, "amounts": [money(v) for v in sched[t]], "total": money(sched[t].sum())}
        for t, y in enumerate(result.years)
    ]
    contrib_total = {"amounts": [money(v) for v in sched.sum(axis=0)], "total": money(sched.sum())}
    expected = model.expected_spend().sum(axis=1)
    comp_rows = None
    if comparison is not None and len(comparison):
        comp_rows = [
            {
                "agreement": str(r["agreement"]),
                "partner": labels.get(r["partner"], r["partner"]),
                "diff": money(r["diff"]),
                "se": money(r["se"]),
                "value": repr(float(r["diff"])),
            }
            for _, r in comparison.iterrows()
        ]
    manifest = result.manifest
    software = manifest.get("software", {})
    return {
        "title": title or model.name,
        "model": model,
        "description": model.description,
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
        "expected_spend": [money(v) for v in expected],
        "gap": [money(v) for v in expected - sched.sum(axis=1)],
        "measure_heads": [h for _, h, _ in measures],
        "key_rows": key_rows,
        "year_heads": [h for _, h, _ in year_measures],
        "year_rows": year_rows,
        "pool_heads": [h for _, h, _ in pool_measures],
        "pool_rows": pool_rows,
        "charts": _charts(result, comparison),
        "comparison": comp_rows,
        "precision": precision,
        "n_sims": f"{result.n_sims:,}",
        "years": result.years,
        "seed": result.seed,
        "version": software.get("riskshare", __version__),
        "software": ", ".join(f"{k} {v}" for k, v in software.items()),
        "config_sha256": manifest.get("config_sha256", ""),
        "block_size": manifest.get("block_size", ""),
    }


def render_html(
    result: Result, *, comparison: pd.DataFrame | None = None, title: str | None = None
) -> str:
    """The report as an HTML string; see :func:`write_html`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskshare.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    return template.render(**report_context(result, comparison=comparison, title=title))


def write_html(
    result: Result,
    path: str | Path,
    *,
    comparison: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML report of ``result`` to ``path``.

    Parameters
    ----------
    result : Result
    path : str or pathlib.Path
        The ``.html`` file to write (parent folders are created).
    comparison : pandas.DataFrame, optional
        Columns ``agreement, partner, diff, se``: paired mean differences
        against a baseline [£], shown as a chart and a table.
    title : str, optional
        Report title (default: the config's name).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(result, comparison=comparison, title=title)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
