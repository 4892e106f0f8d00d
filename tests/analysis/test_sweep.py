"""Sweeps over config values (riskshare.analysis.sweeps) and the sweep command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import riskshare as rs
import riskshare.analysis.sweeps as sweep_mod
from riskshare.analysis.sweeps import apply_point, expand_points, point_metrics, sweep
from riskshare.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "section75_example.yaml"


@pytest.fixture(scope="module")
def model() -> rs.Model:
    return rs.load_config(EXAMPLE)


def _metrics_of_result(result: rs.Result, metrics):
    specs = sweep_mod._parse_metrics(result.model, metrics)
    return point_metrics(result.outcomes, specs)


def test_expand_grid_is_cartesian():
    pts = expand_points({"a": [1, 2], "b": [3, 4, 5]})
    assert len(pts) == 6 and pts[0] == {"a": 1, "b": 3} and pts[-1] == {"a": 2, "b": 5}
    with pytest.raises(InputError):
        expand_points({"a": []})


@pytest.mark.parametrize(
    "changes",
    [
        {"contributions.council.factor": 1.07},
        {"agreement.reserve.cap": 2_000_000, "contributions.icb.uplift": 0.05},
        {"client_groups[1].spend.growth": 0.08},  # changes the spend: redrawn with the same seed
    ],
)
def test_a_sweep_point_equals_a_single_run(model, changes):
    frame = sweep(model, [changes], n_sims=2000, seed=21)
    changed = rs.with_changes(model, changes)
    expected = _metrics_of_result(rs.simulate(changed, n_sims=2000, seed=21), None)
    row = frame.iloc[0]
    for col, value in expected.items():
        assert row[col] == value or (np.isnan(value) and np.isnan(row[col])), col


def test_scaling_a_partner_schedule_equals_a_run_with_those_contributions(model):
    frame = sweep(model, {"contributions.council": [1.2]}, n_sims=1500, seed=2)
    contrib = model.contribution_schedule()
    contrib[:, model.partner_ids.index("council")] *= 1.2
    expected = _metrics_of_result(
        rs.simulate(model, n_sims=1500, seed=2, contributions=contrib), None
    )
    for col, value in expected.items():
        got = frame.iloc[0][col]
        assert got == value or (np.isnan(value) and np.isnan(got)), col
    _m, c = apply_point(model, {"contributions.council": 1.2})
    np.testing.assert_array_equal(c, contrib)


def test_more_council_money_lowers_its_exposure(model):
    frame = sweep(
        model,
        {"contributions.council.factor": [0.95, 1.0, 1.05, 1.1]},
        n_sims=2000,
        seed=3,
        metrics=["mean", "council:p_any_year_above:2000000"],
    )
    assert frame["council_mean"].is_monotonic_decreasing
    assert frame["council_p_any_year_above_2e+06"].is_monotonic_decreasing
    assert list(frame.columns[:1]) == ["contributions.council.factor"]


def test_resume_skips_finished_points(model, tmp_path, monkeypatch):
    grid = {"contributions.council.factor": [1.0, 1.1], "agreement.reserve.cap": [5e5, 1e6]}
    first = sweep(model, grid, n_sims=1000, seed=4, resume_dir=tmp_path)
    assert len(list((tmp_path / "points").glob("*.json"))) == 4

    def boom(item):
        raise AssertionError("a finished point was recomputed")

    monkeypatch.setattr(sweep_mod, "_run_item", boom)
    again = sweep(model, grid, n_sims=1000, seed=4, resume_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)
    # A new point is computed, the old ones are not.
    calls = []
    monkeypatch.setattr(sweep_mod, "_run_item", lambda item: calls.append(item) or {})
    sweep(
        model,
        {"contributions.council.factor": [1.0, 1.2], "agreement.reserve.cap": [5e5]},
        n_sims=1000,
        seed=4,
        resume_dir=tmp_path,
    )
    assert len(calls) == 1 and calls[0].changes["contributions.council.factor"] == 1.2


def test_bad_point_names_the_field(model):
    with pytest.raises(ConfigError, match=r"reserve\.cap"):
        sweep(model, [{"agreement.reserve.cap": -1}], n_sims=100, seed=1)
    with pytest.raises(InputError, match="unknown partner"):
        sweep(model, [{"contributions.nhs": 1.1}], n_sims=100, seed=1)


def test_a_re_set_contribution_is_not_scaled_as_a_fixed_path() -> None:
    rebased = rs.load_config(Path(__file__).parents[2] / "configs" / "rebased_example.yaml")
    with pytest.raises(InputError, match=r"re-set each year .*contributions\.council\.base"):
        sweep(rebased, [{"contributions.council": 1.1}], n_sims=100, seed=1)
    # a field of the re-set contribution sweeps as any other (re-basing stays on)
    changed, contrib = apply_point(rebased, {"contributions.council.recurrent_share": 0.5})
    assert contrib is None
    assert changed.contributions["council"].recurrent_share == 0.5


@pytest.fixture(scope="module")
def cli():
    from riskshare.cli.core import app, register_commands

    register_commands()
    return app


def test_cli_sweep_end_to_end_and_resume(cli, tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        f"config: {EXAMPLE}\nsims: 800\nseed: 5\n"
        "grid:\n  contributions.council.factor: [1.0, 1.1]\n"
        "  agreement.reserve.opening: [0, 500000]\n"
        "metrics: [mean, p95, prob_exceeds]\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out / "sweep.csv", index_col=0)
    assert len(frame) == 4 and "council_p95" in frame.columns
    assert (out / "sweep.png").stat().st_size > 10_000
    # Printed in £ thousands, as every command prints money.
    first = frame.iloc[0]
    assert f"£{first['council_mean'] / 1e3:,.0f}k" in res.output
    res2 = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out)])
    assert res2.exit_code == 0
    pd.testing.assert_frame_equal(frame, pd.read_csv(out / "sweep.csv", index_col=0))


def test_cli_sweep_example_file_is_valid(cli):
    _model, spec = sweep_mod.load_sweep(ROOT / "configs" / "sweep_contributions.yaml")
    assert spec.grid and len(expand_points(spec.grid)) == 36


def test_cli_sweep_bad_file_exits_2(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"config: {EXAMPLE}\ngrd: {{a: [1]}}\n")
    res = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "bad.yaml" in res.output and "grd" in res.output


def test_a_bad_point_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from riskshare.cli.core import app, register_commands

    register_commands()
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"config: {ROOT / 'configs' / 'section75_example.yaml'}\nsims: 500\n"
        "grid:\n  agreement.reserve.cap: [-1, 5]\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert res.exit_code == 2
    assert f"{spec}: point" in res.output and "agreement.reserve.cap" in res.output
    assert not out.exists()
