"""Helpers for testing settlement: model builders, hypothesis strategies, ledger asserts.

``riskshare.testing.strategies`` needs :mod:`hypothesis` (a test dependency);
this module and :mod:`riskshare.testing.asserts` need only numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskshare.config.model import Model

__all__ = ["engine_ledger", "fixed_model"]


def fixed_model(
    partners: Sequence[str],
    groups: Mapping[str, tuple[str | Mapping[str, float], Sequence[float]]],
    contributions: Mapping[str, Sequence[float]],
    agreement: Mapping[str, Any] | None = None,
    *,
    host: str | None = None,
    charging: Mapping[str, float] | None = None,
    accrual: Mapping[str, Sequence[float]] | None = None,
    cases: Mapping[str, Mapping[str, Any]] | None = None,
    **extra: Any,
) -> Model:
    """A validated model with deterministic (``fixed``) spend, for worked examples.

    Parameters
    ----------
    partners : sequence of str
        Partner ids, in axis order.
    groups : mapping
        ``{group id: (commissioners, spend per year)}``: commissioners a partner
        id or ``{partner: share}``; spend in £ per year (its length sets the
        number of years).
    contributions : mapping
        ``{partner id: amounts per year}`` [£], or ``{partner id: spec}``
        with a contribution's config (e.g. ``{"kind": "rebased", ...}``).
    agreement : mapping, optional
        The ``agreement`` section of a config.
    host : str, optional
        The partner marked ``host: true``.
    charging : mapping, optional
        ``{group id: expected charging rate}`` (CV 0: deterministic income).
    accrual : mapping, optional
        ``{group id: twelve monthly shares}``: the group's accrual profile.
    cases : mapping, optional
        ``{group id: case splits}`` (the ``cases`` clause of a group).
    **extra
        Other top-level config sections (``performance``, ``integration_savings``).
    """
    years = len(next(iter(groups.values()))[1])
    data: dict[str, Any] = {
        "partners": [{"id": p, "host": p == host} for p in partners],
        "client_groups": [
            {
                "id": gid,
                "commissioners": comm if isinstance(comm, str) else dict(comm),
                "spend": {"model": "fixed", "amounts": [float(x) for x in amounts]},
                **({"charging": {"rate": charging[gid]}} if charging and gid in charging else {}),
                **({"accrual": list(accrual[gid])} if accrual and gid in accrual else {}),
                **({"cases": dict(cases[gid])} if cases and gid in cases else {}),
            }
            for gid, (comm, amounts) in groups.items()
        ],
        "contributions": {
            p: dict(a)
            if isinstance(a, Mapping)
            else {"kind": "schedule", "amounts": [float(x) for x in a]}
            for p, a in contributions.items()
        },
        "agreement": dict(agreement or {}),
        "simulation": {"years": years, "n_sims": 1, "seed": 0},
    }
    data.update(extra)
    return Model.model_validate(data)


def engine_ledger(
    model: Model,
    spend: np.ndarray | None = None,
    income: np.ndarray | None = None,
    *,
    metrics: Mapping[str, np.ndarray] | None = None,
    savings: np.ndarray | None = None,
    forecast: np.ndarray | None = None,
    case_shares: Mapping[str, np.ndarray] | None = None,
    **kwargs: Any,
):
    """Settle ``model`` with the vectorised engine on given (or its fixed) spend.

    Parameters
    ----------
    model : Model
    spend, income : ndarray, optional
        ``(sims, years, groups)`` or ``(years, groups)``. Default: one draw of
        the model (deterministic for ``fixed`` groups). [£]
    metrics : mapping of str to ndarray, optional
        ``{metric id: (sims, years) or (years,)}``; default: each metric's mean.
    savings : ndarray, optional
        ``(sims, years)`` or ``(years,)`` integration savings; default:
        ``amount * ramp[t]``. [£]
    forecast : ndarray, optional
        ``(sims, years)`` or ``(years,)`` standard normals of the forecast
        stream (a trigger ``on: forecast``); default 0 (the bridge's mean).
    case_shares : mapping of str to ndarray, optional
        ``{group id: (sims, years, partners) or (years, partners)}`` case
        shares of groups with case splits; default: their expected split. [fraction]
    **kwargs
        Passed to :func:`riskshare.settle.settle` (``agreement``, ``contributions``).

    Returns
    -------
    Ledger
    """
    from riskshare.paths import SpendPaths
    from riskshare.sampling import sample
    from riskshare.settle import settle

    if spend is None:
        return settle(model, sample(model, n_sims=1, seed=0), **kwargs)
    spend = np.asarray(spend, dtype=float)
    if spend.ndim == 2:
        spend = spend[None]
    n, years, _ = spend.shape
    inc = np.zeros_like(spend) if income is None else np.asarray(income, dtype=float)
    inc = np.broadcast_to(inc if inc.ndim == 3 else inc[None], spend.shape).copy()
    mets = {}
    for pm in model.performance:
        v = (
            np.full(years, pm.mean)
            if not metrics or pm.id not in metrics
            else np.asarray(metrics[pm.id], float)
        )
        mets[pm.id] = np.broadcast_to(v if v.ndim == 2 else v[None], (n, years)).copy()
    sav = None
    if model.integration_savings is not None:
        iz = model.integration_savings
        v = (
            (np.asarray(iz.ramp[:years]) * iz.amount)
            if savings is None
            else np.asarray(savings, float)
        )
        sav = np.broadcast_to(v if v.ndim == 2 else v[None], (n, years)).copy()
    fc = None
    if any(s.trigger is not None and s.trigger.on == "forecast" for s in model.schedules()):
        v = np.zeros(years) if forecast is None else np.asarray(forecast, float)
        fc = np.broadcast_to(v if v.ndim == 2 else v[None], (n, years)).copy()
    cases = {
        gid: np.broadcast_to(v if v.ndim == 3 else v[None], (n, *v.shape[-2:])).copy()
        for gid, v in ((g, np.asarray(x, float)) for g, x in (case_shares or {}).items())
    }
    paths = SpendPaths(
        spend,
        inc,
        tuple(model.group_ids),
        years,
        metrics=mets,
        savings=sav,
        forecast=fc,
        case_shares=cases,
    )
    return settle(model, paths, **kwargs)
