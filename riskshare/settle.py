"""Settlement: an agreement applied to spend paths, year by year.

No randomness here. Spend is drawn once (:mod:`riskshare.sampling`) and any
number of agreements (rules, contribution levels, reserves) are settled on the
same draws, so comparisons between them are paired.

Each year ``t``, vectorised over simulations:

1. contributions ``c_p`` come in; a top-slice of them goes to the reserve,
   the rest is the year's budget ``B``;
2. the pool's variance is ``V = spend - B`` (each partner's own variance
   ``V_p = commissioned spend_p - budget_p`` sums to it);
3. an overspend draws on the reserve first; an underspend is carried into the
   reserve up to its cap;
4. what is left, ``E``, is shared by the overspend or underspend rule (one key
   or a tower of bands) into each partner's position ``O_p``; positive parts
   are overspend calls, negative parts underspend refunds;
5. after the last year the reserve balance is distributed by its final key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.model import Agreement, Model, Sharing
from riskshare.ledger import Ledger, check_balance
from riskshare.rules.keys import KeyContext, key_weights
from riskshare.rules.tower import apply_tower

if TYPE_CHECKING:
    from riskshare.sampling import SpendPaths

__all__ = ["Terms", "settle"]


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
    partner_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    host: int
    first_year: int = 0

    @classmethod
    def from_model(
        cls,
        model: Model,
        *,
        agreement: Agreement | None = None,
        contributions: FloatArray | Mapping[str, object] | None = None,
    ) -> Terms:
        """Resolve a model's terms, optionally with another agreement or contributions.

        Parameters
        ----------
        model : Model
        agreement : Agreement, optional
            Replaces ``model.agreement``.
        contributions : ndarray, optional
            ``(years, partners)`` contributions replacing the model's. [£]
        """
        contrib = (
            model.contribution_schedule()
            if contributions is None
            else np.asarray(contributions, dtype=float)
        )
        years = model.simulation.years
        if contrib.shape != (years, len(model.partners)):
            raise ValueError(
                f"contributions must have shape (years, partners) = {(years, len(model.partners))}, "
                f"got {contrib.shape}"
            )
        if not np.all(np.isfinite(contrib)) or np.any(contrib < 0):
            raise ValueError("contributions must be finite and >= 0")
        pids = tuple(model.partner_ids)
        return cls(
            agreement=model.agreement if agreement is None else agreement,
            contributions=contrib,
            commissioning=model.commissioning_matrix(),
            partner_ids=pids,
            group_ids=tuple(model.group_ids),
            host=pids.index(model.host),
            first_year=model.simulation.first_year,
        )

    def settle(self, paths: SpendPaths, *, check: bool = True) -> Ledger:
        """Settle these terms on ``paths``; see :func:`settle`."""
        return settle_arrays(self, paths.spend, check=check)

    def settle_spend(self, spend: FloatArray, *, check: bool = True) -> Ledger:
        """Settle these terms on a raw ``(sims, years, groups)`` spend array. [£]"""
        return settle_arrays(self, spend, check=check)


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
        Drawn spend, ``(sims, years, groups)``.
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


def settle_arrays(terms: Terms, spend: FloatArray, *, check: bool = True) -> Ledger:
    """Settlement on a raw ``(sims, years, groups)`` spend array. [£]"""
    spend = np.asarray(spend, dtype=float)
    n_sims, years, n_groups = spend.shape
    n_partners = len(terms.partner_ids)
    if years != terms.contributions.shape[0]:
        raise ValueError(f"spend has {years} years, the terms {terms.contributions.shape[0]}")
    if n_groups != terms.commissioning.shape[0]:
        raise ValueError(f"spend has {n_groups} groups, the terms {terms.commissioning.shape[0]}")
    agr = terms.agreement
    aligned = agr.arrangement == "aligned"
    reserve_spec = agr.reserve

    calls = np.zeros((n_sims, years, n_partners))
    refunds = np.zeros((n_sims, years, n_partners))
    contributions = np.broadcast_to(terms.contributions, (n_sims, years, n_partners))
    final = np.zeros((n_sims, years, n_partners))
    pool_spend = spend.sum(axis=2)
    draw = np.zeros((n_sims, years))
    topup = np.zeros((n_sims, years))
    release = np.zeros((n_sims, years))
    reserve = np.zeros((n_sims, years))
    variance = np.zeros((n_sims, years))
    exhausted = np.zeros((n_sims, years), dtype=bool)

    balance = np.full(n_sims, reserve_spec.opening if reserve_spec else 0.0)
    cumulative = np.zeros(n_partners)
    for t in range(years):
        c = terms.contributions[t]
        cumulative = cumulative + c
        top_slice = np.zeros(n_partners)
        if reserve_spec is not None and (reserve_spec.top_slice_years == "every" or t == 0):
            top_slice = reserve_spec.top_slice * c
        budget_p = c - top_slice
        budget = budget_p.sum()
        balance = balance + top_slice.sum()
        topup[:, t] = top_slice.sum()

        own_spend = spend[:, t, :] @ terms.commissioning  # (sims, partners)
        own_variance = own_spend - budget_p
        v = pool_spend[:, t] - budget
        variance[:, t] = v
        over = np.maximum(v, 0.0)
        under = np.maximum(-v, 0.0)

        ctx = KeyContext(terms.partner_ids, terms.host, c, cumulative, own_spend, agr.weights)
        if reserve_spec is not None:
            used = np.minimum(balance, over)
            balance = balance - used
            draw[:, t] = used
            exhausted[:, t] = over > used
            if reserve_spec.carry_forward:
                room = np.inf if reserve_spec.cap is None else np.maximum(reserve_spec.cap - balance, 0.0)
                added = np.minimum(under, room)
                balance = balance + added
                topup[:, t] += added
            else:
                added = np.zeros(n_sims)
            over = over - used
            under = under - added
            absorbed = used - added  # the reserve's part of the variance this year
            reserve_weights = key_weights(reserve_spec.final_key, ctx)
        else:
            absorbed = np.zeros(n_sims)
            reserve_weights = np.zeros(n_partners)

        if aligned:
            position = own_variance
        else:
            position = (
                _share(over, agr.overspend, ctx, budget, own_variance, absorbed, reserve_weights)
                - _share(under, agr.underspend, ctx, budget, own_variance, absorbed,
                         reserve_weights, underspend=True)
            )
        calls[:, t] = np.maximum(position, 0.0)
        refunds[:, t] = np.maximum(-position, 0.0)
        reserve[:, t] = balance

    if reserve_spec is not None:
        ctx = KeyContext(terms.partner_ids, terms.host, terms.contributions[-1], cumulative,
                         spend[:, -1, :] @ terms.commissioning, agr.weights)
        weights = key_weights(reserve_spec.final_key, ctx)
        release[:, -1] = balance
        final[:, -1] = balance[:, None] * weights

    ledger = Ledger(
        partner_flows={
            "contribution": np.array(contributions),
            "overspend_call": calls,
            "underspend_refund": refunds,
            "final_distribution": final,
        },
        pool_flows={
            "spend": pool_spend,
            "reserve_draw": draw,
            "reserve_topup": topup,
            "reserve_release": release,
        },
        reserve=reserve,
        partner_ids=terms.partner_ids,
        first_year=terms.first_year,
        extras={
            "variance": variance,
            "reserve_exhausted": exhausted if reserve_spec is not None else np.zeros_like(exhausted),
        },
    )
    if check:
        check_balance(ledger)
    return ledger


def _share(
    amount: FloatArray,
    sharing: Sharing,
    ctx: KeyContext,
    budget: float,
    own_variance: FloatArray,
    absorbed: FloatArray,
    reserve_weights: FloatArray,
    *,
    underspend: bool = False,
) -> FloatArray:
    """Each partner's part of one side of the variance, ``(sims, partners)``. [£]

    With key ``'own'`` each partner takes its own groups' variance, less its
    share (by the reserve's key) of what the reserve absorbed; only the
    simulations on this side of zero are affected.
    """
    if sharing.key == "own":
        position = own_variance - absorbed[:, None] * reserve_weights
        side = (own_variance.sum(axis=1) < 0) if underspend else (own_variance.sum(axis=1) >= 0)
        sign = -1.0 if underspend else 1.0
        return np.where(side[:, None], sign * position, 0.0)
    fallback = key_weights(sharing.key, ctx)
    if not sharing.bands:
        return amount[:, None] * fallback
    scale = budget if sharing.basis == "budget" else 1.0
    limits = [np.inf if b.upto is None else b.upto * scale for b in sharing.bands]
    weights = [key_weights(b.key, ctx) for b in sharing.bands]
    if np.isfinite(limits[-1]):
        limits.append(np.inf)
        weights.append(fallback)
    return apply_tower(amount, limits, weights)
