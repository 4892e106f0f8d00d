"""riskshare: each partner's exposure in a pooled health and social care budget.

Use :func:`load_config` to read a scenario, :func:`simulate` to draw spend and
settle the agreement, and the :class:`Result` it returns for tables. To settle
several agreements on the same draws, :func:`sample` once and :func:`settle`
many times.

>>> import riskshare as rs
>>> model = rs.load_config("configs/benchmark.yaml")
>>> result = rs.simulate(model, n_sims=2000, seed=7)
>>> result.summary().loc["nhs", "mean"] > 0
np.True_
"""

__version__ = "0.1.0"

from riskshare.config import Agreement, Model, load_config, with_changes  # noqa: E402
from riskshare.ledger import Ledger, check_balance  # noqa: E402
from riskshare.run import Result, simulate  # noqa: E402
from riskshare.sampling import SpendPaths, sample  # noqa: E402
from riskshare.settle import Terms, settle  # noqa: E402

__all__ = [
    "Agreement",
    "Ledger",
    "Model",
    "Result",
    "SpendPaths",
    "Terms",
    "__version__",
    "check_balance",
    "load_config",
    "sample",
    "settle",
    "simulate",
    "with_changes",
]
