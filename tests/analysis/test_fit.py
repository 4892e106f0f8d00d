"""Fitting assumptions to a history: recovery of known parameters, bad files, valid output."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskshare.analysis.calibration import (
    ShortHistoryWarning,
    fit,
    fit_counts,
    fit_persistence,
    fragment_data,
    log_trend,
    read_history,
)
from riskshare.config.load import read_config_data, validate_data
from riskshare.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "examples" / "history.csv"
EXAMPLE = ROOT / "configs" / "section75_example.yaml"


def _make_history_module():
    spec = importlib.util.spec_from_file_location(
        "make_history", ROOT / "examples" / "make_history.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MH = _make_history_module()


def test_shipped_history_is_the_script_output():
    shipped = pd.read_csv(HISTORY)
    fresh = MH.make_history()
    pd.testing.assert_frame_equal(
        shipped, pd.read_csv(pd.io.common.StringIO(fresh.to_csv(index=False)))
    )
    assert shipped["group"].nunique() == 4
    assert shipped["year"].nunique() == 8


def test_log_trend_exact_on_noise_free_series():
    years = list(range(2018, 2026))
    y = [100 * 1.04**t for t in range(8)]
    tr = log_trend(years, y)
    assert tr.rate == pytest.approx(0.04, abs=1e-12)
    assert tr.resid_sd == pytest.approx(0.0, abs=1e-12)
    mean, _ = tr.level(2026)
    assert mean == pytest.approx(100 * 1.04**8)


def test_counts_choose_poisson_or_negative_binomial_by_aic():
    years = list(range(2010, 2020))
    rng = np.random.default_rng(3)
    pois = rng.poisson(500 * 1.02 ** np.arange(10))
    assert fit_counts(years, pois).distribution == "poisson"
    mu = 500 * 1.02 ** np.arange(10)
    nb = rng.negative_binomial(20, 20 / (20 + mu))
    res = fit_counts(years, nb)
    assert res.distribution == "negative_binomial"
    assert res.dispersion_index > 3
    assert 3 < res.dispersion < 150


def test_fit_shipped_history_recovers_known_parameters():
    result = fit(HISTORY, first_year=2026)
    table = result.to_frame()
    truth = MH.TRUE_PARAMETERS
    for gid, p in truth.items():
        row = table.loc[gid]
        assert abs(row["growth"] - p["growth"]) <= 3 * row["growth_sd"], gid
        if p["model"] == "clients":
            assert abs(row["inflation"] - p["inflation"]) <= 3 * row["inflation_sd"], gid
            true_level = p["clients0"] * (1 + p["growth"]) ** 8
            assert row["clients_mean"] == pytest.approx(true_level, rel=4 * row["clients_level_se"])
        else:
            assert 0.3 * p["cv"] < row["spend_resid_cv"] < 3 * p["cv"]
    assert table.loc["intermediate_care", "count_distribution"] == "negative_binomial"
    assert table.loc["learning_disability", "count_distribution"] == "poisson"
    assert result.correlation is not None


@pytest.mark.parametrize("seed", range(3))
def test_recovery_coverage_over_seeds(seed):
    """Over 40 histories, the fitted {mean, sd} covers the true rate at about its nominal rate."""
    truth = MH.TRUE_PARAMETERS
    hits, total = 0, 0
    for k in range(40):
        frame = MH.make_history(seed=1000 * seed + k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = fit(frame, first_year=2026, correlation=False).to_frame()
        for gid, p in truth.items():
            pairs = [("growth", "growth_sd")]
            if p["model"] == "clients":
                pairs.append(("inflation", "inflation_sd"))
            for est, sd in pairs:
                total += 1
                hits += abs(table.loc[gid, est] - p[est.split("_")[0]]) <= 1.96 * table.loc[gid, sd]
    coverage = hits / total
    # Nominal 95 % (the t-based sd is slightly conservative); binomial tolerance on 240 checks.
    assert 0.88 <= coverage <= 1.0, coverage


def test_fragment_round_trips_and_validates_merged_into_example():
    result = fit(HISTORY, base=EXAMPLE)
    data = fragment_data(result.to_yaml())
    assert data == result.fragment
    base, _ = read_config_data(EXAMPLE)
    merged = {
        k: v for k, v in base.items() if k not in ("client_groups", "common_shocks", "correlation")
    }
    merged.update(data)
    model = validate_data(merged, source="merged")
    assert model.group_ids == [g.id for g in result.groups]
    spend = model.client_groups[0].spend
    assert spend.model == "clients" and spend.clients.growth.sd > 0
    assert model.correlation is not None
    # The method does the same and keeps names from the base.
    m2 = result.merge(EXAMPLE)
    assert m2.client_groups[0].name == "Learning disability"
    assert m2.common_shocks == []
    full = result.to_full_yaml(EXAMPLE)
    assert "partners:" in full and "agreement:" in full


def test_without_commissioners_the_fragment_says_change_me(tmp_path):
    result = fit(HISTORY)
    text = result.to_yaml()
    assert "commissioners: CHANGE_ME" in text
    with pytest.raises(ConfigError):
        result.merge(EXAMPLE)
    assert "commissioners: council" in fit(HISTORY, commissioners="council").to_yaml()


def test_excel_history(tmp_path):
    path = tmp_path / "history.xlsx"
    pd.read_csv(HISTORY).to_excel(path, index=False, sheet_name="spend")
    a = fit(path, sheet="spend", first_year=2026).to_frame()
    b = fit(HISTORY, first_year=2026).to_frame()
    assert np.allclose(a["growth"], b["growth"])


def test_aggregate_only_history_and_per_client_costs():
    rows = [
        {"year": f"{2015 + t}/{(16 + t) % 100:02d}", "group": "mh", "spend": 1e6 * 1.05**t}
        for t in range(6)
    ]
    result = fit(pd.DataFrame(rows), first_year=2021, commissioners="council")
    g = result.groups[0]
    assert g.spend["model"] == "aggregate"
    assert g.spend["growth"]["mean"] == pytest.approx(0.05, abs=1e-4)
    assert g.spend["mean"] == pytest.approx(1e6 * 1.05**6, rel=1e-4)
    assert result.correlation is None
    # Per-client costs choose the cost distribution by AIC.
    rng = np.random.default_rng(1)
    hist = pd.DataFrame(
        [
            {"year": 2015 + t, "group": "ld", "spend": 100 * 30000 * 1.03**t, "clients": 100}
            for t in range(6)
        ]
    )
    costs = pd.DataFrame({"group": "ld", "cost": rng.gamma(1 / 0.36, 30000 * 0.36, size=2000)})
    spend = fit(hist, client_costs=costs).groups[0].spend
    assert spend["cost"]["distribution"] == "gamma"
    assert spend["cost"]["cv"] == pytest.approx(0.6, abs=0.05)


# --------------------------------------------------------------------------- persistence


def _ar1_series(phi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = z[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + np.sqrt(1 - phi * phi) * z[t]
    return x


def _detrended(x: np.ndarray) -> np.ndarray:
    years = np.arange(x.size)
    y = 0.04 * x + 0.03 * years
    return log_trend(list(2000 + years), np.exp(y)).residuals


def test_persistence_of_a_long_series_is_recovered():
    rng = np.random.default_rng(11)
    pf = fit_persistence(range(2000, 2060), _detrended(_ar1_series(0.7, 60, rng)))
    assert pf.low <= 0.7 <= pf.high
    assert pf.high - pf.low < 0.5
    assert abs(pf.phi - 0.7) < 2 * pf.sd
    assert pf.lag1 < pf.phi  # the raw autocorrelation is biased down


@pytest.mark.parametrize("phi", [0.0, 0.6, 0.9])
def test_persistence_interval_coverage_on_short_histories(phi):
    """The 95 % interval covers the true φ at about its nominal rate with 8 years."""
    rng = np.random.default_rng(int(phi * 100))
    hits = sum(
        (pf := fit_persistence(range(2018, 2026), _detrended(_ar1_series(phi, 8, rng)))).low
        <= phi
        <= pf.high
        for _ in range(60)
    )
    assert hits >= 51, hits  # 60 * 0.95 = 57; binomial 1 % lower tail is about 52


def test_persistence_written_for_aggregate_groups_only():
    result = fit(HISTORY, first_year=2026)
    by_id = {g.id: g for g in result.groups}
    table = result.to_frame()
    assert "persistence" in by_id["mental_health"].spend
    assert by_id["mental_health"].spend["persistence"] == round(
        table.loc["mental_health", "persistence"], 2
    )
    assert "persistence" not in by_id["learning_disability"].spend["cost"]
    assert (table["persistence_low"] <= table["persistence"]).all()
    assert (table["persistence"] <= table["persistence_high"]).all()
    assert "persistence of the spend residuals" in result.to_yaml()
    short = fit(
        pd.DataFrame(
            [
                {"year": 2015 + t, "group": "mh", "spend": 1e6 * (1.05**t) * (1 + 0.02 * (-1) ** t)}
                for t in range(4)
            ]
        ),
        first_year=2021,
        commissioners="council",
    )
    assert "persistence" not in short.groups[0].spend
    assert "persistence: not estimated (4 years" in short.to_yaml()


def test_persistence_needs_five_years():
    with pytest.raises(ValueError, match="at least 5 years"):
        fit_persistence(range(4), [0.1, -0.1, 0.0, 0.0])


# --------------------------------------------------------------------------- bad files

GOOD = """year,group,spend,clients
2019/20,ld,100,10
2020/21,ld,110,11
2021/22,ld,120,12
2022/23,ld,130,12
2023/24,ld,140,13
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "h.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("2021/22,ld,120,12", "2021/22,ld,abc,12", "row 4, column 'spend': 'abc' is not a number"),
        ("2021/22,ld,120,12", "2021/22,ld,-5,12", "row 4, column 'spend': must be > 0"),
        ("2021/22,ld,120,12", "2021/22,ld,0,12", "row 4, column 'spend': must be > 0"),
        ("2021/22,ld,120,12", "2021/22,ld,120,", "row 4, column 'clients': missing value"),
        ("2021/22,ld,120,12\n", "", "row 4, column 'year': group 'ld' has no row for 2021/22"),
        (
            "2021/22,ld,120,12",
            "2020/21,ld,120,12",
            "row 4, column 'year': group 'ld' has year 2020 twice",
        ),
        ("2021/22,ld,120,12", "21/22,ld,120,12", "row 4, column 'year': '21/22' is not a year"),
        (
            "year,group,spend,clients",
            "year,group,spend,clients_",
            "row 1, column 'clients_': unknown column",
        ),
        ("year,group,spend,clients", "year,grp,spend,clients", "missing column 'group'"),
    ],
)
def test_bad_history_names_file_row_and_column(tmp_path, old, new, expected):
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(InputError) as info:
        fit(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_too_short_series_error_and_warning(tmp_path):
    two = "\n".join(GOOD.splitlines()[:3]) + "\n"
    with pytest.raises(InputError, match="has 2 year"):
        fit(_write(tmp_path, two))
    four = "\n".join(GOOD.splitlines()[:5]) + "\n"
    with pytest.warns(ShortHistoryWarning, match="only 4 years"):
        fit(_write(tmp_path, four))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(_write(tmp_path, GOOD))


def test_read_history_parses_year_forms_and_derives_unit_cost(tmp_path):
    text = 'year,group,spend,clients\n2019,ld,"1,000",10\n2020-21,ld,£1100,11\n2021/22,ld,1200,12\n'
    frame = read_history(_write(tmp_path, text))
    assert frame["year"].tolist() == [2019, 2020, 2021]
    assert frame["unit_cost"].tolist() == [100.0, 100.0, 100.0]
    assert frame["row"].tolist() == [2, 3, 4]


def test_missing_file():
    with pytest.raises(InputError, match="file not found"):
        fit("no/such/history.csv")
