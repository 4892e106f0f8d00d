"""Pure sampling kernels: generators or normals in, arrays out.

Nothing here knows about the configuration. Every function either takes a
:class:`numpy.random.Generator` and draws from it, or takes pre-drawn standard
normals / uniforms and transforms them, so the orchestration in
:mod:`riskshare.sampling.blocks` decides which stream each number comes from.

Conventions: money is in pounds [£]; counts are clients [clients]; rates and
coefficients of variation are plain fractions [fraction]. Compound-sum tables
are in *units of the mean cost of one client* M, so that a per-simulation M
(uncertain inflation) only multiplies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskshare._types import FloatArray, IntArray

# SciPy is imported inside the functions that need it, so that importing
# riskshare (and the CLI's start-up) does not pay for it.


def _nbinom(name: str, *args: float) -> float:
    """``scipy.stats.nbinom.<name>(*args)``, imported on first use."""
    from scipy import stats

    return getattr(stats.nbinom, name)(*args)


__all__ = [
    "AliasTable",
    "CompoundTable",
    "alias_index",
    "alias_table",
    "ar1",
    "ar1_variance",
    "case_rows",
    "case_shares_dirichlet",
    "case_shares_table",
    "compound_gamma",
    "compound_gamma_from_normal",
    "compound_lognormal",
    "compound_table",
    "correlation_factor",
    "count_table",
    "high_cost_totals",
    "lognormal_sigma",
    "mean_one_lognormal",
    "metric_loadings",
    "negative_binomial",
    "shifted_lognormal_params",
    "surviving_case_rows",
    "surviving_case_shares",
    "survivor_share",
    "uncertain_rate",
]

#: Lowest rate an uncertain growth or inflation draw is clipped to. [per year]
MIN_RATE = -0.99
#: Half-width of the tabulated Poisson range, in standard deviations.
POISSON_SPREAD = 12.0
#: Tail mass left out of a tabulated negative binomial range (each side).
NB_TAIL = 1e-16
#: Largest count range tabulated for an alias table; wider ranges draw with numpy.
MAX_TABLE_SIZE = 1 << 17


# ----------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class AliasTable:
    """Walker alias table of a distribution on ``offset .. offset + size - 1``.

    Attributes
    ----------
    threshold : ndarray of float64, shape (size,)
        ``j + prob[j]``: slot ``j`` keeps its own value when ``u * size <
        threshold[j]`` (``u`` uniform on [0, 1)).
    alias : ndarray of intp, shape (size,)
        The slot index used otherwise.
    offset : int
        The count of slot 0. [clients]
    """

    threshold: FloatArray
    alias: IntArray
    offset: int

    @property
    def size(self) -> int:
        """Number of slots (the width of the tabulated range)."""
        return int(self.threshold.shape[0])

    @property
    def counts(self) -> IntArray:
        """The count of every slot, ``offset .. offset + size - 1``. [clients]"""
        return np.arange(self.offset, self.offset + self.size, dtype=np.int64)


def alias_table(pmf: FloatArray, offset: int = 0) -> AliasTable:
    """Build a Walker alias table (Vose's method) for a probability mass function.

    Parameters
    ----------
    pmf : array_like of float, shape (K,)
        Probabilities of the values ``offset .. offset + K - 1``; normalised
        here (they need not sum to exactly 1).
    offset : int, optional
        The value of the first entry. [clients]

    Returns
    -------
    AliasTable
    """
    p = np.asarray(pmf, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or not np.isfinite(p).all():
        raise ValueError("pmf must be a non-empty 1-D array of finite non-negative numbers")
    total = p.sum()
    if total <= 0:
        raise ValueError("pmf must have positive total mass")
    k = p.size
    scaled = p * (k / total)
    prob = np.ones(k)
    alias = np.arange(k, dtype=np.intp)
    small = [int(i) for i in np.flatnonzero(scaled < 1.0)]
    large = [int(i) for i in np.flatnonzero(scaled >= 1.0)]
    s = scaled.tolist()
    while small and large:
        lo = small.pop()
        hi = large[-1]
        prob[lo] = s[lo]
        alias[lo] = hi
        s[hi] = (s[hi] + s[lo]) - 1.0
        if s[hi] < 1.0:
            small.append(large.pop())
    # What is left has mass 1 up to rounding: keep its own value.
    return AliasTable(np.arange(k) + prob, alias, int(offset))


def alias_index(table: AliasTable, uniforms: FloatArray, out: IntArray) -> IntArray:
    """Slot indices drawn from an alias table with one uniform per draw.

    ``x = u * K``, ``j = floor(x)``; the draw is ``j`` if ``x < j + prob[j]``,
    else ``alias[j]``. The count is ``table.offset + index``.

    Parameters
    ----------
    table : AliasTable
    uniforms : ndarray of float64, shape (n,)
        Uniforms on [0, 1); overwritten (scratch).
    out : ndarray of intp, shape (n,)
        Receives the slot indices.

    Returns
    -------
    ndarray of intp
        ``out``.
    """
    x = np.multiply(uniforms, table.size, out=uniforms)
    np.copyto(out, x, casting="unsafe")
    keep = np.less(x, np.take(table.threshold, out, mode="clip"))
    np.logical_not(keep, out=keep)
    np.copyto(out, np.take(table.alias, out, mode="clip"), where=keep)
    return out


def poisson_range(mean: float) -> tuple[int, int]:
    """Tabulated Poisson range ``[Λ - 12√Λ - 10, Λ + 12√Λ + 10] ∩ [0, ∞)``.

    The mass left out is below 1e-20 (below 1e-30 once Λ ≳ 10).

    Parameters
    ----------
    mean : float
        Poisson mean Λ. [clients]

    Returns
    -------
    (int, int)
        Lowest and highest tabulated count. [clients]
    """
    spread = POISSON_SPREAD * np.sqrt(mean) + 10.0
    return max(0, int(np.floor(mean - spread))), int(np.ceil(mean + spread))


def negative_binomial_range(mean: float, dispersion: float) -> tuple[int, int]:
    """Tabulated negative binomial range: tail mass below ``NB_TAIL`` on each side.

    Parameters
    ----------
    mean : float
        Mean. [clients]
    dispersion : float
        Size parameter r (variance = mean + mean²/r).

    Returns
    -------
    (int, int)
        Lowest and highest tabulated count. [clients]
    """
    p = dispersion / (dispersion + mean)
    lo = int(_nbinom("ppf", NB_TAIL, dispersion, p))
    hi = int(_nbinom("isf", NB_TAIL, dispersion, p)) + 1
    return max(0, lo), hi


def poisson_pmf(k: IntArray, mean: float) -> FloatArray:
    """Poisson probabilities ``exp(k ln Λ - ln k! - Λ)``, as ``scipy.stats.poisson.pmf``.

    Parameters
    ----------
    k : ndarray of int
        Counts. [clients]
    mean : float
        Poisson mean Λ >= 0 (0 gives all the mass at 0). [clients]

    Returns
    -------
    ndarray of float64
    """
    k = np.asarray(k)
    if mean == 0:
        return (k == 0).astype(np.float64)
    # math.lgamma element by element: tables hold at most a few thousand
    # counts, and this keeps SciPy out of the start-up of every run.
    log_factorial = np.array([math.lgamma(float(j) + 1.0) for j in k.ravel()]).reshape(k.shape)
    return np.exp(k * math.log(mean) - log_factorial - mean)


def count_table(mean: float, dispersion: float | None = None) -> AliasTable | None:
    """Alias table of the client count: Poisson, or negative binomial when ``dispersion``.

    Parameters
    ----------
    mean : float
        Expected clients. [clients]
    dispersion : float or None
        Negative binomial size r; None for Poisson.

    Returns
    -------
    AliasTable or None
        None when the range is wider than ``MAX_TABLE_SIZE`` (draw with numpy).
    """
    if mean < 0:
        raise ValueError(f"mean must be >= 0, got {mean}")
    if dispersion is None:
        lo, hi = poisson_range(mean)
    else:
        lo, hi = negative_binomial_range(mean, dispersion)
    if hi - lo + 1 > MAX_TABLE_SIZE:
        return None
    k = np.arange(lo, hi + 1)
    if dispersion is None:
        pmf = poisson_pmf(k, mean)
    else:
        pmf = _nbinom("pmf", k, dispersion, dispersion / (dispersion + mean))
    return alias_table(pmf, lo)


def negative_binomial(
    rng: np.random.Generator, mean: float | FloatArray, dispersion: float, size: int
) -> IntArray:
    """Negative binomial counts by mean and size r (variance = mean + mean²/r).

    Parameters
    ----------
    rng : numpy.random.Generator
    mean : float or ndarray of float, shape (size,)
        Mean. [clients]
    dispersion : float
        Size parameter r > 0.
    size : int

    Returns
    -------
    ndarray of int64, shape (size,)
        [clients]
    """
    p = dispersion / (dispersion + np.asarray(mean, dtype=np.float64))
    return rng.negative_binomial(dispersion, p, size=size)


# ----------------------------------------------------------------------------- compound sums


def lognormal_sigma(cv: float | FloatArray) -> FloatArray:
    """Log-scale sigma of a lognormal with coefficient of variation ``cv``: √ln(1 + cv²)."""
    return np.sqrt(np.log1p(np.square(cv)))


def shifted_lognormal_params(k: IntArray, cv: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Shifted lognormal matching the first three moments of a sum of ``k`` client costs.

    ``S = c + exp(a Z + b)``, ``Z ~ N(0, 1)``, in units of the mean cost of one
    client M: mean ``k``, variance ``k cv²``, skewness ``(3 cv + cv³) / √k``
    (those of a sum of ``k`` iid lognormal costs with CV ``cv``). ``k = 1``
    gives the client lognormal itself (``c = 0``), ``k = 0`` gives 0
    (``b = -inf``), ``cv = 0`` gives ``k`` exactly.

    Parameters
    ----------
    k : array_like of int
        Numbers of clients. [clients]
    cv : float
        Coefficient of variation of the cost of one client. [fraction]

    Returns
    -------
    a, b, c : ndarray of float64
        Log-scale sigma [-], log-scale location [log M] and shift [M].
    """
    k = np.asarray(k, dtype=np.float64)
    if np.any(k < 0):
        raise ValueError("k (numbers of clients) must be >= 0")
    if cv < 0:
        raise ValueError(f"cv must be >= 0, got {cv}")
    a = np.zeros_like(k)
    b = np.full_like(k, -np.inf)
    c = k.copy()
    pos = k > 0
    if cv == 0 or not pos.any():
        return a, b, c
    kp = k[pos]
    gamma2 = (3.0 * cv + cv**3) ** 2 / kp
    # Newton on f(e) = e (e + 3)² - γ², convex and increasing on e > 0, from an
    # upper bound: converges monotonically from above.
    e = np.minimum(gamma2 / 9.0, np.cbrt(gamma2))
    for _ in range(200):
        f = e * (e + 3.0) ** 2 - gamma2
        step = f / ((e + 3.0) * (3.0 * e + 3.0))
        e = e - step
        if np.all(np.abs(step) <= 1e-15 * e):
            break
    var = kp * cv * cv
    scale = np.sqrt(var / (e * (1.0 + e)))
    a[pos] = np.sqrt(np.log1p(e))
    b[pos] = np.log(scale)
    c[pos] = np.where(kp == 1, 0.0, kp - scale * np.sqrt(1.0 + e))
    return a, b, c


@dataclass(frozen=True)
class CompoundTable:
    """Shifted-lognormal parameters over a tabulated count range.

    Entry ``j`` describes the spend of ``counts.offset + j`` clients, scaled
    so that ``spend = c[j] + exp(a[j] Z + b[j])`` is in pounds when built with
    ``scale`` = M (or in units of M when built with ``scale = 1``).

    Attributes
    ----------
    a, b, c : ndarray of float64, shape (K,)
        sigma [-], location [log £] and shift [£].
    """

    a: FloatArray
    b: FloatArray
    c: FloatArray


def compound_table(counts: IntArray, cv: float, scale: float = 1.0) -> CompoundTable:
    """Tabulate :func:`shifted_lognormal_params` over ``counts``, times ``scale``.

    Parameters
    ----------
    counts : ndarray of int
        Counts of the table entries. [clients]
    cv : float
        Coefficient of variation of one client's cost. [fraction]
    scale : float, optional
        Mean cost of one client M (times any fixed multiplier). [£]

    Returns
    -------
    CompoundTable
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    a, b, c = shifted_lognormal_params(counts, cv)
    return CompoundTable(a, b + np.log(scale), c * scale)


def compound_lognormal(
    table: CompoundTable, index: IntArray, normals: FloatArray, out: FloatArray
) -> FloatArray:
    """Compound-sum spend ``c[j] + exp(a[j] Z + b[j])`` for table entries ``index``.

    Parameters
    ----------
    table : CompoundTable
    index : ndarray of intp, shape (n,)
        Table entry of each simulation (count minus the table offset).
    normals : ndarray of float64, shape (n,)
        Standard normals Z.
    out : ndarray of float64, shape (n,)
        Receives the spend; may be ``normals`` itself.

    Returns
    -------
    ndarray of float64
        ``out`` [units of the table: £, or M].
    """
    np.multiply(normals, np.take(table.a, index, mode="clip"), out=out)
    out += np.take(table.b, index, mode="clip")
    np.exp(out, out=out)
    out += np.take(table.c, index, mode="clip")
    return out


def compound_gamma(
    rng: np.random.Generator, counts: IntArray, cv: float, mean_cost: float | FloatArray
) -> FloatArray:
    """Exact spend of ``counts`` iid gamma client costs: one Gamma(kalpha, θ) draw.

    With alpha = 1/cv² and θ = M cv², the sum of k costs is Gamma(kalpha, θ) exactly
    (0 when k = 0; k·M when cv = 0).

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : ndarray of int, shape (n,)
        [clients]
    cv : float
        [fraction]
    mean_cost : float or ndarray of float, shape (n,)
        Mean cost of one client M. [£]

    Returns
    -------
    ndarray of float64, shape (n,)
        [£]
    """
    counts = np.asarray(counts)
    if cv == 0:
        return counts * np.asarray(mean_cost, dtype=np.float64)
    cv2 = cv * cv
    return rng.gamma(counts / cv2, 1.0, size=counts.shape) * (np.asarray(mean_cost) * cv2)


def gamma_from_normal(shape: FloatArray, normals: FloatArray) -> FloatArray:
    """Gamma(shape, 1) quantile of Φ(Z): a gamma draw driven by a (correlated) normal.

    Both tails are evaluated without cancellation (upper tail by the
    complemented inverse); shape 0 gives 0.

    Parameters
    ----------
    shape : ndarray of float, shape (n,)
    normals : ndarray of float, shape (n,)

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    from scipy import special

    shape = np.broadcast_to(np.asarray(shape, dtype=np.float64), np.shape(normals))
    out = np.zeros(np.shape(normals))
    pos = shape > 0
    z = normals[pos]
    s = shape[pos]
    low = z < 0
    v = np.empty_like(z)
    v[low] = special.gammaincinv(s[low], special.ndtr(z[low]))
    v[~low] = special.gammainccinv(s[~low], special.ndtr(-z[~low]))
    out[pos] = v
    return out


def compound_gamma_from_normal(
    counts: IntArray, cv: float, mean_cost: float | FloatArray, normals: FloatArray
) -> FloatArray:
    """As :func:`compound_gamma`, but the draw is the gamma quantile of Φ(Z).

    Used when the group's normals are correlated with other groups' (copula).

    Parameters
    ----------
    counts : ndarray of int, shape (n,)
        [clients]
    cv : float
        [fraction]
    mean_cost : float or ndarray of float, shape (n,)
        [£]
    normals : ndarray of float64, shape (n,)

    Returns
    -------
    ndarray of float64, shape (n,)
        [£]
    """
    counts = np.asarray(counts)
    if cv == 0:
        return counts * np.asarray(mean_cost, dtype=np.float64)
    cv2 = cv * cv
    return gamma_from_normal(counts / cv2, normals) * (np.asarray(mean_cost) * cv2)


def mean_one_lognormal(
    normals: FloatArray, cv: float, out: FloatArray | None = None, variance: float = 1.0
) -> FloatArray:
    """Lognormal with mean 1: ``exp(sigma Z - sigma² v / 2)``, sigma² = ln(1 + cv²).

    With ``variance`` v = 1 (Z standard normal) its CV is ``cv``; with Z of
    variance v (a random walk's year t, v = t + 1) the mean stays 1 and the
    CV is ``sqrt((1 + cv²)^v - 1)``.

    Parameters
    ----------
    normals : ndarray of float64
        Normals Z of mean 0 and variance ``variance``.
    cv : float
        [fraction]
    out : ndarray of float64, optional
        May be ``normals``.
    variance : float, optional
        Variance v of ``normals``.

    Returns
    -------
    ndarray of float64
        [fraction of the mean]
    """
    sigma = float(lognormal_sigma(cv))
    out = np.multiply(normals, sigma, out=out)
    out -= 0.5 * sigma * sigma * variance
    return np.exp(out, out=out)


# ----------------------------------------------------------------------------- persistence


def ar1_variance(years: int, phi: float) -> FloatArray:
    """Variance of :func:`ar1`'s ``X_t`` in years ``0 .. years - 1``: 1, or ``t + 1`` when φ = 1."""
    if phi == 1.0:
        return np.arange(1.0, years + 1.0)
    return np.ones(years)


def ar1(normals: FloatArray, phi: float, out: FloatArray | None = None) -> FloatArray:
    """AR(1) in years (axis 0) driven by iid standard normals Z.

    ``X_0 = Z_0``; ``X_t = φ X_{t-1} + c Z_t`` with ``c = sqrt(1 - φ²)``
    for φ < 1 (stationary: every ``X_t`` is standard normal and
    ``corr(X_t, X_{t+k}) = φ^k``) and ``c = 1`` for φ = 1 (a random walk:
    ``var X_t = t + 1``, :func:`ar1_variance`). φ = 0 returns Z unchanged.

    Parameters
    ----------
    normals : ndarray of float64, shape (years, ...)
        Standard normals, independent across years.
    phi : float
        Persistence φ in [0, 1].
    out : ndarray of float64, optional
        May be ``normals`` (filtered in place).

    Returns
    -------
    ndarray of float64, shape (years, ...)
    """
    if not 0.0 <= phi <= 1.0:
        raise ValueError(f"phi must lie in [0, 1], got {phi}")
    if out is None:
        out = np.array(normals, dtype=np.float64, copy=True)
    elif out is not normals:
        np.copyto(out, normals)
    if phi == 0.0:
        return out
    c = 1.0 if phi == 1.0 else math.sqrt(1.0 - phi * phi)
    for t in range(1, out.shape[0]):
        if c != 1.0:
            out[t] *= c
        out[t] += phi * out[t - 1]
    return out


# ----------------------------------------------------------------------------- persistent clients


def survivor_share(
    rng: np.random.Generator, survivors: IntArray, stock: IntArray, cv: float
) -> FloatArray:
    """Share of a stock's total cost that belongs to its surviving clients.

    ``Beta(B alpha, (n - B) alpha)`` with alpha = 1/cv², drawn as ``G₁ / (G₁ + G₂)`` from two
    gamma draws. Exact when the client costs are iid gamma (the survivors' and
    leavers' totals are then independent gammas); for any other cost
    distribution with CV ``cv`` it gives the survivors' total the exact
    conditional mean ``S B / n`` and, averaged over S, the exact variance
    ``B (cv M)²`` and covariance with S (see ``docs/sampling.md``).

    Parameters
    ----------
    rng : numpy.random.Generator
    survivors : ndarray of int, shape (n,)
        Clients staying, B. [clients]
    stock : ndarray of int, shape (n,)
        Clients in the stock, n ≥ B. [clients]
    cv : float
        CV of one client's cost. [fraction]

    Returns
    -------
    ndarray of float64, shape (n,)
        Share in [0, 1] (0 for an empty stock). [fraction]
    """
    survivors = np.asarray(survivors)
    stock = np.asarray(stock)
    if cv == 0:
        return np.divide(survivors, stock, out=np.zeros(stock.shape), where=stock > 0)
    alpha = 1.0 / (cv * cv)
    g1 = rng.gamma(survivors * alpha, size=survivors.shape)
    g2 = rng.gamma((stock - survivors) * alpha, size=survivors.shape)
    g2 += g1
    return np.divide(g1, g2, out=np.zeros(stock.shape), where=g2 > 0)


# ----------------------------------------------------------------------------- case splits


def _log_gamma(rng: np.random.Generator, shape: FloatArray) -> FloatArray:
    """``log G`` with ``G ~ Gamma(shape)`` (−inf where shape is 0), safe for tiny shapes.

    ``G = G' · U^(1/a)`` with ``G' ~ Gamma(a + 1)`` and ``U`` uniform (exact for
    every a > 0), taken in logs: a Gamma draw of a shape far below 1 is so
    often below the smallest float that ``G`` itself would underflow to 0.
    One gamma and one uniform per element.
    """
    safe = np.where(shape > 0, shape, 1.0)
    g = rng.gamma(safe + 1.0)
    u = rng.random(np.shape(shape))
    with np.errstate(divide="ignore"):
        out = np.log(g) + np.log(u) / safe
    out[shape <= 0] = -np.inf
    return out


def _normalised(log_weights: FloatArray) -> FloatArray:
    """``exp(log_weights)`` scaled to sum to 1 over the first axis (a softmax)."""
    top = log_weights.max(axis=0)
    w = np.exp(log_weights - top)
    w /= w.sum(axis=0)
    return w


def _case_concentration(counts: IntArray, cv: float, concentration: float) -> FloatArray:
    """κ_n with ``κ_n + 1 = (κ + 1)(n + cv²)/(1 + cv²)``, n counted as at least 1. [1]"""
    n = np.maximum(counts, 1).astype(np.float64)
    return (concentration + 1.0) * (n + cv * cv) / (1.0 + cv * cv) - 1.0


def case_shares_dirichlet(
    rng: np.random.Generator,
    counts: IntArray,
    cv: float,
    mean: FloatArray,
    concentration: float,
) -> FloatArray:
    """Each partner's share of a sum of ``counts`` cases split Dirichlet(κ · mean) each.

    Case i of the sum ``S = Σ X_i`` is split ``α_i ~ Dirichlet(κ m)``,
    independently of its cost ``X_i`` (CV ``cv``). The share vector
    ``A / S = Σ_i α_i X_i / S`` is drawn directly as
    ``Dirichlet(κ_n m)`` with ``κ_n + 1 = (κ + 1)(n + cv²)/(1 + cv²)``: the
    exact conditional mean ``m`` and covariance
    ``Cov(α)(1 + cv²)/(n + cv²)`` for gamma (and constant) costs, whose weights
    ``X_i / S`` are Dirichlet(1/cv², …); approximate otherwise
    (``docs/sampling.md`` §14). One case (n = 1) is exactly ``α``.

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : ndarray of int, shape (sims,)
        Cases in the sum, n ≥ 0 (0: no spend, the share is ``mean``). [cases]
    cv : float
        CV of one case's cost. [fraction]
    mean : ndarray, shape (partners,)
        Expected split ``E[α]``, summing to 1. [fraction]
    concentration : float
        κ > 0. [1]

    Returns
    -------
    ndarray of float64, shape (partners, sims)
        Shares summing to 1 over partners. [fraction]
    """
    counts = np.asarray(counts)
    kappa_n = _case_concentration(counts, cv, concentration)
    out = np.zeros((mean.size, counts.size))
    active = np.flatnonzero(mean > 0)
    logs = np.stack([_log_gamma(rng, kappa_n * mean[p]) for p in active])
    out[active] = _normalised(logs)
    out[:, counts == 0] = mean[:, None]
    return out


def case_shares_table(
    rng: np.random.Generator,
    counts: IntArray,
    cv: float,
    splits: FloatArray,
    probabilities: FloatArray,
) -> FloatArray:
    """Each partner's share of a sum of ``counts`` cases, each split by one row of a table.

    Each case gets split row k with probability ``π_k``, independently of its
    cost (CV ``cv``). The cases of each row are counted exactly,
    ``(n_1 … n_K) ~ Multinomial(n, π)``; the rows' parts of the sum are
    ``Dirichlet(n_1/cv², …, n_K/cv²)`` (exact for gamma costs, first two
    moments exact for any costs, as the persistent stock's thinning; exactly
    ``n_k / n`` for constant costs). Partner p's share is
    ``Σ_k splits[k, p] · D_k``.

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : ndarray of int, shape (sims,)
        Cases in the sum, n ≥ 0 (0: no spend, the share is the table's mean). [cases]
    cv : float
        CV of one case's cost. [fraction]
    splits : ndarray, shape (rows, partners)
        Each row's split, summing to 1. [fraction]
    probabilities : ndarray, shape (rows,)
        π, summing to 1. [fraction]

    Returns
    -------
    ndarray of float64, shape (partners, sims)
        Shares summing to 1 over partners. [fraction]
    """
    counts = np.asarray(counts, dtype=np.int64)
    _, parts = case_rows(rng, counts, cv, probabilities)
    out = splits.T @ parts
    out[:, counts == 0] = (probabilities @ splits)[:, None]
    return out


def case_rows(
    rng: np.random.Generator, counts: IntArray, cv: float, probabilities: FloatArray
) -> tuple[IntArray, FloatArray]:
    """The cases of each row of a splits table and the rows' parts of their sum.

    ``(n_1 … n_K) ~ Multinomial(n, π)`` and parts
    ``Dirichlet(n_1/cv², …, n_K/cv²)`` (``n_k / n`` for cv = 0), as
    :func:`case_shares_table` draws them. A sum of no cases gets all of row 0
    as a placeholder part (it has no spend).

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : ndarray of int, shape (sims,)
        Cases in the sum, n ≥ 0. [cases]
    cv : float
        CV of one case's cost. [fraction]
    probabilities : ndarray, shape (rows,)
        π, summing to 1. [fraction]

    Returns
    -------
    rows : ndarray of int64, shape (rows, sims)
        Cases of each row, n_k. [cases]
    parts : ndarray of float64, shape (rows, sims)
        Each row's part of the sum, summing to 1 over rows. [fraction]
    """
    by_row = rng.multinomial(counts, probabilities).T  # (rows, sims)
    shapes = by_row.astype(np.float64)
    shapes[0, counts == 0] = 1.0  # the placeholder
    if cv == 0:
        return by_row, shapes / shapes.sum(axis=0)
    return by_row, _normalised(_log_gamma(rng, shapes / (cv * cv)))


# ----------------------------------------------------------------------------- carried cases


def surviving_case_shares(
    rng: np.random.Generator,
    shares: FloatArray,
    survivors: IntArray,
    stock: IntArray,
    cv: float,
    mean: FloatArray,
    concentration: float,
) -> FloatArray:
    """The partners' shares of the cost of ``survivors`` cases kept from a stock of ``stock``.

    Dirichlet(κ m) splits (:func:`case_shares_dirichlet`): the stock's shares
    ``P`` are taken as Dirichlet(κ_N m), i.e. ``P_p = G_p / Σ G`` with
    ``G_p ~ Gamma(κ_N m_p)``; each ``G_p`` keeps
    ``f_p ~ Beta(κ_B m_p, (κ_N − κ_B) m_p)`` of itself, so that the survivors'
    shares ``Q ∝ f_p P_p`` are Dirichlet(κ_B m), a fresh sum of B cases'
    (exactly ``P`` when B = N; ``docs/sampling.md`` §14). Two gamma and two
    uniform variates per partner.

    Parameters
    ----------
    rng : numpy.random.Generator
    shares : ndarray, shape (partners, sims)
        The stock's shares P, summing to 1 over partners. [fraction]
    survivors : ndarray of int, shape (sims,)
        Cases kept, 0 ≤ B ≤ N (0: the result is finite but carries no spend). [cases]
    stock : ndarray of int, shape (sims,)
        Cases in the stock, N. [cases]
    cv : float
        CV of one case's cost. [fraction]
    mean : ndarray, shape (partners,)
        Expected split ``E[α]``, summing to 1. [fraction]
    concentration : float
        κ > 0. [1]

    Returns
    -------
    ndarray of float64, shape (partners, sims)
        The survivors' shares Q, summing to 1 over partners. [fraction]
    """
    kappa_kept = _case_concentration(survivors, cv, concentration)
    kappa_gone = _case_concentration(stock, cv, concentration) - kappa_kept
    active = np.flatnonzero(mean > 0)
    logs = np.empty((active.size, np.size(survivors)))
    for j, p in enumerate(active):
        kept = _log_gamma(rng, kappa_kept * mean[p])
        gone = _log_gamma(rng, kappa_gone * mean[p])
        with np.errstate(divide="ignore"):
            logs[j] = np.log(shares[p]) + kept - np.logaddexp(kept, gone)
    out = np.zeros(shares.shape)
    out[active] = _normalised(logs)
    return out


def surviving_case_rows(
    rng: np.random.Generator, rows: IntArray, parts: FloatArray, survivors: IntArray, cv: float
) -> tuple[IntArray, FloatArray]:
    """The rows of ``survivors`` cases kept from a stock, and their parts of the survivors' cost.

    Splits-table cases (:func:`case_rows`): the survivors, a random subset
    of B of the stock's N cases, fall in the rows as a multivariate
    hypergeometric draw (row by row, exact); within row k the survivors'
    fraction of the row's cost is ``Beta(b_k/cv², (n_k − b_k)/cv²)`` (exact
    for gamma costs, independent of the row's total; ``b_k/n_k`` for cv = 0),
    so the survivors' parts are proportional to that fraction times the
    row's part (``docs/sampling.md`` §14). One hypergeometric per row but the
    last, two gamma and two uniform variates per row.

    Parameters
    ----------
    rng : numpy.random.Generator
    rows : ndarray of int, shape (rows, sims)
        The stock's cases by row, n_k. [cases]
    parts : ndarray, shape (rows, sims)
        The rows' parts of the stock's cost, summing to 1 over rows. [fraction]
    survivors : ndarray of int, shape (sims,)
        Cases kept, 0 ≤ B ≤ Σ n_k. [cases]
    cv : float
        CV of one case's cost. [fraction]

    Returns
    -------
    kept : ndarray of int64, shape (rows, sims)
        Survivors by row, b_k (summing to B). [cases]
    parts : ndarray of float64, shape (rows, sims)
        The rows' parts of the survivors' cost, summing to 1 (all of row 0
        as a placeholder where B = 0). [fraction]
    """
    kept = np.empty(rows.shape, dtype=np.int64)
    left = np.array(survivors, dtype=np.int64)
    rest = rows.sum(axis=0)
    for k in range(rows.shape[0] - 1):
        rest -= rows[k]
        kept[k] = rng.hypergeometric(rows[k], rest, left)
        left -= kept[k]
    kept[-1] = left
    with np.errstate(divide="ignore", invalid="ignore"):
        if cv == 0:
            logs = np.log(parts) + np.log(kept / rows)
        else:
            staying = _log_gamma(rng, kept / (cv * cv))
            leaving = _log_gamma(rng, (rows - kept) / (cv * cv))
            logs = np.log(parts) + staying - np.logaddexp(staying, leaving)
    logs[kept == 0] = -np.inf
    logs[0, np.asarray(survivors) == 0] = 0.0  # the placeholder
    return kept, _normalised(logs)


# ----------------------------------------------------------------------------- high cost


def high_cost_totals(
    rng: np.random.Generator,
    counts: IntArray,
    distribution: str,
    mean: float,
    cv: float | None = None,
    minimum: float | None = None,
) -> FloatArray:
    """Total cost of each simulation's high-cost placements, every cost drawn exactly.

    Draws one flat array of ``counts.sum()`` costs and adds them up by
    simulation (``np.bincount``).

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : ndarray of int, shape (n,)
        Placements in each simulation. [placements]
    distribution : {'lognormal', 'pareto'}
    mean : float
        Mean cost of a placement. [£]
    cv : float, optional
        Lognormal: CV of a placement's cost. [fraction]
    minimum : float, optional
        Pareto: scale x_m (smallest cost); the shape is alpha = mean / (mean - x_m). [£]

    Returns
    -------
    ndarray of float64, shape (n,)
        [£]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if distribution == "lognormal":
        if cv is None:
            raise ValueError("cv is required for lognormal high-cost placements")
        sigma = float(lognormal_sigma(cv))
        costs = rng.lognormal(np.log(mean) - 0.5 * sigma * sigma, sigma, size=total)
    elif distribution == "pareto":
        if minimum is None or not 0 < minimum < mean:
            raise ValueError(f"minimum must lie in (0, mean) for pareto, got {minimum}")
        alpha = mean / (mean - minimum)
        costs = (rng.pareto(alpha, size=total) + 1.0) * minimum
    else:
        raise ValueError(f"distribution must be 'lognormal' or 'pareto', got {distribution!r}")
    owner = np.repeat(np.arange(counts.size), counts)
    return np.bincount(owner, weights=costs, minlength=counts.size)


# ----------------------------------------------------------------------------- parameters, copula


def uncertain_rate(rng: np.random.Generator, mean: float, sd: float, size: int) -> FloatArray:
    """One rate per simulation from Normal(mean, sd), clipped below at ``MIN_RATE``.

    Parameters
    ----------
    rng : numpy.random.Generator
    mean, sd : float
        [per year]
    size : int
        Number of simulations.

    Returns
    -------
    ndarray of float64, shape (size,)
        [per year]
    """
    return np.maximum(rng.normal(mean, sd, size=size), MIN_RATE)


def correlation_factor(matrix: FloatArray) -> FloatArray:
    """Factor L with ``L Lᵀ`` = the correlation matrix.

    The (lower-triangular) Cholesky factor when the matrix is positive
    definite; otherwise ``V √max(w, 0)`` from the eigen-decomposition, rows
    renormalised to unit variance (for a positive semi-definite matrix this
    reproduces it exactly).

    Parameters
    ----------
    matrix : array_like, shape (k, k)
        Symmetric correlation matrix.

    Returns
    -------
    ndarray of float64, shape (k, k)
        Multiply a vector of k iid standard normals by it to correlate them.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square, got shape {m.shape}")
    try:
        return np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(m)
        f = v * np.sqrt(np.clip(w, 0.0, None))
        return f / np.linalg.norm(f, axis=1, keepdims=True)


def _psd_factor(matrix: FloatArray) -> FloatArray:
    """F with ``F Fᵀ`` = a positive semi-definite ``matrix`` (Cholesky, else ``V √max(w, 0)``)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(matrix)
        return v * np.sqrt(np.clip(w, 0.0, None))


def metric_loadings(
    matrix: FloatArray, k: int, group_factor: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """How performance metrics' normals load on the groups' copula normals and on their own.

    The correlation ``matrix`` C is over k groups then m metrics. The groups'
    normals are ``X = L Z`` (``L`` = ``group_factor``, ``L Lᵀ = C_gg``, Z iid
    standard normals); each metric's normal is ``Y = A Z + D ε`` with ε the
    metrics' own iid standard normals, ``A = C_mg (Lᵀ)⁺`` and ``D Dᵀ = C_mm −
    A Aᵀ`` (the conditional covariance, positive semi-definite). Then
    ``cov(Y, X) = C_mg`` and ``cov(Y) = C_mm``: the joint matrix is C. With
    ``C_mg = 0`` and ``C_mm = I``, ``A = 0`` and ``D = I``: the metrics are
    their own normals, exactly as without the copula.

    Parameters
    ----------
    matrix : array_like, shape (k + m, k + m)
        Positive semi-definite correlation matrix, groups first.
    k : int
        Number of groups.
    group_factor : ndarray, shape (k, k)
        ``L``, from :func:`correlation_factor` of ``C_gg``.

    Returns
    -------
    A : ndarray of float64, shape (m, k)
    D : ndarray of float64, shape (m, m)
    """
    c = np.asarray(matrix, dtype=np.float64)
    a = c[k:, :k] @ np.linalg.pinv(np.asarray(group_factor).T)
    schur = c[k:, k:] - a @ a.T
    return a, _psd_factor((schur + schur.T) / 2)
