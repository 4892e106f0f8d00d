"""Tests of riskshare.sampling.sample(): spend paths from a Model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskshare.config.model import Model
from riskshare.paths import SpendPaths
from riskshare.sampling import sample, sample_block

BENCHMARK_GROUPS = [
    ("learning_disability", "council", 300, 60_000, 0.6, 0.020, 0.025),
    ("mental_health", "nhs", 500, 20_000, 0.8, 0.020, 0.020),
    ("older_people", "council", 1_500, 10_000, 0.7, 0.025, 0.020),
    ("community_equipment", "nhs", 4_000, 1_000, 1.0, 0.030, 0.020),
]


def make_model(groups, years=5, shocks=(), correlation=None) -> Model:
    """A one-partner model around the given client_groups specs ({id, spend, ...})."""
    data = {
        "partners": [{"id": "nhs"}, {"id": "council"}],
        "client_groups": [{"commissioners": "nhs", **g} for g in groups],
        "common_shocks": list(shocks),
        "contributions": {"nhs": {"kind": "expected_cost"}, "council": {"kind": "expected_cost"}},
        "simulation": {"years": years},
    }
    if correlation is not None:
        data["correlation"] = correlation
    return Model.model_validate(data)


def clients(gid, mean, cost, cv, growth=0.0, inflation=0.0, **extra):
    counts = {"mean": mean, "growth": growth, **extra.pop("counts", {})}
    return {
        "id": gid,
        "spend": {
            "model": "clients",
            "clients": counts,
            "cost": {
                "distribution": extra.pop("cost_distribution", "lognormal"),
                "mean": cost,
                "cv": cv,
                "inflation": inflation,
            },
        },
        **extra,
    }


def benchmark_model(shock=True) -> Model:
    groups = [clients(g, lam, m, cv, gr, inf) for g, _, lam, m, cv, gr, inf in BENCHMARK_GROUPS]
    shocks = [{"id": "system", "cv": 0.04}] if shock else []
    return make_model(groups, shocks=shocks)


def assert_mean_matches(spend, expected, z=5.0):
    se = spend.std(axis=0, ddof=1) / np.sqrt(spend.shape[0])
    dev = np.abs(spend.mean(axis=0) - expected)
    assert np.all(dev <= z * se + 1e-9 * np.abs(expected)), (spend.mean(axis=0), expected, se)


@pytest.fixture(scope="module")
def every_feature() -> Model:
    return make_model(
        [
            clients(
                "fresh_lognormal",
                200,
                5_000,
                0.9,
                0.03,
                0.02,
                step_changes=[{"year": 2, "factor": 1.1}, {"year": 3, "factor": 1.05}],
            ),
            clients(
                "nb_gamma",
                80,
                12_000,
                0.5,
                0.01,
                0.03,
                cost_distribution="gamma",
                counts={"distribution": "negative_binomial", "dispersion": 5.0},
                charging={"rate": 0.2, "cv": 0.3},
            ),
            clients(
                "persistent",
                60,
                30_000,
                0.7,
                0.04,
                0.025,
                counts={"exit_rate": 0.25},
                high_cost={
                    "rate": 0.8,
                    "distribution": "lognormal",
                    "mean": 4e5,
                    "cv": 0.8,
                    "growth": 0.05,
                    "inflation": 0.03,
                },
            ),
            {
                "id": "agg_lognormal",
                "spend": {"model": "aggregate", "mean": 2e6, "cv": 0.1, "growth": 0.03},
            },
            {
                "id": "agg_gamma",
                "spend": {"model": "aggregate", "distribution": "gamma", "mean": 1e6, "cv": 0.2},
            },
            {
                "id": "agg_normal",
                "spend": {"model": "aggregate", "distribution": "normal", "mean": 1e6, "cv": 0.6},
                "charging": {"rate": 0.1},
            },
            {
                "id": "fixed",
                "spend": {"model": "fixed", "amount": 5e5, "growth": 0.02},
                "high_cost": {"rate": 1.5, "distribution": "pareto", "mean": 1e6, "minimum": 6e5},
                "step_changes": [{"year": 1, "factor": 1.2}],
            },
        ],
        shocks=[
            {"id": "system", "cv": 0.05},
            {"id": "price", "cv": 0.03, "groups": ["fresh_lognormal", "fixed"]},
        ],
        correlation={
            "groups": ["fresh_lognormal", "nb_gamma", "agg_lognormal"],
            "matrix": [[1, 0.5, 0.3], [0.5, 1, 0.2], [0.3, 0.2, 1]],
        },
    )


# ----------------------------------------------------------------------------- API and determinism


def test_spend_paths_shape_and_take(every_feature):
    paths = sample(every_feature, 1000, seed=1, block_size=256)
    assert isinstance(paths, SpendPaths)
    assert paths.spend.shape == paths.income.shape == (1000, 5, 7)
    assert paths.group_ids == tuple(every_feature.group_ids) and paths.years == 5
    assert paths.n_sims == 1000 and paths.first_sim == 0
    sub = paths.take(slice(10, 20))
    assert sub.n_sims == 10 and sub.first_sim == 10
    np.testing.assert_array_equal(sub.spend, paths.spend[10:20])
    assert paths.take(3).spend.shape == (1, 5, 7)
    assert np.all(np.isfinite(paths.spend))


def test_sample_is_concatenation_of_blocks(every_feature):
    paths = sample(every_feature, 700, seed=5, block_size=256)
    blocks = [sample_block(every_feature, 5, b, block_size=256) for b in range(3)]
    assert [b.first_sim for b in blocks] == [0, 256, 512]
    np.testing.assert_array_equal(paths.spend, np.concatenate([b.spend for b in blocks])[:700])
    np.testing.assert_array_equal(paths.income, np.concatenate([b.income for b in blocks])[:700])


def test_simulation_does_not_depend_on_n_sims_or_workers(every_feature):
    big = sample(every_feature, 5000, seed=9, block_size=512)
    small = sample(every_feature, 1000, seed=9, block_size=512)
    np.testing.assert_array_equal(small.spend, big.spend[:1000])
    np.testing.assert_array_equal(small.income, big.income[:1000])
    for workers in (2, 3):
        threaded = sample(every_feature, 5000, seed=9, block_size=512, workers=workers)
        np.testing.assert_array_equal(threaded.spend, big.spend)
        np.testing.assert_array_equal(threaded.income, big.income)


def test_seeds_differ_and_repeat(every_feature):
    a = sample(every_feature, 300, seed=1, block_size=256).spend
    b = sample(every_feature, 300, seed=2, block_size=256).spend
    np.testing.assert_array_equal(a, sample(every_feature, 300, seed=1, block_size=256).spend)
    varying = a.std(axis=0) > 0
    assert np.all(a[:, varying] != b[:, varying])


def test_adding_a_group_leaves_the_others_unchanged():
    one = make_model([clients("a", 100, 1000, 0.5)])
    two = make_model([clients("b", 50, 2000, 0.5), clients("a", 100, 1000, 0.5)])
    np.testing.assert_array_equal(
        sample(one, 500, 3, block_size=256).spend[:, :, 0],
        sample(two, 500, 3, block_size=256).spend[:, :, 1],
    )


def test_bad_arguments():
    model = benchmark_model()
    with pytest.raises(ValueError, match="n_sims"):
        sample(model, 0, 1)
    with pytest.raises(ValueError, match="workers"):
        sample(model, 10, 1, workers=0)
    with pytest.raises(ValueError, match="block_size"):
        sample(model, 10, 1, block_size=0)
    with pytest.raises(ValueError, match="block"):
        sample_block(model, 1, -1)
    shrinking = make_model([clients("a", 100, 1000, 0.5, growth=-0.3, counts={"exit_rate": 0.1})])
    with pytest.raises(ValueError, match=r"clients\.growth"):
        sample(shrinking, 10, 1)


# ----------------------------------------------------------------------------- means and moments


def test_every_spend_model_mean_matches_expected_spend(every_feature):
    paths = sample(every_feature, 60_000, seed=11, block_size=4096)
    assert_mean_matches(paths.spend, every_feature.expected_spend())


def test_benchmark_compound_poisson_moments():
    model = benchmark_model(shock=False)
    spend = sample(model, 100_000, seed=2).spend
    t = np.arange(5)[:, None]
    lam = (
        np.array([g[2] for g in BENCHMARK_GROUPS])
        * (1 + np.array([g[5] for g in BENCHMARK_GROUPS])) ** t
    )
    m = (
        np.array([g[3] for g in BENCHMARK_GROUPS])
        * (1 + np.array([g[6] for g in BENCHMARK_GROUPS])) ** t
    )
    cv = np.array([g[4] for g in BENCHMARK_GROUPS])
    var = lam * m**2 * (1 + cv**2)
    assert_mean_matches(spend, lam * m)
    # sd of a sample variance ≈ var·sqrt((κ - 1)/n), κ ≈ 3 here: within 5 of those
    np.testing.assert_allclose(spend.var(axis=0), var, rtol=5 * np.sqrt(2 / 100_000))
    # compound Poisson skewness E[X³] / (√Λ E[X²]^1.5) = (1 + cv²)^1.5 / √Λ for lognormal X
    np.testing.assert_allclose(
        stats.skew(spend, axis=0), (1 + cv**2) ** 1.5 / np.sqrt(lam), atol=0.03
    )


def test_benchmark_pooled_sd_with_shock():
    """s.d. of pooled spend P_t (benchmark-scenario.md, section 3)."""
    pooled = sample(benchmark_model(), 200_000, seed=4).spend.sum(axis=2)
    sd = [2_359_826, 2_456_443, 2_557_159, 2_662_153, 2_771_611]
    np.testing.assert_allclose(pooled.std(axis=0), sd, rtol=0.01)
    assert_mean_matches(pooled, [47_000_000, 49_107_900, 51_310_681, 53_612_630, 56_018_226])


def test_negative_binomial_counts_variance():
    model = make_model(
        [
            clients(
                "a",
                100,
                1000,
                0.5,
                counts={"distribution": "negative_binomial", "dispersion": 4.0},
            )
        ],
        years=1,
    )
    s = sample(model, 100_000, 3).spend[:, 0, 0]
    var_n = 100 + 100**2 / 4
    expected = 100 * 1000**2 * 0.25 + var_n * 1000**2
    assert abs(s.var() / expected - 1) < 0.03


def test_uncertain_rates_are_drawn_once_per_simulation():
    model = make_model(
        [
            {
                "id": "a",
                "spend": {
                    "model": "aggregate",
                    "mean": 100.0,
                    "cv": 0.0,
                    "growth": {"mean": 0.02, "sd": 0.05},
                },
            },
            clients(
                "b",
                400,
                1000,
                0.3,
                growth={"mean": 0.01, "sd": 0.02},
                inflation={"mean": 0.03, "sd": 0.02},
            ),
        ]
    )
    spend = sample(model, 40_000, 6, block_size=4096).spend
    g = spend[:, 1, 0] / 100 - 1
    np.testing.assert_allclose(spend[:, 4, 0], 100 * (1 + g) ** 4, rtol=1e-12)
    assert abs(g.std() - 0.05) < 0.002
    # E[(1+r)^t] for r ~ N(mu, sd²), by Gauss-Hermite
    x, w = np.polynomial.hermite_e.hermegauss(20)
    t = np.arange(5)

    def growth_mean(mu, sd):
        return ((1 + mu + sd * x[:, None]) ** t * w[:, None]).sum(0) / w.sum()

    expected = 400 * 1000 * growth_mean(0.01, 0.02) * growth_mean(0.03, 0.02)
    assert_mean_matches(spend[:, :, 1], expected)
    # the per-simulation trend makes later years co-move
    assert np.corrcoef(spend[:, 1, 1], spend[:, 4, 1])[0, 1] > 0.3


def test_uncertain_rate_clipped_at_minus_99_percent():
    model = make_model(
        [
            {
                "id": "a",
                "spend": {
                    "model": "aggregate",
                    "mean": 100.0,
                    "cv": 0.0,
                    "growth": {"mean": -0.9, "sd": 1.0},
                },
            }
        ],
        years=2,
    )
    spend = sample(model, 5000, 1).spend
    assert spend[:, 1, 0].min() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- persistent clients


def exact_persistent(rng, lam, cv, dist, exit_rate, growth, inflation, years, n):
    """Per-client reference: every client drawn, kept with prob 1 - exit_rate, cost inflated."""

    def costs(k, t):
        if dist == "gamma":
            x = rng.gamma(1 / cv**2, cv**2 * 1000.0, k)
        else:
            s = np.sqrt(np.log1p(cv**2))
            x = rng.lognormal(np.log(1000.0) - s * s / 2, s, k)
        return x * (1 + inflation) ** t

    counts = rng.poisson(lam, n)
    owner, cost = np.repeat(np.arange(n), counts), costs(counts.sum(), 0)
    out = np.zeros((n, years))
    out[:, 0] = np.bincount(owner, weights=cost, minlength=n)
    mean = lam
    for t in range(1, years):
        keep = rng.random(owner.size) >= exit_rate
        owner, cost = owner[keep], cost[keep] * (1 + inflation)
        arrivals = rng.poisson(mean * (growth + exit_rate), n)
        mean *= 1 + growth
        owner = np.concatenate([owner, np.repeat(np.arange(n), arrivals)])
        cost = np.concatenate([cost, costs(arrivals.sum(), t)])
        out[:, t] = np.bincount(owner, weights=cost, minlength=n)
    return out


@pytest.mark.parametrize("dist", ["lognormal", "gamma"])
def test_persistent_clients_against_exact_per_client_simulation(dist):
    lam, cv, exit_rate, growth, inflation, years, n = 20, 0.8, 0.3, 0.05, 0.03, 4, 100_000
    model = make_model(
        [
            clients(
                "p",
                lam,
                1000.0,
                cv,
                growth,
                inflation,
                cost_distribution=dist,
                counts={"exit_rate": exit_rate},
            )
        ],
        years=years,
    )
    fast = sample(model, n, seed=7).spend[:, :, 0]
    exact = exact_persistent(
        np.random.default_rng(8), lam, cv, dist, exit_rate, growth, inflation, years, n
    )
    assert_mean_matches(fast, model.expected_spend()[:, 0])
    assert_mean_matches(exact, model.expected_spend()[:, 0])
    np.testing.assert_allclose(fast.std(axis=0), exact.std(axis=0), rtol=0.02)
    for t in range(years - 1):
        r_fast = np.corrcoef(fast[:, t], fast[:, t + 1])[0, 1]
        r_exact = np.corrcoef(exact[:, t], exact[:, t + 1])[0, 1]
        assert abs(r_fast - r_exact) < 0.015
    assert stats.ks_2samp(fast[:, -1], exact[:, -1]).statistic < 0.012


def test_persistent_exit_rate_one_is_independent_years():
    model = make_model([clients("p", 200, 1000.0, 0.5, counts={"exit_rate": 1.0})], years=3)
    spend = sample(model, 40_000, 2).spend[:, :, 0]
    assert abs(np.corrcoef(spend[:, 0], spend[:, 2])[0, 1]) < 0.03


# ----------------------------------------------------------------------------- features


def test_correlation_copula_spearman():
    rho = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.0], [-0.3, 0.0, 1.0]])
    groups = [
        {"id": "a", "spend": {"model": "aggregate", "mean": 1e6, "cv": 0.3}},
        {
            "id": "b",
            "spend": {"model": "aggregate", "distribution": "gamma", "mean": 1e6, "cv": 0.5},
        },
        {
            "id": "c",
            "spend": {"model": "aggregate", "distribution": "normal", "mean": 1e6, "cv": 0.2},
        },
        clients("d", 20_000, 100.0, 2.0),
        clients("e", 20_000, 100.0, 2.0),
    ]
    model = make_model(
        groups,
        years=2,
        correlation={
            "groups": ["a", "b", "c", "d", "e"],
            "matrix": [
                [*rho[0], 0, 0],
                [*rho[1], 0, 0],
                [*rho[2], 0, 0],
                [0, 0, 0, 1, 0.9],
                [0, 0, 0, 0.9, 1],
            ],
        },
    )
    spend = sample(model, 50_000, 3).spend[:, 1]
    spearman = stats.spearmanr(spend[:, :3]).statistic
    np.testing.assert_allclose(spearman, 6 / np.pi * np.arcsin(rho / 2), atol=0.015)
    # client groups: only the cost-sum part (cv²/(1+cv²) of the variance) is correlated
    r = np.corrcoef(spend[:, 3], spend[:, 4])[0, 1]
    assert abs(r - 0.9 * 4 / 5) < 0.02


def test_singular_correlation_is_accepted():
    groups = [clients("a", 1000, 100.0, 1.0), clients("b", 1000, 100.0, 1.0)]
    model = make_model(
        groups, years=1, correlation={"groups": ["a", "b"], "matrix": [[1, 1], [1, 1]]}
    )
    spend = sample(model, 20_000, 3).spend[:, 0]
    assert np.corrcoef(spend.T)[0, 1] > 0.45


def test_common_shocks_multiply_their_groups():
    fixed = {"model": "fixed", "amount": 1000.0}
    model = make_model(
        [{"id": "a", "spend": fixed}, {"id": "b", "spend": fixed}, {"id": "c", "spend": fixed}],
        shocks=[{"id": "s1", "cv": 0.1}, {"id": "s2", "cv": 0.2, "groups": ["b"]}],
    )
    spend = sample(model, 50_000, 4).spend / 1000.0
    f1 = spend[:, :, 0]
    np.testing.assert_allclose(spend[:, :, 2], f1)
    assert abs(np.log(f1).std() - 0.1) < 0.002
    assert abs(f1.mean() - 1) < 5 * 0.1 / np.sqrt(f1.size)
    f2 = spend[:, :, 1] / f1
    assert abs(np.log(f2).std() - 0.2) < 0.003
    assert abs(np.corrcoef(f1[:, 0], f1[:, 1])[0, 1]) < 0.03  # independent years


def test_high_cost_is_added_after_step_changes():
    model = make_model(
        [
            {
                "id": "a",
                "spend": {"model": "fixed", "amount": 0.0},
                "high_cost": {
                    "rate": 0.5,
                    "distribution": "pareto",
                    "mean": 2e5,
                    "minimum": 1e5,
                    "inflation": 0.1,
                },
                "step_changes": [{"year": 1, "factor": 3.0}],
            }
        ],
        years=2,
    )
    spend = sample(model, 100_000, 5).spend[:, :, 0]
    assert np.mean(spend[:, 0] == 0) == pytest.approx(np.exp(-0.5), abs=0.005)
    assert spend[spend[:, 0] > 0, 0].min() >= 1e5
    assert spend[spend[:, 1] > 0, 1].min() >= 1.1e5
    assert_mean_matches(spend, model.expected_spend()[:, 0])


def test_step_changes_are_cumulative():
    model = make_model(
        [
            {
                "id": "a",
                "spend": {"model": "fixed", "amounts": [1.0, 1.0, 1.0, 1.0]},
                "step_changes": [{"year": 1, "factor": 2.0}, {"year": 3, "factor": 1.5}],
            }
        ],
        years=4,
    )
    np.testing.assert_array_equal(sample(model, 3, 1).spend[0, :, 0], [1.0, 2.0, 2.0, 3.0])


def test_charging_income_share_and_cap():
    model = make_model(
        [
            clients("a", 300, 1000.0, 0.5, charging={"rate": 0.3, "cv": 0.2}),
            clients("b", 300, 1000.0, 0.5, charging={"rate": 0.9, "cv": 2.0}),
            {
                "id": "c",
                "spend": {"model": "aggregate", "distribution": "normal", "mean": 1e3, "cv": 1.0},
                "charging": {"rate": 0.5},
            },
            clients("d", 300, 1000.0, 0.5),
        ],
        years=2,
    )
    paths = sample(model, 40_000, 8)
    spend, income = paths.spend, paths.income
    assert np.all(income >= 0) and np.all(income <= spend.clip(min=0))
    ratio = income[:, :, 0] / spend[:, :, 0]
    assert abs(ratio.mean() - 0.3) < 0.003 and abs(ratio.std() / 0.3 - 0.2) < 0.01
    assert np.mean(income[:, :, 1] == spend[:, :, 1]) > 0.1  # capped at gross spend
    negative = spend[:, :, 2] < 0
    assert negative.any() and np.all(income[:, :, 2][negative] == 0)
    np.testing.assert_allclose(income[:, :, 2][~negative], 0.5 * spend[:, :, 2][~negative])
    assert np.all(income[:, :, 3] == 0)


def test_block_draws_do_not_use_global_state():
    np.random.seed(0)  # noqa: NPY002 - the point of the test
    a = sample(benchmark_model(), 100, 1).spend
    np.random.seed(1)  # noqa: NPY002 - the point of the test
    np.testing.assert_array_equal(a, sample(benchmark_model(), 100, 1).spend)
