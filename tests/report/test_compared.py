"""The comparison report: its first section is the rules side by side, equal to compare()."""

from __future__ import annotations

import html.parser
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import riskshare as rs
from riskshare.analysis.comparison import compare
from riskshare.report.compared import reading, write_comparison_html

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = {
    "Proportional": ROOT / "configs" / "agreements" / "proportional.yaml",
    "Host first": ROOT / "configs" / "agreements" / "host_first.yaml",
}


@pytest.fixture(scope="module")
def model():
    return rs.load_config(ROOT / "configs" / "section75_example.yaml")


@pytest.fixture(scope="module")
def comparison(model):
    return compare(model, AGREEMENTS, n_sims=2000, seed=5)


class _Page(html.parser.HTMLParser):
    """Sections in order, and the cells of the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.cells: list[dict[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "td" and "data-measure" in a and self.sections == ["comparison"]:
            self.cells.append(a)

    def handle_data(self, data):
        self.text.append(data)


def test_first_section_is_the_comparison_equal_to_compare(model, comparison, tmp_path):
    path = write_comparison_html(comparison, model, tmp_path / "report.html")
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert page.sections[0] == "comparison"
    assert page.sections[1] == "reading"
    t = comparison.table
    seen = set()
    for cell in page.cells:
        rule, pid, measure = cell["data-rule"], cell["data-partner"], cell["data-measure"]
        want = float(t.loc[(rule, pid), measure])
        got = float(cell["data-value"])
        assert got == want or (math.isnan(got) and math.isnan(want)), (rule, pid, measure)
        if measure.endswith("_diff"):
            se = float(t.loc[(rule, pid), f"{measure}_se"])
            assert float(cell["data-se"]) == se or math.isnan(se)
        seen.add((rule, pid, measure))
    rules = list(comparison.outcomes)
    for m in ("mean", "p95", "tvar95", "prob_exceeds"):
        for pid in (*model.partner_ids, "pool"):
            for rule in rules:
                assert (rule, pid, m) in seen and (rule, pid, f"{m}_diff") in seen
    text = " ".join(" ".join(page.text).split())
    assert f"baseline: {comparison.baseline}" not in text  # the chart names it, as a picture
    assert f"against the baseline ({comparison.baseline})" in text
    assert "Council" in text and "council" not in text.replace("council host", "")


def test_reading_names_who_gains_and_who_loses(model, comparison):
    lines = reading(comparison, model)
    assert len(lines) == 2
    t = comparison.table
    prop = lines[0]
    assert prop.startswith("Under Proportional, against the baseline")
    # Under proportional sharing the council (the host, first to pay under the corridor) gains
    # and the ICB loses the same amount: the partners together pay the same.
    assert t.loc[("Proportional", "council"), "mean_diff"] < 0
    assert "Council pays" in prop and "less on average" in prop
    assert "Integrated Care Board pays" in prop and "more" in prop
    assert "Together the partners pay the same" in prop


def test_compare_cli_writes_the_comparison_report(tmp_path):
    from riskshare.cli.core import app, register_commands

    register_commands()
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            str(ROOT / "configs" / "section75_example.yaml"),
            "-a",
            str(AGREEMENTS["Proportional"]),
            "-n",
            "2000",
            "--seed",
            "5",
            "--out",
            str(out),
            "--report",
        ],
    )
    assert res.exit_code == 0, res.output
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    assert page.sections[0] == "comparison"
