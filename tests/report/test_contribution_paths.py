"""Contribution paths (contributions re-set each year): Result method, CSV, report section and
workbook sheet, only when contributions vary, each equal to ``Result.contribution_paths()``."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare.report.excel import HEADINGS, write_excel
from riskshare.report.formats import money_k, rounding_step
from riskshare.report.html import write_html

openpyxl = pytest.importorskip("openpyxl")
ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
N = 2000


@pytest.fixture(scope="module")
def results():
    return {
        "rebased": rs.simulate(rs.load_config(CONFIGS / "rebased_example.yaml"), n_sims=N, seed=3),
        "fixed": rs.simulate(rs.load_config(CONFIGS / "section75_example.yaml"), n_sims=N, seed=3),
    }


def test_paths_are_the_ledgers_contributions(results) -> None:
    """The distribution is that of the settled contributions, simulation by simulation."""
    result = results["rebased"]
    model = result.model
    ledger = rs.settle(model, rs.sample(model, n_sims=N, seed=3))
    paths = ledger.flow("contribution")  # no holdback here: paid = agreed
    np.testing.assert_array_equal(result.outcomes.contribution_paths, paths)
    frame = result.contribution_paths()
    assert list(frame.columns) == ["planned", "mean", "sd", "p5", "p50", "p95", "min", "max"]
    for p, pid in enumerate([*model.partner_ids, "pool"]):
        x = paths[:, :, p] if pid != "pool" else paths.sum(axis=2)
        rows = frame.loc[pid]
        np.testing.assert_allclose(rows["mean"], x.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(rows["p5"], np.quantile(x, 0.05, axis=0), rtol=1e-12)
        np.testing.assert_allclose(rows["p95"], np.quantile(x, 0.95, axis=0), rtol=1e-12)
        np.testing.assert_allclose(rows["max"], x.max(axis=0), rtol=1e-12)
    planned = model.contribution_schedule()
    np.testing.assert_allclose(frame.loc["council", "planned"], planned[:, 0])
    # Year 0 is known in advance; later years spread (by hundreds of £k in this pool).
    assert frame.loc["council", "sd"].iloc[0] == 0.0
    assert (frame.loc["council", "sd"].iloc[1:] > 1e5).all()


def test_fixed_contributions_are_one_point(results) -> None:
    result = results["fixed"]
    assert result.outcomes.contribution_paths is None
    frame = result.contribution_paths()
    np.testing.assert_array_equal(frame["p5"], frame["p95"])
    np.testing.assert_allclose(frame.loc["icb", "mean"], result.model.contribution_schedule()[:, 1])


def test_headline_quotes_the_expected_contributions_when_they_are_re_set(results) -> None:
    """ "On top of its £X of contributions": with re-set ones, X is what it pays on average.

    The planned schedule understates a re-based contribution (it grows with the
    recurrent variance), so the first screen quotes the mean of the paths, and
    says so; fixed contributions are the planned schedule, as before.
    """
    from riskshare.report.headline import expected_contributions, headlines, key_table

    result = results["rebased"]
    paid = expected_contributions(result)
    means = result.contribution_paths("nominal")["mean"]
    for pid in [*result.partner_ids, "pool"]:
        assert paid[pid] == pytest.approx(means.loc[pid].sum(), rel=1e-12)
    planned = result.model.contribution_schedule()[:, 0].sum()
    assert paid[result.partner_ids[0]] > planned * 1.01  # the case the planned figure misses
    lines = headlines(result.summary(), result.model, contributions=paid)
    quoted = [p for p in lines[0].parts if not isinstance(p, str) and p.measure == "contributions"]
    assert quoted[0].value == paid[result.partner_ids[0]]
    assert "of expected contributions" in lines[0].text
    table = key_table(result.summary(), result.model, contributions=paid)
    assert "re-set each year" in table.precision
    assert expected_contributions(results["fixed"]) is None
    fixed = headlines(results["fixed"].summary(), results["fixed"].model)
    assert "of contributions" in fixed[0].text and "expected contributions" not in fixed[0].text


def test_csv_only_when_contributions_vary(results, tmp_path) -> None:
    from riskshare.report.files import write_run

    for name, result in results.items():
        folder = tmp_path / name
        folder.mkdir()
        written = write_run(result, folder)
        assert ("contribution_paths.csv" in written) is (name == "rebased")
    with open(tmp_path / "rebased" / "contribution_paths.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    frame = results["rebased"].contribution_paths()
    assert len(rows) == len(frame)
    assert float(rows[7]["p95"]) == frame["p95"].iloc[7]


def _cells(page: Path) -> list[dict[str, str]]:
    """The data cells of the contribution-path table: their attributes and text."""
    text = page.read_text(encoding="utf-8")
    table = text[text.index('<table class="contribution-paths">') :]
    table = table[: table.index("</table>")]
    cells = []
    for attrs, inner in re.findall(r"<td ([^>]*data-measure[^>]*)>(.*?)</td>", table):
        cell = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', attrs)}
        cells.append({**cell, "text": html.unescape(inner)})
    return cells


@pytest.fixture(scope="module")
def outputs(results, tmp_path_factory):
    root = tmp_path_factory.mktemp("contribution_paths")
    return {
        name: (write_html(r, root / f"{name}.html"), write_excel(r, root / f"{name}.xlsx"))
        for name, r in results.items()
    }


@pytest.mark.parametrize("name", ["rebased", "fixed"])
def test_section_and_sheet_only_when_contributions_vary(outputs, name) -> None:
    page, book = outputs[name]
    assert ('id="contribution-paths"' in page.read_text(encoding="utf-8")) is (name == "rebased")
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert ("Contribution paths" in sheets) is (name == "rebased")


def test_report_and_workbook_equal_the_table(results, outputs) -> None:
    frame = results["rebased"].contribution_paths()
    page, book = outputs["rebased"]
    cells = _cells(page)
    assert len(cells) == len(frame) * 5
    # rounded to the Monte Carlo error of the means, at least £1k
    step = max(rounding_step(frame["sd"].max() / N**0.5), 1000.0)
    for c in cells:
        value = frame.loc[(c["data-partner"], c["data-year"]), c["data-measure"]]
        assert float(c["data-value"]) == pytest.approx(value, rel=1e-12)
        assert c["text"] == money_k(value, step)
    ws = openpyxl.load_workbook(book, read_only=True)["Contribution paths"]
    rows = [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]
    head = rows[1]
    assert list(head) == ["Partner", "Year", *(HEADINGS.get(c, c) for c in frame.columns)]
    body = rows[2:]
    assert len(body) == len(frame)
    np.testing.assert_allclose([r[3] for r in body], frame["mean"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("example", ["rebased_example", "schedules_rebased_example"])
def test_the_shipped_example_runs_end_to_end(tmp_path, example: str) -> None:
    """The shipped examples from the command line: tables, report and workbook (with several
    schedules, each partner's contribution summed over them, and the by-schedule table)."""
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    out = tmp_path / "run"
    config = CONFIGS / f"{example}.yaml"
    args = [
        "run",
        str(config),
        "--sims",
        "500",
        "--out",
        str(out),
        "--quiet",
        "--report",
        "--excel",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("contribution_paths.csv", "report.html", "results.xlsx", "summary.csv"):
        assert (out / name).is_file(), name
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="contribution-paths"' in page
    several = example == "schedules_rebased_example"
    assert (out / "by_schedule.csv").is_file() is several
    assert ("the partner's total over the schedules" in html.unescape(page)) is several


def test_section_fits_1280px_between_the_pool_and_the_assumptions(outputs, page_1280) -> None:
    page = page_1280
    page.goto(outputs["rebased"][0].resolve().as_uri())
    page.wait_for_load_state("load")
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('#contribution-paths, "
        "#contribution-paths table')].map(e => e.scrollWidth - e.clientWidth)"
    )
    order = page.evaluate(
        "() => ['#pool-years', '#contribution-paths', '#assumptions']"
        ".map(s => document.querySelector(s).getBoundingClientRect().top)"
    )
    assert max(overflow) <= 0, overflow
    assert order == sorted(order), order


def test_every_column_is_in_the_glossary(results) -> None:
    docs = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Columns of the result") :]
    listed = set(re.findall(r"`([A-Za-z0-9_]+)`", section))
    assert "contribution_paths.csv" in section
    for col in results["rebased"].contribution_paths().reset_index().columns:
        assert col in listed or col in ("partner", "year"), col
