"""Spend paths from a validated :class:`~riskshare.config.model.Model`.

Simulations are drawn in blocks of ``block_size`` (``streams.BLOCK_SIZE`` by
default). Block ``b`` holds simulations ``b * block_size .. (b + 1) *
block_size - 1`` and every stream it uses is ``block_rng(seed, b, name)``, so
simulation ``i`` depends only on ``(seed, model, block_size)``: never on
``n_sims``, on how many blocks are drawn at once, or on the thread drawing
them. Each block always makes the same calls with the same sizes (the full
block) and is truncated afterwards.

Streams used by block ``b`` (names are stable: adding a group leaves the
others' numbers unchanged):

* ``group:{id}``: client counts, cost normals (when not correlated), gamma
  draws, persistent-stock thinning, aggregate draws;
* ``group:{id}:highcost``: high-cost placements;
* ``group:{id}:charging``: charging-income noise;
* ``group:{id}:cases``: the partners' shares of a group with case splits
  (``ClientGroup.cases``), drawn only when set;
* ``group:{id}:volume``, ``group:{id}:cost``: the persistent shocks to a
  clients group's volume rate and unit-cost level (``clients.shock``,
  ``cost.shock``), ``years * size`` normals each, drawn only when set;
* ``params:{id}:{name}``: uncertain rates (``growth``, ``inflation``,
  ``highcost_growth``, ``highcost_inflation``), one per simulation;
* ``shock:{id}``: common shocks;
* ``correlation``: the normals of the Gaussian copula;
* ``metric:{id}``: performance metric ``id`` (``Model.performance``), one
  normal per simulation and year (its own normal ε; a metric in
  ``correlation.metrics`` mixes it with the copula's normals of the groups);
* ``savings``: integration savings (``Model.integration_savings``), one
  uniform (none or some) and one normal (how much) per simulation;
* ``forecast``: the Brownian bridge of a trigger acting on a forecast
  (``agreement.trigger.on: forecast``), one normal per simulation and year,
  drawn only then (so every other draw is the same with or without it).

The order of operations for one group and year is: core spend (clients,
aggregate or fixed) → step changes → + high-cost placements → x common shocks
→ charging income (a share of that gross spend, capped at it); a group with
case splits then draws each partner's share of that spend from its count of
cases. Savings do not depend on spend; a metric does only through
``correlation.metrics``.

Only what the model needs is allocated: without charging, ``income`` is a
read-only broadcast view of zeros (:func:`zeros_view`); without integration
savings, so is ``savings``; without performance metrics, ``metrics`` is empty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from riskshare._types import FloatArray, IntArray
from riskshare.config.model import (
    AggregateSpend,
    ClientGroup,
    ClientsSpend,
    FixedSpend,
    HighCost,
    Model,
    PersistentShock,
    Uncertain,
)
from riskshare.paths import SpendPaths
from riskshare.sampling import draws
from riskshare.streams import BLOCK_SIZE, block_rng, n_blocks

__all__ = ["sample", "sample_block"]


# ----------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _ClientsPlan:
    """Tables for a clients group, built once per model.

    ``count_tables[t]`` is the alias table of the count drawn in year ``t``
    (the clients, or for a persistent stock after year 0 the entrants) when
    its mean is the same in every simulation, else None. ``compound_tables[t]``
    is the shifted-lognormal table over the same range, with ``cost_level[t]``
    folded in. ``cost_level[t]`` is the mean cost of one client M_t times the
    step-change factor (fresh clients), or M_t alone (persistent stock, whose
    total is tracked before step changes) when inflation is certain, and the
    step factor (or 1) when M_t is drawn per simulation.
    """

    spec: ClientsSpend
    count_means: FloatArray
    count_tables: tuple[draws.AliasTable | None, ...]
    compound_tables: tuple[draws.CompoundTable | None, ...]
    cost_level: FloatArray


@dataclass(frozen=True)
class _CasesPlan:
    """A group's case splits over the partner axis (``ClientGroup.cases``).

    ``concentration`` with ``mean`` (the commissioners' shares) for a
    Dirichlet split, else ``splits`` (rows, partners) with ``probabilities``;
    ``cv`` is one case's cost CV (0 for an aggregate or fixed group, whose
    year is one case), ``placement_cv`` a high-cost placement's (a Pareto
    placement's CV from its shape, capped at :data:`MAX_PLACEMENT_CV`).
    """

    mean: FloatArray
    concentration: float | None
    splits: FloatArray | None
    probabilities: FloatArray | None
    cv: float
    placement_cv: float = 0.0


@dataclass(frozen=True)
class _GroupPlan:
    group: ClientGroup
    steps: FloatArray
    clients: _ClientsPlan | None
    shocks: tuple[int, ...]
    copula_slot: int | None
    cases: _CasesPlan | None = None


@dataclass(frozen=True)
class _SavingsPlan:
    """Integration savings: ``level[t] * U`` with ``level = amount * ramp[:years]``. [£]"""

    level: FloatArray
    probability_none: float
    cv: float


@dataclass(frozen=True)
class _MetricCopula:
    """Metrics in the copula: normal = ``loadings @ Z + own @ ε`` (:func:`draws.metric_loadings`).

    ``rows[j]`` is the position in ``_Plan.metrics`` of the j-th correlated metric.
    """

    rows: tuple[int, ...]
    loadings: FloatArray
    own: FloatArray


@dataclass(frozen=True)
class _Plan:
    years: int
    group_ids: tuple[str, ...]
    groups: tuple[_GroupPlan, ...]
    shocks: tuple[tuple[str, float, float], ...]  # (id, s, persistence φ)
    copula: FloatArray | None = field(default=None)
    metrics: tuple[tuple[str, float, float], ...] = ()
    savings: _SavingsPlan | None = None
    forecast: bool = False
    n_partners: int = 0
    metric_copula: _MetricCopula | None = None

    @property
    def has_charging(self) -> bool:
        """Whether any group has charging income (else income is all zeros)."""
        return any(gp.group.charging is not None for gp in self.groups)


def _rate_mean(rate: float | Uncertain) -> float:
    return rate.mean if isinstance(rate, Uncertain) else float(rate)


def _step_factors(group: ClientGroup, years: int) -> FloatArray:
    steps = np.ones(years)
    t = np.arange(years)
    for sc in group.step_changes:
        steps[t >= sc.year] *= sc.factor
    return steps


def _clients_plan(spec: ClientsSpend, steps: FloatArray, years: int) -> _ClientsPlan:
    counts, cost = spec.clients, spec.cost
    t = np.arange(years)
    growth = _rate_mean(counts.growth)
    means = counts.mean * (1.0 + growth) ** t
    persistent = counts.exit_rate is not None
    if persistent:
        entrants = means[1:] - (1.0 - counts.exit_rate) * means[:-1]
        if not isinstance(counts.growth, Uncertain) and np.any(entrants < 0):
            raise ValueError(
                f"clients.growth ({growth:g}) must be >= -clients.exit_rate "
                f"({counts.exit_rate:g}): the expected number of entrants would be negative"
            )
        means = np.concatenate([means[:1], entrants])
    certain_counts = not isinstance(counts.growth, Uncertain)
    certain_cost = not isinstance(cost.inflation, Uncertain)
    mean_cost = cost.mean * (1.0 + _rate_mean(cost.inflation)) ** t
    level = (mean_cost if certain_cost else np.ones(years)) * (1.0 if persistent else steps)
    count_tables: list[draws.AliasTable | None] = []
    compound_tables: list[draws.CompoundTable | None] = []
    for year in range(years):
        table = None
        if (year == 0 or certain_counts) and counts.shock is None:
            table = draws.count_table(float(means[year]), counts.dispersion)
        count_tables.append(table)
        compound = None
        if table is not None and cost.distribution == "lognormal":
            compound = draws.compound_table(table.counts, cost.cv, float(level[year]))
        compound_tables.append(compound)
    return _ClientsPlan(spec, means, tuple(count_tables), tuple(compound_tables), level)


def _cases_plan(model: Model, group: ClientGroup) -> _CasesPlan | None:
    """The case-split plan of ``group`` over ``model``'s partners, or None without."""
    cases = group.cases
    if cases is None:
        return None
    pidx = {p: i for i, p in enumerate(model.partner_ids)}
    mean = np.zeros(len(pidx))
    for pid, share in group.commissioner_shares.items():
        mean[pidx[pid]] = share
    cv = float(group.spend.cost.cv) if isinstance(group.spend, ClientsSpend) else 0.0
    placement_cv = _placement_cv(group.high_cost) if group.high_cost is not None else 0.0
    if cases.table is None:
        return _CasesPlan(mean, float(cases.concentration), None, None, cv, placement_cv)
    splits = np.zeros((len(cases.table), len(pidx)))
    for k, row in enumerate(cases.table):
        for pid, share in row.shares.items():
            splits[k, pidx[pid]] = share
    probabilities = np.array([row.probability for row in cases.table])
    return _CasesPlan(mean, None, splits, probabilities / probabilities.sum(), cv, placement_cv)


#: The CV taken for high-cost placements whose cost has infinite variance (Pareto
#: shape α ≤ 2) or nearly: one placement then takes almost all of a year's cost.
MAX_PLACEMENT_CV = 1000.0


def _placement_cv(hc: HighCost) -> float:
    """A high-cost placement's cost CV: lognormal as given, Pareto ``1/√(α(α − 2))``."""
    if hc.distribution == "lognormal":
        return float(hc.cv)
    alpha = hc.mean / (hc.mean - hc.minimum)
    if alpha <= 2.0:
        return MAX_PLACEMENT_CV
    return min(1.0 / np.sqrt(alpha * (alpha - 2.0)), MAX_PLACEMENT_CV)


def _build_plan(model: Model) -> _Plan:
    years = model.simulation.years
    group_ids = tuple(model.group_ids)
    shocks = tuple((s.id, float(s.cv), float(s.persistence)) for s in model.common_shocks)
    copula = None
    slots: dict[str, int] = {}
    metric_copula = None
    if model.correlation is not None:
        corr = model.correlation
        k = len(corr.groups)
        matrix = np.asarray(corr.matrix, dtype=np.float64)
        copula = draws.correlation_factor(matrix[:k, :k])
        slots = {gid: i for i, gid in enumerate(corr.groups)}
        if corr.metrics:
            loadings, own = draws.metric_loadings(matrix, k, copula)
            order = [m.id for m in model.performance]
            rows = tuple(order.index(mid) for mid in corr.metrics)
            metric_copula = _MetricCopula(rows, loadings, own)
    groups = []
    for group in model.client_groups:
        steps = _step_factors(group, years)
        clients = None
        if isinstance(group.spend, ClientsSpend):
            clients = _clients_plan(group.spend, steps, years)
        group_shocks = tuple(
            k
            for k, s in enumerate(model.common_shocks)
            if s.groups == "all" or group.id in s.groups
        )
        groups.append(
            _GroupPlan(
                group,
                steps,
                clients,
                group_shocks,
                slots.get(group.id),
                _cases_plan(model, group),
            )
        )
    metrics = tuple((m.id, float(m.mean), float(m.sd)) for m in model.performance)
    savings = None
    if model.integration_savings is not None:
        spec = model.integration_savings
        level = spec.amount * np.asarray(spec.ramp[:years], dtype=np.float64)
        if level.size != years:
            raise ValueError(
                f"integration_savings.ramp needs {years} fractions (one per year), "
                f"got {len(spec.ramp)}"
            )
        savings = _SavingsPlan(level, float(spec.probability_none), float(spec.cv))
    forecast = any(
        sc.trigger is not None and sc.trigger.on == "forecast" for sc in model.schedules()
    )
    return _Plan(
        years,
        group_ids,
        tuple(groups),
        shocks,
        copula,
        metrics,
        savings,
        forecast,
        len(model.partners),
        metric_copula,
    )


_PLAN_CACHE: OrderedDict[str, _Plan] = OrderedDict()
_PLAN_LOCK = threading.Lock()
_PLAN_CACHE_SIZE = 8


def _plan(model: Model) -> _Plan:
    """The tables of ``model``, cached by its JSON (so block-by-block callers build them once)."""
    key = model.model_dump_json()
    with _PLAN_LOCK:
        plan = _PLAN_CACHE.get(key)
        if plan is not None:
            _PLAN_CACHE.move_to_end(key)
            return plan
    plan = _build_plan(model)
    with _PLAN_LOCK:
        _PLAN_CACHE[key] = plan
        while len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    return plan


# ----------------------------------------------------------------------------- one block


class _Block:
    """Per-block context: seed, block index, size and scratch buffers."""

    def __init__(self, seed: int, block: int, size: int) -> None:
        self.seed = seed
        self.block = block
        self.size = size
        self.uniforms = np.empty(size)
        self.index = np.empty(size, dtype=np.intp)

    def rng(self, name: str) -> np.random.Generator:
        return block_rng(self.seed, self.block, name)

    def rate(self, group_id: str, name: str, rate: float | Uncertain) -> float | FloatArray:
        """A rate: the float, or one draw per simulation when uncertain. [per year]"""
        if isinstance(rate, Uncertain):
            rng = self.rng(f"params:{group_id}:{name}")
            return draws.uncertain_rate(rng, rate.mean, rate.sd, self.size)
        return float(rate)


def _counts(
    block: _Block,
    rng: np.random.Generator,
    table: draws.AliasTable | None,
    mean: float | FloatArray,
    dispersion: float | None,
) -> IntArray:
    """Client counts: alias-table slot indices when ``table``, else counts. [clients]"""
    if table is not None:
        rng.random(out=block.uniforms)
        return draws.alias_index(table, block.uniforms, block.index)
    if dispersion is None:
        return rng.poisson(mean, size=block.size)
    return draws.negative_binomial(rng, mean, dispersion, block.size)


def _compound(
    plan: _ClientsPlan,
    year: int,
    rng: np.random.Generator,
    drawn: IntArray,
    normals: FloatArray | None,
    cost_scale: float | FloatArray,
    out: FloatArray,
) -> FloatArray:
    """Spend of ``drawn`` clients (alias slots when the year has a table) into ``out``. [£]

    ``normals`` are the year's copula normals, or None to draw the group's own
    from ``rng``; ``cost_scale`` multiplies the result (per-simulation M_t
    when inflation is uncertain, else 1.0).
    """
    cost = plan.spec.cost
    table = plan.count_tables[year]
    if cost.distribution == "lognormal":
        compound = plan.compound_tables[year]
        index = drawn
        if compound is None:
            values, index = np.unique(drawn, return_inverse=True)
            compound = draws.compound_table(values, cost.cv, float(plan.cost_level[year]))
        if normals is None:
            normals = rng.standard_normal(out=out)
        draws.compound_lognormal(compound, index, normals, out)
    else:
        counts = drawn + table.offset if table is not None else drawn
        mean_cost = float(plan.cost_level[year])
        if normals is None:
            out[:] = draws.compound_gamma(rng, counts, cost.cv, mean_cost)
        else:
            out[:] = draws.compound_gamma_from_normal(counts, cost.cv, mean_cost, normals)
    if not isinstance(cost_scale, float) or cost_scale != 1.0:
        out *= cost_scale
    return out


def _shock_factors(
    block: _Block, name: str, shock: PersistentShock | None, years: int
) -> FloatArray | None:
    """Mean-one persistent shock factors (years, sims) from stream ``name``, or None. [fraction]

    ``years * size`` standard normals, year by year, filtered by the AR(1)
    (:func:`draws.ar1`), then ``exp(σ X_t - σ² v_t / 2)``.
    """
    if shock is None:
        return None
    x = draws.ar1(block.rng(name).standard_normal((years, block.size)), shock.persistence)
    variance = draws.ar1_variance(years, shock.persistence)
    for year in range(years):
        draws.mean_one_lognormal(x[year], shock.cv, out=x[year], variance=variance[year])
    return x


@dataclass
class _Caseload:
    """Each year's cases of a clients group with case splits, as its spend drew them.

    ``arrivals[t]`` are the year's new cases (all of them when clients are
    drawn afresh each year); for a persistent stock (``clients.exit_rate``)
    ``survivors[t]`` are the cases carried from year t − 1 (zero in year 0)
    and ``carried[t]`` their fraction of the year's core spend, else both are
    empty. [cases], [fraction]
    """

    arrivals: list[IntArray] = field(default_factory=list)
    survivors: list[IntArray] = field(default_factory=list)
    carried: list[FloatArray] = field(default_factory=list)


def _clients_spend(
    gp: _GroupPlan, block: _Block, copula_normals: FloatArray | None, out: FloatArray
) -> _Caseload | None:
    """Core spend of a clients group into ``out`` (years, sims). [£]

    Returns the year-by-year cases when the group has case splits (which
    are drawn from them), else None.
    """
    plan = gp.clients
    spec = plan.spec
    gid = gp.group.id
    rng = block.rng(f"group:{gid}")
    growth = block.rate(gid, "growth", spec.clients.growth)
    inflation = block.rate(gid, "inflation", spec.cost.inflation)
    years = out.shape[0]
    dispersion = spec.clients.dispersion
    persistent = spec.clients.exit_rate is not None

    volume = _shock_factors(block, f"group:{gid}:volume", spec.clients.shock, years)
    level = _shock_factors(block, f"group:{gid}:cost", spec.cost.shock, years)

    def normals_for(year: int) -> FloatArray | None:
        return None if copula_normals is None else copula_normals[year]

    def count_mean(year: int) -> float | FloatArray:
        if isinstance(growth, float) or year == 0:
            lam = float(plan.count_means[year])
        else:
            lam = spec.clients.mean * (1.0 + growth) ** year
            if persistent:
                lam = np.maximum(lam - (1.0 - spec.clients.exit_rate) * lam / (1.0 + growth), 0.0)
        return lam if volume is None else lam * volume[year]

    def cost_scale(year: int) -> float | FloatArray:
        scale = 1.0 if isinstance(inflation, float) else spec.cost.mean * (1.0 + inflation) ** year
        return scale if level is None else scale * level[year]

    caseload = _Caseload() if gp.cases is not None else None
    if not persistent:
        for year in range(years):
            table = plan.count_tables[year]
            drawn = _counts(block, rng, table, count_mean(year), dispersion)
            if caseload is not None:
                caseload.arrivals.append(
                    drawn + table.offset if table is not None else drawn.copy()
                )
            _compound(plan, year, rng, drawn, normals_for(year), cost_scale(year), out[year])
        return caseload

    keep = 1.0 - spec.clients.exit_rate
    stock = None
    total = out[0]
    for year in range(years):
        table = plan.count_tables[year]
        drawn = _counts(block, rng, table, count_mean(year), dispersion)
        arrivals = drawn + table.offset if table is not None else drawn
        if year == 0:
            stock = arrivals.astype(np.int64)
            _compound(plan, year, rng, drawn, normals_for(year), cost_scale(year), out[0])
            if caseload is not None:
                caseload.arrivals.append(stock)
                caseload.survivors.append(np.zeros_like(stock))
                caseload.carried.append(np.zeros(block.size))
            continue
        survivors = rng.binomial(stock, keep)
        share = draws.survivor_share(rng, survivors, stock, spec.cost.cv)
        carried = total * share
        carried *= 1.0 + inflation
        if level is not None:
            carried *= level[year] / level[year - 1]
        _compound(plan, year, rng, drawn, normals_for(year), cost_scale(year), out[year])
        out[year] += carried
        total = out[year]
        stock = survivors + arrivals
        if caseload is not None:
            caseload.arrivals.append(arrivals.astype(np.int64))
            caseload.survivors.append(survivors)
            caseload.carried.append(
                np.divide(carried, total, out=np.zeros(block.size), where=total > 0)
            )
    out *= gp.steps[:, None]
    return caseload


def _aggregate_spend(
    gp: _GroupPlan, block: _Block, copula_normals: FloatArray | None, out: FloatArray
) -> None:
    """Core spend of an aggregate group into ``out`` (years, sims). [£]

    The year's normal (the group's own, or its copula normal) is filtered by
    the group's AR(1) persistence (:func:`draws.ar1`) before it is turned
    into spend; with persistence 0 the normals are used as drawn.
    """
    spec: AggregateSpend = gp.group.spend
    gid = gp.group.id
    rng = block.rng(f"group:{gid}")
    growth = block.rate(gid, "growth", spec.growth)
    years = out.shape[0]
    means = [spec.mean * gp.steps[year] * (1.0 + growth) ** year for year in range(years)]
    if spec.cv == 0:
        for year in range(years):
            out[year] = means[year]
        return
    phi = spec.persistence
    if copula_normals is None and spec.distribution == "gamma" and phi == 0:
        shape = 1.0 / (spec.cv * spec.cv)
        for year in range(years):
            out[year] = rng.gamma(shape, 1.0 / shape, size=block.size)
            out[year] *= means[year]
        return
    z = copula_normals if copula_normals is not None else rng.standard_normal(out=out)
    if phi > 0:
        z = draws.ar1(z, phi)
    variance = draws.ar1_variance(years, phi)
    for year in range(years):
        if spec.distribution == "lognormal":
            draws.mean_one_lognormal(z[year], spec.cv, out=out[year], variance=variance[year])
        elif spec.distribution == "gamma":
            shape = 1.0 / (spec.cv * spec.cv)
            out[year] = draws.gamma_from_normal(np.full(block.size, shape), z[year]) / shape
        else:
            np.multiply(z[year], spec.cv, out=out[year])
            out[year] += 1.0
        out[year] *= means[year]


def _fixed_spend(gp: _GroupPlan, out: FloatArray) -> None:
    spec: FixedSpend = gp.group.spend
    years = out.shape[0]
    if spec.amounts is not None:
        amounts = np.asarray(spec.amounts[:years], dtype=np.float64)
    else:
        amounts = spec.amount * (1.0 + spec.growth) ** np.arange(years)
    out[:] = (amounts * gp.steps)[:, None]


def _high_cost(gp: _GroupPlan, block: _Block, out: FloatArray) -> list[tuple[IntArray, FloatArray]]:
    """Add the group's high-cost placements to ``out`` (years, sims). [£]

    Returns each year's placement counts and their total cost.
    """
    hc = gp.group.high_cost
    gid = gp.group.id
    rng = block.rng(f"group:{gid}:highcost")
    growth = block.rate(gid, "highcost_growth", hc.growth)
    inflation = block.rate(gid, "highcost_inflation", hc.inflation)
    placed = []
    for year in range(out.shape[0]):
        counts = rng.poisson(hc.rate * (1.0 + growth) ** year, size=block.size)
        totals = draws.high_cost_totals(rng, counts, hc.distribution, hc.mean, hc.cv, hc.minimum)
        totals *= (1.0 + inflation) ** year
        out[year] += totals
        placed.append((counts, totals))
    return placed


def _case_shares(
    gp: _GroupPlan,
    block: _Block,
    caseload: _Caseload | None,
    spend: FloatArray,
    placed: list[tuple[IntArray, FloatArray]] | None,
    out: FloatArray,
) -> None:
    """Each partner's share of a case-split group's spend into ``out`` (years, partners, sims).

    Stream ``group:{id}:cases``, year by year: from the year's cases
    (``caseload``; one case a year for an aggregate or fixed group, whose
    ``caseload`` is None), a persistent stock's survivors keeping their
    splits (:func:`_stock_shares`); with high-cost placements (``placed``:
    each year's counts and total cost, part of ``spend``, the group's spend
    before common shocks), the placements' shares are drawn from their count
    too, and the two parts weighted by their spend (``docs/sampling.md``
    §14). [fraction]
    """
    cases = gp.cases
    rng = block.rng(f"group:{gp.group.id}:cases")
    one = np.ones(block.size, dtype=np.int64)
    stock = None
    for year in range(out.shape[0]):
        if caseload is None:
            out[year] = _shares_of(rng, cases, one, cases.cv)
        elif not caseload.carried:
            out[year] = _shares_of(rng, cases, caseload.arrivals[year], cases.cv)
        else:
            stock = _stock_shares(rng, cases, caseload, year, stock)
            out[year] = stock.shares
        if placed is None:
            continue
        hc_counts, hc_total = placed[year]
        hc_shares = _shares_of(rng, cases, hc_counts, cases.placement_cv)
        total = spend[year]
        weight = np.divide(hc_total, total, out=np.zeros(total.shape), where=total != 0)
        out[year] += weight * (hc_shares - out[year])


@dataclass(frozen=True)
class _Stock:
    """A persistent stock's cases in one year: the state its splits carry.

    ``count`` cases (sims,) whose cost the partners share as ``shares``
    (partners, sims); for a splits table also the cases by row ``rows`` and
    the rows' parts of the cost ``parts`` (rows, sims). [cases], [fraction]
    """

    count: IntArray
    shares: FloatArray
    rows: IntArray | None = None
    parts: FloatArray | None = None


def _stock_shares(
    rng: np.random.Generator,
    cases: _CasesPlan,
    caseload: _Caseload,
    year: int,
    stock: _Stock | None,
) -> _Stock:
    """Year ``year``'s stock from last year's (None in year 0): survivors keep their splits.

    The entrants' split is drawn as fresh cases'; the survivors' is thinned
    from last year's (:func:`draws.surviving_case_shares`, or
    :func:`draws.surviving_case_rows` for a table); the year's is their mix
    weighted by the carried fraction of the spend (``docs/sampling.md`` §14).
    """
    arrivals = caseload.arrivals[year]
    survivors = caseload.survivors[year]
    carried = caseload.carried[year]
    cv = cases.cv
    if cases.concentration is not None:
        shares = draws.case_shares_dirichlet(rng, arrivals, cv, cases.mean, cases.concentration)
        if stock is not None:
            kept = draws.surviving_case_shares(
                rng,
                stock.shares,
                survivors,
                stock.count,
                cv,
                cases.mean,
                cases.concentration,
            )
            shares += carried * (kept - shares)
        return _Stock(survivors + arrivals, shares)
    rows, parts = draws.case_rows(rng, arrivals, cv, cases.probabilities)
    if stock is not None:
        kept_rows, kept_parts = draws.surviving_case_rows(
            rng, stock.rows, stock.parts, survivors, cv
        )
        rows += kept_rows
        parts += carried * (kept_parts - parts)
    count = rows.sum(axis=0)
    shares = cases.splits.T @ parts
    shares[:, count == 0] = (cases.probabilities @ cases.splits)[:, None]
    return _Stock(count, shares, rows, parts)


def _shares_of(
    rng: np.random.Generator, cases: _CasesPlan, counts: IntArray, cv: float
) -> FloatArray:
    """The partners' shares of a sum of ``counts`` cases of cost CV ``cv``, ``(partners, sims)``."""
    if cases.concentration is not None:
        return draws.case_shares_dirichlet(rng, counts, cv, cases.mean, cases.concentration)
    return draws.case_shares_table(rng, counts, cv, cases.splits, cases.probabilities)


def _charging_income(gp: _GroupPlan, block: _Block, spend: FloatArray) -> FloatArray:
    """Charging income (years, sims): rate x spend x L, capped to [0, spend]. [£]

    L is lognormal with mean 1 and CV ``charging.cv``; negative spend (a
    normal aggregate draw) gives no income.
    """
    charging = gp.group.charging
    share = np.full(spend.shape, charging.rate)
    if charging.cv > 0:
        rng = block.rng(f"group:{gp.group.id}:charging")
        share *= draws.mean_one_lognormal(rng.standard_normal(spend.shape), charging.cv)
    np.minimum(share, 1.0, out=share)
    share *= np.maximum(spend, 0.0)
    return share


def _metrics(
    plan: _Plan, block: _Block, iid: FloatArray | None, out: Mapping[str, FloatArray]
) -> None:
    """Performance metrics into ``out[id]`` (size, years): Normal(mean, sd) each. [metric units]

    Stream ``metric:{id}``: ``size * years`` standard normals ε, simulation
    by simulation (row-major over (size, years)). A metric in
    ``correlation.metrics`` uses ``loadings @ Z + own @ ε`` instead of its ε,
    ``Z`` the copula's iid normals of the year (``iid``, (years, k, size)).
    """
    own = {}
    for mid, _, sd in plan.metrics:
        if sd > 0:
            own[mid] = block.rng(f"metric:{mid}").standard_normal(out=out[mid])
    mc = plan.metric_copula
    if mc is not None:
        ids = [plan.metrics[r][0] for r in mc.rows]
        eps = np.stack([own[mid].copy() for mid in ids])  # (m, size, years)
        for j, mid in enumerate(ids):
            z = np.einsum("k,tks->st", mc.loadings[j], iid)
            z += np.tensordot(mc.own[j], eps, axes=1)
            out[mid][:] = z
    for mid, mean, sd in plan.metrics:
        values = out[mid]
        if sd == 0:
            values.fill(mean)
            continue
        values *= sd
        values += mean


def _savings(spec: _SavingsPlan, block: _Block, out: FloatArray) -> None:
    """Integration savings into ``out`` (size, years): ``level[t] * U``. [£]

    Stream ``savings``: ``size`` uniforms V, then ``size`` standard normals Z,
    always both, so that scenarios differing only in ``probability_none`` or
    ``cv`` share their draws. U = 0 where V < probability_none, else the
    mean-one lognormal of Z with CV ``cv`` (1 when cv = 0).
    """
    rng = block.rng("savings")
    v = rng.random(block.size)
    u = rng.standard_normal(block.size)
    if spec.cv > 0:
        draws.mean_one_lognormal(u, spec.cv, out=u)
    else:
        u.fill(1.0)
    u[v < spec.probability_none] = 0.0
    np.multiply(u[:, None], spec.level[None, :], out=out)


def _forecast(plan: _Plan, block: _Block) -> FloatArray | None:
    """The forecast stream's standard normals, (size, years), or None when not needed.

    Stream ``forecast``: ``size * years`` standard normals, simulation by
    simulation (row-major over (size, years)).
    """
    if not plan.forecast:
        return None
    return block.rng("forecast").standard_normal((block.size, plan.years))


def _fill_block(
    plan: _Plan,
    block: _Block,
    spend: FloatArray,
    income: FloatArray | None,
    metrics: Mapping[str, FloatArray],
    savings: FloatArray | None,
    case_shares: Mapping[str, FloatArray],
) -> None:
    """Draw one whole block into the given arrays.

    ``spend`` and ``income`` are (size, years, groups); ``income`` must be
    zero on entry (only groups with charging are written), or None when no
    group has charging. ``metrics[id]`` and ``savings`` are C-contiguous
    (size, years); ``savings`` is None when the model has no integration
    savings. ``case_shares[id]`` is (size, years, partners) for each group
    with case splits.
    """
    years, size = plan.years, block.size
    shock_factors = []
    for sid, s, phi in plan.shocks:
        z = block.rng(f"shock:{sid}").standard_normal((years, size))
        if phi > 0:
            draws.ar1(z, phi, out=z)
        z *= s
        z -= (0.5 * s * s) * draws.ar1_variance(years, phi)[:, None]
        shock_factors.append(np.exp(z, out=z))
    copula_normals = iid = None
    if plan.copula is not None:
        k = plan.copula.shape[0]
        iid = block.rng("correlation").standard_normal((years, k, size))
        copula_normals = np.matmul(plan.copula, iid)
    work = np.empty((years, size))
    for g, gp in enumerate(plan.groups):
        own_normals = copula_normals[:, gp.copula_slot] if gp.copula_slot is not None else None
        caseload = None
        if gp.clients is not None:
            caseload = _clients_spend(gp, block, own_normals, work)
        elif isinstance(gp.group.spend, AggregateSpend):
            _aggregate_spend(gp, block, own_normals, work)
        else:
            _fixed_spend(gp, work)
        placed = None
        if gp.group.high_cost is not None:
            placed = _high_cost(gp, block, work)
        if gp.cases is not None:
            _case_shares(
                gp, block, caseload, work, placed, case_shares[gp.group.id].transpose(1, 2, 0)
            )
        for k in gp.shocks:
            work *= shock_factors[k]
        spend[:, :, g] = work.T
        if gp.group.charging is not None:
            income[:, :, g] = _charging_income(gp, block, work).T
    _metrics(plan, block, iid, metrics)
    if plan.savings is not None:
        _savings(plan.savings, block, savings)


def _allocate(
    plan: _Plan, n: int
) -> tuple[
    FloatArray, FloatArray | None, dict[str, FloatArray], FloatArray | None, dict[str, FloatArray]
]:
    """Output arrays for ``n`` simulations: only those the model needs are allocated."""
    # Stored year- and group-major, (years, groups, sims): every (year, group)
    # vector is contiguous for the sampler and the settlement; exposed as
    # (sims, years, groups) views.
    shape = (plan.years, len(plan.group_ids), n)
    spend = np.empty(shape).transpose(2, 0, 1)
    income = np.zeros(shape).transpose(2, 0, 1) if plan.has_charging else None
    metrics = {mid: np.empty((n, plan.years)) for mid, _, _ in plan.metrics}
    savings = np.empty((n, plan.years)) if plan.savings is not None else None
    # Case shares (sims, years, partners), stored (years, partners, sims) like spend.
    cases = {
        gp.group.id: np.empty((plan.years, plan.n_partners, n)).transpose(2, 0, 1)
        for gp in plan.groups
        if gp.cases is not None
    }
    return spend, income, metrics, savings, cases


# ----------------------------------------------------------------------------- public API


def _check_block_size(block_size: int) -> int:
    block_size = int(block_size)
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    return block_size


def sample_block(
    model: Model, seed: int, block: int, *, block_size: int = BLOCK_SIZE
) -> SpendPaths:
    """All simulations of one block: ``block * block_size .. (block + 1) * block_size - 1``.

    Parameters
    ----------
    model : Model
        Validated configuration.
    seed : int
        Resolved run seed (``streams.resolve_seed``).
    block : int
        Block index, >= 0.
    block_size : int, optional
        Simulations per block; part of the reproducibility contract.

    Returns
    -------
    SpendPaths
        ``block_size`` simulations, ``first_sim = block * block_size``.
    """
    block_size = _check_block_size(block_size)
    if block < 0:
        raise ValueError(f"block must be >= 0, got {block}")
    plan = _plan(model)
    spend, income, metrics, savings, cases = _allocate(plan, block_size)
    ctx = _Block(seed, block, block_size)
    _fill_block(plan, ctx, spend, income, metrics, savings, cases)
    return SpendPaths(
        spend,
        income,
        plan.group_ids,
        plan.years,
        block * block_size,
        metrics=metrics,
        savings=savings,
        forecast=_forecast(plan, ctx),
        case_shares=cases,
    )


def sample(
    model: Model, n_sims: int, seed: int, *, block_size: int = BLOCK_SIZE, workers: int = 1
) -> SpendPaths:
    """Spend paths of simulations ``0 .. n_sims - 1``.

    Whole blocks are drawn and the last one truncated, so simulation ``i`` is
    the same whatever ``n_sims`` and ``workers``.

    Parameters
    ----------
    model : Model
        Validated configuration.
    n_sims : int
        Number of simulations, >= 1.
    seed : int
        Resolved run seed.
    block_size : int, optional
        Simulations per block.
    workers : int, optional
        Threads drawing blocks concurrently (numpy releases the GIL); the
        result does not depend on it.

    Returns
    -------
    SpendPaths
    """
    block_size = _check_block_size(block_size)
    n_sims = int(n_sims)
    if n_sims < 1:
        raise ValueError(f"n_sims must be >= 1, got {n_sims}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    plan = _plan(model)
    spend, income, metrics, savings, cases = _allocate(plan, n_sims)
    forecast = np.empty((n_sims, plan.years)) if plan.forecast else None

    def run(b: int) -> None:
        lo = b * block_size
        hi = min(lo + block_size, n_sims)
        ctx = _Block(seed, b, block_size)
        if forecast is not None:
            forecast[lo:hi] = _forecast(plan, ctx)[: hi - lo]
        if hi - lo == block_size:
            _fill_block(
                plan,
                ctx,
                spend[lo:hi],
                None if income is None else income[lo:hi],
                {mid: values[lo:hi] for mid, values in metrics.items()},
                None if savings is None else savings[lo:hi],
                {gid: values[lo:hi] for gid, values in cases.items()},
            )
            return
        part = _allocate(plan, block_size)
        _fill_block(plan, ctx, *part)
        n = hi - lo
        spend[lo:hi] = part[0][:n]
        if income is not None:
            income[lo:hi] = part[1][:n]
        for mid, values in metrics.items():
            values[lo:hi] = part[2][mid][:n]
        if savings is not None:
            savings[lo:hi] = part[3][:n]
        for gid, values in cases.items():
            values[lo:hi] = part[4][gid][:n]

    blocks = range(n_blocks(n_sims, block_size))
    if workers == 1:
        for b in blocks:
            run(b)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, blocks))
    return SpendPaths(
        spend,
        income,
        plan.group_ids,
        plan.years,
        metrics=metrics,
        savings=savings,
        forecast=forecast,
        case_shares=cases,
    )
