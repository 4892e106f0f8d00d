"""Command-line interface: ``riskshare run|validate|schema|...``.

The only part of riskshare that prints or exits. Each command parses its
arguments and calls the public functions below it; every error goes through
one mapping (:func:`riskshare.cli.core.handles_errors`) to one message and an
exit code: 0 success, 1 a failure riskshare recognises, 2 bad input (config,
data file, results folder, output path or arguments), 130 interrupted, 70 an
internal error (a bug: one line asking for a report; the traceback only with
``--debug``).
"""

from riskshare.cli.core import app, main

__all__ = ["app", "main"]
