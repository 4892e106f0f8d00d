"""Exceptions and warnings raised by riskshare.

Library code raises these and never prints; :mod:`riskshare.cli` is the only
place that turns them into messages and exit codes. The codes, which scripts
can rely on:

====  ==========================================================================
0     success
1     a failure riskshare recognises (:class:`RiskshareError`), e.g. an unmet
      ``precise`` target or an unreachable ``solve`` target
2     bad input (:class:`InputError`): a config, data file, results folder,
      output path or argument; one message naming the file and the field
130   interrupted (Ctrl-C or SIGTERM); nothing half-written is left behind
70    an internal error, i.e. a bug in riskshare (:data:`EXIT_INTERNAL`): one
      line asking for a report; the traceback only with ``--debug``
====  ==========================================================================
"""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "ApproximationWarning",
    "BalanceError",
    "ConfigError",
    "FewSimulationsWarning",
    "InputError",
    "RiskshareError",
    "RiskshareWarning",
]


EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE in BSD's sysexits.h


class RiskshareError(Exception):
    """Base class of every error riskshare raises on purpose (exit code 1)."""

    exit_code = EXIT_FAILURE


class InputError(RiskshareError):
    """A file or argument the user gave is not valid (exit code 2)."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(InputError):
    """A configuration file (or an override) failed validation.

    Parameters
    ----------
    source : str
        The file (or ``<--set #k>``) the errors came from.
    problems : list of tuple of (str, str)
        ``(field path, message)`` pairs, one per invalid value; every error
        found is reported at once.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        lines = [
            f"{self.source}: {loc}: {msg}" if loc else f"{self.source}: {msg}"
            for loc, msg in self.problems
        ]
        super().__init__("\n".join(lines))


class BalanceError(RiskshareError):
    """The ledger of a settlement does not balance: money was created or lost."""


class RiskshareWarning(UserWarning):
    """Base class of riskshare's warnings."""


class ApproximationWarning(RiskshareWarning):
    """A documented approximation is used outside the range where it was tested."""


class FewSimulationsWarning(RiskshareWarning):
    """Too few simulations for a tail measure to be meaningful."""
