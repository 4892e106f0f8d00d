"""Recurrent pressures: AR(1) persistence of spend deviations, against closed forms.

For an aggregate lognormal group with persistence φ the log-spend of year t is
``ln m_t - σ²/2 + σ X_t`` with ``X`` a stationary AR(1) (φ < 1), so

* ``corr(ln S_s, ln S_t) = φ^|s-t|``;
* every year's mean ``m_t`` and CV ``c`` are those of the config;
* ``cov(S_s, S_t) = m_s m_t (exp(σ² φ^|s-t|) - 1)``, whose sum is the
  variance of the multi-year total.

With φ = 1 (a random walk) ``cov(X_s, X_t) = min(s, t) + 1`` instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskshare.config.model import Model
from riskshare.sampling import draws, sample, sample_block


def make_model(groups, shocks=(), correlation=None) -> Model:
    """A two-partner, five-year model around the given client_groups specs."""
    data = {
        "partners": [{"id": "nhs"}, {"id": "council"}],
        "client_groups": [{"commissioners": "nhs", **g} for g in groups],
        "common_shocks": list(shocks),
        "contributions": {"nhs": {"kind": "expected_cost"}, "council": {"kind": "expected_cost"}},
        "simulation": {"years": 5},
    }
    if correlation is not None:
        data["correlation"] = correlation
    return Model.model_validate(data)


def clients(gid, mean, cost, cv, growth=0.0, inflation=0.0, counts=None) -> dict:
    return {
        "id": gid,
        "spend": {
            "model": "clients",
            "clients": {"mean": mean, "growth": growth, **(counts or {})},
            "cost": {"mean": cost, "cv": cv, "inflation": inflation},
        },
    }


MEAN, CV, GROWTH = 5e6, 0.1, 0.04
SIGMA2 = float(np.log1p(CV * CV))


def aggregate(phi: float, distribution: str = "lognormal", **extra) -> dict:
    return {
        "id": "pool",
        "spend": {
            "model": "aggregate",
            "distribution": distribution,
            "mean": MEAN,
            "cv": CV,
            "growth": GROWTH,
            "persistence": phi,
        },
        **extra,
    }


def log_cov(phi: float, years: int) -> np.ndarray:
    """Covariance of the AR(1) X_s, X_t (stationary, or a random walk when φ = 1)."""
    s, t = np.meshgrid(np.arange(years), np.arange(years), indexing="ij")
    if phi == 1:
        return np.minimum(s, t) + 1.0
    return phi ** np.abs(s - t)


def exact_total_sd(phi: float, years: int = 5) -> float:
    """s.d. of the multi-year total of the aggregate lognormal group, exactly. [£]"""
    m = MEAN * (1 + GROWTH) ** np.arange(years)
    cov = np.outer(m, m) * np.expm1(SIGMA2 * log_cov(phi, years))
    return float(np.sqrt(cov.sum()))


@pytest.fixture(scope="module")
def million() -> dict[float, np.ndarray]:
    """Spend (10^6 simulations, 5 years) of the aggregate group for several φ."""
    out = {}
    for phi in (0.0, 0.5, 0.9, 1.0):
        paths = sample(make_model([aggregate(phi)]), 1_000_000, seed=2026)
        out[phi] = np.asarray(paths.spend[:, :, 0])
    return out


# ----------------------------------------------------------------------------- kernel


def test_ar1_recursion_by_hand():
    z = np.array([[1.0], [2.0], [-1.0]])
    c = np.sqrt(1 - 0.25)
    x = draws.ar1(z, 0.5)
    assert x[:, 0] == pytest.approx([1.0, 0.5 + 2 * c, 0.5 * (0.5 + 2 * c) - c])
    assert draws.ar1(z, 1.0)[:, 0] == pytest.approx([1.0, 3.0, 2.0])
    assert np.array_equal(draws.ar1(z, 0.0), z)
    assert list(draws.ar1_variance(3, 1.0)) == [1.0, 2.0, 3.0]
    assert list(draws.ar1_variance(3, 0.7)) == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="phi"):
        draws.ar1(z, 1.5)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_lag_correlation_of_log_spend_is_phi_to_the_k(million, phi):
    logs = np.log(million[phi])
    n = logs.shape[0]
    r = np.corrcoef(logs.T)
    for k in range(1, 5):
        rho = phi**k
        se = (1 - rho * rho) / np.sqrt(n)  # of a sample correlation
        lags = np.diagonal(r, offset=k)
        assert np.all(np.abs(lags - rho) < 5 * se + 1e-12), (k, lags, rho)


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_each_year_mean_and_cv_unchanged(million, phi):
    spend = million[phi]
    n = spend.shape[0]
    m = MEAN * (1 + GROWTH) ** np.arange(5)
    mean_se = CV * m / np.sqrt(n)
    assert np.all(np.abs(spend.mean(axis=0) - m) < 5 * mean_se)
    cv = spend.std(axis=0) / spend.mean(axis=0)
    # s.e. of a sample CV of a lognormal with CV 0.1 is about 0.1 * 0.72 / sqrt(n).
    assert np.all(np.abs(cv - CV) < 5 * 0.08 / np.sqrt(n))
    # ... and the same numbers as without persistence, year 0 drawn identically.
    assert np.array_equal(spend[:, 0], million[0.0][:, 0])


@pytest.mark.slow
def test_random_walk_keeps_the_mean_and_grows_the_variance(million):
    spend = million[1.0]
    n = spend.shape[0]
    t = np.arange(5)
    m = MEAN * (1 + GROWTH) ** t
    cv_t = np.sqrt(np.expm1(SIGMA2 * (t + 1)))  # exact CV of year t
    assert np.all(np.abs(spend.mean(axis=0) - m) < 5 * cv_t * m / np.sqrt(n))
    assert spend.std(axis=0) / m == pytest.approx(cv_t, rel=0.01)
    logs = np.log(spend)
    assert np.var(logs, axis=0) == pytest.approx(SIGMA2 * (t + 1), rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, 1.0])
def test_sd_of_five_year_total_matches_exact_formula(million, phi):
    total = million[phi].sum(axis=1)
    n = total.size
    sd = total.std(ddof=1)
    dev = total - total.mean()
    m4 = np.mean(dev**4)
    se = np.sqrt((m4 - sd**4) / n) / (2 * sd)  # delta method on the sample variance
    exact = exact_total_sd(phi)
    assert abs(sd - exact) < 3 * se, (sd, exact, se)


def test_exact_total_sd_by_hand():
    # Two years, φ = 0.5: var = m0² e0 + m1² e0 + 2 m0 m1 (exp(σ² / 2) - 1), e0 = cv².
    m0, m1 = MEAN, MEAN * (1 + GROWTH)
    var = (m0**2 + m1**2) * CV**2 + 2 * m0 * m1 * np.expm1(SIGMA2 * 0.5)
    assert exact_total_sd(0.5, years=2) == pytest.approx(np.sqrt(var), rel=1e-12)


@pytest.mark.parametrize("distribution", ["gamma", "normal"])
def test_normal_scores_of_other_distributions_follow_the_ar1(distribution):
    from scipy import stats

    model = make_model([aggregate(0.8, distribution)])
    spend = np.asarray(sample(model, 40_000, seed=3).spend[:, :, 0])
    rank = stats.spearmanr(spend[:, 1], spend[:, 2]).statistic
    # Spearman of a bivariate normal with correlation r is (6/π) asin(r/2).
    assert rank == pytest.approx(6 / np.pi * np.arcsin(0.4), abs=0.02)
    m = MEAN * (1 + GROWTH) ** np.arange(5)
    assert spend.mean(axis=0) == pytest.approx(m, rel=0.005)
    assert spend.std(axis=0) / m == pytest.approx(np.full(5, CV), rel=0.03)


def test_gamma_random_walk_is_refused():
    with pytest.raises(ValueError, match="random walk"):
        make_model([aggregate(1.0, "gamma")])


def test_persistence_applies_to_copula_normals():
    model = make_model(
        [aggregate(0.9), {**aggregate(0.9), "id": "other"}],
        correlation={"groups": ["pool", "other"], "matrix": [[1, 0.6], [0.6, 1]]},
    )
    logs = np.log(np.asarray(sample(model, 40_000, seed=4).spend))
    assert np.corrcoef(logs[:, 0, 0], logs[:, 0, 1])[0, 1] == pytest.approx(0.6, abs=0.02)
    assert np.corrcoef(logs[:, 3, 0], logs[:, 3, 1])[0, 1] == pytest.approx(0.6, abs=0.02)
    assert np.corrcoef(logs[:, 0, 0], logs[:, 2, 0])[0, 1] == pytest.approx(0.81, abs=0.02)


def test_common_shock_persistence():
    fixed = {"id": "pool", "spend": {"model": "fixed", "amount": 1e6}}
    shocks = [{"id": "system", "cv": 0.05, "persistence": 0.7}]
    logs = np.log(np.asarray(sample(make_model([fixed], shocks=shocks), 40_000, seed=5).spend))
    logs = logs[:, :, 0]
    r = np.corrcoef(logs.T)
    assert np.diagonal(r, 1) == pytest.approx(np.full(4, 0.7), abs=0.02)
    assert np.diagonal(r, 3) == pytest.approx(np.full(2, 0.343), abs=0.02)
    assert np.exp(logs).mean(axis=0) == pytest.approx(np.full(5, 1e6), rel=0.002)
    walk = [{"id": "system", "cv": 0.05, "persistence": 1.0}]
    logs = np.log(np.asarray(sample(make_model([fixed], shocks=walk), 40_000, seed=5).spend))
    assert np.var(logs[:, :, 0], axis=0) == pytest.approx(0.0025 * np.arange(1, 6), rel=0.03)


def _shock_corr(lam: float, cv: float, phi: float, k: int, volume: bool) -> float:
    """Exact corr(S_s, S_{s+k}) of a clients group with cost CV 0 and one shock.

    Volume shock V: N | V ~ Poisson(λ V), var N = λ + λ² c², cov = λ² (e^{σ² φ^k} - 1).
    Unit-cost shock C: S = M N C, var S/M = (λ + λ²)(1 + c²) - λ², cov/M² = λ² (e^{σ² φ^k} - 1).
    """
    s2 = np.log1p(cv * cv)
    cov = lam * lam * np.expm1(s2 * phi**k)
    var = lam + lam * lam * cv * cv if volume else (lam + lam * lam) * (1 + cv * cv) - lam * lam
    return float(cov / var)


@pytest.mark.parametrize("volume", [True, False])
def test_client_group_shocks_against_closed_form(volume):
    shock = {"cv": 0.1, "persistence": 0.6}
    where = "counts" if volume else "cost_shock"
    group = clients("ld", 50, 20_000, 0.0)
    if volume:
        group["spend"]["clients"]["shock"] = shock
    else:
        group["spend"]["cost"]["shock"] = shock
    model = make_model([group])
    spend = np.asarray(sample(model, 200_000, seed=6).spend[:, :, 0])
    r = np.corrcoef(spend.T)
    for k in (1, 2, 3):
        exact = _shock_corr(50, 0.1, 0.6, k, volume)
        assert np.diagonal(r, k) == pytest.approx(np.full(5 - k, exact), abs=0.01), where
    expected = model.expected_spend()[:, 0]
    assert spend.mean(axis=0) == pytest.approx(expected, rel=0.005)


def test_persistent_stock_with_cost_shock_keeps_expected_spend():
    group = clients("ld", 80, 30_000, 0.6, 0.02, 0.03, counts={"exit_rate": 0.2})
    group["spend"]["clients"]["shock"] = {"cv": 0.05, "persistence": 0.5}
    group["spend"]["cost"]["shock"] = {"cv": 0.05, "persistence": 1.0}
    model = make_model([group])
    spend = np.asarray(sample(model, 100_000, seed=8).spend[:, :, 0])
    se = spend.std(axis=0) / np.sqrt(spend.shape[0])
    assert np.all(np.abs(spend.mean(axis=0) - model.expected_spend()[:, 0]) < 5 * se)


# ----------------------------------------------------------------------------- reproducibility


def _every_persistence() -> Model:
    group = clients("ld", 80, 30_000, 0.6, counts={"exit_rate": 0.2})
    group["spend"]["clients"]["shock"] = {"cv": 0.05, "persistence": 0.5}
    group["spend"]["cost"]["shock"] = {"cv": 0.03, "persistence": 0.9}
    return make_model(
        [group, aggregate(0.7), {**aggregate(0.4, "gamma"), "id": "equipment"}],
        shocks=[{"id": "system", "cv": 0.04, "persistence": 0.8}],
    )


def test_persistence_same_numbers_however_chunked():
    model = _every_persistence()
    whole = sample(model, 700, seed=9, block_size=256)
    threaded = sample(model, 600, seed=9, block_size=256, workers=3)
    assert np.array_equal(whole.spend[:600], threaded.spend)
    second = sample_block(model, 9, 1, block_size=256)
    assert np.array_equal(whole.spend[256:512], second.spend)


def test_persistence_off_draws_as_before():
    """φ = 0 written out gives the numbers of a config without the field."""
    on = _every_persistence()
    data = on.model_dump(mode="json", exclude_none=True)
    data["client_groups"][1]["spend"]["persistence"] = 0.0
    data["common_shocks"][0]["persistence"] = 0.0
    off = Model.model_validate(data)
    del data["client_groups"][1]["spend"]["persistence"]
    del data["common_shocks"][0]["persistence"]
    absent = Model.model_validate(data)
    a = sample(off, 300, seed=10, block_size=128).spend
    b = sample(absent, 300, seed=10, block_size=128).spend
    assert np.array_equal(a, b)
    c = sample(on, 300, seed=10, block_size=128).spend
    assert np.array_equal(a[:, 0, 1], c[:, 0, 1])  # year 0 is not touched by φ
    assert not np.array_equal(a[:, 1, 1], c[:, 1, 1])
