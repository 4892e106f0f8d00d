"""Tests of the model-level draws of riskshare.sampling: performance metrics and
integration savings, and the cheap (read-only zero) arrays of what a model lacks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from riskshare.config.model import Model
from riskshare.paths import SpendPaths, zeros_view
from riskshare.sampling import sample, sample_block

RAMP = [0.0, 0.25, 0.5, 1.0, 1.0]


def make_model(performance=(), savings=None, charging=None, years=5) -> Model:
    group = {
        "id": "g",
        "commissioners": "nhs",
        "spend": {"model": "aggregate", "mean": 1e6, "cv": 0.1},
    }
    if charging is not None:
        group["charging"] = charging
    data = {
        "partners": [{"id": "nhs"}],
        "client_groups": [group, {**group, "id": "h", "charging": None}],
        "contributions": {"nhs": {"kind": "expected_cost"}},
        "simulation": {"years": years},
        "performance": list(performance),
    }
    if savings is not None:
        data["integration_savings"] = savings
    return Model.model_validate(data)


METRICS = [
    {"id": "admissions", "mean": 0.05, "sd": 0.02},
    {"id": "delays", "mean": -3.0, "sd": 1.5},
    {"id": "fixed_metric", "mean": 7.0, "sd": 0.0},
]
SAVINGS = {"amount": 2e6, "ramp": RAMP, "probability_none": 0.3, "cv": 0.5}


@pytest.fixture(scope="module")
def extras() -> Model:
    return make_model(METRICS, SAVINGS, charging={"rate": 0.1, "cv": 0.2})


@pytest.fixture(scope="module")
def big(extras) -> SpendPaths:
    return sample(extras, 200_000, seed=11, block_size=4096)


# ----------------------------------------------------------------------------- shapes, defaults


def test_fields_and_shapes(big):
    assert list(big.metrics) == ["admissions", "delays", "fixed_metric"]
    for values in big.metrics.values():
        assert values.shape == (200_000, 5)
        assert values.dtype == np.float64
    assert big.savings.shape == (200_000, 5)
    assert big.income.flags.writeable


def test_absent_extras_are_cheap_read_only_zeros():
    paths = sample_block(make_model(), seed=3, block=0, block_size=1000)
    assert dict(paths.metrics) == {}
    for arr, shape in ((paths.income, (1000, 5, 2)), (paths.savings, (1000, 5))):
        assert arr.shape == shape
        assert not arr.any()
        assert not arr.flags.writeable
        assert not any(arr.strides)  # a broadcast view: no memory per simulation
        with pytest.raises(ValueError):
            arr[0] = 1.0
    part = paths.take(slice(10, 20))
    assert part.income.shape == (10, 5, 2) and not any(part.income.strides)
    assert part.savings.shape == (10, 5) and not any(part.savings.strides)
    whole = sample(make_model(), 3000, seed=3, block_size=1000)
    assert not any(whole.income.strides) and not any(whole.savings.strides)
    np.testing.assert_array_equal(whole.spend[:1000], paths.spend)


def test_spend_paths_minimal_construction():
    spend = np.ones((4, 3, 2))
    paths = SpendPaths(spend, np.zeros_like(spend), ("a", "b"), 3)
    assert paths.metrics == {}
    assert paths.savings.shape == (4, 3) and not paths.savings.any()
    paths = SpendPaths(spend, None, ("a", "b"), 3)
    assert paths.income.shape == (4, 3, 2) and not paths.income.any()
    taken = paths.take(np.array([0, 2]))
    assert taken.n_sims == 2 and taken.savings.shape == (2, 3)
    # pickles (process pools), zero views included
    again = pickle.loads(pickle.dumps(paths))
    np.testing.assert_array_equal(again.savings, paths.savings)


def test_spend_paths_validates_extra_shapes():
    spend = np.ones((4, 3, 1))
    with pytest.raises(ValueError, match="metrics"):
        SpendPaths(spend, None, ("a",), 3, metrics={"m": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="savings"):
        SpendPaths(spend, None, ("a",), 3, savings=np.zeros(4))


def test_take_selects_extras(big):
    idx = np.array([5, 1, 199_999])
    part = big.take(idx)
    for mid, values in big.metrics.items():
        np.testing.assert_array_equal(part.metrics[mid], values[idx])
    np.testing.assert_array_equal(part.savings, big.savings[idx])
    np.testing.assert_array_equal(part.income, big.income[idx])
    assert part.first_sim == 5
    one = big.take(7)
    assert one.savings.shape == (1, 5) and one.metrics["delays"].shape == (1, 5)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("spec", METRICS, ids=lambda m: m["id"])
def test_metric_moments(big, spec):
    values = big.metrics[spec["id"]]
    n = values.shape[0]
    mean, sd = spec["mean"], spec["sd"]
    if sd == 0:
        assert np.all(values == mean)
        return
    se_mean = sd / np.sqrt(n)
    assert np.all(np.abs(values.mean(axis=0) - mean) < 5 * se_mean)
    # sd of the sample sd of normals ≈ sd / sqrt(2n)
    assert np.all(np.abs(values.std(axis=0, ddof=1) - sd) < 5 * sd / np.sqrt(2 * n))
    # independent from year to year
    corr = np.corrcoef(values.T)
    off = corr[~np.eye(5, dtype=bool)]
    assert np.all(np.abs(off) < 5 / np.sqrt(n))


def test_metrics_independent_of_each_other(big):
    a, b = big.metrics["admissions"], big.metrics["delays"]
    r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert abs(r) < 5 / np.sqrt(a.size)


def test_savings_closed_form(big):
    level = SAVINGS["amount"] * np.asarray(RAMP)
    p, cv = SAVINGS["probability_none"], SAVINGS["cv"]
    s = big.savings
    n = s.shape[0]
    assert np.all(s[:, 0] == 0)  # ramp 0 in year 0
    # one U per simulation: every year is the same multiple of its level
    u = s[:, 3] / level[3]
    np.testing.assert_allclose(s[:, 1:], u[:, None] * level[None, 1:], rtol=1e-12, atol=0)
    zero = u == 0
    assert abs(zero.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    some = u[~zero]
    assert np.all(some > 0)
    m = some.size
    assert abs(some.mean() - 1.0) < 5 * cv / np.sqrt(m)
    # lognormal CV: sd of the sample variance is large (kurtosis), use a loose bound
    assert abs(some.std(ddof=1) - cv) < 0.02
    # the whole: E = level (1 - p), Var = level² [(1 - p)(1 + cv²) - (1 - p)²]
    var_u = (1 - p) * (1 + cv * cv) - (1 - p) ** 2
    sd_mean = level * np.sqrt(var_u / n)
    assert np.all(np.abs(s.mean(axis=0) - level * (1 - p)) <= 5 * sd_mean + 1e-9)
    np.testing.assert_allclose(s.var(axis=0)[1:], level[1:] ** 2 * var_u, rtol=0.03)


def test_savings_log_scale_is_normal(big):
    u = big.savings[:, 4] / (SAVINGS["amount"] * RAMP[4])
    logs = np.log(u[u > 0])
    sigma2 = np.log1p(SAVINGS["cv"] ** 2)
    assert abs(logs.mean() + sigma2 / 2) < 5 * np.sqrt(sigma2 / logs.size)
    assert abs(logs.var(ddof=1) - sigma2) < 5 * sigma2 * np.sqrt(2 / logs.size)


@pytest.mark.parametrize(("p", "cv"), [(0.0, 0.0), (0.4, 0.0), (0.0, 0.3), (1.0, 0.3)])
def test_savings_edge_cases(p, cv):
    model = make_model(savings={"amount": 1e6, "ramp": RAMP, "probability_none": p, "cv": cv})
    s = sample(model, 20_000, seed=2).savings
    level = 1e6 * np.asarray(RAMP)
    u = s[:, 4] / level[4]
    if p == 1.0:
        assert not s.any()
    elif cv == 0:
        assert set(np.unique(u)) <= {0.0, 1.0}
        if p == 0:
            np.testing.assert_array_equal(s, np.broadcast_to(level, s.shape))
        else:
            assert abs((u == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / u.size)
    else:
        assert np.all(u > 0)


# ----------------------------------------------------------------------------- determinism


def test_extras_deterministic_across_blocks_sims_and_workers(extras, big):
    blocks = [sample_block(extras, 11, b, block_size=4096) for b in range(3)]
    for mid in big.metrics:
        joined = np.concatenate([b.metrics[mid] for b in blocks])
        np.testing.assert_array_equal(joined, big.metrics[mid][: 3 * 4096])
    np.testing.assert_array_equal(
        np.concatenate([b.savings for b in blocks]), big.savings[: 3 * 4096]
    )
    small = sample(extras, 5000, seed=11, block_size=4096, workers=2)
    np.testing.assert_array_equal(small.savings, big.savings[:5000])
    np.testing.assert_array_equal(small.spend, big.spend[:5000])
    np.testing.assert_array_equal(small.income, big.income[:5000])
    for mid in big.metrics:
        np.testing.assert_array_equal(small.metrics[mid], big.metrics[mid][:5000])
    other = sample(extras, 5000, seed=12, block_size=4096)
    assert not np.array_equal(other.savings, small.savings)


def test_extras_do_not_disturb_other_streams(extras):
    plain = sample(make_model(charging={"rate": 0.1, "cv": 0.2}), 3000, seed=4)
    full = sample(extras, 3000, seed=4)
    np.testing.assert_array_equal(plain.spend, full.spend)
    np.testing.assert_array_equal(plain.income, full.income)
    only_one = sample(make_model([METRICS[1]]), 3000, seed=4)
    np.testing.assert_array_equal(only_one.metrics["delays"], full.metrics["delays"])


def test_savings_coupled_across_scenarios():
    def draw(p, cv):
        spec = {"amount": 1e6, "ramp": RAMP, "probability_none": p, "cv": cv}
        return sample(make_model(savings=spec), 5000, seed=9).savings[:, 4]

    low, high = draw(0.1, 0.5), draw(0.4, 0.5)
    # a higher probability of no savings only turns more simulations to zero
    assert np.all((low == 0) <= (high == 0))
    some = high > 0
    np.testing.assert_array_equal(low[some], high[some])


def test_concatenate_blocks(extras, big):
    blocks = [sample_block(extras, 11, b, block_size=4096) for b in range(3)]
    joined = SpendPaths.concatenate(blocks, 10_000)
    part = big.take(slice(0, 10_000))
    assert joined.n_sims == 10_000 and joined.first_sim == 0
    np.testing.assert_array_equal(joined.spend, part.spend)
    np.testing.assert_array_equal(joined.income, part.income)
    np.testing.assert_array_equal(joined.savings, part.savings)
    for mid in part.metrics:
        np.testing.assert_array_equal(joined.metrics[mid], part.metrics[mid])
    one = SpendPaths.concatenate(blocks[1:2])
    assert one.first_sim == 4096 and np.shares_memory(one.spend, blocks[1].spend)
    bare = [sample_block(make_model(), 3, b, block_size=1000) for b in range(2)]
    joined = SpendPaths.concatenate(bare, 1500)
    assert joined.income.shape == (1500, 5, 2) and not any(joined.income.strides)
    assert joined.savings.shape == (1500, 5) and not any(joined.savings.strides)
    with pytest.raises(ValueError):
        SpendPaths.concatenate([])


def test_zeros_view():
    z = zeros_view((1_000_000, 5, 4))
    assert z.shape == (1_000_000, 5, 4) and z.nbytes == 8 * 20_000_000
    assert not any(z.strides) and not z.flags.writeable and z[123, 4, 3] == 0.0
    assert np.array(z[:3]).flags.writeable
