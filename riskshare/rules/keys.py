"""Allocation keys: how an amount is split between partners.

A key turns an amount into each partner's part of it. Keys are resolved for
one year into a weight array that sums to 1 over partners: ``(partners,)`` for
keys fixed in advance, ``(sims, partners)`` for keys that depend on the year's
spend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from riskshare._types import FloatArray

__all__ = ["KeyContext", "key_weights"]


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
        This year's contributions, ``(partners,)``. [£]
    cumulative_contributions : ndarray
        Contributions from year 0 to this year, ``(partners,)``. [£]
    commissioned_spend : ndarray
        Spend of the groups each partner commissions, ``(sims, partners)``. [£]
    weights : {"current", "cumulative"}
        Which contributions ``'proportional'`` uses.
    """

    partner_ids: Sequence[str]
    host: int
    contributions: FloatArray
    cumulative_contributions: FloatArray
    commissioned_spend: FloatArray
    weights: str = "current"


def key_weights(key: str | Mapping[str, float], ctx: KeyContext) -> FloatArray:
    """Weights of a key for one year; they sum to 1 over the last axis.

    Parameters
    ----------
    key : str or mapping of str to float
        ``'proportional'`` (to contributions), ``'host'``, ``'commissioners'``
        (to the spend each partner commissions this year) or fixed shares
        ``{partner: share}``. ``'own'`` is not a key of weights (it allocates
        each partner its own variance) and is handled by the settlement.
    ctx : KeyContext

    Returns
    -------
    ndarray
        ``(partners,)`` or ``(sims, partners)``. [fraction]

    Examples
    --------
    >>> import numpy as np
    >>> ctx = KeyContext(["nhs", "council"], 1, np.array([14.0, 33.0]),
    ...                  np.array([14.0, 33.0]), np.zeros((1, 2)))
    >>> key_weights("proportional", ctx).round(4)
    array([0.2979, 0.7021])
    >>> key_weights({"nhs": 0.5, "council": 0.5}, ctx)
    array([0.5, 0.5])
    """
    n_partners = len(ctx.partner_ids)
    if isinstance(key, Mapping):
        w = np.zeros(n_partners)
        for i, pid in enumerate(ctx.partner_ids):
            w[i] = key.get(pid, 0.0)
        return w
    if key == "proportional":
        c = ctx.cumulative_contributions if ctx.weights == "cumulative" else ctx.contributions
        total = c.sum()
        if total <= 0:
            raise ValueError("'proportional' key needs positive total contributions")
        return c / total
    if key == "host":
        w = np.zeros(n_partners)
        w[ctx.host] = 1.0
        return w
    if key == "commissioners":
        s = ctx.commissioned_spend
        total = s.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(total > 0, s / np.where(total > 0, total, 1.0), 1.0 / n_partners)
        return w
    raise ValueError(f"unknown key {key!r} (allowed: proportional, host, commissioners, "
                     "own, or {partner: share})")
