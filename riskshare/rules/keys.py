"""Allocation keys: how an amount is split between partners.

A key turns an amount into each partner's part of it. Keys are resolved for
one year into weights that sum to 1 over partners: ``(partners, 1)`` for keys
fixed in advance, ``(partners, sims)`` for keys that depend on the year's
spend. Partner-major arrays (partners first, simulations last) keep every
per-partner vector contiguous in the settlement loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskshare._types import BoolArray, FloatArray

__all__ = ["KeyContext", "column", "key_weights", "over_present", "sum_by_group"]


@dataclass(frozen=True)
class KeyContext:
    """What a key may depend on in one year.

    Parameters
    ----------
    partner_ids : sequence of str
        The partner axis.
    host : int
        Index of the host partner.
    contributions : ndarray
        This year's contributions, ``(partners,)``, or ``(partners, sims)``
        when they are re-set per simulation. [£]
    cumulative_contributions : ndarray
        Contributions from year 0 to this year, the same shape. [£]
    spend : ndarray
        This year's spend of each group, ``(groups, sims)``. [£]
    commissioning : ndarray
        ``(groups, partners)`` commissioning shares.
    weights : {"current", "cumulative"}
        Which contributions ``'proportional'`` uses.
    present : ndarray of bool, optional
        ``(partners, sims)``: the partners still in the agreement after an
        exit; every key is recomputed over them.
    case_shares : mapping of int to ndarray, optional
        For groups with case splits (by index on the group axis), each
        partner's share of the group's spend this year ``(partners, sims)``,
        used instead of the group's row of ``commissioning``. [fraction]
    """

    partner_ids: Sequence[str]
    host: int
    contributions: FloatArray
    cumulative_contributions: FloatArray
    spend: FloatArray
    commissioning: FloatArray
    weights: str = "current"
    present: BoolArray | None = None
    case_shares: Mapping[int, FloatArray] | None = None

    @cached_property
    def commissioned_spend(self) -> FloatArray:
        """Spend of the groups each partner commissions, ``(partners, sims)``. [£]

        A group with case splits counts by its cases' shares this year.
        """
        out = np.zeros((len(self.partner_ids), self.spend.shape[1]))
        cases = self.case_shares or {}
        for g, row in enumerate(self.commissioning):
            if g in cases:
                out += cases[g] * self.spend[g]
                continue
            for p, share in enumerate(row):
                if share:
                    out[p] += share * self.spend[g]
        return out


def sum_by_group(shares: FloatArray, x: FloatArray) -> FloatArray:
    """``Σ_g shares[g, j] · x[g]``: ``(columns, sims)`` from ``(groups, columns)`` shares.

    Summed group by group, not as a matrix product: BLAS sums a product of
    one simulation (a matrix-vector product) differently from one of many,
    so a matrix product would make the figures depend on how the
    simulations are chunked.
    """
    out = np.zeros((shares.shape[1], x.shape[1]))
    for g, row in enumerate(shares):
        out += row[:, None] * x[g]
    return out


def key_weights(key: str | Mapping[str, float], ctx: KeyContext) -> FloatArray:
    """Weights of a key for one year; they sum to 1 over the first axis.

    Parameters
    ----------
    key : str or mapping of str to float
        ``'proportional'`` (to contributions), ``'host'``, ``'commissioners'``
        (to the spend each partner commissions this year) or fixed shares
        ``{partner: share}``. ``'own'`` is not a key of weights (it gives each
        partner its own variance) and is handled by the settlement.
    ctx : KeyContext
        With ``present`` (after an exit), the weights are recomputed over the
        partners still in the agreement (:func:`over_present`).

    Returns
    -------
    ndarray
        ``(partners, 1)`` or ``(partners, sims)``. [fraction]

    Examples
    --------
    >>> import numpy as np
    >>> ctx = KeyContext(["nhs", "council"], 1, np.array([14.0, 33.0]),
    ...                  np.array([14.0, 33.0]), np.zeros((1, 1)), np.ones((1, 2)) / 2)
    >>> key_weights("proportional", ctx).round(4).ravel()
    array([0.2979, 0.7021])
    >>> key_weights({"nhs": 0.5, "council": 0.5}, ctx).ravel()
    array([0.5, 0.5])
    """
    w = _weights(key, ctx)
    if ctx.present is None:
        return w
    return over_present(w, ctx.present, ctx.contributions)


def over_present(w: FloatArray, present: BoolArray, contributions: FloatArray) -> FloatArray:
    """Weights ``w`` recomputed over the partners ``present`` (``(partners, sims)``).

    A key that gave the present partners nothing (the host has left) falls
    back to their contributions, then to equal shares. With nobody present
    (the agreement has ended) the weights are the key's own.
    """
    original = w
    w = np.where(present, w, 0.0)
    total = w.sum(axis=0)
    c = np.where(present, column(contributions), 0.0)
    c_total = c.sum(axis=0)
    n = present.sum(axis=0)
    fallback = np.where(
        c_total > 0, c / np.where(c_total > 0, c_total, 1.0), present / np.maximum(n, 1)
    )
    out = np.where(total > 0, w / np.where(total > 0, total, 1.0), fallback)
    return np.where(n > 0, out, original)


def column(c: FloatArray) -> FloatArray:
    """Contributions as a partner column: ``(partners,)`` → ``(partners, 1)``, else as they are."""
    return c[:, None] if c.ndim == 1 else c


def _weights(key: str | Mapping[str, float], ctx: KeyContext) -> FloatArray:
    """Weights of a key for one year over every partner."""
    n_partners = len(ctx.partner_ids)
    if isinstance(key, Mapping):
        w = np.array([key.get(pid, 0.0) for pid in ctx.partner_ids], dtype=float)
        return w[:, None]
    if key == "proportional":
        c = ctx.cumulative_contributions if ctx.weights == "cumulative" else ctx.contributions
        if c.ndim == 2:  # re-set per simulation: where nobody contributes, equal shares
            total = c.sum(axis=0)
            safe = np.where(total > 0, total, 1.0)
            return np.where(total > 0, c / safe, 1.0 / n_partners)
        total = c.sum()
        if total <= 0:
            raise ValueError("'proportional' key needs positive total contributions")
        return (c / total)[:, None]
    if key == "host":
        w = np.zeros((n_partners, 1))
        w[ctx.host] = 1.0
        return w
    if key == "commissioners":
        s = ctx.commissioned_spend
        total = s.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        return np.where(total > 0, s / safe, 1.0 / n_partners)
    raise ValueError(
        f"unknown key {key!r} (allowed: proportional, host, commissioners, "
        "own, or {partner: share})"
    )
