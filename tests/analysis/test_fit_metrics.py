"""Fitting performance metrics to a history (``fit(metrics=...)``, ``riskshare fit --metrics``):
their mean and sd, and their correlation with the groups' spend for ``correlation.metrics``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskshare.analysis.calibration import fit, fragment_data, read_metrics
from riskshare.config.model import Model
from riskshare.errors import InputError
from riskshare.sampling import sample

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "examples" / "history.csv"
EXAMPLE = ROOT / "configs" / "section75_example.yaml"


def _metric_rows(years, values, metric="nea_reduction"):
    return pd.DataFrame(
        {"year": [f"{y}/{(y + 1) % 100:02d}" for y in years], "metric": metric, "value": values}
    )


@pytest.fixture(scope="module")
def plain():
    return fit(HISTORY, base=EXAMPLE)


def test_mean_sd_and_correlation_are_the_sample_figures(plain):
    mh = next(g for g in plain.groups if g.id == "mental_health")
    rng = np.random.default_rng(4)
    z = (mh.residuals - mh.residuals.mean()) / mh.residuals.std()
    values = 0.01 - 0.02 * z + 0.01 * rng.standard_normal(len(z))
    result = fit(HISTORY, base=EXAMPLE, metrics=_metric_rows(mh.years, values))
    (m,) = result.metrics
    assert m.performance == {
        "id": "nea_reduction",
        "mean": float(f"{values.mean():.4g}"),
        "sd": float(f"{values.std(ddof=1):.4g}"),
    }
    corr = result.correlation
    assert corr["groups"] == plain.correlation["groups"]
    assert corr["metrics"] == ["nea_reduction"]
    matrix = np.array(corr["matrix"])
    k = len(corr["groups"])
    np.testing.assert_array_equal(matrix[:k, :k], plain.correlation["matrix"])
    # r over the common years, divided by sqrt(1 - phi^2) for a group with persistence phi
    r = np.corrcoef(values, mh.residuals)[0, 1]
    phi = mh.spend.get("persistence", 0.0)
    want = round(max(-1.0, r / math.sqrt(1 - phi**2)), 3)
    assert matrix[k, corr["groups"].index("mental_health")] == want
    assert want < -0.5


def test_fragment_round_trips_and_merges_into_a_valid_model(plain):
    mh = next(g for g in plain.groups if g.id == "mental_health")
    values = np.linspace(-0.03, 0.02, len(mh.years))[::-1]
    result = fit(HISTORY, base=EXAMPLE, metrics=_metric_rows(mh.years, values))
    text = result.to_yaml()
    assert fragment_data(text) == result.fragment
    assert "  metrics: [nea_reduction]" in text
    model = result.merge(EXAMPLE)
    assert [m.id for m in model.performance] == ["nea_reduction"]
    assert model.correlation.metrics == ["nea_reduction"]
    full = result.to_full_yaml(EXAMPLE)
    assert full.count("performance:") == 1


def test_the_sampler_correlation_is_recovered_from_a_long_history():
    """A 50-year history drawn by the sampler (ρ = −0.6 with an aggregate group, φ = 0.5):
    fit gives ρ back within three standard errors (about 1/√(n − 3) each)."""
    data = {
        "partners": [{"id": "icb"}],
        "client_groups": [
            {
                "id": "ooh",
                "commissioners": "icb",
                "spend": {"model": "aggregate", "mean": 2e7, "cv": 0.1, "persistence": 0.5},
            }
        ],
        "contributions": {"icb": {"kind": "expected_cost"}},
        "performance": [{"id": "nea", "mean": 0.0, "sd": 0.03}],
        "correlation": {"groups": ["ooh"], "metrics": ["nea"], "matrix": [[1, -0.6], [-0.6, 1]]},
        "simulation": {"years": 50},
    }
    paths = sample(Model.model_validate(data), 1, seed=21)
    years = list(range(1970, 2020))
    history = pd.DataFrame({"year": years, "group": "ooh", "spend": paths.spend[0, :, 0]})
    metrics = _metric_rows(years, paths.metrics["nea"][0], metric="nea")
    result = fit(history, commissioners="icb", metrics=metrics, first_year=2020)
    rho = result.correlation["matrix"][1][0]
    assert abs(rho - (-0.6)) < 3 / math.sqrt(47), rho
    assert result.metrics[0].sd == pytest.approx(0.03, rel=0.35)


GOOD = """year,metric,value
2019/20,nea,-0.02
2020/21,nea,0.01
2021/22,nea,0.03
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("2020/21,nea,0.01", "2020/21,nea,lots", "row 3, column 'value': 'lots' is not a number"),
        ("2020/21,nea,0.01", "20/21,nea,0.01", "row 3, column 'year': '20/21' is not a year"),
        ("2020/21,nea,0.01", "2020/21,n e a,0.01", "row 3, column 'metric': 'n e a'"),
        ("2020/21,nea,0.01", "2019/20,nea,0.01", "row 3, column 'year': metric 'nea' has year"),
        ("year,metric,value", "year,metric,value,x", "row 1, column 'x': unknown column"),
        ("year,metric,value", "year,name,value", "missing column 'metric'"),
        ("2021/22,nea,0.03\n", "", "metric 'nea' has 2 year(s); at least 3"),
    ],
)
def test_bad_metrics_file_names_file_row_and_column(tmp_path, old, new, expected):
    path = tmp_path / "m.csv"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(InputError) as info:
        read_metrics(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_cli_fit_with_metrics(tmp_path, plain):
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    mh = next(g for g in plain.groups if g.id == "mental_health")
    path = tmp_path / "metrics.csv"
    _metric_rows(mh.years, np.linspace(0.02, -0.03, len(mh.years))).to_csv(path, index=False)
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(
        app, ["fit", str(HISTORY), "--base", str(EXAMPLE), "--metrics", str(path), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = fragment_data(out.read_text())
    assert data["performance"][0]["id"] == "nea_reduction"
    assert data["correlation"]["metrics"] == ["nea_reduction"]


def test_cli_bad_metrics_file_is_exit_2_naming_file_row_and_column(tmp_path):
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    path = tmp_path / "metrics.csv"
    path.write_text(GOOD.replace("0.01", "lots"))
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(app, ["fit", str(HISTORY), "--metrics", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert str(path) in result.output and "row 3, column 'value'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
