"""Settlement: an agreement applied to spend paths, year by year.

No randomness here. Spend (and the other random quantities an agreement
depends on: charging income, performance metrics, integration savings) is
drawn once by :mod:`riskshare.sampling`, and any number of agreements (rules,
contribution levels, reserves, caps) are settled on the same draws, so
comparisons between them are paired.

The year loop carries the state that makes a multi-year agreement more than a
sum of years: the reserve balance, running totals for caps over the
agreement, cumulative positions and exits. Within a year everything is
vectorised over simulations. The order of the steps and every formula are in
``docs/rules.md``; :mod:`riskshare._reference` is a per-simulation version
written from that page and tested against this one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.model import Agreement, Model, Sharing, Threshold
from riskshare.errors import BalanceError
from riskshare.ledger import FLOWS, Ledger
from riskshare.rules.keys import KeyContext, key_weights
from riskshare.rules.tower import apply_tower

if TYPE_CHECKING:
    from riskshare.sampling import SpendPaths

__all__ = ["SETTLE_CHUNK", "Terms", "iter_settle", "settle", "settle_arrays"]

#: Simulations settled at once inside :func:`settle_arrays`. Vectors of this
#: size stay in the CPU cache and reuse freed memory instead of mapping fresh
#: pages, which makes settlement about three times faster than one pass over a
#: large block. The numbers do not depend on it: simulations are independent.
SETTLE_CHUNK = 8192


@dataclass(frozen=True)
class Terms:
    """Everything settlement needs, resolved from a model: plain arrays and the agreement.

    Parameters
    ----------
    agreement : Agreement
        The rules.
    contributions : ndarray
        ``(years, partners)`` contributions. [£]
    commissioning : ndarray
        ``(groups, partners)`` commissioning shares; rows sum to 1. [fraction]
    budget_shares : ndarray
        ``(years, groups)`` each group's share of the year's group budget. [fraction]
    charging_rate : ndarray
        ``(groups,)`` expected charging income as a fraction of gross spend. [fraction]
    partner_ids, group_ids : tuple of str
        Axis labels.
    host : int
        Index of the host partner.
    first_year : int
        Calendar year the first financial year starts.
    """

    agreement: Agreement
    contributions: FloatArray
    commissioning: FloatArray
    budget_shares: FloatArray
    charging_rate: FloatArray
    partner_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    host: int
    first_year: int = 0
    metric_ids: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_model(
        cls,
        model: Model,
        *,
        agreement: Agreement | None = None,
        contributions: FloatArray | None = None,
    ) -> Terms:
        """Resolve a model's terms, optionally with another agreement or contributions.

        Parameters
        ----------
        model : Model
        agreement : Agreement, optional
            Replaces ``model.agreement`` (its references are checked against the model).
        contributions : ndarray, optional
            ``(years, partners)`` contributions replacing the model's. [£]
        """
        if agreement is not None and agreement is not model.agreement:
            # Re-validate the whole model so the agreement's ids are checked against it.
            data = model.model_dump(mode="json")
            data["agreement"] = agreement.model_dump(mode="json")
            from riskshare.config.load import validate_data

            model = validate_data(data, source="<agreement>")
        years = model.simulation.years
        contrib = (
            model.contribution_schedule()
            if contributions is None
            else np.array(contributions, dtype=float)
        )
        if contrib.shape != (years, len(model.partners)):
            raise ValueError(
                "contributions must have shape (years, partners) = "
                f"{(years, len(model.partners))}, got {contrib.shape}"
            )
        if not np.all(np.isfinite(contrib)) or np.any(contrib < 0):
            raise ValueError("contributions must be finite and >= 0")
        agr = model.agreement
        if isinstance(agr.group_budgets, dict):
            raw = np.array([agr.group_budgets[g][:years] for g in model.group_ids], dtype=float).T
        else:
            raw = model.expected_spend()
        totals = raw.sum(axis=1, keepdims=True)
        shares = np.where(totals > 0, raw / np.where(totals > 0, totals, 1.0), 1.0 / raw.shape[1])
        rate = np.array([g.charging.rate if g.charging else 0.0 for g in model.client_groups])
        pids = tuple(model.partner_ids)
        return cls(
            agreement=agr,
            contributions=contrib,
            commissioning=model.commissioning_matrix(),
            budget_shares=shares,
            charging_rate=rate,
            partner_ids=pids,
            group_ids=tuple(model.group_ids),
            host=pids.index(model.host),
            first_year=model.simulation.first_year,
            metric_ids=tuple(m.id for m in model.performance),
        )

    def iter_settle(
        self, paths: SpendPaths, *, check: bool = True
    ) -> Iterator[tuple[slice, Ledger]]:
        """Settle these terms on ``paths`` chunk by chunk; see :func:`iter_settle`."""
        return iter_settle(
            self,
            paths.spend,
            income=paths.income,
            metrics=getattr(paths, "metrics", None),
            savings=getattr(paths, "savings", None),
            check=check,
        )

    def settle(self, paths: SpendPaths, *, check: bool = True) -> Ledger:
        """Settle these terms on ``paths``; see :func:`settle`."""
        return settle_arrays(
            self,
            paths.spend,
            income=paths.income,
            metrics=getattr(paths, "metrics", None),
            savings=getattr(paths, "savings", None),
            check=check,
        )


def settle(
    model: Model,
    paths: SpendPaths,
    *,
    agreement: Agreement | None = None,
    contributions: FloatArray | None = None,
    check: bool = True,
) -> Ledger:
    """Settle an agreement on drawn spend paths.

    Parameters
    ----------
    model : Model
        The scenario (partners, groups, contributions, agreement).
    paths : SpendPaths
        Drawn spend, ``(sims, years, groups)``, and the other draws.
    agreement : Agreement, optional
        Settle this agreement instead of ``model.agreement`` (same draws).
    contributions : ndarray, optional
        ``(years, partners)`` contributions instead of the model's. [£]
    check : bool
        Check that the ledger balances in every simulated year (cheap).

    Returns
    -------
    Ledger

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/benchmark.yaml")
    >>> paths = rs.sample(model, n_sims=1000, seed=1)
    >>> ledger = rs.settle(model, paths)
    >>> ledger.net_total().shape
    (1000, 2)
    """
    terms = Terms.from_model(model, agreement=agreement, contributions=contributions)
    return terms.settle(paths, check=check)


class _Flows:
    """Year-major flow arrays (pool ``(years, sims)``, partner ``(years, partners, sims)``).

    Allocated on first use, so a settlement only carries the flows its
    clauses produce. Arrays start uninitialised: the first write of a year
    assigns, later writes add, and :meth:`finish` zeroes the years never
    written (this saves zero-filling memory that is about to be overwritten).
    """

    def __init__(self, years: int, n_sims: int, n_partners: int) -> None:
        self.shape_pool = (years, n_sims)
        self.shape_partner = (years, n_partners, n_sims)
        self.pool: dict[str, np.ndarray] = {}
        self.partner: dict[str, np.ndarray] = {}
        self._written: dict[str, set[int]] = {}

    def _array(self, store: dict[str, np.ndarray], shape: tuple[int, ...], name: str) -> np.ndarray:
        arr = store.get(name)
        if arr is None:
            arr = store[name] = np.empty(shape)
            self._written[name] = set()
        return arr

    def _add(self, arr: np.ndarray, name: str, t: int, value: Any) -> None:
        if t in self._written[name]:
            arr[t] += value
        else:
            arr[t] = value
            self._written[name].add(t)

    def add_pool(self, name: str, t: int, value: Any) -> None:
        self._add(self._array(self.pool, self.shape_pool, name), name, t, value)

    def add_partner(self, name: str, t: int, value: Any) -> None:
        self._add(self._array(self.partner, self.shape_partner, name), name, t, value)

    def partner_year(self, name: str, t: int) -> np.ndarray:
        """The ``(partners, sims)`` row of year ``t`` of a partner flow, for the caller to fill."""
        arr = self._array(self.partner, self.shape_partner, name)
        self._written[name].add(t)
        return arr[t]

    def add_partner_column(self, name: str, t: int, p: int, value: Any) -> None:
        arr = self._array(self.partner, self.shape_partner, name)
        if t not in self._written[name]:
            arr[t] = 0.0
            self._written[name].add(t)
        arr[t, p] += value

    def finish(self) -> None:
        """Zero the years of each flow that were never written."""
        for store in (self.pool, self.partner):
            for name, arr in store.items():
                for t in range(arr.shape[0]):
                    if t not in self._written.get(name, ()):
                        arr[t] = 0.0


def settle_arrays(
    terms: Terms,
    spend: FloatArray,
    *,
    income: FloatArray | None = None,
    metrics: Mapping[str, FloatArray] | None = None,
    savings: FloatArray | None = None,
    check: bool = True,
) -> Ledger:
    """Settlement on raw arrays.

    Parameters
    ----------
    terms : Terms
    spend : ndarray
        Gross spend, ``(sims, years, groups)``. [£]
    income : ndarray, optional
        Charging income, ``(sims, years, groups)``. [£]
    metrics : mapping of str to ndarray, optional
        Performance metrics, each ``(sims, years)``.
    savings : ndarray, optional
        Integration savings, ``(sims, years)``. [£]
    check : bool
        Check the balance of every simulated year.

    Returns
    -------
    Ledger
    """
    spend = np.asarray(spend, dtype=float)
    pieces = list(_pieces(terms, spend, income, metrics, savings, check))
    return _assemble(terms, [part for _, part in pieces], [sl for sl, _ in pieces], len(spend))


def iter_settle(
    terms: Terms,
    spend: FloatArray,
    *,
    income: FloatArray | None = None,
    metrics: Mapping[str, FloatArray] | None = None,
    savings: FloatArray | None = None,
    check: bool = True,
) -> Iterator[tuple[slice, Ledger]]:
    """Settle ``SETTLE_CHUNK`` simulations at a time, yielding each chunk's ledger.

    The same numbers as :func:`settle_arrays`, without assembling one large
    ledger: callers that reduce each chunk (``simulate``, comparisons) keep
    memory small and the CPU cache warm.

    Yields
    ------
    (slice, Ledger)
        The simulations of the chunk and their ledger.
    """
    spend = np.asarray(spend, dtype=float)
    for sl, part in _pieces(terms, spend, income, metrics, savings, check):
        yield sl, _assemble(terms, [part], [slice(0, sl.stop - sl.start)], sl.stop - sl.start)


def _pieces(
    terms: Terms,
    spend: FloatArray,
    income: FloatArray | None,
    metrics: Mapping[str, FloatArray] | None,
    savings: FloatArray | None,
    check: bool,
) -> Iterator[tuple[slice, dict[str, Any]]]:
    n_sims, years, n_groups = spend.shape
    if years != terms.contributions.shape[0]:
        raise ValueError(f"spend has {years} years, the terms {terms.contributions.shape[0]}")
    if n_groups != terms.commissioning.shape[0]:
        raise ValueError(f"spend has {n_groups} groups, the terms {terms.commissioning.shape[0]}")
    has_savings = savings is not None and bool(np.any(np.asarray(savings) != 0))
    for a in range(0, max(n_sims, 1), SETTLE_CHUNK):
        sl = slice(a, min(a + SETTLE_CHUNK, n_sims))
        yield (
            sl,
            _settle_chunk(
                terms,
                spend[sl],
                income=None if income is None else income[sl],
                metrics=None if metrics is None else {k: v[sl] for k, v in metrics.items()},
                savings=np.asarray(savings)[sl] if has_savings else None,
                check=check,
            ),
        )


def _assemble(
    terms: Terms, parts: list[dict[str, Any]], chunks: list[slice], n_sims: int
) -> Ledger:
    """One ledger from the year-major results of consecutive chunks of simulations."""
    if len(parts) == 1:
        full = parts[0]
    else:
        full = {}
        for kind in ("pool", "partner", "extras"):
            names = dict.fromkeys(name for part in parts for name in part[kind])
            merged = {}
            for name in names:
                first = next(part[kind][name] for part in parts if name in part[kind])
                arr = np.zeros((*first.shape[:-1], n_sims), dtype=first.dtype)
                for part, sl in zip(parts, chunks, strict=True):
                    if name in part[kind]:
                        arr[..., sl] = part[kind][name]
                merged[name] = arr
            full[kind] = merged
    partner = dict(full["partner"])
    if terms.agreement.holdback is None:
        # The same contributions in every simulation: a read-only broadcast view.
        years, n_partners = terms.contributions.shape
        partner["contribution"] = np.broadcast_to(
            terms.contributions[:, :, None], (years, n_partners, n_sims)
        )
    extras = full["extras"]
    return Ledger(
        partner_flows={k: v.transpose(2, 0, 1) for k, v in partner.items()},
        pool_flows={k: v.T for k, v in full["pool"].items()},
        reserve=extras.pop("reserve").T,
        partner_ids=terms.partner_ids,
        first_year=terms.first_year,
        extras={k: (v if v.ndim == 1 else v.T) for k, v in extras.items()},
    )


def _settle_chunk(
    terms: Terms,
    spend: FloatArray,
    *,
    income: FloatArray | None,
    metrics: Mapping[str, FloatArray] | None,
    savings: FloatArray | None,
    check: bool,
) -> dict[str, Any]:
    """Settle one chunk of simulations; year-major arrays (simulations last), by kind."""
    n_sims, years, n_groups = spend.shape
    n_partners = len(terms.partner_ids)
    agr = terms.agreement
    pidx = {p: i for i, p in enumerate(terms.partner_ids)}
    gidx = {g: i for i, g in enumerate(terms.group_ids)}
    res = agr.reserve if agr.arrangement == "pooled" else None
    rate = terms.charging_rate
    charging = bool(np.any(rate > 0)) and income is not None
    net_pooling = agr.charging.pooling == "net"
    bearer = pidx[agr.charging.bearer] if agr.charging.bearer else terms.host
    # Group-major copies: every (year, group) vector is contiguous.
    spend_yg = np.ascontiguousarray(spend.transpose(1, 2, 0))
    income_yg = np.ascontiguousarray(np.asarray(income).transpose(1, 2, 0)) if charging else None
    hb = agr.holdback
    if hb is not None:
        if metrics is None or hb.metric not in metrics:
            raise ValueError(f"the holdback needs performance metric '{hb.metric}' in the draws")
        hb_amount = np.broadcast_to(np.asarray(hb.amount, dtype=float), (years,))
        hb_partner = pidx[hb.partner]
    integ = agr.integration
    setup_pool = np.zeros(years)
    setup_partner = np.zeros((years, n_partners))
    for sc in integ.setup_costs:
        if sc.charged_to == "pool":
            setup_pool[sc.year] += sc.amount
        else:
            setup_partner[sc.year, pidx[sc.charged_to]] += sc.amount
    has_savings = savings is not None
    savings_to = None if integ.savings_to == "pool" else pidx[integ.savings_to]

    pooled = np.ones(n_groups, dtype=bool)
    profiles = [(gidx[gid], key) for gid, key in agr.group_keys.items()]
    for g, _ in profiles:
        pooled[g] = False
    excluded = np.zeros(n_groups, dtype=bool)
    if res is not None:
        for gid in res.exclude_groups:
            excluded[gidx[gid]] = True
    pooled_groups = np.flatnonzero(pooled)
    eligible_groups = np.flatnonzero(pooled & ~excluded)
    over_own = agr.overspend.key == "own"
    under_own = agr.underspend.key == "own"
    need_own = agr.arrangement == "aligned" or over_own or under_own or agr.exit is not None
    need_groups = (
        bool(profiles)
        or not agr.offset_groups
        or len(eligible_groups) != len(pooled_groups)
        or any(cap.of == "group_contribution" and cap.fraction is not None for cap in agr.caps)
    )

    flows = _Flows(years, n_sims, n_partners)
    pool_spend = np.empty((years, n_sims))
    reserve = np.zeros((years, n_sims))
    variance = np.empty((years, n_sims))
    exhausted = np.zeros((years, n_sims), dtype=bool)
    fired = np.zeros((years, n_sims), dtype=bool) if agr.trigger else None
    exit_start = np.zeros((years, n_sims), dtype=bool) if agr.exit else None

    balance = np.full(n_sims, res.opening if res else 0.0)
    cumulative = np.zeros(n_partners)
    cap_totals = [np.zeros(n_sims) for _ in agr.caps]  # what each cap has let through so far
    cap_limits = [np.zeros(n_sims) for _ in agr.caps]  # sum of yearly limits (fraction caps)
    cum_net = np.zeros((n_partners, n_sims))
    exit_year = np.full(n_sims, years + 1)  # year an exit takes effect (years + 1: never)
    exited = np.zeros(n_sims, dtype=bool)
    any_exited = False

    for t in range(years):
        c = terms.contributions[t]
        cumulative = cumulative + c
        gross = spend_yg[t]  # (groups, sims)

        # 12 (start of year): exits taking effect now settle the reserve.
        if agr.exit is not None:
            starting = exit_year == t
            if np.any(starting):
                exit_start[t] = starting
                w = key_weights(agr.exit.reserve_key, _context(terms, t, cumulative, gross))
                out = np.where(starting, balance, 0.0)
                flows.add_pool("reserve_release", t, out)
                flows.add_partner("final_distribution", t, w * out)
                balance = np.where(starting, 0.0, balance)
                exited = exited | starting
                any_exited = True

        # 1 contributions and holdback: budget_p is each partner's part of the
        # budget, (partners, 1) while it is the same in every simulation.
        budget_p = c[:, None].copy()
        if hb is not None:
            h = hb_amount[t]
            released = h * np.clip(np.asarray(metrics[hb.metric])[:, t] / hb.target, 0.0, 1.0)
            budget_p = np.repeat(budget_p, n_sims, axis=1)
            budget_p[hb_partner] += released - h
            paid = np.repeat(c[:, None], n_sims, axis=1)
            paid[hb_partner] -= h
            flows.add_partner("contribution", t, paid)
            flows.add_partner_column("holdback_released", t, hb_partner, released)
            flows.add_partner_column("holdback_retained", t, hb_partner, h - released)

        # 2 top-slice into the reserve
        if res is not None and res.top_slice > 0 and (res.top_slice_years == "every" or t == 0):
            ts = res.top_slice * c[:, None] * ~exited if any_exited else res.top_slice * c[:, None]
            budget_p = budget_p - ts
            ts_total = ts.sum(axis=0)
            balance = balance + ts_total
            flows.add_pool("reserve_topup", t, ts_total)
        budget = budget_p.sum(axis=0)  # (1,) or (sims,)

        # 3 charging income; 4 integration effects
        inc = income_yg[t] if charging else None
        x = setup_pool[t]
        if has_savings:
            z = np.asarray(savings)[:, t]
            if savings_to is None:
                x = x - z
                flows.add_pool("integration_savings", t, z)
            else:
                flows.add_partner_column("partner_integration_savings", t, savings_to, z)
        if setup_pool[t]:
            flows.add_pool("integration_cost", t, setup_pool[t])
        if np.any(setup_partner[t]):
            flows.add_partner("partner_integration_cost", t, setup_partner[t][:, None])

        # 5 uncommitted allocation
        uncommitted = agr.uncommitted * budget

        # 6 management action
        n_g = _net_spend(gross, inc, rate, net_pooling)
        if agr.trigger is not None:
            v0 = n_g.sum(axis=0) + x + uncommitted - budget
            hit = v0 > agr.trigger.threshold * budget
            cut = np.where(hit, agr.trigger.mitigation * v0 * (12 - agr.trigger.month) / 12, 0.0)
            total = gross.sum(axis=0)
            scale = np.clip(1.0 - cut / np.where(total > 0, total, 1.0), 0.0, 1.0)
            gross = gross * scale
            if inc is not None:
                inc = inc * scale
            n_g = _net_spend(gross, inc, rate, net_pooling)
            fired[t] = hit
            flows.add_pool("mitigation", t, total * (1.0 - scale))
        pool_spend[t] = gross.sum(axis=0)
        if inc is not None:
            flows.add_pool("charging_income", t, inc.sum(axis=0))
            if net_pooling:
                shortfall = (gross * rate[:, None] - inc).sum(axis=0)
                flows.add_partner_column("income_shortfall", t, bearer, shortfall)

        # 7 group variances and profiles
        ctx = _context(terms, t, cumulative, gross)
        position = np.zeros((n_partners, n_sims))
        group_level = need_groups or need_own
        if group_level:
            group_budget = terms.budget_shares[t][:, None] * (budget - uncommitted)
            v_g = n_g - group_budget  # (groups, sims)
            for g, key in profiles:
                w = (
                    terms.commissioning[g][:, None]
                    if key in ("commissioners", "own")
                    else key_weights(key, ctx)
                )
                position += w * v_g[g]
            v = (v_g[pooled_groups].sum(axis=0) if profiles else v_g.sum(axis=0)) + x
        else:
            group_budget = None
            v = (n_g.sum(axis=0) if inc is not None else pool_spend[t]) - budget + uncommitted + x
        variance[t] = v
        if need_own:
            # Each partner's own variance: the spend on the pooled groups it
            # commissions (and its proportional part of pool-level effects and
            # the uncommitted allocation) minus its own part of the budget, less
            # what funds the groups settled on their own.
            w_prop = key_weights("proportional", ctx)
            own = np.zeros((n_partners, n_sims)) + w_prop * (x + uncommitted) - budget_p
            for g in range(n_groups):
                for p in range(n_partners):
                    share = terms.commissioning[g, p]
                    if share:
                        own[p] += share * (n_g[g] if pooled[g] else group_budget[g])
            aligned_position = position + own

        if agr.arrangement == "aligned":
            position = aligned_position
            flows.add_pool("uncommitted_spend", t, uncommitted)
        else:
            # 8 waterfall and underspend
            if agr.offset_groups:
                over = np.maximum(v, 0.0)
                under = np.maximum(-v, 0.0)
                if res is not None and res.carry_forward:
                    if len(eligible_groups) == len(pooled_groups):
                        under_eligible = under
                    else:
                        elig = v_g[eligible_groups].sum(axis=0) + x
                        under_eligible = np.minimum(under, np.maximum(-elig, 0.0))
            else:
                vp = v_g[pooled_groups]
                over = np.maximum(vp, 0.0).sum(axis=0) + np.maximum(x, 0.0)
                under = np.maximum(-vp, 0.0).sum(axis=0) + np.maximum(-x, 0.0)
                over, under = np.broadcast_arrays(over, under)
                under_eligible = np.maximum(-v_g[eligible_groups], 0.0).sum(axis=0) + np.maximum(
                    -x, 0.0
                )
            live = ~exited
            draw = 0.0
            release = 0.0
            for step in agr.waterfall:
                if step == "reserve" and res is not None:
                    draw = np.minimum(np.maximum(balance, 0.0), over)
                    if any_exited:
                        draw = np.where(live, draw, 0.0)
                    balance = balance - draw
                    over = over - draw
                    exhausted[t] = over > 0
                    if any_exited:
                        exhausted[t] &= live
                elif step == "uncommitted" and agr.uncommitted > 0:
                    release = np.minimum(uncommitted, over)
                    if any_exited:
                        release = np.where(live, release, 0.0)
                    over = over - release
            if agr.uncommitted > 0:
                flows.add_pool("uncommitted_spend", t, uncommitted - release)
            added = 0.0
            retained = 0.0
            nonrecurrent = 0.0
            if res is not None and res.carry_forward:
                room = np.inf if res.cap is None else np.maximum(res.cap - balance, 0.0)
                added = np.minimum(under_eligible, room)
                if any_exited:
                    added = np.where(live, added, 0.0)
                balance = balance + added
                under = under - added
            if agr.underspend_disposition == "retain":
                retained = np.where(live, under, 0.0) if any_exited else under
                balance = balance + retained
                under = under - retained
            elif agr.underspend_disposition == "nonrecurrent":
                nonrecurrent = np.where(live, under, 0.0) if any_exited else under
                under = under - nonrecurrent
                flows.add_pool("nonrecurrent_spend", t, nonrecurrent)
            if res is not None:
                flows.add_pool("reserve_draw", t, draw)
                flows.add_pool("reserve_topup", t, added + retained)

            # 9 sharing
            shared = _side(over, agr.overspend, agr.threshold_overspend, ctx, budget)
            shared -= _side(under, agr.underspend, agr.threshold_underspend, ctx, budget)
            if over_own or under_own:
                absorbed = draw + release - added - retained - nonrecurrent
                r_w = key_weights(res.final_key, ctx) if res is not None else w_prop
                own_position = own - r_w * absorbed
                if over_own and under_own:
                    shared = own_position
                else:
                    use_own = (v >= 0) if over_own else (v < 0)
                    shared = np.where(use_own, own_position, shared)
            position += shared
            if any_exited:
                position = np.where(exited, aligned_position, position)

            # 10 caps
            for i, cap in enumerate(agr.caps):
                q = pidx[cap.partner]
                limit = _cap_limit(cap, c[q], budget, group_budget, terms, gidx, q)
                sign = 1.0 if cap.side == "overspend" else -1.0
                part = np.maximum(sign * position[q], 0.0)
                if cap.per == "agreement":
                    # A pound amount caps the running total; a fraction caps it at
                    # that fraction of the contributions (budgets) so far.
                    if cap.amount is None:
                        cap_limits[i] = cap_limits[i] + limit
                        limit = cap_limits[i]
                    limit = np.maximum(limit - cap_totals[i], 0.0)
                excess = np.maximum(part - limit, 0.0)
                if any_exited:  # aligned after an exit: no caps
                    excess = np.where(live, excess, 0.0)
                cap_totals[i] = cap_totals[i] + part - excess
                position[q] -= sign * excess
                if cap.overflow == "reserve":
                    balance = balance - sign * excess
                    flows.add_pool("reserve_draw" if sign > 0 else "reserve_topup", t, excess)
                elif cap.overflow == "unfunded":
                    flows.add_pool("unfunded", t, excess)
                else:
                    position[pidx[cap.overflow]] += sign * excess

        # 11 cash
        calls = flows.partner_year("overspend_call", t)
        refunds = flows.partner_year("underspend_refund", t)
        np.maximum(position, 0.0, out=calls)
        np.subtract(calls, position, out=refunds)  # max(-position, 0)
        reserve[t] = balance

        # 12 exit notices
        if agr.exit is not None:
            cum_net += calls - refunds
            for name, sign in (
                ("income_shortfall", 1.0),
                ("partner_integration_cost", 1.0),
                ("partner_integration_savings", -1.0),
                ("final_distribution", -1.0),
            ):
                if name in flows.partner:
                    cum_net += sign * flows.partner[name][t]
            passed = np.zeros(n_sims, dtype=bool)
            for pid, limit in agr.exit.limits.items():
                passed |= cum_net[pidx[pid]] > limit
            notice = passed & (exit_year > years) & ~exited
            exit_year = np.where(notice, t + 1 + agr.exit.notice_years, exit_year)

    # after the last year: the reserve is paid out
    closing = np.zeros(n_sims)
    if res is not None:
        w = key_weights(res.final_key, _context(terms, years - 1, cumulative, spend_yg[-1]))
        flows.add_pool("reserve_release", years - 1, balance)
        flows.add_partner("final_distribution", years - 1, w * balance)
        closing = balance
        reserve[years - 1] = 0.0

    flows.finish()
    if hb is None:
        flows.partner["contribution"] = np.broadcast_to(
            terms.contributions[:, :, None], flows.shape_partner
        )
    if check:
        _check_year_major(
            flows,
            pool_spend,
            reserve,
            allow_deficit=any(cap.overflow == "reserve" for cap in agr.caps),
        )
    flows.pool["spend"] = pool_spend
    extras: dict[str, np.ndarray] = {
        "variance": variance,
        "reserve_exhausted": exhausted,
        "reserve_closing": closing,
        "reserve": reserve,
    }
    if fired is not None:
        extras["trigger_fired"] = fired
    if exit_start is not None:
        extras["exit"] = exit_start
    return {"pool": flows.pool, "partner": flows.partner, "extras": extras}


def _check_year_major(
    flows: _Flows, pool_spend: FloatArray, reserve: FloatArray, *, allow_deficit: bool
) -> None:
    """The balance check of :func:`riskshare.ledger.check_balance`, on year-major arrays.

    Recomputes, from the flows alone, that pool inflows equal outflows in
    every simulated year and that the reserve balance follows from its flows.
    """
    gap = np.negative(pool_spend)
    for name, arr in flows.partner.items():
        d = FLOWS[name].direction
        if not d:
            continue
        for p in range(arr.shape[1]):  # partner by partner: contiguous (years, sims) slices
            if d > 0:
                gap += arr[:, p]
            else:
                gap -= arr[:, p]
    for name, arr in flows.pool.items():
        d = FLOWS[name].direction
        if d > 0:
            gap += arr
        elif d < 0:
            gap -= arr
    np.abs(gap, out=gap)
    tolerance = np.abs(pool_spend)
    tolerance *= 1e-12
    tolerance += 0.01
    bad = gap > tolerance
    if bad.any():
        t, sim = np.argwhere(bad)[0]
        raise BalanceError(
            f"the pool does not balance in {int(bad.sum())} simulation-years; first at "
            f"simulation {sim}, year {t}: |inflows - outflows| = {gap[t, sim]:.6f} £"
        )
    change = np.zeros_like(pool_spend)
    for name, sign in (("reserve_topup", 1.0), ("reserve_draw", -1.0), ("reserve_release", -1.0)):
        if name in flows.pool:
            if sign > 0:
                change += flows.pool[name]
            else:
                change -= flows.pool[name]
    opening = reserve[0] - change[0]
    for t in range(1, change.shape[0]):  # cumulative sum over years (rows stay contiguous)
        change[t] += change[t - 1]
    change += opening
    change -= reserve
    np.abs(change, out=change)
    tolerance = np.abs(reserve)
    tolerance *= 1e-12
    tolerance += 0.01
    if (change > tolerance).any():
        raise BalanceError("the reserve balance does not follow from its draws and top-ups")
    if not allow_deficit and (reserve < -0.01).any():
        raise BalanceError("the reserve balance went negative")


def _net_spend(
    gross: FloatArray, income: FloatArray | None, rate: FloatArray, net_pooling: bool
) -> FloatArray:
    """Each group's spend net of charging income (at the expected rate when net). [£]

    Arrays are ``(groups, sims)``.
    """
    if income is None:
        return gross
    if net_pooling:
        return gross * (1.0 - rate)[:, None]
    return gross - income


def _context(terms: Terms, t: int, cumulative: FloatArray, spend_t: FloatArray) -> KeyContext:
    """What keys may depend on in year ``t``; ``spend_t`` is ``(groups, sims)``. [£]"""
    return KeyContext(
        terms.partner_ids,
        terms.host,
        terms.contributions[t],
        cumulative,
        spend_t,
        terms.commissioning,
        terms.agreement.weights,
    )


def _side(
    amount: FloatArray,
    sharing: Sharing,
    threshold: Threshold | None,
    ctx: KeyContext,
    budget: FloatArray,
) -> FloatArray:
    """Each partner's part of one side of the variance, ``(partners, sims)``. [£]"""
    if sharing.key == "own":
        return np.zeros((len(ctx.partner_ids), amount.shape[0]))
    shared = amount
    below_part = None
    if threshold is not None:
        tau = threshold.rate * budget
        # First dollar: shared once the amount reaches the threshold (G/B >= MSR);
        # dead band: the first tau always stays with below_key.
        within = amount < tau if threshold.first_dollar else amount <= tau
        below_amount = np.where(within, amount, 0.0 if threshold.first_dollar else tau)
        shared = amount - below_amount
        below_part = key_weights(threshold.below_key, ctx) * below_amount
    fallback = key_weights(sharing.key, ctx)
    if not sharing.bands:
        out = fallback * shared
    else:
        scale = budget if sharing.basis == "budget" else 1.0
        limits = [np.inf if b.upto is None else b.upto * scale for b in sharing.bands]
        weights = [key_weights(b.key, ctx) for b in sharing.bands]
        if sharing.bands[-1].upto is not None:
            limits.append(np.inf)
            weights.append(fallback)
        out = apply_tower(shared, limits, weights)
    if below_part is not None:
        out = out + below_part
    return out


def _cap_limit(
    cap: Any,
    contribution: float,
    budget: FloatArray,
    group_budget: FloatArray,
    terms: Terms,
    gidx: Mapping[str, int],
    q: int,
) -> FloatArray | float:
    if cap.amount is not None:
        return cap.amount
    if cap.of == "contribution":
        return cap.fraction * contribution
    if cap.of == "budget":
        return cap.fraction * budget
    g = gidx[cap.group]
    return cap.fraction * terms.commissioning[g, q] * group_budget[g]
