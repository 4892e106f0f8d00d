"""The HTML report: key figures equal summary(), self-contained, opens in a real browser."""

from __future__ import annotations

import base64
import html.parser
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import riskshare as rs
from riskshare.report.files import atomic_folder, write_run
from riskshare.report.html import money, percent, write_html

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def result():
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    return rs.simulate(model, n_sims=2000, seed=9)


@pytest.fixture(scope="module")
def report(result, tmp_path_factory):
    comparison = pd.DataFrame(
        {
            "agreement": ["no bands"] * 2,
            "partner": ["council", "icb"],
            "diff": [-1.5e5, 1.5e5],
            "se": [1e4, 1e4],
        }
    )
    path = tmp_path_factory.mktemp("html") / "report.html"
    return write_html(result, path, comparison=comparison, title="Test <report> & co")


class _Cells(html.parser.HTMLParser):
    """Collects key-figure cells, images, scripts and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.images: list[str] = []
        self.scripts = 0
        self.links: list[str] = []
        self._cell: dict[str, str] | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-measure" in a:
            self._cell = {**a, "text": ""}
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "a") and a.get("href"):
            self.links.append(a["href"])
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "title":
            self._in_title = False


def _parse(path: Path) -> _Cells:
    p = _Cells()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_key_figures_equal_summary(result, report):
    parsed = _parse(report)
    summary = result.summary()
    key = {(c["data-partner"], c["data-measure"]): c for c in parsed.cells if "data-year" not in c}
    checked = 0
    for pid in summary.index:
        for measure in ("mean", "p50", "p95", "tvar95", "p99", "prob_pays", "prob_call_any_year"):
            cell = key[(pid, measure)]
            want = float(summary.loc[pid, measure])
            assert float(cell["data-value"]) == want
            shown = percent(want) if measure.startswith("prob") else money(want)
            assert cell["text"].strip() == shown
            checked += 1
    assert checked == 7 * len(summary.index)
    assert (
        float(key[("council", "prob_exceeds")]["data-value"])
        == summary.loc["council", "prob_exceeds"]
    )


def test_year_and_pool_tables_equal_results(result, report):
    parsed = _parse(report)
    by_year = result.by_year()
    year_cells = {
        (c["data-partner"], c["data-year"], c["data-measure"]): float(c["data-value"])
        for c in parsed.cells
        if "data-year" in c
    }
    for (pid, year), row in by_year.iterrows():
        assert year_cells[(pid, year, "p95")] == row["p95"]
    for year, row in result.pool_by_year().iterrows():
        assert year_cells[("pool", year, "reserve_mean")] == row["reserve_mean"]


def test_self_contained_escaped_and_complete(result, report):
    text = report.read_text(encoding="utf-8")
    parsed = _parse(report)
    assert parsed.scripts == 0
    assert not parsed.links
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert parsed.title == "Test <report> & co"  # autoescaped: parsed back exactly
    assert "Test &lt;report&gt; &amp; co" in text
    assert len(parsed.images) == 4  # exceedance, distribution, fan, comparison
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "@media print" in text
    for needle in (
        str(result.seed),
        result.manifest["config_sha256"],
        rs.__version__,
        "Learning disability",
        "Integrated Care Board",
        "in proportion to contributions",
        "2,000",
    ):
        assert needle in text, needle


def test_report_in_headless_chromium(result, report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.resolve().as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            cells = page.eval_on_selector_all(
                "table.key-figures td[data-measure]",
                "els => els.map(e => [e.dataset.partner, e.dataset.measure, e.dataset.value,"
                " e.textContent.trim()])",
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(tmp_path / "report-print.png"))
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert len(widths) == 4 and all(w > 0 for w in widths)
    summary = result.summary()
    assert len(cells) >= 7 * len(summary.index)
    for pid, measure, value, text in cells:
        want = float(summary.loc[pid, measure])
        if math.isnan(want):  # no appetite for the pool: a blank cell
            assert math.isnan(float(value)) and text == ""
            continue
        assert float(value) == want
        assert text == (percent(want) if measure.startswith("prob") else money(want))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_cli_report_regenerates_from_a_result_folder(result, tmp_path):
    from riskshare.cli.app import app, register_commands

    register_commands()
    folder = tmp_path / "run"
    with atomic_folder(folder) as tmp:
        write_run(result, tmp)
    runner = CliRunner()
    out = tmp_path / "board" / "report.html"
    res = runner.invoke(app, ["report", str(folder), "--out", str(out), "--excel"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and (out.parent / "results.xlsx").is_file()
    parsed = _parse(out)
    p95 = next(
        c
        for c in parsed.cells
        if c["data-partner"] == "council" and c["data-measure"] == "p95" and "data-year" not in c
    )
    assert float(p95["data-value"]) == result.summary().loc["council", "p95"]
    res = runner.invoke(app, ["report", str(folder)])
    assert res.exit_code == 0 and (folder / "report.html").is_file()


def test_cli_report_errors(tmp_path):
    from riskshare.cli.app import app, register_commands

    register_commands()
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "not a result folder" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "config.json" in res.output
