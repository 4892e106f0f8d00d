"""Case splits (``client_groups[].cases``): the partners' shares drawn without per-case draws.

The sampler draws each partner's share of a group's spend from the year's count
of cases (docs/sampling.md §14). These tests compare it with the definition, a
brute-force simulation that splits every case: exact methods must be
indistinguishable from it, the approximate one close in mean, s.d. and tails.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import riskshare as rs
from riskshare.config.model import Model
from riskshare.sampling import draws, sample

N = 100_000
QUANTILES = (0.5, 0.9, 0.95, 0.99)
#: An agreed-splits table: 40 % of cases 50/50, 40 % wholly the council's, 20 % wholly the ICB's.
TABLE = {
    "table": [
        {"shares": {"icb": 0.5, "council": 0.5}, "probability": 0.4},
        {"shares": {"council": 1.0}, "probability": 0.4},
        {"shares": {"icb": 1.0}, "probability": 0.2},
    ]
}


def _model(cases: dict, spend: dict, commissioners: dict) -> Model:
    return Model.model_validate(
        {
            "partners": [{"id": "icb"}, {"id": "council"}],
            "client_groups": [
                {"id": "s117", "commissioners": commissioners, "cases": cases, "spend": spend}
            ],
            "contributions": {
                "icb": {"kind": "expected_cost"},
                "council": {"kind": "expected_cost"},
            },
            "agreement": {},
            "simulation": {"years": 1, "n_sims": 1, "seed": 0},
        }
    )


def _clients(mean: float, distribution: str, cv: float) -> dict:
    return {
        "model": "clients",
        "clients": {"mean": mean},
        "cost": {"distribution": distribution, "mean": 1.0, "cv": cv},
    }


def _per_case(
    rng: np.random.Generator, mean: float, distribution: str, cv: float, cases: dict, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The definition: every case drawn, its cost and its split; the ICB's amount and the sum."""
    counts = rng.poisson(mean, n)
    k = int(counts.sum())
    if distribution == "gamma":
        cost = rng.gamma(1.0 / cv**2, cv**2, k)
    else:
        s2 = np.log1p(cv**2)
        cost = rng.lognormal(-s2 / 2, np.sqrt(s2), k)
    if "concentration" in cases:
        kappa = cases["concentration"]
        alpha = rng.dirichlet([kappa * 0.3, kappa * 0.7], k)[:, 0]
    else:
        rows = np.array([r["shares"].get("icb", 0.0) for r in cases["table"]])
        alpha = rows[rng.choice(len(rows), k, p=[r["probability"] for r in cases["table"]])]
    sim = np.repeat(np.arange(n), counts)
    return np.bincount(sim, alpha * cost, n), np.bincount(sim, cost, n)


def _fast(model: Model) -> tuple[np.ndarray, np.ndarray]:
    paths = sample(model, N, seed=11)
    spend = paths.spend[:, 0, 0]
    return paths.case_shares["s117"][:, 0, 0] * spend, spend


@pytest.mark.parametrize(
    ("mean", "distribution", "cv", "cases", "exact"),
    [
        (3, "gamma", 0.8, {"concentration": 2.0}, False),
        (20, "gamma", 0.8, {"concentration": 0.5}, False),
        (3, "gamma", 0.8, TABLE, True),
        (3, "lognormal", 1.0, {"concentration": 2.0}, False),
        (10, "lognormal", 1.0, TABLE, False),
    ],
)
def test_partner_amount_matches_per_case_simulation(mean, distribution, cv, cases, exact) -> None:
    """The ICB's amount ``Σ α_i X_i``: mean, s.d., quantiles and KS against splitting every case.

    Gamma costs: the table is exact (KS D within sampling noise) and the
    Dirichlet has the exact conditional mean and variance; lognormal costs
    are approximate (measured in docs/sampling.md §14: s.d. of the share
    about 4 % high, quantiles within 2 %).
    """
    commissioners = (
        {"icb": 0.4, "council": 0.6} if "table" in cases else {"icb": 0.3, "council": 0.7}
    )
    fast, _ = _fast(_model(cases, _clients(mean, distribution, cv), commissioners))
    slow, _ = _per_case(np.random.default_rng(5), mean, distribution, cv, cases, N)
    se = slow.std() / np.sqrt(N)
    assert abs(fast.mean() - slow.mean()) < 5 * np.sqrt(2) * se
    gamma = distribution == "gamma"
    assert fast.std() == pytest.approx(slow.std(), rel=0.02 if gamma else 0.04)
    for q in QUANTILES:
        assert np.quantile(fast, q) == pytest.approx(np.quantile(slow, q), rel=0.03)
    d = stats.ks_2samp(fast, slow).statistic
    assert d < (0.008 if gamma else 0.02)
    if exact:
        assert stats.ks_2samp(fast, slow).pvalue > 1e-3


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_dirichlet_share_has_the_exact_conditional_moments(n) -> None:
    """Given n cases of gamma (or any) costs: mean E[α], variance Var(α)(1 + cv²)/(n + cv²)."""
    rng = np.random.default_rng(3)
    kappa, m, cv = 2.0, np.array([0.3, 0.7]), 0.8
    share = draws.case_shares_dirichlet(rng, np.full(N, n), cv, m, kappa)[0]
    var_alpha = 0.3 * 0.7 / (kappa + 1)
    want = var_alpha * (1 + cv**2) / (n + cv**2)
    assert abs(share.mean() - 0.3) < 5 * np.sqrt(want / N)
    # the sample variance's s.e. is about var·sqrt(2/N) for a near-normal share; 5 s.e.
    assert share.var() == pytest.approx(want, rel=5 * np.sqrt(2 / N) * 2)


def test_one_case_is_its_split() -> None:
    """n = 1: the share is the case's own split (a Beta for two partners; a table row)."""
    rng = np.random.default_rng(4)
    share = draws.case_shares_dirichlet(rng, np.ones(N, int), 0.8, np.array([0.3, 0.7]), 2.0)[0]
    assert stats.kstest(share, stats.beta(0.6, 1.4).cdf).pvalue > 1e-3
    splits = np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    rows = draws.case_shares_table(rng, np.ones(N, int), 0.8, splits, np.array([0.4, 0.4, 0.2]))
    assert set(np.round(rows[0], 12)) == {0.0, 0.5, 1.0}
    assert np.mean(rows[0] == 1.0) == pytest.approx(0.2, abs=5 * np.sqrt(0.16 / N))


def test_no_cases_get_the_expected_split() -> None:
    """A year without cases has no spend; its shares are the expected split (not NaN)."""
    rng = np.random.default_rng(1)
    m = np.array([0.3, 0.7])
    counts = np.array([0, 3, 0])
    assert np.allclose(draws.case_shares_dirichlet(rng, counts, 0.5, m, 2.0)[:, 0], m)
    splits, pi = np.array([[0.5, 0.5], [0.0, 1.0]]), np.array([0.4, 0.6])
    out = draws.case_shares_table(rng, counts, 0.5, splits, pi)
    assert np.allclose(out[:, 2], pi @ splits)
    assert np.all(np.isfinite(out))


def test_tiny_concentration_does_not_underflow() -> None:
    """κ·E[α] far below 1 (cases all or nothing): shares stay finite and sum to 1."""
    share = draws.case_shares_dirichlet(
        np.random.default_rng(2), np.full(N, 2), 1.0, np.array([0.01, 0.99]), 0.01
    )
    assert np.all(np.isfinite(share))
    assert np.allclose(share.sum(axis=0), 1.0)


def test_aggregate_group_splits_the_year_as_one_case() -> None:
    """An aggregate group: each year's spend is split by one draw (a table row, or Beta(κm))."""
    spend = {"model": "aggregate", "mean": 1e6, "cv": 0.1}
    paths = sample(_model(TABLE, spend, {"icb": 0.4, "council": 0.6}), N, seed=3)
    icb = paths.case_shares["s117"][:, 0, 0]
    assert set(np.round(icb, 12)) == {0.0, 0.5, 1.0}
    paths = sample(_model({"concentration": 4.0}, spend, {"icb": 0.3, "council": 0.7}), N, seed=3)
    assert stats.kstest(paths.case_shares["s117"][:, 0, 0], stats.beta(1.2, 2.8).cdf).pvalue > 1e-3


def test_case_splits_leave_every_other_draw_bit_identical(example_model) -> None:
    """Adding case splits changes no spend (its own stream): the same group without them, others."""
    data = example_model.model_dump(mode="python")
    data["client_groups"][3]["cases"] = {"concentration": 3.0}  # intermediate care, clients
    data["client_groups"][1]["cases"] = TABLE | {}  # mental health, aggregate
    data["client_groups"][1]["commissioners"] = {"icb": 0.4, "council": 0.6}
    plain = example_model.model_dump(mode="python")
    plain["client_groups"][1]["commissioners"] = {"icb": 0.4, "council": 0.6}
    with_cases, without = Model.model_validate(data), Model.model_validate(plain)
    a, b = sample(with_cases, 3000, seed=9), sample(without, 3000, seed=9)
    assert np.array_equal(a.spend, b.spend)
    assert np.array_equal(a.income, b.income)
    assert set(a.case_shares) == {"mental_health", "intermediate_care"} and not b.case_shares
    shares = np.stack(list(a.case_shares.values()))
    assert np.allclose(shares.sum(axis=-1), 1.0) and shares.min() >= 0


def test_case_shares_do_not_depend_on_chunking(example_model) -> None:
    """Same seed, same shares: however many simulations, blocks or workers."""
    data = example_model.model_dump(mode="python")
    data["client_groups"][3]["cases"] = {"concentration": 3.0}
    model = Model.model_validate(data)
    small = sample(model, 1000, seed=2, block_size=512)
    large = sample(model, 5000, seed=2, block_size=512, workers=2)
    assert np.array_equal(
        small.case_shares["intermediate_care"], large.case_shares["intermediate_care"][:1000]
    )
    assert np.array_equal(
        rs.SpendPaths.concatenate(
            [large.take(slice(0, 700)), large.take(slice(700, 1000))]
        ).case_shares["intermediate_care"],
        small.case_shares["intermediate_care"],
    )


@pytest.mark.parametrize("cases", [{"concentration": 2.0}, TABLE], ids=["dirichlet", "table"])
def test_high_cost_placements_are_cases_too(cases) -> None:
    """A fixed £1m line (one case a year) with lognormal high-cost placements (Poisson 2 a
    year, mean £200k, CV 0.5), each placement a case: the ICB's amount against splitting each."""
    table = "table" in cases
    model = Model.model_validate(
        {
            "partners": [{"id": "icb"}, {"id": "council"}],
            "client_groups": [
                {
                    "id": "s117",
                    "commissioners": {"icb": 0.4, "council": 0.6}
                    if table
                    else {"icb": 0.3, "council": 0.7},
                    "cases": cases,
                    "spend": {"model": "fixed", "amount": 1e6},
                    "high_cost": {"rate": 2, "mean": 2e5, "cv": 0.5},
                }
            ],
            "contributions": {
                "icb": {"kind": "expected_cost"},
                "council": {"kind": "expected_cost"},
            },
            "agreement": {},
            "simulation": {"years": 1, "n_sims": 1, "seed": 0},
        }
    )
    fast, _ = _fast(model)
    rng = np.random.default_rng(8)
    counts = rng.poisson(2, N)
    k = int(counts.sum())
    if table:
        rows = np.array([r["shares"].get("icb", 0.0) for r in cases["table"]])
        pi = [r["probability"] for r in cases["table"]]
        alpha0, alpha = rows[rng.choice(3, N, p=pi)], rows[rng.choice(3, k, p=pi)]
    else:
        alpha0, alpha = rng.beta(0.6, 1.4, N), rng.beta(0.6, 1.4, k)
    s2 = np.log1p(0.25)
    cost = rng.lognormal(np.log(2e5) - s2 / 2, np.sqrt(s2), k)
    slow = alpha0 * 1e6 + np.bincount(np.repeat(np.arange(N), counts), alpha * cost, N)
    # to the pound: a table's splits put atoms (e.g. exactly £500k) that rounding would blur
    fast, slow = np.round(fast), np.round(slow)
    se = slow.std() / np.sqrt(N)
    assert abs(fast.mean() - slow.mean()) < 5 * np.sqrt(2) * se
    assert fast.std() == pytest.approx(slow.std(), rel=0.03)
    # the table's median falls in its atom at £500k (a 50/50 line, placements all the
    # council's): compare the atom and the upper tail there
    for q in (0.9, 0.95, 0.99) if table else QUANTILES:
        assert np.quantile(fast, q) == pytest.approx(np.quantile(slow, q), rel=0.03)
    for atom in (0.0, 5e5) if table else ():
        assert np.mean(fast == atom) == pytest.approx(np.mean(slow == atom), abs=0.005)
    assert stats.ks_2samp(fast, slow).statistic < 0.02
