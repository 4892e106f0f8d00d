"""Checks across the structure of an agreement: keys wherever they appear."""

from __future__ import annotations

from pathlib import Path

import pytest

import riskshare as rs
from riskshare.errors import ConfigError

BASE = """\
partners:
  - {id: council, host: true}
  - {id: icb}
  - {id: trust}
client_groups:
  - {id: ld, commissioners: council, spend: {model: fixed, amount: 1.0e6}}
  - {id: mh, commissioners: {icb: 0.7, trust: 0.3}, spend: {model: fixed, amount: 2.0e6}}
contributions:
  council: {kind: uplift, base: 1.0e6}
  icb: {kind: uplift, base: 1.4e6}
  trust: {kind: uplift, base: 0.6e6}
simulation: {years: 2, n_sims: 10, seed: 1}
"""


def load(tmp_path: Path, extra: str) -> rs.Model:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + extra)
    return rs.load_config(path)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("agreement: {group_keys: {mh: {icb: 0}}}", "agreement.group_keys.mh"),
        ("agreement: {group_keys: {mh: {}}}", "agreement.group_keys.mh"),
        ("agreement: {overspend: {key: {icb: 0.5}}}", "agreement.overspend.key"),
        (
            "agreement: {reserve: {final_key: {icb: 0.5, trust: 0.6}}}",
            "agreement.reserve.final_key",
        ),
    ],
)
def test_a_fixed_key_must_sum_to_one_wherever_it_appears(tmp_path, extra, field) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, extra)
    text = str(info.value)
    assert field in text
    assert "sum to 1" in text or "at least one partner" in text


SCHEDULES = """\
agreement:
  schedules:
    - {id: pooled, groups: [ld, mh]}
    - {id: equipment, groups: [mh], arrangement: lead, lead: district}
"""


def test_schedule_problems_one_message_each_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskshare.cli.core import app, register_commands

    register_commands()
    path = tmp_path / "c.yaml"
    path.write_text(
        BASE.replace(
            "client_groups:\n",
            "client_groups:\n  - {id: eq, commissioners: icb, "
            "spend: {model: fixed, amount: 5.0e5}}\n",
        )
        + SCHEDULES
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "3 problems" in out
    assert f"{path}: line" in out
    assert "agreement.schedules[1].groups[0]: group 'mh' is already in schedule 'pooled'" in out
    assert "agreement.schedules[1].lead: unknown partner 'district'" in out
    assert "agreement.schedules: group(s) eq in no schedule" in out
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "agreement: {overspend: {key: host}, schedules: [{id: a, groups: [ld, mh]}]}",
            "agreement.overspend: with 'schedules', each schedule states its own rules",
        ),
        (
            "agreement: {schedules: [{id: a, groups: [ld], funding: {council: 1, icb: 0.5}},"
            " {id: b, groups: [mh], funding: {icb: 0.4, trust: 1}}]}",
            "partner 'icb''s funding fractions over the schedules must sum to 1 (they sum to 0.9)",
        ),
        (
            "agreement: {schedules: [{id: a, groups: [ld], group_keys: {mh: host}},"
            " {id: b, groups: [mh], arrangement: aligned}], across: {schedules: [b]}}",
            "agreement.schedules[0].group_keys.mh: group 'mh' is not in this schedule",
        ),
        (
            "agreement: {schedules: [{id: a, groups: [ld]}, {id: b, groups: [mh], "
            "arrangement: aligned}], across: {schedules: [b]}}",
            "agreement.across.schedules[0]: schedule 'b' is aligned budgets",
        ),
        ("agreement: {arrangement: lead}", "agreement.lead: a 'lead' arrangement names its lead"),
        (
            "agreement: {arrangement: aligned, vat: {vatable: 0.2, recovered: 0}}",
            "agreement.vat: aligned budgets have no host commissioning for the pool",
        ),
        ("agreement: {vat: {vatable: 1.5, recovered: 0}}", "agreement.vat.vatable"),
        ("agreement: {vat: {vatable: 0.5}}", "agreement.vat.recovered"),
        (
            "performance: [{id: nea, mean: 0.01, sd: 0.02}]\n"
            "agreement: {holdback: {partner: trust, amount: 7.0e5, metric: nea, target: 0.04}}",
            "agreement.holdback.amount: £700,000 is more than trust's contribution in year 0",
        ),
    ],
)
def test_schedule_structure_errors_name_the_field(tmp_path, extra, message) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, extra)
    assert message in " ".join(str(info.value).split())
