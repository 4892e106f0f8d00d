"""Decisions and grounding on common random numbers: compare, sweep, solve, fit, sensitivity.

Spend is drawn once and settled many times, so a difference between two
rules or two contribution levels is the rules, not Monte Carlo noise, and
sweeps, goal seeks and sensitivity runs are cheap.

Deciding (``docs/deciding.md``):

* :func:`compare`: several agreements side by side, with paired differences
  to a baseline and their standard errors;
* :func:`value_of_pooling` and :func:`risk_allocation`: pooled against going
  alone, the no-worse-off test, exposure against contribution shares, and the
  co-TVaR (Euler) allocation of the pool's risk to partners and groups;
* :func:`sweep`: metrics at every point of a grid of config changes;
* :func:`solve`: the decision value that meets a target on a statistic.

Grounding the assumptions (``docs/grounding.md``):

* :func:`fit`: a config fragment fitted to a history of spend, clients and unit costs;
* :func:`tornado` and :func:`sobol`: which assumptions drive each partner's exposure;
* :func:`quantile_ci`, :func:`precision_table`, :func:`simulate_until`: how precise the figures are;
* :func:`stress`: named stress scenarios against the base.
"""

from __future__ import annotations

import importlib
from typing import Any

# Each function lives in its own module and is imported on first use, so a
# command that needs one of them does not pay for the others (SciPy's
# statistics, SALib, Dask).
_WHERE = {
    "FitResult": "calibration",
    "PartialYearWarning": "calibration",
    "ShortHistoryWarning": "calibration",
    "fit": "calibration",
    "read_history": "calibration",
    "STATISTICS": "comparison",
    "Comparison": "comparison",
    "compare": "comparison",
    "load_agreement": "comparison",
    "statistic": "comparison",
    "Allocation": "pooling",
    "co_tvar": "pooling",
    "risk_allocation": "pooling",
    "value_of_pooling": "pooling",
    "PreciseResult": "precision",
    "precision_table": "precision",
    "quantile_ci": "precision",
    "simulate_until": "precision",
    "stress": "scenarios",
    "default_assumptions": "sensitivity",
    "sobol": "sensitivity",
    "tornado": "sensitivity",
    "Solution": "solver",
    "parse_target": "solver",
    "solve": "solver",
    "load_sweep": "sweeps",
    "sweep": "sweeps",
}

__all__ = [
    "STATISTICS",
    "Allocation",
    "Comparison",
    "FitResult",
    "PartialYearWarning",
    "PreciseResult",
    "ShortHistoryWarning",
    "Solution",
    "co_tvar",
    "compare",
    "default_assumptions",
    "fit",
    "load_agreement",
    "load_sweep",
    "parse_target",
    "precision_table",
    "quantile_ci",
    "read_history",
    "risk_allocation",
    "simulate_until",
    "sobol",
    "solve",
    "statistic",
    "stress",
    "sweep",
    "tornado",
    "value_of_pooling",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"riskshare.analysis.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'riskshare.analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
