"""The Typer application and the one mapping from errors to messages and exit codes."""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from riskshare.errors import EXIT_INTERNAL, InputError, RiskshareError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = (
    "Exit codes: 0 success, 1 a failure riskshare recognises (e.g. an unreachable target), "
    "2 bad input (config, data, results folder, output path or arguments), 130 interrupted, "
    f"{EXIT_INTERNAL} an internal error (a bug: please report it; --debug shows the traceback)."
)


def handles_errors(func: F) -> F:
    """Turn every error a command raises into one message and its exit code.

    Known errors (:class:`~riskshare.errors.RiskshareError`) print their
    message; an unreadable or unwritable file (``OSError``) and running out of
    memory are bad input (exit 2); Ctrl-C exits 130; anything else is a bug:
    one line asking for a report, exit 70, and the traceback only with
    ``--debug`` (or ``RISKSHARE_DEBUG=1``).
    """
    if getattr(func, "_handles_errors", False):
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RiskshareError as exc:
            fail(exc)
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise  # Typer's own exits and usage errors (its vendored Click's exceptions)
        except BrokenPipeError:  # `riskshare ... | head`: the reader left; not an error
            raise typer.Exit(code=0) from None
        except OSError as exc:
            where = exc.filename if exc.filename is not None else "a file"
            fail(InputError(f"{where}: {exc.strerror or exc}"))
        except MemoryError:
            fail(InputError("not enough memory for this request (try fewer simulations)"))
        except Exception as exc:
            if _debug():
                raise
            text = " ".join(str(exc).split())[:200]
            typer.echo(
                f"Error: internal error (a bug in riskshare, not in your input): "
                f"{type(exc).__name__}: {text}. Please report it with the command you ran; "
                "--debug shows the traceback.",
                err=True,
            )
            raise typer.Exit(code=EXIT_INTERNAL) from None

    wrapper._handles_errors = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


class _App(typer.Typer):
    """A Typer app whose every command goes through :func:`handles_errors`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(handles_errors(func))
            return func

        return decorator


app = _App(
    name="riskshare",
    help="Each partner's exposure in a pooled health and social care budget, by Monte Carlo.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """Options for every command (given before or after the command's name)."""
    _invocation["debug"] = debug  # set afresh by every invocation


#: Options of the current invocation (the command line runs one at a time).
_invocation = {"debug": False}


def _debug() -> bool:
    """Whether ``--debug`` was given (or ``RISKSHARE_DEBUG`` is set)."""
    return _invocation["debug"] or os.environ.get("RISKSHARE_DEBUG", "") not in ("", "0")


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


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``riskshare`` command.

    ``--debug`` may come anywhere on the line. Ctrl-C and SIGTERM exit 130 and
    leave no half-written output (folders are committed only when complete).
    """
    register_commands()
    args = sys.argv[1:]
    if "--debug" in args:
        args = ["--debug", *(a for a in args if a != "--debug")]
    signal.signal(signal.SIGTERM, _interrupt)
    app(args=args, prog_name="riskshare")


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
