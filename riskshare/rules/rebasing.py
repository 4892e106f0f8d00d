"""Contributions re-set each year from the year's outturn (R18): re-based and need-based.

With a ``rebased`` or ``outturn`` contribution the contributions differ per
simulation: next year's are computed at the end of each year
(:func:`next_contributions`, step ``rebase``) and paid at the next year's step
``contributions``. Contributions fixed in advance never come here: their path
is the same in every simulation (``Terms.contributions``).

Contributions are re-set once for the whole agreement: with several schedules
(or ``arrangement: lead``) each schedule's state holds this rule with the
agreement's terms and the schedule's funding fractions. Before the ``rebase``
step the settlement sums the schedules' recurrent variances and outturns
(:func:`share_experience`), each schedule re-sets the partners' whole
contributions from the sums (the same in every schedule) and pays in its
funding fraction of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from riskshare._types import BoolArray, FloatArray, IntArray
from riskshare.config.model import Model, OutturnContribution, RebasedContribution
from riskshare.rules.base import Rule, between
from riskshare.rules.keys import sum_by_group

if TYPE_CHECKING:  # the terms hold the re-setting terms: imported here for types only
    from riskshare.rules.state import State
    from riskshare.rules.terms import Terms

__all__ = ["Rebasing", "ResetTerms", "experience", "next_contributions", "share_experience"]


@dataclass(frozen=True)
class ResetTerms:
    """How each partner's contribution is re-set, as arrays over partners.

    Parameters
    ----------
    rebased, outturn : ndarray of bool
        ``(partners,)``: re-based on the recurrent variance, re-set to a
        share of last year's outturn; neither: fixed in advance.
    recurrent_share : ndarray
        ``(partners,)`` share ``a`` of the recurrent variance re-based. [fraction]
    uplift : ndarray
        ``(partners,)`` annual uplift (of the re-based contribution, or of
        last year's outturn). [rate]
    efficiency : ndarray
        ``(partners,)`` efficiency requirement as a rate. [rate]
    efficiency_amount : ndarray
        ``(partners,)`` efficiency requirement as an amount. [£]
    factor : ndarray
        ``(partners,)`` multiplier of the outturn share. [fraction]
    outturn_shares : ndarray
        ``(groups, partners)`` each partner's share of each group's outturn. [fraction]
    commissioning : ndarray
        ``(groups, partners)`` commissioning shares: whose recurrent variance
        a group's variance is. [fraction]
    minimum : ndarray
        ``(years, partners)`` the floor of each contribution (0 without one). [£]
    underspends_recur : bool
        False with ``underspend_disposition: nonrecurrent``: the agreement
        (or this schedule) spends underspends on one-off items, so they never
        re-base a contribution down.
    planned : ndarray
        ``(years, partners)`` the agreement's planned contributions: year 0
        of every partner, and every year of a partner not re-set. [£]
    funding : ndarray, optional
        ``(years, partners)`` the fraction of each partner's contribution paid
        into this schedule (``Model.schedule_funding``); ``None``: the whole
        contribution (one schedule). [fraction]
    """

    rebased: BoolArray
    outturn: BoolArray
    recurrent_share: FloatArray
    uplift: FloatArray
    efficiency: FloatArray
    efficiency_amount: FloatArray
    factor: FloatArray
    outturn_shares: FloatArray
    commissioning: FloatArray
    minimum: FloatArray
    underspends_recur: bool
    planned: FloatArray
    funding: FloatArray | None = None

    @classmethod
    def from_model(cls, model: Model, planned: FloatArray) -> ResetTerms | None:
        """The re-setting terms of ``model``, or ``None`` when every contribution is fixed.

        ``planned`` is ``model.contribution_schedule()``, ``(years, partners)``. [£]
        """
        if not model.contributions_vary:
            return None
        specs = [model.contributions[pid] for pid in model.partner_ids]
        comm = model.commissioning_matrix()
        gidx = {g: i for i, g in enumerate(model.group_ids)}
        shares = np.zeros_like(comm)
        for p, spec in enumerate(specs):
            if isinstance(spec, OutturnContribution):
                if spec.shares is None:
                    shares[:, p] = comm[:, p]
                else:
                    for gid, share in spec.shares.items():
                        shares[gidx[gid], p] = share

        def field(name: str, kind: type, default: float) -> FloatArray:
            return np.array([getattr(s, name) if isinstance(s, kind) else default for s in specs])

        rebased = np.array([isinstance(s, RebasedContribution) for s in specs])
        outturn = np.array([isinstance(s, OutturnContribution) for s in specs])
        uplift = np.where(
            rebased | outturn,
            [getattr(s, "uplift", 0.0) or 0.0 for s in specs],
            0.0,
        )
        return cls(
            rebased=rebased,
            outturn=outturn,
            recurrent_share=field("recurrent_share", RebasedContribution, 0.0),
            uplift=uplift,
            efficiency=field("efficiency", RebasedContribution, 0.0),
            efficiency_amount=field("efficiency_amount", RebasedContribution, 0.0),
            factor=field("factor", OutturnContribution, 0.0),
            outturn_shares=shares,
            commissioning=comm,
            minimum=model.minimum_schedule(),
            underspends_recur=model.agreement.underspend_disposition != "nonrecurrent",
            planned=planned,
        )

    def for_schedule(
        self, groups: IntArray, disposition: str, funding: FloatArray | None
    ) -> ResetTerms:
        """These terms for one schedule: its groups (indices), its ``underspend_disposition``
        and its ``(years, partners)`` funding fractions (``None``: the whole contribution)."""
        return replace(
            self,
            commissioning=self.commissioning[groups],
            outturn_shares=self.outturn_shares[groups],
            underspends_recur=disposition != "nonrecurrent",
            funding=funding,
        )


def experience(
    reset: ResetTerms, v_g: FloatArray | None, n_g: FloatArray
) -> tuple[FloatArray | None, FloatArray | None]:
    """This year's experience that re-sets the contributions, of one schedule's groups.

    Parameters
    ----------
    reset : ResetTerms
        Of this schedule (its groups' rows).
    v_g : ndarray or None
        Group variances ``V_g = N_g − B_g``, ``(groups, sims)`` (``None``
        when no partner re-bases). [£]
    n_g : ndarray
        Each group's spend net of charging income after management action,
        ``(groups, sims)``. [£]

    Returns
    -------
    recurrent : ndarray or None
        ``(partners, sims)`` recurrent variance ``r_p = Σ_g s_gp V_g`` (its
        negative part dropped when underspends do not recur); ``None`` when
        no partner re-bases. [£]
    outturn : ndarray or None
        ``(partners, sims)`` each partner's share of the outturn
        ``Σ_g share_gp N_g``; ``None`` when no partner re-sets to it. [£]
    """
    recurrent = outturn = None
    if reset.rebased.any():
        recurrent = sum_by_group(reset.commissioning, v_g)
        if not reset.underspends_recur:
            recurrent = np.maximum(recurrent, 0.0)
    if reset.outturn.any():
        outturn = sum_by_group(reset.outturn_shares, n_g)
    return recurrent, outturn


@between("before", "rebase")
def share_experience(terms: Terms, states: list[State]) -> None:
    """Give each schedule the agreement's experience: each schedule's summed (``recurrent``,
    ``outturn``; nothing when contributions are fixed)."""
    if states[0].terms.reset is None:
        return
    parts = [experience(s.terms.reset, s.v_g, s.n_g) for s in states]
    totals = []
    for k in range(2):
        total = parts[0][k]
        for part in parts[1:]:
            total = None if total is None else total + part[k]
        totals.append(total)
    for s in states:
        s.recurrent, s.outturn = totals


def next_contributions(
    reset: ResetTerms,
    c: FloatArray,
    recurrent: FloatArray | None,
    outturn: FloatArray | None,
    t: int,
) -> FloatArray:
    """Next year's contributions from this year's, per simulation.

    Parameters
    ----------
    reset : ResetTerms
    c : ndarray
        This year's contributions (each partner's whole contribution to the
        agreement) ``(partners, sims)``. [£]
    recurrent, outturn : ndarray or None
        This year's recurrent variance and outturn shares of the whole
        agreement, ``(partners, sims)`` (:func:`experience`). [£]
    t : int
        Next year (its planned contributions and minimum apply).

    Returns
    -------
    ndarray
        ``(partners, sims)``: re-based ``(c + a·r)·(1 + uplift − efficiency) −
        efficiency_amount``; outturn ``factor · (1 + uplift) · outturn``;
        otherwise the planned contribution; each at least 0 and at least the
        minimum. [£]
    """
    out = np.broadcast_to(reset.planned[t][:, None], c.shape)
    if recurrent is not None:
        rate = (1.0 + reset.uplift - reset.efficiency)[:, None]
        rebased = (c + reset.recurrent_share[:, None] * recurrent) * rate - reset.efficiency_amount[
            :, None
        ]
        out = np.where(reset.rebased[:, None], rebased, out)
    if outturn is not None:
        out = np.where(
            reset.outturn[:, None], (reset.factor * (1.0 + reset.uplift))[:, None] * outturn, out
        )
    return np.maximum(np.maximum(out, 0.0), reset.minimum[t][:, None])


class Rebasing(Rule):
    """Sets each year's contributions per simulation; re-sets next year's at the year end.

    ``agreed`` is each partner's whole contribution, ``(partners, sims)``;
    the schedule is paid its funding fraction of it (``next_c``).
    """

    name = "rebasing"
    steps = ("contributions", "rebase")
    carries = ("next_c", "agreed")
    order = -1  # before the contributions are paid from them

    def __init__(self, reset: ResetTerms) -> None:
        self.reset = reset
        if reset.rebased.any():
            self.needs = frozenset({"group_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Rebasing | None:
        return None if terms.reset is None else cls(terms.reset)

    def start(self, s: State) -> None:
        # Year 0 is the same in every simulation: the first year of the planned path.
        s.agreed = np.repeat(self.reset.planned[0][:, None], s.n_sims, axis=1)
        s.next_c = self.paid(s.agreed, 0)
        s.cumulative = np.zeros((s.n_partners, s.n_sims))

    def paid(self, agreed: FloatArray, t: int) -> FloatArray:
        """What the partners pay into this schedule in year ``t`` of ``agreed``. [£]"""
        f = self.reset.funding
        return agreed if f is None else f[t][:, None] * agreed

    def contributions(self, s: State) -> None:
        s.c = s.next_c

    def rebase(self, s: State) -> None:
        t = s.t + 1
        if t < s.years:
            s.agreed = next_contributions(self.reset, s.agreed, s.recurrent, s.outturn, t)
            s.next_c = self.paid(s.agreed, t)
