"""docs/modelling.md stays true: its YAML is valid, its quoted headline is what riskshare says."""

from __future__ import annotations

import re
from pathlib import Path

import riskshare as rs
from riskshare.report.headline import headlines

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "modelling.md"


def test_walkthrough_yaml_runs_and_gives_the_quoted_headline(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    config = tmp_path / "my_pool.yaml"
    config.write_text(block.group(1), encoding="utf-8")
    model = rs.load_config(config)
    assert [p.id for p in model.partners] == ["council", "icb"]
    assert model.agreement.overspend.key == "proportional"
    assert model.agreement.reserve.opening == 500_000  # the clause's £0.5m risk pool
    result = rs.simulate(model)
    quoted = re.search(r"^> (Council should expect.*)$", text, re.M)
    assert quoted is not None
    assert quoted.group(1) == headlines(result.summary(), model)[0].text
    for path in re.findall(r"configs/agreements/\w+\.yaml", text):
        assert (ROOT / path).is_file(), path
    assert "glossary.md#outputs" in text
