"""Tornado and Sobol sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskshare as rs
from riskshare.analysis.sensitivity import (
    default_assumptions,
    sobol_indices,
    tornado,
)
from riskshare.config.load import validate_data
from riskshare.report.plots import tornado as tornado_chart

OWN = {
    "name": "own key",
    "partners": [{"id": "a"}, {"id": "b"}],
    "client_groups": [
        {
            "id": "ga",
            "commissioners": "a",
            "spend": {"model": "aggregate", "mean": 1e6, "cv": 0.1, "growth": 0.03},
        },
        {
            "id": "gb",
            "commissioners": "b",
            "spend": {
                "model": "clients",
                "clients": {"mean": 100, "growth": 0.02},
                "cost": {"mean": 10000, "cv": 0.5, "inflation": {"mean": 0.03, "sd": 0.01}},
            },
        },
        {
            "id": "gf",
            "commissioners": "b",
            "spend": {"model": "fixed", "amount": 5e5, "growth": 0.02},
        },
    ],
    "contributions": {
        "a": {"kind": "uplift", "base": 1e6, "uplift": 0.02},
        "b": {"kind": "uplift", "base": 1.5e6, "uplift": 0.02},
    },
    # Partner a bears every pound of variance: b's exposure depends on no spend assumption.
    "agreement": {"overspend": {"key": {"a": 1.0}}, "underspend": {"key": {"a": 1.0}}},
    "simulation": {"years": 3, "seed": 1},
}


def test_default_assumptions_cover_growth_inflation_cv():
    m = rs.load_config("configs/section75_example.yaml")
    a = default_assumptions(m)
    assert a["client_groups[0].spend.cost.inflation"] == pytest.approx((0.0275, 0.0825))
    assert "client_groups[1].spend.cv" in a and len(a) == 10


def test_assumption_without_effect_has_exactly_zero_effect():
    model = validate_data(OWN)
    paths = {
        "client_groups[1].spend.cost.cv": (0.2, 1.0),
        "client_groups[1].spend.cost.inflation": (0.0, 0.06),
        "client_groups[2].spend.growth": (0.0, 0.05),
        "client_groups[0].spend.cv": (0.05, 0.2),
    }
    table = tornado(model, paths, n_sims=2000, seed=4)
    b = table[table["partner"] == "b"]
    assert (b[["change_low", "change_high", "swing"]] == 0).all().all()
    a = table[table["partner"] == "a"].set_index(["assumption", "measure"])
    assert a.loc[("client_groups[1].spend.cost.inflation", "mean"), "swing"] > 0
    assert a.loc[("client_groups[0].spend.cv", "p95"), "swing"] > 0
    # The fixed group's growth has an exact, hand-computable effect on a's mean.
    fixed = 5e5 * ((1.05 ** np.arange(3)).sum() - 3.0)
    r = a.loc[("client_groups[2].spend.growth", "mean")]
    assert r["at_high"] - r["at_low"] == pytest.approx(fixed, rel=1e-9)


def test_own_key_other_partners_group_has_zero_effect():
    data = {**OWN, "agreement": {"arrangement": "aligned"}}
    model = validate_data(data)
    table = tornado(
        model,
        {
            "client_groups[1].spend.cost.cv": (0.2, 1.0),
            "client_groups[1].spend.cost.inflation": (0.0, 0.06),
        },
        n_sims=2000,
        seed=4,
    )
    a = table[table["partner"] == "a"]
    assert (a[["change_low", "change_high", "swing"]] == 0).all().all()
    b = table[table["partner"] == "b"]
    assert (b["swing"] > 0).any()


def test_tornado_sorted_and_figure():
    m = rs.load_config("configs/section75_example.yaml")
    spec = {
        "client_groups[0].spend.cost.inflation": [0.04, 0.07],
        "client_groups[1].spend.cv": {"relative": 0.5},
        "client_groups[3].spend.clients.growth": {"absolute": 0.01},
    }
    t = tornado(m, spec, n_sims=2000, seed=1)
    assert set(t["partner"]) == {"council", "icb", "pool"}
    sub = t[(t["partner"] == "council") & (t["measure"] == "mean")]
    assert list(sub["swing"]) == sorted(sub["swing"], reverse=True)
    assert sub.iloc[0]["assumption"] == "client_groups[0].spend.cost.inflation"
    fig = tornado_chart(t, measure="p95")
    assert len(fig.axes) == 2


def test_sobol_linear_function_matches_analytic():
    # y = sum c_i x_i, x_i ~ U(0, 1): S1_i = ST_i = c_i^2 / sum c^2.
    c = np.array([1.0, 2.0, 3.0])
    t = sobol_indices(lambda X: X @ c, {"x1": (0, 1), "x2": (0, 1), "x3": (0, 1)}, n_base=2048)
    expected = c**2 / (c**2).sum()
    assert np.allclose(t["S1"].to_numpy(), expected, atol=0.03)
    assert np.allclose(t["ST"].to_numpy(), expected, atol=0.03)


def test_sobol_ishigami_matches_analytic():
    a, b = 7.0, 0.1

    def ishigami(X):
        return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])

    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    t = sobol_indices(
        ishigami, {"x1": (-pi, pi), "x2": (-pi, pi), "x3": (-pi, pi)}, n_base=4096, outputs=["y"]
    )
    assert np.allclose(t["S1"], [v1 / v, v2 / v, 0.0], atol=0.03)
    assert np.allclose(t["ST"], [(v1 + v13) / v, v2 / v, v13 / v], atol=0.03)
    assert isinstance(t.index, pd.MultiIndex)


@pytest.mark.slow
def test_sobol_on_model_zero_for_irrelevant_input():
    from riskshare.analysis.sensitivity import sobol

    model = validate_data(OWN)
    t = sobol(
        model,
        {
            "client_groups[0].spend.growth": (0.0, 0.06),
            "client_groups[1].spend.cost.cv": (0.2, 1.0),
        },
        n_base=16,
        n_sims=1024,
        seed=3,
    )
    # b's exposure depends on neither; a's mean depends on ga's growth, not on gb's cv
    # (a cv changes the spread, not the mean, up to Monte Carlo noise on common numbers).
    assert t.loc[("a", "client_groups[0].spend.growth"), "ST"] > 0.9
    assert t.loc[("a", "client_groups[1].spend.cost.cv"), "ST"] < 0.05
