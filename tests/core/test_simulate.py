"""simulate(): closed forms, determinism across chunking and threads, result tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import riskshare as rs
from riskshare.config.load import validate_data


def one_group_model(mean: float, cv: float, budget: float, shares=(0.3, 0.7), **agreement):
    """One year, one lognormal aggregate group, two partners, fixed contributions."""
    data = {
        "partners": [{"id": "a"}, {"id": "b", "host": True}],
        "client_groups": [
            {
                "id": "g",
                "commissioners": "b",
                "spend": {
                    "model": "aggregate",
                    "distribution": "lognormal",
                    "mean": mean,
                    "cv": cv,
                },
            }
        ],
        "contributions": {
            "a": {"kind": "schedule", "amounts": [budget * shares[0]]},
            "b": {"kind": "schedule", "amounts": [budget * shares[1]]},
        },
        "agreement": agreement,
        "simulation": {"years": 1, "n_sims": 1000, "seed": 3},
    }
    return validate_data(data)


def lognormal_stop_loss(mean: float, cv: float, budget: float) -> float:
    """E[(S - B)+] for lognormal S with the given mean and CV (closed form)."""
    sigma = math.sqrt(math.log(1 + cv**2))
    mu = math.log(mean) - sigma**2 / 2
    d1 = (mu + sigma**2 - math.log(budget)) / sigma
    return mean * stats.norm.cdf(d1) - budget * stats.norm.cdf(d1 - sigma)


@pytest.mark.parametrize("budget", [9.5e6, 10e6, 11e6])
def test_mean_overspend_call_matches_closed_form(budget: float) -> None:
    # Partner a with share w pays w * E[(S - B)+] on average (proportional key).
    model = one_group_model(10e6, 0.08, budget)
    paths = rs.sample(model, 200_000, seed=11)
    ledger = rs.settle(model, paths)
    calls = ledger.flow("overspend_call")[:, 0, :]
    expected = lognormal_stop_loss(10e6, 0.08, budget)
    for p, w in enumerate((0.3, 0.7)):
        se = calls[:, p].std(ddof=1) / math.sqrt(calls.shape[0])
        assert abs(calls[:, p].mean() - w * expected) < 5 * se
    # and the refunds are w * E[(B - S)+] = w * (E[(S - B)+] - (E[S] - B))
    refunds = ledger.flow("underspend_refund")[:, 0, 0]
    se = refunds.std(ddof=1) / math.sqrt(refunds.shape[0])
    assert abs(refunds.mean() - 0.3 * (expected - (10e6 - budget))) < 5 * se


def test_benchmark_partner_means_match_analytic_values(benchmark_model) -> None:
    # shared/reference/benchmark-scenario.md §5: exact E and s.d. of net_p.
    result = rs.simulate(benchmark_model, n_sims=100_000, seed=5)
    summary = result.summary()
    for partner, mean, sd in (
        ("nhs", 2_240_016.26, 1_708_833.07),
        ("council", 5_280_038.32, 4_027_963.66),
    ):
        row = summary.loc[partner]
        assert abs(row["mean"] - mean) < 5 * row["mean_se"]
        assert row["sd"] == pytest.approx(sd, rel=0.02)
    # the reserve changes timing, not the total: net_nhs / net_council = 14/33 on every path
    net = result.net
    assert np.allclose(net[:, 0] * 33, net[:, 1] * 14, rtol=1e-9, atol=1e-3)
    # TVaR95 is the mean of the worst ceil(0.05 n) outcomes
    worst = np.sort(net[:, 1])[-5000:]
    assert summary.loc["council", "tvar95"] == pytest.approx(worst.mean(), rel=1e-12)
    assert summary.loc["council", "p95"] == pytest.approx(np.quantile(net[:, 1], 0.95), rel=1e-12)


def test_same_seed_same_numbers_however_chunked_or_threaded(benchmark_model) -> None:
    kw = {"n_sims": 70_000, "seed": 42, "block_size": 8192}
    a = rs.simulate(benchmark_model, chunk_blocks=1, workers=1, **kw)
    b = rs.simulate(benchmark_model, chunk_blocks=3, workers=2, **kw)
    c = rs.simulate(benchmark_model, chunk_blocks=9, workers=1, **kw)
    for other in (b, c):
        np.testing.assert_array_equal(a.outcomes.net, other.outcomes.net)
        np.testing.assert_array_equal(a.outcomes.reserve, other.outcomes.reserve)
    # simulation i does not depend on n_sims
    small = rs.simulate(benchmark_model, n_sims=1000, seed=42, block_size=8192)
    np.testing.assert_array_equal(small.outcomes.net, a.outcomes.net[:1000])
    # a different seed gives different numbers
    other_seed = rs.simulate(benchmark_model, n_sims=1000, seed=43, block_size=8192)
    assert not np.array_equal(other_seed.outcomes.net, small.outcomes.net)


def test_simulate_equals_sample_then_settle(example_model) -> None:
    result = rs.simulate(example_model, n_sims=5000, seed=9)
    ledger = rs.settle(example_model, rs.sample(example_model, 5000, seed=9))
    np.testing.assert_array_equal(result.outcomes.net, ledger.net())


def test_unseeded_run_records_its_seed(benchmark_model) -> None:
    model = rs.with_changes(benchmark_model, {"simulation.seed": None})
    first = rs.simulate(model, n_sims=500)
    again = rs.simulate(model, n_sims=500, seed=first.seed)
    np.testing.assert_array_equal(first.net, again.net)
    assert first.manifest["seed"] == first.seed


def test_summary_tables_have_the_documented_shape(example_model) -> None:
    result = rs.simulate(example_model, n_sims=4000, seed=1)
    summary = result.summary()
    assert list(summary.index) == ["council", "icb", "pool"]
    for col in (
        "mean",
        "sd",
        "p5",
        "p50",
        "p95",
        "p99",
        "var95",
        "tvar95",
        "var99",
        "tvar99",
        "prob_pays",
        "prob_call_any_year",
        "mean_se",
        "prob_pays_se",
        "threshold",
        "prob_exceeds",
        "prob_exceeds_se",
    ):
        assert col in summary.columns
    assert summary.loc["council", "threshold"] == 2_000_000
    assert np.isnan(summary.loc["pool", "prob_exceeds"])
    net = result.net[:, 0]
    assert summary.loc["council", "prob_exceeds"] == pytest.approx((net > 2e6).mean())
    assert summary.loc["pool", "mean"] == pytest.approx(result.net.sum(axis=1).mean())
    by_year = result.by_year()
    assert by_year.index.names == ["partner", "year"]
    assert len(by_year) == 3 * 5
    assert by_year.loc[("council", "2026/27"), "mean"] == pytest.approx(
        result.net_by_year[:, 0, 0].mean()
    )
    pool = result.pool_by_year()
    assert list(pool.index) == ["2026/27", "2027/28", "2028/29", "2029/30", "2030/31"]
    assert pool["prob_overspend"].between(0, 1).all()
    assert (pool["prob_reserve_exhausted_by"].diff().dropna() >= 0).all()
    tidy = result.to_frame()
    assert set(tidy.columns) == {"partner", "year", "measure", "value"}
    assert result.per_simulation().shape == (4000, 2)
    thresholds = result.summary(thresholds={"icb": 1e6})
    assert thresholds.loc["icb", "threshold"] == 1e6


def test_manifest_records_provenance(benchmark_model) -> None:
    result = rs.simulate(benchmark_model, n_sims=1000, seed=2, chunk_blocks=2)
    m = result.manifest
    assert m["seed"] == 2 and m["n_sims"] == 1000
    assert len(m["config_sha256"]) == 64
    assert m["software"]["riskshare"] == rs.__version__
    assert {"simulate_s", "sample_s", "settle_s"} <= set(m["timings"])
    rebuilt = rs.Model.model_validate(m["config"])
    assert rebuilt == benchmark_model


def test_progress_is_reported_up_to_the_total(benchmark_model) -> None:
    seen: list[tuple[int, int]] = []
    rs.simulate(
        benchmark_model,
        n_sims=70_000,
        seed=1,
        block_size=8192,
        progress=lambda done, total: seen.append((done, total)),
        workers=2,
    )
    assert seen[-1] == (70_000, 70_000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    rs.simulate(benchmark_model, n_sims=1000, seed=1, progress=True)  # a tqdm bar, no error


CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = sorted(
    p for p in CONFIGS.rglob("*.yaml") if "client_groups:" in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_every_shipped_config_settles_the_same_one_simulation_a_chunk(path, monkeypatch) -> None:
    """Bit for bit, however chunked: a run's last chunk may hold one simulation.

    Fails on a matrix product over simulations (BLAS sums a matrix-vector
    product, one simulation, differently from a matrix-matrix one), as the
    tower's band split was.
    """
    import importlib

    settle_module = importlib.import_module("riskshare.settle")  # the function shadows it
    model = rs.load_config(path)
    paths = rs.sample(model, 40, seed=5)
    whole = rs.settle(model, paths)
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 1)
    one = rs.settle(model, paths)
    np.testing.assert_array_equal(whole.net(), one.net())
    np.testing.assert_array_equal(whole.reserve, one.reserve)


def test_settlement_chunk_size_does_not_change_the_numbers(example_model, monkeypatch) -> None:
    import importlib

    settle_module = importlib.import_module("riskshare.settle")  # the function shadows it

    paths = rs.sample(example_model, 20_000, seed=3)
    whole = rs.settle(example_model, paths)
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 777)
    pieces = rs.settle(example_model, paths)
    for name in ("overspend_call", "underspend_refund", "final_distribution"):
        np.testing.assert_array_equal(whole.flow(name), pieces.flow(name))
    np.testing.assert_array_equal(whole.reserve, pieces.reserve)
    np.testing.assert_array_equal(whole.extras["variance"], pieces.extras["variance"])
