"""Bad in-year timing in a config (accrual profiles, trigger months and lags, instalments).

Each is refused by ``validate`` and ``run`` with one message naming the file,
the field and what is allowed, exit 2, and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import TINY, refused

RESERVE = "  reserve: {opening: 0, carry_forward: true, final_key: proportional}\n"
FLAT = "[" + ", ".join(["0.0833333333"] * 12) + "]"


def _agreement(extra: str) -> str:
    return TINY.replace(RESERVE, RESERVE + extra)


def _group(extra: str) -> str:
    return TINY.replace("    commissioners: council\n", "    commissioners: council\n" + extra)


#: (case id, config text, texts the message must contain)
CASES = [
    ("profile-11-months", _agreement("  accrual: [" + "0.1, " * 10 + "0]\n"), ["accrual", "12"]),
    ("profile-sums-to-1.2", _agreement("  accrual: [" + "0.1, " * 11 + "0.1]\n"), ["sum to 1"]),
    (
        "profile-negative",
        _agreement("  accrual: [-0.1, 0.2" + ", 0.09" * 10 + "]\n"),
        ["accrual", "greater than or equal to 0"],
    ),
    (
        "group-profile-text",
        _group("    accrual: winter\n"),
        ["client_groups", "accrual", "list"],
    ),
    (
        "trigger-month-12",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, month: 12}\n"),
        ["trigger", "month", "11"],
    ),
    (
        "trigger-lag-past-year-end",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, month: 9, lag: 4}\n"),
        ["trigger", "month + lag", "12"],
    ),
    (
        "trigger-negative-lag",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, lag: -1}\n"),
        ["trigger", "lag"],
    ),
    (
        "forecast-without-model",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, on: forecast}\n"),
        ["trigger", "on: forecast needs 'forecast'"],
    ),
    (
        "forecast-on-outturn",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, forecast: {sd: 0.05}}\n"),
        ["trigger", "on: forecast"],
    ),
    (
        "forecast-zero-sd",
        _agreement(
            "  trigger: {threshold: 0.01, mitigation: 0.5, on: forecast, forecast: {sd: 0}}\n"
        ),
        ["forecast", "sd", "greater than 0"],
    ),
    (
        "instalments-three",
        _agreement("  instalments: {number: 3}\n"),
        ["instalments", "number", "1, 4 or 12"],
    ),
    (
        "instalments-aligned",
        TINY.replace("arrangement: pooled", "arrangement: aligned").replace(
            "  reserve: {opening: 0, carry_forward: true, final_key: proportional}\n",
            "  instalments: {number: 4}\n",
        ),
        ["instalments", "aligned budgets have no pooled fund"],
    ),
    (
        "cash-key-own",
        _agreement("  instalments: {number: 4, cash_key: own}\n"),
        ["instalments", "cash_key", "'own'", "names no shares", "proportional, host"],
    ),
    (
        "cash-key-unknown-name",
        _agreement("  instalments: {number: 4, cash_key: lead}\n"),
        ["instalments", "cash_key", "not a key", "proportional, host, commissioners"],
    ),
    (
        "cash-key-unknown-partner",
        _agreement("  instalments: {number: 4, cash_key: {council: 0.5, trust: 0.5}}\n"),
        ["instalments.cash_key", "unknown partner 'trust'"],
    ),
    (
        "cash-key-shares-not-summing-to-1",
        _agreement("  instalments: {number: 4, cash_key: {council: 0.5, icb: 0.4}}\n"),
        ["instalments", "cash_key", "sum to 1"],
    ),
    (
        "recovery-cost-negative",
        _agreement("  trigger: {threshold: 0.01, mitigation: 0.5, cost: {fixed: -5}}\n"),
        ["cost", "fixed"],
    ),
]


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_in_year_timing(tmp_path: Path, cli, command: str, text: str, needles: list[str]):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    refused(cli, command, path, *needles)


def test_a_flat_profile_written_out_is_accepted(tmp_path: Path, cli) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_agreement(f"  accrual: {FLAT}\n  instalments: {{number: 12}}\n"))
    result = cli("validate", path)
    assert result.exit_code == 0, result.output
