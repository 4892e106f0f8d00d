"""Quantile confidence intervals and running until precise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import riskshare as rs
from riskshare.analysis.precision import precision_table, quantile_ci, simulate_until
from riskshare.errors import FewSimulationsWarning


def test_quantile_ci_small_exact_case():
    x = np.arange(1, 1001, dtype=float)
    est, lo, hi = quantile_ci(x, 0.5)
    assert est == pytest.approx(500.5)
    assert (float(lo), float(hi)) == (469.0, 532.0)
    # Order statistics: P(469 <= B <= 531) >= 0.95 for B ~ Binomial(1000, 0.5).
    assert stats.binom.cdf(531, 1000, 0.5) - stats.binom.cdf(468, 1000, 0.5) >= 0.95


def test_quantile_ci_columns_and_tiny_samples():
    x = np.random.default_rng(0).normal(size=(500, 3))
    est, lo, hi = quantile_ci(x, 0.95)
    assert est.shape == lo.shape == hi.shape == (3,)
    assert np.all(lo <= est) and np.all(est <= hi)
    _, lo, hi = quantile_ci(np.arange(5.0), 0.95)
    assert np.isinf(hi)


@pytest.mark.parametrize(("dist", "q"), [("normal", 0.95), ("lognormal", 0.95), ("normal", 0.5)])
def test_quantile_ci_covers_at_nominal_rate(dist, q):
    rng = np.random.default_rng(12345)
    reps, n = 400, 400
    if dist == "normal":
        x = rng.normal(size=(n, reps))
        true = stats.norm.ppf(q)
    else:
        x = rng.lognormal(0.0, 1.0, size=(n, reps))
        true = stats.lognorm.ppf(q, 1.0)
    _, lo, hi = quantile_ci(x, q, level=0.95)
    coverage = np.mean((lo <= true) & (true <= hi))
    # At least nominal (conservative by discreteness); 3 binomial SDs below 0.95 allowed.
    tol = 3 * np.sqrt(0.95 * 0.05 / reps)
    assert 0.95 - tol <= coverage <= 1.0


def _model():
    return rs.load_config("configs/section75_example.yaml")


def test_precision_table_columns():
    result = rs.simulate(_model(), n_sims=4000, seed=3)
    table = precision_table(result)
    assert list(table.index) == ["council", "icb", "pool"]
    summary = result.summary()
    assert np.allclose(table["p95"], summary["p95"])
    assert np.allclose(table["mean_se"], summary["mean_se"])
    assert np.all(table["p95_low"] <= table["p95"]) and np.all(table["p95"] <= table["p95_high"])


def test_simulate_until_meets_target_and_matches_plain_run():
    model = _model()
    res = simulate_until(model, rel_error=0.01, seed=5, start=1 << 14, block_size=1 << 14)
    assert res.converged
    assert np.all(res.precision.drop(index="pool")["p95_rel_half_width"] <= 0.01)
    plain = rs.simulate(model, res.n_sims, 5, block_size=1 << 14)
    assert np.array_equal(plain.net, res.result.net)


def test_simulate_until_stops_at_max_sims_with_warning():
    with pytest.warns(FewSimulationsWarning, match="max_sims"):
        res = simulate_until(
            _model(), abs_error=1.0, seed=5, start=2048, max_sims=4096, block_size=2048
        )
    assert not res.converged
    assert res.n_sims == 4096


def test_simulate_until_needs_a_target():
    with pytest.raises(ValueError):
        simulate_until(_model())
