"""Tests of the pure sampling kernels in riskshare.sampling.draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from riskshare.sampling import draws


def implied_pmf(table: draws.AliasTable) -> np.ndarray:
    """The exact distribution an alias table draws from (ignoring float rounding of u·K)."""
    k = table.size
    prob = table.threshold - np.arange(k)
    pmf = prob.copy()
    np.add.at(pmf, table.alias, 1.0 - prob)
    return pmf / k


def exact_compound(rng, lam, cv, n):
    """Exact compound Poisson-lognormal sums, one draw per client (slow reference)."""
    counts = rng.poisson(lam, n)
    sigma = float(draws.lognormal_sigma(cv))
    costs = rng.lognormal(-0.5 * sigma**2, sigma, counts.sum())
    return np.bincount(np.repeat(np.arange(n), counts), weights=costs, minlength=n)


def fast_compound(rng, lam, cv, n):
    """The shortcut: Poisson counts, then one shifted-lognormal draw."""
    counts = rng.poisson(lam, n)
    values, index = np.unique(counts, return_inverse=True)
    table = draws.compound_table(values, cv)
    return draws.compound_lognormal(table, index, rng.standard_normal(n), np.empty(n))


# ----------------------------------------------------------------------------- alias tables


@pytest.mark.parametrize("mean", [0.3, 7.0, 300.0, 4000.0])
def test_poisson_alias_table_is_exact(mean):
    table = draws.count_table(mean)
    pmf = stats.poisson.pmf(table.counts, mean)
    np.testing.assert_allclose(implied_pmf(table), pmf / pmf.sum(), rtol=1e-9, atol=1e-15)
    assert stats.poisson.cdf(table.offset - 1, mean) < 1e-20
    assert stats.poisson.sf(table.counts[-1], mean) < 1e-20


@pytest.mark.parametrize(("mean", "dispersion"), [(50.0, 2.0), (1000.0, 40.0)])
def test_negative_binomial_alias_table_is_exact(mean, dispersion):
    table = draws.count_table(mean, dispersion)
    p = dispersion / (dispersion + mean)
    pmf = stats.nbinom.pmf(table.counts, dispersion, p)
    np.testing.assert_allclose(implied_pmf(table), pmf / pmf.sum(), rtol=1e-9, atol=1e-15)
    assert pmf.sum() > 1 - 1e-14


def test_alias_draws_match_poisson_pmf_chi_square():
    mean, n = 40.0, 2_000_000
    table = draws.count_table(mean)
    u = np.random.default_rng(1).random(n)
    counts = draws.alias_index(table, u, np.empty(n, dtype=np.intp)) + table.offset
    observed = np.bincount(counts, minlength=table.counts[-1] + 1)[table.offset :]
    expected = n * stats.poisson.pmf(table.counts, mean)
    # pool the bins with expected counts below 5 into the tails
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], n - expected[keep].sum())
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi2, obs.size - 1) > 1e-3
    assert abs(counts.mean() - mean) < 5 * np.sqrt(mean / n)


def test_alias_index_uses_one_uniform_and_stays_in_range():
    table = draws.alias_table([0.0, 0.5, 0.0, 0.5], offset=10)
    u = np.array([0.0, 0.1, 0.3, 0.6, 0.99, np.nextafter(1.0, 0)])
    idx = draws.alias_index(table, u.copy(), np.empty(u.size, dtype=np.intp))
    assert set(idx + table.offset) <= {11, 13}


def test_alias_table_rejects_bad_pmf():
    with pytest.raises(ValueError, match="pmf"):
        draws.alias_table([0.5, -0.1])
    with pytest.raises(ValueError, match="pmf"):
        draws.alias_table([0.0, 0.0])


def test_wide_negative_binomial_range_is_not_tabulated():
    assert draws.count_table(1e7, 0.5) is None


# ----------------------------------------------------------------------------- shifted lognormal


@pytest.mark.parametrize("cv", [0.05, 0.6, 1.0, 3.0, 20.0])
def test_shifted_lognormal_matches_three_moments(cv):
    k = np.array([1, 2, 3, 10, 300, 4000, 10**6])
    a, b, c = draws.shifted_lognormal_params(k, cv)
    e = np.expm1(a**2)
    mean = c + np.exp(b + a**2 / 2)
    var = np.exp(2 * b + a**2) * e
    skew = (e + 3) * np.sqrt(e)
    np.testing.assert_allclose(mean, k, rtol=1e-10)
    np.testing.assert_allclose(var, k * cv**2, rtol=1e-9)
    np.testing.assert_allclose(skew, (3 * cv + cv**3) / np.sqrt(k), rtol=1e-8)
    assert np.all(c >= 0)


def test_shifted_lognormal_special_cases():
    a, b, c = draws.shifted_lognormal_params(np.array([0, 1]), 0.6)
    sigma = np.sqrt(np.log1p(0.36))
    assert a[0] == 0 and b[0] == -np.inf and c[0] == 0
    np.testing.assert_allclose([a[1], b[1], c[1]], [sigma, -(sigma**2) / 2, 0.0], atol=1e-12)
    table = draws.compound_table(np.array([0, 1, 5]), 0.0, scale=100.0)
    out = draws.compound_lognormal(table, np.arange(3), np.array([1.0, -2.0, 3.0]), np.empty(3))
    np.testing.assert_array_equal(out, [0.0, 100.0, 500.0])
    with pytest.raises(ValueError, match="cv"):
        draws.shifted_lognormal_params(np.array([1]), -1.0)


def test_shortcut_agrees_with_exact_per_client_sampling():
    """The documented approximation: moderate case Λ = 20, cv = 0.8 (docs/sampling.md)."""
    n, lam, cv = 200_000, 20.0, 0.8
    exact = exact_compound(np.random.default_rng(11), lam, cv, n)
    fast = fast_compound(np.random.default_rng(12), lam, cv, n)
    assert stats.ks_2samp(exact, fast).statistic < 0.008
    q = [0.5, 0.9, 0.95, 0.99]
    np.testing.assert_allclose(np.quantile(fast, q), np.quantile(exact, q), rtol=0.015)
    # and both match the compound Poisson closed forms
    for s in (exact, fast):
        assert abs(s.mean() - lam) < 5 * np.sqrt(lam * (1 + cv**2) / n)
        assert abs(s.var() / (lam * (1 + cv**2)) - 1) < 0.02


# ----------------------------------------------------------------------------- gamma


def test_compound_gamma_is_exact_gamma_sum():
    rng = np.random.default_rng(3)
    counts = np.full(100_000, 7)
    s = draws.compound_gamma(rng, counts, 0.5, 200.0)
    assert stats.kstest(s, stats.gamma(7 / 0.25, scale=200.0 * 0.25).cdf).pvalue > 1e-3
    assert draws.compound_gamma(rng, np.array([0]), 0.5, 200.0)[0] == 0.0
    np.testing.assert_array_equal(draws.compound_gamma(rng, np.array([3]), 0.0, 2.0), [6.0])


def test_gamma_from_normal_is_the_gamma_quantile_in_both_tails():
    z = np.array([-9.0, -1.0, 0.0, 1.5, 9.0])
    shape = np.full(z.size, 3.0)
    got = draws.gamma_from_normal(shape, z)
    np.testing.assert_allclose(got[1:4], stats.gamma(3.0).ppf(special.ndtr(z[1:4])), rtol=1e-10)
    assert np.all(np.isfinite(got)) and np.all(np.diff(got) > 0)
    assert draws.gamma_from_normal(np.zeros(1), np.ones(1))[0] == 0.0


# ----------------------------------------------------------------------------- other kernels


def test_mean_one_lognormal():
    z = np.random.default_rng(4).standard_normal(400_000)
    x = draws.mean_one_lognormal(z, 0.3)
    assert abs(x.mean() - 1) < 5 * 0.3 / np.sqrt(z.size)
    assert abs(x.std() / 0.3 - 1) < 0.02


def test_survivor_share_is_beta():
    rng = np.random.default_rng(5)
    n = 200_000
    share = draws.survivor_share(rng, np.full(n, 3), np.full(n, 10), 0.5)
    assert stats.kstest(share, stats.beta(3 * 4, 7 * 4).cdf).pvalue > 1e-3
    edge = draws.survivor_share(rng, np.array([0, 0, 4]), np.array([0, 5, 4]), 0.5)
    np.testing.assert_array_equal(edge, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(
        draws.survivor_share(rng, np.array([1, 0]), np.array([4, 0]), 0.0), [0.25, 0.0]
    )


@pytest.mark.parametrize(
    ("distribution", "cv", "minimum"), [("lognormal", 1.2, None), ("pareto", None, 6e5)]
)
def test_high_cost_totals(distribution, cv, minimum):
    rng = np.random.default_rng(6)
    counts = rng.poisson(2.0, 200_000)
    totals = draws.high_cost_totals(rng, counts, distribution, 1e6, cv=cv, minimum=minimum)
    assert totals.shape == counts.shape
    assert np.all(totals[counts == 0] == 0)
    if minimum is not None:
        assert np.all(totals[counts == 1] >= minimum)
    assert abs(totals.sum() / counts.sum() / 1e6 - 1) < 0.01
    with pytest.raises(ValueError, match="minimum"):
        draws.high_cost_totals(rng, counts, "pareto", 1e6, minimum=2e6)


def test_uncertain_rate_is_clipped():
    r = draws.uncertain_rate(np.random.default_rng(7), -0.9, 1.0, 10_000)
    assert r.min() == draws.MIN_RATE
    assert (r > draws.MIN_RATE).any()


def test_correlation_factor():
    m = np.array([[1.0, 0.5], [0.5, 1.0]])
    f = draws.correlation_factor(m)
    np.testing.assert_allclose(f @ f.T, m)
    assert f[0, 1] == 0  # Cholesky
    psd = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    f = draws.correlation_factor(psd)
    np.testing.assert_allclose(f @ f.T, psd, atol=1e-12)
