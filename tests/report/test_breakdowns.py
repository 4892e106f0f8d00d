"""By-schedule, exit-cost, exit and holdback sections: in the report and the workbook only when
relevant, equal to ``Result.by_schedule()``, ``Result.exit_costs()``, ``Result.exits()`` and
``Result.holdback()``."""

from __future__ import annotations

import html.parser
import math
from pathlib import Path

import pytest

import riskshare as rs
from riskshare.analysis.comparison import load_agreement
from riskshare.config.load import with_agreement
from riskshare.config.names import partner_labels
from riskshare.report.excel import HEADINGS, write_excel
from riskshare.report.formats import chance, money_k
from riskshare.report.glossary import HOLDBACK_LABELS
from riskshare.report.headline import precision_of
from riskshare.report.html import EXIT_MEASURES, HOLDBACK_MEASURES, SCHEDULE_MEASURES, write_html

openpyxl = pytest.importorskip("openpyxl")
ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def _simulate(model):
    return rs.simulate(model, n_sims=2000, seed=3)


def _district_exit():
    return with_agreement(
        rs.load_config(CONFIGS / "four_partners.yaml"),
        load_agreement(CONFIGS / "agreements" / "four_partners" / "district_exit.yaml"),
    )


@pytest.fixture(scope="module")
def results():
    exit_model = _district_exit()
    agr = exit_model.agreement
    no_costs = agr.model_copy(update={"exit": agr.exit.model_copy(update={"costs": []})})
    return {
        "plain": _simulate(rs.load_config(CONFIGS / "section75_example.yaml")),
        "schedules": _simulate(rs.load_config(CONFIGS / "schedules_example.yaml")),
        "exit": _simulate(exit_model),
        "exit_no_costs": _simulate(with_agreement(exit_model, no_costs)),
        "holdback": _simulate(rs.load_config(CONFIGS / "presets" / "bcf_holdback.yaml")),
    }


@pytest.fixture(scope="module")
def outputs(results, tmp_path_factory):
    root = tmp_path_factory.mktemp("breakdowns")
    return {
        name: (write_html(r, root / f"{name}.html"), write_excel(r, root / f"{name}.xlsx"))
        for name, r in results.items()
    }


class _Cells(html.parser.HTMLParser):
    """The cells of one table (by its class), with their attributes and text."""

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table, self.inside, self.cells, self._cell = table, False, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = self.table in (a.get("class") or "").split()
        if self.inside and tag == "td" and "data-measure" in a:
            self._cell = {**a, "text": ""}

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "table":
            self.inside = False


def _cells(path: Path, table: str) -> list[dict[str, str]]:
    p = _Cells(table)
    p.feed(path.read_text(encoding="utf-8"))
    return p.cells


def _text(value: float, kind: str, frame) -> str:
    prec = precision_of(frame)
    if kind == "money":
        return money_k(value, max(prec.step, 1000.0))
    return chance(value, prec.percent_digits)


@pytest.mark.parametrize(
    ("name", "by_schedule", "exit_costs", "holdback"),
    [
        ("plain", False, False, False),
        ("schedules", True, False, False),
        ("exit", False, True, False),
        ("exit_no_costs", False, True, False),
        ("holdback", False, False, True),
    ],
)
def test_sections_only_when_relevant(outputs, name, by_schedule, exit_costs, holdback):
    page, book = outputs[name]
    text = page.read_text(encoding="utf-8")
    assert ('id="by-schedule"' in text) is by_schedule
    assert ('id="exit-costs"' in text) is exit_costs
    assert ('id="holdback"' in text) is holdback
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert ("By schedule" in sheets) is by_schedule
    assert ("Exit costs" in sheets) is exit_costs
    assert ("Holdback" in sheets) is holdback
    assert ('class="exits"' in text) is exit_costs  # the chance of leaving: any exit clause
    assert ("Exits" in sheets) is exit_costs


@pytest.mark.parametrize(
    ("name", "files"), [("plain", False), ("exit", True), ("exit_no_costs", True)]
)
def test_exits_csv_with_an_exit_clause(results, tmp_path, name, files):
    from riskshare.report import write_run

    written = write_run(results[name], tmp_path)
    assert ("exits.csv" in written) is files
    if files:
        with open(tmp_path / "exits.csv", encoding="utf-8-sig") as f:
            head = f.readline().strip().split(",")
        assert head == ["partner", "year", *results[name].exits().columns]


def test_report_by_schedule_equals_by_schedule(results, outputs):
    result = results["schedules"]
    frame = result.by_schedule()
    cells = _cells(outputs["schedules"][0], "by-schedule")
    kinds = {m: k for m, _, k in SCHEDULE_MEASURES}
    assert len(cells) == len(frame) * len(SCHEDULE_MEASURES)
    assert len({c["data-schedule"] for c in cells}) == len(result.model.schedules()) == 3
    for c in cells:
        want = float(frame.loc[(c["data-schedule"], c["data-partner"]), c["data-measure"]])
        assert float(c["data-value"]) == want
        assert c["text"] == _text(want, kinds[c["data-measure"]], frame)
    text = outputs["schedules"][0].read_text(encoding="utf-8")
    for s in result.model.schedules():
        assert f">{s.label}</th>" in text  # each schedule by its display name


def test_report_exit_costs_equal_exit_costs(results, outputs):
    result = results["exit"]
    frame = result.exit_costs()
    cells = _cells(outputs["exit"][0], "exit-costs")
    kinds = {m: k for m, _, k in EXIT_MEASURES}
    assert len(cells) == len(frame) * len(EXIT_MEASURES)
    for c in cells:
        want = float(frame.loc[c["data-partner"], c["data-measure"]])
        assert float(c["data-value"]) == want
        assert c["text"] == _text(want, kinds[c["data-measure"]], frame)
    # The district leaves in year 3: it pays its £150k redundancy and a share of the double
    # running, so it always pays an exit cost, and the pool pays £150k + 2 × £100k.
    assert frame.loc["district", "prob_pays"] == 1.0
    assert frame.loc["pool", "mean"] == pytest.approx(350_000.0, rel=1e-12)
    assert "£350k" in {c["text"] for c in cells if c["data-partner"] == "pool"}


def test_report_holdback_equals_holdback(results, outputs):
    result = results["holdback"]
    frame = result.holdback()
    total = frame.xs("total", level="year")
    cells = _cells(outputs["holdback"][0], "holdback")
    kinds = {m: k for m, _, k in HOLDBACK_MEASURES}
    assert len(cells) == 3 * len(HOLDBACK_MEASURES)
    for c in cells:
        want = float(total.loc[c["data-amount"], c["data-measure"]])
        assert float(c["data-value"]) == want
        assert c["text"] == _text(want, kinds[c["data-measure"]], total)
    text = outputs["holdback"][0].read_text(encoding="utf-8")
    assert "£2,800,000 a year by Integrated Care Board" in text
    assert "Chance that nothing is released: 2026/27 " in text


def test_holdback_table_against_closed_forms(results):
    """bcf_holdback: H = 2.8m a year, released = H clip(m / 0.042, 0, 1) with m ~ N(-0.02, 0.04),
    retained = H - released, not commissioned = 0.75 x retained (fixed_share 0.25)."""
    from scipy import stats

    result = results["holdback"]
    frame = result.holdback()
    years = frame.xs("released", level="amount").index.drop("total")
    h = 2.8e6
    for y in years:
        released, retained = (frame.loc[(a, y)] for a in ("released", "retained"))
        uncommissioned = frame.loc[("uncommissioned", y)]
        assert released["mean"] + retained["mean"] == pytest.approx(h, rel=1e-12)
        assert uncommissioned["mean"] == pytest.approx(0.75 * retained["mean"], rel=1e-12)
        # P(anything released) = P(m > 0) = Φ(0.02 / 0.04) = 0.3085; 2000 simulations
        p = stats.norm.sf(0.0, -0.02, 0.04)
        assert abs(released["prob_pays"] - p) < 5 * math.sqrt(p * (1 - p) / 2000)
    o = result.outcomes
    assert o.holdback_years.sum(axis=1) == pytest.approx(o.holdback_total, rel=1e-12)


def test_holdback_totals_cover_every_simulation():
    model = rs.load_config(CONFIGS / "presets" / "bcf_holdback.yaml")
    full = rs.simulate(model, n_sims=3000, seed=5)
    kept = rs.simulate(model, n_sims=3000, seed=5, keep_paths=1000)
    a, b = full.holdback(), kept.holdback()
    total = [y == "total" for _, y in a.index]
    assert a[total].equals(b[total])
    assert kept.outcomes.holdback_years.shape == (1000, 5, 3)


def test_workbook_holdback_equals_holdback(results, outputs):
    frame = results["holdback"].holdback()
    head, rows = _sheet(outputs["holdback"][1], "Holdback")
    assert head == ["Holdback", "Year", *(HEADINGS.get(c, c) for c in frame.columns)]
    assert [tuple(r[:2]) for r in rows] == [(HOLDBACK_LABELS[a], y) for a, y in frame.index]
    for r, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert all(_same(g, float(w)) for g, w in zip(r[2:], want, strict=True)), r


def test_report_exits_equal_exits(results, outputs):
    result = results["exit"]
    frame = result.exits()
    cells = _cells(outputs["exit"][0], "exits")
    years = result.years
    # A cell per partner and year (the chance it has left by then), and one more per partner:
    # the chance its loss limit takes it out within the agreement.
    assert len(cells) == len(result.partner_ids) * (len(years) + 1)
    for c in cells:
        want = float(frame.loc[(c["data-partner"], c["data-year"]), c["data-measure"]])
        assert float(c["data-value"]) == want
        assert c["data-measure"] == "prob_exited" or c["data-year"] == years[-1]
        digits = 1 if frame["prob_exited_se"].max() < 0.0005 else 0
        limited = c["data-partner"] in result.model.agreement.exit.limits
        if c["data-measure"] == "prob_loss_limit_exited" and not limited:
            assert c["text"] == "no limit"
        else:
            assert c["text"] == chance(want, digits)
    district = {
        c["data-year"]: c["data-value"]
        for c in cells
        if c["data-partner"] == "district" and c["data-measure"] == "prob_exited"
    }
    # The district's voluntary exit takes effect at the start of year 3 (2029/30).
    assert [float(district[y]) for y in years] == [0, 0, 0, 1, 1]


def test_workbook_exits_equal_exits(results, outputs):
    result = results["exit"]
    frame = result.exits()
    head, rows = _sheet(outputs["exit"][1], "Exits")
    assert head == ["Partner", "Year", *(HEADINGS.get(c, c) for c in frame.columns)]
    labels = partner_labels(result.model)
    assert [tuple(r[:2]) for r in rows] == [(labels[p], y) for p, y in frame.index]
    for r, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert all(_same(g, float(w)) for g, w in zip(r[2:], want, strict=True)), r


def test_report_exit_clause_without_costs_says_so(outputs):
    text = outputs["exit_no_costs"][0].read_text(encoding="utf-8")
    assert "names no exit costs" in text
    assert _cells(outputs["exit_no_costs"][0], "exit-costs") == []


def _sheet(path: Path, name: str):
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    return list(rows[0]), [r for r in rows[1:] if r[0] is not None]


def _same(got, want: float) -> bool:
    # Excel keeps 15 significant digits (xlsxwriter writes 16, so the last bit may go).
    if math.isinf(want) or math.isnan(want):
        return got is None or got == want
    return got == pytest.approx(want, rel=1e-15, abs=0.0)


def test_workbook_by_schedule_equals_by_schedule(results, outputs):
    result = results["schedules"]
    frame = result.by_schedule()
    head, rows = _sheet(outputs["schedules"][1], "By schedule")
    assert head == ["Schedule", "Partner", *(HEADINGS.get(c, c) for c in frame.columns)]
    names = {s.id: s.label for s in result.model.schedules()}
    labels = partner_labels(result.model)
    assert [tuple(r[:2]) for r in rows] == [(names[s], labels[p]) for s, p in frame.index]
    for r, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert all(_same(g, float(w)) for g, w in zip(r[2:], want, strict=True)), r


def test_workbook_exit_costs_equal_exit_costs(results, outputs):
    result = results["exit"]
    frame = result.exit_costs()
    head, rows = _sheet(outputs["exit"][1], "Exit costs")
    assert head == ["Partner", *(HEADINGS.get(c, c) for c in frame.columns)]
    labels = partner_labels(result.model)
    assert [r[0] for r in rows] == [labels[p] for p in frame.index]
    for r, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert all(_same(g, float(w)) for g, w in zip(r[1:], want, strict=True)), r


def test_sections_fit_1280px_between_the_pool_and_the_assumptions(outputs, page_1280):
    page = page_1280
    for name, section in (
        ("schedules", "#by-schedule"),
        ("exit", "#exit-costs"),
        ("holdback", "#holdback"),
    ):
        page.goto(outputs[name][0].resolve().as_uri())
        page.wait_for_load_state("load")
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth,"
            " ...[...document.querySelectorAll('table, figure, section')].map("
            "   e => e.scrollWidth - e.clientWidth)]"
        )
        order = page.evaluate(
            f"() => ['#pool-years', '{section}', '#assumptions']"
            ".map(s => document.querySelector(s).getBoundingClientRect().top)"
        )
        assert max(overflow) <= 0, (name, overflow)
        assert order == sorted(order), (name, order)
