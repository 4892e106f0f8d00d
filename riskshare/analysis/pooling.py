"""Value of pooling, fairness, and the allocation of the pool's risk (co-TVaR).

All on one set of draws: the pooled agreement and "going alone" (an aligned
budget, each partner keeping its own groups' variance) are settled on the same
simulated spend, so the difference per simulation is the pooling, not noise.

* :func:`value_of_pooling`: each partner's outcome pooled and alone, the
  *no worse off* test (P(pooled net > alone net), the probability the partner
  loses by pooling in a simulation), and exposure share against contribution
  share (domain fairness metric ``E[O_i⁺] / Σ E[O⁺]`` against ``w_i``).
* :func:`risk_allocation`: the Euler (co-TVaR) allocation of the pool's
  TVaR to partners and to client groups. With ``S = Σ_i X_i`` and ``T`` the
  simulations where ``S`` is among its worst ``ceil((1 - q) n)`` values,
  ``coTVaR_i = mean(X_i over T)``; the parts add up to ``TVaR_q(S)`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from riskshare.analysis.comparison import drawn_paths, settle_outcome
from riskshare.config.load import with_agreement
from riskshare.config.model import Agreement, Model
from riskshare.errors import InputError
from riskshare.metrics import tail_count, tvar
from riskshare.run import Outcomes
from riskshare.settle import Terms
from riskshare.streams import resolve_seed

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Allocation", "co_tvar", "risk_allocation", "value_of_pooling"]


def co_tvar(parts: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, float]:
    """Euler allocation of the TVaR of a sum to its parts.

    Parameters
    ----------
    parts : ndarray, shape (sims, k)
        The parts ``X_i``; the total is ``S = parts.sum(axis=1)``. [£]
    level : float
        TVaR level in (0, 1).

    Returns
    -------
    (ndarray, float)
        ``coTVaR_i = mean(X_i | S among its worst ceil((1 - level) n))`` for
        each part, and ``TVaR_level(S)`` (as :func:`riskshare.metrics.tvar`);
        the parts sum to the total (to float rounding).

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0], [0.0, 0.0]])
    >>> alloc, total = co_tvar(x, 0.5)
    >>> alloc, total
    (array([1. , 2.5]), np.float64(3.5))
    """
    parts = np.asarray(parts, dtype=float)
    if parts.ndim != 2:
        raise ValueError("parts must be (sims, k)")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    s = parts.sum(axis=1)
    n = s.shape[0]
    k = tail_count(n, level)
    # The tail in a canonical order, as tvar's: every simulation above the k-th largest
    # total, then the first of those equal to it in simulation order. (The order
    # np.argpartition leaves, and so which tied simulations it takes, differs between
    # CPUs and numpy versions.)
    threshold = np.partition(s, n - k)[n - k]  # an order statistic: one value, whatever the order
    tail = s > threshold
    tail[np.flatnonzero(s == threshold)[: k - np.count_nonzero(tail)]] = True
    return parts[tail].mean(axis=0), tvar(s, level)


def _outcomes(
    model: Model, n_sims: int | None, seed: int | None, agreement: Agreement | None, check: bool
) -> tuple[Model, Outcomes, Outcomes, np.ndarray, int, int]:
    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    if n_sims < 1:
        raise InputError(f"n_sims must be >= 1, got {n_sims}")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    if agreement is not None:
        # Re-validated, so the agreement's partner and group ids are checked against the model.
        model = with_agreement(model, agreement)
    paths = drawn_paths(model, n_sims, seed)
    pooled = settle_outcome(Terms.from_model(model), paths, appetite=model.appetite, check=check)
    alone_terms = Terms.from_model(
        with_agreement(model, Agreement(name="alone", arrangement="aligned"))
    )
    alone = settle_outcome(alone_terms, paths, appetite=model.appetite, check=check)
    return model, pooled, alone, paths.spend - paths.income, n_sims, seed


def value_of_pooling(
    model: Model,
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    agreement: Agreement | None = None,
    level: float = 0.95,
    check: bool = True,
) -> pd.DataFrame:
    """Each partner pooled against going alone, on the same draws.

    Parameters
    ----------
    model : Model
        The scenario (its agreement is the pooled one unless ``agreement``).
    n_sims, seed : int, optional
        Default the config's.
    agreement : Agreement, optional
        The pooled agreement to assess instead of the model's.
    level : float
        TVaR level.
    check : bool
        Check every settled year balances.

    Returns
    -------
    pandas.DataFrame
        Index ``partner``. Columns: ``pooled_mean``, ``alone_mean``,
        ``pooled_p95``, ``alone_p95``, ``pooled_tvar``, ``alone_tvar`` [£]
        (net over the agreement; positive pays); ``gain_mean`` (E[alone -
        pooled], positive: pooling helps) and ``gain_mean_se`` [£];
        ``prob_worse_off`` (P(pooled net > alone net), the no-worse-off test
        fails in that share of simulations) and its SE; ``contribution_share``
        ``exposure_share`` (E[max(net, 0)] / Σ partners) and
        ``fairness_ratio`` (exposure share / contribution share; above 1 the
        partner carries more risk than it pays in) [fraction].
    """
    import pandas as pd

    model, pooled, alone, _, n, _ = _outcomes(model, n_sims, seed, agreement, check)
    rows = {}
    contrib = pooled.contributions.sum(axis=0)
    pos = np.maximum(pooled.net.sum(axis=1), 0.0).mean(axis=0)
    exposure_share = pos / pos.sum() if pos.sum() > 0 else np.full_like(pos, np.nan)
    for i, pid in enumerate(model.partner_ids):
        xp, xa = pooled.total(pid), alone.total(pid)
        gain = xa - xp
        worse = (xp > xa + 1e-6).astype(float)
        pw = float(worse.mean())
        rows[pid] = {
            "pooled_mean": float(xp.mean()),
            "alone_mean": float(xa.mean()),
            "pooled_p95": float(np.quantile(xp, 0.95)),
            "alone_p95": float(np.quantile(xa, 0.95)),
            "pooled_tvar": float(tvar(xp, level)),
            "alone_tvar": float(tvar(xa, level)),
            "gain_mean": float(gain.mean()),
            "gain_mean_se": float(gain.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "prob_worse_off": pw,
            "prob_worse_off_se": math.sqrt(pw * (1 - pw) / n),
            "contribution_share": float(contrib[i] / contrib.sum())
            if contrib.sum() > 0
            else float("nan"),
            "exposure_share": float(exposure_share[i]),
        }
        rows[pid]["fairness_ratio"] = rows[pid]["exposure_share"] / rows[pid]["contribution_share"]
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "partner"
    return frame


@dataclass(frozen=True)
class Allocation:
    """The pool's TVaR and its Euler (co-TVaR) allocation.

    Attributes
    ----------
    pool_tvar : float
        TVaR of the pool's net position over the agreement (sum over
        partners). [£]
    partners : pandas.DataFrame
        Index ``partner``: ``co_tvar`` [£] (sums to ``pool_tvar``),
        ``share`` [fraction], ``standalone_tvar`` [£] (the partner's own TVaR
        under the same agreement; diversification is standalone - co_tvar).
    groups : pandas.DataFrame
        Index ``group`` (and ``other`` for what the groups do not explain,
        e.g. charging income or unfunded amounts): ``co_tvar`` [£] (sums to
        ``pool_tvar``), ``share``, ``standalone_tvar``. A group's part is its
        spend minus its share of the contributions (by its share of expected
        spend each year) and of any opening reserve.
    level : float
    """

    pool_tvar: float
    partners: pd.DataFrame
    groups: pd.DataFrame
    level: float


def risk_allocation(
    model: Model,
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    agreement: Agreement | None = None,
    level: float = 0.95,
    check: bool = True,
) -> Allocation:
    """Allocate the pool's TVaR to partners and client groups (co-TVaR / Euler).

    Parameters
    ----------
    model : Model
    n_sims, seed : int, optional
        Default the config's.
    agreement : Agreement, optional
        Settle this agreement instead of the model's.
    level : float
        TVaR level, e.g. 0.95.
    check : bool
        Check every settled year balances.

    Returns
    -------
    Allocation
        Both allocations sum to ``pool_tvar``: what each partner's (or
        group's) share of the pool's bad outcomes is, and so what causes it.
    """
    import pandas as pd

    model, pooled, _, net_spend, _n, _ = _outcomes(model, n_sims, seed, agreement, check)
    x = pooled.net.sum(axis=1)  # (sims, partners)
    alloc, total = co_tvar(x, level)
    partners = pd.DataFrame(
        {
            "co_tvar": alloc,
            "share": alloc / total if total else np.nan,
            "standalone_tvar": tvar(x, level),
        },
        index=pd.Index(model.partner_ids, name="partner"),
    )
    expected = model.expected_spend()  # (years, groups) [£]
    w = Terms.from_model(model).budget_shares  # (years, groups), as the settlement splits budgets
    budget = pooled.contributions.sum(axis=1)  # (years,)
    opening = model.agreement.reserve.opening if model.agreement.reserve is not None else 0.0
    w_all = expected.sum(axis=0) / expected.sum()
    g = (net_spend - (budget[:, None] * w)[None]).sum(axis=1) - opening * w_all[None]
    other = x.sum(axis=1) - g.sum(axis=1)
    parts = np.column_stack([g, other])
    galloc, gtotal = co_tvar(parts, level)
    groups = pd.DataFrame(
        {
            "co_tvar": galloc,
            "share": galloc / gtotal if gtotal else np.nan,
            "standalone_tvar": tvar(parts, level),
        },
        index=pd.Index([*model.group_ids, "other"], name="group"),
    )
    return Allocation(pool_tvar=float(total), partners=partners, groups=groups, level=level)
