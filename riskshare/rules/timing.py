"""In-year timing: how the year's spend accrues month by month (``docs/rules.md``, In-year timing).

Not a rule: the accrual shares that management action (step 6) and
instalments (step 11) read. Month ``k = 0 .. 12`` counts the months of the
financial year elapsed (0 at its start, 12 at its end).
"""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.rules.terms import Terms

__all__ = ["MONTHS", "WHOLE_YEAR", "group_accrued", "months_left", "pool_accrued", "whole_year"]

#: Months of a financial year.
MONTHS = 12
#: Flat accrual: ``k / 12`` of the year's spend by the end of month k. [fraction]
FLAT = np.arange(MONTHS + 1) / MONTHS
#: An accrued share this close to 1 is 1: the rest of the year accrues nothing, and
#: the shares' rounding must not leave a forecast a sliver of year to run. [fraction]
WHOLE_YEAR = 1.0 - 1e-12


def whole_year(accrued: FloatArray) -> FloatArray:
    """``accrued`` with shares of at least :data:`WHOLE_YEAR` set to exactly 1 (in place)."""
    accrued[accrued >= WHOLE_YEAR] = 1.0
    return accrued


def group_accrued(terms: Terms) -> FloatArray:
    """``(groups, 13)`` share of each group's spend accrued by the end of month k. [fraction]

    Flat (``k / 12``) for a group without an accrual profile.
    """
    if terms.accrual is not None:
        return terms.accrual
    return np.broadcast_to(FLAT, (len(terms.group_ids), MONTHS + 1))


def pool_accrued(terms: Terms) -> FloatArray:
    """``(years, 13)`` share of the pool's planned spend accrued by the end of month k. [fraction]

    ``A_t(k) = Σ_g β_tg A_g(k)``, the groups' accrual weighted by their shares
    of the year's group budget ``β_tg``; exactly ``k / 12`` when every group
    accrues flat.
    """
    if terms.accrual is None:
        return np.broadcast_to(FLAT, (terms.years, MONTHS + 1))
    out = whole_year(np.minimum(terms.budget_shares @ terms.accrual, 1.0))  # none past 1
    out[:, 0], out[:, MONTHS] = 0.0, 1.0
    return out


def months_left(terms: Terms, month: int) -> FloatArray:
    """``(years,)`` the pool's planned spend still to come after month ``month``, in months.

    ``12 · (1 − A_t(month))``: exactly ``12 − month`` when every group accrues
    flat. [months]
    """
    if terms.accrual is None:
        return np.full(terms.years, float(MONTHS - month))
    return MONTHS * (1.0 - pool_accrued(terms)[:, month])
