"""Money basis of the results: nominal (default), real terms, present value (hand-worked)."""

from __future__ import annotations

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.load import validate_data
from riskshare.errors import ConfigError

#: Three years of fixed spend £1.1m against contributions of £0.6m (council) and £0.4m (ICB):
#: an overspend of £100,000 a year shared in proportion, so the council pays £60,000 and
#: the ICB £40,000 in every year, in cash.
FIXED = {
    "partners": [{"id": "council", "host": True}, {"id": "icb"}],
    "client_groups": [
        {
            "id": "ld",
            "commissioners": "council",
            "spend": {"model": "fixed", "amounts": [1_100_000, 1_100_000, 1_100_000]},
        }
    ],
    "contributions": {
        "council": {"kind": "schedule", "amounts": [600_000] * 3},
        "icb": {"kind": "schedule", "amounts": [400_000] * 3},
    },
    "simulation": {"years": 3, "n_sims": 200, "seed": 1},
}


def _result(reporting=None):
    data = dict(FIXED)
    if reporting is not None:
        data["reporting"] = reporting
    return rs.simulate(validate_data(data), workers=1)


def test_present_value_by_hand():
    """Deflator 2 % a year, Green Book 3.5 %.

    Year weights 1, 1 / (1.02 x 1.035) = 1 / 1.0557 and 1 / (1.02² x 1.035²) = 1 / 1.114502;
    council: 60,000 + 56,834.33 + 53,835.68 = £170,670.01; ICB: £113,780.01.
    """
    result = _result({"basis": "present_value", "inflation": 0.02})
    assert result.basis == "present_value"
    assert result.summary().loc["council", "mean"] == pytest.approx(170_670.01, abs=0.01)
    assert result.summary().loc["icb", "mean"] == pytest.approx(113_780.01, abs=0.01)
    by_year = result.by_year().loc["council", "mean"]
    assert by_year.to_numpy() == pytest.approx([60_000.0, 56_834.33, 53_835.68], abs=0.01)
    # The same result in the other bases, on request.
    assert result.summary(basis="nominal").loc["council", "mean"] == pytest.approx(180_000)
    # Real: 60,000 + 60,000 / 1.02 + 60,000 / 1.0404 = £176,493.66.
    real = result.summary(basis="real").loc["council", "mean"]
    assert real == pytest.approx(176_493.66, abs=0.01)
    assert "present value" in result.basis_note and "Green Book" in result.basis_note


def test_present_value_of_a_run_larger_than_the_paths_it_keeps():
    """The basis total is summed during the run, so every simulation counts, not only kept ones."""
    data = rs.load_config("configs/section75_example.yaml").model_dump(mode="json")
    data["reporting"] = {"basis": "present_value", "inflation": 0.02}
    model = validate_data(data)
    whole = rs.simulate(model, n_sims=3000, seed=5, workers=1)
    kept = rs.simulate(model, n_sims=3000, seed=5, workers=1, keep_paths=1000)
    np.testing.assert_array_equal(kept.net, whole.net)
    assert kept.summary().equals(whole.summary())
    with pytest.raises(ValueError, match=r"set reporting\.basis to 'real'"):
        kept.summary(basis="real")


def test_nominal_is_the_default_and_unchanged():
    result = _result()
    assert result.basis == "nominal"
    assert result.summary().loc["council", "mean"] == pytest.approx(180_000)
    assert result.summary(basis="nominal").equals(result.summary())
    assert "nominal" in result.basis_note
    with pytest.raises(ValueError, match="needs a deflator path"):
        result.summary(basis="real")
    with pytest.raises(ValueError, match="unknown basis"):
        result.by_year(basis="euros")


def test_deflator_path_and_weights():
    rep = rs.Model.model_fields["reporting"].annotation(
        basis="real", deflators=[1.0, 1.05, 1.08, 1.2]
    )
    assert rep.weights(3) == pytest.approx([1.0, 1 / 1.05, 1 / 1.08])
    pv = rep.model_copy(update={"basis": "present_value"})
    assert pv.weights(2) == pytest.approx([1.0, 1 / (1.05 * 1.035)])
    cash_pv = rep.model_copy(update={"basis": "present_value", "deflators": None})
    assert cash_pv.weights(3) == pytest.approx(1.035 ** -np.arange(3))


def test_pool_by_year_in_the_basis():
    result = _result({"basis": "real", "inflation": 0.1})
    nominal = result.pool_by_year(basis="nominal")["variance_mean"].to_numpy()
    real = result.pool_by_year()["variance_mean"].to_numpy()
    assert real == pytest.approx(nominal / 1.1 ** np.arange(3))


@pytest.mark.parametrize(
    ("reporting", "message"),
    [
        ({"basis": "real"}, "needs a deflator path"),
        ({"deflators": [1.0, 1.02]}, "reporting.deflators: needs 3 indices"),
        ({"deflators": [1.1, 1.2, 1.3]}, "deflators[0] must be 1.0"),
        ({"deflators": [1.0, 1.0, 1.0], "inflation": 0.02}, "not both"),
        ({"basis": "euros"}, "reporting.basis"),
    ],
)
def test_bad_reporting_names_the_field(reporting, message):
    with pytest.raises(ConfigError) as info:
        validate_data({**FIXED, "reporting": reporting}, source="x.yaml")
    assert message in str(info.value)
    assert "x.yaml" in str(info.value)


def test_report_says_which_basis_is_shown(tmp_path):
    pv = _result({"basis": "present_value", "inflation": 0.02})
    rs.write_html(pv, tmp_path / "pv.html")
    text = (tmp_path / "pv.html").read_text(encoding="utf-8")
    assert (
        "Net positions are shown as present value in 2026/27 prices (deflated by 2.0 % a "
        "year), discounted at 3.5 % a year (the HM Treasury Green Book rate); contributions "
        "and budgets are cash." in text
    )
    assert 'data-measure="mean" data-value="170670.00' in text  # the headline is in present value
    rs.write_html(_result(), tmp_path / "nominal.html")
    assert "Money is shown in nominal terms" in (tmp_path / "nominal.html").read_text("utf-8")


def test_by_schedule_is_in_nominal_pounds_whatever_the_basis():
    """As with several schedules (their totals are kept nominal): £180,000 for the council.

    It read the configured basis with one schedule (£170,670.01 in present value here), so
    the same table changed basis with the number of schedules.
    """
    result = _result({"basis": "present_value", "inflation": 0.02})
    by_schedule = result.by_schedule()
    assert by_schedule.loc[("agreement", "council"), "mean"] == pytest.approx(180_000)
    assert by_schedule.loc[("agreement", "pool"), "mean"] == pytest.approx(300_000)
