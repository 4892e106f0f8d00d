"""Management action and in-year cash: Result tables, CSVs, report and workbook sections.

Only when the clauses are configured, and the same numbers everywhere: the
tables recomputed from the ledger, the CSVs and the report's ``data-value``
cells equal to ``Result.trigger()`` and ``Result.cash_calls()``.
"""

from __future__ import annotations

import csv
import html.parser
from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.model import Model
from riskshare.report.excel import write_excel
from riskshare.report.html import write_html
from riskshare.testing import engine_ledger, fixed_model

openpyxl = pytest.importorskip("openpyxl")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "in_year_example.yaml"
N, SEED = 3000, 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The shipped in-year example run end to end by the command line."""
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    out = tmp_path_factory.mktemp("in_year") / "out"
    args = ["run", str(EXAMPLE), "--sims", str(N), "--seed", str(SEED), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--quiet", "--report", "--excel"])
    assert result.exit_code == 0, result.output
    return out, rs.simulate(rs.load_config(EXAMPLE), n_sims=N, seed=SEED)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_the_example_writes_both_tables_equal_to_the_result(run) -> None:
    out, result = run
    for name, frame in (("trigger", result.trigger()), ("cash_calls", result.cash_calls())):
        rows = _rows(out / f"{name}.csv")
        flat = frame.reset_index()
        assert len(rows) == len(flat)
        for col in frame.columns:
            np.testing.assert_allclose(
                [float(r[col]) if r[col] else np.nan for r in rows], flat[col], rtol=1e-12
            )
    sheets = openpyxl.load_workbook(out / "results.xlsx", read_only=True).sheetnames
    assert {"Management action", "In-year cash"} <= set(sheets)
    manifest = (out / "manifest.json").read_text()
    assert "trigger.csv" in manifest and "cash_calls.csv" in manifest


def test_trigger_table_from_the_ledger(run) -> None:
    _, result = run
    model = result.model
    ledger = rs.settle(model, rs.sample(model, n_sims=N, seed=SEED))
    fired, needed = ledger.extras["trigger_fired"], ledger.extras["trigger_needed"]
    table = result.trigger()
    np.testing.assert_allclose(table["prob_action"], fired.mean(axis=0))
    np.testing.assert_allclose(table["prob_false_alarm"], (fired & ~needed).mean(axis=0))
    np.testing.assert_allclose(table["prob_missed"], (~fired & needed).mean(axis=0))
    np.testing.assert_allclose(
        table["miss_rate"], (~fired & needed).sum(axis=0) / needed.sum(axis=0)
    )
    err = ledger.extras["forecast_error"]
    np.testing.assert_allclose(table["forecast_error_mean"], err.mean(axis=0))
    np.testing.assert_allclose(table["forecast_error_p95"], np.quantile(err, 0.95, axis=0))
    # Action is taken on the forecast: some false alarms and some misses.
    assert (table["prob_false_alarm"] > 0).all() and (table["prob_missed"] > 0).all()


def test_cash_calls_of_the_worked_example() -> None:
    # docs/worked_examples.md "instalments_quarterly": calls 7, 5, 3, 1 (£m); the year end
    # is the partners' net position together, the overspend of 1.
    model = fixed_model(
        ["council", "icb"],
        {"a": ("council", [12e6]), "b": ("icb", [9e6])},
        {"council": [12e6], "icb": [8e6]},
        {"instalments": {"number": 4}},
        host="council",
        accrual={"b": [1 / 3] * 3 + [0.0] * 9},
    )
    result = rs.Result.from_ledger(model, engine_ledger(model, model.expected_spend()))
    table = result.cash_calls()
    pool = table.loc["pool"]
    np.testing.assert_allclose(pool["mean"], [7e6, 5e6, 3e6, 1e6, 1e6])
    np.testing.assert_allclose(pool["prob_call"], 1.0)
    assert list(pool.index.get_level_values("quarter")) == ["Q1", "Q2", "Q3", "Q4", "year end"]
    # The partners first: the host (council) finds every call; each partner's year end is
    # its net position, the overspend of 1 shared 0.6/0.4.
    assert list(table.index.get_level_values("partner").unique()) == ["council", "icb", "pool"]
    np.testing.assert_allclose(table.loc["council", "mean"], [7e6, 5e6, 3e6, 1e6, 0.6e6])
    np.testing.assert_allclose(table.loc["icb", "mean"], [0, 0, 0, 0, 0.4e6], atol=1e-6)
    np.testing.assert_allclose(table.loc["icb", "prob_call"], [0, 0, 0, 0, 1])


def test_cash_calls_by_partner_of_the_worked_example() -> None:
    # docs/worked_examples.md "instalments_cash_by_partner": cash_key proportional (12:8),
    # the council finds 0.6 of the calls 7, 5, 3, 1 (£m), the icb 0.4.
    model = fixed_model(
        ["council", "icb"],
        {"a": ("council", [12e6]), "b": ("icb", [9e6])},
        {"council": [12e6], "icb": [8e6]},
        {"instalments": {"number": 4, "cash_key": "proportional"}},
        host="council",
        accrual={"b": [1 / 3] * 3 + [0.0] * 9},
    )
    result = rs.Result.from_ledger(model, engine_ledger(model, model.expected_spend()))
    table = result.cash_calls()
    np.testing.assert_allclose(table.loc["council", "mean"], [4.2e6, 3e6, 1.8e6, 0.6e6, 0.6e6])
    np.testing.assert_allclose(table.loc["icb", "mean"], [2.8e6, 2e6, 1.2e6, 0.4e6, 0.4e6])
    np.testing.assert_allclose(table.loc["pool", "mean"], [7e6, 5e6, 3e6, 1e6, 1e6])


def test_without_the_clauses_nothing_is_written(tmp_path) -> None:
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    result = rs.simulate(model, n_sims=500, seed=1)
    with pytest.raises(ValueError, match="no 'trigger'"):
        result.trigger()
    with pytest.raises(ValueError, match="no 'instalments'"):
        result.cash_calls()
    page = write_html(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="management-action"' not in page and 'id="in-year-cash"' not in page
    book = write_excel(result, tmp_path / "r.xlsx")
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert "Management action" not in sheets and "In-year cash" not in sheets


def test_a_trigger_on_the_outturn_reports_only_how_often(tmp_path) -> None:
    data = rs.load_config(ROOT / "configs" / "section75_example.yaml").model_dump(
        mode="python", exclude_none=True
    )
    data["agreement"]["trigger"] = {"threshold": 0.01, "mitigation": 0.5, "month": 6}
    result = rs.simulate(Model.model_validate(data), n_sims=500, seed=1)
    assert list(result.trigger().columns) == ["prob_action", "prob_action_se"]
    page = write_html(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="management-action"' in page and "taken on the year's outturn" in page


class _Values(html.parser.HTMLParser):
    """``data-value`` of the cells of one table, by (year, measure), or with ``partner``
    by (partner, year, measure)."""

    def __init__(self, table: str, *, partner: bool = False) -> None:
        super().__init__()
        self.table, self.inside, self.values, self.partner = table, False, {}, partner

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = self.table in (a.get("class") or "").split()
        if self.inside and tag == "td" and "data-value" in a:
            who = (a["data-partner"],) if self.partner else ()
            self.values[(*who, a["data-year"], a["data-measure"])] = float(a["data-value"])

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False


def test_report_cells_are_the_tables(run) -> None:
    out, result = run
    page = (out / "report.html").read_text(encoding="utf-8")
    action = _Values("management-action")
    action.feed(page)
    table = result.trigger()
    for (year, measure), value in action.values.items():
        assert value == pytest.approx(table.loc[year, measure], rel=1e-12)
    cash = _Values("in-year-cash")
    cash.feed(page)
    calls = result.cash_calls()
    assert len(cash.values) == 3 * len(calls.loc["pool"])
    for (year, key), value in cash.values.items():
        quarter, measure = key.split(":")
        assert value == pytest.approx(calls.loc[("pool", year, quarter), measure], rel=1e-12)
    by_partner = _Values("in-year-cash-by-partner", partner=True)
    by_partner.feed(page)
    partners = result.partner_ids
    assert len(by_partner.values) == 2 * 4 * len(result.years) * len(partners)
    for (partner, year, key), value in by_partner.values.items():
        quarter, measure = key.split(":")
        assert value == pytest.approx(calls.loc[(partner, year, quarter), measure], rel=1e-12)


def test_every_column_is_in_the_glossary(run) -> None:
    import re

    _, result = run
    docs = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([A-Za-z0-9_]+)`", docs[docs.index("### Columns of the result") :]))
    frames = (result.trigger().reset_index(), result.cash_calls().reset_index())
    for col in (c for frame in frames for c in frame.columns if c != "year"):
        assert col in listed, col
