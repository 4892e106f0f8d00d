"""The workbook reopens with openpyxl and its numbers equal summary()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.report.excel import HEADINGS, MONEY_FORMAT, PERCENT_FORMAT, write_excel

openpyxl = pytest.importorskip("openpyxl")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result():
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    return rs.simulate(model, n_sims=2000, seed=5)


@pytest.fixture(scope="module")
def workbook(result, tmp_path_factory):
    path = write_excel(result, tmp_path_factory.mktemp("xl") / "out" / "results.xlsx")
    assert path.is_file()
    return openpyxl.load_workbook(path)


def _table(ws, header_row):
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    head = list(rows[0])
    return head, [r for r in rows[1:] if r[0] is not None]


def test_sheets(workbook):
    assert workbook.sheetnames == [
        "Summary",
        "By year",
        "Pool by year",
        "Percentiles",
        "Exceedance",
        "Assumptions",
        "About",
    ]


def test_key_columns_first_and_print_setup(result, workbook):
    head, rows = _table(workbook["Summary"], 3)
    assert head[:8] == [
        "Partner",
        "Contributions (whole agreement)",
        "Mean",
        "P95 (1 in 20)",
        "TVaR95",
        "P(cash call in some year)",
        "Appetite",
        "P(exceeds appetite)",
    ]
    sched = result.model.contribution_schedule()
    assert [r[1] for r in rows] == pytest.approx([*sched.sum(axis=0), sched.sum()], rel=1e-14)
    assert workbook["Summary"]._charts, "expected the exceedance chart on the Summary sheet"
    for ws in workbook.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert ws.page_setup.fitToWidth in (None, 1)  # one page wide (1 is the default)
        assert ws.oddFooter.left.text == "&A"
    assert workbook["Summary"].print_title_rows == "$3:$3"


def test_exceedance_sheet_is_the_chance_of_paying_more(result, workbook):
    head, rows = _table(workbook["Exceedance"], 3)
    labels = {p.id: p.label for p in result.model.partners}
    assert head == ["Amount (£)", *(labels[p] for p in result.partner_ids), "Pool"]
    net = result.net
    for row in rows[::10]:
        x = row[0]
        assert row[1] == pytest.approx(float(np.mean(net[:, 0] > x)), abs=1e-12)
        assert row[-1] == pytest.approx(float(np.mean(net.sum(axis=1) > x)), abs=1e-12)
    assert workbook["Exceedance"].cell(row=4, column=2).number_format == PERCENT_FORMAT


def test_summary_numbers_equal_summary(result, workbook):
    ws = workbook["Summary"]
    head, rows = _table(ws, 3)
    summary = result.summary()
    # Partners by their names, as on every other sheet and in the report (not 'icb').
    names = {p.id: p.label for p in result.model.partners} | {"pool": "All partners (the pool)"}
    assert [r[0] for r in rows] == [names[p] for p in summary.index]
    for col in summary.columns:
        j = head.index(HEADINGS.get(col, col))
        for i, pid in enumerate(summary.index):
            got, want = rows[i][j], summary.loc[pid, col]
            if np.isnan(want):
                assert got is None or np.isnan(got)
            else:
                assert isinstance(got, float | int), (col, got)
                assert got == pytest.approx(want, rel=1e-14, abs=1e-9), (pid, col)
    # Formats: money in £, probabilities in %.
    j_mean = head.index("Mean") + 1
    j_pays = head.index("P(pays)") + 1
    assert ws.cell(row=4, column=j_mean).number_format == MONEY_FORMAT
    assert ws.cell(row=4, column=j_pays).number_format == PERCENT_FORMAT
    assert ws.freeze_panes == "B4"
    assert ws.column_dimensions["B"].width >= 10


def test_by_year_and_pool_sheets_match(result, workbook):
    head, rows = _table(workbook["By year"], 3)
    by_year = result.by_year()
    assert len(rows) == len(by_year)
    j = head.index(HEADINGS["p95"])
    names = {p.id: p.label for p in result.model.partners} | {"pool": "All partners (the pool)"}
    assert head[:2] == ["Partner", "Year"]
    for row, ((pid, year), want) in zip(rows, by_year["p95"].items(), strict=True):
        assert (row[0], row[1]) == (names[pid], year)
        assert row[j] == pytest.approx(want, rel=1e-14)
    assert workbook["By year"]._charts, "expected a native chart of P95 by year"
    head, rows = _table(workbook["Pool by year"], 3)
    assert head[0] == "Year"
    pool = result.pool_by_year()
    j = head.index(HEADINGS["reserve_mean"])
    assert [r[j] for r in rows] == pytest.approx(pool["reserve_mean"].to_list(), rel=1e-14)


def test_percentiles_and_assumptions(result, workbook):
    _, rows = _table(workbook["Percentiles"], 3)
    p95 = next(r for r in rows if r[0] == pytest.approx(0.95))
    want = result.summary()["p95"]
    assert p95[1:] == pytest.approx(list(want), rel=1e-14)
    ws = workbook["Assumptions"]
    _head, rows = _table(ws, 3)
    sched = result.model.contribution_schedule()
    for t, row in enumerate(rows[: sched.shape[0]]):
        assert row[0] == result.years[t]
        assert row[1 : 1 + sched.shape[1]] == pytest.approx(list(sched[t]), rel=1e-14)
    text = " ".join(str(c) for r in ws.iter_rows(values_only=True) for c in r if c)
    for grp in result.model.client_groups:
        assert grp.label in text
    about = dict(workbook["About"].iter_rows(min_row=2, values_only=True))
    assert about["Seed"] == result.seed
    assert about["Config SHA-256"] == result.manifest["config_sha256"]
