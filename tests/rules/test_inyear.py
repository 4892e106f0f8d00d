"""In-year timing against closed forms: the forecast's error and its shrinkage, the draws, the cash.

The forecast model (docs/rules.md, In-year timing): ``L = ln(N / P)`` is the
end of a Brownian motion with volatility ``σ`` in accrued time; the month's
forecast is ``L̂ = W(τ) + b (1 − τ)`` with ``W(τ)`` the Brownian bridge. For one
lognormal group with CV ``c`` and the plan at its mean, ``L ~ N(−σ²/2, σ²)``
with ``σ² = ln(1 + c²)``; with ``sd = σ`` the error ``L − L̂`` has mean
``(1 − τ)(−σ²/2 − b)`` and variance ``σ² (1 − τ)``, and is uncorrelated with the
forecast.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.model import Model
from riskshare.rules.instalments import QUARTERS, paid_share, partner_quarter
from riskshare.sampling import sample, sample_block
from riskshare.testing import fixed_model

CV = 0.08
SIGMA = math.sqrt(math.log(1 + CV**2))
MEAN = 20e6
N_SIMS = 200_000


def _model(month: int, *, bias: float = 0.0, accrual: list[float] | None = None) -> Model:
    agreement: dict = {
        # A threshold no forecast reaches: nothing is mitigated, the error is the forecast's own.
        "trigger": {
            "threshold": 1.0,
            "mitigation": 0.5,
            "month": month,
            "on": "forecast",
            "forecast": {"sd": SIGMA, "bias": bias},
        }
    }
    if accrual is not None:
        agreement["accrual"] = accrual
    return Model.model_validate(
        {
            "partners": [{"id": "council", "host": True}, {"id": "icb"}],
            "client_groups": [
                {
                    "id": "ld",
                    "commissioners": "council",
                    "spend": {"model": "aggregate", "mean": MEAN, "cv": CV},
                }
            ],
            "contributions": {
                "council": {"kind": "schedule", "amounts": [MEAN / 2]},
                "icb": {"kind": "schedule", "amounts": [MEAN / 2]},
            },
            "agreement": agreement,
            "simulation": {"years": 1, "n_sims": N_SIMS, "seed": 11},
        }
    )


def _log_errors(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Each simulation's log forecast error ``L − L̂`` and log forecast ``L̂`` (plan P = 20m)."""
    paths = sample(model, N_SIMS, seed=11)
    ledger = rs.settle(model, paths)
    v0 = ledger.extras["variance"][:, 0]  # nothing mitigated: the outturn V0 = N − P
    forecast = v0 - ledger.extras["forecast_error"][:, 0]
    actual, predicted = np.log1p(v0 / MEAN), np.log1p(forecast / MEAN)
    return actual - predicted, predicted


@pytest.mark.parametrize("month", [0, 3, 6, 9, 11])
def test_forecast_error_variance_shrinks_as_sqrt_of_the_year_left(month: int) -> None:
    err, _ = _log_errors(_model(month))
    tau = month / 12
    var = SIGMA**2 * (1 - tau)
    # s.e. of a sample variance of normals: var sqrt(2 / n)
    assert abs(err.var() - var) < 4 * var * math.sqrt(2 / N_SIMS)
    mean = (1 - tau) * (-(SIGMA**2) / 2)
    assert abs(err.mean() - mean) < 4 * math.sqrt(var / N_SIMS)


def test_the_forecast_is_rational_its_error_uncorrelated_with_it() -> None:
    err, predicted = _log_errors(_model(6))
    assert abs(np.corrcoef(err, predicted)[0, 1]) < 4 / math.sqrt(N_SIMS)


def test_bias_shifts_the_mean_error_by_the_year_left() -> None:
    bias = -0.03  # optimism: the months to come forecast 3 % (log) below what they will be
    err, _ = _log_errors(_model(3, bias=bias))
    tau = 3 / 12
    mean = (1 - tau) * (-(SIGMA**2) / 2 - bias)
    assert abs(err.mean() - mean) < 4 * SIGMA * math.sqrt((1 - tau) / N_SIMS)


def test_the_error_is_zero_once_the_year_has_accrued() -> None:
    # Nothing accrues in March: by the end of month 11 the year is known, τ = 1.
    err, _ = _log_errors(_model(11, accrual=[1 / 11] * 11 + [0.0]))
    np.testing.assert_allclose(err, 0.0, atol=1e-12)


def test_accrued_time_follows_the_profile() -> None:
    # Half the year's spend accrues in the first quarter: at month 3, τ = 0.5.
    profile = [1 / 6] * 3 + [1 / 18] * 9
    err, _ = _log_errors(_model(3, accrual=profile))
    assert abs(err.var() - SIGMA**2 * 0.5) < 4 * SIGMA**2 * 0.5 * math.sqrt(2 / N_SIMS)


def test_forecast_draws_leave_every_other_draw_unchanged_and_are_chunk_free() -> None:
    with_fc = _model(6)
    without = Model.model_validate(
        {**with_fc.model_dump(), "agreement": {"trigger": {"threshold": 1.0, "mitigation": 0.5}}}
    )
    a, b = sample(with_fc, 1000, seed=3), sample(without, 1000, seed=3)
    np.testing.assert_array_equal(a.spend, b.spend)
    assert b.forecast is None
    assert a.forecast.shape == (1000, 1)
    # Simulation i's normal is the same however many simulations are drawn, block by block.
    small = 1 << 12
    more = sample(with_fc, 3 * small, seed=3, block_size=small)
    np.testing.assert_array_equal(
        more.forecast[:1000], sample(with_fc, 1000, seed=3, block_size=small).forecast
    )
    second = sample_block(with_fc, 3, 1, block_size=small)
    np.testing.assert_array_equal(second.forecast, more.forecast[small : 2 * small])


def test_paid_share_of_instalments_in_advance() -> None:
    np.testing.assert_array_equal(paid_share(1), [0] + [1] * 12)
    np.testing.assert_array_equal(paid_share(4), [0, *np.repeat([0.25, 0.5, 0.75, 1.0], 3)])
    np.testing.assert_allclose(paid_share(12), np.arange(13) / 12)


def test_fourth_quarter_call_is_the_year_end_overspend_with_flat_accrual() -> None:
    # Flat accrual and quarterly instalments: all of B is in by month 10 and spend only
    # grows, so the most the pool is short in Q4 is at the year end: max(V, 0).
    model = rs.load_config("configs/section75_example.yaml")
    data = model.model_dump(mode="python", exclude_none=True)
    data["agreement"]["instalments"] = {"number": 4}
    model = Model.model_validate(data)
    ledger = rs.settle(model, sample(model, 2000, seed=5))
    before = ledger.extras["variance"]  # the pooled variance V before the waterfall
    np.testing.assert_allclose(ledger.extras["cash_q4"], np.maximum(before, 0.0), atol=1e-6)
    calls = np.stack([ledger.extras[q] for q in QUARTERS])
    assert (calls >= 0).all()


def test_instalments_change_no_year_end_money() -> None:
    base = fixed_model(
        ["council", "icb"],
        {"a": ("council", [12e6, 13e6]), "b": ("icb", [9e6, 8e6])},
        {"council": [12e6, 12e6], "icb": [8e6, 8e6]},
    )
    data = base.model_dump(mode="python", exclude_none=True)
    data["agreement"]["instalments"] = {"number": 12}
    timed = Model.model_validate(data)
    a, b = rs.settle(base, sample(base, 1, seed=0)), rs.settle(timed, sample(timed, 1, seed=0))
    np.testing.assert_array_equal(a.net(), b.net())


def test_cash_calls_do_not_depend_on_chunking_even_one_simulation_a_chunk(monkeypatch) -> None:
    # Accrued spend sums the groups one by one: a matrix product would sum a chunk of one
    # simulation (a matrix-vector product) differently, and the calls would change in the
    # last bit with the chunking.
    import riskshare.settle as settle_module

    model = rs.load_config("configs/in_year_example.yaml")
    paths = sample(model, 9, seed=4)
    whole = rs.settle(model, paths)
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 1)
    chunked = rs.settle(model, paths)
    by_partner = [partner_quarter(q, p) for q in QUARTERS for p in model.partner_ids]
    for name in (*QUARTERS, *by_partner):
        np.testing.assert_array_equal(chunked.extras[name], whole.extras[name], err_msg=name)


def _with_cash_key(path: str, key: object) -> Model:
    """The shipped config ``path`` with quarterly instalments whose cash ``key`` is given
    (in every schedule)."""
    data = rs.load_config(path).model_dump(mode="python", exclude_none=True)
    for rules in data["agreement"].get("schedules") or [data["agreement"]]:
        if rules.get("arrangement") != "aligned":
            rules["instalments"] = {"number": 4, "cash_key": key}
    return Model.model_validate(data)


def _calls(ledger: rs.Ledger, partner_ids: list[str]) -> np.ndarray:
    """``(quarters, partners, sims, years)`` each partner's in-year cash calls. [£]"""
    return np.stack(
        [np.stack([ledger.extras[partner_quarter(q, p)] for p in partner_ids]) for q in QUARTERS]
    )


@pytest.mark.parametrize(
    "path",
    [
        "configs/section75_example.yaml",
        "configs/schedules_example.yaml",
        "configs/schedules_exit_example.yaml",
    ],
)
def test_host_finds_every_call_by_default_and_keys_split_the_pools_calls(path) -> None:
    # cash_key: host (the default) leaves the pool's calls as they were, bit for bit, and
    # gives them to the host; any key splits each quarter's call between the partners
    # (Σ_p K_q,p = K_q), after an exit over the partners still in, and with several
    # schedules each schedule's call by its key, summed.
    model = _with_cash_key(path, "host")
    pids = list(model.partner_ids)
    paths = sample(model, 400, seed=9)
    host = rs.settle(model, paths)
    pool = np.stack([host.extras[q] for q in QUARTERS])
    calls = _calls(host, pids)
    if not model.agreement.schedules:
        others = [p for p in pids if p != model.host]
        np.testing.assert_array_equal(calls[:, pids.index(model.host)], pool)
        assert not calls[:, [pids.index(p) for p in others]].any()
    np.testing.assert_allclose(calls.sum(axis=1), pool, rtol=1e-12, atol=1e-6)
    for key in ("proportional", "commissioners", {p: 1 / len(pids) for p in pids}):
        keyed = rs.settle(_with_cash_key(path, key), paths)
        for q in QUARTERS:  # the pool's calls do not depend on who finds them
            np.testing.assert_array_equal(keyed.extras[q], host.extras[q])
        np.testing.assert_array_equal(keyed.net(), host.net())  # nor the year-end money
        split = _calls(keyed, pids)
        np.testing.assert_allclose(split.sum(axis=1), pool, rtol=1e-12, atol=1e-6)
        assert (split >= 0).all()
        if isinstance(key, dict) and not model.agreement.schedules and "exit" not in str(path):
            even = np.broadcast_to(pool[:, None] / len(pids), split.shape)
            np.testing.assert_allclose(split, even, rtol=1e-12)


def test_proportional_cash_calls_follow_the_contributions() -> None:
    # Without an exit, 'proportional' gives each partner c_p / Σ c of each call.
    model = _with_cash_key("configs/section75_example.yaml", "proportional")
    ledger = rs.settle(model, sample(model, 300, seed=2))
    c = model.contribution_schedule()  # (years, partners)
    w = c / c.sum(axis=1, keepdims=True)
    pool = np.stack([ledger.extras[q] for q in QUARTERS])  # (quarters, sims, years)
    want = pool[:, None] * w.T[None, :, None, :]
    np.testing.assert_allclose(_calls(ledger, list(model.partner_ids)), want, rtol=1e-12)
