"""Step 6: management action (``agreement.trigger``), on the outturn or on a month's forecast."""

from __future__ import annotations

import numpy as np

from riskshare._types import FloatArray
from riskshare.rules.base import Rule
from riskshare.rules.charging import net_spend
from riskshare.rules.state import State
from riskshare.rules.terms import Terms
from riskshare.rules.timing import months_left, pool_accrued

__all__ = ["Trigger", "forecast_variance"]


def forecast_variance(
    n: FloatArray, plan: FloatArray, tau: float, sd: float, bias: float, z: FloatArray
) -> FloatArray:
    """The month's forecast of the pooled variance before action (docs/rules.md, step 6). [£]

    ``L = ln(n / plan)`` is the end of a Brownian motion with volatility
    ``sd`` in accrued time; its value at ``tau`` given the end is the bridge
    ``W = τ L + sd sqrt(τ (1 − τ)) z``; the forecast of ``L`` is
    ``W + bias (1 − τ)`` and of the variance ``plan · (exp(that) − 1)``.
    Where ``n`` or ``plan`` is not positive the forecast is the outturn
    ``n − plan``.

    Parameters
    ----------
    n : ndarray
        The year's net spend of the groups before action, ``(sims,)``. [£]
    plan : ndarray
        The spend the budget plans for them, ``B − X − U``, ``(1,)`` or ``(sims,)``. [£]
    tau : float
        Share of the year's planned spend accrued when the forecast is made. [fraction]
    sd, bias : float
        The forecast's volatility and bias (``trigger.forecast``). [fraction]
    z : ndarray
        Standard normals, ``(sims,)``, from the ``forecast`` stream.
    """
    ok = (n > 0) & (plan > 0)
    safe_plan = np.where(ok, plan, 1.0)
    log_dev = np.log(np.where(ok, n, 1.0) / safe_plan)
    walk = tau * log_dev + sd * np.sqrt(tau * (1.0 - tau)) * z + bias * (1.0 - tau)
    return np.where(ok, safe_plan * np.expm1(walk), n - plan)


class Trigger(Rule):
    """Past a threshold at ``month``, part of the rest of the year's overspend is saved.

    The assessed variance ``A`` is the outturn ``V0 = Σ_g N_g + X + U − B``
    (``on: outturn``) or its forecast at the month (``on: forecast``, see
    :func:`forecast_variance`). If ``A > threshold · B`` a mitigation
    ``M = mitigation · A · (1 − A_t(month + lag))`` scales every group's spend
    (and income) by ``1 − M / Σ_g S_g``; a recovery plan costs the pool
    ``fixed + proportional · M``.
    """

    name = "trigger"
    steps = ("trigger",)
    writes = frozenset({"mitigation", "recovery_cost"})

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.action = tr = terms.agreement.trigger
        #: (years,) months of planned spend left when action takes effect
        self.left = months_left(terms, tr.month + tr.lag)
        #: (years,) accrued share of the planned spend when the forecast is made
        self.tau = pool_accrued(terms)[:, tr.month]
        self.records = (
            ("trigger_fired", "trigger_needed", "forecast_error")
            if tr.on == "forecast"
            else ("trigger_fired",)
        )

    @classmethod
    def from_terms(cls, terms: Terms) -> Trigger | None:
        return cls(terms) if terms.agreement.trigger is not None else None

    def start(self, s: State) -> None:
        s.extras["trigger_fired"] = np.zeros((s.years, s.n_sims), dtype=bool)
        if self.action.on == "forecast":
            if s.forecast is None:
                raise ValueError("a trigger on: forecast needs the 'forecast' draws in the paths")
            s.extras["trigger_needed"] = np.zeros((s.years, s.n_sims), dtype=bool)
            s.extras["forecast_error"] = np.zeros((s.years, s.n_sims))

    def trigger(self, s: State) -> None:
        tr = self.action
        t = s.t
        budget = s.budget
        n = s.n_g.sum(axis=0)
        v0 = n + s.x + s.uncommitted - budget
        assessed = v0
        if tr.on == "forecast":
            fc = tr.forecast
            plan = budget - s.x - s.uncommitted
            z = np.asarray(s.forecast)[:, t]
            assessed = forecast_variance(n, plan, float(self.tau[t]), fc.sd, fc.bias, z)
            s.extras["trigger_needed"][t] = v0 > tr.threshold * budget
            s.extras["forecast_error"][t] = v0 - assessed
        hit = assessed > tr.threshold * budget
        cut = np.where(hit, tr.mitigation * assessed * self.left[t] / 12, 0.0)
        total = s.gross.sum(axis=0)
        scale = np.clip(1.0 - cut / np.where(total > 0, total, 1.0), 0.0, 1.0)
        s.gross = s.gross * scale
        if s.inc is not None:
            s.inc = s.inc * scale
        s.n_g = net_spend(s.gross, s.inc, self.terms)
        s.extras["trigger_fired"][t] = hit
        saved = total * (1.0 - scale)
        s.flows.add("mitigation", t, saved)
        cost = tr.cost
        if cost is not None and (cost.fixed or cost.proportional):
            paid = np.where(hit, cost.fixed + cost.proportional * saved, 0.0)
            s.flows.add("recovery_cost", t, paid)
            s.x = s.x + paid
