"""Fuzzing with hypothesis: any config value, override or argument gives a model or one
message with exit 2 (never a traceback, never an internal error)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskshare as rs
from riskshare.config.load import format_loc, read_config_data, set_path, validate_data
from riskshare.errors import ConfigError, InputError

from ._support import BAD_INPUT, OK, TINY, expect

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


def _tiny_data(tmp_path_factory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("fuzz") / "tiny.yaml"
    path.write_text(TINY)
    return read_config_data(path)[0]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> dict[str, Any]:
    return _tiny_data(tmp_path_factory)


HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3)), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(-3, 3), max_size=3),
)
LEAVES = _leaves(
    __import__("ruamel.yaml", fromlist=["YAML"]).YAML(typ="safe", pure=True).load(TINY)
)


@FAST
@given(path=st.sampled_from(LEAVES), value=HOSTILE_VALUES)
def test_any_value_anywhere_gives_a_model_or_a_config_error(tiny_data, path, value) -> None:
    import copy

    data = copy.deepcopy(tiny_data)
    set_path(data, list(path), value)
    try:
        model = validate_data(data, source="fuzz.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml"), str(exc)
        return
    result = rs.simulate(model, n_sims=64, seed=1, workers=1)
    assert all(math.isfinite(v) for v in result.net.ravel())


@FAST
@given(path=st.sampled_from(LEAVES), raw=st.text(max_size=16))
def test_any_override_text_gives_exit_0_or_2(tiny: Path, cli, path, raw: str) -> None:
    override = f"{format_loc(path)}={raw}"
    result = cli("validate", tiny, "--set", override)
    assert result.exit_code in (OK, BAD_INPUT), result.output
    if result.exit_code == BAD_INPUT:
        expect(result, BAD_INPUT, str(tiny))


TOKENS = st.sampled_from(
    [
        "--sims",
        "--seed",
        "--workers",
        "--chunk-blocks",
        "--set",
        "--out",
        "--force",
        "--quiet",
        "-n",
        "0",
        "1",
        "2",
        "50",
        "-1",
        "1e9",
        "10**12",
        "abc",
        "",
        "nan",
        "simulation.years=3",
        "x=",
        "=",
        "--",
        "--unknown",
        "agreement.reserve=None",
    ]
)


@FAST
@given(args=st.lists(TOKENS, max_size=6))
def test_any_run_arguments_give_a_documented_exit_code(
    tiny: Path, cli, tmp_path, monkeypatch, args
) -> None:
    monkeypatch.chdir(tmp_path)  # whatever --out gets is a folder in here
    result = cli("run", tiny, "--sims", "50", *args, "--quiet")
    assert result.exit_code in (OK, BAD_INPUT), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


@FAST
@given(text=st.text(max_size=40))
def test_any_solve_target_text_is_parsed_or_refused(text: str) -> None:
    from riskshare.analysis.solver import parse_target

    with contextlib.suppress(InputError):  # parsed, or refused with a message
        parse_target(text)


@FAST
@given(
    target=st.from_regex(
        r"(council|icb|pool):(p95|prob_pays|tvar95|mean|p_any_year_above:[0-9e]{1,4})"
        r"(<=|>=|=)-?[0-9.e%£mk]{1,8}",
        fullmatch=True,
    )
)
def test_any_solve_target_on_the_command_line(tiny: Path, cli, target: str) -> None:
    result = cli(
        "solve",
        tiny,
        "--vary",
        "contributions.council",
        "--target",
        target,
        "--lo",
        "2",
        "--hi",
        "1",  # bounds refused after the target is checked: nothing runs
    )
    expect(result, BAD_INPUT)
    assert "internal error" not in result.output


@FAST
@given(body=st.text(max_size=200))
def test_any_yaml_text_as_a_config(tmp_path_factory, body: str) -> None:
    path = tmp_path_factory.mktemp("yaml") / "c.yaml"
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        rs.load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))
