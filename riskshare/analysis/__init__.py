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

from riskshare.analysis.calibration import FitResult, ShortHistoryWarning, fit, read_history
from riskshare.analysis.comparison import (
    STATISTICS,
    Comparison,
    Outcome,
    compare,
    load_agreement,
    statistic,
)
from riskshare.analysis.pooling import Allocation, co_tvar, risk_allocation, value_of_pooling
from riskshare.analysis.precision import (
    PreciseResult,
    precision_table,
    quantile_ci,
    simulate_until,
)
from riskshare.analysis.scenarios import stress
from riskshare.analysis.sensitivity import default_assumptions, sobol, tornado
from riskshare.analysis.solver import Solution, parse_target, solve
from riskshare.analysis.sweeps import load_sweep, sweep

__all__ = [
    "STATISTICS",
    "Allocation",
    "Comparison",
    "FitResult",
    "Outcome",
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
