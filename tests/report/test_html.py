"""The HTML report: key figures equal summary(), self-contained, opens in a real browser."""

from __future__ import annotations

import base64
import html.parser
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import riskshare as rs
from riskshare.report.files import atomic_folder, write_run
from riskshare.report.formats import money_short
from riskshare.report.headline import headlines, key_table
from riskshare.report.html import write_html

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result():
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    return rs.simulate(model, n_sims=2000, seed=9)


@pytest.fixture(scope="module")
def analyses(result):
    from riskshare.analysis.scenarios import stress
    from riskshare.analysis.sensitivity import tornado

    model = result.model
    sens = tornado(
        model, {"client_groups[0].spend.cost.inflation": [0.035, 0.075]}, n_sims=2000, seed=9
    )
    scen = stress(model, {"no reserve": {"agreement.reserve.top_slice": 0.0}}, n_sims=2000, seed=9)
    return sens, scen


@pytest.fixture(scope="module")
def report(result, analyses, tmp_path_factory):
    sens, scen = analyses
    path = tmp_path_factory.mktemp("html") / "report.html"
    return write_html(result, path, title="Test <report> & co", sensitivity=sens, stress=scen)


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
    table = key_table(summary, result.model)
    shown = {(c.partner, c.measure): c.text for _, _, cells in table.rows for c in cells}
    checked = 0
    for cell in parsed.cells:
        if "data-year" in cell or cell["data-measure"] in ("contributions", "appetite"):
            continue
        want = float(summary.loc[cell["data-partner"], cell["data-measure"]])
        got = float(cell["data-value"])
        assert got == want or (math.isnan(got) and math.isnan(want))
        checked += 1
    assert checked >= 10 * len(summary.index)  # the key table and the distribution table
    for pid in summary.index:
        for measure in ("mean", "p95", "tvar95", "prob_call_any_year"):
            assert shown[(pid, measure)] in report.read_text(encoding="utf-8")
    assert table.precision in report.read_text(encoding="utf-8")


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
    anchors = set(re.findall(r'id="([^"]+)"', text))
    for link in parsed.links:  # only links within the page, each to an anchor that exists
        assert link.startswith("#") and link[1:] in anchors, link
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert parsed.title == "Test <report> & co"  # autoescaped: parsed back exactly
    assert "Test &lt;report&gt; &amp; co" in text
    assert len(parsed.images) == 4  # exceedance, distribution, fan, tornado
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


def test_report_at_1280px_leads_with_the_answer(result, report, page_1280, tmp_path):
    errors: list[str] = []
    requests: list[str] = []
    page = page_1280
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.resolve().as_uri())
    page.wait_for_load_state("load")
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth,"
        " ...[...document.querySelectorAll('table, figure, section')].map("
        "   e => e.scrollWidth - e.clientWidth)]"
    )
    order = page.evaluate(
        "() => ['#headline', 'table.key', '#charts', '#pool-years', '#assumptions']"
        ".map(s => document.querySelector(s).getBoundingClientRect().top)"
    )
    quoted = page.eval_on_selector_all(
        "#headline p",
        "ps => ps.map(p => [p.dataset.partner, p.innerText.trim(),"
        " [...p.querySelectorAll('[data-measure]')].map("
        "   e => [e.dataset.measure, e.dataset.value, e.textContent])])",
    )
    key_bottom = page.evaluate(
        "() => document.querySelector('p.precision').getBoundingClientRect().bottom"
    )
    page.screenshot(path=str(tmp_path / "report.png"))
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert len(widths) == 4 and all(w > 0 for w in widths)
    assert max(overflow) <= 0, overflow  # nothing overflows horizontally at 1280 px
    assert order == sorted(order)  # the answer, the key table, charts, then the detail
    assert key_bottom <= 1000  # headline and the whole key table on (about) the first screen
    summary = result.summary()
    model = result.model
    sentences = {h.partner: h for h in headlines(summary, model)}
    step = key_table(summary, model).step

    def shown(x):  # the headline is no more precise than the key table
        return money_short(round(x / step) * step)

    assert [q[0] for q in quoted] == [*model.partner_ids, "pool"]
    for pid, text, figures in quoted:
        assert text == sentences[pid].text
        got = {m: (float(v), t) for m, v, t in figures}
        assert got["mean"] == (summary.loc[pid, "mean"], shown(summary.loc[pid, "mean"]))
        assert got["p95"] == (summary.loc[pid, "p95"], shown(summary.loc[pid, "p95"]))
        if pid != "pool":
            appetite = model.appetite[pid]
            assert got["appetite"] == (appetite, money_short(appetite))
            assert got["prob_exceeds"][0] == summary.loc[pid, "prob_exceeds"]
            assert f"{round(100 * summary.loc[pid, 'prob_exceeds'])}%" in text


def test_pdf_first_page_holds_the_headline_and_key_table(result, report, playwright_api, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from riskshare.report.pdf import html_to_pdf

    pdf = html_to_pdf(report, tmp_path / "report.pdf")
    reader = pypdf.PdfReader(str(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    first = " ".join(reader.pages[0].extract_text().split())
    rest = " ".join(" ".join(p.extract_text() for p in reader.pages[1:]).split())
    for h in headlines(result.summary(), result.model):
        assert h.text in first
    table = key_table(result.summary(), result.model)
    for heading in table.headings():
        for word in heading.split():
            assert word in first
    for _, label, cells in table.rows:
        assert label in first
        for cell in cells:
            assert cell.text in first
    assert table.precision.split(";")[0] in first
    assert "Charts" in first + rest and "To reproduce these figures" in rest


def test_sections_and_names(result, report, analyses):
    text = report.read_text(encoding="utf-8")
    assert 'id="sensitivity"' in text and 'id="stress"' in text
    assert "Learning disability: cost inflation" in text  # a name, not a config path
    assert "client_groups[0]" not in text
    assert "no reserve" in text
    plain = write_html(result, report.with_name("plain.html")).read_text(encoding="utf-8")
    assert 'id="sensitivity"' not in plain and 'id="stress"' not in plain


def test_every_figure_reconciles(result, report):
    from riskshare.report.budget import budget_years

    years = budget_years(result)
    variance = result.outcomes.variance
    n = variance.shape[0]
    sched = result.model.contribution_schedule().sum(axis=1)
    for t, y in enumerate(years):
        assert y.contributions == pytest.approx(sched[t])
        assert y.budget + y.top_slice == pytest.approx(y.contributions)
        assert y.expected_gap == pytest.approx(y.expected_spend - y.budget)
        se = variance[:, t].std(ddof=1) / math.sqrt(n)
        assert abs(y.expected_gap - y.mean_overspend) < 4 * se  # the same gap, simulated
        assert y.prob_call <= y.prob_overspend
    first = years[0]
    # The example top-slices 2 % in year one: that is the whole expected gap, and the reserve
    # it fills is what keeps the chance of a call below the chance of an overspend.
    assert first.expected_gap == pytest.approx(first.top_slice, rel=1e-9)
    assert first.reserve_start == pytest.approx(first.top_slice)
    assert first.prob_call < first.prob_overspend
    text = " ".join(report.read_text(encoding="utf-8").split())
    assert "so the expected gap is" in text and "called for cash only" in text


def test_glossary_is_one(report):
    from riskshare.report.glossary import OUTPUT_TERMS

    docs = " ".join((ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").split())
    text = report.read_text(encoding="utf-8")
    for t in OUTPUT_TERMS:
        assert f"| **{t.name}** | {t.meaning} |" in docs, t.name
        assert f'id="g-{t.anchor}"' in text


def test_cli_report_regenerates_from_a_result_folder(result, analyses, tmp_path):
    from riskshare.cli.core import app, register_commands

    register_commands()
    folder = tmp_path / "run"
    with atomic_folder(folder) as tmp:
        write_run(result, tmp)
    runner = CliRunner()
    out = tmp_path / "board" / "report.html"
    sens = tmp_path / "sens"
    sens.mkdir()
    analyses[0].to_csv(sens / "tornado.csv", index=False)
    res = runner.invoke(
        app, ["report", str(folder), "--out", str(out), "--excel", "--sensitivity", str(sens)]
    )
    assert res.exit_code == 0, res.output
    assert out.is_file() and (out.parent / "results.xlsx").is_file()
    parsed = _parse(out)
    p95 = next(
        c
        for c in parsed.cells
        if c["data-partner"] == "council" and c["data-measure"] == "p95" and "data-year" not in c
    )
    assert float(p95["data-value"]) == result.summary().loc["council", "p95"]
    assert 'id="sensitivity"' in out.read_text(encoding="utf-8")
    res = runner.invoke(app, ["report", str(folder)])
    assert res.exit_code == 0 and (folder / "report.html").is_file()
    bad = tmp_path / "stress.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    res = runner.invoke(app, ["report", str(folder), "--stress", str(bad)])
    assert res.exit_code == 2 and str(bad) in res.output and "missing column" in res.output


def test_cli_report_errors(tmp_path):
    from riskshare.cli.core import app, register_commands

    register_commands()
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "not a result folder" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "config.json" in res.output


def test_pdf_without_playwright_is_one_message_and_no_folder(tmp_path, monkeypatch):
    import sys

    from riskshare.cli.core import app, register_commands

    register_commands()
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # as if not installed
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(ROOT / "configs" / "section75_example.yaml"),
            "-n",
            "1000",
            "-q",
            "--out",
            str(out),
            "--pdf",
        ],
    )
    assert res.exit_code == 2
    assert "pip install 'riskshare[pdf]'" in res.output and "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.iterdir())  # no partial output folder


def test_top_slice_is_what_fits_under_the_reserve_cap():
    from riskshare.report.budget import budget_years

    model = rs.load_config(
        ROOT / "configs" / "section75_example.yaml", ["agreement.reserve.cap=300000"]
    )
    result = rs.simulate(model, n_sims=2000, seed=3)
    first = budget_years(result)[0]
    assert first.top_slice == 300_000  # 2 % would be £499k; only £300k fits under the cap
    assert first.budget == pytest.approx(first.contributions - 300_000)
    se = result.outcomes.variance[:, 0].std(ddof=1) / math.sqrt(result.n_sims)
    assert abs(first.expected_gap - first.mean_overspend) < 4 * se


def test_budget_table_counts_the_reserves_of_the_schedules(tmp_path):
    """With schedules the reserve lives in a schedule, not at the top of the agreement.

    configs/schedules_exit_example.yaml: only the learning disability schedule keeps
    a reserve, a 2 % top-slice in the first year (cap £1m, opening £0) of its
    contributions, county 0.73 x 8,185,000 + icb 0.565 x 10,585,000 = 5,975,050 +
    5,980,525 = 11,955,575: top-slice 239,111.5, all of the first year's reserve.
    The table used to read the agreement's (absent) top-level reserve: £0 everywhere.
    """
    from riskshare.report.budget import budget_years

    model = rs.load_config(ROOT / "configs" / "schedules_exit_example.yaml")
    result = rs.simulate(model, n_sims=500, seed=3)
    years = budget_years(result)
    assert years[0].top_slice == pytest.approx(0.02 * 11_955_575)
    assert years[0].reserve_start == pytest.approx(years[0].top_slice)
    assert all(y.top_slice == 0 for y in years[1:])  # top_slice_years: first
    reserve_mean = result.pool_by_year(basis="nominal")["reserve_mean"]
    assert reserve_mean.iloc[0] > 0
    assert years[1].reserve_start == pytest.approx(reserve_mean.iloc[0])
    text = " ".join(write_html(result, tmp_path / "r.html").read_text(encoding="utf-8").split())
    assert "with no reserve" not in text and "reserves hold £" in text


def test_agreement_words_say_the_notice_in_words():
    """'after 1 year's notice', not 'after 1 year(s) notice'; each schedule its own reserve."""
    from riskshare.report.html import describe_agreement

    model = rs.load_config(ROOT / "configs" / "schedules_exit_example.yaml")
    lines = describe_agreement(model)
    assert "top-slice of 2.0% of contributions" in lines[0] and "No risk reserve" not in lines[0]
    assert "after 1 year's notice" in lines[-1] and "year(s)" not in lines[-1]


def test_first_screen_says_what_leaving_costs(result, report, tmp_path):
    """With exit costs, the headline box says each partner's expected exit cost.

    The same rounded figure as the exit section's table (its 'Expected (mean)' cell),
    so that the first screen answers what leaving costs; no line without an exit clause.
    """
    from riskshare.report.html import breakdown_context

    model = rs.load_config(ROOT / "configs" / "schedules_exit_example.yaml")
    exits = rs.simulate(model, n_sims=500, seed=3)
    text = write_html(exits, tmp_path / "exit.html").read_text(encoding="utf-8")
    head = text[text.index('id="headline"') : text.index('id="key-figures"')]
    line = head[head.index('id="headline-exit"') :]
    for row in breakdown_context(exits)["exit_costs"]["rows"]:
        if row["partner"] != "pool":
            assert f"{row['label']} {row['cells'][1]['text']}" in line
    assert 'href="#exit-costs"' in line
    assert 'id="headline-exit"' not in report.read_text(encoding="utf-8")


def test_every_result_column_is_in_the_glossary(result):
    from riskshare.analysis.comparison import COMPARE_METRICS

    docs = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    table = docs[docs.index("### Columns of the result files") :]
    listed = set(re.findall(r"`([A-Za-z0-9_]+)`", table))
    columns = [
        *result.summary().columns,
        *result.by_year().columns,
        *result.pool_by_year().columns,
        *result.exits().columns,
        *COMPARE_METRICS,
    ]
    for col in columns:
        generic = re.sub(r"^p\d+_(lo|hi)$", "pX_lo", col)
        assert col in listed or generic in listed, col


def test_too_few_simulations_for_an_interval_report_says_unbounded(tmp_path):
    """With 50 simulations the P95's upper 95% bound lies past the largest draw: shown as ∞."""
    model = rs.load_config(Path(__file__).parents[2] / "configs" / "section75_example.yaml")
    small = rs.simulate(model, n_sims=50, seed=3)
    assert math.isinf(small.summary()["p95_hi"].iloc[0])
    text = write_html(small, tmp_path / "report.html").read_text(encoding="utf-8")
    assert " to ∞" in text
    assert money_short(math.inf) == "∞" and money_short(-math.inf) == "−∞"


def test_group_table_says_a_group_is_split_per_case() -> None:
    """A case-split group's row names its agreed splits (commissioners: the expected split)."""
    from riskshare.report.html import describe_groups

    model = rs.load_config(ROOT / "configs" / "presets" / "s117_aftercare.yaml")
    rows = {r["id"]: r for r in describe_groups(model)}
    assert rows["s117_aftercare"]["commissioners"] == "Council 45%, Integrated Care Board 55%"
    assert "25% of cases Council 30%/Integrated Care Board 70%" in rows["s117_aftercare"]["spend"]
    assert "Dirichlet, concentration 4" in rows["joint_packages"]["spend"]
    assert "case" not in rows["community_mental_health"]["spend"]
