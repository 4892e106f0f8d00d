"""Write docs/worked_examples.md from the hand-worked examples the tests check.

The examples live in ``tests/rules/test_worked_examples.py`` (each checked
against the reference settlement and the engine), so the document cannot
drift from what riskshare does: ``tests/rules/test_worked_examples_doc.py``
fails when this file is out of date. Run from the repository root::

    python docs/make_worked_examples.py
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "rules" / "test_worked_examples.py"
TARGET = ROOT / "docs" / "worked_examples.md"


def _load_examples() -> list:
    spec = importlib.util.spec_from_file_location("_worked_examples", SOURCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.EXAMPLES


def _comments(text: str) -> dict[str, tuple[str, str]]:
    """{example id: (section, the comment block above it)}."""
    out: dict[str, tuple[str, str]] = {}
    section = ""
    block: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        head = re.match(r"# -{10,} (.+)$", stripped)
        if head:
            section = head.group(1).strip()
            block = []
        elif stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
        elif stripped == "Example(" and i + 1 < len(lines):
            name = re.match(r'\s*"([^"]+)"', lines[i + 1])
            if name:
                out[name.group(1)] = (section, " ".join(block))
            block = []
        elif stripped and not stripped.startswith(("Example(", '"')):
            block = [] if stripped.endswith("),") else block
    return out


def _money(x: float) -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}£{abs(x) / 1e6:,.3f}m".replace(".000m", "m")


def _value(v: object) -> str:
    if isinstance(v, (int, float)):
        return _money(float(v)) if abs(v) >= 1000 else f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def render() -> str:
    examples = _load_examples()
    notes = _comments(SOURCE.read_text(encoding="utf-8"))
    parts = [
        "# Worked examples: every clause, by hand\n",
        "Each example is a tiny pool with two partners, `council` (the host unless stated) "
        "and `icb`, deterministic spend and the expected flows worked out by hand. The test "
        "suite checks every one against the plain reference settlement and the vectorised "
        "engine, and both ledgers must balance; this page is generated from those tests "
        "(`python docs/make_worked_examples.py`), so it cannot drift. Partner flows are "
        "`[council, icb]` per year, pool flows one number per year. The formulas are in "
        "[rules.md](rules.md).\n",
    ]
    section = None
    for ex in examples:
        sec, note = notes.get(ex.id, ("", ""))
        if sec != section:
            section = sec
            parts.append(f"\n## {sec.capitalize() or 'Other'}\n")
        parts.append(f"\n### `{ex.id}`\n")
        if note:
            parts.append(f"\n{note}\n")
        parts.append("\n| | |\n|---|---|\n")
        groups = ", ".join(
            f"`{g}` ({c if isinstance(c, str) else json.dumps(c)}): expected "
            f"{_value(list(amounts))}"
            for g, (c, amounts) in ex.groups.items()
        )
        parts.append(f"| groups | {groups} |\n")
        contrib = ", ".join(f"{p}: {_value(list(v))}" for p, v in ex.contributions.items())
        parts.append(f"| contributions | {contrib} |\n")
        if ex.spend is not None:
            parts.append(f"| actual spend (year × group) | {_value(ex.spend)} |\n")
        if ex.agreement:
            parts.append(f"| agreement | `{json.dumps(ex.agreement)}` |\n")
        for g, clause in (ex.cases or {}).items():
            parts.append(f"| case splits of `{g}` | `{json.dumps(clause)}` |\n")
        for g, shares in (ex.case_shares or {}).items():
            drawn = "[" + ", ".join("[" + ", ".join(f"{x:.4f}" for x in y) + "]" for y in shares)
            parts.append(f"| `{g}`: shares of this year's cases (year × partner) | {drawn}] |\n")
        for name, value in ex.expected.items():
            parts.append(f"| **{name}** | {_value(value)} |\n")
    return "".join(parts)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"written {TARGET.relative_to(ROOT)}")
