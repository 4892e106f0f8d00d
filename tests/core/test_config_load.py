"""Config loading: every invalid value reported with file, line and field; overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

import riskshare as rs
from riskshare.config import json_schema_text
from riskshare.errors import ConfigError

GOOD = """\
partners:
  - {id: nhs}
  - {id: council, host: true}
client_groups:
  - id: ld
    commissioners: council
    spend:
      model: clients
      clients: {mean: 300, growth: 0.02}
      cost: {mean: 60000, cv: 0.6, inflation: 0.025}
  - id: mh
    commissioners: {nhs: 0.6, council: 0.4}
    spend: {model: aggregate, mean: 1.0e6, cv: 0.1}
contributions:
  nhs: {kind: uplift, base: 1000000, uplift: 0.03}
  council: {kind: expected_cost, uplift: 0.03}
simulation: {years: 3, n_sims: 1000, seed: 1}
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(exc: ConfigError) -> list[str]:
    return str(exc).splitlines()


def test_good_config_loads_into_frozen_model(tmp_path: Path) -> None:
    model = rs.load_config(write(tmp_path, GOOD))
    assert model.partner_ids == ["nhs", "council"]
    assert model.host == "council"
    with pytest.raises(ValidationError):  # frozen
        model.name = "x"  # type: ignore[misc]
    sched = model.contribution_schedule()
    assert sched[:, 0] == pytest.approx([1e6, 1.03e6, 1.0609e6])
    # council: expected year-0 cost of the groups it commissions (LD all, MH 40 %)
    assert sched[0, 1] == pytest.approx(300 * 60000 + 0.4 * 1e6)
    assert sched[2, 1] == pytest.approx(sched[0, 1] * 1.03**2)


def test_every_error_is_reported_at_once_with_file_line_and_field(tmp_path: Path) -> None:
    bad = (
        GOOD.replace("cv: 0.6", "cv: -0.6")
        .replace("host: true", "hots: true")
        .replace("nhs: 0.6, council: 0.4", "nhs: 0.6, council: 0.3")
    )
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as info:
        rs.load_config(path)
    lines = problems(info.value)
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: line ") for line in lines)
    text = str(info.value)
    assert "partners[1].hots: unknown field 'hots' (did you mean 'host'?)" in text
    assert (
        "client_groups[0].spend.cost.cv: input should be greater than or equal to 0 (got -0.6)"
        in text
    )
    assert "client_groups[1].commissioners: commissioning shares must sum to 1" in text


def test_cross_reference_errors_name_the_field(tmp_path: Path) -> None:
    bad = GOOD.replace("commissioners: council", "commissioners: counci")
    bad += "appetite: {icb: 1000}\nagreement:\n  overspend: {key: {nhs: 0.5, icb: 0.5}}\n"
    with pytest.raises(ConfigError) as info:
        rs.load_config(write(tmp_path, bad))
    text = str(info.value)
    assert "line 6: client_groups[0].commissioners: unknown partner 'counci'" in text
    assert "appetite.icb: unknown partner" in text
    assert "agreement.overspend.key: unknown partner 'icb'" in text


def test_discriminator_error_lists_the_allowed_models(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        rs.load_config(write(tmp_path, GOOD.replace("model: aggregate", "model: aggregat")))
    assert "'clients', 'aggregate', 'fixed'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("a: [1, 2\n", "not valid YAML"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rs.load_config(write(tmp_path, text))


def test_missing_file_and_wrong_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        rs.load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"unknown file type '\.txt'"):
        rs.load_config(write(tmp_path, GOOD, "c.txt"))


def test_yaml_1_2_reads_1e6_as_a_number(tmp_path: Path) -> None:
    model = rs.load_config(write(tmp_path, GOOD))
    assert model.client_groups[1].spend.mean == 1e6


def test_toml_config(tmp_path: Path) -> None:
    toml = """
[[partners]]
id = "a"
[[partners]]
id = "b"
[[client_groups]]
id = "g"
commissioners = "a"
spend = {model = "fixed", amount = 100.0}
[contributions]
a = {kind = "schedule", amounts = [50.0, 50.0]}
b = {kind = "schedule", amounts = [50.0, 50.0]}
[simulation]
years = 2
"""
    model = rs.load_config(write(tmp_path, toml, "c.toml"))
    assert model.simulation.years == 2


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    model = rs.load_config(
        path,
        [
            "simulation.years=2",
            "client_groups[1].spend.cv=0.2",
            "agreement.overspend.key={nhs: 0.5, council: 0.5}",
        ],
    )
    assert model.simulation.years == 2
    assert model.client_groups[1].spend.cv == 0.2
    assert model.agreement.overspend.key == {"nhs": 0.5, "council": 0.5}
    with pytest.raises(
        ConfigError, match=r"simulation.years: input should be greater than or equal to 1"
    ):
        rs.load_config(path, ["simulation.years=0"])
    with pytest.raises(ConfigError, match=r"--set #1: 'nonsense' is not of the form"):
        rs.load_config(path, ["nonsense"])
    with pytest.raises(ConfigError, match=r"client_groups\[9\]: no such list item"):
        rs.load_config(path, ["client_groups[9].id=x"])


def test_with_changes_revalidates(tmp_path: Path) -> None:
    model = rs.load_config(write(tmp_path, GOOD))
    changed = rs.with_changes(model, {"simulation.years": 4})
    assert changed.simulation.years == 4 and model.simulation.years == 3
    with pytest.raises(ConfigError):
        rs.with_changes(model, {"client_groups[0].spend.cost.cv": -1})


def test_correlation_matrix_must_be_a_correlation_matrix(tmp_path: Path) -> None:
    bad = GOOD + "correlation:\n  groups: [ld, mh]\n  matrix: [[1, 1.5], [1.5, 1]]\n"
    with pytest.raises(ConfigError, match="entries must lie in"):
        rs.load_config(write(tmp_path, bad))
    bad = GOOD + "correlation:\n  groups: [ld, mh]\n  matrix: [[1, 0.5], [0.4, 1]]\n"
    with pytest.raises(ConfigError, match="symmetric"):
        rs.load_config(write(tmp_path, bad))


def test_committed_schema_is_current() -> None:
    committed = Path("riskshare.schema.json").read_text()
    assert committed == json_schema_text(), "run: riskshare schema --out riskshare.schema.json"
    assert json.loads(committed)["title"] == "riskshare configuration"


def test_example_configs_validate() -> None:
    validated = []
    for path in sorted(Path("configs").rglob("*.yaml")):
        text = path.read_text()
        if "client_groups:" in text:
            rs.load_config(path)
            validated.append(path.as_posix())
    # A glob that matches nothing must not pass: the example, the benchmark and the presets.
    assert {"configs/section75_example.yaml", "configs/benchmark.yaml"} <= set(validated)
    assert len(validated) >= 2 + len(list(Path("configs/presets").glob("*.yaml"))) >= 9


def test_field_and_cross_reference_errors_come_together(tmp_path: Path) -> None:
    # pydantic stops before cross-field checks when a field is invalid; the
    # loader runs them on the raw data so the user sees everything at once.
    bad = GOOD.replace("cv: 0.6", "cv: -0.6").replace("commissioners: council", "commissioners: x")
    with pytest.raises(ConfigError) as info:
        rs.load_config(write(tmp_path, bad))
    text = str(info.value)
    assert "client_groups[0].spend.cost.cv: input should be greater than or equal to 0" in text
    assert "client_groups[0].commissioners: unknown partner 'x'" in text


def test_a_vanishing_cv_is_refused_not_divided_by(tmp_path: Path) -> None:
    """cv² of 1e-166 underflows to 0 (a division by zero when drawing): 0 or at least 1e-6."""
    with pytest.raises(ConfigError) as info:
        rs.load_config(write(tmp_path, GOOD.replace("cv: 0.1", "cv: 1.0e-166")))
    assert (
        "line 13: client_groups[1].spend.cv: a coefficient of variation is 0 (none) "
        "or at least 1e-06 (got 1e-166)" in str(info.value)
    )
    model = rs.load_config(write(tmp_path, GOOD.replace("cv: 0.1", "cv: 0")))
    assert model.client_groups[1].spend.cv == 0
