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
from riskshare.rules.instalments import QUARTERS, paid_share
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
    for name in QUARTERS:
        np.testing.assert_array_equal(chunked.extras[name], whole.extras[name], err_msg=name)
