"""Decisions on one set of draws: compare agreements, sweep values, solve for contributions.

Spend is drawn once and settled many times (common random numbers), so a
difference between two rules or two contribution levels is the rules, not
Monte Carlo noise, and sweeps and goal seeks are cheap.

* :func:`compare`: several agreements side by side, with paired differences
  to a baseline and their standard errors;
* :func:`value_of_pooling` and :func:`risk_allocation`: pooled against going
  alone, the no-worse-off test, exposure against contribution shares, and the
  co-TVaR (Euler) allocation of the pool's risk to partners and groups;
* :func:`sweep`: metrics at every point of a grid of config changes;
* :func:`solve`: the decision value that meets a target on a statistic.
"""

from riskshare.analysis.compare import (
    STATISTICS,
    Comparison,
    Outcome,
    compare,
    load_agreement,
    statistic,
)
from riskshare.analysis.pooling import Allocation, co_tvar, risk_allocation, value_of_pooling
from riskshare.analysis.solve import Solution, parse_target, solve
from riskshare.analysis.sweep import load_sweep, sweep

__all__ = [
    "STATISTICS",
    "Allocation",
    "Comparison",
    "Outcome",
    "Solution",
    "co_tvar",
    "compare",
    "load_agreement",
    "load_sweep",
    "parse_target",
    "risk_allocation",
    "solve",
    "statistic",
    "sweep",
    "value_of_pooling",
]
