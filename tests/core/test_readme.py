"""The README's Python example runs as written (with fewer simulations)."""

import re
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[2]


def test_readme_python_example_runs() -> None:
    matplotlib.use("Agg")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has a Python example"
    for block in blocks:
        code = block.replace("100_000", "5_000")
        exec(compile(code, "README.md", "exec"), {})


def test_readme_commands_name_real_files() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in re.findall(
        r"\b((?:configs|examples|docs|notebooks|benchmarks)/[\w./-]+\.\w+)", text
    ):
        if "*" not in path:
            assert (ROOT / path).exists(), path
