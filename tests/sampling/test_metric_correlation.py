"""A performance metric correlated with groups' spend (``correlation.metrics``, Gaussian copula).

Closed forms (docs/sampling.md §11): the metric's normal Y_t and the group's
copula normal Z_t of year t have correlation ρ. An aggregate group with
persistence φ uses X_t = φ X_{t−1} + c Z_t (X_0 = Z_0), so
corr(Y_t, X_t) = ρ c_t with c_0 = 1 and c_t = √(1 − φ²) (c_t = 1 for φ = 1,
where var X_t = t + 1). Spend S_t = m_t exp(σ X_t − σ² v_t / 2) (lognormal,
σ² = ln(1 + cv²)) gives, by Stein's lemma (cov(Y, g(X)) = cov(Y, X) E g'(X)),
corr(metric_t, S_t) = ρ c_t σ / √(exp(σ² v_t) − 1); a normal group
S_t = m_t (1 + cv X_t) gives ρ c_t / √v_t exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskshare.config.model import Model
from riskshare.sampling import sample

N = 400_000
RHO = -0.5


def model(correlation=None, *, dist="lognormal", cv=0.1, phi=0.0, sd=0.03, years=4) -> Model:
    group = {
        "id": "ooh",
        "commissioners": "icb",
        "spend": {
            "model": "aggregate",
            "distribution": dist,
            "mean": 2e7,
            "cv": cv,
            "persistence": phi,
        },
    }
    other = {
        "id": "asc",
        "commissioners": "icb",
        "spend": {"model": "aggregate", "distribution": "normal", "mean": 1e7, "cv": 0.05},
    }
    data = {
        "partners": [{"id": "icb"}],
        "client_groups": [group, other],
        "contributions": {"icb": {"kind": "expected_cost"}},
        "performance": [{"id": "nea", "mean": 0.01, "sd": sd}, {"id": "dtoc", "mean": 2, "sd": 1}],
        "simulation": {"years": years},
    }
    if correlation is not None:
        data["correlation"] = correlation
    return Model.model_validate(data)


def with_metric(rho=RHO, **kw) -> Model:
    corr = {"groups": ["ooh"], "metrics": ["nea"], "matrix": [[1, rho], [rho, 1]]}
    return model(corr, **kw)


def c_t(t: int, phi: float) -> float:
    return 1.0 if t == 0 or phi == 1 else math.sqrt(1 - phi * phi)


def v_t(t: int, phi: float) -> float:
    return t + 1.0 if phi == 1 else 1.0


def se_corr(r: float, n: int = N) -> float:
    """Large-sample standard error of a Pearson correlation of (near-)normal pairs."""
    return (1 - r * r) / math.sqrt(n)


@pytest.mark.parametrize("phi", [0.0, 0.5, 1.0])
def test_correlation_with_lognormal_spend_closed_form(phi):
    cv = 0.1
    paths = sample(with_metric(cv=cv, phi=phi), N, seed=3)
    sigma = math.sqrt(math.log1p(cv * cv))
    for t in range(4):
        want = RHO * c_t(t, phi) * sigma / math.sqrt(math.expm1(sigma * sigma * v_t(t, phi)))
        got = np.corrcoef(paths.metrics["nea"][:, t], paths.spend[:, t, 0])[0, 1]
        # a lognormal pair is not bivariate normal: allow 6 normal-theory standard errors
        assert abs(got - want) < 6 * se_corr(want), (t, got, want)


def test_correlation_with_normal_spend_is_rho_times_innovation_weight():
    paths = sample(with_metric(dist="normal", cv=0.05, phi=0.5), N, seed=4)
    for t in range(4):
        want = RHO * c_t(t, 0.5)
        got = np.corrcoef(paths.metrics["nea"][:, t], paths.spend[:, t, 0])[0, 1]
        assert abs(got - want) < 5 * se_corr(want), (t, got, want)


def test_marginal_unchanged_and_years_independent():
    m = sample(with_metric(), N, seed=5).metrics["nea"]
    se_mean = 0.03 / math.sqrt(N)
    assert np.all(np.abs(m.mean(axis=0) - 0.01) < 5 * se_mean)
    sd_se = 0.03 / math.sqrt(2 * N)
    assert np.all(np.abs(m.std(axis=0) - 0.03) < 5 * sd_se)
    assert abs(np.corrcoef(m[:, 0], m[:, 1])[0, 1]) < 5 / math.sqrt(N)


def test_groups_draws_and_other_metrics_do_not_change():
    """Adding a metric to the copula changes only that metric's numbers."""
    groups_only = model({"groups": ["ooh", "asc"], "matrix": [[1, 0.3], [0.3, 1]]}, phi=0.5)
    both = model(
        {
            "groups": ["ooh", "asc"],
            "metrics": ["nea"],
            "matrix": [[1, 0.3, -0.5], [0.3, 1, -0.2], [-0.5, -0.2, 1]],
        },
        phi=0.5,
    )
    a, b = sample(groups_only, 5000, seed=8), sample(both, 5000, seed=8)
    np.testing.assert_array_equal(a.spend, b.spend)
    np.testing.assert_array_equal(a.metrics["dtoc"], b.metrics["dtoc"])
    assert not np.array_equal(a.metrics["nea"], b.metrics["nea"])


def test_zero_correlation_draws_the_metric_as_without():
    plain = sample(model(), 5000, seed=9)
    zero = sample(with_metric(rho=0.0), 5000, seed=9)
    np.testing.assert_array_equal(plain.metrics["nea"], zero.metrics["nea"])
    np.testing.assert_array_equal(plain.metrics["dtoc"], zero.metrics["dtoc"])


def test_full_correlation_makes_the_metric_a_function_of_spend():
    """ρ = −1 (a singular matrix): the metric's normal is minus the group's normal."""
    paths = sample(with_metric(rho=-1.0, dist="normal", cv=0.05), 2000, seed=10)
    z_group = (paths.spend[:, :, 0] / 2e7 - 1.0) / 0.05
    z_metric = (paths.metrics["nea"] - 0.01) / 0.03
    np.testing.assert_allclose(z_metric, -z_group, atol=1e-9)


def test_two_groups_and_a_metric_reproduce_the_matrix():
    corr = [[1, 0.3, -0.5], [0.3, 1, -0.2], [-0.5, -0.2, 1]]
    m = model(
        {"groups": ["ooh", "asc"], "metrics": ["nea"], "matrix": corr}, dist="normal", cv=0.05
    )
    paths = sample(m, N, seed=12)
    got = np.corrcoef([paths.spend[:, 1, 0], paths.spend[:, 1, 1], paths.metrics["nea"][:, 1]])
    np.testing.assert_allclose(got, corr, atol=5 / math.sqrt(N))


def test_same_numbers_however_chunked():
    m = with_metric(phi=0.5)
    whole = sample(m, 9000, seed=13, block_size=4096)
    parts = sample(m, 9000, seed=13, block_size=4096, workers=3)
    np.testing.assert_array_equal(whole.metrics["nea"], parts.metrics["nea"])
    head = sample(m, 100, seed=13, block_size=4096)
    np.testing.assert_array_equal(head.metrics["nea"], whole.metrics["nea"][:100])


@pytest.mark.parametrize(
    ("correlation", "perf_sd", "expected"),
    [
        (
            {"groups": ["ooh"], "metrics": ["nope"], "matrix": [[1, 0.1], [0.1, 1]]},
            0.03,
            "correlation.metrics: unknown performance metric 'nope'",
        ),
        (
            {"groups": ["ooh"], "metrics": ["nea"], "matrix": [[1, 0.1], [0.1, 1]]},
            0.0,
            "metric 'nea' has sd 0",
        ),
        (
            {"groups": ["ooh"], "matrix": [[1]]},
            0.03,
            "at least two groups, or a group and a metric",
        ),
        (
            {"groups": ["ooh"], "metrics": ["nea"], "matrix": [[1, 0.1, 0], [0.1, 1, 0]]},
            0.03,
            "must be 2x2 for 2 groups and metrics",
        ),
    ],
)
def test_bad_metric_correlation_is_refused(correlation, perf_sd, expected):
    with pytest.raises(ValueError) as info:
        model(correlation, sd=perf_sd)
    assert expected in str(info.value)
