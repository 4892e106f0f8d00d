"""Risk measures on arrays of simulated outcomes.

Pure functions on any array whose first axis is the simulation; usable alone
in a notebook. Quantiles use numpy's default linear interpolation
(Hyndman–Fan type 7); TVaR at level ``q`` is the mean of the largest
``ceil((1 - q) n)`` values. Every mean and probability comes with its Monte
Carlo standard error.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from riskshare._types import FloatArray

__all__ = [
    "CI_LEVEL",
    "QUANTILES",
    "describe",
    "exceedance_probability",
    "quantile_ci_ranks",
    "tail_count",
    "tvar",
]

#: Quantile levels reported for every outcome.
QUANTILES: Mapping[str, float] = {"p5": 0.05, "p50": 0.50, "p95": 0.95, "p99": 0.99}


def tvar(x: FloatArray, level: float) -> FloatArray:
    """Tail value at risk: the mean of the worst ``ceil((1 - level) n)`` outcomes.

    Parameters
    ----------
    x : ndarray
        Outcomes, simulations on axis 0 (large = bad). [£]
    level : float
        Confidence level in (0, 1), e.g. 0.95.

    Returns
    -------
    ndarray
        One value per column of ``x``. [£]

    Examples
    --------
    >>> tvar(np.arange(100.0), 0.95)
    np.float64(97.0)
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    k = tail_count(n, level)
    top = np.partition(x, n - k, axis=0)[n - k :]
    return top.mean(axis=0)


def _order_statistics(xt: FloatArray, kth: list[int], tails: list[int]) -> dict[Any, FloatArray]:
    """Order statistics ``kth`` and tail means (from each index in ``tails`` up) of each row.

    ``xt`` has simulations on its last axis. Each row is partitioned once
    (numpy releases the GIL, so large arrays are done on threads, row by row,
    holding one row's copy per thread); the result does not depend on the
    number of threads.

    Returns
    -------
    dict
        ``{k: values}`` for each ``k`` in ``kth`` and ``{("tail", k): means}``
        for each ``k`` in ``tails``; arrays of shape ``xt.shape[:-1]``.
    """
    lead = xt.shape[:-1]
    rows = xt.reshape(-1, xt.shape[-1])
    keys: list[Any] = [*kth, *(("tail", k) for k in tails)]
    result = {key: np.empty(rows.shape[0]) for key in keys}

    def one(i: int) -> None:
        part = np.partition(rows[i], kth)
        for k in kth:
            result[k][i] = part[k]
        for k in tails:
            result[("tail", k)][i] = part[k:].mean()

    if rows.shape[0] > 1 and rows.size >= 1_000_000:
        with ThreadPoolExecutor(max_workers=min(rows.shape[0], os.cpu_count() or 1)) as pool:
            list(pool.map(one, range(rows.shape[0])))
    else:
        for i in range(rows.shape[0]):
            one(i)
    return {key: value.reshape(lead) for key, value in result.items()}


def tail_count(n: int, level: float) -> int:
    """Number of outcomes in the tail beyond ``level``: ``ceil((1 - level) n)``, at least 1."""
    return max(1, math.ceil(round((1.0 - level) * n, 9)))


def exceedance_probability(
    x: FloatArray, threshold: float | FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``P(x > threshold)`` and its standard error.

    Returns
    -------
    (probability, standard_error)
    """
    x = np.asarray(x, dtype=float)
    p = np.count_nonzero(x > threshold, axis=0) / x.shape[0]
    return p, np.sqrt(p * (1.0 - p) / x.shape[0])


#: Confidence level of the intervals :func:`describe` gives for each quantile.
CI_LEVEL = 0.95


@functools.lru_cache(maxsize=256)
def quantile_ci_ranks(n: int, q: float, level: float = CI_LEVEL) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the order statistics bounding the ``q``-quantile.

    The distribution-free (binomial) interval ``[x_(l), x_(u)]`` covers the
    true quantile with probability at least ``level``: ``l`` is the smallest
    rank with ``P(B <= l) >= (1 - level) / 2`` and ``u - 1`` the smallest with
    ``P(B <= u - 1) >= (1 + level) / 2``, for ``B ~ Binomial(n, q)``. Ranks
    may fall outside ``1..n`` when ``n`` is too small for the interval.

    Examples
    --------
    >>> quantile_ci_ranks(1000, 0.5)
    (469, 532)
    """
    if not 0 < q < 1 or not 0 < level < 1:
        raise ValueError(f"q and level must lie in (0, 1), got {q} and {level}")
    alpha = 1.0 - level
    mean, sd = n * q, math.sqrt(n * q * (1.0 - q))
    # The binomial cdf over a window of +-12 sd (mass outside below 1e-30).
    first = max(0, int(mean - 12 * sd - 10))
    last = min(n, int(mean + 12 * sd + 10))
    k = np.arange(first, last + 1)
    # log pmf at the window's start, then the ratio p(k + 1) / p(k) = (n - k) q / ((k + 1)(1 - q)).
    start = (
        math.lgamma(n + 1)
        - math.lgamma(first + 1)
        - math.lgamma(n - first + 1)
        + first * math.log(q)
        + (n - first) * math.log1p(-q)
    )
    steps = np.log((n - k[:-1]) / (k[:-1] + 1.0)) + (math.log(q) - math.log1p(-q))
    log_pmf = start + np.concatenate(([0.0], np.cumsum(steps)))
    cdf = np.cumsum(np.exp(log_pmf))
    lo = int(k[np.searchsorted(cdf, alpha / 2 * (1 - 1e-12))])
    hi = int(k[min(np.searchsorted(cdf, (1 - alpha / 2) * (1 - 1e-12)), len(k) - 1)]) + 1
    return max(lo, 0), hi


def describe(
    x: FloatArray,
    *,
    thresholds: Sequence[float] | FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Risk measures of each column of ``x`` (simulations on axis 0).

    Parameters
    ----------
    x : ndarray
        ``(sims,)`` or ``(sims, k)`` outcomes; large = bad. [£]
    thresholds : array_like, optional
        One threshold per column (or one for all): adds ``prob_exceeds`` and
        its standard error. [£]

    Returns
    -------
    dict of str to ndarray
        ``mean``, ``sd``, ``p5``, ``p50``, ``p95``, ``p99``, ``var95``,
        ``tvar95``, ``var99``, ``tvar99``, ``prob_pays`` (P(x > 0)),
        ``mean_se``, ``prob_pays_se``; for each quantile ``pX`` its
        distribution-free 95 % confidence interval ``pX_lo``, ``pX_hi``
        (:func:`quantile_ci_ranks`; ``-inf``/``inf`` when there are too few
        simulations); and, with thresholds, ``threshold``, ``prob_exceeds``,
        ``prob_exceeds_se``.

    Examples
    --------
    >>> d = describe(np.array([-1.0, 0.0, 1.0, 2.0]))
    >>> float(d["mean"]), float(d["prob_pays"])
    (0.5, 0.5)
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    # Work with simulations on the last axis: every column is then a
    # contiguous vector (free when the array is stored that way already).
    xt = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    out: dict[str, FloatArray] = {}
    out["mean"] = xt.mean(axis=-1)
    out["sd"] = xt.std(axis=-1, ddof=1) if n > 1 else np.zeros_like(out["mean"])
    # One partition puts every order statistic needed in place: the two
    # neighbours of each quantile (linear interpolation, as numpy.quantile)
    # and the first of each TVaR tail, whose values all lie above it.
    positions = {name: (n - 1) * q for name, q in QUANTILES.items()}
    tails = {level: n - tail_count(n, level) for level in (0.95, 0.99)}
    ranks = {name: quantile_ci_ranks(n, q) for name, q in QUANTILES.items()}
    kth = sorted(
        {int(np.floor(p)) for p in positions.values()}
        | {min(int(np.floor(p)) + 1, n - 1) for p in positions.values()}
        | set(tails.values())
        | {r - 1 for pair in ranks.values() for r in pair if 1 <= r <= n}
    )
    order = _order_statistics(xt, kth, [tails[0.95], tails[0.99]])
    for name, pos in positions.items():
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        # numpy.quantile's linear interpolation, in its own arithmetic, so
        # the figures equal numpy.quantile(x, q) to the last bit.
        a, b = order[lo], order[hi]
        diff = b - a
        out[name] = b - diff * (1 - frac) if frac >= 0.5 else a + diff * frac
    for name, (lo_rank, hi_rank) in ranks.items():
        shape = np.shape(out["mean"])
        out[f"{name}_lo"] = order[lo_rank - 1] if lo_rank >= 1 else np.full(shape, -np.inf)
        out[f"{name}_hi"] = order[hi_rank - 1] if hi_rank <= n else np.full(shape, np.inf)
    out["var95"] = out["p95"]
    out["tvar95"] = order[("tail", tails[0.95])]
    out["var99"] = out["p99"]
    out["tvar99"] = order[("tail", tails[0.99])]
    out["prob_pays"], out["prob_pays_se"] = exceedance_probability(x, 0.0)
    out["mean_se"] = out["sd"] / math.sqrt(n)
    if thresholds is not None:
        th = np.asarray(thresholds, dtype=float)
        th = np.broadcast_to(th.reshape(()) if th.size == 1 else th, np.shape(out["mean"]))
        out["threshold"] = th
        out["prob_exceeds"], out["prob_exceeds_se"] = exceedance_probability(x, th)
    return out
