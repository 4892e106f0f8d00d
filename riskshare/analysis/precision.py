"""How precise is each Monte Carlo figure, and running until it is precise enough.

* :func:`quantile_ci`: a distribution-free confidence interval for a
  quantile from order statistics. If ``B`` is the number of the ``n``
  simulations at or below the true ``q``-quantile ``xi``, then ``B ~
  Binomial(n, q)`` whatever the distribution (continuous), and ``x_(l) <=
  xi <= x_(u)`` exactly when ``l <= B <= u - 1``. Taking ``l`` as the
  ``alpha/2`` quantile of ``B`` and ``u - 1`` as its ``1 - alpha/2``
  quantile gives coverage of at least ``level`` (slightly conservative,
  because ``B`` is discrete).
* :func:`precision_table`: each partner's P95 with its interval and mean
  with its standard error.
* :func:`simulate_until`: simulate with more and more whole blocks (the same
  seed rules: simulation ``i`` is the same whatever the total) until every
  partner's P95 is known to within a target, then stop.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from riskshare._types import FloatArray
from riskshare.config.model import Model
from riskshare.errors import FewSimulationsWarning
from riskshare.metrics import quantile_ci_ranks
from riskshare.run import Result, simulate
from riskshare.streams import BLOCK_SIZE, resolve_seed

__all__ = ["PreciseResult", "precision_table", "quantile_ci", "simulate_until"]


def quantile_ci(
    x: FloatArray, q: float, level: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Order-statistic (binomial) confidence interval for the ``q``-quantile.

    Distribution-free: valid for any continuous distribution, with coverage
    at least ``level`` (to within the discreteness of the binomial).

    Parameters
    ----------
    x : array_like
        ``(sims,)`` or ``(sims, k)`` simulated outcomes (e.g. £ of exposure).
    q : float
        Quantile level in (0, 1), e.g. 0.95.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    (estimate, low, high) : tuple of ndarray
        The point estimate (numpy's default linear interpolation, as in
        :func:`riskshare.metrics.describe`) and the interval's ends, one per
        column, in the units of ``x``. Where ``n`` is too small for the
        interval, its end is ``-inf`` or ``+inf``.

    Examples
    --------
    >>> x = np.arange(1, 1001, dtype=float)
    >>> est, lo, hi = quantile_ci(x, 0.5)
    >>> float(lo), float(hi)
    (469.0, 532.0)
    """
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    if n < 1:
        raise ValueError("x is empty")
    est = np.quantile(x, q, axis=0)
    lo_rank, hi_rank = quantile_ci_ranks(n, q, level)
    kth = [k - 1 for k in (lo_rank, hi_rank) if 1 <= k <= n]
    part = np.partition(x, kth, axis=0) if kth else x
    shape = est.shape
    low = part[lo_rank - 1] if 1 <= lo_rank <= n else np.full(shape, -np.inf)
    high = part[hi_rank - 1] if 1 <= hi_rank <= n else np.full(shape, np.inf)
    return est, np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def precision_table(
    result: Result | Any, *, quantile: float = 0.95, level: float = 0.95
) -> pd.DataFrame:
    """Each partner's P95 with its confidence interval and mean with its standard error.

    Parameters
    ----------
    result : Result
        A :func:`riskshare.simulate` result (whole-agreement net position, £).
    quantile : float
        The quantile level reported (default 0.95).
    level : float
        Confidence level of the intervals (default 0.95).

    Returns
    -------
    pandas.DataFrame
        Index ``partner`` (and ``pool``); columns ``n_sims``, ``mean``,
        ``mean_se``, ``mean_low``, ``mean_high`` (normal interval),
        ``p95`` (named after ``quantile``), ``p95_low``, ``p95_high``,
        ``p95_half_width`` (the larger distance from the estimate to an end)
        and ``p95_rel_half_width`` (over ``|p95|``). [£, fraction]
    """
    x, index = result.net_with_pool()
    n = x.shape[0]
    name = (
        f"p{round(100 * quantile):d}"
        if abs(100 * quantile - round(100 * quantile)) < 1e-9
        else f"q{quantile:g}"
    )
    est, lo, hi = quantile_ci(x, quantile, level)
    mean = x.mean(axis=0)
    se = x.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(mean.shape, np.inf)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = np.maximum(est - lo, hi - est)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(est) > 0, half / np.abs(est), np.inf)
    return pd.DataFrame(
        {
            "n_sims": n,
            "mean": mean,
            "mean_se": se,
            "mean_low": mean - z * se,
            "mean_high": mean + z * se,
            name: est,
            f"{name}_low": lo,
            f"{name}_high": hi,
            f"{name}_half_width": half,
            f"{name}_rel_half_width": rel,
        },
        index=pd.Index(index, name="partner"),
    )


@dataclass(frozen=True)
class PreciseResult:
    """What :func:`simulate_until` returns.

    Attributes
    ----------
    result : Result
        The final run (``n_sims`` simulations, the requested seed).
    precision : pandas.DataFrame
        :func:`precision_table` of the final run.
    converged : bool
        Whether every partner's quantile met the target.
    steps : list of tuple
        ``(n_sims, worst ratio of half-width to target)`` of each run made.
    """

    result: Result
    precision: pd.DataFrame
    converged: bool
    steps: list[tuple[int, float]] = field(default_factory=list)

    @property
    def n_sims(self) -> int:
        """Simulations in the final run."""
        return self.result.n_sims


def simulate_until(
    model: Model,
    *,
    rel_error: float | None = None,
    abs_error: float | None = None,
    quantile: float = 0.95,
    level: float = 0.95,
    seed: int | None = None,
    start: int = BLOCK_SIZE,
    max_sims: int = 1 << 22,
    include_pool: bool = False,
    block_size: int = BLOCK_SIZE,
    **simulate_kwargs: Any,
) -> PreciseResult:
    """Simulate until every partner's P95 is known to within a target.

    Runs :func:`riskshare.simulate` with ``start`` simulations, then with
    more whole blocks (the first simulations are identical from run to run:
    same seed, same blocks), choosing the next size from the ``1/sqrt(n)``
    law with a 20 % margin, until the confidence-interval half-width of every
    partner's ``quantile`` is at most the target, or ``max_sims`` is reached.

    Parameters
    ----------
    model : Model
    rel_error : float, optional
        Target half-width as a fraction of ``|P95|`` (e.g. 0.01 = 1 %).
    abs_error : float, optional
        Target half-width in pounds. With both, each partner must meet
        either one. [£]
    quantile, level : float
        The quantile and the confidence level of its interval.
    seed : int, optional
        Default: the model's seed (one is drawn and recorded if both are None).
    start : int
        Simulations in the first run (rounded up to whole blocks).
    max_sims : int
        Largest number of simulations; reaching it without meeting the
        target warns :class:`~riskshare.errors.FewSimulationsWarning`.
    include_pool : bool
        Also require the pool total to meet the target.
    block_size : int
        Simulations per random-number block (part of the seed contract).
    **simulate_kwargs
        Passed on to :func:`riskshare.simulate` (``workers``, ``agreement``, ...).

    Returns
    -------
    PreciseResult
    """
    if rel_error is None and abs_error is None:
        raise ValueError("give rel_error (fraction) or abs_error (£)")
    if (rel_error is not None and rel_error <= 0) or (abs_error is not None and abs_error <= 0):
        raise ValueError("rel_error and abs_error must be > 0")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)

    def whole(n: int) -> int:
        return int(min(max_sims, max(block_size, math.ceil(n / block_size) * block_size)))

    name = f"p{round(100 * quantile):d}"
    n = whole(start)
    steps: list[tuple[int, float]] = []
    while True:
        result = simulate(model, n, seed, block_size=block_size, **simulate_kwargs)
        table = precision_table(result, quantile=quantile, level=level)
        rows = table if include_pool else table.drop(index="pool")
        half = rows[f"{name}_half_width"].to_numpy()
        est = np.abs(rows[name].to_numpy())
        ratios = []
        if rel_error is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios.append(np.where(est > 0, half / (rel_error * est), np.inf))
        if abs_error is not None:
            ratios.append(half / abs_error)
        ratio = np.minimum.reduce(ratios) if len(ratios) > 1 else ratios[0]
        worst = float(np.max(ratio))
        steps.append((n, worst))
        if worst <= 1.0:
            return PreciseResult(result, table, True, steps)
        if n >= max_sims:
            warnings.warn(
                f"stopped at max_sims = {max_sims:,} simulations: the {name} half-width is "
                f"{worst:.2f} times the target for the least precise partner",
                FewSimulationsWarning,
                stacklevel=2,
            )
            return PreciseResult(result, table, False, steps)
        factor = min(16.0, worst**2 * 1.2) if math.isfinite(worst) else 16.0
        n = whole(max(n + block_size, math.ceil(n * factor)))
