"""Risk measures: hand-computed values."""

from __future__ import annotations

import math

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


def test_quantile_ci_ranks_are_the_binomial_ones() -> None:
    from scipy import stats

    from riskshare.metrics import quantile_ci_ranks

    for n in (1, 5, 19, 20, 100, 1000, 12_345, 1_000_000):
        for q in (0.05, 0.5, 0.95, 0.99):
            lo = int(stats.binom.ppf(0.025, n, q))
            hi = int(stats.binom.ppf(0.975, n, q)) + 1
            assert quantile_ci_ranks(n, q) == (max(lo, 0), hi), (n, q)


def test_describe_gives_each_quantile_its_order_statistic_interval() -> None:
    from riskshare.metrics import quantile_ci_ranks

    x = np.random.default_rng(3).lognormal(size=(5000, 2))
    d = describe(x)
    s = np.sort(x, axis=0)
    for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        lo, hi = quantile_ci_ranks(5000, q)
        np.testing.assert_array_equal(d[f"{name}_lo"], s[lo - 1])
        np.testing.assert_array_equal(d[f"{name}_hi"], s[hi - 1])
        assert np.all(d[f"{name}_lo"] <= d[name]) and np.all(d[name] <= d[f"{name}_hi"])
    tiny = describe(np.arange(5.0))
    assert tiny["p99_hi"] == np.inf  # too few simulations for an upper end


@pytest.mark.parametrize("layout", ["sims_first", "sims_last"])
def test_describe_equals_numpy_to_the_bit(layout: str) -> None:
    # Large enough to be done row by row on threads, with ties (a mass at 0, as
    # an agreement's yearly net has); stored either way round.
    rng = np.random.default_rng(11)
    n = 400_003
    base = rng.lognormal(10.0, 1.0, size=(3, n)) - 20_000.0
    base[1, base[1] < 0] = 0.0
    x = base.T if layout == "sims_last" else np.ascontiguousarray(base.T)
    d = describe(x, thresholds=[1e4, 0.0, np.nan])
    # Each column alone, as a vector (numpy sums a strided axis in another order).
    columns = [np.ascontiguousarray(c) for c in x.T]
    np.testing.assert_array_equal(d["mean"], [c.mean() for c in columns])
    np.testing.assert_array_equal(d["sd"], [c.std(ddof=1) for c in columns])
    for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        np.testing.assert_array_equal(d[name], np.quantile(x, q, axis=0))
    for level in (0.95, 0.99):
        # Canonical: the values above the threshold in simulation order, plus the
        # threshold for the places left (no dependence on a partition's arrangement).
        k = math.ceil(round((1 - level) * n, 9))
        expected = []
        for c in columns:
            threshold = np.sort(c)[n - k]
            above = c[c > threshold]
            expected.append((np.add.reduce(above) + (k - above.size) * threshold) / k)
        np.testing.assert_array_equal(d[f"tvar{round(level * 100)}"], expected)
        np.testing.assert_array_equal(d[f"tvar{round(level * 100)}"], tvar(x, level))
    np.testing.assert_array_equal(d["prob_pays"], np.mean(x > 0, axis=0))
    np.testing.assert_array_equal(d["prob_exceeds"], np.mean(x > [1e4, 0.0, np.nan], axis=0))


def test_quantiles_equal_numpy_to_the_bit() -> None:
    from riskshare.metrics import quantiles

    x = np.random.default_rng(5).normal(size=(300_001, 4))
    x[x < -0.5] = -0.5  # a tie at the bottom
    got = quantiles(x, {"p5": 0.05, "p50": 0.5, "p95": 0.95, "max": 1.0})
    for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("max", 1.0)):
        np.testing.assert_array_equal(got[name], np.quantile(x, q, axis=0))


def test_describe_total_is_the_sum_column_described() -> None:
    # (sims, years, partners), stored partners-and-years first as simulate keeps it.
    rng = np.random.default_rng(2)
    x = np.moveaxis(rng.normal(size=(3, 4, 250_001)), -1, 0)
    with_total = describe(x, total=True, thresholds=0.5)
    explicit = describe(np.concatenate([x, x.sum(axis=2, keepdims=True)], axis=2), thresholds=0.5)
    assert with_total.keys() == explicit.keys()
    for key, value in explicit.items():
        assert np.shape(with_total[key]) == (3, 5)
        np.testing.assert_array_equal(with_total[key], value, err_msg=key)
