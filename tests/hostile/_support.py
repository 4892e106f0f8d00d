"""Shared pieces of the hostile-input suite: a tiny config, the command line, and checks.

Every case checks the same contract (issue 9): the documented exit code, one
message (never a traceback) naming the file or option at fault, no user file
lost, and nothing half-written left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskshare.cli.core import app, register_commands

register_commands()

TINY = """\
name: Tiny pool
partners:
  - {id: council, name: Council, host: true}
  - {id: icb, name: ICB}
client_groups:
  - id: homecare
    commissioners: council
    spend: {model: aggregate, distribution: gamma, mean: 1000000, cv: 0.1, growth: 0.03}
  - id: therapy
    commissioners: {council: 0.5, icb: 0.5}
    spend:
      model: clients
      clients: {distribution: poisson, mean: 50, growth: 0.02}
      cost: {distribution: lognormal, mean: 20000, cv: 0.5, inflation: 0.03}
contributions:
  council: {kind: expected_cost, uplift: 0.02}
  icb: {kind: expected_cost, uplift: 0.02}
agreement:
  arrangement: pooled
  overspend: {key: proportional}
  underspend: {key: proportional}
  reserve: {opening: 0, carry_forward: true, final_key: proportional}
simulation: {years: 2, n_sims: 200, seed: 1}
"""

#: Exit codes documented in the README and riskshare.errors.
OK, FAILURE, BAD_INPUT, INTERRUPTED, INTERNAL = 0, 1, 2, 130, 70


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A valid two-partner, two-year config that simulates in milliseconds."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture
def cli() -> Callable[..., object]:
    """Invoke the command line in-process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: object):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)

    return invoke


def expect(result, code: int, *needles: str) -> None:
    """The result exited with ``code``, printed no traceback and mentions each needle."""
    output = result.output
    assert result.exit_code == code, output
    assert "Traceback" not in output, output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    if code == BAD_INPUT:  # riskshare's message, or click's usage error naming the option
        assert output.lstrip().startswith(("Error:", "Usage:")), output
    for needle in needles:
        assert needle in output, f"{needle!r} not in {output!r}"


def refused(cli, command: str, path: Path, *needles: str) -> None:
    """``validate`` or ``run`` of the config at ``path`` exits 2 naming it and each needle.

    Nothing is written beside the config (no results folder, no partial output).
    """
    before = sorted(p.name for p in path.parent.iterdir())
    out = path.parent / "out"
    args = ["run", path, "--quiet", "--out", out] if command == "run" else ["validate", path]
    expect(cli(*args), BAD_INPUT, str(path), *needles)
    assert sorted(p.name for p in path.parent.iterdir()) == before, "nothing written"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (hidden staging folders included)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    """Staging or temporary entries riskshare may have left under ``folder``."""
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.startswith(".riskshare-partial") or p.name.endswith(".tmp")
    ]


def env_for_subprocess() -> dict[str, str]:
    """One BLAS thread, so that a second thread means the simulation has started."""
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env
