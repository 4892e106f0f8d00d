"""simulate(): sample and settle in blocks, keep each partner's outcomes, stamp a manifest.

Simulations are drawn in fixed-size blocks keyed by the seed and the block
index (:mod:`riskshare.streams`), settled block by block and reduced into
per-simulation outcomes: each partner's net position per year, the reserve
balance and the pool's variance. Memory is bounded by the chunk (a whole
number of blocks) plus these outcome arrays; the numbers do not depend on the
chunk size or on the number of threads.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare import __version__
from riskshare._types import BoolArray, FloatArray, IntArray
from riskshare.config.load import with_agreement, with_contributions
from riskshare.config.model import Agreement, Model
from riskshare.errors import InputError
from riskshare.executors import thread_pool
from riskshare.ledger import Ledger
from riskshare.metrics import describe, quantiles
from riskshare.paths import SpendPaths
from riskshare.rules import rules_for
from riskshare.rules.instalments import QUARTERS, partner_quarter
from riskshare.sampling import sample_block
from riskshare.settle import Terms, iter_settle
from riskshare.spill import SpilledArray, chunks
from riskshare.streams import BLOCK_SIZE, n_blocks, resolve_seed

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result", "config_digest", "simulate"]

#: Manifest format version.
MANIFEST_SCHEMA = 1

#: Above this many simulations the whole-agreement outcomes are spilled to a
#: temporary file (:func:`simulate`'s ``spill_above``) [simulations].
SPILL_ABOVE = 1 << 20

ProgressCallback = Callable[[int, int], None]


def weighted_total(net: FloatArray, weights: FloatArray) -> FloatArray:
    """``Σ_t weights[t] · net[:, t]``: the ``(sims, partners)`` net over the agreement. [£]

    Summed year by year in order, so each simulation's total has the same bits
    however the simulations were chunked.
    """
    total = net[:, 0] * weights[0]
    for t in range(1, net.shape[1]):
        total += net[:, t] * weights[t]
    return total


def config_digest(model: Model) -> str:
    """SHA-256 of the model's canonical JSON (sorted keys): what was simulated."""
    text = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Outcomes:
    """Per-simulation outcomes kept from a run (simulations on axis 0).

    ``net_total`` and ``called_any`` cover every simulation. The per-year
    arrays cover the first ``keep`` simulations only (all of them unless the
    run was larger than ``keep_paths``), which bounds memory for very large
    runs: whole-agreement figures use every simulation, per-year figures the
    kept ones. In a very large run (:func:`simulate`'s ``spill_above``) the
    whole-agreement arrays (``net_total``, ``called_any``, ``schedule_total``,
    ``exit_cost_total``, ``holdback_total``, ``basis_total``) are
    :class:`riskshare.spill.SpilledArray` files instead of memory: the tables
    read them a column at a time, ``numpy.asarray`` maps one whole.
    """

    net: FloatArray  # (keep, years, partners) net position each year [£]
    called: BoolArray  # (keep, years, partners) an overspend call was made
    reserve: FloatArray  # (keep, years) reserve balance at year end, before the final payout [£]
    variance: FloatArray  # (keep, years) pool variance: spend minus budget [£]
    exhausted: BoolArray  # (keep, years) an overspend was larger than the reserve
    #: (sims, partners) net over the agreement [£]
    net_total: FloatArray | SpilledArray | None = None
    called_any: BoolArray | SpilledArray | None = None  # (sims, partners) a call in any year
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # (keep, years) each
    materiality: float = 0.0  # a call is an overspend_call above this [£]
    partner_ids: tuple[str, ...] = ()  # the partner axis
    contributions: FloatArray | None = None  # (years, partners) contributions settled [£]
    appetite: Mapping[str, float] = field(default_factory=dict)  # risk appetites [£]
    _cache: dict[tuple[str, str], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: (sims, schedules, partners) net over the agreement in each schedule [£];
    #: ``None`` for a one-schedule agreement.
    schedule_total: FloatArray | SpilledArray | None = None
    #: (sims, partners) exit costs paid over the agreement [£]; ``None`` without exit costs.
    exit_cost_total: FloatArray | SpilledArray | None = None
    #: The holdback's amounts (:data:`HOLDBACK_AMOUNTS`: released, retained and, with
    #: ``unreleased: uncommission``, uncommissioned), summed over partners and schedules:
    #: (sims, amounts) over the agreement and (keep, years, amounts) each year [£];
    #: ``None`` without a holdback.
    holdback_total: FloatArray | SpilledArray | None = None
    holdback_years: FloatArray | None = None
    #: (sims, partners) the agreement year at whose start each partner's exit took effect
    #: (``years`` or more: it did not leave); ``None`` without an exit clause.
    exit_year: IntArray | SpilledArray | None = None
    #: (years,) weights turning each year's nominal pounds into the reporting basis
    #: (real or present value), and the (sims, partners) weighted net over the
    #: agreement for every simulation; ``None`` in nominal pounds.
    basis_weights: FloatArray | None = None
    basis_total: FloatArray | SpilledArray | None = None
    #: (keep, years, partners) each partner's contribution each year [£], the
    #: holdback included, when contributions are re-set per simulation
    #: (``rebased``, ``outturn``); ``None`` when they are fixed in advance.
    contribution_paths: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.net_total is None:
            object.__setattr__(self, "net_total", self.net.sum(axis=1))
        if self.called_any is None:
            object.__setattr__(self, "called_any", self.called.any(axis=1))

    @classmethod
    def empty(
        cls,
        n_sims: int,
        keep: int,
        years: int,
        n_partners: int,
        extra_names: tuple[str, ...] = (),
        *,
        materiality: float = 0.0,
        partner_ids: tuple[str, ...] = (),
        contributions: FloatArray | None = None,
        appetite: Mapping[str, float] | None = None,
        n_schedules: int = 1,
        exit_costs: bool = False,
        holdback: int = 0,
        exits: bool = False,
        basis_weights: FloatArray | None = None,
        spill: bool = False,
        contributions_vary: bool = False,
    ) -> Outcomes:
        """Uninitialised arrays for ``n_sims`` simulations, keeping ``keep`` paths.

        With ``spill``, the whole-agreement arrays (one value per simulation)
        are :class:`riskshare.spill.SpilledArray` files, not memory.
        ``contributions_vary``: keep each kept simulation's contribution paths.
        """

        # Stored with simulations last (as the settlement computes them) and
        # exposed as (sims, ...) views, so storing a chunk is a contiguous copy.
        def sims_first(shape: tuple[int, ...], dtype: type = float) -> np.ndarray:
            return np.moveaxis(np.empty((*shape[1:], shape[0]), dtype=dtype), -1, 0)

        def every_sim(shape: tuple[int, ...], dtype: type = float) -> np.ndarray | SpilledArray:
            return SpilledArray(shape, dtype) if spill else sims_first(shape, dtype)

        return cls(
            net=sims_first((keep, years, n_partners)),
            called=sims_first((keep, years, n_partners), bool),
            reserve=sims_first((keep, years)),
            variance=sims_first((keep, years)),
            exhausted=sims_first((keep, years), bool),
            net_total=every_sim((n_sims, n_partners)),
            called_any=every_sim((n_sims, n_partners), bool),
            extras={name: sims_first((keep, years)) for name in extra_names},
            materiality=materiality,
            partner_ids=tuple(partner_ids),
            contributions=contributions,
            appetite=dict(appetite or {}),
            schedule_total=every_sim((n_sims, n_schedules, n_partners))
            if n_schedules > 1
            else None,
            exit_cost_total=every_sim((n_sims, n_partners)) if exit_costs else None,
            holdback_total=every_sim((n_sims, holdback)) if holdback else None,
            holdback_years=sims_first((keep, years, holdback)) if holdback else None,
            exit_year=every_sim((n_sims, n_partners), np.int16) if exits else None,
            basis_weights=basis_weights,
            basis_total=None if basis_weights is None else every_sim((n_sims, n_partners)),
            contribution_paths=sims_first((keep, years, n_partners))
            if contributions_vary
            else None,
        )

    @classmethod
    def for_terms(cls, n_sims: int, terms: Terms, appetite: Mapping[str, float]) -> Outcomes:
        """Empty outcomes of ``n_sims`` simulations of ``terms``, every path kept."""
        years, n_partners = terms.contributions.shape
        return cls.empty(
            n_sims,
            n_sims,
            years,
            n_partners,
            materiality=terms.materiality,
            partner_ids=terms.partner_ids,
            contributions=np.array(terms.contributions),
            appetite=appetite,
            n_schedules=len(terms.schedules) or 1,
            contributions_vary=terms.reset is not None,
        )

    @classmethod
    def from_ledger(cls, ledger: Ledger, model: Model) -> Outcomes:
        """The outcomes of a ledger settled for ``model`` (every simulation kept)."""
        out = cls.empty(
            ledger.n_sims,
            ledger.n_sims,
            ledger.years,
            len(ledger.partner_ids),
            _extra_names(ledger),
            materiality=model.simulation.materiality,
            partner_ids=ledger.partner_ids,
            contributions=model.contribution_schedule(),
            appetite=model.appetite,
            n_schedules=ledger.extras["schedule_net"].shape[2]
            if "schedule_net" in ledger.extras
            else 1,
            exit_costs="exit_cost" in ledger.partner_flows,
            holdback=_holdback_amounts(ledger.partner_flows, ledger.pool_flows),
            contributions_vary=model.contributions_vary,
            exits="exit_year" in ledger.extras,
        )
        out.store(ledger, 0)
        return out

    def store(self, ledger: Ledger, start: int) -> None:
        """Write a settled chunk of simulations ``start ..`` into these arrays."""
        stop = start + ledger.n_sims
        net = ledger.net()
        called = ledger.flow("overspend_call") > self.materiality
        self.net_total[start:stop] = net.sum(axis=1)
        self.called_any[start:stop] = called.any(axis=1)
        if self.schedule_total is not None:
            self.schedule_total[start:stop] = ledger.extras["schedule_net"].sum(axis=1)
        if self.exit_cost_total is not None:
            self.exit_cost_total[start:stop] = ledger.flow("exit_cost").sum(axis=1)
        if self.exit_year is not None:
            self.exit_year[start:stop] = ledger.extras["exit_year"]
        if self.basis_total is not None:
            self.basis_total[start:stop] = weighted_total(net, self.basis_weights)
        holdback = None
        if self.holdback_total is not None:
            amounts = HOLDBACK_AMOUNTS[: self.holdback_total.shape[1]]
            holdback = np.stack([_holdback_amount(ledger, a) for a in amounts], axis=-1)
            self.holdback_total[start:stop] = holdback.sum(axis=1)
        keep = self.net.shape[0]
        if start >= keep:
            return
        k = min(stop, keep) - start
        sl = slice(start, start + k)
        if holdback is not None:
            self.holdback_years[sl] = holdback[:k]
        self.net[sl] = net[:k]
        self.called[sl] = called[:k]
        self.reserve[sl] = ledger.reserve[:k]
        self.reserve[sl, -1] = ledger.extras["reserve_closing"][:k]
        self.variance[sl] = ledger.extras["variance"][:k]
        self.exhausted[sl] = ledger.extras["reserve_exhausted"][:k]
        for name in self.extras:
            self.extras[name][sl] = ledger.extras[name][:k]
        if self.contribution_paths is not None:
            paid = ledger.flow("contribution")[:k]
            if "holdback_released" in ledger.partner_flows:  # the contribution agreed
                paid = paid + ledger.flow("holdback_released")[:k]
                paid = paid + ledger.flow("holdback_retained")[:k]
            self.contribution_paths[sl] = paid

    def fill(self, sl: slice, terms: Terms, paths: SpendPaths, *, check: bool = True) -> None:
        """Settle ``terms`` on ``paths`` and store the result at simulations ``sl``."""
        self._cache.clear()
        start = sl.start or 0
        for part, ledger in iter_settle(terms, paths, check=check):
            self.store(ledger, start + part.start)

    @property
    def spilled(self) -> bool:
        """The whole-agreement outcomes are in a temporary file (a very large run)."""
        return isinstance(self.net_total, SpilledArray)

    @property
    def n_sims(self) -> int:
        """Number of simulations (with per-year outcomes)."""
        return int(self.net.shape[0])

    def take(self, idx: slice | np.ndarray) -> Outcomes:
        """The outcomes of a subset of the simulations kept."""
        return Outcomes(
            net=self.net[idx],
            called=self.called[idx],
            reserve=self.reserve[idx],
            variance=self.variance[idx],
            exhausted=self.exhausted[idx],
            extras={k: v[idx] for k, v in self.extras.items()},
            materiality=self.materiality,
            partner_ids=self.partner_ids,
            contributions=self.contributions,
            appetite=self.appetite,
            contribution_paths=None
            if self.contribution_paths is None
            else self.contribution_paths[idx],
        )

    # ------------------------------------------------------------------ views
    def subject_index(self, subject: str) -> int | None:
        """Partner index of ``subject``; None for ``'pool'``."""
        if subject == "pool":
            return None
        try:
            return self.partner_ids.index(subject)
        except ValueError:
            raise InputError(
                f"unknown partner '{subject}' (allowed: {', '.join(self.partner_ids)}, pool)"
            ) from None

    def _memo(self, kind: str, subject: str, make: Any) -> np.ndarray:
        # Outcomes are filled once and then only read: derived arrays are kept.
        key = (kind, subject)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = make()
        return hit

    def _by_year(self, subject: str) -> FloatArray:
        """Net position each year, year-major ``(years, sims)`` (rows contiguous). [£]"""
        i = self.subject_index(subject)

        def make() -> FloatArray:
            net = np.moveaxis(self.net, 0, -1)  # (years, partners, sims)
            return net.sum(axis=1) if i is None else np.ascontiguousarray(net[:, i])

        return self._memo("by_year", subject, make)

    def total(self, subject: str) -> FloatArray:
        """Net position over the whole agreement, ``(sims,)``. [£]"""
        return self._memo("total", subject, lambda: self._by_year(subject).sum(axis=0))

    def worst_year(self, subject: str) -> FloatArray:
        """The largest single-year net position, ``(sims,)``. [£]"""
        return self._memo("worst", subject, lambda: self._by_year(subject).max(axis=0))

    def described(self, subject: str) -> dict[str, Any]:
        """:func:`riskshare.metrics.describe` of :meth:`total` (every quantile in one pass)."""
        return self._memo(
            "describe", subject, lambda: describe(self.total(subject), materiality=self.materiality)
        )

    def any_call(self, subject: str) -> BoolArray:
        """An overspend call in some year (for the pool: on some partner), ``(sims,)``."""
        i = self.subject_index(subject)

        def make() -> BoolArray:
            called = self.called.any(axis=2) if i is None else self.called[:, :, i]
            return called.any(axis=1)

        return self._memo("any_call", subject, make)

    def contributed(self, subject: str) -> float:
        """Contributions over the agreement. [£]"""
        i = self.subject_index(subject)
        return float(self.contributions.sum() if i is None else self.contributions[:, i].sum())


def _call_rates(called_any: BoolArray | SpilledArray) -> FloatArray:
    """P(a call in some year) for each partner and then for any of them, ``(partners + 1,)``.

    Counted a range of simulations at a time (the whole-agreement arrays may
    be spilled to a file); a count over ``n`` is the bits of the mean of the
    booleans.
    """
    n, n_partners = called_any.shape
    counts = np.zeros(n_partners + 1, dtype=np.int64)
    for start, stop in chunks(n):
        called = called_any[start:stop]
        counts[:-1] += np.count_nonzero(called, axis=0)
        counts[-1] += np.count_nonzero(called.any(axis=1))
    return counts / n


def _planned_exit_years(model: Model, years: int) -> IntArray:
    """Each partner's exit year by its voluntary exit or the end date, ``(partners,)``.

    ``years + 1`` where neither applies; an exit earlier than this follows
    the partner's loss limit.
    """
    out = np.full(len(model.partner_ids), years + 1)
    exit_ = model.agreement.exit
    if exit_ is not None:
        for p, pid in enumerate(model.partner_ids):
            out[p] = min(exit_.voluntary.get(pid, years + 1), exit_.end_year or years + 1)
    return out


def _agreements(terms: Terms) -> list[Agreement]:
    """The agreement of each schedule of ``terms`` (the agreement itself for one)."""
    return [part.agreement for part, _ in terms.schedules] or [terms.agreement]


#: The holdback amounts a run keeps, in order: each is the flow ``holdback_<amount>``.
HOLDBACK_AMOUNTS = ("released", "retained", "uncommissioned")


def _holdback_amounts(partner_flows: Mapping[str, Any], pool_flows: Mapping[str, Any]) -> int:
    """How many of :data:`HOLDBACK_AMOUNTS` a settlement has: 0 (no holdback), 2 or 3."""
    if "holdback_released" not in partner_flows:
        return 0
    return 3 if "holdback_uncommissioned" in pool_flows else 2


def _holdback_terms(terms: Terms) -> int:
    """How many of :data:`HOLDBACK_AMOUNTS` settling ``terms`` gives: 0, 2 or 3."""
    holdbacks = [a.holdback for a in _agreements(terms) if a.holdback is not None]
    if not holdbacks:
        return 0
    return 3 if any(hb.unreleased == "uncommission" for hb in holdbacks) else 2


def _holdback_amount(ledger: Ledger, amount: str) -> FloatArray:
    """One holdback amount each year, ``(sims, years)``, summed over partners. [£]"""
    x = ledger.flow(f"holdback_{amount}")
    return x.sum(axis=2) if x.ndim == 3 else x


def _records(terms: Terms) -> tuple[str, ...]:
    """The per-year indicators the rules of ``terms`` (every schedule's) record."""
    parts = [part for part, _ in terms.schedules] or [terms]
    names = (name for part in parts for rule in rules_for(part) for name in rule.records)
    return tuple(dict.fromkeys(names))


def _extra_names(ledger: Ledger) -> tuple[str, ...]:
    """Per-year extras worth keeping: the clause indicators the rules record (trigger, exit)."""
    core = ("variance", "reserve_exhausted", "reserve_closing", "exit_year")
    return tuple(k for k, v in ledger.extras.items() if k not in core and v.ndim == 2)


@dataclass(frozen=True)
class Table:
    """A result table as plain arrays: index columns, then value columns.

    What :meth:`Result.summary` and its siblings are built from; the command
    line writes and prints it without importing pandas.

    Attributes
    ----------
    index : dict of str to list
        Index columns in order (e.g. ``{"partner": [...], "year": [...]}``).
    columns : dict of str to ndarray
        Value columns in order, one value per row.
    """

    index: dict[str, list[Any]]
    columns: dict[str, np.ndarray]

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (index set, a MultiIndex when several)."""
        import pandas as pd

        names = list(self.index)
        if len(names) == 1:
            idx = pd.Index(self.index[names[0]], name=names[0])
        else:
            idx = pd.MultiIndex.from_arrays([self.index[k] for k in names], names=names)
        return pd.DataFrame(dict(self.columns), index=idx)

    def rows(self) -> list[list[Any]]:
        """Header, then one list per row: index values, then numbers (None for NaN)."""
        header = [*self.index, *self.columns]
        n = len(next(iter(self.index.values())))
        out: list[list[Any]] = [header]
        for i in range(n):
            values = [float(col[i]) for col in self.columns.values()]
            out.append(
                [*(v[i] for v in self.index.values()), *(None if v != v else v for v in values)]
            )
        return out

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write as CSV, UTF-8 with a byte-order mark (so Excel shows £), full precision."""
        import csv

        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            for k, row in enumerate(self.rows()):
                writer.writerow(row if k == 0 else ["" if v is None else v for v in row])


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`simulate`: per-simulation outcomes, summaries and provenance.

    Attributes
    ----------
    model : Model
        The configuration simulated (with any overrides applied).
    outcomes : Outcomes
        Per-simulation arrays: ``net`` (sims, years, partners) [£], ``called``,
        ``reserve`` (sims, years) [£], ``variance`` (sims, years) [£],
        ``exhausted``.
    seed : int
        The resolved seed.
    manifest : dict
        Provenance: versions, config digest, seed, block size, timings.
    """

    model: Model
    outcomes: Outcomes
    seed: int
    manifest: dict[str, Any] = field(default_factory=dict)
    _tables: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def table(self, name: str, basis: str | None = None) -> Table:
        """One of the result tables as plain arrays: ``summary``, ``by_year``,
        ``pool_by_year``, ``by_schedule``, ``exit_costs``, ``exits`` (with an
        exit clause), ``holdback`` (with a holdback), ``trigger`` (with a
        trigger), ``cash_calls`` (with instalments) or ``contribution_paths``.

        ``basis`` is the money basis (``nominal``, ``real``, ``present_value``;
        default the config's ``reporting.basis``). Computed once per result and
        basis (the outcomes never change).
        """
        builders = {
            "summary": lambda b: self._summary(None, b),
            "by_year": self._by_year,
            "pool_by_year": self._pool_by_year,
            "by_schedule": self._by_schedule,
            "exit_costs": self._exit_costs,
            "exits": self._exits,
            "trigger": self._trigger,
            "cash_calls": self._cash_calls,
            "holdback": self._holdback,
            "contribution_paths": self._contribution_paths,
        }
        if name not in builders:
            raise ValueError(f"unknown table {name!r} (allowed: {', '.join(builders)})")
        basis = self.basis if basis is None else basis
        if (name, basis) not in self._tables:
            self._tables[(name, basis)] = builders[name](basis)
        return self._tables[(name, basis)]

    def __repr__(self) -> str:
        return (
            f"Result({self.model.name!r}, n_sims={self.n_sims:,}, seed={self.seed}, "
            f"partners={self.partner_ids}, years={self.years[0]}..{self.years[-1]})"
        )

    def _repr_html_(self) -> str:
        """In a notebook: what was run, and the summary table."""
        import html

        head = html.escape(repr(self))
        return f"<p><code>{head}</code></p>" + self.summary().to_html(float_format="{:,.2f}".format)

    @classmethod
    def from_ledger(
        cls,
        model: Model,
        ledger: Ledger,
        *,
        seed: int = 0,
        manifest: Mapping[str, Any] | None = None,
    ) -> Result:
        """Wrap a settled ledger as a Result, so its tables and charts work on it.

        Parameters
        ----------
        model : Model
        ledger : Ledger
            From :func:`riskshare.settle`.
        seed : int
            The seed the paths were drawn with (recorded only).
        manifest : mapping, optional
        """
        return cls(
            model=model,
            outcomes=Outcomes.from_ledger(ledger, model),
            seed=int(seed),
            manifest=dict(manifest or {}),
        )

    @property
    def plot(self) -> Any:
        """Charts of this result: ``result.plot.distribution()``, ``.exceedance()``, ``.fan()``."""
        from riskshare.report.plots import PlotAccessor

        return PlotAccessor(self)

    # ------------------------------------------------------------------ arrays
    @property
    def materiality(self) -> float:
        """Amounts at or below this are not events (paying, a call, the reserve short). [£]"""
        return self.outcomes.materiality

    @property
    def partner_ids(self) -> list[str]:
        """The partner axis."""
        return self.model.partner_ids

    @property
    def n_sims(self) -> int:
        """Number of simulations."""
        return int(self.outcomes.net_total.shape[0])

    @property
    def years(self) -> list[str]:
        """Financial-year labels, e.g. ``'2026/27'``."""
        first = self.model.simulation.first_year
        return [
            f"{y}/{(y + 1) % 100:02d}" for y in range(first, first + self.outcomes.net.shape[1])
        ]

    @property
    def net(self) -> FloatArray:
        """Each partner's net position over the whole agreement, ``(sims, partners)``. [£]

        In the config's money basis (:attr:`basis`; nominal unless
        ``reporting.basis`` says otherwise). In a very large run, a read-only
        map of the file the outcomes were spilled to (:class:`Outcomes`).
        """
        return np.asarray(self._net_total(self.basis))

    def net_chunks(self, size: int) -> Iterator[tuple[int, FloatArray]]:
        """:attr:`net` ``size`` simulations at a time: ``(start, (k, partners) array)`` pairs.

        Needs memory for one range only, whether the outcomes are in memory
        (each range a view) or spilled to a file (read when its turn comes). [£]
        """
        net = self._net_total(self.basis)
        for start, stop in chunks(self.n_sims, size):
            yield start, net[start:stop]

    def net_with_pool(self) -> tuple[FloatArray, list[str]]:
        """Net positions over the agreement with the pool's (their sum) as a last column.

        Returns
        -------
        (ndarray, list of str)
            ``(sims, partners + 1)`` [£], and the column labels (partner ids, ``pool``).
        """
        net = self.net
        x = np.concatenate([net, net.sum(axis=1, keepdims=True)], axis=1)
        return x, [*self.partner_ids, "pool"]

    @property
    def net_by_year(self) -> FloatArray:
        """Each partner's net position each year, ``(kept sims, years, partners)``. [£]

        Every simulation unless the run had more than ``keep_paths`` (then the
        first ``keep_paths``). In the config's money basis, as :attr:`net`.
        """
        w = self._weights(self.basis)
        return self.outcomes.net if w is None else self.outcomes.net * w[:, None]

    @property
    def basis(self) -> str:
        """The money basis tables use by default: the config's ``reporting.basis``."""
        return self.model.reporting.basis

    @property
    def basis_note(self) -> str:
        """One sentence saying which money basis the default tables show (for reports)."""
        return self.model.reporting.describe(self.model.simulation.first_year)

    def _weights(self, basis: str) -> FloatArray | None:
        """Year weights turning nominal pounds into ``basis``; None for nominal."""
        if basis == "nominal":
            return None
        return self.model.reporting.weights(self.outcomes.net.shape[1], basis)

    def _net_total(self, basis: str) -> FloatArray | SpilledArray:
        """Whole-agreement net position ``(sims, partners)`` in ``basis``, as stored. [£]"""
        w = self._weights(basis)
        if w is None:
            return self.outcomes.net_total
        if basis == self.basis and self.outcomes.basis_total is not None:
            return self.outcomes.basis_total  # summed during the run, every simulation
        if ("net", basis) in self._tables:
            return self._tables[("net", basis)]
        if self.outcomes.net.shape[0] < self.n_sims:
            raise ValueError(
                f"a {basis} total needs every simulation's yearly outcomes; this run kept "
                f"{self.outcomes.net.shape[0]:,} of {self.n_sims:,}: set reporting.basis to "
                f"{basis!r} in the config (it is then summed during the run) or raise keep_paths"
            )
        self._tables[("net", basis)] = weighted_total(self.outcomes.net, w)
        return self._tables[("net", basis)]

    # ------------------------------------------------------------------ tables
    def _thresholds(self, thresholds: Mapping[str, float] | None) -> np.ndarray:
        th = dict(self.model.appetite)
        th.update(thresholds or {})
        return np.array([th.get(p, np.nan) for p in self.partner_ids] + [np.nan])

    def summary(
        self, thresholds: Mapping[str, float] | None = None, basis: str | None = None
    ) -> pd.DataFrame:
        if thresholds is None:
            return self.table("summary", basis).to_frame()
        return self._summary(thresholds, self.basis if basis is None else basis).to_frame()

    def _summary(self, thresholds: Mapping[str, float] | None, basis: str = "nominal") -> Table:
        """Risk measures of each partner's net position over the whole agreement.

        One row per partner and one for the pool (the sum over partners);
        positive amounts are paid beyond contributions, negative are money
        back. [£]

        Parameters
        ----------
        thresholds : mapping of partner id to float, optional
            Exposure thresholds for ``prob_exceeds`` (default: the config's
            ``appetite``), in the basis shown. [£]
        basis : {'nominal', 'real', 'present_value'}, optional
            Money basis (default: the config's ``reporting.basis``): each
            year's amount times its weight (``Reporting.weights``), then summed.

        Returns
        -------
        pandas.DataFrame
            Index ``partner``; columns ``mean, sd, p5, p50, p95, p99``, the
            95 % confidence interval of each quantile (``p5_lo, p5_hi, ...,
            p99_hi``: order statistics, distribution-free), ``var95, tvar95,
            var99, tvar99, prob_pays, prob_call_any_year, prob_pays_se,
            mean_se`` and, where a threshold is set, ``threshold,
            prob_exceeds, prob_exceeds_se``.
        """
        th = self._thresholds(thresholds)
        stats = describe(  # partners and the pool
            self._net_total(basis),
            thresholds=th,
            total=True,
            materiality=self.outcomes.materiality,
        )
        for key in ("prob_exceeds", "prob_exceeds_se"):
            stats[key] = np.where(np.isnan(th), np.nan, stats[key])
        any_call = _call_rates(self.outcomes.called_any)
        columns: dict[str, np.ndarray] = {}
        for key, value in stats.items():
            if key == "prob_pays_se":
                columns["prob_call_any_year"] = any_call
            columns[key] = np.asarray(value, dtype=float)
        if np.all(np.isnan(th)):
            for key in ("threshold", "prob_exceeds", "prob_exceeds_se"):
                columns.pop(key)
        return Table({"partner": [*self.partner_ids, "pool"]}, columns)

    def by_year(self, basis: str | None = None) -> pd.DataFrame:
        return self.table("by_year", basis).to_frame()

    def _by_year(self, basis: str = "nominal") -> Table:
        """Risk measures of each partner's net position in each year.

        ``basis``: money basis, as :meth:`summary` (default the config's).

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(partner, year)``; the columns of :meth:`summary`
            without thresholds, plus ``prob_call`` (P(an overspend call that
            year)). [£]
        """
        net = self.outcomes.net
        w = self._weights(basis)
        if w is not None:
            net = net * w[:, None]
        n, _years, _n_partners = net.shape
        # Partners and the pool (their sum) each year, (years, partners + 1):
        # net is stored year-major, so no row is copied.
        described = describe(net, total=True, materiality=self.outcomes.materiality)
        # Rows partner by partner (then the pool), each with its years in order.
        stats = {key: value.T.ravel() for key, value in described.items()}
        called = np.moveaxis(self.outcomes.called, 0, -1)  # (years, partners, sims)
        calls = [np.count_nonzero(called, axis=-1), np.count_nonzero(called.any(axis=1), axis=-1)]
        stats["prob_call"] = (np.column_stack(calls) / n).T.ravel()
        subjects = [*self.partner_ids, "pool"]
        index = {
            "partner": [p for p in subjects for _ in self.years],
            "year": [y for _ in subjects for y in self.years],
        }
        return Table(index, stats)

    def pool_by_year(self, basis: str | None = None) -> pd.DataFrame:
        return self.table("pool_by_year", basis).to_frame()

    def exit_costs(self) -> pd.DataFrame:
        return self.table("exit_costs", "nominal").to_frame()

    def _exit_costs(self, basis: str = "nominal") -> Table:
        """The distribution of each partner's exit costs over the agreement (``exit.costs``).

        Returns
        -------
        pandas.DataFrame
            Index ``partner`` (and ``pool``, the total); the columns of
            :meth:`summary` without thresholds: what redundancy, stranded
            contracts and double running cost each partner, paid outside the
            pool (all zero without exit costs). Nominal pounds whatever
            ``basis`` (the totals are kept, not the years). [£]
        """
        x = self.outcomes.exit_cost_total
        x = np.zeros((self.n_sims, len(self.partner_ids))) if x is None else x
        return Table({"partner": [*self.partner_ids, "pool"]}, self._with_pool(x))

    def holdback(self) -> pd.DataFrame:
        return self.table("holdback", "nominal").to_frame()

    def _holdback(self, basis: str = "nominal") -> Table:
        """The distribution of the holdback released and retained, each year and in total.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(amount, year)``: ``amount`` is ``released`` (to the
            pool), ``retained`` (paid to the holding partner's acute provider)
            and, with ``unreleased: uncommission``, ``uncommissioned`` (spend
            on the schemes not commissioned); ``year`` each year, then
            ``total`` (over the agreement, every simulation; the years from
            the simulations kept). The columns of :meth:`summary` without
            thresholds (``prob_pays``: the chance the amount is more than the
            materiality, e.g. that anything is released). Summed over partners
            and schedules; empty without a holdback. Nominal pounds whatever
            ``basis``. [£]
        """
        o = self.outcomes
        if o.holdback_total is None:
            return Table({"amount": [], "year": []}, {})
        amounts = HOLDBACK_AMOUNTS[: o.holdback_total.shape[1]]
        years = list(self.years)
        per_year = np.moveaxis(o.holdback_years, 2, 1)  # (keep, amounts, years)
        yearly = describe(per_year.reshape(per_year.shape[0], -1), materiality=o.materiality)
        total = describe(o.holdback_total, materiality=o.materiality)
        columns = {}
        for key, value in yearly.items():
            y = np.asarray(value, dtype=float).reshape(len(amounts), len(years))
            t = np.asarray(total[key], dtype=float)[:, None]
            columns[key] = np.concatenate([y, t], axis=1).ravel()
        index = {
            "amount": [a for a in amounts for _ in range(len(years) + 1)],
            "year": [y for _ in amounts for y in [*years, "total"]],
        }
        return Table(index, columns)

    def contribution_paths(self, basis: str | None = None) -> pd.DataFrame:
        return self.table("contribution_paths", basis).to_frame()

    def _contribution_paths(self, basis: str = "nominal") -> Table:
        """The distribution of each partner's contribution in each year.

        ``basis``: money basis, as :meth:`summary` (default the config's).
        Contributions re-set each year (``rebased``, ``outturn``) differ per
        simulation (the kept ones, as :meth:`by_year`); fixed ones are the
        same in every simulation, so their distribution is one point.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(partner, year)``, the partners' total (``pool``)
            too; ``planned`` (the path with no recurrent variance, or with the
            expected outturn: ``Model.contribution_schedule()``), ``mean``,
            ``sd``, ``p5``, ``p50``, ``p95``, ``min`` and ``max``. [£]
        """
        paths = self.outcomes.contribution_paths
        planned = self.model.contribution_schedule()  # (years, partners)
        if paths is None:
            paths = planned[None]
        x = np.concatenate([paths, paths.sum(axis=2, keepdims=True)], axis=2)
        planned = np.concatenate([planned, planned.sum(axis=1, keepdims=True)], axis=1)
        q = quantiles(x, {"min": 0.0, "p5": 0.05, "p50": 0.5, "p95": 0.95, "max": 1.0})
        xt = np.moveaxis(x, 0, -1)  # (years, partners + 1, sims)
        stats = {
            "planned": planned,
            "mean": xt.mean(axis=-1),
            "sd": xt.std(axis=-1, ddof=1) if x.shape[0] > 1 else np.zeros(planned.shape),
            **{k: q[k] for k in ("p5", "p50", "p95", "min", "max")},
        }
        w = self._weights(basis)
        if w is not None:  # positive year weights scale every amount and quantile
            stats = {k: v * w[:, None] for k, v in stats.items()}
        subjects = [*self.partner_ids, "pool"]
        index = {
            "partner": [p for p in subjects for _ in self.years],
            "year": [y for _ in subjects for y in self.years],
        }
        return Table(index, {k: v.T.ravel() for k, v in stats.items()})

    def exits(self) -> pd.DataFrame:
        return self.table("exits", "nominal").to_frame()

    def _exits(self, basis: str = "nominal") -> Table:
        """The chance of each partner's exit (``exit``) taking effect by each year.

        An exit takes effect at the start of a year (``docs/rules.md``, 12).
        Chances over every simulation; no money, so ``basis`` does not apply.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(partner, year)``; ``prob_exit``: its exit takes
            effect at the start of that year (over the years, the distribution
            of its exit year), ``prob_exited``: it has left by that year (that
            year or before), each with its standard error (``_se``);
            ``prob_loss_limit_exit`` and ``prob_loss_limit_exited``: the same
            for an exit that follows its loss limit (``exit.limits``, notice
            given), earlier than any voluntary exit or end date. All zero
            without an exit clause.
        """
        n_years, n = len(self.years), self.n_sims
        ids = self.partner_ids
        exit_year = self.outcomes.exit_year
        planned = _planned_exit_years(self.model, n_years)
        # Exits per partner and year, of any kind and by the loss limit; the last bin
        # collects "not within the agreement". A range of simulations at a time (the
        # exit years may be spilled to a file).
        counts = np.zeros((2, len(ids), n_years + 1), dtype=np.int64)
        for start, stop in chunks(n) if exit_year is not None else ():
            years = np.minimum(exit_year[start:stop], n_years)
            for p in range(len(ids)):
                year = years[:, p]
                counts[0, p] += np.bincount(year, minlength=n_years + 1)
                counts[1, p] += np.bincount(year[year < planned[p]], minlength=n_years + 1)
        prob, limit = counts[:, :, :n_years] / n  # (partners, years) each
        by = np.cumsum(prob, axis=1)
        return Table(
            {"partner": [p for p in ids for _ in self.years], "year": list(self.years) * len(ids)},
            {
                "prob_exit": prob.ravel(),
                "prob_exit_se": np.sqrt(prob * (1 - prob) / n).ravel(),
                "prob_exited": by.ravel(),
                "prob_exited_se": np.sqrt(by * (1 - by) / n).ravel(),
                "prob_loss_limit_exit": limit.ravel(),
                "prob_loss_limit_exited": np.cumsum(limit, axis=1).ravel(),
            },
        )

    def by_schedule(self) -> pd.DataFrame:
        return self.table("by_schedule", "nominal").to_frame()

    def _by_schedule(self, basis: str = "nominal") -> Table:
        """Risk measures of each partner's net position over the agreement in each schedule.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(schedule, partner)``, a row for each schedule's pool
            (``partner`` ``pool``) too; the columns of :meth:`summary` without
            thresholds. A one-schedule agreement has one schedule,
            ``agreement``, equal to the summary in nominal pounds. Nominal
            pounds whatever ``basis`` (the schedules' totals are kept, not
            their years). [£]
        """
        total = self.outcomes.schedule_total
        ids = [s.id for s in self.model.schedules()]
        x = self._net_total("nominal") if total is None else total  # (sims, [k,] partners)
        subjects = [*self.partner_ids, "pool"]
        index = {
            "schedule": [s for s in ids for _ in subjects],
            "partner": [p for _ in ids for p in subjects],
        }
        return Table(index, self._with_pool(x))

    def trigger(self, basis: str | None = None) -> pd.DataFrame:
        return self.table("trigger", basis).to_frame()

    def _trigger(self, basis: str = "nominal") -> Table:
        """Management action each year (``agreement.trigger``) and, on a forecast, its quality.

        Action is *needed* when the outturn without action is past the
        trigger's threshold (``V0 > threshold · B``). With several schedules,
        a year counts where it does in any schedule and the errors are summed.
        ``basis``: money basis of the forecast errors, as :meth:`summary`.

        Returns
        -------
        pandas.DataFrame
            Index ``year``; ``prob_action`` (P(action taken)) with its standard
            error; with ``on: forecast`` also ``prob_needed``,
            ``prob_false_alarm`` (P(taken and not needed)), ``prob_missed``
            (P(not taken and needed)), ``false_alarm_rate`` (P(taken | not
            needed)) and ``miss_rate`` (P(not taken | needed); NaN when the
            condition never happens), and the distribution of the forecast
            error at the trigger month, outturn minus forecast:
            ``forecast_error_mean``, ``_sd``, ``_p5``, ``_p50``, ``_p95``. [£]

        Raises
        ------
        ValueError
            Without a trigger.
        """
        extras = self.outcomes.extras
        if "trigger_fired" not in extras:
            raise ValueError("no management action to report: the agreement has no 'trigger'")
        fired = extras["trigger_fired"] > 0.5
        n = fired.shape[0]
        p = fired.mean(axis=0)
        cols: dict[str, np.ndarray] = {"prob_action": p, "prob_action_se": np.sqrt(p * (1 - p) / n)}
        if "trigger_needed" in extras:
            needed = extras["trigger_needed"] > 0.5
            false_alarm, missed = fired & ~needed, ~fired & needed
            with np.errstate(invalid="ignore", divide="ignore"):
                cols.update(
                    prob_needed=needed.mean(axis=0),
                    prob_false_alarm=false_alarm.mean(axis=0),
                    prob_missed=missed.mean(axis=0),
                    false_alarm_rate=false_alarm.sum(axis=0) / (~needed).sum(axis=0),
                    miss_rate=missed.sum(axis=0) / needed.sum(axis=0),
                )
            cols.update(self._money_distribution(extras["forecast_error"], basis, "forecast_error"))
        return Table({"year": list(self.years)}, cols)

    def cash_calls(self, basis: str | None = None) -> pd.DataFrame:
        return self.table("cash_calls", basis).to_frame()

    def _cash_calls(self, basis: str = "nominal") -> Table:
        """In-year cash calls each quarter (``agreement.instalments``), beside the year end.

        A quarter's call is the most the pool is short at a month end of the
        quarter (spend accrued less instalments received): the cash that must
        be found in-year. Each partner's rows are its part of the calls, by the
        agreement's ``instalments.cash_key`` (by default the host finds them
        all), and its net position that year in the ``year end`` row; the
        ``pool`` rows are the pool's calls and the partners' net position
        together. ``basis``: money basis, as :meth:`summary`.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(partner, year, quarter)``, the partners then
            ``pool``, quarters ``Q1`` .. ``Q4`` and ``year end``; ``mean``,
            ``sd``, ``p50``, ``p90``, ``p95``, ``p99`` [£] and ``prob_call``
            (P(more than the materiality)) with its standard error.

        Raises
        ------
        ValueError
            Without instalments.
        """
        extras = self.outcomes.extras
        if QUARTERS[0] not in extras:
            raise ValueError("no in-year cash to report: the agreement has no 'instalments'")
        net = self.outcomes.net  # (sims, years, partners)
        names = [[partner_quarter(q, p) for q in QUARTERS] for p in self.partner_ids]
        ends = [*np.moveaxis(net, 2, 0), net.sum(axis=2)]
        x = np.stack(
            [
                np.stack([*(extras[name] for name in quarters), end], axis=2)
                for quarters, end in zip([*names, QUARTERS], ends, strict=True)
            ],
            axis=1,
        )  # (sims, partners and pool, years, 5): quarters then the year end, year by year
        w = self._weights(basis)
        if w is not None:
            x = x * w[None, None, :, None]
        x = x.reshape(x.shape[0], -1)
        n = x.shape[0]
        called = (x > self.materiality).mean(axis=0)
        stats = quantiles(x, {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99})
        labels = ["Q1", "Q2", "Q3", "Q4", "year end"]
        subjects = [*self.partner_ids, "pool"]
        return Table(
            {
                "partner": [p for p in subjects for _ in self.years for _ in labels],
                "year": [y for _ in subjects for y in self.years for _ in labels],
                "quarter": [q for _ in subjects for _ in self.years for q in labels],
            },
            {
                "mean": x.mean(axis=0),
                "sd": x.std(axis=0),
                **stats,
                "prob_call": called,
                "prob_call_se": np.sqrt(called * (1 - called) / n),
            },
        )

    def _money_distribution(self, x: FloatArray, basis: str, name: str) -> dict[str, FloatArray]:
        """Mean, s.d., P5, P50 and P95 of ``(sims, years)`` amounts, each ``{name}_...``. [£]"""
        w = self._weights(basis)
        if w is not None:
            x = x * w
        q = quantiles(x, {"p5": 0.05, "p50": 0.5, "p95": 0.95})
        return {
            f"{name}_mean": x.mean(axis=0),
            f"{name}_sd": x.std(axis=0),
            **{f"{name}_{k}": v for k, v in q.items()},
        }

    def _with_pool(self, x: FloatArray | SpilledArray) -> dict[str, FloatArray]:
        """Risk measures of ``(sims, [k,] partners)`` amounts, each ``k`` with its sum (the pool).

        One row per ``k`` and partner and then its pool, ``k`` after ``k``.
        """
        stats = describe(x, total=True, materiality=self.outcomes.materiality)
        return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in stats.items()}

    def _pool_by_year(self, basis: str = "nominal") -> Table:
        """The pool each year: overspend and reserve.

        ``basis``: money basis of the amounts, as :meth:`summary` (default the config's).

        Returns
        -------
        pandas.DataFrame
            Index ``year``; ``prob_overspend`` (spend above budget),
            ``prob_reserve_exhausted`` (an overspend larger than the reserve
            that year), ``prob_reserve_exhausted_by`` (in that year or
            before), ``variance_mean`` [£], and the reserve balance at year end:
            ``reserve_mean``, ``reserve_p5``, ``reserve_p50``, ``reserve_p95``
            [£], each probability with its standard error.
        """
        o = self.outcomes
        n = o.variance.shape[0]
        # Counts over n: the bits of the booleans' means, without a float copy.
        p_over = np.count_nonzero(o.variance > 0, axis=0) / n
        p_ex = np.count_nonzero(o.exhausted, axis=0) / n
        # Exhausted in that year or before: the years' rows or-ed in turn, whole
        # rows at a time (logical_or.accumulate walks each simulation alone).
        exhausted_by = np.zeros(n, dtype=bool)
        p_ex_by = np.empty(len(p_ex))
        for t, row in enumerate(np.moveaxis(o.exhausted, 0, -1)):
            np.logical_or(exhausted_by, row, out=exhausted_by)
            p_ex_by[t] = np.count_nonzero(exhausted_by) / n
        # Quantiles as numpy.quantile (one pass over each year's row, on threads).
        reserve = quantiles(o.reserve, {"p5": 0.05, "p50": 0.5, "p95": 0.95})
        variance_mean = o.variance.mean(axis=0)
        reserve_mean = np.moveaxis(o.reserve, 0, -1).mean(axis=-1)
        w = self._weights(basis)
        if w is not None:  # positive year weights scale every amount and quantile
            variance_mean, reserve_mean = variance_mean * w, reserve_mean * w
            reserve = {k: v * w for k, v in reserve.items()}
        return Table(
            {"year": list(self.years)},
            {
                "prob_overspend": p_over,
                "prob_overspend_se": np.sqrt(p_over * (1 - p_over) / n),
                "prob_reserve_exhausted": p_ex,
                "prob_reserve_exhausted_by": p_ex_by,
                "prob_reserve_exhausted_by_se": np.sqrt(p_ex_by * (1 - p_ex_by) / n),
                "variance_mean": variance_mean,
                "reserve_mean": reserve_mean,
                "reserve_p5": reserve["p5"],
                "reserve_p50": reserve["p50"],
                "reserve_p95": reserve["p95"],
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table of every measure: ``partner, year, measure, value``.

        ``year`` is ``'total'`` for the whole agreement.
        """
        import pandas as pd

        total = self.summary().reset_index().melt(id_vars="partner", var_name="measure")
        total.insert(1, "year", "total")
        yearly = self.by_year().reset_index().melt(id_vars=["partner", "year"], var_name="measure")
        pool = self.pool_by_year().reset_index().melt(id_vars="year", var_name="measure")
        pool.insert(0, "partner", "pool")
        return pd.concat([total, yearly, pool], ignore_index=True)

    def per_simulation(self) -> pd.DataFrame:
        """One row per simulation, one column per partner's whole-agreement net position. [£]"""
        import pandas as pd

        frame = pd.DataFrame(self.net, columns=self.partner_ids)
        frame.index.name = "sim"
        return frame


for _public, _private in (
    ("summary", "_summary"),
    ("by_year", "_by_year"),
    ("pool_by_year", "_pool_by_year"),
    ("by_schedule", "_by_schedule"),
    ("exit_costs", "_exit_costs"),
    ("exits", "_exits"),
    ("trigger", "_trigger"),
    ("cash_calls", "_cash_calls"),
    ("holdback", "_holdback"),
):
    getattr(Result, _public).__doc__ = getattr(Result, _private).__doc__


def simulate(
    model: Model,
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    agreement: Agreement | None = None,
    contributions: FloatArray | None = None,
    chunk_blocks: int = 1,
    workers: int | None = None,
    block_size: int = BLOCK_SIZE,
    progress: ProgressCallback | bool | None = None,
    check: bool = True,
    keep_paths: int = 1 << 20,
    spill_above: int = SPILL_ABOVE,
) -> Result:
    """Simulate spend and settle the agreement: each partner's exposure.

    Parameters
    ----------
    model : Model
        A validated configuration (:func:`riskshare.load_config`).
    n_sims : int, optional
        Number of simulations (default ``model.simulation.n_sims``).
    seed : int, optional
        Seed (default ``model.simulation.seed``; if both are None one is
        drawn and recorded).
    agreement : Agreement, optional
        Settle this agreement instead of the model's.
    contributions : ndarray, optional
        ``(years, partners)`` contributions instead of the model's. [£]
    chunk_blocks : int
        Blocks sampled and settled at once (memory per chunk is about
        ``chunk_blocks * block_size * years * groups * 24`` bytes). Does not
        change the numbers.
    workers : int, optional
        Threads working on chunks at once (default: the CPU count, at most 4).
        Does not change the numbers.
    block_size : int
        Simulations per random-number block (part of the seed contract).
    progress : callable or bool, optional
        Called as ``progress(done_sims, n_sims)`` after each chunk; ``True``
        shows a ``tqdm.auto`` bar (a widget in a notebook, text in a terminal).
    check : bool
        Check the ledger balances in every simulated year.
    keep_paths : int
        Keep per-year outcomes for at most this many simulations (the first
        ones); whole-agreement outcomes are kept for all. Bounds memory on
        very large runs.
    spill_above : int
        With more simulations than this, the whole-agreement outcomes go to
        an anonymous temporary file (in ``TMPDIR``; removed when the result
        is, or the process ends, however it ends) instead of memory, so
        memory does not grow with the number of simulations. Does not change
        the numbers.

    Returns
    -------
    Result

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/benchmark.yaml")
    >>> result = rs.simulate(model, n_sims=2000, seed=7)
    >>> list(result.summary().index)
    ['nhs', 'council', 'pool']
    """
    t_start = time.perf_counter()
    if progress is True:
        from tqdm.auto import tqdm

        with tqdm(total=0, unit="sim", unit_scale=True, leave=False) as bar:

            def update(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            return simulate(
                model,
                n_sims,
                seed,
                agreement=agreement,
                contributions=contributions,
                chunk_blocks=chunk_blocks,
                workers=workers,
                block_size=block_size,
                progress=update,
                check=check,
                keep_paths=keep_paths,
                spill_above=spill_above,
            )
    progress = progress or None
    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    if n_sims < 1:
        raise ValueError(f"n_sims must be >= 1, got {n_sims}")
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if chunk_blocks < 1 or workers < 1:
        raise ValueError("chunk_blocks and workers must be >= 1")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    # What is settled is what is recorded (Result.model, config.json, its digest).
    if agreement is not None:
        model = with_agreement(model, agreement)
    if contributions is not None:
        model = with_contributions(model, contributions)
    terms = Terms.from_model(model)
    years = model.simulation.years
    keep = min(n_sims, int(keep_paths))
    outcomes = Outcomes.empty(
        n_sims,
        keep,
        years,
        len(model.partners),
        _records(terms),
        materiality=model.simulation.materiality,
        partner_ids=terms.partner_ids,
        contributions=terms.contributions,
        appetite=model.appetite,
        n_schedules=len(terms.schedules) or 1,
        exit_costs=any(a.exit is not None and a.exit.costs for a in _agreements(terms)),
        holdback=_holdback_terms(terms),
        exits=any(a.exit is not None for a in _agreements(terms)),
        basis_weights=None
        if model.reporting.basis == "nominal"
        else model.reporting.weights(years),
        spill=n_sims > spill_above,
        contributions_vary=terms.reset is not None,
    )
    timings = settle_blocks(
        model,
        seed,
        n_sims,
        [(terms, outcomes)],
        block_size=block_size,
        chunk_blocks=chunk_blocks,
        workers=workers,
        progress=progress,
        check=check,
    )
    elapsed = time.perf_counter() - t_start
    manifest = build_manifest(
        model,
        seed=seed,
        n_sims=n_sims,
        block_size=block_size,
        chunk_blocks=chunk_blocks,
        workers=workers,
        keep_paths=keep,
        timings={"simulate_s": elapsed, **{f"{k}_s": v for k, v in timings.items()}},
    )
    return Result(model=model, outcomes=outcomes, seed=seed, manifest=manifest)


def settle_blocks(
    model: Model,
    seed: int,
    n_sims: int,
    settlements: Sequence[tuple[Terms, Outcomes]],
    *,
    block_size: int = BLOCK_SIZE,
    chunk_blocks: int = 1,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    check: bool = True,
) -> dict[str, float]:
    """Sample ``model``'s spend chunk by chunk and settle each of ``settlements`` on every chunk.

    The one sample-then-settle loop (:func:`simulate`, comparisons). A chunk
    is ``chunk_blocks`` blocks of ``block_size`` simulations; chunks run on
    ``workers`` threads. Every ``(terms, outcomes)`` pair is settled on the
    same draws (common random numbers) and stored into its outcomes. The
    numbers do not depend on the chunking or the threads.

    Returns
    -------
    dict of str to float
        Seconds spent sampling (``sample``) and settling (``settle``), summed
        over threads.
    """
    blocks = n_blocks(n_sims, block_size)
    chunks = [range(b, min(b + chunk_blocks, blocks)) for b in range(0, blocks, chunk_blocks)]
    timings = {"sample": 0.0, "settle": 0.0}

    def run_chunk(chunk: range) -> int:
        t0 = time.perf_counter()
        parts = [sample_block(model, seed, b, block_size=block_size) for b in chunk]
        start = chunk.start * block_size
        stop = min(chunk.stop * block_size, n_sims)
        paths = SpendPaths.concatenate(parts, stop - start)
        t1 = time.perf_counter()
        for terms, outcomes in settlements:
            for sl, ledger in iter_settle(terms, paths, check=check):
                outcomes.store(ledger, start + sl.start)
        t2 = time.perf_counter()
        timings["sample"] += t1 - t0
        timings["settle"] += t2 - t1
        return stop - start

    done = 0
    if workers == 1:
        for chunk in chunks:
            done += run_chunk(chunk)
            if progress is not None:
                progress(done, n_sims)
    else:
        with thread_pool(workers) as pool:  # Ctrl-C drops the queued chunks
            for k in pool.map(run_chunk, chunks):
                done += k
                if progress is not None:
                    progress(done, n_sims)
    return timings


def build_manifest(model: Model, **fields: Any) -> dict[str, Any]:
    """Provenance of a run: versions, config digest, seed, settings, timings."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {
        "schema_version": MANIFEST_SCHEMA,
        "software": {
            "riskshare": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": installed("scipy"),
            "pandas": installed("pandas"),
            "pydantic": installed("pydantic"),
        },
        "platform": platform.platform(),
        "config_sha256": config_digest(model),
        "config": model.model_dump(mode="json"),
        **fields,
    }
