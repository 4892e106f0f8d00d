"""explore(): re-settling on drawn paths (no resampling) gives the same numbers as simulate()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import riskshare as rs
from riskshare.errors import ConfigError
from riskshare.report.explorer import explore

ROOT = Path(__file__).resolve().parents[2]
N, SEED = 3000, 3


@pytest.fixture(scope="module")
def model():
    return rs.load_config(ROOT / "configs" / "section75_example.yaml")


@pytest.fixture(scope="module")
def paths(model):
    return rs.sample(model, n_sims=N, seed=SEED)


def test_unchanged_agreement_matches_simulate(model, paths):
    table, fig = explore(model, paths)
    assert isinstance(fig, Figure)
    want = rs.simulate(model, n_sims=N, seed=SEED).summary()
    pd.testing.assert_frame_equal(table, want, check_exact=False, rtol=1e-12)


def test_contribution_scale_matches_simulate_with_contributions(model, paths):
    table, _ = explore(model, paths, contributions={"council": 1.05})
    sched = model.contribution_schedule().copy()
    sched[:, 0] *= 1.05
    want = rs.simulate(model, n_sims=N, seed=SEED, contributions=sched).summary()
    pd.testing.assert_frame_equal(table, want, check_exact=False, rtol=1e-12)
    base, _ = explore(model, paths)
    assert table.loc["council", "mean"] < base.loc["council", "mean"]


def test_agreement_changes_are_validated_and_applied(model, paths):
    base, _ = explore(model, paths)
    more, _ = explore(model, paths, agreement_changes={"reserve.opening": 2_000_000})
    # A larger opening reserve (returned at the end) lowers what the pool pays in net.
    assert more.loc["pool", "mean"] < base.loc["pool", "mean"]
    wider, _ = explore(model, paths, agreement_changes={"overspend.bands[0].upto": 0.04})
    assert wider.loc["council", "mean"] > base.loc["council", "mean"]  # host bears more
    with pytest.raises(ConfigError, match="opening"):
        explore(model, paths, agreement_changes={"reserve.opening": -1})


def test_contribution_arguments(model, paths):
    sched = model.contribution_schedule()
    a, _ = explore(model, paths, contributions=sched)
    b, _ = explore(model, paths, contributions={"icb": sched[:, 1]})
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="unknown partner"):
        explore(model, paths, contributions={"nobody": 1.1})
    with pytest.raises(ValueError, match="scale factor"):
        explore(model, paths, contributions={"icb": [1.0, 2.0]})


def test_result_from_a_ledger_feeds_charts(model, paths):
    result = rs.Result.from_ledger(model, rs.settle(model, paths))
    assert result.n_sims == N
    assert np.allclose(result.net, rs.settle(model, paths).net_total())


def test_explore_widgets_builds_sliders(model):
    w = pytest.importorskip("ipywidgets")
    from riskshare.report.explorer import explore_widgets

    box = explore_widgets(model, n_sims=1000, seed=1)
    assert isinstance(box, w.VBox)
    sliders = [c for c in box.children if isinstance(c, w.FloatSlider)]
    # one per partner, the reserve's opening balance, the first band
    assert len(sliders) == len(model.partners) + 2
    sliders[0].value = 1.05  # triggers a re-settle; must not raise
