"""Display names, and config paths that address client groups and partners by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import riskshare as rs
from riskshare.config.load import get_path, with_changes
from riskshare.config.names import assumption_label, partner_labels
from riskshare.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "section75_example.yaml"


def test_set_addresses_a_client_group_by_id():
    by_id = rs.load_config(EXAMPLE, ["client_groups.learning_disability.spend.cost.inflation=0.08"])
    by_index = rs.load_config(EXAMPLE, ["client_groups[0].spend.cost.inflation=0.08"])
    assert by_id == by_index
    assert by_id.client_groups[0].spend.cost.inflation == 0.08
    renamed = rs.load_config(EXAMPLE, ["partners.icb.name=NHS Somewhere ICB"])
    assert partner_labels(renamed)["icb"] == "NHS Somewhere ICB"


def test_an_unknown_id_is_named_with_the_ids_there_are():
    with pytest.raises(ConfigError) as err:
        rs.load_config(EXAMPLE, ["client_groups.nope.spend.cv=0.1"])
    text = str(err.value)
    assert "nope" in text and "learning_disability" in text and "intermediate_care" in text
    from riskshare.cli.core import app, register_commands

    register_commands()
    res = CliRunner().invoke(
        app, ["validate", str(EXAMPLE), "--set", "client_groups.nope.spend.cv=0.1"]
    )
    assert res.exit_code == 2 and "no item with id 'nope'" in res.output
    assert "Traceback" not in res.output


def test_changes_and_paths_by_id(example_model):
    changed = with_changes(example_model, {"client_groups.mental_health.spend.growth": 0.07})
    assert changed.client_groups[1].spend.growth == 0.07
    data = example_model.model_dump(mode="json")
    assert get_path(data, "client_groups.community_equipment.spend.cv") == 0.06
    with pytest.raises(InputError, match="does not exist"):
        get_path(data, "client_groups.nope.spend.cv")


def test_assumption_labels(example_model):
    m = example_model
    assert assumption_label(m, "client_groups[3].spend.clients.growth") == (
        "Older people's intermediate care and reablement: growth in client numbers"
    )
    assert assumption_label(m, "client_groups.learning_disability.spend.cost.cv") == (
        "Learning disability: variability of cost per client (CV)"
    )
    assert assumption_label(m, "appetite.council") == "Council: risk appetite"
    assert assumption_label(m, "agreement.threshold_overspend.rate") == (
        "Agreement threshold overspend rate"
    )
    assert assumption_label(m, "not a [path") == "not a [path"


def test_tornado_chart_is_labelled_with_names(example_model):
    import pandas as pd

    from riskshare.report.plots import tornado

    table = pd.DataFrame(
        {
            "assumption": ["client_groups[0].spend.cost.inflation"] * 2,
            "partner": ["council", "icb"],
            "measure": ["p95", "p95"],
            "low_value": [0.035, 0.035],
            "high_value": [0.075, 0.075],
            "base": [6e6, 4e6],
            "at_low": [5e6, 3.5e6],
            "at_high": [7e6, 4.5e6],
            "swing": [2e6, 1e6],
        }
    )
    fig = tornado(table, measure="p95", model=example_model)
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    titles = [ax.get_title(loc="right") for ax in fig.axes]
    assert ticks[0] == "Learning disability: cost inflation  (3.5% to 7.5%)"
    assert titles[1].startswith("Integrated Care Board: P95")
