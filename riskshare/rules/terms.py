"""The terms of a settlement: an agreement and the model's figures it is settled with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from riskshare._types import BoolArray, FloatArray, IntArray
from riskshare.config.model import Agreement, Model
from riskshare.rules.keys import KeyContext
from riskshare.rules.rebasing import ResetTerms

__all__ = ["Terms"]


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
    metric_ids : tuple of str
        Performance metric ids (the draws' keys).
    schedules : tuple of (Terms, ndarray)
        With ``agreement.schedules``: each schedule's terms and the indices of
        its groups on the group axis; empty for a one-schedule agreement.
    offset_across : bool
        Whether this schedule takes part in offsets between schedules.
    funding : ndarray, optional
        ``(years, partners)``: the fraction of each partner's contribution that
        funds this schedule, one schedule of several (``agreement.schedules``);
        ``None`` otherwise. An exit cost is booked to the schedules by the
        leaver's fractions. [fraction]
    savings_share : ndarray, optional
        ``(years,)``: the fraction of the agreement's integration savings this
        schedule of several receives; ``None`` otherwise. [fraction]
    accrual : ndarray, optional
        ``(groups, 13)`` share of each group's spend accrued by the end of
        month ``k = 0 .. 12`` of the year (0 at 0, 1 at 12), from the groups'
        and the agreement's ``accrual`` profiles; ``None`` when every group
        accrues flat (``k / 12``). [fraction]
    case_groups : tuple of int
        The groups with case splits (``client_groups[].cases``), settled on
        their own by their cases' shares; ``commissioning`` holds their
        expected split.
    reset : ResetTerms, optional
        How contributions re-set each year from the outturn (``rebased``,
        ``outturn``); ``None`` when every contribution is fixed in advance
        (then ``contributions`` is paid in every simulation).
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
    materiality: float = 0.0
    schedules: tuple[tuple[Terms, IntArray], ...] = ()
    offset_across: bool = False
    funding: FloatArray | None = None
    savings_share: FloatArray | None = None
    accrual: FloatArray | None = None
    case_groups: tuple[int, ...] = ()
    reset: ResetTerms | None = None

    @classmethod
    def from_model(cls, model: Model, *, contributions: FloatArray | None = None) -> Terms:
        """Resolve a model's terms, optionally with other contributions.

        Parameters
        ----------
        model : Model
            Its agreement is settled (to settle another, pass
            :func:`riskshare.config.with_agreement` of it).
        contributions : ndarray, optional
            ``(years, partners)`` contributions replacing the model's, fixed
            in advance (nothing re-sets them). [£]
        """
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
        rate = model.charging_rates()
        pids = tuple(model.partner_ids)
        reset = ResetTerms.from_model(model, contrib) if contributions is None else None
        return cls(
            schedules=_schedule_terms(model, contrib, reset),
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
            materiality=model.simulation.materiality,
            accrual=_accrual(model),
            case_groups=tuple(g for g, grp in enumerate(model.client_groups) if grp.cases),
            reset=reset,
        )

    @property
    def schedule_ids(self) -> tuple[str, ...]:
        """The ids of the agreement's schedules (``("agreement",)`` for one implicit schedule)."""
        if not self.agreement.schedules:
            return ("agreement",)
        return tuple(s.id for s in self.agreement.schedules)

    @property
    def years(self) -> int:
        """Years of the agreement."""
        return int(self.contributions.shape[0])

    def partner(self, pid: str) -> int:
        """Index of partner ``pid`` on the partner axis."""
        return self.partner_ids.index(pid)

    def group(self, gid: str) -> int:
        """Index of client group ``gid`` on the group axis."""
        return self.group_ids.index(gid)

    def context(
        self,
        t: int,
        cumulative: FloatArray,
        spend_t: FloatArray,
        present: BoolArray | None = None,
        cases: Mapping[int, FloatArray] | None = None,
        contributions: FloatArray | None = None,
    ) -> KeyContext:
        """What keys may depend on in year ``t``; ``spend_t`` is ``(groups, sims)``. [£]

        ``present`` (``(partners, sims)``, after an exit) recomputes every
        key over the partners still in the agreement; ``cases`` are the
        year's case shares of the groups with case splits
        (:meth:`~riskshare.rules.state.State.cases_at`). ``contributions`` are
        the year's as paid (``(partners, sims)`` when they are re-set per
        simulation; default: the terms', ``(partners,)``). [£]
        """
        return KeyContext(
            self.partner_ids,
            self.host,
            self.contributions[t] if contributions is None else contributions,
            cumulative,
            spend_t,
            self.commissioning,
            self.agreement.weights,
            present,
            cases,
        )

    @cached_property
    def pooled(self) -> BoolArray:
        """Which groups are pooled, ``(groups,)``: all but those with a profile (``group_keys``)
        and those with case splits (:attr:`case_groups`)."""
        pooled = np.ones(len(self.group_ids), dtype=bool)
        for gid in self.agreement.group_keys:
            pooled[self.group(gid)] = False
        pooled[list(self.case_groups)] = False
        return pooled


def _accrual(model: Model) -> FloatArray | None:
    """``(groups, 13)`` cumulative accrual of each group by month end, or ``None`` if all flat."""
    pool = model.agreement.accrual
    profiles = [g.accrual if g.accrual is not None else pool for g in model.client_groups]
    if all(p is None for p in profiles):
        return None
    monthly = np.array([np.full(12, 1 / 12) if p is None else p for p in profiles], dtype=float)
    monthly /= monthly.sum(axis=1, keepdims=True)  # exactly 1 over the year (validated to 1e-6)
    out = np.zeros((len(profiles), 13))
    np.minimum(np.cumsum(monthly, axis=1), 1.0, out=out[:, 1:])  # no rounding past 1
    out[:, 12] = 1.0
    return out


def _schedule_terms(
    model: Model, contributions: FloatArray, reset: ResetTerms | None
) -> tuple[tuple[Terms, IntArray], ...]:
    """Each schedule's terms and group indices (empty for a one-schedule agreement).

    With contributions re-set each year (``reset``), every schedule re-sets
    the agreement's contributions (:mod:`riskshare.rules.rebasing`) and is
    paid its funding fraction of them (all of them under ``arrangement: lead``).
    """
    agr = model.agreement
    subs = model.schedule_models(contributions)
    if subs == [model]:
        return ()
    across = agr.across
    taking_part = set()
    if across is not None and across.offset:
        taking_part = set(
            across.schedules or [s.id for s in agr.schedules if s.arrangement != "aligned"]
        )
    gidx = {g: i for i, g in enumerate(model.group_ids)}
    funding = model.schedule_funding()
    several = bool(agr.schedules)  # not one implicit schedule (an agreement of arrangement lead)
    savings = model.savings_shares() if several else None
    out = []
    for s, (sched, sub) in enumerate(zip(model.schedules(), subs, strict=True)):
        terms = Terms.from_model(sub)
        groups = np.array([gidx[g] for g in sched.groups], dtype=np.intp)
        if sched.id in taking_part:
            terms = replace(terms, offset_across=True)
        if reset is not None:
            part = reset.for_schedule(groups, sched.underspend_disposition, funding[s])
            terms = replace(terms, reset=part)
        if several and savings is not None:
            terms = replace(terms, funding=funding[s], savings_share=savings[s])
        out.append((terms, groups))
    return tuple(out)
