"""A plain, per-simulation reference implementation of settlement.

Written from ``docs/rules.md`` only, for clarity rather than speed: one
simulation, a loop over years, Python floats. It is the test oracle the
vectorised engine (:mod:`riskshare.settle`) is compared with, and it doubles
as readable documentation of what settlement does each year. Step numbers in
the comments are those of ``docs/rules.md``.

Readings of the specification taken here (see the notes of issue 3):

* The uncommitted allocation ``U`` is held out of the group budgets
  (``Σ_g B_g = B − U``) and spent unless released, so it has no variance of
  its own: the pooled variance is ``V = Σ_{g pooled} V_g + X``, and wherever
  ``docs/rules.md`` writes ``X + U`` this reads ``X`` (the written formula
  counts ``U`` twice and the pool would not balance).
* A reserve in deficit (after a cap overflowed into it) meets no overspend:
  ``draw = min(max(R, 0), O)``; the carry-forward room is ``max(cap − R, 0)``.
* Key ``own``: ``a`` also subtracts any ``nonrecurrent`` spend, so that the
  pool balances; ``own`` is not combined with ``offset_groups: false`` or a
  threshold on the same side (not specified: ``NotImplementedError``).
* ``aligned`` years (the arrangement, or every year once every partner has
  left) apply no waterfall, threshold, sharing rule or cap, have no reserve
  and no top-slice: the position is exactly ``V_p`` plus the group-profile
  parts. A partner that has left takes that position while the others carry
  on; group-profile keys ``commissioners``/``own`` stay its commissioning
  shares, every other key is recomputed over the partners still in.
* With ``offset_groups: false`` the underspend carried forward is the sum of
  the eligible groups' own underspends (nothing is netted).
* A cap ``per: agreement`` with a ``fraction`` limits the running total to the
  fraction of the running total of its base (contributions so far).
* A first-dollar threshold shares from the first pound once ``A >= τ``
  (the MSSP rule "G/B >= MSR"); ``docs/rules.md`` writes ``A <= τ`` for the
  below-key case, which would not share at exactly the minimum savings rate.
* Exit: notice is given when the cumulative net position is strictly above
  the limit, at the end of a year before the last.
* Contributions re-set each year (``rebased``, ``outturn``): next year's
  contribution is written into ``c`` at the end of the year, so everything that
  reads ``c[t]`` (keys, top-slice, caps, holdback) sees the simulation's own.
  ``contributions=`` given explicitly are fixed: nothing re-sets them.
  With several schedules (or ``arrangement: lead``) they are re-set once for
  the agreement, a year at a time like the offsets between schedules: each
  schedule is settled with the contributions re-set so far (its funding
  fraction of them), and its year-t group variances and outturn give year
  t + 1's contributions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskshare.config.model import Agreement, Model, Sharing, Threshold

__all__ = [
    "PARTNER_FLOWS",
    "POOL_FLOWS",
    "reference_imbalance",
    "reference_schedules",
    "reference_settle",
]

#: Flows at the level of a partner, each returned as ``(years, partners)``.
PARTNER_FLOWS = (
    "contribution",
    "holdback_released",
    "holdback_retained",
    "overspend_call",
    "underspend_refund",
    "final_distribution",
    "income_shortfall",
    "partner_integration_cost",
    "partner_integration_savings",
    "exit_cost",
)
#: Flows at the level of the pool, each returned as ``(years,)``.
POOL_FLOWS = (
    "spend",
    "charging_income",
    "integration_cost",
    "integration_savings",
    "irrecoverable_vat",
    "uncommitted_spend",
    "nonrecurrent_spend",
    "reserve_draw",
    "reserve_topup",
    "reserve_release",
    "unfunded",
    "mitigation",
    "recovery_cost",
    "holdback_uncommissioned",
    "schedule_offset_in",
    "schedule_offset_out",
)

_INFLOWS = (
    "contribution",
    "holdback_released",
    "overspend_call",
    "income_shortfall",
    "charging_income",
    "integration_savings",
    "reserve_draw",
    "reserve_release",
    "unfunded",
    "schedule_offset_in",
)
_OUTFLOWS = (
    "spend",
    "recovery_cost",
    "integration_cost",
    "irrecoverable_vat",
    "uncommitted_spend",
    "nonrecurrent_spend",
    "underspend_refund",
    "final_distribution",
    "reserve_topup",
    "schedule_offset_out",
)


def reference_settle(
    model: Model,
    spend: Any,
    income: Any | None = None,
    *,
    agreement: Agreement | None = None,
    contributions: Any | None = None,
    metrics: dict[str, Any] | None = None,
    savings: Any | None = None,
    offsets: tuple[Any, Any] | None = None,
    forecast: Any | None = None,
    case_shares: dict[str, Any] | None = None,
    leaves: list[int] | None = None,
    exit_costs: Any | None = None,
) -> dict[str, np.ndarray]:
    """Settle one simulation, year by year, exactly as ``docs/rules.md`` says.

    Parameters
    ----------
    model : Model
        Partners, groups (commissioning shares, charging rates, expected
        spend), contributions and agreement.
    spend : array_like, shape (years, groups)
        Gross spend of each group, before management action. [£]
    income : array_like, shape (years, groups), optional
        Client charging income (default: none). [£]
    agreement : Agreement, optional
        Settle this agreement instead of ``model.agreement``.
    contributions : array_like, shape (years, partners), optional
        Instead of ``model.contribution_schedule()``. [£]
    metrics : dict of str to array_like (years,), optional
        Value of each performance metric each year (default: its mean).
    savings : array_like, shape (years,), optional
        Integration savings ``Z_t`` (default: ``amount * ramp[t]``, i.e. the
        savings arrive in full). [£]
    offsets : pair of array_like (years,), optional
        For one schedule of several: what other schedules' underspend meets
        of its overspend and what its underspend meets of theirs each year
        (see :func:`reference_schedules`). [£]
    forecast : array_like, shape (years,), optional
        The forecast stream's standard normal ``z`` each year (a trigger
        ``on: forecast``; default 0, the Brownian bridge's mean).
    case_shares : dict of str to array_like (years, partners), optional
        For a group with case splits (by id), each partner's share of its
        spend each year (default: its ``commissioners``, the expected split).
        [fraction]
    leaves : list of int, optional
        For one schedule of several: each partner's exit year, found over the
        whole agreement (no notice is tested here; see :func:`reference_schedules`).
    exit_costs : array_like, shape (years, partners), optional
        For one schedule of several: the exit costs it books. [£]

    Returns
    -------
    dict of str to ndarray
        Every flow of :data:`PARTNER_FLOWS` ``(years, partners)`` and
        :data:`POOL_FLOWS` ``(years,)`` [£]; ``reserve`` ``(years,)``, the
        balance at each year end after any release [£];
        ``reserve_before_release`` (the same before a release at the end);
        ``net`` and ``position`` ``(years, partners)`` [£]; ``budget``
        ``(years,)`` [£]; ``trigger_fired`` and ``exit`` ``(years,)`` bool
        (``exit``: the year a partner's exit takes effect); with a trigger on a
        forecast, ``trigger_needed`` ``(years,)`` bool and ``forecast_error``
        ``(years,)`` [£]; with instalments, ``cash_q1`` .. ``cash_q4``
        ``(years,)``, each quarter's in-year cash call, and ``cash_q1:<partner>``
        .. ``cash_q4:<partner>`` ``(years,)``, each partner's part of it [£]; ``exit_year``
        ``(partners,)``, the year each partner's exit takes effect (``years + 1``
        or later: it does not leave within the agreement); ``start_spend``
        ``(years, groups)``, each group's spend when exits take effect (after a
        holdback's uncommissioned schemes) [£].
    """
    if agreement is not None and agreement is not model.agreement:
        data = model.model_dump(mode="python")
        data["agreement"] = agreement
        model = Model.model_validate(data)
    if offsets is None and model.schedule_models() != [model]:
        return reference_schedules(
            model,
            spend,
            income,
            contributions,
            metrics,
            savings,
            forecast=forecast,
            case_shares=case_shares,
        )
    agr = model.agreement
    pids = list(model.partner_ids)
    n_p = len(pids)
    groups = model.client_groups
    n_g = len(groups)
    S_in = np.asarray(spend, dtype=float)
    years = S_in.shape[0]
    if S_in.shape != (years, n_g):
        raise ValueError(f"spend must be (years, groups) = (.., {n_g}), got {S_in.shape}")
    I_in = np.zeros_like(S_in) if income is None else np.asarray(income, dtype=float)
    c = model.contribution_schedule() if contributions is None else np.asarray(contributions, float)
    c = np.array(c, dtype=float)  # re-set contributions overwrite next year's as the years go
    reset = contributions is None and model.contributions_vary  # re-set at step 13
    comm = model.commissioning_matrix()  # (groups, partners)
    expected = model.expected_spend()
    host = pids.index(model.host)
    rate = [g.charging.rate if g.charging is not None else 0.0 for g in groups]
    gidx = {g: i for i, g in enumerate(model.group_ids)}
    pidx = {p: i for i, p in enumerate(pids)}
    keyed = {gidx[g]: k for g, k in agr.group_keys.items()}
    # Groups with case splits: each partner pays its cases (docs/rules.md, case splits).
    cased = [g for g in range(n_g) if groups[g].cases is not None]
    pooled_groups = [g for g in range(n_g) if g not in keyed and g not in cased]
    reserve = agr.reserve

    out: dict[str, np.ndarray] = {name: np.zeros((years, n_p)) for name in PARTNER_FLOWS}
    out.update({name: np.zeros(years) for name in POOL_FLOWS})
    out["reserve"] = np.zeros(years)
    out["reserve_before_release"] = np.zeros(years)
    out["position"] = np.zeros((years, n_p))
    out["budget"] = np.zeros(years)
    out["trigger_fired"] = np.zeros(years, dtype=bool)
    out["trigger_needed"] = np.zeros(years, dtype=bool)
    out["forecast_error"] = np.zeros(years)
    for q in range(1, 5):
        out[f"cash_q{q}"] = np.zeros(years)
        for pid in pids:
            out[f"cash_q{q}:{pid}"] = np.zeros(years)
    # In-year timing: each group's monthly accrual profile (its own, else the
    # agreement's, else flat), the share accrued by the end of month k.
    profiles = [list(g.accrual or agr.accrual or [1 / 12] * 12) for g in groups]
    accrued = [[min(sum(p[:k]) / sum(p), 1.0) for k in range(13)] for p in profiles]
    out["exit"] = np.zeros(years, dtype=bool)
    out["to_meet"] = np.zeros((years, 2))  # step 8's O and Q before any offset or waterfall
    out["group_variance"] = np.zeros((years, n_g))  # step 7's V_g, for re-setting across schedules
    out["net_spend"] = np.zeros((years, n_g))  # N_g after management action
    got, gave = (np.zeros(years), np.zeros(years)) if offsets is None else offsets

    R = reserve.opening if reserve is not None else 0.0  # reserve balance
    cum_net = [0.0] * n_p  # each partner's cumulative net position (for exit)
    given = leaves is not None  # exit years found over several schedules
    leaves = list(leaves) if leaves is not None else _planned_exits(model, years)
    out["start_spend"] = np.zeros((years, n_g))
    left: set[int] = set()  # partners that have left
    cap_used = [0.0] * len(agr.caps)  # running totals of 'per: agreement' caps
    cap_base = [0.0] * len(agr.caps)  # running totals of a fraction cap's base

    for t in range(years):
        S = [float(x) for x in S_in[t]]
        I = [float(x) for x in I_in[t]]
        # Each partner's share of each group's spend this year: the commissioning
        # share, or for a group with case splits the share of its cases.
        share_of = [[float(comm[g, p]) for p in range(n_p)] for g in range(n_g)]
        for g in cased:
            gid = model.group_ids[g]
            if case_shares is not None and gid in case_shares:
                share_of[g] = [float(x) for x in np.asarray(case_shares[gid], dtype=float)[t]]

        # --- 1. the holdback released (its contributions are paid below), and with
        # 'uncommission' the schemes the unreleased part would fund not commissioned:
        # spend falls by (1 − fixed_share)(H − released), split over the funded
        # groups by their group-budget shares (step 7's B_g), before anything reads S.
        hb = agr.holdback
        if hb is not None:
            k = pidx[hb.partner]
            H = hb.amount[t] if isinstance(hb.amount, list) else hb.amount
            H = min(H, float(c[t, k]))  # at most the contribution (binds only when re-set)
            m = (
                float(np.asarray(metrics[hb.metric])[t])
                if metrics and hb.metric in metrics
                else next(x.mean for x in model.performance if x.id == hb.metric)
            )
            released = H * min(max(m / hb.target, 0.0), 1.0)
            if hb.unreleased == "uncommission":
                cut = (1.0 - hb.fixed_share) * (H - released)
                if agr.group_budgets == "expected_cost":
                    b = {g: float(expected[t, gidx[g]]) for g in hb.funds}
                else:
                    b = {g: float(agr.group_budgets[g][t]) for g in hb.funds}
                total_b = sum(b.values())
                for g in hb.funds:
                    want = cut * (b[g] / total_b if total_b > 0 else 1.0 / len(hb.funds))
                    part = min(want, max(S[gidx[g]], 0.0))  # no group's spend below 0
                    S[gidx[g]] -= part
                    out["holdback_uncommissioned"][t] += part

        def weights(key: Any, *, group: int | None = None, everyone: bool = False) -> list[float]:
            """Weights ``w_p`` of a key over the partners still in (``everyone``: over all)."""
            w = raw_weights(key, group=group)
            if len(left) in (0, n_p) or everyone:  # nobody has left, or the agreement has ended
                return w
            if group is not None and key in ("commissioners", "own"):
                return w
            w = [0.0 if p in left else w[p] for p in range(n_p)]
            if sum(w) > 0:
                return [x / sum(w) for x in w]
            cc = [0.0 if p in left else float(c[t, p]) for p in range(n_p)]
            if sum(cc) > 0:  # the key gave the partners still in nothing: contributions
                return [x / sum(cc) for x in cc]
            still = n_p - len(left)
            return [0.0 if p in left else 1.0 / still for p in range(n_p)]

        def raw_weights(key: Any, *, group: int | None = None) -> list[float]:
            """Weights ``w_p`` of a key this year (``group``: a group profile's key)."""
            if isinstance(key, dict):
                return [float(key.get(p, 0.0)) for p in pids]
            if key == "host":
                return [1.0 if p == host else 0.0 for p in range(n_p)]
            if key == "proportional":
                cc = c[t] if agr.weights == "current" else c[: t + 1].sum(axis=0)
                total = float(cc.sum())
                if total <= 0:  # re-set contributions all at 0: equal shares
                    return [1.0 / n_p] * n_p
                return [float(x) / total for x in cc]
            if key in ("commissioners", "own") and group is not None:
                return [float(comm[group, p]) for p in range(n_p)]
            if key == "commissioners":
                total = sum(S)
                if total <= 0:  # nobody commissions any spend: equal shares
                    return [1.0 / n_p] * n_p
                return [sum(share_of[g][p] * S[g] for g in range(n_g)) / total for p in range(n_p)]
            raise NotImplementedError(f"key {key!r} gives no weights here")

        out["start_spend"][t] = S
        # --- 12. exit: partners leaving this year take their share of the reserve
        # (by reserve_key over the partners still in); exit costs are paid.
        starting = [p for p in range(n_p) if leaves[p] == t]
        if starting:
            out["exit"][t] = True
            w = weights(agr.exit.reserve_key)
            for p in starting:
                out["final_distribution"][t, p] += R * w[p]
                out["reserve_release"][t] += R * w[p]
            R -= sum(R * w[p] for p in starting)
            left.update(starting)
        ended = len(left) == n_p  # every partner has left: nothing is pooled any more
        aligned = agr.arrangement == "aligned" or ended
        has_reserve = reserve is not None and not ended
        if exit_costs is not None:
            out["exit_cost"][t] = np.asarray(exit_costs, dtype=float)[t]
        for cost in agr.exit.costs if agr.exit is not None and exit_costs is None else ():
            due = [p for p in range(n_p) if leaves[p] <= t < leaves[p] + cost.years]
            for q in due:
                if cost.paid_by == "leaver":
                    out["exit_cost"][t, q] += cost.amount
                    continue
                key = "proportional" if cost.paid_by == "all" else cost.key
                for p, x in enumerate(weights(key, everyone=True)):
                    out["exit_cost"][t, p] += cost.amount * x

        # --- 1. contributions and holdback.
        contribution = [float(x) for x in c[t]]
        budget_part = list(contribution)
        if hb is not None:
            contribution[k] -= H
            budget_part[k] += released - H
            out["holdback_released"][t, k] = released
            out["holdback_retained"][t, k] = H - released
        out["contribution"][t] = contribution

        # --- 2. top-slice into the reserve; the year's budget B.
        if has_reserve and (reserve.top_slice_years == "every" or t == 0):
            wanted = [0.0 if p in left else reserve.top_slice * c[t, p] for p in range(n_p)]
            # The cap limits the balance: only what fits is taken, pro rata.
            room = math.inf if reserve.cap is None else max(reserve.cap - R, 0.0)
            fits = 1.0 if sum(wanted) <= room else room / sum(wanted)
            for p in range(n_p):
                ts = wanted[p] * fits
                budget_part[p] -= ts
                out["reserve_topup"][t] += ts
                R += ts
        B = sum(budget_part)
        out["budget"][t] = B

        # --- 4. integration effects (computed before 3 only because 6 needs X).
        setup_pool = 0.0
        for sc in agr.integration.setup_costs:
            if sc.year == t:
                if sc.charged_to == "pool":
                    setup_pool += sc.amount
                else:
                    out["partner_integration_cost"][t, pidx[sc.charged_to]] += sc.amount
        Z = 0.0
        if model.integration_savings is not None:
            iz = model.integration_savings
            Z = float(np.asarray(savings)[t]) if savings is not None else iz.amount * iz.ramp[t]
        savings_pool = 0.0
        if agr.integration.savings_to == "pool":
            savings_pool = Z
        else:
            out["partner_integration_savings"][t, pidx[agr.integration.savings_to]] += Z
        X = setup_pool - savings_pool
        out["integration_cost"][t] = setup_pool
        out["integration_savings"][t] = savings_pool

        # --- 5. uncommitted allocation.
        U = agr.uncommitted * B

        # --- 3. charging income: spend net of income N_g.
        net_pooling = agr.charging.pooling == "net"

        def net_spend(S: list[float], I: list[float]) -> list[float]:
            if net_pooling:
                return [S[g] - I[g] - (rate[g] * S[g] - I[g]) for g in range(n_g)]
            return [S[g] - I[g] for g in range(n_g)]

        # --- 6. management action, on the outturn or on the month's forecast.
        N = net_spend(S, I)
        N_before, X_before = list(N), X
        # The pool's accrual: the groups' weighted by their shares of the group budget.
        if agr.group_budgets == "expected_cost":
            e = [float(x) for x in expected[t]]
        else:
            e = [float(agr.group_budgets[gid][t]) for gid in model.group_ids]
        A_pool = [
            min(sum(e[g] * accrued[g][k] for g in range(n_g)) / sum(e), 1.0) for k in range(13)
        ]
        # Within 1e-12 of 1 the whole year has accrued (the shares' rounding).
        A_pool = [1.0 if a >= 1.0 - 1e-12 else a for a in A_pool[:12]] + [1.0]
        tr = agr.trigger
        if tr is not None:
            V0 = sum(N) + X + U - B
            assessed = V0
            if tr.on == "forecast":
                # Brownian bridge in accrued time tau from 0 to L = ln(N / plan).
                plan = B - X - U
                tau = A_pool[tr.month]
                z = 0.0 if forecast is None else float(np.asarray(forecast)[t])
                if sum(N) > 0 and plan > 0:
                    L = math.log(sum(N) / plan)
                    W = tau * L + tr.forecast.sd * math.sqrt(tau * (1 - tau)) * z
                    assessed = plan * (math.exp(W + tr.forecast.bias * (1 - tau)) - 1)
                out["trigger_needed"][t] = tr.threshold * B < V0
                out["forecast_error"][t] = V0 - assessed
            if tr.threshold * B < assessed:
                M = tr.mitigation * assessed * (1 - A_pool[tr.month + tr.lag])
                f = max(1.0 - M / sum(S), 0.0) if sum(S) > 0 else 1.0
                out["mitigation"][t] = sum(S) * (1 - f)
                S = [s * f for s in S]
                I = [i * f for i in I]
                N = net_spend(S, I)
                out["trigger_fired"][t] = True
                if tr.cost is not None:
                    cost = tr.cost.fixed + tr.cost.proportional * out["mitigation"][t]
                    out["recovery_cost"][t] = cost
                    X += cost
        out["spend"][t] = sum(S)
        out["charging_income"][t] = sum(I)
        # --- 6. irrecoverable VAT on the spend after action, a pool-level cost in X.
        if agr.vat is not None:
            lost = agr.vat.rate * agr.vat.vatable * (1.0 - agr.vat.recovered) * sum(S)
            out["irrecoverable_vat"][t] = lost
            X += lost
        if net_pooling:
            bearer = pidx[agr.charging.bearer] if agr.charging.bearer else host
            out["income_shortfall"][t, bearer] = sum(rate[g] * S[g] - I[g] for g in range(n_g))

        # --- 7. group budgets (split as e, above), variances, profiles.
        Bg = [(B - U) * e[g] / sum(e) for g in range(n_g)]
        Vg = [N[g] - Bg[g] for g in range(n_g)]
        out["group_variance"][t], out["net_spend"][t] = Vg, N
        position = [0.0] * n_p
        for g, key in keyed.items():
            w = weights(key, group=g)
            for p in range(n_p):
                position[p] += w[p] * Vg[g]
        for g in cased:  # its cases' spend less its expected share of the group budget
            for p in range(n_p):
                position[p] += share_of[g][p] * N[g] - comm[g, p] * Bg[g]
        profile = list(position)
        V = sum(Vg[g] for g in pooled_groups) + X
        wprop = weights("proportional")
        # Each partner's own variance: spend on the pooled groups it commissions,
        # plus its proportional part of X and U, minus its part of the budget,
        # plus its commissioning share of the budgets of groups settled on their own.
        Vp = [
            sum(comm[g, p] * N[g] for g in pooled_groups)
            + (X + U) * wprop[p]
            - budget_part[p]
            + sum(comm[g, p] * Bg[g] for g in [*keyed, *cased])
            for p in range(n_p)
        ]

        G = sum(Vp[p] for p in left)  # the own variances of the partners that have left
        draw = release = add = retained = nonrecurrent = 0.0
        if aligned:
            # Each partner exactly its own variance; U is spent.
            for p in range(n_p):
                position[p] += Vp[p]
        else:
            # --- 8. overspend waterfall and underspend.
            if agr.offset_groups:
                O, Q = max(V, 0.0), max(-V, 0.0)
            else:
                O = sum(max(Vg[g], 0.0) for g in pooled_groups) + max(X, 0.0)
                Q = sum(max(-Vg[g], 0.0) for g in pooled_groups) + max(-X, 0.0)
            if left:  # the partners still in share V less the leavers' own variances
                target = O - Q - G
                O, Q = max(O - max(G, 0.0), 0.0), max(Q - max(-G, 0.0), 0.0)
                gap = O - Q - target
                O, Q = O - min(gap, 0.0), Q + max(gap, 0.0)
            out["to_meet"][t] = O, Q
            O, Q = O - got[t], Q - gave[t]  # offsets between schedules
            out["schedule_offset_in"][t], out["schedule_offset_out"][t] = got[t], gave[t]
            for step in agr.waterfall:
                if step == "reserve" and has_reserve:
                    draw = min(max(R, 0.0), O)
                    R -= draw
                    O -= draw
                elif step == "uncommitted":
                    release = min(U, O)
                    O -= release
            if has_reserve and reserve.carry_forward:
                kept = [
                    g for g in pooled_groups if model.group_ids[g] not in reserve.exclude_groups
                ]
                if agr.offset_groups:
                    eligible = -sum(Vg[g] for g in kept) - X + G
                    q_eligible = min(Q, max(eligible, 0.0))
                else:  # no offset: each group's own underspend
                    q_eligible = min(Q, sum(max(-Vg[g], 0.0) for g in kept) + max(-X, 0.0))
                room = math.inf if reserve.cap is None else max(reserve.cap - R, 0.0)
                add = min(q_eligible, room)
                R += add
                Q -= add
            if agr.underspend_disposition == "retain" and has_reserve:
                # Up to the cap; what does not fit is returned by the underspend rule.
                room = math.inf if reserve.cap is None else max(reserve.cap - R, 0.0)
                retained = min(Q, room)
                R += retained
                Q -= retained
            elif agr.underspend_disposition == "ijb" and has_reserve:
                # R9 f: the underspend from management action is retained (up to the cap),
                # the windfall returned
                room = math.inf if reserve.cap is None else max(reserve.cap - R, 0.0)
                managed = out["mitigation"][t] + out["integration_savings"][t]
                retained = min(Q, managed, room)
                R += retained
                Q -= retained
            elif agr.underspend_disposition == "nonrecurrent":
                nonrecurrent = Q
                Q = 0.0
            out["reserve_draw"][t] += draw
            out["reserve_topup"][t] += add + retained
            out["nonrecurrent_spend"][t] = nonrecurrent

            # --- 9. sharing; first a fault share (R10) to the partner at fault.
            if agr.fault is not None and pidx[agr.fault.partner] not in left:
                tagged = agr.fault.share * O
                position[pidx[agr.fault.partner]] += tagged
                O -= tagged
            side = agr.overspend if V - G >= 0 else agr.underspend  # the side still in
            if side.key == "own" and not side.bands:
                if not agr.offset_groups:
                    raise NotImplementedError(
                        "key 'own' with offset_groups: false is not specified"
                    )
                if (
                    agr.threshold_overspend if V - G >= 0 else agr.threshold_underspend
                ) is not None:
                    raise NotImplementedError("key 'own' with a threshold is not specified")
                a = draw + release - add - retained - nonrecurrent + got[t] - gave[t]
                r = weights(reserve.final_key) if reserve is not None else wprop
                for p in range(n_p):
                    position[p] += Vp[p] - a * r[p]
            else:
                so = _share(O, agr.overspend, agr.threshold_overspend, B, weights)
                sq = _share(Q, agr.underspend, agr.threshold_underspend, B, weights)
                for p in range(n_p):
                    position[p] += so[p] - sq[p]

            # --- 12. a partner that has left takes its own variance (and its
            # group-profile part, as under aligned budgets).
            for p in left:
                position[p] = profile[p] + Vp[p]

            # --- 10. caps, in order.
            for i, cap in enumerate(agr.caps):
                p = pidx[cap.partner]
                if cap.amount is not None:
                    base = None
                elif cap.of == "contribution":
                    base = float(c[t, p])
                elif cap.of == "budget":
                    base = B
                else:
                    g = gidx[cap.group]
                    base = float(comm[g, p]) * Bg[g]
                if cap.per == "year":
                    allowed = cap.amount if base is None else cap.fraction * base
                else:
                    if base is not None:
                        cap_base[i] += base
                    limit = cap.amount if base is None else cap.fraction * cap_base[i]
                    allowed = max(limit - cap_used[i], 0.0)
                over = cap.side == "overspend"
                amount = max(position[p], 0.0) if over else max(-position[p], 0.0)
                excess = max(amount - allowed, 0.0)
                if p in left or (cap.overflow in pidx and pidx[cap.overflow] in left):
                    excess = 0.0  # no cap on a partner that has left, no overflow to one
                cap_used[i] += amount - excess
                if excess == 0.0:
                    continue
                sign = 1.0 if over else -1.0  # sign of the capped part in the position
                position[p] -= sign * excess
                if cap.overflow == "reserve":
                    if over:
                        R -= excess
                        out["reserve_draw"][t] += excess
                    else:
                        R += excess
                        out["reserve_topup"][t] += excess
                elif cap.overflow == "unfunded":
                    out["unfunded"][t] += excess
                else:
                    position[pidx[cap.overflow]] += sign * excess

        # --- 5 (end). the uncommitted allocation not released is spent.
        out["uncommitted_spend"][t] = U - release

        # --- 11. instalments: the pool's cash shortfall at each month end k,
        # spend accrued (the change action makes accruing from month + lag on)
        # less the instalments paid at the start of each period.
        if agr.instalments is not None:
            n_inst = agr.instalments.number
            start = 12 if tr is None else tr.month + tr.lag
            change = sum(N) + X - sum(N_before) - X_before
            short = []
            for k in range(13):
                spent = sum(N_before[g] * accrued[g][k] for g in range(n_g))
                spent += (X_before + U) * A_pool[k]
                if k == 12:
                    spent += change
                elif k > start and A_pool[start] < 1:
                    spent += change * (A_pool[k] - A_pool[start]) / (1 - A_pool[start])
                paid = math.ceil(k * n_inst / 12) / n_inst
                short.append(spent - paid * B)
            # Each partner finds its part of each call by cash_key over the partners still in.
            w = weights(agr.instalments.cash_key)
            for q in range(1, 5):
                out[f"cash_q{q}"][t] = max(0.0, *short[3 * q - 2 : 3 * q + 1])
                for p, pid in enumerate(pids):
                    out[f"cash_q{q}:{pid}"][t] = w[p] * out[f"cash_q{q}"][t]

        # --- 11. cash.
        out["position"][t] = position
        out["overspend_call"][t] = [max(0.0, x) for x in position]
        out["underspend_refund"][t] = [max(0.0, -x) for x in position]

        # --- after the last year: the reserve is paid out by its final key.
        out["reserve_before_release"][t] = R
        if t == years - 1 and has_reserve:
            w = weights(reserve.final_key)
            for p in range(n_p):
                out["final_distribution"][t, p] += R * w[p]
            out["reserve_release"][t] += R
            R = 0.0
        out["reserve"][t] = R

        # --- 12. exit: notice once a cumulative net position passes its limit.
        for p in range(n_p):
            cum_net[p] += _net(out, t, p)
        if agr.exit is not None and not given and t < years - 1:
            for pid, limit in agr.exit.limits.items():
                p = pidx[pid]
                if cum_net[p] > limit and p not in left:
                    leaves[p] = min(leaves[p], t + 1 + agr.exit.notice_years)

        # --- 13. contributions re-set for next year from this year's outturn.
        if t + 1 < years and reset:
            nonrecurrent = agr.underspend_disposition == "nonrecurrent"
            r = _recurrent(comm, Vg, nonrecurrent)
            c[t + 1] = _reset_contributions(model, c, t, r, N, list(range(n_g)))

    out["net"] = np.array([[_net(out, t, p) for p in range(n_p)] for t in range(years)])
    out["exit_year"] = np.array(leaves)
    return out


def reference_schedules(
    model: Model,
    spend: Any,
    income: Any | None = None,
    contributions: Any | None = None,
    metrics: dict[str, Any] | None = None,
    savings: Any | None = None,
    forecast: Any | None = None,
    case_shares: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Settle an agreement of several schedules for one simulation (``docs/rules.md``, Schedules).

    Each schedule is settled as an agreement of its own over its groups,
    receiving its share of the integration savings. An offset between
    schedules changes no schedule's variance in its year, but it changes what
    is left in the schedule's reserve (a cap overflowing into it), hence later
    top-slices, budgets and exits: ``O_s`` and ``Q_s`` of year t depend on the
    offsets of the years before. An exit is agreement-wide: one exit year per
    partner, notice given on its net position over all the schedules, and its
    exit costs paid once, booked to the schedules by the leaver's funding.
    Contributions re-set each year are re-set once for the agreement. So the
    offsets, the exits and the contributions are found a year at a time: each
    schedule is settled with the offsets, exit years and contributions found
    so far; year t's exit costs, then its ``O_s`` and ``Q_s`` give year t's
    offsets, then its net positions the notices and its outturn next year's
    contributions; finally each schedule is settled with all of them. Flows
    are summed over the schedules; ``schedule_net`` is each partner's net
    position in each schedule, ``(years, schedules, partners)``.
    """
    S = np.asarray(spend, dtype=float)
    I_in = np.zeros_like(S) if income is None else np.asarray(income, dtype=float)
    c = model.contribution_schedule() if contributions is None else np.asarray(contributions, float)
    c = np.array(c, dtype=float)  # re-set contributions overwrite next year's as the years go
    reset = contributions is None and model.contributions_vary
    scheds = model.schedules()
    gidx = {g: i for i, g in enumerate(model.group_ids)}
    cols = [[gidx[g] for g in sc.groups] for sc in scheds]
    comm = model.commissioning_matrix()
    years, n_p = len(S), len(model.partner_ids)
    iz = model.integration_savings
    Z = None
    if iz is not None:  # drawn once for the agreement, shared between the schedules
        Z = (
            np.asarray(savings, float)
            if savings is not None
            else np.array(iz.amount * np.array(iz.ramp[:years]))
        )
    received = model.savings_shares()  # (schedules, years)
    funding = model.schedule_funding()  # (schedules, years, partners)
    # Agreement-wide with several schedules; one schedule (lead) settles its own exit.
    exit_ = model.agreement.exit if model.agreement.schedules else None
    leaves = _planned_exits(model, years) if exit_ is not None else None
    costs = [np.zeros((years, n_p)) for _ in scheds] if exit_ is not None else None

    across = model.agreement.across
    part = []
    if across is not None and across.offset:
        names = across.schedules or [sc.id for sc in scheds if sc.arrangement != "aligned"]
        part = [k for k, sc in enumerate(scheds) if sc.id in names]
    got = {k: np.zeros(years) for k in part}  # schedule_offset_in of each schedule taking part
    gave = {k: np.zeros(years) for k in part}  # schedule_offset_out

    def one(k: int) -> dict[str, np.ndarray]:
        # Each schedule is paid its funding fraction of the contributions so far.
        return reference_settle(
            model.schedule_models(c)[k],
            S[:, cols[k]],
            I_in[:, cols[k]],
            metrics=metrics,
            savings=None if Z is None else Z * received[k],
            offsets=(got[k], gave[k]) if k in part else None,
            forecast=forecast,
            case_shares=case_shares,
            leaves=leaves,
            exit_costs=None if costs is None else costs[k],
        )

    for t in range(years):
        # Year t of each schedule given the offsets, exits and contributions of the years before.
        runs = [one(k) for k in range(len(scheds))]
        if exit_ is not None:
            # Year t's exit costs, once per leaver, split by payer over the whole agreement
            # and booked to the schedules by the leaver's funding of each.
            start = np.zeros(len(gidx))
            for k in range(len(scheds)):
                start[cols[k]] = runs[k]["start_spend"][t]
            for cost in exit_.costs:
                for q in range(n_p):
                    if not leaves[q] <= t < leaves[q] + cost.years:
                        continue
                    if cost.paid_by == "leaver":
                        w = [1.0 if p == q else 0.0 for p in range(n_p)]
                    else:
                        key = "proportional" if cost.paid_by == "all" else cost.key
                        w = _agreement_weights(model, key, c[t], start, case_shares, t)
                    for k in range(len(scheds)):
                        costs[k][t] += cost.amount * funding[k, t, q] * np.array(w)
        meet = {k: runs[k]["to_meet"][t] for k in part}
        O = sum(meet[k][0] for k in part)
        Q = sum(meet[k][1] for k in part)
        m = min(O, Q)
        for k in part:
            got[k][t] = m * meet[k][0] / O if O > 0 else 0.0
            gave[k][t] = m * meet[k][1] / Q if Q > 0 else 0.0
        if exit_ is not None and exit_.limits and t < years - 1:
            # Notice on each partner's cumulative net position over every schedule.
            cum_net = sum(one(k)["net"][: t + 1].sum(axis=0) for k in range(len(scheds)))
            for pid, limit in exit_.limits.items():
                p = model.partner_ids.index(pid)
                if cum_net[p] > limit and leaves[p] > t:
                    leaves[p] = min(leaves[p], t + 1 + exit_.notice_years)
        if reset and t + 1 < years:
            # Re-set once for the agreement: the schedules' recurrent variances summed
            # (each with its own disposition), the outturn of every group.
            r = [0.0] * len(model.partners)
            for k, sc in enumerate(scheds):
                Vg = runs[k]["group_variance"][t]
                part_r = _recurrent(comm[cols[k]], Vg, sc.underspend_disposition == "nonrecurrent")
                r = [a + b for a, b in zip(r, part_r, strict=True)]
            N = np.concatenate([runs[k]["net_spend"][t] for k in range(len(scheds))])
            c[t + 1] = _reset_contributions(model, c, t, r, N, [g for col in cols for g in col])
    outs = [one(k) for k in range(len(scheds))]
    out = {name: sum(o[name] for o in outs) for name in (*PARTNER_FLOWS, *POOL_FLOWS, "reserve")}
    out["net"] = sum(o["net"] for o in outs)
    out["schedule_net"] = np.stack([o["net"] for o in outs], axis=1)
    for name in ("trigger_fired", "trigger_needed", "exit"):
        out[name] = np.logical_or.reduce([o[name] for o in outs])
    parts = ("", *(f":{p}" for p in model.partner_ids))
    cash = [f"cash_q{q}{part}" for q in range(1, 5) for part in parts]
    for name in ("forecast_error", *cash):
        out[name] = sum(o[name] for o in outs)
    out["exit_year"] = np.array(leaves) if leaves is not None else outs[0]["exit_year"]
    return out


def _recurrent(comm: Any, Vg: Any, nonrecurrent: bool) -> list[float]:
    """Each partner's recurrent variance ``r_p = Σ_g s_gp V_g`` over the groups given
    (``comm`` their rows); an underspend spent on one-off items (disposition
    ``nonrecurrent``) does not recur: then its positive part. [£]"""
    n_p = np.shape(comm)[1]
    r = [sum(float(comm[g][p]) * float(Vg[g]) for g in range(len(Vg))) for p in range(n_p)]
    return [max(x, 0.0) for x in r] if nonrecurrent else r


def _reset_contributions(
    model: Model, c: Any, t: int, r: list[float], N: Any, groups: list[int]
) -> np.ndarray:
    """Year ``t + 1``'s contribution of every partner (step 13).

    ``c`` the contributions so far ``(years, partners)``, ``r`` year t's
    recurrent variance of the whole agreement, ``N`` year t's spend net of
    income of the groups ``groups`` (indices in the model, in the order of
    ``N``). A partner not re-set keeps ``c[t + 1]``. [£]
    """
    comm = model.commissioning_matrix()
    gidx = {g: i for i, g in enumerate(model.group_ids)}
    floor = model.minimum_schedule()
    nxt = np.array(c[t + 1], dtype=float)
    for p, pid in enumerate(model.partner_ids):
        spec = model.contributions[pid]
        if spec.kind == "rebased":
            x = (c[t, p] + spec.recurrent_share * r[p]) * (
                1.0 + spec.uplift - spec.efficiency
            ) - spec.efficiency_amount
        elif spec.kind == "outturn":  # a share of this year's spend net of income
            shares = (
                {g: comm[g, p] for g in range(len(model.group_ids))}
                if spec.shares is None
                else {gidx[gid]: x for gid, x in spec.shares.items()}
            )
            x = (
                spec.factor
                * (1.0 + spec.uplift)
                * sum(shares.get(g, 0.0) * float(n) for g, n in zip(groups, N, strict=True))
            )
        else:
            continue
        nxt[p] = max(x, 0.0, float(floor[t + 1, p]))
    return nxt


def _planned_exits(model: Model, years: int) -> list[int]:
    """Each partner's exit year by its voluntary exit or the end date (``years + 1``: none)."""
    leaves = [years + 1] * len(model.partner_ids)
    exit_ = model.agreement.exit
    if exit_ is not None:
        for pid, year in exit_.voluntary.items():
            leaves[model.partner_ids.index(pid)] = year
        if exit_.end_year is not None:
            leaves = [min(y, exit_.end_year) for y in leaves]
    return leaves


def _agreement_weights(
    model: Model,
    key: Any,
    c_t: Any,
    spend_t: Any,
    case_shares: dict[str, Any] | None,
    t: int,
) -> list[float]:
    """Weights of a key over the whole agreement in year t, every partner (exit costs).

    ``c_t``: the year's contributions; ``spend_t``: each group's spend. [£]
    """
    pids = list(model.partner_ids)
    n_p = len(pids)
    if isinstance(key, dict):
        return [float(key.get(p, 0.0)) for p in pids]
    if key == "host":
        return [1.0 if p == model.host else 0.0 for p in pids]
    if key == "proportional":
        total = float(np.sum(c_t))
        return [float(x) / total for x in c_t] if total > 0 else [1.0 / n_p] * n_p
    if key == "commissioners":
        comm = model.commissioning_matrix()
        total = float(np.sum(spend_t))
        if total <= 0:
            return [1.0 / n_p] * n_p
        shares = []
        for g, gid in enumerate(model.group_ids):
            if case_shares is not None and gid in case_shares:
                shares.append([float(x) for x in np.asarray(case_shares[gid], float)[t]])
            else:
                shares.append([float(x) for x in comm[g]])
        return [
            sum(shares[g][p] * spend_t[g] for g in range(len(shares))) / total for p in range(n_p)
        ]
    raise NotImplementedError(f"key {key!r} gives no weights for exit costs")


def _net(out: dict[str, np.ndarray], t: int, p: int) -> float:
    """Partner p's net position in year t (pays beyond its contribution; negative: gets back)."""
    return float(
        out["overspend_call"][t, p]
        - out["underspend_refund"][t, p]
        - out["final_distribution"][t, p]
        + out["income_shortfall"][t, p]
        + out["partner_integration_cost"][t, p]
        - out["partner_integration_savings"][t, p]
        + out["exit_cost"][t, p]
    )


def _split_by_rule(A: float, sharing: Sharing, B: float, weights: Any) -> list[float]:
    """Split ``A >= 0`` by one key or a tower of bands (step 9)."""
    if not sharing.bands:
        return [A * w for w in weights(sharing.key)]
    result = [0.0] * len(weights("host"))
    lower = 0.0
    for band in sharing.bands:
        if band.upto is None:
            upper = math.inf
        else:
            upper = band.upto * B if sharing.basis == "budget" else band.upto
        part = min(max(A - lower, 0.0), upper - lower)
        for p, w in enumerate(weights(band.key)):
            result[p] += part * w
        lower = upper
    if lower < math.inf:
        rest = max(A - lower, 0.0)
        for p, w in enumerate(weights(sharing.key)):
            result[p] += rest * w
    return result


def _share(
    A: float, sharing: Sharing, threshold: Threshold | None, B: float, weights: Any
) -> list[float]:
    """Split ``A >= 0`` by a threshold then the rule (step 9)."""
    if A <= 0.0:
        return [0.0] * len(weights("host"))
    if threshold is None:
        return _split_by_rule(A, sharing, B, weights)
    tau = threshold.rate * B
    below = weights(threshold.below_key)
    if threshold.first_dollar:
        # Shared once A reaches the threshold (MSSP: "if G/B >= MSR"), so exactly
        # at the threshold the rule shares; docs/rules.md writes "A <= tau".
        if tau > A:
            return [A * w for w in below]
        return _split_by_rule(A, sharing, B, weights)
    if tau >= A:
        return [A * w for w in below]
    rest = _split_by_rule(A - tau, sharing, B, weights)
    return [tau * w + r for w, r in zip(below, rest, strict=True)]


def reference_imbalance(out: dict[str, np.ndarray]) -> np.ndarray:
    """Pool inflows minus outflows each year, ``(years,)``; zero when it balances. [£]"""
    total = np.zeros(out["spend"].shape[0])
    for name in _INFLOWS:
        a = out[name]
        total += a.sum(axis=1) if a.ndim == 2 else a
    for name in _OUTFLOWS:
        a = out[name]
        total -= a.sum(axis=1) if a.ndim == 2 else a
    return total
