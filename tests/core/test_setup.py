"""Setting up stays two commands and light: the README's first command installs no test tool."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "playwright", "ruff", "hypothesis", "nbmake", "import-linter", "openpyxl"}


def _two_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == _two_commands()[1]


def _first_command_packages() -> set[str]:
    """The distributions the README's first command installs (lower case)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    words = shlex.split(_two_commands()[0].split("&&", 1)[1])
    assert words[:2] == ["uv", "run"]
    flags = words[2 : words.index("riskshare")]
    assert "--no-dev" in flags
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-header", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {_normal(re.split(r"[=<>;\s]", line, maxsplit=1)[0]) for line in exported.splitlines()}


def _normal(name: str) -> str:
    """A distribution's normalised name (PEP 503): ``ruamel.yaml`` is ``ruamel-yaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_top_level_import_is_installed_by_the_first_command() -> None:
    """A module imported at the top of a riskshare module must come with the first command.

    (Typer stopped depending on Click: an ``import click`` passed every test in
    the full environment and broke the README's first command.) Optional
    extras are imported inside functions; ``riskshare.testing`` serves tests.
    """
    installed = _first_command_packages()
    dists = importlib.metadata.packages_distributions()
    missing = {}
    for path in (ROOT / "riskshare").rglob("*.py"):
        if "testing" in path.relative_to(ROOT).parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("riskshare", "__future__"):
                    continue
                if not {_normal(d) for d in dists.get(top, [top])} & installed:
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert missing == {}


def test_first_command_installs_no_test_tool() -> None:
    uv = shutil.which("uv")
    names = _first_command_packages()
    assert "numpy" in names and "typer" in names
    assert names.isdisjoint(TEST_TOOLS), names & TEST_TOOLS
    # Without --no-dev the test tools would be installed: the check above can fail.
    dev = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "playwright==" in dev


def test_uv_run_prints_no_bytecode_noise() -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    done = subprocess.run(
        [uv, "run", "--frozen", "--no-dev", "python", "-c", "print('ok')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "ok\n"
    assert "Bytecode compiled" not in done.stderr
