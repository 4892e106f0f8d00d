"""Risk measures: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from riskshare.metrics import describe, exceedance_probability, tvar


def test_tvar_is_mean_of_worst_ceil_tail() -> None:
    x = np.arange(1.0, 101.0)  # 1..100
    assert tvar(x, 0.95) == pytest.approx(np.mean([96, 97, 98, 99, 100]))
    assert tvar(x, 0.99) == 100.0
    # ceil: 101 values, 5 % tail -> 6 values
    y = np.arange(101.0)
    assert tvar(y, 0.95) == pytest.approx(np.mean(np.arange(95.0, 101.0)))
    # columns are independent
    both = tvar(np.column_stack([x, -x]), 0.95)
    assert both == pytest.approx([98.0, -3.0])


def test_describe_by_hand() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 6.0])
    d = describe(x, thresholds=[1.5])
    assert d["mean"] == pytest.approx(1.0)
    assert d["sd"] == pytest.approx(np.std(x, ddof=1))
    assert d["mean_se"] == pytest.approx(np.std(x, ddof=1) / np.sqrt(6))
    assert d["p50"] == pytest.approx(0.5)
    assert d["p95"] == pytest.approx(np.quantile(x, 0.95))
    assert d["prob_pays"] == pytest.approx(3 / 6)
    assert d["prob_pays_se"] == pytest.approx(np.sqrt(0.25 / 6))
    assert d["prob_exceeds"] == pytest.approx(2 / 6)
    assert d["tvar95"] == 6.0


def test_exceedance_probability_standard_error() -> None:
    p, se = exceedance_probability(np.array([0.0, 1.0, 2.0, 3.0]), 1.5)
    assert p == 0.5 and se == pytest.approx(0.25)
