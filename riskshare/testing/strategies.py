"""Hypothesis strategies: small random valid models, agreements and spend arrays.

Every model drawn validates; its groups have ``fixed`` or ``aggregate`` spend
(the spend a test settles is drawn separately by :func:`spend_arrays`, so the
spend model only sets the expected cost that splits the budget between
groups); a group may have case splits (``cases``), whose shares a test
draws separately too. Agreements combine every clause of ``docs/rules.md``, kept to
combinations the specification defines (key ``own`` only with offsetting
groups and no threshold on its side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from riskshare.config.model import Agreement, Model

__all__ = ["agreements", "keys", "models", "settlement_cases", "spend_arrays"]

_MONEY = 1e6


def _profile(draw: Any) -> list[float]:
    """Twelve monthly accrual shares summing to 1, some months possibly 0."""
    raw = [draw(st.integers(0, 5)) for _ in range(12)]
    if sum(raw) == 0:
        raw[11] = 1
    return [r / sum(raw) for r in raw]


def _fixed_shares(draw: Any, partner_ids: Sequence[str]) -> dict[str, float]:
    raw = [draw(st.integers(0, 10)) for _ in partner_ids]
    if sum(raw) == 0:
        raw[0] = 1
    total = sum(raw)
    shares = [r / total for r in raw]
    shares[-1] = 1.0 - sum(shares[:-1])  # sums to 1 exactly enough for validation
    return {p: max(s, 0.0) for p, s in zip(partner_ids, shares, strict=True)}


@st.composite
def keys(draw: Any, partner_ids: Sequence[str], *, own: bool = False) -> Any:
    """A sharing key: 'proportional', 'host', 'commissioners', fixed shares (or 'own')."""
    choices = ["proportional", "host", "commissioners", "fixed"] + (["own"] if own else [])
    kind = draw(st.sampled_from(choices))
    return _fixed_shares(draw, partner_ids) if kind == "fixed" else kind


@st.composite
def _sharing(draw: Any, partner_ids: Sequence[str], own: bool) -> dict[str, Any]:
    if own and draw(st.booleans()):
        return {"key": "own"}
    out: dict[str, Any] = {"key": draw(keys(partner_ids))}
    if draw(st.booleans()):
        basis = draw(st.sampled_from(["budget", "amount"]))
        n = draw(st.integers(1, 3))
        tops = sorted(draw(st.lists(st.integers(1, 40), min_size=n, max_size=n, unique=True)))
        scale = 0.005 if basis == "budget" else 0.05 * _MONEY
        bands = [{"upto": t * scale, "key": draw(keys(partner_ids))} for t in tops]
        if draw(st.booleans()):
            bands[-1].pop("upto")
        out.update(basis=basis, bands=bands)
    return out


@st.composite
def agreements(
    draw: Any,
    partner_ids: Sequence[str],
    group_ids: Sequence[str],
    years: int,
    *,
    metrics: Sequence[str] = (),
    savings: bool = False,
    schedule: bool = False,
    uncharged: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``agreement`` section of a config, as a dict, every clause possible.

    Parameters
    ----------
    partner_ids, group_ids : sequence of str
    years : int
    metrics : sequence of str
        Performance metric ids a holdback may use.
    savings : bool
        Unused here (savings are a model-level draw); kept for symmetry.
    schedule : bool
        The rules of one schedule of several: no exit (an agreement-wide clause,
        drawn for the whole agreement).
    uncharged : sequence of str, optional
        The groups without charging income, whose schemes a holdback with
        ``unreleased: uncommission`` may fund (default: every group). Each
        group's expected spend must be at least £1m (the largest holdback).
    """
    pids = list(partner_ids)
    agr: dict[str, Any] = {}
    arrangement = draw(st.integers(0, 5))
    if arrangement == 0:
        agr["arrangement"] = "aligned"
    elif arrangement == 1:
        agr.update(arrangement="lead", lead=draw(st.sampled_from(pids)))
    aligned = agr.get("arrangement") == "aligned"
    offset = draw(st.booleans()) or aligned
    if not offset:
        agr["offset_groups"] = False
    for side in ("overspend", "underspend"):
        agr[side] = draw(_sharing(pids, own=offset))
        if agr[side].get("key") != "own" and draw(st.integers(0, 2)) == 0:
            agr[f"threshold_{side}"] = {
                "rate": draw(st.sampled_from([0.0, 0.01, 0.02, 0.05])),
                "first_dollar": draw(st.booleans()),
                "below_key": draw(keys(pids)),
            }
    if draw(st.booleans()):
        agr["weights"] = "cumulative"
    has_reserve = not aligned and draw(st.booleans())
    if has_reserve:
        reserve: dict[str, Any] = {
            "opening": draw(st.sampled_from([0.0, 0.25, 1.0])) * _MONEY,
            "top_slice": draw(st.sampled_from([0.0, 0.01, 0.02])),
            "top_slice_years": draw(st.sampled_from(["first", "every"])),
            "carry_forward": draw(st.booleans()),
            "final_key": draw(keys(pids)),
        }
        if draw(st.booleans()):
            reserve["cap"] = draw(st.sampled_from([0.0, 0.3, 1.0])) * _MONEY
        if draw(st.booleans()):
            reserve["exclude_groups"] = draw(
                st.lists(st.sampled_from(list(group_ids)), unique=True, max_size=2)
            )
        agr["reserve"] = reserve
    if len(group_ids) > 1 and draw(st.booleans()):
        g = draw(st.sampled_from(list(group_ids)))
        agr["group_keys"] = {g: draw(st.sampled_from(["host", "commissioners", "proportional"]))}
    if draw(st.booleans()):
        agr["group_budgets"] = {g: [draw(st.integers(1, 20)) * _MONEY] * years for g in group_ids}
    if draw(st.booleans()):
        agr["waterfall"] = draw(st.permutations(["reserve", "uncommitted"]))
    if draw(st.booleans()):
        agr["uncommitted"] = draw(st.sampled_from([0.01, 0.03]))
    dispositions = ["return", "nonrecurrent"] + (["retain", "ijb"] if has_reserve else [])
    agr["underspend_disposition"] = draw(st.sampled_from(dispositions))
    caps = []
    for _ in range(draw(st.integers(0, 2))):
        p = draw(st.sampled_from(pids))
        others = [q for q in pids if q != p] + (["reserve"] if has_reserve else [])
        side = draw(st.sampled_from(["overspend", "underspend"]))
        if side == "overspend":
            others.append("unfunded")
        cap: dict[str, Any] = {
            "partner": p,
            "side": side,
            "overflow": draw(st.sampled_from(others)),
            "per": draw(st.sampled_from(["year", "agreement"])),
        }
        if draw(st.booleans()):
            cap["amount"] = draw(st.sampled_from([0.0, 0.2, 0.5, 2.0])) * _MONEY
        else:
            cap["fraction"] = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2]))
            cap["of"] = draw(st.sampled_from(["contribution", "budget", "group_contribution"]))
            if cap["of"] == "group_contribution":
                cap["group"] = draw(st.sampled_from(list(group_ids)))
        caps.append(cap)
    if caps:
        agr["caps"] = caps
    if metrics and draw(st.booleans()):
        agr["holdback"] = {
            "partner": draw(st.sampled_from(pids)),
            "amount": draw(st.sampled_from([0.5, 1.0])) * _MONEY,
            "metric": metrics[0],
            "target": 0.04,
        }
        fundable = list(group_ids if uncharged is None else uncharged)
        if fundable and draw(st.booleans()):
            agr["holdback"].update(
                unreleased="uncommission",
                funds=draw(st.lists(st.sampled_from(fundable), unique=True, min_size=1)),
                fixed_share=draw(st.sampled_from([0.0, 0.25, 1.0])),
            )
    if agr["overspend"].get("key") != "own" and draw(st.integers(0, 3)) == 0:
        agr["fault"] = {"partner": draw(st.sampled_from(pids)), "share": 0.3}
    if not aligned and draw(st.integers(0, 3)) == 0:
        agr["vat"] = {
            "vatable": draw(st.sampled_from([0.1, 0.5])),
            "recovered": draw(st.sampled_from([0.0, 0.4, 1.0])),
        }
    if draw(st.booleans()):
        month = draw(st.integers(0, 11))
        agr["trigger"] = trigger = {
            "threshold": draw(st.sampled_from([0.0, 0.01, 0.03])),
            "mitigation": draw(st.sampled_from([0.25, 0.5, 1.0])),
            "month": month,
            "lag": draw(st.integers(0, 12 - month)),
        }
        if draw(st.booleans()):
            trigger["on"] = "forecast"
            trigger["forecast"] = {
                "sd": draw(st.sampled_from([0.02, 0.1])),
                "bias": draw(st.sampled_from([0.0, -0.05, 0.03])),
            }
        if draw(st.booleans()):
            trigger["cost"] = {
                "fixed": draw(st.sampled_from([0.0, 0.05])) * _MONEY,
                "proportional": draw(st.sampled_from([0.0, 0.2])),
            }
    if not aligned and draw(st.booleans()):
        agr["instalments"] = {
            "number": draw(st.sampled_from([1, 4, 12])),
            "cash_key": draw(keys(pids)),
        }
    if draw(st.integers(0, 2)) == 0:
        agr["accrual"] = _profile(draw)
    if not schedule and draw(st.booleans()):
        agr["exit"] = draw(_exits(pids, years))
    if draw(st.booleans()):
        agr["charging"] = {"pooling": "net", "bearer": draw(st.sampled_from(pids))}
    if draw(st.booleans()):
        agr["integration"] = {
            "setup_costs": [
                {
                    "year": draw(st.integers(0, years - 1)),
                    "amount": draw(st.sampled_from([0.1, 0.5])) * _MONEY,
                    "charged_to": draw(st.sampled_from(["pool", *pids])),
                }
            ],
            "savings_to": draw(st.sampled_from(["pool", *pids])),
        }
    Agreement.model_validate(agr)  # a strategy bug shows here, not as a rejected example
    return agr


@st.composite
def _exits(draw: Any, pids: list[str], years: int) -> dict[str, Any]:
    """An ``exit`` clause: a loss limit, perhaps a voluntary exit, an end date and a cost."""
    exit_: dict[str, Any] = {
        "limits": {draw(st.sampled_from(pids)): draw(st.sampled_from([0.0, 0.5, 2.0])) * _MONEY},
        "notice_years": draw(st.integers(0, 2)),
        "reserve_key": draw(keys(pids)),
    }
    if years > 1 and draw(st.booleans()):
        exit_["voluntary"] = {draw(st.sampled_from(pids)): draw(st.integers(1, years - 1))}
    if years > 1 and draw(st.integers(0, 3)) == 0:
        exit_["end_year"] = draw(st.integers(1, years - 1))
    if draw(st.booleans()):
        paid_by = draw(st.sampled_from(["leaver", "all", "key"]))
        cost = {"kind": "redundancy", "amount": 0.3 * _MONEY, "paid_by": paid_by}
        if paid_by == "key":
            cost["key"] = draw(keys(pids))
        cost["years"] = draw(st.integers(1, 2))
        exit_["costs"] = [cost]
    return exit_


@st.composite
def models(
    draw: Any,
    *,
    min_partners: int = 2,
    max_partners: int = 3,
    max_groups: int = 3,
    max_years: int = 4,
    schedules: bool = False,
    resets: bool = False,
) -> Model:
    """A small valid model with ``fixed`` or ``aggregate`` groups and a random agreement.

    With ``schedules`` the agreement has one to three schedules (the groups
    split between them at random), each with random rules, funding and
    offsets between them. With ``resets`` each partner's contribution may be
    re-set each year: re-based (R18) or a share of last year's outturn, with
    or without a minimum (with several schedules or a lead arrangement too).
    """
    n_p = draw(st.integers(min_partners, max_partners))
    n_g = draw(st.integers(1, max_groups))
    years = draw(st.integers(1, max_years))
    pids = [f"p{i}" for i in range(n_p)]
    gids = [f"g{i}" for i in range(n_g)]
    host = draw(st.sampled_from([None, *pids]))
    groups = []
    for g in gids:
        if draw(st.booleans()):
            comm: Any = draw(st.sampled_from(pids))
        else:
            comm = _fixed_shares(draw, pids)
        if draw(st.booleans()):
            spend = {
                "model": "fixed",
                "amounts": [draw(st.integers(1, 20)) * _MONEY for _ in range(years)],
            }
        else:
            spend = {
                "model": "aggregate",
                "mean": draw(st.integers(1, 20)) * _MONEY,
                "cv": 0.05,
                "growth": draw(st.sampled_from([0.0, 0.03])),
            }
        grp: dict[str, Any] = {"id": g, "commissioners": comm, "spend": spend}
        if draw(st.booleans()):
            grp["charging"] = {"rate": draw(st.sampled_from([0.03, 0.16]))}
        if draw(st.integers(0, 2)) == 0:
            grp["accrual"] = _profile(draw)
        if draw(st.integers(0, 3)) == 0:
            grp["cases"] = draw(_case_splits(comm))
        groups.append(grp)
    contributions = {
        p: draw(_reset_contribution(gids))
        if resets and draw(st.booleans())
        else {
            "kind": "schedule",
            "amounts": [draw(st.integers(1, 20)) * _MONEY for _ in range(years)],
        }
        for p in pids
    }
    if all(c["kind"] != "schedule" and "minimum" not in c for c in contributions.values()):
        # Re-set contributions may plan £0 in total (outturn shares of nothing commissioned),
        # which validation refuses with a proportional key: a minimum keeps one partner in.
        contributions[pids[0]]["minimum"] = {"base": _MONEY, "growth": 0.0}
    with_metric = draw(st.booleans())
    with_savings = draw(st.booleans())
    metrics = ["nea"] if with_metric else []
    data: dict[str, Any] = {
        "partners": [{"id": p, "host": p == host} for p in pids],
        "client_groups": groups,
        "contributions": contributions,
        "agreement": draw(_scheduled(pids, gids, years))
        if schedules
        else draw(
            agreements(
                pids,
                gids,
                years,
                metrics=metrics,
                uncharged=[g["id"] for g in groups if "charging" not in g],
            )
        ),
        "simulation": {"years": years, "n_sims": 1, "seed": 0},
    }
    # A group settled by a group key is not also settled by its case splits.
    keyed = set(data["agreement"].get("group_keys", {}))
    for sched in data["agreement"].get("schedules", []):
        keyed |= set(sched.get("group_keys", {}))
    for grp in groups:
        if grp["id"] in keyed:
            grp.pop("cases", None)
    hb = data["agreement"].get("holdback")
    if hb and contributions[hb["partner"]]["kind"] != "schedule":
        # a holdback is at most the planned contribution: keep a re-set one above it
        contributions[hb["partner"]]["minimum"] = {"base": hb["amount"], "growth": 0.0}
    if with_metric:
        data["performance"] = [{"id": "nea", "mean": 0.02, "sd": 0.03}]
    if with_savings:
        data["integration_savings"] = {
            "amount": 0.5 * _MONEY,
            "ramp": [min(1.0, 0.5 * (t + 1)) for t in range(years)],
        }
        sids = [sc["id"] for sc in data["agreement"].get("schedules", [])]
        if sids and draw(st.booleans()):  # else in proportion to the schedules' expected spend
            weights = [draw(st.integers(0, 2)) for _ in sids]
            weights[0] += sum(weights) == 0
            data["integration_savings"]["schedules"] = {
                sid: w / sum(weights) for sid, w in zip(sids, weights, strict=True)
            }
    return Model.model_validate(data)


@st.composite
def _case_splits(draw: Any, commissioners: str | dict[str, float]) -> dict[str, Any]:
    """Case splits around ``commissioners``: a Dirichlet, or a table with that mean.

    The table mixes the expected split itself (probability λ) with cases
    wholly of one partner (probability ``(1 − λ) s_p``), so its mean is the
    commissioners' shares.
    """
    if draw(st.booleans()):
        return {"concentration": draw(st.sampled_from([0.5, 2.0, 10.0]))}
    mean = {commissioners: 1.0} if isinstance(commissioners, str) else commissioners
    lam = draw(st.sampled_from([0.25, 0.5]))
    rows = [{"shares": mean, "probability": lam}]
    rows += [
        {"shares": {p: 1.0}, "probability": (1.0 - lam) * share}
        for p, share in mean.items()
        if share > 0
    ]
    return {"table": rows}


def case_share_arrays(draw: Any, model: Model, sims: int) -> dict[str, np.ndarray]:
    """Random case shares ``(sims, years, partners)`` (on a grid, summing to 1) per case group."""
    n_p, years = len(model.partners), model.simulation.years
    out = {}
    for grp in model.client_groups:
        if grp.cases is None:
            continue
        raw = draw(spend_arrays(sims, years, n_p, scale=100_000.0)) / 10_000.0 - 1.0
        raw[..., 0] += raw.sum(axis=-1) == 0  # some partner has a share
        out[grp.id] = raw / raw.sum(axis=-1, keepdims=True)
    return out


@st.composite
def _reset_contribution(draw: Any, gids: list[str]) -> dict[str, Any]:
    """A contribution re-set each year: re-based or a share of last year's outturn."""
    spec: dict[str, Any]
    if draw(st.booleans()):
        spec = {
            "kind": "rebased",
            "base": draw(st.integers(1, 20)) * _MONEY,
            "uplift": draw(st.sampled_from([0.0, 0.035])),
            "recurrent_share": draw(st.sampled_from([0.0, 0.5, 1.0])),
        }
        efficiency = draw(st.sampled_from([None, "efficiency", "efficiency_amount"]))
        if efficiency == "efficiency":
            spec["efficiency"] = 0.02
        elif efficiency == "efficiency_amount":
            spec["efficiency_amount"] = 0.3 * _MONEY
    else:
        spec = {"kind": "outturn", "uplift": draw(st.sampled_from([0.0, 0.04]))}
        if draw(st.booleans()):
            spec["factor"] = 0.9
        if draw(st.booleans()):
            spec["shares"] = {g: draw(st.sampled_from([0.0, 0.5, 1.0])) for g in gids}
    if draw(st.booleans()):
        spec["minimum"] = {"base": draw(st.integers(1, 10)) * _MONEY, "growth": 0.0566}
    return spec


@st.composite
def _scheduled(draw: Any, pids: list[str], gids: list[str], years: int) -> dict[str, Any]:
    """An agreement of one to three schedules over a random split of the groups."""
    n_s = draw(st.integers(1, min(3, len(gids))))
    owner = [draw(st.integers(0, n_s - 1)) for _ in gids[n_s:]]
    members = [[g] for g in gids[:n_s]]  # every schedule holds at least one group
    for g, k in zip(gids[n_s:], owner, strict=True):
        members[k].append(g)
    funded = draw(st.booleans())
    weights = [[draw(st.integers(0, 4)) for _ in pids] for _ in range(n_s)]
    schedules = []
    for k, groups in enumerate(members):
        # no holdback: a schedule's share of a contribution may be smaller than any amount
        sched = draw(agreements(pids, groups, years, schedule=True))
        sched.update(id=f"s{k}", groups=groups)
        if funded:
            sched["funding"] = {
                p: (weights[k][i] + 1) / sum(w[i] + 1 for w in weights) for i, p in enumerate(pids)
            }
        schedules.append(sched)
    agr: dict[str, Any] = {"schedules": schedules}
    if draw(st.booleans()):
        agr["across"] = {"offset": True}
    if draw(st.booleans()):  # agreement-wide: a partner leaves every schedule
        agr["exit"] = draw(_exits(pids, years))
    return agr


def spend_arrays(sims: int, years: int, groups: int, *, scale: float = 20 * _MONEY) -> Any:
    """A strategy of ``(sims, years, groups)`` spend arrays in £, on a £10k grid up to ``scale``."""
    from hypothesis.extra import numpy as hnp

    steps = int(scale // 10_000)
    return hnp.arrays(
        np.float64,
        (sims, years, groups),
        elements=st.integers(1, steps).map(lambda k: k * 10_000.0),
    )


@st.composite
def settlement_cases(draw: Any, sims: int = 3, **model_options: Any) -> Any:
    """A random model with spend, charging income, a metric, savings and forecast normals.

    Parameters
    ----------
    sims : int
        Simulations drawn.
    **model_options
        Passed to :func:`models` (``min_partners``, ``max_partners``, ...).

    Returns
    -------
    tuple
        ``(model, spend, income, metric, savings, forecast, case_shares)``:
        spend and income ``(sims, years, groups)`` [£] (income the expected
        rate times spend, times 0.5 .. 1.5), the metric ``(sims, years)``,
        savings ``(sims, years)`` [£], the forecast stream's normals
        ``(sims, years)`` (-2 .. 2) and each case-split group's shares
        ``(sims, years, partners)`` by id [fraction].
    """
    model = draw(models(**model_options))
    years, n_g = model.simulation.years, len(model.group_ids)
    spend = draw(spend_arrays(sims, years, n_g))
    rate = np.array([g.charging.rate if g.charging else 0.0 for g in model.client_groups])
    factor = draw(spend_arrays(sims, years, n_g, scale=1.0e6)) / 1.0e6 + 0.5
    income = spend * rate * factor
    metric = draw(spend_arrays(sims, years, 1, scale=0.1e6))[:, :, 0] / 1e6 - 0.02
    savings = draw(spend_arrays(sims, years, 1, scale=1e6))[:, :, 0]
    forecast = draw(spend_arrays(sims, years, 1, scale=4e6))[:, :, 0] / 1e6 - 2.0
    cases = case_share_arrays(draw, model, sims)
    return model, spend, income, metric, savings, forecast, cases
