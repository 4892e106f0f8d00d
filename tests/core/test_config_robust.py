"""Any value, anywhere in a config, gives a valid model or a ConfigError: never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskshare as rs
from riskshare.config.load import read_config_data, validate_data
from riskshare.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BAD_VALUES: list[Any] = ["x", -1, 0, None, [], {}, 1e308, True, [1, "a"], {"z": 1}]


def leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaves(v, (*path, k))] + [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in leaves(v, (*path, i))] + [path]
    return [path]


def replaced(data: Any, path: tuple, value: Any) -> Any:
    data = json.loads(json.dumps(data))
    if not path:
        return value
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


CONFIGS = sorted(
    str(p.relative_to(ROOT / "configs"))
    for p in (ROOT / "configs").rglob("*.yaml")
    if "client_groups:" in p.read_text(encoding="utf-8")
)


def test_every_example_config_is_covered() -> None:
    # An empty glob would parametrize nothing and pass: the example, benchmark and presets.
    assert {"section75_example.yaml", "benchmark.yaml"} <= set(CONFIGS) and len(CONFIGS) >= 9


@pytest.mark.filterwarnings("error::RuntimeWarning")  # overflow or NaN is a failure too
@pytest.mark.parametrize("config", CONFIGS)
def test_every_bad_value_is_a_config_error(config: str) -> None:
    data, _ = read_config_data(ROOT / "configs" / config)
    checked = 0
    for path in leaves(data):
        for value in BAD_VALUES:
            try:
                model = validate_data(replaced(data, path, value), source=config)
            except ConfigError as exc:
                assert str(exc).startswith(config)
                checked += 1
                continue
            # Accepted: it must then simulate without crashing.
            result = rs.simulate(model, n_sims=64, seed=1, workers=1)
            assert np.all(np.isfinite(result.net)), (path, value)
    assert checked > 100
