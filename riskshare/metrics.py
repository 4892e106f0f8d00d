"""Risk measures on arrays of simulated outcomes.

Pure functions on any array whose first axis is the simulation; usable alone
in a notebook. Quantiles use numpy's default linear interpolation
(Hyndman–Fan type 7); TVaR at level ``q`` is the mean of the largest
``ceil((1 - q) n)`` values. Every mean and probability comes with its Monte
Carlo standard error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from riskshare._types import FloatArray

__all__ = [
    "QUANTILES",
    "describe",
    "exceedance_probability",
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
        ``mean_se``, ``prob_pays_se`` and, with thresholds, ``threshold``,
        ``prob_exceeds``, ``prob_exceeds_se``.

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
    kth = sorted(
        {int(np.floor(p)) for p in positions.values()}
        | {min(int(np.floor(p)) + 1, n - 1) for p in positions.values()}
        | set(tails.values())
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
