"""Paired comparison of agreements (riskshare.analysis.comparison) and the compare command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import riskshare as rs
from riskshare.analysis.comparison import compare, load_agreement, statistic
from riskshare.config.model import Agreement, Reserve, Sharing
from riskshare.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "section75_example.yaml"
AGREEMENTS = ROOT / "configs" / "agreements"


@pytest.fixture(scope="module")
def model() -> rs.Model:
    return rs.load_config(EXAMPLE)


def test_identical_agreements_differ_by_exactly_zero(model):
    cmp = compare(model, {"copy": model.agreement}, n_sims=3000, seed=11)
    diffs = cmp.differences()
    assert len(diffs) == 3  # council, icb, pool
    values = diffs.to_numpy()
    assert (values[~np.isnan(values)] == 0).all()
    assert np.isnan(values).sum() == 2  # the pool has no appetite
    np.testing.assert_array_equal(cmp.outcomes["copy"].net, cmp.outcomes[cmp.baseline].net)


def test_a_reserve_never_raises_a_call_and_lowers_the_pool_by_its_opening(model):
    plain = Agreement(
        name="plain", overspend=Sharing(key="proportional"), underspend=Sharing(key="proportional")
    )
    reserve = plain.model_copy(
        update={"name": "reserve", "reserve": Reserve(opening=1_000_000, carry_forward=True)}
    )
    cmp = compare(
        model,
        {"plain": plain, "reserve": reserve},
        n_sims=4000,
        seed=3,
        include_model=False,
        baseline="plain",
    )
    with_r, without = cmp.outcomes["reserve"], cmp.outcomes["plain"]
    # Elementwise: a reserve only ever reduces what is called from a partner.
    assert (with_r.called <= without.called).all()
    for pid in model.partner_ids:
        assert cmp.table.loc[("reserve", pid), "prob_call_any_year_diff"] <= 0
    # Over the agreement the pool's net falls by exactly the opening balance
    # (the reserve is spent or returned at the end).
    np.testing.assert_allclose(with_r.total("pool") - without.total("pool"), -1_000_000, atol=1e-4)
    assert cmp.table.loc[("reserve", "pool"), "mean_diff"] == pytest.approx(-1e6, abs=1e-4)
    assert cmp.table.loc[("reserve", "pool"), "mean_diff_se"] < 1e-6


def test_host_bears_all_leaves_the_other_partner_nothing(model):
    cmp = compare(model, {"host": AGREEMENTS / "host_first.yaml"}, n_sims=2000, seed=5)
    host = cmp.outcomes["host"]
    assert (host.total("icb") == 0).all()
    np.testing.assert_allclose(host.total("council"), host.total("pool"))


def test_baseline_matches_simulate(model):
    cmp = compare(model, {"aligned": Agreement(arrangement="aligned")}, n_sims=2500, seed=9)
    result = rs.simulate(model, n_sims=2500, seed=9)
    np.testing.assert_array_equal(cmp.outcomes[cmp.baseline].net, result.outcomes.net)
    summary = result.summary()
    for pid in model.partner_ids:
        assert cmp.table.loc[(cmp.baseline, pid), "p95"] == summary.loc[pid, "p95"]
        # Same values; the mean of the tail may differ in the last bit (summation order).
        assert cmp.table.loc[(cmp.baseline, pid), "tvar95"] == pytest.approx(
            summary.loc[pid, "tvar95"], rel=1e-14
        )


def test_chunking_does_not_change_the_numbers(model):
    alts = {
        "aligned": Agreement(arrangement="aligned"),
        "more": {"contributions.council.factor": 1.1},
    }
    a = compare(model, alts, n_sims=2500, seed=2, chunk_blocks=1, block_size=512)
    b = compare(model, alts, n_sims=2500, seed=2, chunk_blocks=8, block_size=512)
    for name in a.outcomes:
        np.testing.assert_array_equal(a.outcomes[name].net, b.outcomes[name].net)


def test_changes_mapping_and_paired_se(model):
    cmp = compare(model, {"more": {"contributions.council.factor": 1.05}}, n_sims=3000, seed=4)
    row = cmp.table.loc[("more", "council")]
    x = cmp.outcomes["more"].total("council") - cmp.outcomes[cmp.baseline].total("council")
    assert row["mean_diff"] == pytest.approx(x.mean())
    assert row["mean_diff_se"] == pytest.approx(x.std(ddof=1) / np.sqrt(x.size))
    assert row["mean_diff"] < 0  # paying more in up front means less to find later
    assert row["p95_diff_se"] > 0 and row["tvar95_diff_se"] > 0


def test_bad_agreement_file_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agreement:\n  overspend: {key: proportionl}\n")
    with pytest.raises(ConfigError) as info:
        load_agreement(bad)
    assert "bad.yaml" in str(info.value) and "overspend.key" in str(info.value)


def test_unknown_statistic_and_partner(model):
    cmp = compare(model, {}, n_sims=500, seed=1)
    out = cmp.outcomes[cmp.baseline]
    with pytest.raises(InputError, match="unknown partner"):
        statistic(out, "nhs", "mean")


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli():
    from riskshare.cli.core import app, register_commands

    register_commands()
    return app


def test_cli_compare_end_to_end(cli, tmp_path):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(EXAMPLE),
            "--agreements",  # as the README runs it: configs/agreements/*.yaml
            *sorted(str(p) for p in AGREEMENTS.glob("*.yaml")),
            "--sims",
            "1500",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Proportional with a 2 % reserve / Council" in res.output
    assert "Aligned" in res.output
    import pandas as pd

    table = pd.read_csv(out / "comparison.csv")
    n_agreements = len(list(AGREEMENTS.glob("*.yaml")))  # each, and the base: 2 partners + pool
    assert len(table) == 3 * (1 + n_agreements) and "mean_diff_se" in table.columns
    assert (out / "manifest.json").exists()


def test_cli_compare_bad_agreement_exits_2(cli, tmp_path):
    bad = tmp_path / "oops.yaml"
    bad.write_text("agreement:\n  arrangement: pooled\n  reserve: {opening: -5}\n")
    res = CliRunner().invoke(
        cli, ["compare", str(EXAMPLE), "--agreements", str(bad), "--sims", "100"]
    )
    assert res.exit_code == 2
    assert "oops.yaml" in res.output and "reserve.opening" in res.output
    assert "Traceback" not in res.output


def test_compare_writes_report_and_workbook_with_the_comparison(tmp_path: Path) -> None:
    import openpyxl

    from riskshare.cli.core import app, register_commands

    register_commands()
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "configs/section75_example.yaml",
            "--agreements",
            "configs/agreements/aligned.yaml",
            "--sims",
            "3000",
            "--out",
            str(out),
            "--report",
            "--excel",
        ],
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "aligned" in html.lower()
    book = openpyxl.load_workbook(out / "results.xlsx")
    assert "Rules compared" in book.sheetnames
    sheet = book["Rules compared"]
    assert [c.value for c in sheet[3]][:2] == ["Agreement", "Partner"]
    assert sheet.cell(row=4, column=2).value == "Council"  # a name, not the id 'council'
    refused = CliRunner().invoke(
        app,
        [
            "compare",
            "configs/section75_example.yaml",
            "--agreements",
            "configs/agreements/aligned.yaml",
            "--report",
        ],
    )
    assert refused.exit_code == 2 and "--out" in refused.output


def test_an_agreement_file_naming_an_unknown_partner_is_refused_with_its_file(
    tmp_path: Path,
) -> None:
    from riskshare.cli.core import app, register_commands

    register_commands()
    bad = tmp_path / "bad.yaml"
    bad.write_text("agreement:\n  overspend: {key: {council: 0.5, nhs: 0.5}}\n")
    res = CliRunner().invoke(
        app,
        ["compare", "configs/section75_example.yaml", "--agreements", str(bad), "--sims", "500"],
    )
    assert res.exit_code == 2
    assert f"{bad}: agreement.overspend.key: unknown partner 'nhs'" in res.output
    model = rs.load_config("configs/section75_example.yaml")
    with pytest.raises(ConfigError, match="unknown partner 'nhs'"):
        compare(model, {"bad": load_agreement(bad)}, n_sims=500, seed=1)
