"""Paired comparison of agreements on one set of simulated spend.

Every alternative (another agreement, other contribution levels) is settled
on the *same* draws (common random numbers), so the difference between two
rules is the rules, not Monte Carlo noise. Spend is drawn once per chunk of
whole random-number blocks and settled for every alternative; only the
per-simulation outcomes are kept, so memory is bounded by the chunk and the
numbers are the same as an unchunked run (and as :func:`riskshare.simulate`).

This module also holds what :mod:`~riskshare.analysis.sweeps` and
:mod:`~riskshare.analysis.solver` share: :func:`settle_outcome` (settle drawn
spend into :class:`riskshare.run.Outcomes`), :func:`drawn_paths` (spend drawn
once per process), :func:`spend_key` (whether two models draw the same spend)
and :func:`statistic` (the named statistics a sweep reports and a solve targets).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.model import Agreement, Model
from riskshare.errors import InputError
from riskshare.metrics import tvar
from riskshare.paths import SpendPaths
from riskshare.run import Outcomes, settle_blocks
from riskshare.sampling import sample
from riskshare.settle import Terms
from riskshare.streams import BLOCK_SIZE, resolve_seed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COMPARE_METRICS",
    "STATISTICS",
    "Comparison",
    "compare",
    "drawn_paths",
    "load_agreement",
    "outcome_of",
    "parse_statistic",
    "resolve_alternative",
    "settle_outcome",
    "spend_key",
    "statistic",
]

#: Metrics of the side-by-side table (whole-agreement net position).
COMPARE_METRICS = ("mean", "p95", "tvar95", "prob_pays", "prob_call_any_year", "prob_exceeds")

#: Sections used for the standard error of quantile/TVaR statistics (batch means).
N_SECTIONS = 20

#: Top-level config fields that only change the settlement, not the drawn spend.
SETTLEMENT_FIELDS = frozenset({"agreement", "contributions", "appetite", "name", "description"})


# --------------------------------------------------------------------------- outcome


def settle_outcome(
    terms: Terms,
    paths: SpendPaths,
    *,
    appetite: Mapping[str, float] | None = None,
    chunk_sims: int = 4 * BLOCK_SIZE,
    check: bool = True,
) -> Outcomes:
    """Settle ``terms`` on drawn spend, ``chunk_sims`` simulations at a time.

    Settlement treats every simulation alone, so the numbers do not depend on
    ``chunk_sims``; it only bounds the temporary ledger's memory.

    Parameters
    ----------
    terms : Terms
        Resolved agreement and contributions.
    paths : SpendPaths
        Drawn spend ``(sims, years, groups)`` and the other draws. [£]
    appetite : mapping of str to float, optional
        Partner appetites recorded on the outcome. [£]
    chunk_sims : int
        Simulations settled at once.
    check : bool
        Check every settled year balances.

    Returns
    -------
    Outcomes
    """
    n = paths.n_sims
    out = Outcomes.for_terms(n, terms, appetite or {})
    if n <= chunk_sims:
        out.fill(slice(0, n), terms, paths, check=check)
        return out
    for start in range(0, n, chunk_sims):
        sl = slice(start, min(start + chunk_sims, n))
        out.fill(sl, terms, paths.take(sl), check=check)
    return out


# --------------------------------------------------------------------------- spend key


def spend_key(model: Model) -> str:
    """Digest of everything that determines a model's drawn spend.

    Two models with the same key draw identical spend for the same seed and
    number of simulations: they differ at most in the agreement,
    contributions, appetite, name, ``simulation.n_sims`` or
    ``simulation.seed`` (seed and size are passed explicitly).
    """
    data = model.model_dump(mode="json")
    for name in SETTLEMENT_FIELDS:
        data.pop(name, None)
    sim = dict(data.get("simulation", {}))
    sim.pop("n_sims", None)
    sim.pop("seed", None)
    data["simulation"] = sim
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _PathsCache:
    """Spend drawn for whole runs, shared by the points of a sweep in one process.

    Keyed by (spend key, n_sims, seed, block_size); holds a few entries and
    nothing larger than ``max_bytes``, so memory stays bounded.
    """

    def __init__(self, max_entries: int = 2, max_bytes: int = 1 << 30) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: dict[tuple[Any, ...], SpendPaths] = {}
        self._lock = threading.Lock()

    def get(self, model: Model, n_sims: int, seed: int, block_size: int = BLOCK_SIZE) -> SpendPaths:
        key = (spend_key(model), int(n_sims), int(seed), int(block_size))
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data[key] = self._data.pop(key)  # most recent last
                return hit
            paths = sample(model, n_sims, seed, block_size=block_size)
            if paths.spend.nbytes * 2 <= self.max_bytes:
                self._data[key] = paths
                while len(self._data) > self.max_entries:
                    self._data.pop(next(iter(self._data)))
            return paths

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: Spend drawn in this process (each Dask worker process has its own); read through
#: :func:`drawn_paths` only.
_PATHS = _PathsCache()


def drawn_paths(
    model: Model, n_sims: int, seed: int, *, block_size: int = BLOCK_SIZE
) -> SpendPaths:
    """Spend of ``model`` for ``n_sims`` simulations and ``seed``, drawn once per process.

    The points of a sweep or a solve that differ only in what is settled
    (agreement, contributions, appetite) reuse the same draws; a few runs
    are kept, none larger than 1 GiB.
    """
    return _PATHS.get(model, n_sims, seed, block_size)


def outcome_of(
    model: Model,
    n_sims: int,
    seed: int,
    *,
    contributions: FloatArray | None = None,
    check: bool = True,
    cache: bool = True,
) -> Outcomes:
    """Draw (or reuse) spend for ``model`` and settle its agreement.

    The outcome is identical to :func:`riskshare.simulate` with the same
    model, ``n_sims`` and ``seed``.
    """
    seed = resolve_seed(seed)
    paths = drawn_paths(model, n_sims, seed) if cache else sample(model, n_sims, seed)
    terms = Terms.from_model(model, contributions=contributions)
    return settle_outcome(terms, paths, appetite=model.appetite, check=check)


# --------------------------------------------------------------------------- statistics

#: Statistics of a subject (a partner id or ``pool``); ``:X`` marks a parameter.
STATISTICS: Mapping[str, str] = {
    "mean": "mean net position over the agreement [£]",
    "sd": "standard deviation of the net position [£]",
    "p50": "median net position [£]",
    "p95": "95th percentile (VaR95) of the net position [£]",
    "p99": "99th percentile of the net position [£]",
    "tvar95": "mean of the worst 5 % of net positions [£]",
    "tvar99": "mean of the worst 1 % of net positions [£]",
    "quantile:Q": "Q-quantile of the net position, Q in (0, 1) [£]",
    "tvar:Q": "TVaR at level Q of the net position [£]",
    "prob_pays": "P(net position > 0) [fraction]",
    "prob_call_any_year": "P(an overspend call in some year) [fraction]",
    "prob_exceeds": "P(net position > the partner's appetite) [fraction]",
    "p_exceeds:X": "P(net position over the agreement > X £) [fraction]",
    "p_any_year_above:X": "P(net position in some single year > X £) [fraction]",
    "worst_year_p95": "95th percentile of the worst single-year net position [£]",
    "tvar95_per_pound": "TVaR95 per pound contributed [fraction]",
    "mean_per_pound": "mean net position per pound contributed [fraction]",
    "prob_reserve_exhausted": (
        "pool only: P(an overspend exceeds the reserve in some year) [fraction]"
    ),
}


def parse_statistic(text: str) -> tuple[str, str, float | None]:
    """Split ``'council:p_any_year_above:2000000'`` into (subject, name, parameter).

    Raises
    ------
    riskshare.errors.InputError
        If the statistic is not one of :data:`STATISTICS` or its parameter is
        missing or not a number.
    """
    parts = [p.strip() for p in str(text).split(":")]
    allowed = ", ".join(STATISTICS)
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(
            f"'{text}' is not SUBJECT:STATISTIC[:PARAMETER] (e.g. council:p95 or "
            f"council:p_any_year_above:2000000); statistics: {allowed}"
        )
    subject, name = parts[0], parts[1]
    param: float | None = None
    takes = {k.split(":")[0] for k in STATISTICS if ":" in k}
    if name not in {k.split(":")[0] for k in STATISTICS}:
        raise InputError(f"'{text}': unknown statistic '{name}' (allowed: {allowed})")
    if name in takes:
        if len(parts) != 3:
            raise InputError(f"'{text}': statistic '{name}' needs a parameter, e.g. {name}:0.95")
        try:
            param = float(parts[2].replace("_", "").replace(",", "").replace("£", ""))
        except ValueError:
            raise InputError(f"'{text}': parameter '{parts[2]}' is not a number") from None
        if name in ("quantile", "tvar") and not 0 < param < 1:
            raise InputError(f"'{text}': level must lie strictly between 0 and 1")
    elif len(parts) == 3:
        raise InputError(f"'{text}': statistic '{name}' takes no parameter")
    return subject, name, param


def statistic(outcome: Outcomes, subject: str, name: str, param: float | None = None) -> float:
    """One statistic of one subject's outcome (see :data:`STATISTICS`).

    Parameters
    ----------
    outcome : Outcomes
    subject : str
        A partner id or ``'pool'`` (all partners together).
    name : str
        Statistic name, without its parameter.
    param : float, optional
        The parameter of ``quantile``, ``tvar``, ``p_exceeds``,
        ``p_any_year_above``.

    Returns
    -------
    float
        NaN for ``prob_exceeds`` when the subject has no appetite.
    """
    if name == "prob_reserve_exhausted":
        if subject != "pool":
            raise InputError(
                "prob_reserve_exhausted is a statistic of the pool (pool:prob_reserve_exhausted)"
            )
        return float(outcome.exhausted.any(axis=1).mean())
    if name == "prob_call_any_year":
        return float(outcome.any_call(subject).mean())
    if name in ("p_any_year_above", "worst_year_p95"):
        worst = outcome.worst_year(subject)
        if name == "worst_year_p95":
            return float(np.quantile(worst, 0.95))
        return float((worst > param).mean())
    if name in _DESCRIBED:
        return float(outcome.described(subject)[name])
    x = outcome.total(subject)
    return _stat_of(x, name, param, outcome.appetite.get(subject), outcome.contributed(subject))


#: Statistics read from :func:`riskshare.metrics.describe` (as ``Result.summary`` does).
_DESCRIBED = frozenset({"mean", "sd", "p50", "p95", "p99", "tvar95", "tvar99", "prob_pays"})


def _stat_of(
    x: FloatArray, name: str, param: float | None, appetite: float | None, contributed: float
) -> float:
    if name == "mean":
        return float(x.mean())
    if name == "sd":
        return float(x.std(ddof=1)) if x.shape[0] > 1 else 0.0
    if name in ("p50", "p95", "p99"):
        return float(np.quantile(x, int(name[1:]) / 100))
    if name == "quantile":
        return float(np.quantile(x, param))
    if name in ("tvar95", "tvar99"):
        return float(tvar(x, int(name[4:]) / 100))
    if name == "tvar":
        return float(tvar(x, param))
    if name == "prob_exceeds":
        return float("nan") if appetite is None else float((x > appetite).mean())
    if name == "p_exceeds":
        return float((x > param).mean())
    if name == "tvar95_per_pound":
        return float(tvar(x, 0.95)) / contributed if contributed > 0 else float("nan")
    if name == "mean_per_pound":
        return float(x.mean()) / contributed if contributed > 0 else float("nan")
    raise InputError(f"unknown statistic '{name}' (allowed: {', '.join(STATISTICS)})")


def sectioned_se(values: Sequence[float]) -> float:
    """Standard error of a full-sample statistic from its values on equal sections.

    The batch-means estimate ``sd(section values) / sqrt(k)``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan")
    return float(v.std(ddof=1) / math.sqrt(v.size))


def sections(n: int, k: int = N_SECTIONS) -> list[slice]:
    """``k`` contiguous, near-equal slices of ``range(n)`` (fewer when ``n < k``)."""
    k = max(1, min(k, n))
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


# --------------------------------------------------------------------------- alternatives


def load_agreement(path: str | Path) -> Agreement:
    """Read an agreement file: a YAML/TOML file with an ``agreement:`` mapping, or the bare mapping.

    Raises
    ------
    riskshare.errors.ConfigError
        Naming the file and the field when the agreement is not valid.
    """
    from riskshare.config.load import read_config_data, validate_data

    path = Path(path)
    data, lines = read_config_data(path)
    if "agreement" in data and isinstance(data["agreement"], Mapping):
        extra = sorted(set(data) - {"agreement"})
        if extra:
            from riskshare.errors import ConfigError

            raise ConfigError(
                str(path),
                [(k, "unknown field in an agreement file (allowed: agreement)") for k in extra],
            )
        body = data["agreement"]
        lines = {k[1:]: v for k, v in lines.items() if k and k[0] == "agreement"}
    else:
        body = data
    agreement = validate_data(body, source=str(path), lines=lines, model=Agreement)
    if agreement.name is None:
        agreement = agreement.model_copy(update={"name": path.stem})
    return agreement


def resolve_alternative(model: Model, alternative: Any) -> Model:
    """The model an alternative describes.

    Parameters
    ----------
    model : Model
        The base scenario.
    alternative : Agreement, Model, mapping or str/Path
        An :class:`Agreement` (replaces the model's), a whole :class:`Model`,
        a mapping of dotted-path changes (``{"agreement.reserve.opening":
        1e6, "contributions.council.factor": 1.05}``) or an agreement file.
    """
    from riskshare.config.load import with_agreement, with_changes

    if isinstance(alternative, Model):
        return alternative
    if isinstance(alternative, Agreement):
        return with_agreement(model, alternative)
    if isinstance(alternative, (str, Path)):
        return with_agreement(model, load_agreement(alternative), source=str(alternative))
    if isinstance(alternative, Mapping):
        return with_changes(model, dict(alternative))
    raise InputError(
        f"an alternative must be an Agreement, a Model, a mapping of changes or a file, "
        f"not {type(alternative).__name__}"
    )


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of alternatives settled on the same draws.

    Attributes
    ----------
    table : pandas.DataFrame
        MultiIndex ``(alternative, partner)`` (partners and ``pool``); columns
        the metrics of :data:`COMPARE_METRICS` and, for each, ``<m>_diff``
        (alternative minus baseline, paired) and ``<m>_diff_se``. [£ or
        fraction]
    outcomes : dict of str to Outcomes
        Per-simulation outcomes of each alternative.
    baseline : str
        The alternative differences are taken against.
    n_sims, seed : int
    """

    table: pd.DataFrame
    outcomes: dict[str, Outcomes]
    baseline: str
    n_sims: int
    seed: int

    def differences(self) -> pd.DataFrame:
        """Only the paired differences to the baseline and their standard errors."""
        cols = [c for c in self.table.columns if c.endswith(("_diff", "_diff_se"))]
        return self.table[cols].drop(index=self.baseline, level=0)

    def metric(self, name: str) -> pd.DataFrame:
        """One metric as a partner × alternative table."""
        return self.table[name].unstack(level=0)[list(self.outcomes)]


def compare(
    model: Model,
    agreements: Mapping[str, Any],
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    baseline: str | None = None,
    thresholds: Mapping[str, float] | None = None,
    include_model: bool = True,
    chunk_blocks: int = 4,
    block_size: int = BLOCK_SIZE,
    check: bool = True,
) -> Comparison:
    """Settle several agreements on the same simulated spend and compare them.

    Parameters
    ----------
    model : Model
        The scenario; its own agreement is included as ``'baseline'`` (or by
        the agreement's name) unless ``include_model`` is false.
    agreements : mapping of str to alternative
        Name → :class:`Agreement`, mapping of dotted-path changes (e.g.
        ``{"contributions.council.factor": 1.1}``), whole :class:`Model` or
        agreement file (see :func:`resolve_alternative`). Alternatives that
        change the spend model are drawn with the same seed (same streams).
    n_sims : int, optional
        Simulations (default ``model.simulation.n_sims``).
    seed : int, optional
        Seed (default ``model.simulation.seed``).
    baseline : str, optional
        The alternative differences are taken against (default the model's
        own agreement, else the first alternative).
    thresholds : mapping of partner to float, optional
        Exposure thresholds for ``prob_exceeds`` (default the config's
        ``appetite``). [£]
    include_model : bool
        Include the model's own agreement.
    chunk_blocks : int
        Random-number blocks drawn and settled at once (memory only).
    block_size : int
        Simulations per block (part of the seed contract).
    check : bool
        Check every settled year balances.

    Returns
    -------
    Comparison

    Notes
    -----
    The standard error of a difference in a mean or a probability is the
    standard deviation of the per-simulation difference over ``sqrt(n)``
    (paired). For P95 and TVaR95 it is the batch-means estimate: the paired
    difference computed on 20 equal sections of the simulations, whose
    standard deviation over ``sqrt(20)`` estimates the full-sample SE.

    Examples
    --------
    >>> import riskshare as rs
    >>> from riskshare.analysis import compare
    >>> model = rs.load_config("configs/section75_example.yaml")
    >>> aligned = rs.Agreement(arrangement="aligned")
    >>> cmp = compare(model, {"aligned": aligned}, n_sims=2000, seed=1)
    >>> cmp.table.loc[("aligned", "council"), "mean_diff"] != 0
    np.True_
    """
    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    if n_sims < 1:
        raise InputError(f"n_sims must be >= 1, got {n_sims}")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    alts: dict[str, Model] = {}
    if include_model:
        alts[model.agreement.name or "baseline"] = model
    for name, alt in agreements.items():
        if name in alts:
            raise InputError(f"alternative name '{name}' is used twice")
        alts[str(name)] = resolve_alternative(model, alt)
    if not alts:
        raise InputError("nothing to compare: give at least one agreement")
    if baseline is None:
        baseline = next(iter(alts))
    if baseline not in alts:
        raise InputError(
            f"baseline '{baseline}' is not an alternative (alternatives: {', '.join(alts)})"
        )
    partner_ids = tuple(model.partner_ids)
    for name, m in alts.items():
        if tuple(m.partner_ids) != partner_ids or m.simulation.years != model.simulation.years:
            raise InputError(f"alternative '{name}' has other partners or years than the model")

    terms = {name: Terms.from_model(m) for name, m in alts.items()}
    outcomes = {name: Outcomes.for_terms(n_sims, terms[name], alts[name].appetite) for name in alts}
    by_spend: dict[str, list[str]] = {}
    for name, m in alts.items():
        by_spend.setdefault(spend_key(m), []).append(name)
    for names in by_spend.values():
        settle_blocks(
            alts[names[0]],
            seed,
            n_sims,
            [(terms[name], outcomes[name]) for name in names],
            block_size=block_size,
            chunk_blocks=chunk_blocks,
            check=check,
        )

    th = dict(model.appetite)
    th.update(thresholds or {})
    table = comparison_table(outcomes, baseline, th)
    return Comparison(table=table, outcomes=outcomes, baseline=baseline, n_sims=n_sims, seed=seed)


def comparison_table(
    outcomes: Mapping[str, Outcomes], baseline: str, thresholds: Mapping[str, float]
) -> pd.DataFrame:
    """The side-by-side table of :func:`compare` from settled outcomes."""
    import pandas as pd

    base = outcomes[baseline]
    subjects = [*base.partner_ids, "pool"]
    secs = sections(base.n_sims)
    rows = []
    index = []
    for name, out in outcomes.items():
        for subject in subjects:
            x = out.total(subject)
            xb = base.total(subject)
            c = out.any_call(subject)
            cb = base.any_call(subject)
            th = thresholds.get(subject)
            row: dict[str, float] = {}
            per_sim = {
                "mean": (x, xb),
                "prob_pays": (
                    (x > out.materiality).astype(float),
                    (xb > base.materiality).astype(float),
                ),
                "prob_call_any_year": (c.astype(float), cb.astype(float)),
            }
            if th is not None:
                per_sim["prob_exceeds"] = ((x > th).astype(float), (xb > th).astype(float))
            for metric in COMPARE_METRICS:
                if metric in per_sim:
                    a, b = per_sim[metric]
                    d = a - b
                    row[metric] = float(a.mean())
                    row[f"{metric}_diff"] = float(d.mean())
                    row[f"{metric}_diff_se"] = (
                        float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")
                    )
                elif metric in ("p95", "tvar95"):
                    row[metric] = _stat_of(x, metric, None, None, 1.0)
                    row[f"{metric}_diff"] = row[metric] - _stat_of(xb, metric, None, None, 1.0)
                    row[f"{metric}_diff_se"] = sectioned_se(
                        [
                            _stat_of(x[s], metric, None, None, 1.0)
                            - _stat_of(xb[s], metric, None, None, 1.0)
                            for s in secs
                        ]
                    )
                else:  # prob_exceeds without a threshold
                    row[metric] = row[f"{metric}_diff"] = row[f"{metric}_diff_se"] = float("nan")
            if th is not None:
                row["threshold"] = float(th)
            rows.append(row)
            index.append((name, subject))
    frame = pd.DataFrame(
        rows, index=pd.MultiIndex.from_tuples(index, names=["alternative", "partner"])
    )
    if frame["prob_exceeds"].isna().all():
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("prob_exceeds")])
    lead = [m for m in COMPARE_METRICS if m in frame.columns]
    rest = [c for c in frame.columns if c not in lead]
    return frame[lead + rest]
