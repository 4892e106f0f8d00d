"""Contributions re-set each year from the year's outturn (R18): re-based and need-based.

With a ``rebased`` or ``outturn`` contribution the contributions differ per
simulation: next year's are computed at the end of each year
(:func:`next_contributions`, step ``rebase``) and paid at the next year's step
``contributions``. Contributions fixed in advance never come here: their path
is the same in every simulation (``Terms.contributions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from riskshare._types import BoolArray, FloatArray
from riskshare.config.model import Model, OutturnContribution, RebasedContribution
from riskshare.rules.base import Rule
from riskshare.rules.keys import sum_by_group

if TYPE_CHECKING:  # the terms hold the re-setting terms: imported here for types only
    from riskshare.rules.state import State
    from riskshare.rules.terms import Terms

__all__ = ["Rebasing", "ResetTerms", "next_contributions"]


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
        spends underspends on one-off items, so they never re-base a
        contribution down.
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

    @classmethod
    def from_model(cls, model: Model) -> ResetTerms | None:
        """The re-setting terms of ``model``, or ``None`` when every contribution is fixed."""
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
        )


def next_contributions(
    reset: ResetTerms,
    c: FloatArray,
    v_g: FloatArray | None,
    n_g: FloatArray,
    planned: FloatArray,
    t: int,
) -> FloatArray:
    """Next year's contributions from this year's, per simulation.

    Parameters
    ----------
    reset : ResetTerms
    c : ndarray
        This year's contributions ``(partners, sims)``. [£]
    v_g : ndarray or None
        This year's group variances ``V_g = N_g − B_g``, ``(groups, sims)``
        (``None`` when no partner re-bases). [£]
    n_g : ndarray
        This year's spend of each group net of charging income, after
        management action, ``(groups, sims)``. [£]
    planned : ndarray
        Next year's contributions fixed in advance ``(partners,)``, kept by
        the partners that are not re-set. [£]
    t : int
        Next year (its minimum applies).

    Returns
    -------
    ndarray
        ``(partners, sims)``: re-based ``(c + a·r)·(1 + uplift − efficiency) −
        efficiency_amount`` with ``r_p = Σ_g s_gp V_g`` (its negative part
        dropped when underspends do not recur); outturn ``factor · (1 +
        uplift) · Σ_g share_gp N_g``; otherwise ``planned``; each at least
        0 and at least the minimum. [£]
    """
    out = np.broadcast_to(planned[:, None], c.shape)
    if reset.rebased.any():
        r = sum_by_group(reset.commissioning, v_g)
        if not reset.underspends_recur:
            r = np.maximum(r, 0.0)
        rate = (1.0 + reset.uplift - reset.efficiency)[:, None]
        rebased = (c + reset.recurrent_share[:, None] * r) * rate - reset.efficiency_amount[:, None]
        out = np.where(reset.rebased[:, None], rebased, out)
    if reset.outturn.any():
        outturn = ((reset.factor * (1.0 + reset.uplift))[:, None]) * sum_by_group(
            reset.outturn_shares, n_g
        )
        out = np.where(reset.outturn[:, None], outturn, out)
    return np.maximum(np.maximum(out, 0.0), reset.minimum[t][:, None])


class Rebasing(Rule):
    """Sets each year's contributions per simulation; re-sets next year's at the year end."""

    name = "rebasing"
    steps = ("contributions", "rebase")
    carries = ("next_c",)
    order = -1  # before the contributions are paid from them

    def __init__(self, terms: Terms, reset: ResetTerms) -> None:
        self.terms = terms
        self.reset = reset
        if reset.rebased.any():
            self.needs = frozenset({"group_variances"})

    @classmethod
    def from_terms(cls, terms: Terms) -> Rebasing | None:
        return None if terms.reset is None else cls(terms, terms.reset)

    def start(self, s: State) -> None:
        # Year 0 is the same in every simulation: the first year of the planned path.
        s.next_c = np.repeat(self.terms.contributions[0][:, None], s.n_sims, axis=1)
        s.cumulative = np.zeros((s.n_partners, s.n_sims))

    def contributions(self, s: State) -> None:
        s.c = s.next_c

    def rebase(self, s: State) -> None:
        t = s.t + 1
        if t < s.years:
            v_g = s.v_g if self.reset.rebased.any() else None
            s.next_c = next_contributions(
                self.reset, s.c, v_g, s.n_g, self.terms.contributions[t], t
            )
