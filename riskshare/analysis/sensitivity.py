"""What drives the risk: one-at-a-time tornado and global (Sobol) sensitivity.

**Tornado** (:func:`tornado`): each assumption (a dotted config path, e.g.
``client_groups[0].spend.cost.inflation``) is moved to its low and then its
high value with every other assumption at base, and the change in each
partner's mean and P95 net exposure over the agreement is recorded. Every
variant is simulated with the same seed and block size, so the random streams
(keyed by seed, block and group name) are shared: a change moves only the
numbers that depend on it (common random numbers), and an assumption the
exposure does not depend on has exactly zero effect. An uncertain rate
``{mean, sd}`` is moved by its ``mean`` (its ``sd`` and its draws stay).
Contributions are held at the base's (the agreed amounts do not move with
the assumptions) unless an assumption is a ``contributions.*`` path.

Default assumptions (:func:`default_assumptions`): every group's growth,
inflation and CV at ±50 % of its base value (±1 point for a zero rate).

**Sobol indices** (:func:`sobol`, needs the optional ``SALib``): the
uncertain assumptions are inputs ranging uniformly between their low and
high values; the output is each partner's *mean* (or P95) net exposure,
estimated for each input point by a simulation with a fixed seed (common
random numbers) and a modest number of simulations. Saltelli's scheme
(``SALib.sample.sobol``, ``N * (D + 2)`` model runs for ``D`` inputs) and
Jansen's estimators (``SALib.analyze.sobol``) give first-order (``S1``) and
total (``ST``) indices: the share of the variance of the partner's expected
exposure, over the assumptions' ranges, explained by each assumption alone
and with its interactions. The Monte Carlo noise of each run is common to
all runs (same seed), so it acts as a fixed small bias of the output, not as
variance to be explained. :func:`sobol_indices` is the same wrapper on any
vectorised function (tested on functions with analytic indices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskshare.analysis.scenarios import apply_changes, run_variant
from riskshare.config.load import get_path
from riskshare.config.model import AggregateSpend, ClientsSpend, FixedSpend, Model
from riskshare.errors import InputError
from riskshare.streams import BLOCK_SIZE, resolve_seed

__all__ = [
    "default_assumptions",
    "sobol",
    "sobol_indices",
    "tornado",
]

#: Measures a tornado can report, on each partner's whole-agreement net position.
MEASURES: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: x.mean(axis=0),
    "p50": lambda x: np.quantile(x, 0.50, axis=0),
    "p95": lambda x: np.quantile(x, 0.95, axis=0),
    "p99": lambda x: np.quantile(x, 0.99, axis=0),
}


def _base_value(model: Model, path: str) -> float:
    value = get_path(model.model_dump(mode="json"), path)
    if isinstance(value, Mapping) and set(value) == {"mean", "sd"}:
        value = value["mean"]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InputError(f"'{path}' is not a number in the config (found {value!r})")
    return float(value)


def default_assumptions(model: Model, relative: float = 0.5) -> dict[str, tuple[float, float]]:
    """Every group's growth, inflation and CV at ``(1 - relative, 1 + relative)`` × base.

    A zero rate gets ±0.01 (one point), a zero CV ``(0, 0.05)``.

    Returns
    -------
    dict of str to (float, float)
        ``{dotted path: (low, high)}``.
    """
    out: dict[str, tuple[float, float]] = {}
    for g, grp in enumerate(model.client_groups):
        p = f"client_groups[{g}].spend"
        sp = grp.spend
        if isinstance(sp, ClientsSpend):
            paths = {
                f"{p}.clients.growth": "rate",
                f"{p}.cost.inflation": "rate",
                f"{p}.cost.cv": "cv",
            }
        elif isinstance(sp, AggregateSpend):
            paths = {f"{p}.growth": "rate", f"{p}.cv": "cv"}
        elif isinstance(sp, FixedSpend) and sp.amount is not None:
            paths = {f"{p}.growth": "rate"}
        else:
            paths = {}
        for path, kind in paths.items():
            base = _base_value(model, path)
            if base == 0:
                out[path] = (-0.01, 0.01) if kind == "rate" else (0.0, 0.05)
            else:
                lo, hi = sorted((base * (1 - relative), base * (1 + relative)))
                out[path] = (lo, hi)
    return out


def resolve_assumptions(
    model: Model, spec: Mapping[str, Any] | None, relative: float = 0.5
) -> dict[str, tuple[float, float]]:
    """``{path: (low, high)}`` from a spec whose values are ``[low, high]``,
    ``{relative: r}`` (× base) or ``{absolute: a}`` (± a); None: the defaults."""
    if spec is None:
        return default_assumptions(model, relative)
    out = {}
    for path, value in spec.items():
        if isinstance(value, Mapping):
            base = _base_value(model, path)
            if set(value) == {"relative"}:
                r = float(value["relative"])
                out[path] = tuple(sorted((base * (1 - r), base * (1 + r))))
            elif set(value) == {"absolute"}:
                a = float(value["absolute"])
                out[path] = (base - a, base + a)
            else:
                raise InputError(
                    f"'{path}': give [low, high], {{relative: r}} or "
                    f"{{absolute: a}} (got {dict(value)!r})"
                )
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            _base_value(model, path)  # the path must exist
            out[path] = (float(value[0]), float(value[1]))
        else:
            raise InputError(
                f"'{path}': give [low, high], {{relative: r}} or {{absolute: a}} (got {value!r})"
            )
    return out


def tornado(
    model: Model,
    assumptions: Mapping[str, Any] | None = None,
    n_sims: int = 20_000,
    seed: int | None = None,
    measures: Sequence[str] = ("mean", "p95"),
    *,
    hold_contributions: bool = True,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """One-at-a-time sensitivity of each partner's exposure, on common random numbers.

    Parameters
    ----------
    model : Model
        The base.
    assumptions : mapping, optional
        ``{dotted path: (low, high)}`` (or ``{relative: r}`` / ``{absolute:
        a}``); default :func:`default_assumptions`.
    n_sims : int
        Simulations per variant (two per assumption, plus the base).
    seed : int, optional
        Default the model's seed.
    measures : sequence of str
        Among ``mean``, ``p50``, ``p95``, ``p99`` of the whole-agreement net
        position (positive = pays beyond contributions).
    hold_contributions : bool
        Keep the base's contributions in every variant (default).

    Returns
    -------
    pandas.DataFrame
        One row per assumption, partner (and ``pool``) and measure, sorted by
        ``swing`` (largest first within partner and measure): ``assumption,
        partner, measure, base_value, low_value, high_value, base, at_low,
        at_high, change_low, change_high, swing`` (``|at_high - at_low|``).
        Values of the assumption in its own units, measures in £.
    """
    for m in measures:
        if m not in MEASURES:
            raise InputError(f"unknown measure '{m}' (allowed: {', '.join(MEASURES)})")
    ranges = resolve_assumptions(model, assumptions)
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    kw = dict(n_sims=n_sims, seed=seed, hold_contributions=hold_contributions, **simulate_kwargs)
    base_x, index = run_variant(model, {}, **kw).net_with_pool()
    base_stats = {m: MEASURES[m](base_x) for m in measures}
    rows = []
    for path, (lo, hi) in ranges.items():
        stats_at = {}
        for side, value in (("low", lo), ("high", hi)):
            variant = run_variant(model, {path: value}, source=f"'{path}' at {side}", **kw)
            x, _ = variant.net_with_pool()
            stats_at[side] = {m: MEASURES[m](x) for m in measures}
        for m in measures:
            for k, partner in enumerate(index):
                b = float(base_stats[m][k])
                a_lo = float(stats_at["low"][m][k])
                a_hi = float(stats_at["high"][m][k])
                rows.append(
                    {
                        "assumption": path,
                        "partner": partner,
                        "measure": m,
                        "base_value": _base_value(model, path),
                        "low_value": lo,
                        "high_value": hi,
                        "base": b,
                        "at_low": a_lo,
                        "at_high": a_hi,
                        "change_low": a_lo - b,
                        "change_high": a_hi - b,
                        "swing": abs(a_hi - a_lo),
                    }
                )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_p"] = frame["partner"].map({p: i for i, p in enumerate(index)})
    frame["_m"] = frame["measure"].map({m: i for i, m in enumerate(measures)})
    frame = frame.sort_values(["_p", "_m", "swing"], ascending=[True, True, False], kind="stable")
    return frame.drop(columns=["_p", "_m"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- Sobol


def _salib() -> tuple[Any, Any]:
    try:
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError(
            "Sobol indices need the optional package SALib: pip install 'riskshare[sensitivity]' "
            "(or pip install SALib)"
        ) from None
    return sample, analyze


def sobol_indices(
    func: Callable[[np.ndarray], np.ndarray],
    bounds: Mapping[str, tuple[float, float]],
    *,
    n_base: int = 1024,
    seed: int = 0,
    outputs: Sequence[str] | None = None,
    num_resamples: int = 100,
) -> pd.DataFrame:
    """First-order and total Sobol indices of a vectorised function (SALib).

    Parameters
    ----------
    func : callable
        ``func(X)`` with ``X`` of shape ``(n, D)`` (columns in the order of
        ``bounds``) returns ``(n,)`` or ``(n, k)`` outputs.
    bounds : mapping of str to (float, float)
        Each input's uniform range.
    n_base : int
        Saltelli base sample size ``N`` (a power of 2); ``func`` sees
        ``N * (D + 2)`` points.
    seed : int
        Seed of the scrambled Sobol sequence and of the bootstrap.
    outputs : sequence of str, optional
        Names of the output columns.
    num_resamples : int
        Bootstrap resamples for the confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Index ``(output, input)``; columns ``S1``, ``S1_conf``, ``ST``,
        ``ST_conf`` (95 % bootstrap half-widths). [fraction of variance]
    """
    sample, analyze = _salib()
    names = list(bounds)
    if len(names) < 1:
        raise ValueError("give at least one input")
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [[float(lo), float(hi)] for lo, hi in bounds.values()],
    }
    for name, (lo, hi) in bounds.items():
        if not hi > lo:
            raise InputError(f"'{name}': the high value must exceed the low one ({lo}, {hi})")
    X = sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    Y = np.asarray(func(X), dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    outputs = list(outputs) if outputs is not None else [f"y{k}" for k in range(Y.shape[1])]
    frames = []
    for k, out in enumerate(outputs):
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant output gives NaN
            si = analyze.analyze(
                problem, Y[:, k], calc_second_order=False, num_resamples=num_resamples, seed=seed
            )
        frames.append(
            pd.DataFrame(
                {
                    "S1": si["S1"],
                    "S1_conf": si["S1_conf"],
                    "ST": si["ST"],
                    "ST_conf": si["ST_conf"],
                },
                index=pd.MultiIndex.from_product([[out], names], names=["output", "input"]),
            )
        )
    return pd.concat(frames)


def sobol(
    model: Model,
    assumptions: Mapping[str, Any] | None = None,
    *,
    n_base: int = 32,
    n_sims: int = 4096,
    seed: int | None = None,
    measure: str = "mean",
    hold_contributions: bool = True,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """Sobol indices of each partner's mean (or P95) exposure over the assumptions' ranges.

    Each of the ``n_base * (D + 2)`` input points is one simulation of
    ``n_sims`` on the same seed (random-number blocks of ``n_sims``, so
    each run draws only what it needs). See the module docstring for the
    method.

    Parameters
    ----------
    model : Model
    assumptions : mapping, optional
        As for :func:`tornado` (default every group's growth, inflation, CV ±50 %).
    n_base : int
        Saltelli base sample size (a power of 2).
    n_sims : int
        Simulations per run.
    seed : int, optional
    measure : str
        ``mean`` (default) or ``p95``, ... of each partner's net exposure.

    Returns
    -------
    pandas.DataFrame
        Index ``(output = partner, input = assumption)``; ``S1, S1_conf, ST,
        ST_conf``.
    """
    if measure not in MEASURES:
        raise InputError(f"unknown measure '{measure}' (allowed: {', '.join(MEASURES)})")
    ranges = resolve_assumptions(model, assumptions)
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    paths = list(ranges)
    simulate_kwargs.setdefault("block_size", min(BLOCK_SIZE, n_sims))
    index: list[str] = []

    def func(X: np.ndarray) -> np.ndarray:
        out = []
        for row in X:
            changes = dict(zip(paths, map(float, row), strict=True))
            x, idx = (
                run_variant(
                    model,
                    changes,
                    n_sims=n_sims,
                    seed=seed,
                    hold_contributions=hold_contributions,
                    source="sobol point",
                    check=False,
                    **simulate_kwargs,
                )
            ).net_with_pool()
            index[:] = idx
            out.append(MEASURES[measure](x))
        return np.array(out)

    apply_changes(model, {p: ranges[p][0] for p in paths})  # fail early on invalid ranges
    apply_changes(model, {p: ranges[p][1] for p in paths})
    names = [*model.partner_ids, "pool"]
    return sobol_indices(func, ranges, n_base=n_base, seed=seed % (2**32), outputs=names)
