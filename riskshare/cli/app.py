"""The Typer application, error handling and the core commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskshare.errors import InputError, RiskshareError

app = typer.Typer(
    name="riskshare",
    help="Each partner's exposure in a pooled health and social care budget, by Monte Carlo.\n\n"
    "Exit codes: 0 success, 1 failure, 2 bad input (config, data or arguments), 130 interrupted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigArg = Annotated[Path, typer.Argument(help="Configuration file (.yaml, .yml or .toml).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config value: path.to.field=value (repeatable)."),
]


def fail(exc: RiskshareError) -> None:
    """Print a known error as ``Error: ...`` on stderr and exit with its code."""
    message = str(exc)
    lines = message.splitlines() or [type(exc).__name__]
    if len(lines) == 1:
        typer.echo(f"Error: {lines[0]}", err=True)
    else:
        typer.echo(f"Error: {len(lines)} problems:", err=True)
        for line in lines:
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(code=exc.exit_code)


def main() -> None:
    """Entry point of the ``riskshare`` command."""
    register_commands()
    app()  # Ctrl-C exits 130 (Typer), with no half-written output (atomic folders)


def register_commands() -> None:
    """Import every module of :mod:`riskshare.cli` so its commands join the app."""
    import importlib
    import pkgutil

    import riskshare.cli as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "app":
            importlib.import_module(f"riskshare.cli.{info.name}")


def bad_input(message: str) -> None:
    """Exit 2 with a one-line message about an argument."""
    fail(InputError(message))
