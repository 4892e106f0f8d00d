"""riskshare: each partner's exposure in a pooled health and social care budget.

Use :func:`load_config` to read a scenario, :func:`simulate` to draw spend and
settle the agreement, and the :class:`Result` it returns for tables and
charts. To settle several agreements on the same draws, :func:`sample` once
and :func:`settle` many times; :func:`compare`, :func:`sweep` and
:func:`solve` do that for you. :func:`fit`, :func:`tornado`, :func:`stress`
and :func:`simulate_until` ground the assumptions and the precision.

>>> import riskshare as rs
>>> model = rs.load_config("configs/benchmark.yaml")
>>> result = rs.simulate(model, n_sims=2000, seed=7)
>>> list(result.summary().index)
['nhs', 'council', 'pool']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from riskshare import settle
    from riskshare.config import Agreement, Model, load_config, with_changes
    from riskshare.ledger import Ledger, check_balance
    from riskshare.paths import SpendPaths
    from riskshare.rules.terms import Terms
    from riskshare.run import Result, simulate
    from riskshare.sampling import sample

# Every name is imported on first use, so ``import riskshare.cli`` (and the
# command line's start) loads neither numpy nor pydantic; the analysis and
# report functions pull in pandas, SciPy's statistics and matplotlib besides.
_LAZY = {
    "Agreement": "riskshare.config",
    "Model": "riskshare.config",
    "load_config": "riskshare.config",
    "with_changes": "riskshare.config",
    "Ledger": "riskshare.ledger",
    "check_balance": "riskshare.ledger",
    "Result": "riskshare.run",
    "simulate": "riskshare.run",
    "SpendPaths": "riskshare.paths",
    "sample": "riskshare.sampling",
    "Terms": "riskshare.rules.terms",
    "settle": "riskshare.settle",
    "compare": "riskshare.analysis",
    "fit": "riskshare.analysis",
    "risk_allocation": "riskshare.analysis",
    "simulate_until": "riskshare.analysis",
    "solve": "riskshare.analysis",
    "stress": "riskshare.analysis",
    "sweep": "riskshare.analysis",
    "tornado": "riskshare.analysis",
    "value_of_pooling": "riskshare.analysis",
    "explore": "riskshare.report",
    "write_excel": "riskshare.report",
    "write_html": "riskshare.report",
}

__all__ = [
    "Agreement",
    "Ledger",
    "Model",
    "Result",
    "SpendPaths",
    "Terms",
    "__version__",
    "check_balance",
    "compare",
    "explore",
    "fit",
    "load_config",
    "risk_allocation",
    "sample",
    "settle",
    "simulate",
    "simulate_until",
    "solve",
    "stress",
    "sweep",
    "tornado",
    "value_of_pooling",
    "with_changes",
    "write_excel",
    "write_html",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        # ``settle`` is its module (callable: ``rs.settle(model, paths)``), so
        # ``import riskshare.settle as m`` gives the module whatever came first.
        value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'riskshare' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
