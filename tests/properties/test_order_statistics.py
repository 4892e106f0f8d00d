"""Order statistics by bracketing equal a full sort; TVaR is canonical (no partition order).

:func:`riskshare.metrics._order_statistics` brackets each order statistic from
a subsample and selects among the few simulations inside; a row shorter than
``BRACKET_MIN`` is partitioned whole. To exercise the bracketing on rows
hypothesis can shrink, the tests also run with a tiny ``BRACKET_MIN``,
``SAMPLE_STRIDE`` and ``PASS_CHUNK`` (module constants read at call time).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskshare import metrics
from riskshare.metrics import describe, quantiles, tail_count, tvar

#: (BRACKET_MIN, SAMPLE_STRIDE, PASS_CHUNK): whole partitions; brackets from small rows.
LAYOUTS = {"whole": (1 << 15, 32, 1 << 16), "bracketed": (8, 3, 5)}

#: Values with many ties (a mass at 0, repeated amounts) and spread-out ones.
VALUES = st.one_of(
    st.sampled_from([0.0, 0.0, 0.0, -1.5, 2.0, 1e6]),
    st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
    st.integers(-5, 5).map(float),
)


def _canonical_tail_mean(x: np.ndarray, k: int) -> float:
    """The definition, from a full sort: values above the k-th largest, in simulation order."""
    threshold = np.sort(x)[x.size - k]
    above = x[x > threshold]
    return float((np.add.reduce(above) + (k - above.size) * threshold) / k)


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request, monkeypatch):
    smallest, stride, chunk = LAYOUTS[request.param]
    monkeypatch.setattr(metrics, "BRACKET_MIN", smallest)
    monkeypatch.setattr(metrics, "SAMPLE_STRIDE", stride)
    monkeypatch.setattr(metrics, "PASS_CHUNK", chunk)
    return request.param


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    x=st.lists(VALUES, min_size=1, max_size=400).map(np.array),
    picks=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
    levels=st.lists(st.floats(0.01, 0.99), min_size=0, max_size=2),
)
def test_order_statistics_equal_a_sort_and_tails_are_canonical(layout, x, picks, levels) -> None:
    n = x.size
    tails = sorted({n - tail_count(n, q) for q in levels})
    kth = sorted({min(int(p * n), n - 1) for p in picks} | set(tails))
    values, means = metrics._order_statistics(x, kth, tails, float(np.add.reduce(x)))
    ordered = np.sort(x)
    assert [values[k] for k in kth] == ordered[kth].tolist()  # bit for bit
    for first in tails:
        k = n - first
        assert means[first] == _canonical_tail_mean(x, k)
        # ... and it is the mean of the k largest, to rounding.
        assert means[first] == pytest.approx(ordered[first:].mean(), rel=1e-12, abs=1e-6)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(x=st.lists(VALUES, min_size=2, max_size=300).map(np.array))
def test_describe_quantiles_equal_numpy_and_tvar_is_canonical(layout, x) -> None:
    d = describe(x)
    for name, q in metrics.QUANTILES.items():
        assert d[name] == np.quantile(x, q)
    for level in (0.95, 0.99):
        expected = _canonical_tail_mean(x, tail_count(x.size, level))
        assert d[f"tvar{round(level * 100)}"] == expected == tvar(x, level)
    assert d["mean"] == x.mean() and d["sd"] == x.std(ddof=1)
    got = quantiles(x, {"min": 0.0, "p50": 0.5, "max": 1.0})
    assert [got["min"], got["p50"], got["max"]] == np.quantile(x, [0.0, 0.5, 1.0]).tolist()


def test_bracketing_large_rows_with_ties_equals_numpy() -> None:
    # Rows long enough to bracket as the command does (1 in 32 simulations),
    # with a mass at 0 across the median, constant, sorted and reversed rows.
    rng = np.random.default_rng(3)
    n = 200_003
    atom = np.where(rng.random(n) < 0.55, 0.0, rng.lognormal(0.0, 1.0, n) - 1.0)
    rows = [rng.standard_normal(n), atom, np.full(n, 2.5), np.sort(atom), np.sort(atom)[::-1]]
    tails = [n - tail_count(n, 0.95), n - tail_count(n, 0.99)]
    kth = sorted({0, 17, n // 20, n // 2, n // 2 + 1, n - 1, *tails})
    for row in rows:
        row = np.ascontiguousarray(row)
        assert metrics._bracketed(row, kth, tails) is not None  # no fallback needed
        values, means = metrics._order_statistics(row, kth, tails, float(np.add.reduce(row)))
        assert [values[k] for k in kth] == np.sort(row)[kth].tolist()
        assert [means[t] for t in tails] == [_canonical_tail_mean(row, n - t) for t in tails]


def test_a_bracket_that_misses_falls_back_to_the_whole_row() -> None:
    # Every 32nd simulation (the subsample) is far above the rest: the
    # brackets are all wrong, the figures still exact.
    n = 100_000
    x = np.random.default_rng(4).standard_normal(n)
    x[:: metrics.SAMPLE_STRIDE] = 1e9 + np.arange(x[:: metrics.SAMPLE_STRIDE].size)
    kth = [n // 20, n // 2, n - 5000]
    assert metrics._bracketed(x, kth, [n - 5000]) is None
    values, means = metrics._order_statistics(x, kth, [n - 5000], float(np.add.reduce(x)))
    assert [values[k] for k in kth] == np.sort(x)[kth].tolist()
    assert means[n - 5000] == _canonical_tail_mean(x, 5000)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rows_with_nan_or_infinity_are_partitioned_whole(bad) -> None:
    n = 50_000
    x = np.random.default_rng(5).standard_normal(n)
    x[[7, 4_000]] = bad
    kth = [0, n // 2, n - 2, n - 1]
    values, _ = metrics._order_statistics(x, kth, [], float(np.add.reduce(x)))
    np.testing.assert_array_equal([values[k] for k in kth], np.sort(x)[kth])
    assert not math.isfinite(float(np.add.reduce(x)))


def test_figures_do_not_depend_on_the_pass_chunk_or_threads(monkeypatch) -> None:
    rng = np.random.default_rng(6)
    x = rng.lognormal(0.0, 1.0, size=(300_001, 3)) - 1.5
    x[x < 0] = 0.0
    first = describe(x, total=True)
    monkeypatch.setattr(metrics, "PASS_CHUNK", 4_099)
    monkeypatch.setattr(metrics, "BUFFER_BYTES", 8 * 300_001)  # one thread
    again = describe(x, total=True)
    for key, value in first.items():
        np.testing.assert_array_equal(value, again[key], err_msg=key)
