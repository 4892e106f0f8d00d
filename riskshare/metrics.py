"""Risk measures on arrays of simulated outcomes.

Pure functions on any array whose first axis is the simulation; usable alone
in a notebook. Quantiles use numpy's default linear interpolation
(Hyndman–Fan type 7); TVaR at level ``q`` is the mean of the largest
``k = ceil((1 - q) n)`` values, computed in one canonical order: the values
strictly above the ``k``-th largest (its threshold) summed in simulation
order, plus the threshold once for each of the ``k`` places they leave, over
``k`` — so its last bits never depend on how a selection algorithm arranges
the elements. Every mean and probability comes with its Monte Carlo standard
error.

Order statistics are found exactly without partitioning a whole row: every
``SAMPLE_STRIDE``-th simulation brackets each one between two values, one
pass over the row counts the simulations below each bracket and gathers the
few inside it, and those few are partitioned (a bracket that misses falls
back to partitioning the row, so the figures never depend on the bracket).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
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
    "quantiles",
    "tail_count",
    "tvar",
]

#: Memory for the row buffers of :func:`describe` across its threads [bytes]: fewer
#: threads on very long rows (one above 8.4 million simulations).
BUFFER_BYTES = 128 << 20

#: Every ``SAMPLE_STRIDE``-th simulation of a row brackets its order statistics.
SAMPLE_STRIDE = 32

#: Half-width of a bracket, in standard deviations of a sample rank, plus 2: a
#: bracket misses with chance about 1e-9 for independent simulations (and a miss
#: costs one partition of the row, not a wrong figure).
BRACKET_SD = 6.0

#: Rows shorter than this are partitioned whole: bracketing would not pay.
BRACKET_MIN = 1 << 15

#: Simulations compared at a time when gathering brackets (temporaries stay in cache).
PASS_CHUNK = 1 << 16

#: Quantile levels reported for every outcome.
QUANTILES: Mapping[str, float] = {"p5": 0.05, "p50": 0.50, "p95": 0.95, "p99": 0.99}


def tvar(x: FloatArray, level: float) -> FloatArray:
    """Tail value at risk: the mean of the worst ``k = ceil((1 - level) n)`` outcomes.

    Canonical: the outcomes strictly above the ``k``-th largest (the
    threshold), summed in simulation order, plus the threshold times the
    places left, over ``k`` — the same bits whatever order a selection
    algorithm leaves the tail in.

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
    xt = np.moveaxis(x, 0, -1)
    first = n - tail_count(n, level)
    stats = _row_statistics(
        _array_rows(xt, False), n, xt.shape[:-1], [first], [first], moments=False
    )
    return stats[("tail", first)]


def _array_rows(xt: FloatArray, total: bool) -> list[Callable[..., FloatArray]]:
    """How to get each row of ``xt`` (simulations on its last axis) as ``row(out=buf)``.

    A contiguous row is used as it is; anything else is written into the
    thread's buffer: a strided row copied, and with ``total``, after each
    group of rows along the second-last axis (e.g. the partners), their sum
    (one more row there), summed into the buffer when its turn comes.
    """
    lead = xt.shape[:-1]
    rows: list[Callable[..., FloatArray]] = []
    for idx in np.ndindex(lead[:-1] if total else lead):
        if total:
            rows += [_row_of(xt[(*idx, k)]) for k in range(lead[-1])]
            rows.append(functools.partial(np.sum, xt[idx], axis=0))
        else:
            rows.append(_row_of(xt[idx]))
    return rows


def _row_statistics(
    rows: list[Callable[..., FloatArray]],
    n: int,
    lead: tuple[int, ...],
    kth: list[int],
    tails: list[int],
    *,
    moments: bool = True,
    thresholds: FloatArray | None = None,
    materiality: float = 0.0,
) -> dict[Any, FloatArray]:
    """Per-row reductions of ``rows`` (``n`` simulations each), one row at a time.

    ``rows[i](out=buf)`` gives row ``i``: a contiguous array, or ``buf``
    filled (:func:`_array_rows`; a file's column, :mod:`riskshare.spill`).
    For each row: the order statistics ``kth`` and the canonical means of the
    tails from each index in ``tails`` up (:func:`_order_statistics`; every
    index in ``tails`` must be in ``kth``), and with ``moments`` its mean,
    standard deviation (``ddof=1``) and ``P(x > 0)``, and ``P(x > threshold)``
    for the row's threshold. Order statistics, means and standard deviations
    are computed as numpy computes them for that row alone (``mean``,
    ``std``), so they equal numpy's to the last bit. Each thread works in one
    reused row buffer, so no temporary is as large as all the rows; numpy
    releases the GIL, so large arrays are done on threads, and the result does
    not depend on their number.

    Returns
    -------
    dict
        ``{k: values}`` for each ``k`` in ``kth``, ``{("tail", k): means}``
        for each ``k`` in ``tails``, and with ``moments`` ``"mean"``, ``"sd"``
        and ``"positive"`` (and ``"exceeds"`` with thresholds); arrays of
        shape ``lead`` (scalars for one row).
    """
    keys: list[Any] = [*kth, *(("tail", k) for k in tails)]
    if moments:
        keys += ["mean", "sd", "positive"]
    if thresholds is not None:
        th = np.broadcast_to(np.asarray(thresholds, dtype=float), lead).reshape(-1)
        keys.append("exceeds")
    result = {key: np.empty(len(rows)) for key in keys}
    buffers = threading.local()

    def one(i: int) -> None:
        buf = getattr(buffers, "row", None)
        if buf is None:
            buf = buffers.row = np.empty(n)
        row = rows[i](out=buf)
        total = np.add.reduce(row)
        mean = total / n  # as ndarray.mean: the same sum in the same order
        if moments:
            result["mean"][i] = mean
            result["positive"][i] = _count_above(row, materiality) / n
        if thresholds is not None:
            result["exceeds"][i] = _count_above(row, th[i]) / n
        if kth:
            values, means = _order_statistics(row, kth, tails, total)
            for k in kth:
                result[k][i] = values[k]
            for k in tails:
                result[("tail", k)][i] = means[k]
        if moments and n > 1:  # as ndarray.std(ddof=1); the row's last use, so buf may be it
            np.subtract(row, mean, out=buf)
            np.multiply(buf, buf, out=buf)
            result["sd"][i] = np.sqrt(np.add.reduce(buf) / (n - 1))
        elif moments:
            result["sd"][i] = np.nan  # one simulation: no spread to measure (undefined, not 0)

    # Threads for large arrays, as many as the row buffers' memory allows.
    workers = min(len(rows), os.cpu_count() or 1, max(1, BUFFER_BYTES // (8 * n)))
    if workers > 1 and len(rows) * n >= 1_000_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(len(rows))))
    else:
        for i in range(len(rows)):
            one(i)
    return {key: value.reshape(lead)[()] for key, value in result.items()}


def _order_statistics(
    row: FloatArray, kth: Sequence[int], tails: Sequence[int], total: float
) -> tuple[dict[int, float], dict[int, float]]:
    """The order statistics ``kth`` of ``row`` and the canonical tail means from ``tails``.

    ``row``: one row of ``n`` simulations, left unchanged; ``kth``: sorted
    0-based indices into the sorted row; ``tails``: indices ``n - k`` (each
    in ``kth``) whose tail of the ``k`` largest is averaged; ``total``: the
    row's sum (not finite when the row holds NaN or infinities, which are
    then partitioned whole). Order statistics are exact (one value whatever
    the algorithm); a tail mean is ``(sum of the values above the threshold,
    in simulation order, + (k - their count) * threshold) / k``, the
    threshold being the value at ``n - k``. [£]

    Returns
    -------
    (dict, dict)
        ``{k: value}`` for each of ``kth``; ``{index: mean}`` for each of ``tails``.
    """
    n = row.size
    found = _bracketed(row, kth, tails) if n >= BRACKET_MIN and math.isfinite(total) else None
    if found is None:
        part = np.partition(row, kth)
        values, top = {k: float(part[k]) for k in kth}, None
    else:
        values, top = found
    means = {}
    for first in tails:
        threshold = values[first]
        # Every value above the threshold is among the gathered top ones when
        # the threshold lies in their range; else one pass over the row.
        pool = top[1] if top is not None and top[0] <= threshold else row
        above = pool[pool > threshold]
        k = n - first
        means[first] = float((np.add.reduce(above) + (k - above.size) * threshold) / k)
    return values, means


def _clusters(kth: Sequence[int], n: int) -> list[tuple[int, int]]:
    """Sorted ``kth`` in runs whose neighbours are within ``n / 64``: ``(first, last)`` of each."""
    runs = [[kth[0], kth[0]]]
    for k in kth[1:]:
        if k - runs[-1][1] <= n // 64:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    return [(first, last) for first, last in runs]


#: A bracket: its lowest and highest value, and a value many simulations share there (or None).
Bracket = tuple[float, float, float | None]


def _brackets(row: FloatArray, clusters: Sequence[tuple[int, int]]) -> list[Bracket]:
    """Values ``(a, b, tie)`` that bracket each cluster of order statistics, from a subsample.

    The subsample is every ``SAMPLE_STRIDE``-th simulation (deterministic);
    the order statistic at rank ``r`` of ``n`` is expected at rank ``r s / n``
    of its ``s``, give or take ``sqrt(s p (1 - p))``, ``p = r / n``, so ``a``
    and ``b`` are taken ``BRACKET_SD`` of those (plus 2) below the cluster's
    first and above its last; ``-inf`` / ``inf`` past the subsample's ends.
    ``tie``: the value the subsample repeats most between them, if any value
    repeats (a mass, e.g. at 0: counted, not gathered).
    """
    n = row.size
    sample = row[::SAMPLE_STRIDE]
    s = sample.size

    def spread(r: int) -> float:
        p = r / n
        return BRACKET_SD * math.sqrt(s * p * (1.0 - p)) + 2.0

    ranks = [
        (math.floor(first * s / n - spread(first)), math.ceil(last * s / n + spread(last)))
        for first, last in clusters
    ]
    within = sorted({r for pair in ranks for r in pair if 0 <= r < s})
    part = np.partition(sample, within) if within else sample
    brackets: list[Bracket] = []
    for lo, hi in ranks:
        # After the partition, the subsample's values ranked lo..hi lie between them.
        values, counts = np.unique(part[max(lo, 0) : min(hi, s - 1) + 1], return_counts=True)
        tie = float(values[np.argmax(counts)]) if counts.max() > 1 else None
        brackets.append(
            (-np.inf if lo < 0 else float(part[lo]), np.inf if hi >= s else float(part[hi]), tie)
        )
    return brackets


def _gather(row: FloatArray, brackets: Sequence[Bracket]) -> list[tuple[int, FloatArray, int]]:
    """For each bracket ``(lo, hi, tie)``: how many of ``row`` lie below ``lo``, the values
    in ``[lo, hi]`` other than ``tie`` (in simulation order), and how many equal ``tie``.

    One pass over ``row``, ``PASS_CHUNK`` simulations at a time, every bracket
    in each chunk. No NaN in ``row``.
    """
    below = [0] * len(brackets)
    ties = [0] * len(brackets)
    parts: list[list[FloatArray]] = [[] for _ in brackets]
    for start in range(0, row.size, PASS_CHUNK):
        chunk = row[start : start + PASS_CHUNK]
        for j, (lo, hi, tie) in enumerate(brackets):
            same = 0 if tie is None else int(np.count_nonzero(chunk == tie))
            ties[j] += same
            if hi == np.inf:  # everything at or above lo
                mask = chunk >= lo
                below[j] += chunk.size
            elif lo == hi == tie:  # nothing but the tie
                below[j] += int(np.count_nonzero(chunk <= hi)) - same
                continue
            else:
                upto = chunk <= hi
                below[j] += int(np.count_nonzero(upto))
                mask = chunk >= lo
                mask &= upto
            if tie is not None:
                mask &= chunk != tie
            inside = chunk[mask]
            below[j] -= inside.size + same
            parts[j].append(inside)
    return [
        (count, np.concatenate(part) if part else np.empty(0), tie)
        for count, part, tie in zip(below, parts, ties, strict=True)
    ]


def _pick(values: FloatArray, tie: float | None, ties: int, ranks: Sequence[int]) -> list[float]:
    """The values at ``ranks`` of ``values`` (unsorted, none equal to ``tie``) and ``ties`` copies
    of ``tie``, sorted together."""
    if tie is None:
        return [float(v) for v in np.partition(values, ranks)[ranks]]
    lower, upper = values[values < tie], values[values > tie]
    out = dict.fromkeys((r for r in ranks if lower.size <= r < lower.size + ties), tie)
    below = [r for r in ranks if r < lower.size]
    above = [r - lower.size - ties for r in ranks if r >= lower.size + ties]
    if below:
        out.update(zip(below, np.partition(lower, below)[below].tolist(), strict=True))
    if above:
        chosen = np.partition(upper, above)[above].tolist()
        out.update(zip([r + lower.size + ties for r in above], chosen, strict=True))
    return [float(out[r]) for r in ranks]


def _bracketed(
    row: FloatArray, kth: Sequence[int], tails: Sequence[int]
) -> tuple[dict[int, float], tuple[float, FloatArray] | None] | None:
    """The order statistics ``kth`` of a finite ``row`` by bracketing, or None if a bracket misses.

    From the lowest cluster of ``kth`` holding a tail's first index up, the
    clusters share one bracket: everything at or above that cluster's bottom
    (what the tail means need anyway); every other cluster has its own. One
    pass gathers every bracket (:func:`_gather`), and each cluster is found
    among its bracket's values: counted below, selected inside.

    Returns
    -------
    (dict, tuple or None) or None
        ``{k: value}``, and the shared top bracket as ``(its bottom, its
        values in simulation order)`` (every value at or above its bottom), if
        any.
    """
    n = row.size
    clusters = _clusters(kth, n)
    brackets = _brackets(row, clusters)
    with_tail = [
        j for j, (first, last) in enumerate(clusters) if any(first <= t <= last for t in tails)
    ]
    split = with_tail[0] if with_tail else len(clusters)
    spans = brackets[:split]
    if with_tail:
        spans.append((brackets[split][0], np.inf, None))
    gathered = _gather(row, spans)
    values: dict[int, float] = {}
    for j, (first, last) in enumerate(clusters):
        a, b, tie = brackets[j]
        below, within, ties = gathered[min(j, split)]
        if j >= split:  # in the shared top bracket: within the cluster's own
            below += int(np.count_nonzero(within < a))
            within = within[(within >= a) & (within <= b)]
            if tie is not None:
                ties = int(np.count_nonzero(within == tie))
                within = within[within != tie]
        if not below <= first <= last < below + within.size + ties:
            return None  # the bracket missed: the caller partitions the whole row
        ks = [k for k in kth if first <= k <= last]
        values.update(zip(ks, _pick(within, tie, ties, [k - below for k in ks]), strict=True))
    return values, ((brackets[split][0], gathered[split][1]) if with_tail else None)


def _count_above(row: FloatArray, threshold: float, chunk: int = 1 << 16) -> int:
    """How many of ``row`` exceed ``threshold``, a chunk at a time (no row-long temporary)."""
    return sum(
        int(np.count_nonzero(row[start : start + chunk] > threshold))
        for start in range(0, len(row), chunk)
    )


def _row_of(row: FloatArray) -> Callable[..., FloatArray]:
    """The row itself when contiguous; else a function copying it into ``out``."""
    if row.flags.c_contiguous:
        return lambda out: row
    return lambda out: np.copyto(out, row) or out


def _quantile_kth(n: int, levels: Sequence[float]) -> set[int]:
    """Indices of the order statistics numpy's linear interpolation reads for ``levels``."""
    lows = {int(np.floor((n - 1) * q)) for q in levels}
    return lows | {min(k + 1, n - 1) for k in lows}


def _interpolate(order: Mapping[Any, FloatArray], n: int, q: float) -> FloatArray:
    """numpy.quantile's linear interpolation from the order statistics, in its own arithmetic.

    So the figures equal ``numpy.quantile(x, q)`` to the last bit.
    """
    pos = (n - 1) * q
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    a, b = order[lo], order[hi]
    diff = b - a
    return b - diff * (1 - frac) if frac >= 0.5 else a + diff * frac


def quantiles(x: FloatArray, levels: Mapping[str, float]) -> dict[str, FloatArray]:
    """Quantiles of each column of ``x`` (simulations on axis 0), as ``numpy.quantile``.

    The order statistics of all levels found at once for each column
    (:func:`_order_statistics`), on threads for large arrays.

    Parameters
    ----------
    x : ndarray
        ``(sims,)`` or ``(sims, ...)`` outcomes. [£]
    levels : mapping of str to float
        Names and levels in [0, 1], e.g. ``{"p5": 0.05}``.

    Returns
    -------
    dict of str to ndarray
        One array per name, shaped as ``x`` without its first axis. [£]

    Examples
    --------
    >>> quantiles(np.arange(11.0), {"p50": 0.5, "p95": 0.95})
    {'p50': np.float64(5.0), 'p95': np.float64(9.5)}
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    xt = np.moveaxis(x, 0, -1)
    kth = sorted(_quantile_kth(n, levels.values()))
    order = _row_statistics(_array_rows(xt, False), n, xt.shape[:-1], kth, [], moments=False)
    return {name: _interpolate(order, n, q) for name, q in levels.items()}


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
    return p, _binomial_se(p, x.shape[0])


def _binomial_se(p: FloatArray, n: int) -> FloatArray:
    """Standard error of a proportion ``p`` of ``n`` simulations (NaN, undefined, for one)."""
    if n < 2:  # no Monte Carlo error from one simulation: undefined, not 0
        return np.full_like(np.asarray(p, dtype=float), np.nan)
    return np.sqrt(p * (1.0 - p) / n)


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
    total: bool = False,
    materiality: float = 0.0,
) -> dict[str, FloatArray]:
    """Risk measures of each column of ``x`` (simulations on axis 0).

    Parameters
    ----------
    x : ndarray or riskshare.spill.SpilledArray
        ``(sims,)``, ``(sims, k)`` or ``(sims, ..., k)`` outcomes; large =
        bad (a spilled array is read a column at a time, with the same
        figures). [£]
    thresholds : array_like, optional
        One threshold per column (or one for all): adds ``prob_exceeds`` and
        its standard error. [£]
    total : bool
        Also describe the sum over the last axis (e.g. the pool of the
        partners) as one more column there, without storing it whole.
    materiality : float
        ``prob_pays`` counts ``x > materiality``: amounts at or below it are
        not a payment (floating-point residue never is). [£]

    Returns
    -------
    dict of str to ndarray
        ``mean``, ``sd``, ``p5``, ``p50``, ``p95``, ``p99``, ``var95``,
        ``tvar95``, ``var99``, ``tvar99``, ``prob_pays`` (P(x > materiality)),
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
    if hasattr(x, "row_readers"):  # a riskshare.spill.SpilledArray: columns read from its file
        rows = x.row_readers(total)
    else:
        x = np.asarray(x, dtype=float)
        # Simulations on the last axis: every column a vector (contiguous when the
        # array is stored that way already; otherwise each is copied in turn).
        rows = _array_rows(np.moveaxis(x, 0, -1), total)
    n = x.shape[0]
    # Every order statistic needed, found in one pass over each row: the two
    # neighbours of each quantile (linear interpolation, as numpy.quantile),
    # the ends of its confidence interval and the first of each TVaR tail
    # (its threshold).
    tails = {level: n - tail_count(n, level) for level in (0.95, 0.99)}
    ranks = {name: quantile_ci_ranks(n, q) for name, q in QUANTILES.items()}
    kth = sorted(
        _quantile_kth(n, QUANTILES.values())
        | set(tails.values())
        | {r - 1 for pair in ranks.values() for r in pair if 1 <= r <= n}
    )
    lead = list(x.shape[1:])
    if total:
        lead[-1] += 1
    th = None
    if thresholds is not None:
        th = np.asarray(thresholds, dtype=float)
        th = np.broadcast_to(th.reshape(()) if th.size == 1 else th, tuple(lead))
    order = _row_statistics(
        rows,
        n,
        tuple(lead),
        kth,
        [tails[0.95], tails[0.99]],
        thresholds=th,
        materiality=materiality,
    )
    out: dict[str, FloatArray] = {"mean": order["mean"], "sd": order["sd"]}
    for name, q in QUANTILES.items():
        out[name] = _interpolate(order, n, q)
    for name, (lo_rank, hi_rank) in ranks.items():
        shape = np.shape(out["mean"])
        out[f"{name}_lo"] = order[lo_rank - 1] if lo_rank >= 1 else np.full(shape, -np.inf)
        out[f"{name}_hi"] = order[hi_rank - 1] if hi_rank <= n else np.full(shape, np.inf)
    out["var95"] = out["p95"]
    out["tvar95"] = order[("tail", tails[0.95])]
    out["var99"] = out["p99"]
    out["tvar99"] = order[("tail", tails[0.99])]
    out["prob_pays"] = order["positive"]
    out["prob_pays_se"] = _binomial_se(order["positive"], n)
    out["mean_se"] = out["sd"] / math.sqrt(n)
    if th is not None:
        out["threshold"] = th
        out["prob_exceeds"] = order["exceeds"]
        out["prob_exceeds_se"] = _binomial_se(order["exceeds"], n)
    return out
