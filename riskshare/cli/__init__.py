"""Command-line interface: ``riskshare run|validate|schema|...``.

The only part of riskshare that prints or exits. Each command parses its
arguments, calls the public functions below it and turns known errors into
one message and an exit code: 0 success, 1 a failure riskshare recognises,
2 bad input (config, data file or arguments), 130 interrupted. Anything else
is a bug and keeps its traceback.
"""

from riskshare.cli.app import app, main

__all__ = ["app", "main"]
