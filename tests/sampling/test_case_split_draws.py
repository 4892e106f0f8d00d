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


def _cases_drawn(
    rng: np.random.Generator, k: int, distribution: str, cv: float, cases: dict
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` cases, each with its cost (mean 1) and the ICB's part of its split."""
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
    return cost, alpha


def _per_case(
    rng: np.random.Generator, mean: float, distribution: str, cv: float, cases: dict, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The definition: every case drawn, its cost and its split; the ICB's amount and the sum."""
    counts = rng.poisson(mean, n)
    cost, alpha = _cases_drawn(rng, int(counts.sum()), distribution, cv, cases)
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


# ----------------------------------------------------------------------------- carried cases


def _stock_model(
    cases: dict, mean: float, distribution: str, cv: float, exit_rate: float, years: int = 5
) -> Model:
    """One case-split group of a persistent stock: growth 3 %, cost inflation 5 %."""
    spend = _clients(mean, distribution, cv)
    spend["clients"] |= {"growth": 0.03, "exit_rate": exit_rate}
    spend["cost"]["inflation"] = 0.05
    commissioners = (
        {"icb": 0.4, "council": 0.6} if "table" in cases else {"icb": 0.3, "council": 0.7}
    )
    data = _model(cases, spend, commissioners).model_dump(mode="python")
    data["simulation"]["years"] = years
    return Model.model_validate(data)


def _per_case_stock(
    rng: np.random.Generator,
    mean: float,
    distribution: str,
    cv: float,
    cases: dict,
    exit_rate: float,
    years: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The definition with carried cases: each case stays with probability 1 − exit_rate and
    keeps its cost (inflated 5 % a year) and its split; Poisson entrants, mean
    Λ_t − (1 − e)Λ_{t−1} with Λ_t = mean·1.03^t. The ICB's amounts and the sums, (n, years)."""
    owner, cost, alpha = np.empty(0, int), np.empty(0), np.empty(0)
    amount, total = np.empty((n, years)), np.empty((n, years))
    for t in range(years):
        lam = mean * 1.03**t
        if t:
            stay = rng.random(owner.size) >= exit_rate
            owner, cost, alpha = owner[stay], cost[stay] * 1.05, alpha[stay]
            lam -= (1 - exit_rate) * mean * 1.03 ** (t - 1)
        counts = rng.poisson(lam, n)
        new_cost, new_alpha = _cases_drawn(rng, int(counts.sum()), distribution, cv, cases)
        owner = np.concatenate([owner, np.repeat(np.arange(n), counts)])
        cost = np.concatenate([cost, new_cost * 1.05**t])
        alpha = np.concatenate([alpha, new_alpha])
        amount[:, t] = np.bincount(owner, alpha * cost, n)
        total[:, t] = np.bincount(owner, cost, n)
    return amount, total


def _lag1(x: np.ndarray) -> np.ndarray:
    """Correlation of each year with the next, across simulations, (years − 1,)."""
    return np.array([np.corrcoef(x[:, t], x[:, t + 1])[0, 1] for t in range(x.shape[1] - 1)])


@pytest.mark.parametrize(
    ("cases", "mean", "distribution", "cv", "exit_rate"),
    [
        ({"concentration": 2.0}, 5, "gamma", 0.8, 0.2),
        (TABLE, 5, "gamma", 0.8, 0.2),
        ({"concentration": 0.5}, 20, "gamma", 0.8, 0.1),
        ({"concentration": 2.0}, 3, "lognormal", 1.0, 0.3),
        (TABLE, 20, "lognormal", 1.0, 0.1),
    ],
    ids=["dirichlet-5", "table-5", "dirichlet-20", "dirichlet-lognormal-3", "table-lognormal-20"],
)
def test_carried_cases_match_per_case_simulation(cases, mean, distribution, cv, exit_rate) -> None:
    """A persistent stock (``clients.exit_rate``) whose survivors keep their splits, 5 years.

    Against the per-case definition (10⁵ paths): the ICB's share and amount
    each year in mean, s.d. and their year-to-year correlation (the share is
    persistent: about 0.6–0.88 here, against 0 for fresh cases), the last
    year's quantiles and KS D. Tolerances from the measurements in
    docs/sampling.md §14 (the lag-1 correlation is understated by up to about
    0.01: the carried fraction of the spend is drawn independently of which
    cases survive).
    """
    years = 5
    paths = sample(_stock_model(cases, mean, distribution, cv, exit_rate, years), N, seed=11)
    total = paths.spend[:, :, 0]
    share = paths.case_shares["s117"][:, :, 0]
    amount = share * total
    slow_amount, slow_total = _per_case_stock(
        np.random.default_rng(5), mean, distribution, cv, cases, exit_rate, years, N
    )
    m = 0.4 if "table" in cases else 0.3
    slow_share = np.divide(
        slow_amount, slow_total, out=np.full(slow_total.shape, m), where=slow_total > 0
    )
    gamma = distribution == "gamma"
    se = slow_share.std(axis=0) / np.sqrt(N)
    assert np.all(np.abs(share.mean(axis=0) - slow_share.mean(axis=0)) < 5 * np.sqrt(2) * se)
    # the fresh cases' draw already overstates a lognormal share's s.d. by 4–5 % (above)
    assert share.std(axis=0) == pytest.approx(slow_share.std(axis=0), rel=0.02 if gamma else 0.06)
    assert amount.std(axis=0) == pytest.approx(slow_amount.std(axis=0), rel=0.02)
    assert np.all(_lag1(slow_share) > 0.55)  # persistent (fresh cases: 0)
    assert _lag1(share) == pytest.approx(_lag1(slow_share), abs=0.015)
    assert _lag1(amount) == pytest.approx(_lag1(slow_amount), abs=0.02)
    assert amount.sum(axis=1).std() == pytest.approx(slow_amount.sum(axis=1).std(), rel=0.02)
    for q in QUANTILES:
        assert np.quantile(amount[:, -1], q) == pytest.approx(
            np.quantile(slow_amount[:, -1], q), rel=0.03
        )
    assert stats.ks_2samp(amount[:, -1], slow_amount[:, -1]).statistic < 0.015


@pytest.mark.parametrize("cases", [{"concentration": 2.0}, TABLE], ids=["dirichlet", "table"])
def test_a_stock_without_exits_or_entrants_keeps_its_shares(cases) -> None:
    """exit_rate 0 and no growth: no case leaves, none enters, so every year's shares are
    year 0's (to rounding); year 0's are exactly those of the same group drawn afresh."""
    model = _stock_model(cases, 8, "gamma", 0.8, 0.0, years=4)
    data = model.model_dump(mode="python")
    data["client_groups"][0]["spend"]["clients"]["growth"] = 0.0
    shares = sample(Model.model_validate(data), 20_000, seed=4).case_shares["s117"]
    assert np.allclose(shares, shares[:, :1], rtol=0, atol=1e-12)
    data["client_groups"][0]["spend"]["clients"]["exit_rate"] = None
    fresh = sample(Model.model_validate(data), 20_000, seed=4).case_shares["s117"]
    assert np.array_equal(shares[:, 0], fresh[:, 0])


@pytest.mark.parametrize("cases", [{"concentration": 2.0}, TABLE], ids=["dirichlet", "table"])
def test_a_stock_that_all_leaves_is_drawn_afresh(cases) -> None:
    """exit_rate 1: no case survives a year, so each year's shares are a fresh draw: the same
    distribution as without exit_rate (KS), and no correlation between years."""
    model = _stock_model(cases, 8, "gamma", 0.8, 1.0, years=3)
    shares = sample(model, N, seed=6).case_shares["s117"][:, :, 0]
    data = model.model_dump(mode="python")
    data["client_groups"][0]["spend"]["clients"]["exit_rate"] = None
    fresh = sample(Model.model_validate(data), N, seed=7).case_shares["s117"][:, :, 0]
    for year in (1, 2):
        assert stats.ks_2samp(shares[:, year], fresh[:, year]).pvalue > 1e-3
    assert np.all(np.abs(_lag1(shares)) < 5 / np.sqrt(N))


def test_carried_cases_leave_spend_bit_identical_and_do_not_depend_on_chunking() -> None:
    """The stock's spend is the same with or without ``cases``; the shares are the same for
    any number of simulations, blocks or workers (with high-cost placements too)."""
    model = _stock_model(TABLE, 6, "lognormal", 0.9, 0.25, years=4)
    data = model.model_dump(mode="python")
    data["client_groups"][0]["cases"] = None
    a, b = sample(model, 3000, seed=9), sample(Model.model_validate(data), 3000, seed=9)
    assert np.array_equal(a.spend, b.spend)
    data = _stock_model({"concentration": 1.5}, 6, "gamma", 0.9, 0.25, years=4).model_dump()
    data["client_groups"][0]["high_cost"] = {"rate": 1, "mean": 5.0, "cv": 0.5}
    for m in (model, Model.model_validate(data)):
        small = sample(m, 1000, seed=2, block_size=512).case_shares["s117"]
        large = sample(m, 5000, seed=2, block_size=512, workers=2).case_shares["s117"]
        assert np.array_equal(small, large[:1000])
        assert np.allclose(small.sum(axis=-1), 1.0) and small.min() >= 0


def test_carried_rows_of_equal_costs_keep_their_count_fractions() -> None:
    """cv = 0: a row keeps exactly b_k/n_k of its part; the survivors' rows sum to B."""
    rng = np.random.default_rng(0)
    rows = np.array([[4, 0, 6], [6, 3, 0]])
    parts = rows / rows.sum(axis=0)
    kept, kept_parts = draws.surviving_case_rows(rng, rows, parts, np.array([5, 2, 0]), 0.0)
    assert np.array_equal(kept.sum(axis=0), [5, 2, 0]) and np.all(kept <= rows)
    np.testing.assert_allclose(kept_parts[:, :2], kept[:, :2] / kept[:, :2].sum(axis=0))
    assert np.array_equal(kept_parts[:, 2], [1.0, 0.0])  # no survivors: the placeholder
