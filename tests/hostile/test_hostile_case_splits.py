"""Bad case splits (``client_groups[].cases``): one message naming file, field and what is allowed.

Each case edits the tiny config's jointly commissioned ``therapy`` group (50/50)
and is handed to ``validate``: exit 2, no traceback, the file, the field's path
and what would be accepted in the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import BAD_INPUT, OK, TINY, expect

THERAPY = "    commissioners: {council: 0.5, icb: 0.5}\n"
TABLE = (
    "    cases:\n"
    "      table:\n"
    "        - {shares: {council: 0.5, icb: 0.5}, probability: 0.5}\n"
    "        - {shares: {council: 1.0}, probability: 0.25}\n"
    "        - {shares: {icb: 1.0}, probability: 0.25}\n"
)


def _with(cases: str, *, after: str = THERAPY, extra: str = "") -> str:
    text = TINY.replace(after, after + cases, 1)
    return text.replace("agreement:\n", "agreement:\n" + extra, 1)


#: (case id, config text, texts the message must contain)
BAD = [
    (
        "shares-not-summing-to-1",
        _with(TABLE.replace("{council: 1.0}", "{council: 0.9}")),
        ["client_groups[1].cases.table[1].shares", "must sum to 1 (they sum to 0.9)"],
    ),
    (
        "unknown-partner",
        _with(TABLE.replace("{icb: 1.0}", "{trust: 1.0}")),
        ["client_groups[1].cases.table[2].shares", "unknown partner 'trust'", "council, icb"],
    ),
    (
        "probabilities-not-summing-to-1",
        _with(TABLE.replace("probability: 0.5}", "probability: 0.4}")),
        ["client_groups[1].cases", "probabilities must sum to 1 (they sum to 0.9)"],
    ),
    (
        "probability-zero",
        _with(TABLE.replace("probability: 0.5}", "probability: 0}")),
        ["client_groups[1].cases.table[0].probability", "greater than 0"],
    ),
    (
        "table-mean-not-commissioners",
        _with(
            TABLE.replace(
                "{council: 1.0}, probability: 0.25", "{council: 1.0}, probability: 0.3"
            ).replace("{icb: 1.0}, probability: 0.25", "{icb: 1.0}, probability: 0.2")
        ),
        [
            "client_groups[1]",
            "'commissioners' must be the expected split",
            "council: 0.55, icb: 0.45",
        ],
    ),
    (
        "concentration-zero",
        _with("    cases: {concentration: 0}\n"),
        ["client_groups[1].cases.concentration", "greater than 0"],
    ),
    (
        "concentration-negative",
        _with("    cases: {concentration: -2}\n"),
        ["client_groups[1].cases.concentration", "greater than 0"],
    ),
    (
        "concentration-infinite",
        _with("    cases: {concentration: .inf}\n"),
        ["client_groups[1].cases.concentration", "finite"],
    ),
    (
        "neither-concentration-nor-table",
        _with("    cases: {}\n"),
        ["client_groups[1].cases", "exactly one of 'concentration' (Dirichlet) or 'table'"],
    ),
    (
        "both-concentration-and-table",
        _with(TABLE.replace("    cases:\n", "    cases:\n      concentration: 2\n")),
        ["client_groups[1].cases", "exactly one of"],
    ),
    (
        "unknown-field",
        _with("    cases: {concentration: 2, alpha: 3}\n"),
        ["client_groups[1].cases.alpha"],
    ),
    (
        "with-a-group-key",
        _with("    cases: {concentration: 2}\n", extra="  group_keys: {therapy: host}\n"),
        ["agreement.group_keys.therapy", "has case splits", "remove it from group_keys"],
    ),
]


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in BAD])
def test_bad_case_splits(tmp_path: Path, cli, text: str, needles: list[str]) -> None:
    path = tmp_path / "s117.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    expect(result, BAD_INPUT, "s117.yaml", *needles)
    assert result.output.count("Error:") == 1, result.output


@pytest.mark.parametrize(
    "cases", [TABLE, "    cases: {concentration: 2}\n"], ids=["table", "dirichlet"]
)
def test_good_case_splits_validate_and_run(tmp_path: Path, cli, cases: str) -> None:
    path = tmp_path / "s117.yaml"
    path.write_text(_with(cases), encoding="utf-8")
    expect(cli("validate", path), OK)
