"""Bad exits and integration savings with several schedules: one message, exit 2.

Each case turns the tiny config into two schedules (``home``: homecare,
``therapy``: therapy) with an agreement-wide ``exit`` and model-level
``integration_savings``, breaks one field and hands it to ``validate``: exit
2, no traceback, the file, the field's path and what is allowed in the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import BAD_INPUT, OK, TINY, expect

AGREEMENT = TINY[TINY.index("agreement:\n") : TINY.index("simulation:")]
SCHEDULES = """agreement:
  schedules:
    - {id: home, groups: [homecare], reserve: {opening: 100000}}
    - {id: therapy, groups: [therapy], arrangement: lead, lead: icb}
  exit:
    limits: {icb: 50000}
    voluntary: {council: 1}
    costs:
      - {kind: redundancy, amount: 20000, paid_by: key, key: {council: 0.5, icb: 0.5}}
integration_savings:
  amount: 30000
  ramp: [0.5, 1.0]
  schedules: {home: 0.75, therapy: 0.25}
"""
GOOD = TINY.replace(AGREEMENT, SCHEDULES)

#: (case id, config text, texts the message must contain)
BAD = [
    (
        "savings-to-an-unknown-schedule",
        GOOD.replace("therapy: 0.25}", "therapies: 0.25}"),
        ["integration_savings.schedules", "unknown schedule 'therapies'", "home, therapy"],
    ),
    (
        "savings-fractions-not-summing-to-1",
        GOOD.replace("therapy: 0.25}", "therapy: 0.5}"),
        ["integration_savings.schedules", "must sum to 1 (they sum to 1.25)"],
    ),
    (
        "savings-fraction-above-1",
        GOOD.replace("{home: 0.75, therapy: 0.25}", "{home: 1.5, therapy: -0.5}"),
        ["integration_savings.schedules.home", "less than or equal to 1"],
    ),
    (
        "savings-schedules-empty",
        GOOD.replace("{home: 0.75, therapy: 0.25}", "{}"),
        ["integration_savings.schedules", "at least 1"],
    ),
    (
        "savings-schedules-without-schedules",
        TINY + "integration_savings: {amount: 1000, ramp: [1, 1], schedules: {home: 1}}\n",
        ["integration_savings.schedules", "only with agreement.schedules"],
    ),
    (
        "exit-limit-of-an-unknown-partner",
        GOOD.replace("limits: {icb: 50000}", "limits: {trust: 50000}"),
        ["agreement.exit.limits.trust", "unknown partner 'trust'", "council, icb"],
    ),
    (
        "exit-cost-key-of-an-unknown-partner",
        GOOD.replace("key: {council: 0.5, icb: 0.5}", "key: {council: 0.5, trust: 0.5}"),
        ["agreement.exit.costs[0].key", "unknown partner 'trust'"],
    ),
    (
        "exit-cost-key-own",
        GOOD.replace("key: {council: 0.5, icb: 0.5}", "key: own"),
        ["agreement.exit.costs[0].key", "not a variance", "proportional, host, commissioners"],
    ),
    (
        "exit-reserve-key-own",
        GOOD.replace(
            "    voluntary: {council: 1}\n", "    voluntary: {council: 1}\n    reserve_key: own\n"
        ),
        ["agreement.exit.reserve_key", "not a variance", "fixed shares"],
    ),
    (
        "exit-inside-a-schedule",
        GOOD.replace(
            "arrangement: lead, lead: icb}", "arrangement: lead, lead: icb, exit: {end_year: 1}}"
        ),
        ["agreement.schedules[1].exit", "unknown field", "allowed:"],
    ),
]


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in BAD])
def test_bad_schedule_exits(tmp_path: Path, cli, text: str, needles: list[str]) -> None:
    path = tmp_path / "framework.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    expect(result, BAD_INPUT, "framework.yaml", *needles)
    assert result.output.count("Error:") == 1, result.output


def test_an_exit_and_savings_with_schedules_validate(tmp_path: Path, cli) -> None:
    path = tmp_path / "framework.yaml"
    path.write_text(GOOD, encoding="utf-8")
    expect(cli("validate", path), OK)
