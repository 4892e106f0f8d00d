"""Exceptions and warnings raised by riskshare.

Library code raises these and never prints; :mod:`riskshare.cli` is the only
place that turns them into messages and exit codes (2 for bad input, 1 for
anything else that riskshare recognises as a failure).
"""

from __future__ import annotations

__all__ = [
    "ApproximationWarning",
    "BalanceError",
    "ConfigError",
    "FewSimulationsWarning",
    "InputError",
    "RiskshareError",
    "RiskshareWarning",
]


class RiskshareError(Exception):
    """Base class of every error riskshare raises on purpose."""

    exit_code = 1


class InputError(RiskshareError):
    """A file or argument the user gave is not valid (exit code 2)."""

    exit_code = 2


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
