"""Three to six partners everywhere: keys, every preset and example config, the outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

import riskshare as rs
from riskshare.config.load import read_config_data, validate_data
from riskshare.report import plots
from riskshare.rules.keys import KeyContext, key_weights

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    str(p.relative_to(ROOT / "configs"))
    for p in (ROOT / "configs").rglob("*.yaml")
    if "client_groups:" in p.read_text(encoding="utf-8")
)
EXTRA = ["north", "south", "east", "west"]


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_every_key_sums_to_one_over_n_partners(n: int) -> None:
    pids = [f"p{i}" for i in range(n)]
    rng = np.random.default_rng(n)
    c = rng.uniform(1.0, 10.0, n)
    comm = rng.dirichlet(np.ones(n), size=3)  # 3 groups, rows sum to 1
    spend = rng.uniform(1.0, 5.0, (3, 7))  # (groups, sims)
    ctx = KeyContext(pids, n - 1, c, 2 * c, spend, comm)
    fixed = dict(zip(pids, rng.dirichlet(np.ones(n)), strict=True))
    for key in ("proportional", "host", "commissioners", fixed):
        w = key_weights(key, ctx)
        assert w.shape[0] == n
        np.testing.assert_allclose(w.sum(axis=0), 1.0)
    np.testing.assert_allclose(key_weights("proportional", ctx).ravel(), c / c.sum())
    assert key_weights("host", ctx).ravel().tolist() == [0.0] * (n - 1) + [1.0]
    expected = comm.T @ spend / spend.sum(axis=0)  # (partners, sims)
    np.testing.assert_allclose(key_weights("commissioners", ctx), expected)


def with_partners(data: dict[str, Any], n: int) -> dict[str, Any]:
    """``data`` with partners added up to ``n``: each contributes to and commissions a group."""
    data = json.loads(json.dumps(data))
    budget = data["client_groups"][0]["spend"]
    for pid in EXTRA[: n - len(data["partners"])]:
        data["partners"].append({"id": pid, "name": f"{pid.title()} district council"})
        data["client_groups"].append(
            {
                "id": f"{pid}_housing",
                "commissioners": pid,
                "spend": {"model": "aggregate", "mean": 1.5e6, "cv": 0.1, "growth": 0.04}
                if budget.get("model") != "fixed"
                else {"model": "fixed", "amount": 1.5e6},
            }
        )
        data["contributions"][pid] = {"kind": "uplift", "base": 1.4e6, "uplift": 0.03}
        agreement = data.get("agreement", {})
        schedules = agreement.get("schedules") or [agreement]
        first = schedules[0]  # the new group joins the first schedule, funded by its partner
        if "schedules" in agreement:
            first["groups"].append(f"{pid}_housing")
        for k, sched in enumerate(schedules):
            if "funding" in sched:
                sched["funding"][pid] = 1.0 if k == 0 else 0.0
        budgets = first.get("group_budgets")
        if isinstance(budgets, dict):
            budgets[f"{pid}_housing"] = [1.5e6] * data["simulation"]["years"]
    return data


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_settles_and_balances_with_up_to_six_partners(config: str) -> None:
    data, _ = read_config_data(ROOT / "configs" / config)
    for n in sorted({max(3, len(data["partners"]) + 1), 6}):
        model = validate_data(with_partners(data, n), source=config)
        assert len(model.partners) == n
        result = rs.simulate(model, n_sims=300, seed=5)  # the ledger balance is checked
        summary = result.summary()
        assert list(summary.index)[:n] == model.partner_ids
        net = result.net
        assert net.shape == (300, n) and np.all(np.isfinite(net))
        np.testing.assert_allclose(
            summary.loc["pool", "mean"], net.sum(axis=1).mean(), rtol=1e-9, atol=1e-3
        )


@pytest.fixture(scope="module")
def six_partner_result() -> rs.Result:
    data, _ = read_config_data(ROOT / "configs" / "four_partners.yaml")
    return rs.simulate(validate_data(with_partners(data, 6)), n_sims=2000, seed=3)


@pytest.mark.parametrize("kind", ["distribution", "exceedance"])
def test_charts_keep_a_legend_entry_per_partner_clear_of_the_data(six_partner_result, kind):
    fig = getattr(plots.PlotAccessor(six_partner_result), kind)()
    legends = fig.legends or [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    texts = [t.get_text() for t in legends[0].get_texts()]
    for p in six_partner_result.model.partners:
        assert p.label in texts
    fig.draw_without_rendering()  # runs the constrained layout
    box = legends[0].get_window_extent()
    axes_box = fig.axes[0].get_window_extent()
    assert box.y1 <= axes_box.y0, "a long legend sits below the plot, not over it"


def test_report_and_workbook_name_every_partner(six_partner_result, tmp_path: Path) -> None:
    from riskshare.report import write_excel, write_html

    write_html(six_partner_result, tmp_path / "report.html")
    write_excel(six_partner_result, tmp_path / "results.xlsx")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    xlsx = tmp_path / "results.xlsx"
    sheet = openpyxl.load_workbook(xlsx)["Summary"]
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    for p in six_partner_result.model.partners:
        assert p.label in html
        assert p.id in cells or p.label in cells


def test_four_partner_example_runs_every_output_from_the_command_line(tmp_path: Path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    cfg = "configs/four_partners.yaml"
    partners = ["county", "icb", "trust", "district"]

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run = tmp_path / "run"
    invoke("run", cfg, "-n", "2000", "--out", str(run), "--report", "--excel", "--quiet")
    summary = pd.read_csv(run / "summary.csv", encoding="utf-8-sig")
    assert list(summary["partner"]) == [*partners, "pool"]
    assert {"report.html", "results.xlsx"} <= {p.name for p in run.iterdir()}

    cmp = tmp_path / "cmp"
    agreements = [f"configs/agreements/{a}.yaml" for a in ("aligned", "host_first", "proportional")]
    invoke(
        "compare", cfg, "-n", "1000", "--out", str(cmp), "--report", "--excel", "-a", *agreements
    )
    table = pd.read_csv(cmp / "comparison.csv", encoding="utf-8-sig")
    assert set(partners) <= set(table["partner"])

    sweep = tmp_path / "sweep"
    invoke("sweep", "configs/sweep_four_partners.yaml", "--sims", "500", "--out", str(sweep))
    frame = pd.read_csv(sweep / "sweep.csv", encoding="utf-8-sig")
    assert len(frame) == 12 and {f"{p}_mean" for p in partners} <= set(frame.columns)

    out = invoke(
        "solve",
        cfg,
        "-n",
        "2000",
        "--vary",
        "contributions.trust",
        "--target",
        "trust:p95<=1000000",
    )
    assert "Answer: Community health trust pays in £" in out and "contributions.trust = " in out


def test_bcf_national_conditions_worked_example() -> None:
    """docs/presets.md: year 0 of the BCF preset on stated spend, engine and reference."""
    from riskshare._reference import reference_settle
    from riskshare.testing import engine_ledger

    model = rs.load_config(ROOT / "configs" / "presets" / "bcf_national_conditions.yaml")
    # out of hospital +0.9m, adult social care +0.3m, discharge +0.2m, DFG -0.3m; then as budgeted
    year0 = [16.9e6, 16.3e6, 2.6e6, 2.7e6]
    budgets = np.array([model.agreement.group_budgets[g] for g in model.group_ids]).T
    spend = np.vstack([year0, budgets[1:]])
    ref = reference_settle(model, spend)
    ledger = engine_ledger(model, spend)
    council, icb, district = (model.partner_ids.index(p) for p in ("council", "icb", "district"))
    for net in (ref["net"][0], ledger.net()[0, 0]):
        # 1.4m pooled overspend: the 0.5m risk pool meets 0.5m, 0.9m shared 10.2 : 27.2 : 0;
        # the DFG's 0.3m underspend stays with the district, outside the risk-share.
        np.testing.assert_allclose(net[council], 0.9e6 * 10.2 / 37.4, atol=0.01)
        np.testing.assert_allclose(net[icb], 0.9e6 * 27.2 / 37.4, atol=0.01)
        np.testing.assert_allclose(net[district], -0.3e6, atol=0.01)
    np.testing.assert_allclose(ref["reserve_draw"][0], 0.5e6)
