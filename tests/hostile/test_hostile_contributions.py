"""Contributions re-set each year (R18), and minimums, given bad values: one message, exit 2.

Each case replaces the tiny config's contributions (or adds to it) and must be
refused by ``validate`` and ``run`` with a message naming the file, the field
and what is allowed, without writing anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import BAD_INPUT, OK, TINY, expect

CONTRIBUTIONS = (
    "  council: {kind: expected_cost, uplift: 0.02}\n  icb: {kind: expected_cost, uplift: 0.02}\n"
)
ICB = "  icb: {kind: expected_cost, uplift: 0.02}\n"


def config(council: str, icb: str = ICB, extra: str = "") -> str:
    """The tiny config with the council's contribution (and the icb's) replaced."""
    assert CONTRIBUTIONS in TINY
    return TINY.replace(CONTRIBUTIONS, f"  council: {council}\n{icb}") + extra


#: (case id, config text, texts the message must contain)
CASES = [
    (
        "both-efficiencies",
        config("{kind: rebased, base: 5.0e5, efficiency: 0.01, efficiency_amount: 1000}"),
        ("contributions.council", "'efficiency' (a rate) or 'efficiency_amount' (£), not both"),
    ),
    (
        "share-above-one",
        config("{kind: rebased, base: 5.0e5, recurrent_share: 1.5}"),
        ("contributions.council", "recurrent_share", "less than or equal to 1"),
    ),
    (
        "negative-share",
        config("{kind: rebased, base: 5.0e5, recurrent_share: -0.5}"),
        ("recurrent_share", "greater than or equal to 0"),
    ),
    (
        "efficiency-all",
        config("{kind: rebased, base: 5.0e5, efficiency: 1}"),
        ("contributions.council", "efficiency", "less than 1"),
    ),
    (
        "uplift-minus-one",
        config("{kind: rebased, base: 5.0e5, uplift: -1}"),
        ("contributions.council", "uplift", "greater than -1"),
    ),
    (
        "nan-base",
        config("{kind: rebased, base: .nan}"),
        ("contributions.council", "base"),
    ),
    (
        "negative-base",
        config("{kind: rebased, base: -5.0e5}"),
        ("contributions.council", "base", "greater than or equal to 0"),
    ),
    (
        "missing-base",
        config("{kind: rebased, uplift: 0.03}"),
        ("contributions.council.base", "required field is missing"),
    ),
    (
        "outturn-zero-factor",
        config("{kind: outturn, factor: 0}"),
        ("contributions.council", "factor", "greater than 0"),
    ),
    (
        "outturn-unknown-group",
        config("{kind: outturn, shares: {nursing: 1.0}}"),
        ("contributions.council.shares", "nursing"),
    ),
    (
        "misspelt-kind",
        config("{kind: rebase, base: 5.0e5}"),
        ("contributions.council", "rebased", "outturn"),
    ),
    (
        "unknown-field",
        config("{kind: rebased, base: 5.0e5, recurrent: 0.5}"),
        ("contributions.council", "recurrent"),
    ),
    (
        "minimum-growth-huge",
        config("{kind: uplift, base: 5.0e5, minimum: {base: 1.0e5, growth: 5}}"),
        ("contributions.council", "minimum.growth", "less than or equal to 1"),
    ),
    (
        "schedule-below-minimum",
        config(
            "{kind: uplift, base: 5.0e5}",
            "  icb: {kind: schedule, amounts: [9.0e5, 9.0e5], "
            "minimum: {base: 9.0e5, growth: 0.0566}}\n",
        ),
        ("contributions.icb: £900,000 in year 1 is below its minimum £950,940",),
    ),
]


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_contribution_is_refused(tmp_path: Path, cli, command: str, text: str, needles):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = (
        ["run", path, "--quiet", "--out", tmp_path / "out"]
        if command == "run"
        else ["validate", path]
    )
    result = cli(*args)
    expect(result, BAD_INPUT, str(path), *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing written"


def test_a_schedule_at_its_minimum_is_accepted(tmp_path: Path, cli) -> None:
    """The NHS minimum met exactly (9e5 × 1.0566 = 950,940) passes: the check is not strict."""
    path = tmp_path / "c.yaml"
    path.write_text(
        config(
            "{kind: rebased, base: 5.0e5, uplift: 0.03, recurrent_share: 0.5}",
            "  icb: {kind: schedule, amounts: [9.0e5, 950940], "
            "minimum: {base: 9.0e5, growth: 0.0566}}\n",
        ),
        encoding="utf-8",
    )
    expect(cli("validate", path), OK)
