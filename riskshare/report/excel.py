"""An Excel workbook of a result for finance teams: numbers as numbers, £ formats, readable.

Sheets: ``Summary`` (per partner, whole agreement: the key columns first —
contributions, mean, P95, TVaR95, the chances of a cash call and of passing
the appetite — then the rest; with a native exceedance chart), ``By year``,
``Pool by year``, ``By schedule`` (with several schedules: each
schedule's net position per partner), ``Exit costs`` (with an exit
clause: each partner's exit costs over the agreement), ``Exits`` (with an
exit clause: each partner's chance of leaving in and by each year),
``Holdback`` (with a holdback: the amounts released, retained and not
commissioned, each year and in total), ``Percentiles``
(each partner's net position at many levels), ``Exceedance`` (the chart's
data), ``Assumptions`` (contributions per year, client groups with their
rates, the agreement in words),
``About`` (the manifest: seed, version, config SHA-256). Money cells use
``£#,##0``, probabilities and rates ``0.0%``; headers are frozen; ``By
year`` carries a native Excel chart of each partner's P95. Every sheet
prints on A4 landscape, one page wide, its header row repeated, with the
sheet's name and page number in the footer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from riskshare.config.model import Model
    from riskshare.run import Result

__all__ = ["MONEY_FORMAT", "PERCENT_FORMAT", "exceedance_table", "print_setup", "write_excel"]

MONEY_FORMAT = "£#,##0;-£#,##0"
PERCENT_FORMAT = "0.0%"

#: Readable headings for summary columns.
HEADINGS = {
    "contributions": "Contributions (whole agreement)",
    "mean": "Mean",
    "sd": "Standard deviation",
    "p5": "P5",
    "p50": "Median (P50)",
    "p95": "P95 (1 in 20)",
    "p99": "P99 (1 in 100)",
    "p5_lo": "P5: 95% CI low",
    "p5_hi": "P5: 95% CI high",
    "p50_lo": "Median: 95% CI low",
    "p50_hi": "Median: 95% CI high",
    "p95_lo": "P95: 95% CI low",
    "p95_hi": "P95: 95% CI high",
    "p99_lo": "P99: 95% CI low",
    "p99_hi": "P99: 95% CI high",
    "var95": "VaR95",
    "tvar95": "TVaR95",
    "var99": "VaR99",
    "tvar99": "TVaR99",
    "prob_pays": "P(pays)",
    "prob_call_any_year": "P(cash call in some year)",
    "prob_call": "P(cash call)",
    "mean_se": "Std error of mean",
    "prob_pays_se": "Std error of P(pays)",
    "threshold": "Appetite",
    "prob_exceeds": "P(exceeds appetite)",
    "prob_exceeds_se": "Std error of P(exceeds)",
    "prob_overspend": "P(overspend)",
    "prob_overspend_se": "Std error of P(overspend)",
    "prob_reserve_exhausted": "P(reserve exhausted)",
    "prob_reserve_exhausted_by": "P(reserve exhausted by this year)",
    "prob_reserve_exhausted_by_se": "Std error of P(exhausted by)",
    "variance_mean": "Mean variance (spend − budget)",
    "reserve_mean": "Mean reserve",
    "reserve_p5": "Reserve P5",
    "reserve_p50": "Reserve median",
    "reserve_p95": "Reserve P95",
    "planned": "Planned",
    "min": "Smallest",
    "max": "Largest",
    "prob_exit": "P(exit this year)",
    "prob_exit_se": "Std error of P(exit)",
    "prob_exited": "P(left by this year)",
    "prob_exited_se": "Std error of P(left by)",
    "prob_loss_limit_exit": "P(loss-limit exit this year)",
    "prob_loss_limit_exited": "P(left by its loss limit by this year)",
}

#: Summary columns shown first, in this order (the report's key table).
KEY_FIRST = (
    "contributions",
    "mean",
    "p95",
    "tvar95",
    "prob_call_any_year",
    "threshold",
    "prob_exceeds",
)

#: Points on each exceedance curve.
EXCEEDANCE_POINTS = 101

#: Percentile levels on the Percentiles sheet. [fraction]
PERCENTILE_LEVELS = (0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.80, 0.90, 0.95, 0.975, 0.99, 0.995)


def _is_prob(col: str) -> bool:
    return col.startswith("prob") or col.endswith("_rate")


def _write_table(
    writer: Any,
    frame: pd.DataFrame,
    sheet: str,
    formats: dict[str, Any],
    *,
    title: str | None = None,
) -> Any:
    """Write ``frame`` (index as columns) with formats, widths and a frozen header."""
    import pandas as pd

    frame = frame.reset_index() if frame.index.name or any(frame.index.names) else frame
    start = 2 if title else 0
    out = frame.rename(columns=lambda c: HEADINGS.get(c, c))
    out.to_excel(writer, sheet_name=sheet, index=False, startrow=start)
    ws = writer.sheets[sheet]
    if title:
        ws.write(0, 0, title, formats["title"])
    for j, col in enumerate(frame.columns):
        head = str(out.columns[j])
        ws.write(start, j, head, formats["header"])
        if _is_prob(str(col)):
            fmt, width = formats["percent"], max(12, len(head) + 2)
        elif pd.api.types.is_numeric_dtype(frame[col].dtype):
            fmt, width = formats["money"], max(14, len(head) + 2)
        else:
            fmt = None
            width = max(10, len(head) + 2, *(len(str(v)) + 2 for v in frame[col]))
        ws.set_column(j, j, min(width, 60), fmt)
    ws.freeze_panes(start + 1, 1)
    print_setup(ws, start)
    return ws


def print_setup(ws: Any, header_row: int | None = None) -> None:
    """A4 landscape, one page wide, the header row repeated, the sheet and page in the footer."""
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if header_row is not None:
        ws.repeat_rows(header_row)
    ws.set_footer("&L&A&RPage &P of &N")


def exceedance_table(result: Result, points: int = EXCEEDANCE_POINTS) -> pd.DataFrame:
    """The chance each partner (and the pool) pays more than £X over the agreement.

    Parameters
    ----------
    result : Result
    points : int
        Amounts on a common grid from the smallest 0.1 % to the largest 99.9 %
        point of every partner's net position.

    Returns
    -------
    pandas.DataFrame
        Column ``amount`` [£], then one column per partner and ``pool``:
        the fraction of simulations whose net position exceeds the amount.
    """
    import pandas as pd

    net = result.net
    x = np.concatenate([net, net.sum(axis=1, keepdims=True)], axis=1)
    lo, hi = np.quantile(x, [0.001, 0.999], axis=0)
    grid = np.linspace(float(lo.min()), float(hi.max()), points)
    frame = pd.DataFrame({"amount": grid})
    for j, pid in enumerate([*result.partner_ids, "pool"]):
        ordered = np.sort(x[:, j])
        frame[pid] = 1.0 - np.searchsorted(ordered, grid, side="right") / len(ordered)
    return frame


def _named(frame: pd.DataFrame, model: Model) -> pd.DataFrame:
    """``frame`` with its index as named columns, ids shown by their display names.

    Partners (and ``pool``), schedules and holdback amounts by their names; the
    id columns headed ``Agreement``, ``Partner``, ``Schedule``, ``Year`` and ``Holdback``.
    """
    from riskshare.config.names import partner_labels
    from riskshare.report.glossary import HOLDBACK_LABELS

    names = {
        "partner": partner_labels(model),
        "schedule": {s.id: s.label for s in model.schedules()},
        "amount": HOLDBACK_LABELS,
    }
    headers = {
        "alternative": "Agreement",
        "partner": "Partner",
        "schedule": "Schedule",
        "year": "Year",
        "amount": "Holdback",
    }
    frame = frame.reset_index() if frame.index.name or any(frame.index.names) else frame.copy()
    for col, labels in names.items():
        if col in frame.columns:
            frame[col] = frame[col].map(lambda v, labels=labels: labels.get(v, v))
    return frame.rename(columns=headers)


def _write_breakdowns(writer: Any, result: Result, formats: dict[str, Any]) -> None:
    """The ``By schedule`` sheet (several schedules), ``Contribution paths`` (contributions
    re-set each year), ``Exit costs`` and ``Exits`` (an exit clause) and ``Holdback`` (a
    holdback).

    Each is :meth:`Result.by_schedule` / :meth:`Result.contribution_paths` /
    :meth:`Result.exit_costs` / :meth:`Result.exits` / :meth:`Result.holdback` at full
    precision, schedules and partners by their display names.
    """
    model = result.model

    def sheet(frame: pd.DataFrame, name: str, title: str) -> None:
        _write_table(writer, _named(frame, model), name, formats, title=title)

    if len(model.schedules()) > 1:
        sheet(
            result.by_schedule(),
            "By schedule",
            "Net position over the agreement in each schedule, per partner "
            "(+ pays beyond contributions)",
        )
    if result.outcomes.contribution_paths is not None:
        sheet(
            result.contribution_paths(),
            "Contribution paths",
            "Contributions re-set each year: each partner's contribution per year "
            "(planned, and its distribution over the simulations)"
            + (", its total over the schedules" if model.agreement.schedules else ""),
        )
    if model.agreement.exit is not None:
        none = result.outcomes.exit_cost_total is None
        sheet(
            result.exit_costs(),
            "Exit costs",
            "Exit costs over the agreement, per partner (paid outside the pool)"
            + (": the exit clause names none" if none else ""),
        )
        sheet(
            result.exits(),
            "Exits",
            "Chance of each partner's exit taking effect (at the start of) each year, "
            "and of having left by then",
        )
    if result.outcomes.holdback_total is not None:
        sheet(
            result.holdback(),
            "Holdback",
            "The holdback each year and over the agreement: released to the pool, "
            "retained (paid to the acute provider) and schemes not commissioned",
        )


def _write_in_year(writer: Any, result: Result, formats: dict[str, Any]) -> None:
    """The ``Management action`` sheet (a trigger) and ``In-year cash`` (instalments).

    Each is :meth:`Result.trigger` / :meth:`Result.cash_calls` at full precision.
    """
    extras = result.outcomes.extras
    if "trigger_fired" in extras:
        on_forecast = "trigger_needed" in extras
        _write_table(
            writer,
            result.trigger(),
            "Management action",
            formats,
            title="Management action each year"
            + (
                ": taken on the month's forecast; needed when the outturn without action is "
                "past the threshold; forecast error = outturn - forecast"
                if on_forecast
                else ": taken on the outturn"
            ),
        )
    if "cash_q1" in extras:
        _write_table(
            writer,
            result.cash_calls(),
            "In-year cash",
            formats,
            title="In-year cash calls each quarter (the most the pool is short at a month end), "
            "each partner's part by the agreement's cash_key then the pool's, and the year-end "
            "net position",
        )


def write_excel(
    result: Result, path: str | Path, *, comparison: pd.DataFrame | None = None
) -> Path:
    """Write an Excel workbook of ``result`` to ``path``.

    Parameters
    ----------
    result : Result
    path : str or pathlib.Path
        The ``.xlsx`` file (parent folders are created).
    comparison : pandas.DataFrame, optional
        The table of :func:`riskshare.compare` (``Comparison.table``): written
        as a "Rules compared" sheet.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    Numbers are stored at full precision and only formatted for display
    (``£#,##0``, ``0.0%``), so the Summary sheet equals
    :meth:`Result.summary` to the last bit.
    """
    import pandas as pd

    from riskshare.report.html import describe_agreement, describe_groups

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    model = result.model
    labels = {p.id: p.label for p in model.partners}
    with pd.ExcelWriter(tmp, engine="xlsxwriter") as writer:
        wb = writer.book
        formats = {
            "money": wb.add_format({"num_format": MONEY_FORMAT}),
            "percent": wb.add_format({"num_format": PERCENT_FORMAT}),
            "header": wb.add_format(
                {
                    "bold": True,
                    "text_wrap": True,
                    "valign": "top",
                    "bottom": 1,
                    "bg_color": "#F3F6F9",
                }
            ),
            "title": wb.add_format({"bold": True, "font_size": 13}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        }

        # Summary: the key columns first, then an exceedance chart under the table.
        summary = result.summary()
        sched = model.contribution_schedule()
        summary.insert(0, "contributions", [*sched.sum(axis=0), sched.sum()])
        first = [c for c in KEY_FIRST if c in summary.columns]
        summary = summary[first + [c for c in summary.columns if c not in first]]
        ws = _write_table(
            writer,
            _named(summary, model),
            "Summary",
            formats,
            title=f"{model.name}: net position over the agreement "
            f"(+ pays beyond contributions), {result.n_sims:,} simulations",
        )
        exceed = exceedance_table(result)
        chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
        for j, pid in enumerate([*result.partner_ids, "pool"], start=1):
            chart.add_series(
                {
                    "name": labels.get(pid, "Pool"),
                    "categories": ["Exceedance", 3, 0, 2 + len(exceed), 0],
                    "values": ["Exceedance", 3, j, 2 + len(exceed), j],
                    "line": {"width": 2, "dash_type": "dash" if pid == "pool" else "solid"},
                }
            )
        chart.set_title({"name": "Chance of paying more than £X over the agreement"})
        chart.set_x_axis({"num_format": "£#,##0", "name": "Net position over the agreement (£)"})
        chart.set_y_axis({"num_format": "0%", "name": "Chance", "min": 0, "max": 1})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": 380})
        ws.insert_chart(len(summary) + 5, 0, chart)

        # By year, with a chart of P95.
        by_year = result.by_year().reset_index()
        ws = _write_table(
            writer,
            _named(by_year, model),
            "By year",
            formats,
            title="Net position each year, per partner",
        )
        cols = list(by_year.columns)
        chart = wb.add_chart({"type": "line"})
        n_years = len(result.years)
        for k, pid in enumerate([*result.partner_ids, "pool"]):
            first = 3 + k * n_years  # data starts on row 3 (0-based) after title and header
            chart.add_series(
                {
                    "name": labels.get(pid, "Pool"),
                    "categories": [
                        "By year",
                        first,
                        cols.index("year"),
                        first + n_years - 1,
                        cols.index("year"),
                    ],
                    "values": [
                        "By year",
                        first,
                        cols.index("p95"),
                        first + n_years - 1,
                        cols.index("p95"),
                    ],
                    "marker": {"type": "circle"},
                }
            )
        chart.set_title({"name": "P95 (1 in 20) net position by year"})
        chart.set_y_axis({"num_format": "£#,##0", "name": "£"})
        chart.set_x_axis({"name": "Financial year"})
        chart.set_size({"width": 640, "height": 360})
        ws.insert_chart(2, len(cols) + 1, chart)

        if comparison is not None:
            _write_table(
                writer,
                _named(comparison, model),
                "Rules compared",
                formats,
                title="Agreements compared on the same simulations: each metric, its paired "
                "difference to the baseline (_diff) and that difference's standard error",
            )

        # Pool by year
        _write_table(
            writer,
            _named(result.pool_by_year(), model),
            "Pool by year",
            formats,
            title="The pool each year: overspend and reserve",
        )

        _write_breakdowns(writer, result, formats)
        _write_in_year(writer, result, formats)

        # Percentiles
        levels = np.asarray(PERCENTILE_LEVELS)
        net = result.net
        x = np.concatenate([net, net.sum(axis=1, keepdims=True)], axis=1)
        q = np.quantile(x, levels, axis=0)
        pct = pd.DataFrame(q, columns=[labels.get(p, p) for p in result.partner_ids] + ["Pool"])
        pct.insert(0, "percentile", levels)
        pct = pct.rename(columns={"percentile": "prob_level"})
        ws = _write_table(
            writer,
            pct,
            "Percentiles",
            formats,
            title="Net position over the agreement at each percentile",
        )
        ws.write(2, 0, "Percentile", formats["header"])

        # Exceedance: the Summary chart's data.
        shown = exceed.rename(columns={**labels, "pool": "Pool", "amount": "Amount (£)"})
        shown = shown.rename(columns=lambda c: c if c == "Amount (£)" else f"prob: {c}")
        ws = _write_table(
            writer,
            shown,
            "Exceedance",
            formats,
            title="Chance of paying more than the amount over the agreement",
        )
        for j, head in enumerate(shown.columns):
            ws.write(2, j, head.removeprefix("prob: "), formats["header"])

        # Assumptions
        expected = model.expected_spend()
        contrib = pd.DataFrame(sched, columns=[labels[p] for p in result.partner_ids])
        contrib.insert(0, "Year", result.years)
        contrib["Total budget"] = sched.sum(axis=1)
        contrib["Expected spend"] = expected.sum(axis=1)
        contrib.to_excel(writer, sheet_name="Assumptions", index=False, startrow=2)
        ws = writer.sheets["Assumptions"]
        ws.write(0, 0, f"{model.name}: assumptions", formats["title"])
        ws.write(1, 0, "Contributions per year [£]", formats["header"])
        ws.set_column(0, 0, 34, formats["wrap"])
        ws.set_column(1, contrib.shape[1], 18, formats["money"])
        for j, head in enumerate(contrib.columns):
            ws.write(2, j, head, formats["header"])
        row = 3 + len(contrib)
        ws.write(row, 0, "Share of the budget", formats["header"])
        for j, share in enumerate(sched.sum(axis=0) / sched.sum(), start=1):
            ws.write_number(row, j, float(share), formats["percent"])
        row += 2
        ws.write(row, 0, "Client groups", formats["header"])
        row += 1
        heads = [
            "Group",
            "Commissioned by",
            "Expected spend, first year",
            "Expected spend, last year",
            "Growth of expected spend a year",
            "Spend model",
        ]
        for j, head in enumerate(heads):
            ws.write(row, j, head, formats["header"])
        years = expected.shape[0]
        for g, grp in enumerate(describe_groups(model)):
            row += 1
            ws.write(row, 0, grp["name"])
            ws.write(row, 1, grp["commissioners"], formats["wrap"])
            ws.write_number(row, 2, float(expected[0, g]), formats["money"])
            ws.write_number(row, 3, float(expected[-1, g]), formats["money"])
            if years > 1 and expected[0, g] > 0:
                growth = (expected[-1, g] / expected[0, g]) ** (1 / (years - 1)) - 1
                ws.write_number(row, 4, float(growth), formats["percent"])
            ws.write(row, 5, grp["spend"], formats["wrap"])
        ws.set_column(5, 5, 90, formats["wrap"])
        row += 2
        ws.write(row, 0, f"Agreement: {model.agreement.name or ''}", formats["header"])
        for line in describe_agreement(model):
            row += 1
            ws.write(row, 0, line)
        if model.appetite:
            row += 2
            ws.write(row, 0, "Risk appetite (over the agreement)", formats["header"])
            for pid, amount in model.appetite.items():
                row += 1
                ws.write(row, 0, labels.get(pid, pid))
                ws.write_number(row, 1, float(amount), formats["money"])
        ws.freeze_panes(3, 1)
        print_setup(ws, 2)

        # About
        manifest = result.manifest
        software = manifest.get("software", {})
        rows: list[tuple[str, Any]] = [
            ("Scenario", model.name),
            ("Simulations", result.n_sims),
            ("Seed", result.seed),
            ("Block size", manifest.get("block_size", "")),
            ("Config SHA-256", manifest.get("config_sha256", "")),
            *((f"{k} version", str(v)) for k, v in software.items()),
            ("Platform", manifest.get("platform", "")),
            *((f"Time: {k}", float(v)) for k, v in manifest.get("timings", {}).items()),
        ]
        about = pd.DataFrame(rows, columns=["Item", "Value"])
        about.to_excel(writer, sheet_name="About", index=False)
        ws = writer.sheets["About"]
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 70)
        ws.freeze_panes(1, 0)
        print_setup(ws, 0)
    tmp.replace(path)
    return path
