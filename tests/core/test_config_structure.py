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
