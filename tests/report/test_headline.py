"""Headline sentences and the key table: hand-worked figures, rounding to the MC error."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import riskshare as rs
from riskshare.report.formats import chance, money_k, money_short, rounding_step
from riskshare.report.headline import headlines, key_table, precision_of


@pytest.fixture(scope="module")
def model():
    return rs.load_config("configs/section75_example.yaml")


def _summary(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "partner"
    return frame


def test_headline_words_and_figures(model):
    # Hand-made summary: the council pays, the ICB gets money back, the pool breaks even.
    summary = _summary(
        {
            "council": {
                "mean": 4_133_222.0,
                "mean_se": 9_000.0,
                "p95": 6_239_286.0,
                "prob_exceeds": 0.94495,
            },
            "icb": {"mean": -350_000.0, "mean_se": 8_000.0, "p95": -20_000.0, "prob_exceeds": 0.0},
            "pool": {"mean": 10_000.0, "mean_se": 17_000.0, "p95": 1.0e6, "prob_exceeds": math.nan},
        }
    )
    council, icb, pool = headlines(summary, model)
    assert council.text == (
        "Council should expect to pay about £4.1m on top of its £60.8m of contributions "
        "over the five years; 1 time in 20 the five years cost it more than £6.2m; there is "
        "a 94% chance that it pays more than its £2m risk appetite."
    )
    assert icb.text == (
        "Integrated Care Board should expect to get back about £350k of its £73.9m of "
        "contributions over the five years; 19 times in 20 it gets back at least £20k over "
        "the five years; there is a 0% chance that it pays more than its £2m risk appetite."
    )
    assert pool.text.startswith(
        "Together, the partners should expect to break about even on their £134.6m"
    )
    figs = council.figures
    assert figs["mean"].value == 4_133_222.0 and figs["p95"].value == 6_239_286.0
    assert figs["appetite"].value == model.appetite["council"]
    assert figs["contributions"].value == pytest.approx(model.contribution_schedule()[:, 0].sum())
    assert "appetite" not in pool.figures


def test_key_table_rounds_to_the_monte_carlo_error(model):
    result = rs.simulate(model, n_sims=4000, seed=3)
    summary = result.summary()
    table = key_table(summary, model)
    se = max(summary["mean_se"].max(), ((summary["p95_hi"] - summary["p95_lo"]) / 3.92).max())
    assert table.step == rounding_step(se)
    assert table.step <= se < 10 * table.step
    assert [r[0] for r in table.rows] == ["council", "icb", "pool"]
    for pid, _, cells in table.rows:
        for cell in cells:
            if cell.measure in summary.columns:
                want = float(summary.loc[pid, cell.measure])
                assert cell.value == want or (math.isnan(want) and math.isnan(cell.value))
    cell = {(c.partner, c.measure): c for _, _, cs in table.rows for c in cs}
    assert cell[("council", "mean")].text == money_k(summary.loc["council", "mean"], table.step)
    assert cell[("pool", "appetite")].text == ""
    assert table.precision.count("standard error") == 1

    assert table.headings()[-1] == "Chance above appetite"


def test_formats():
    assert money_k(4_133_222.0, 10_000) == "£4,130k"
    assert money_k(4_133_222.0, 1_000) == "£4,133k"
    assert money_k(-499.0, 1_000) == "£0k"
    assert money_short(999_600.0) == "£1m"
    assert money_short(0.4) == "£0"
    assert chance(0.005) == "<1%" and chance(0.996) == ">99%" and chance(0.5) == "50%"
    assert chance(0.9996, 1) == ">99.9%"


def test_headline_is_no_more_precise_than_the_table(model):
    summary = _summary(
        {
            "council": {
                "mean": 846_000.0,
                "mean_se": 12_000.0,
                "p95": 1_234_000.0,
                "prob_exceeds": 0.3,
            },
            "icb": {"mean": 401_000.0, "mean_se": 5_000.0, "p95": 604_000.0, "prob_exceeds": 0.1},
        }
    )
    council, icb = headlines(summary, model, pool=False)
    assert precision_of(summary).step == 10_000  # from the £12k error
    assert council.figures["mean"].text == "£850k"  # not £846k
    assert icb.figures["p95"].text == "£600k"  # not £604k
    assert council.figures["p95"].text == "£1.2m"
