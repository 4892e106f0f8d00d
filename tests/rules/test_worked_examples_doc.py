"""docs/worked_examples.md is generated from the tested examples and must be current."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_worked_examples_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("make_doc", ROOT / "docs/make_worked_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "docs/worked_examples.md").read_text(encoding="utf-8")
    assert committed == module.render(), "run: python docs/make_worked_examples.py"
