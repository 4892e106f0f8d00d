"""Stress scenarios on common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

import riskshare as rs
from riskshare.analysis.scenarios import apply_changes, stress
from riskshare.config.model import Uncertain
from riskshare.errors import ConfigError, InputError


def _model():
    return rs.load_config("configs/section75_example.yaml")


def test_apply_changes_forms():
    m = _model()
    m2 = apply_changes(
        m,
        {
            "client_groups[0].spend.cost.inflation": {"add": 0.03},
            "client_groups[1].spend.growth": {"multiply": 2},
            "agreement.reserve.top_slice": 0.0,
            "add_step_change": [{"group": "mental_health", "year": 2, "factor": 1.1}],
        },
    )
    assert m2.client_groups[0].spend.cost.inflation == pytest.approx(0.085)
    assert m2.client_groups[1].spend.growth == pytest.approx(0.1)
    assert m2.agreement.reserve.top_slice == 0.0
    assert m2.client_groups[1].step_changes[-1].factor == 1.1
    # An uncertain rate moves by its mean and keeps its sd.
    u = apply_changes(m, {"client_groups[0].spend.cost.inflation": {"mean": 0.05, "sd": 0.01}})
    u2 = apply_changes(u, {"client_groups[0].spend.cost.inflation": {"add": 0.01}})
    infl = u2.client_groups[0].spend.cost.inflation
    assert isinstance(infl, Uncertain)
    assert (infl.mean, infl.sd) == (pytest.approx(0.06), 0.01)


def test_apply_changes_errors():
    m = _model()
    with pytest.raises(InputError, match="does not exist"):
        apply_changes(m, {"client_groups[9].spend.cv": 0.1})
    with pytest.raises(InputError, match="unknown client group"):
        apply_changes(m, {"add_step_change": {"group": "nope", "year": 1, "factor": 1.1}})
    with pytest.raises(ConfigError):
        apply_changes(m, {"client_groups[1].spend.cv": -1})


def test_stress_paired_against_base():
    m = _model()
    scen = {
        "demand +10% from year 3": {
            "add_step_change": {"group": "learning_disability", "year": 2, "factor": 1.1}
        },
        "nothing": {},
    }
    t = stress(m, scen, n_sims=3000, seed=2)
    assert list(t.index.get_level_values(0).unique()) == ["base", *scen]
    base = rs.simulate(m, 3000, 2)
    assert np.allclose(t.loc["base", "mean"].drop("pool"), base.net.mean(axis=0))
    # An empty scenario is the base exactly (common random numbers).
    assert np.all(t.loc["nothing", "diff_mean"] == 0)
    d = t.loc["demand +10% from year 3"]
    assert np.all(d["diff_mean"] > 10 * d["diff_mean_se"])
    # Expected extra spend of LD years 2-4 (contributions held): pool mean rises by it.
    extra = 0.1 * m.expected_spend()[2:, 0].sum()
    assert d.loc["pool", "diff_mean"] == pytest.approx(extra, rel=0.05)
