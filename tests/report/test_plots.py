"""Every chart renders without warnings on the example configs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import riskshare as rs
from riskshare.report import plots

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ["benchmark.yaml", "section75_example.yaml"]


@pytest.fixture(scope="module", params=CONFIGS)
def result(request):
    model = rs.load_config(ROOT / "configs" / request.param)
    return rs.simulate(model, n_sims=2000, seed=11)


def _render(fig: Figure, tmp_path: Path, name: str) -> None:
    assert isinstance(fig, Figure)
    fig.savefig(tmp_path / f"{name}.png", dpi=60)
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("kind", ["distribution", "exceedance", "fan"])
def test_accessor_charts_render_without_warnings(result, kind, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = getattr(plots.PlotAccessor(result), kind)()
        _render(fig, tmp_path, kind)
    assert fig.axes[0].get_title()


def test_exceedance_several_results_and_log_scale(result, tmp_path):
    more = result.model.contribution_schedule() * 1.03
    other = rs.simulate(result.model, n_sims=2000, seed=11, contributions=more)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.exceedance({"as agreed": result, "+3 %": other}, log=True)
        _render(fig, tmp_path, "exceedance_two")
    n_partners = len(result.partner_ids)
    curves = [ln for ln in fig.axes[0].get_lines() if "—" in ln.get_label()]
    assert len(curves) == 2 * n_partners


def test_exceedance_curve_is_the_empirical_survival_function():
    x = np.arange(10.0)
    xs, surv = plots._exceedance_xy(x)
    assert np.array_equal(xs, x)
    assert np.allclose(surv, [(x > v).mean() for v in x])
    big = np.random.default_rng(0).normal(size=50_000)
    xs, surv = plots._exceedance_xy(big, max_points=500)
    assert len(xs) <= 500 and np.all(np.diff(xs) >= 0) and np.all(np.diff(surv) <= 0)


def test_charts_draw_into_a_given_axes(result):
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.distribution(result, result.partner_ids[0], ax=ax) is fig
    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert plots.fan(result, ax=axes) is fig2
    with pytest.raises(ValueError, match="one axes per measure"):
        plots.fan(result, ax=axes[0])
    with pytest.raises(ValueError, match="unknown partner"):
        plots.distribution(result, "nobody")


def test_comparison_and_sweep_take_plain_frames(tmp_path):
    comp = pd.DataFrame(
        {
            "agreement": ["host first 2 %", "host first 2 %", "no reserve", "no reserve"],
            "partner": ["council", "icb", "council", "icb"],
            "diff": [250_000.0, -250_000.0, 80_000.0, 40_000.0],
            "se": [12_000.0, 12_000.0, 5_000.0, 4_000.0],
        }
    )
    sweep = pd.DataFrame(
        {
            "contribution": [10e6, 11e6, 12e6] * 2,
            "p95": [5e6, 3.5e6, 2e6, 4e6, 3e6, 1.5e6],
            "p95_se": [4e4] * 6,
            "partner": ["council"] * 3 + ["icb"] * 3,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _render(plots.comparison(comp), tmp_path, "comparison")
        _render(
            plots.sweep(
                sweep, "contribution", "p95", se="p95_se", appetite={"council": 2e6, "icb": 2e6}
            ),
            tmp_path,
            "sweep",
        )
        _render(plots.sweep(sweep, "contribution", "p95", appetite=2e6), tmp_path, "sweep1")
    with pytest.raises(ValueError, match="lacks column"):
        plots.comparison(comp.drop(columns="se"))
    with pytest.raises(ValueError, match="no column"):
        plots.sweep(sweep, "value", "p95")


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0, "£0"),
        (950, "£950"),
        (1500, "£1.5k"),
        (250_000, "£250k"),
        (2_000_000, "£2m"),
        (-1_250_000, "-£1.25m"),
        (3.2e9, "£3.2bn"),
        (float("nan"), ""),
    ],
)
def test_money_format(x, text):
    assert plots.format_money(x) == text


def test_report_package_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, riskshare.report; sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
