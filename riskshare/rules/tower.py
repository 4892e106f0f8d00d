"""Towers of bands: a piecewise-linear split of an amount between partners.

A tower is a list of bands ``[lower_j, upper_j)`` of the amount (e.g. an
overspend), each with its own key. The part of the amount that falls in band
``j``, ``clip(amount - lower_j, 0, upper_j - lower_j)``, is split by band
``j``'s weights. This is the general form of risk corridors (ACA, Part D),
host-first rules, dead bands and pain/gain shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from riskshare._types import FloatArray

__all__ = ["apply_tower", "band_amounts"]


def band_amounts(amount: FloatArray, limits: Sequence[float | FloatArray]) -> FloatArray:
    """The part of ``amount`` in each band.

    Parameters
    ----------
    amount : ndarray
        Non-negative amounts, ``(sims,)``. [£]
    limits : sequence of float or ndarray
        Upper limits of the bands, increasing; the last may be ``inf``; each
        a number or one per simulation. [£]

    Returns
    -------
    ndarray
        ``(bands, sims)``; columns sum to ``amount`` when the last limit is ``inf``. [£]

    Examples
    --------
    >>> band_amounts(np.array([0.0, 1.5, 7.0]), [1.0, 5.0, np.inf])
    array([[0. , 1. , 1. ],
           [0. , 0.5, 4. ],
           [0. , 0. , 2. ]])
    """
    out = np.empty((len(limits), amount.shape[0]))
    lower: float | FloatArray = 0.0
    for j, upper in enumerate(limits):
        np.clip(amount - lower, 0.0, np.subtract(upper, lower), out=out[j])
        lower = upper
    return out


def apply_tower(
    amount: FloatArray, limits: Sequence[float | FloatArray], weights: Sequence[FloatArray]
) -> FloatArray:
    """Split ``amount`` between partners through a tower of bands.

    Parameters
    ----------
    amount : ndarray
        Non-negative amounts to split, ``(sims,)``. [£]
    limits : sequence of float or ndarray
        Upper limit of each band (the last ``inf``); numbers or one per simulation. [£]
    weights : sequence of ndarray
        Each band's partner weights, ``(partners, 1)`` or ``(partners, sims)``.

    Returns
    -------
    ndarray
        Each partner's part, ``(partners, sims)``. [£]

    Examples
    --------
    Host (partner 0) bears the first 2, then 50/50 to 5, then 30/70:

    >>> w = [np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]), np.array([[0.3], [0.7]])]
    >>> apply_tower(np.array([1.0, 4.0, 10.0]), [2.0, 5.0, np.inf], w)
    array([[1., 3., 5.],
           [0., 1., 5.]])
    """
    parts = band_amounts(amount, limits)
    # Band by band, not a matrix product: BLAS sums a one-simulation chunk
    # (matrix-vector) differently, and the figures must not depend on the chunking.
    out = np.zeros((weights[0].shape[0], amount.shape[0]))
    for j, w in enumerate(weights):
        out += w * parts[j]
    return out
