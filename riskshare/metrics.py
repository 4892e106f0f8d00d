"""Risk measures on arrays of simulated outcomes.

Pure functions on any array whose first axis is the simulation; usable alone
in a notebook. Quantiles use numpy's default linear interpolation
(Hyndman–Fan type 7); TVaR at level ``q`` is the mean of the largest
``ceil((1 - q) n)`` values. Every mean and probability comes with its Monte
Carlo standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from riskshare._types import FloatArray

__all__ = [
    "QUANTILES",
    "describe",
    "exceedance_probability",
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
    k = max(1, math.ceil(round((1.0 - level) * n, 9)))
    top = np.partition(x, n - k, axis=0)[n - k:]
    return top.mean(axis=0)


def exceedance_probability(x: FloatArray, threshold: float | FloatArray) -> tuple[FloatArray, FloatArray]:
    """``P(x > threshold)`` and its standard error.

    Returns
    -------
    (probability, standard_error)
    """
    x = np.asarray(x, dtype=float)
    p = (x > threshold).mean(axis=0)
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
    out: dict[str, FloatArray] = {}
    out["mean"] = x.mean(axis=0)
    out["sd"] = x.std(axis=0, ddof=1) if n > 1 else np.zeros_like(out["mean"])
    qs = np.quantile(x, list(QUANTILES.values()), axis=0)
    for name, q in zip(QUANTILES, qs, strict=True):
        out[name] = q
    out["var95"] = out["p95"]
    out["tvar95"] = tvar(x, 0.95)
    out["var99"] = out["p99"]
    out["tvar99"] = tvar(x, 0.99)
    out["prob_pays"], out["prob_pays_se"] = exceedance_probability(x, 0.0)
    out["mean_se"] = out["sd"] / math.sqrt(n)
    if thresholds is not None:
        th = np.asarray(thresholds, dtype=float)
        th = np.broadcast_to(th.reshape(()) if th.size == 1 else th, np.shape(out["mean"]))
        out["threshold"] = th
        out["prob_exceeds"], out["prob_exceeds_se"] = exceedance_probability(x, th)
    return out
