"""A hand-worked example for every clause of ``docs/rules.md``.

Each example is a tiny pool with deterministic spend (``fixed`` groups, or a
spend array given directly), its expected flows written out as numbers, and
the working in a comment. Every example is checked twice: against the plain
reference implementation (:mod:`riskshare._reference`) and against the
vectorised engine (:func:`riskshare.settle.settle`), and both ledgers must
balance.

``reserve`` is the balance at each year end after any release (so 0 after
the last year's final distribution).

Conventions: partners ``council`` (the host unless stated) and ``icb``;
partner flows are written ``[[council, icb], ...]`` one row per year, pool
flows ``[year 0, year 1, ...]``. £m figures in comments, pounds in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from riskshare._reference import reference_imbalance, reference_settle
from riskshare.ledger import check_balance
from riskshare.testing import engine_ledger, fixed_model
from riskshare.testing.asserts import engine_view

C, I, T = "council", "icb", "trust"
m = 1e6  # £1m


@dataclass
class Example:
    id: str
    groups: dict[str, tuple[Any, list[float]]]  # {group: (commissioners, expected spend per year)}
    contributions: dict[str, list[float]]
    expected: dict[str, Any]
    agreement: dict[str, Any] = field(default_factory=dict)
    spend: list[list[float]] | None = None  # actual (years, groups); default: the expected amounts
    income: list[list[float]] | None = None
    charging: dict[str, float] | None = None
    host: str | None = C
    extra: dict[str, Any] = field(default_factory=dict)
    partners: list[str] = field(default_factory=lambda: [C, I])
    accrual: dict[str, list[float]] | None = None  # {group: twelve monthly shares}
    forecast: list[float] | None = None  # the forecast stream's normal z each year (default 0)
    cases: dict[str, dict[str, Any]] | None = None  # {group: its case splits clause}
    case_shares: dict[str, list[list[float]]] | None = None  # {group: (years, partners)}

    def model(self):
        return fixed_model(
            self.partners,
            self.groups,
            self.contributions,
            self.agreement,
            host=self.host,
            charging=self.charging,
            accrual=self.accrual,
            cases=self.cases,
            **self.extra,
        )


EXAMPLES = [
    # ------------------------------------------------------------------ keys
    # Budget B = 11 + 9 = 20. Year 0 spend 12 + 9 = 21: V = +1, shared 11:9 ->
    # council 0.55, icb 0.45. Year 1 spend 10 + 8 = 18: V = -2 -> refunds 1.1, 0.9.
    Example(
        "key_proportional",
        {"a": (C, [12 * m, 10 * m]), "b": (I, [9 * m, 8 * m])},
        {C: [11 * m, 11 * m], I: [9 * m, 9 * m]},
        {
            "overspend_call": [[0.55 * m, 0.45 * m], [0, 0]],
            "underspend_refund": [[0, 0], [1.1 * m, 0.9 * m]],
            "net": [[0.55 * m, 0.45 * m], [-1.1 * m, -0.9 * m]],
            "spend": [21 * m, 18 * m],
        },
    ),
    # weights: cumulative. Year 1 contributions 10:10 but cumulative 21:19 (11+10 : 9+10).
    # Year 1: B = 20, spend 24 -> V = 4 -> council 4*21/40 = 2.1, icb 1.9.
    Example(
        "key_proportional_cumulative",
        {"a": (C, [11 * m, 12 * m]), "b": (I, [9 * m, 12 * m])},
        {C: [11 * m, 10 * m], I: [9 * m, 10 * m]},
        {"overspend_call": [[0, 0], [2.1 * m, 1.9 * m]]},
        agreement={"weights": "cumulative"},
    ),
    # Fixed shares 60/40: V = +1 -> 0.6, 0.4 (contributions 10:10 do not matter).
    Example(
        "key_fixed",
        {"a": (C, [11 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"overspend_call": [[0.6 * m, 0.4 * m]]},
        agreement={"overspend": {"key": {C: 0.6, I: 0.4}}},
    ),
    # Host (icb marked host) bears all: V = +1 -> icb 1.
    Example(
        "key_host",
        {"a": (C, [11 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"overspend_call": [[0, 1 * m]]},
        agreement={"overspend": {"key": "host"}},
        host=I,
    ),
    # Commissioners: council commissions a (12) and half of b (9): 12 + 4.5 = 16.5 of 21;
    # icb 4.5 of 21. V = +1 -> council 16.5/21 = 0.785714..., icb 4.5/21 = 0.214285...
    Example(
        "key_commissioners",
        {"a": (C, [12 * m]), "b": ({C: 0.5, I: 0.5}, [9 * m])},
        {C: [11 * m], I: [9 * m]},
        {"overspend_call": [[16.5 / 21 * m, 4.5 / 21 * m]]},
        agreement={"overspend": {"key": "commissioners"}},
    ),
    # Own: group budgets by expected cost 11 and 9 (B = 20); actual 12 and 8.5:
    # V_a = +1 (council), V_b = -0.5 (icb); V = +0.5 >= 0 so 'own' (overspend side)
    # applies: council pays its 1, icb gets its 0.5 back.
    Example(
        "key_own",
        {"a": (C, [11 * m]), "b": (I, [9 * m])},
        {C: [11 * m], I: [9 * m]},
        {"overspend_call": [[1 * m, 0]], "underspend_refund": [[0, 0.5 * m]]},
        agreement={"overspend": {"key": "own"}},
        spend=[[12 * m, 8.5 * m]],
    ),
    # Own with a reserve: opening 0.2 meets 0.2 of V = 0.5 (a = 0.2), shared back by
    # the final key (proportional 11:9): council 1 - 0.11 = 0.89, icb -0.5 - 0.09 = -0.59.
    Example(
        "key_own_with_reserve",
        {"a": (C, [11 * m]), "b": (I, [9 * m])},
        {C: [11 * m], I: [9 * m]},
        {
            "overspend_call": [[0.89 * m, 0]],
            "underspend_refund": [[0, 0.59 * m]],
            "reserve_draw": [0.2 * m],
            "reserve": [0],
        },
        agreement={"overspend": {"key": "own"}, "reserve": {"opening": 0.2 * m}},
        spend=[[12 * m, 8.5 * m]],
    ),
    # ------------------------------------------------------------------ aligned budgets
    # Each partner exactly its own variance: council V_a = 12 - 11 = +1, icb V_b = 8.5 - 9 = -0.5.
    Example(
        "aligned",
        {"a": (C, [11 * m]), "b": (I, [9 * m])},
        {C: [11 * m], I: [9 * m]},
        {
            "overspend_call": [[1 * m, 0]],
            "underspend_refund": [[0, 0.5 * m]],
            "net": [[1 * m, -0.5 * m]],
        },
        agreement={"arrangement": "aligned"},
        spend=[[12 * m, 8.5 * m]],
    ),
    # ------------------------------------------------------------------ towers
    # B = 20 (12:8, weights 0.6/0.4). V = 1.5 (7.5 %). Host (council) first 2 % = 0.4;
    # 50/50 from 2 % to 5 % (0.4..1.0): 0.3 each; beyond 1.0: 0.5 proportional 0.3/0.2.
    # Council 0.4 + 0.3 + 0.3 = 1.0, icb 0.3 + 0.2 = 0.5.
    Example(
        "tower_budget_fractions",
        {"a": (C, [12.9 * m]), "b": (I, [8.6 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[1.0 * m, 0.5 * m]]},
        agreement={
            "overspend": {
                "basis": "budget",
                "key": "proportional",
                "bands": [{"upto": 0.02, "key": "host"}, {"upto": 0.05, "key": {C: 0.5, I: 0.5}}],
            }
        },
    ),
    # Bands in £: host first 0.25; 50/50 from 0.25 to 0.75; beyond, 20/80.
    # V = 1: council 0.25 + 0.25 + 0.05 = 0.55, icb 0.25 + 0.2 = 0.45.
    Example(
        "tower_pounds",
        {"a": (C, [11 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"overspend_call": [[0.55 * m, 0.45 * m]]},
        agreement={
            "overspend": {
                "basis": "amount",
                "key": {C: 0.2, I: 0.8},
                "bands": [
                    {"upto": 250_000, "key": "host"},
                    {"upto": 750_000, "key": {C: 0.5, I: 0.5}},
                ],
            }
        },
    ),
    # ------------------------------------------------------------------ reserve
    # Opening 0.5. Year 0 V = +1: draw 0.5, the other 0.5 shared 12:8 -> 0.3, 0.2.
    # Year 1 V = -0.3: carried into the reserve (no cap): balance 0.3, paid out at the
    # end by the final key (proportional 12:8): 0.18, 0.12.
    Example(
        "reserve_opening",
        {"a": (C, [12.6 * m, 11.82 * m]), "b": (I, [8.4 * m, 7.88 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "reserve_draw": [0.5 * m, 0],
            "reserve_topup": [0, 0.3 * m],
            "overspend_call": [[0.3 * m, 0.2 * m], [0, 0]],
            "underspend_refund": [[0, 0], [0, 0]],
            "final_distribution": [[0, 0], [0.18 * m, 0.12 * m]],
            "reserve_release": [0, 0.3 * m],
            "reserve": [0, 0],
        },
        agreement={"reserve": {"opening": 0.5 * m}},
    ),
    # Top-slice 2 % in the first year only: 0.24 + 0.16 = 0.4 into the reserve, B = 19.6.
    # Year 0 spend 20.1: V = 0.5: draw 0.4, 0.1 shared 0.06/0.04. Year 1 B = 20, spend
    # 19.8: V = -0.2 carried forward; at the end 0.2 paid out 0.12/0.08.
    Example(
        "reserve_top_slice_first",
        {"a": (C, [12.06 * m, 11.88 * m]), "b": (I, [8.04 * m, 7.92 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "reserve_topup": [0.4 * m, 0.2 * m],
            "reserve_draw": [0.4 * m, 0],
            "overspend_call": [[0.06 * m, 0.04 * m], [0, 0]],
            "final_distribution": [[0, 0], [0.12 * m, 0.08 * m]],
            "reserve": [0, 0],
        },
        agreement={"reserve": {"top_slice": 0.02, "top_slice_years": "first"}},
    ),
    # Top-slice every year: year 1 also puts 0.4 in (B = 19.6); spend 19.8: V = +0.2 drawn
    # from the 0.4; 0.2 left, paid out 0.12/0.08.
    Example(
        "reserve_top_slice_every",
        {"a": (C, [12.06 * m, 11.88 * m]), "b": (I, [8.04 * m, 7.92 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "reserve_topup": [0.4 * m, 0.4 * m],
            "reserve_draw": [0.4 * m, 0.2 * m],
            "overspend_call": [[0.06 * m, 0.04 * m], [0, 0]],
            "final_distribution": [[0, 0], [0.12 * m, 0.08 * m]],
            "reserve": [0, 0],
        },
        agreement={"reserve": {"top_slice": 0.02, "top_slice_years": "every"}},
    ),
    # Carry-forward cap 0.25. Year 0 V = -1: 0.25 carried, 0.75 returned 0.45/0.3.
    # Year 1 V = -0.5: the reserve is full, all returned 0.3/0.2. End: 0.25 out 0.15/0.1.
    Example(
        "reserve_carry_forward_cap",
        {"a": (C, [11.4 * m, 11.7 * m]), "b": (I, [7.6 * m, 7.8 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "reserve_topup": [0.25 * m, 0],
            "underspend_refund": [[0.45 * m, 0.3 * m], [0.3 * m, 0.2 * m]],
            "final_distribution": [[0, 0], [0.15 * m, 0.1 * m]],
            "reserve": [0.25 * m, 0],
        },
        agreement={"reserve": {"cap": 0.25 * m}},
    ),
    # Correction (issue 10): the cap also limits top-slices. Opening 0.3, cap 0.5, top-slice
    # 2 % of 12 + 8 = 0.4 wanted, room 0.2: 0.2 taken, 0.12/0.08 (pro rata), so B = 19.8;
    # spend 19.8: V = 0. Year 1: the reserve is full, nothing taken, B = 20, spend 20. At the
    # end 0.5 out 0.3/0.2 (proportional 12:8).
    Example(
        "reserve_cap_limits_top_slice",
        {"a": (C, [11.88 * m, 12 * m]), "b": (I, [7.92 * m, 8 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "reserve_topup": [0.2 * m, 0],
            "overspend_call": [[0, 0], [0, 0]],
            "underspend_refund": [[0, 0], [0, 0]],
            "final_distribution": [[0, 0], [0.3 * m, 0.2 * m]],
            "reserve": [0.5 * m, 0],
        },
        agreement={"reserve": {"opening": 0.3 * m, "cap": 0.5 * m, "top_slice": 0.02}},
    ),
    # exclude_groups: group a is a ring-fenced grant. Budgets 10/10; spend a 9 (V_a = -1),
    # b 9.5 (V_b = -0.5): V = -1.5, but only b's 0.5 may be carried forward.
    # 0.5 into the reserve, 1.0 returned 0.5/0.5; at the end 0.5 out 0.25/0.25.
    Example(
        "reserve_exclude_groups",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_topup": [0.5 * m],
            "underspend_refund": [[0.5 * m, 0.5 * m]],
            "final_distribution": [[0.25 * m, 0.25 * m]],
            "reserve_release": [0.5 * m],
        },
        agreement={"reserve": {"exclude_groups": ["a"]}},
        spend=[[9 * m, 9.5 * m]],
    ),
    # Final key 70/30: opening 1, no variance; at the end 1 paid out 0.7/0.3.
    Example(
        "reserve_final_key",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "final_distribution": [[0.7 * m, 0.3 * m]],
            "reserve_release": [1 * m],
            "net": [[-0.7 * m, -0.3 * m]],
        },
        agreement={"reserve": {"opening": 1 * m, "final_key": {C: 0.7, I: 0.3}}},
    ),
    # ------------------------------------------------------------------ thresholds
    # Dead band: host (council) absorbs the first 2 % (0.4 of B = 20); proportional 12:8 beyond.
    # Year 0 V = 1: council 0.4 + 0.36 = 0.76, icb 0.24. Year 1 V = 0.3 <= 0.4: all council.
    Example(
        "threshold_dead_band",
        {"a": (C, [12.6 * m, 12.18 * m]), "b": (I, [8.4 * m, 8.12 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {"overspend_call": [[0.76 * m, 0.24 * m], [0.3 * m, 0]]},
        agreement={"threshold_overspend": {"rate": 0.02, "below_key": "host"}},
    ),
    # First dollar (underspend): 2 % of B = 20 is 0.4. Year 0 V = -1 > 0.4: the whole 1
    # shared 50/50. Year 1 V = -0.3 <= 0.4: all to the below key (icb).
    Example(
        "threshold_first_dollar",
        {"a": (C, [9.5 * m, 9.85 * m]), "b": (I, [9.5 * m, 9.85 * m])},
        {C: [10 * m, 10 * m], I: [10 * m, 10 * m]},
        {"underspend_refund": [[0.5 * m, 0.5 * m], [0, 0.3 * m]]},
        agreement={
            "threshold_underspend": {"rate": 0.02, "first_dollar": True, "below_key": {I: 1.0}},
            "underspend": {"key": {C: 0.5, I: 0.5}},
        },
    ),
    # ------------------------------------------------------------------ group profiles
    # Group a (equipment, a fixed line) keyed 'host': the host council keeps its variance.
    # Budgets by expected cost 5 and 15 (B = 20). Spend a 5.2 (V_a = 0.2, council),
    # b 15.8 (V_b = 0.8, proportional 12:8 -> 0.48/0.32). Council 0.68, icb 0.32.
    Example(
        "profile_host_fixed_line",
        {"a": (I, [5 * m]), "b": ({C: 0.5, I: 0.5}, [15 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[0.68 * m, 0.32 * m]]},
        agreement={"group_keys": {"a": "host"}},
        spend=[[5.2 * m, 15.8 * m]],
    ),
    # Group b jointly commissioned 30/70 keyed 'commissioners': V_b = +1 -> 0.3/0.7;
    # group a pooled: V_a = 0.
    Example(
        "profile_commissioners",
        {"a": (C, [10 * m]), "b": ({C: 0.3, I: 0.7}, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"overspend_call": [[0.3 * m, 0.7 * m]]},
        agreement={"group_keys": {"b": "commissioners"}},
        spend=[[10 * m, 11 * m]],
    ),
    # ------------------------------------------------------------------ offset_groups
    # offset_groups false: V_a = +1, V_b = -0.6, reserve opening 0.5. O = 1, Q = 0.6
    # (nothing netted). Draw 0.5 (O = 0.5), shared 0.25/0.25 as calls. b's own
    # underspend 0.6 is carried into the reserve (no cap): reserve 0.5 - 0.5 + 0.6 = 0.6,
    # paid out at the end 0.3/0.3. Net -0.05 each. (With offset, V = 0.4 would all be
    # drawn from the reserve.)
    Example(
        "offset_groups_false",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_draw": [0.5 * m],
            "underspend_refund": [[0, 0]],
            "overspend_call": [[0.25 * m, 0.25 * m]],
            "reserve_topup": [0.6 * m],
            "final_distribution": [[0.3 * m, 0.3 * m]],
        },
        agreement={"offset_groups": False, "reserve": {"opening": 0.5 * m}},
        spend=[[11 * m, 9.4 * m]],
    ),
    # ------------------------------------------------------------------ waterfall
    # Uncommitted 5 % of B = 20: U = 1 held back, group budgets 19 (9.5 each). Spend
    # 19.8: V = 0.8. Reserve first: draw 0.5 (all of it), release 0.3 of U; the partners
    # pay nothing; the pool spends 0.7 of U.
    Example(
        "waterfall_reserve_first",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_draw": [0.5 * m],
            "uncommitted_spend": [0.7 * m],
            "overspend_call": [[0, 0]],
            "reserve_release": [0],
        },
        agreement={"uncommitted": 0.05, "reserve": {"opening": 0.5 * m}},
        spend=[[9.9 * m, 9.9 * m]],
    ),
    # Uncommitted first: release 0.8 (of 1), no draw; the pool spends 0.2 of U; the 0.5
    # reserve is paid out at the end 0.25/0.25.
    Example(
        "waterfall_uncommitted_first",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_draw": [0],
            "uncommitted_spend": [0.2 * m],
            "overspend_call": [[0, 0]],
            "final_distribution": [[0.25 * m, 0.25 * m]],
        },
        agreement={
            "uncommitted": 0.05,
            "reserve": {"opening": 0.5 * m},
            "waterfall": ["uncommitted", "reserve"],
        },
        spend=[[9.9 * m, 9.9 * m]],
    ),
    # ------------------------------------------------------------------ underspend dispositions
    # retain without a cap: V = -1, all of it stays in the reserve: top-up 1.0, paid out
    # at the end 0.5/0.5; no refund.
    Example(
        "underspend_retain",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_topup": [1 * m],
            "underspend_refund": [[0, 0]],
            "final_distribution": [[0.5 * m, 0.5 * m]],
            "reserve": [0],
        },
        agreement={"underspend_disposition": "retain", "reserve": {}},
        spend=[[9.5 * m, 9.5 * m]],
    ),
    # Correction (issue 10): the reserve cap limits the balance whatever feeds it. retain
    # with cap 0.2: V = -1, 0.2 carried forward fills the reserve; retention finds no room,
    # so the other 0.8 is returned by the underspend rule 0.4/0.4. At the end 0.2 out 0.1/0.1.
    Example(
        "underspend_retain_up_to_the_cap",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_topup": [0.2 * m],
            "underspend_refund": [[0.4 * m, 0.4 * m]],
            "final_distribution": [[0.1 * m, 0.1 * m]],
            "reserve": [0],
        },
        agreement={"underspend_disposition": "retain", "reserve": {"cap": 0.2 * m}},
        spend=[[9.5 * m, 9.5 * m]],
    ),
    # nonrecurrent: 0.2 carried (cap), 0.8 spent on one-off items; no refund.
    Example(
        "underspend_nonrecurrent",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "reserve_topup": [0.2 * m],
            "nonrecurrent_spend": [0.8 * m],
            "underspend_refund": [[0, 0]],
            "final_distribution": [[0.1 * m, 0.1 * m]],
        },
        agreement={"underspend_disposition": "nonrecurrent", "reserve": {"cap": 0.2 * m}},
        spend=[[9.5 * m, 9.5 * m]],
    ),
    # return (the default) without a reserve: V = -1 returned 0.5/0.5.
    Example(
        "underspend_return",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"underspend_refund": [[0.5 * m, 0.5 * m]], "nonrecurrent_spend": [0]},
        spend=[[9.5 * m, 9.5 * m]],
    ),
    # ------------------------------------------------------------------ caps
    # £ cap per year: council's overspend share 1.5 * 0.6 = 0.9 capped at 0.5; 0.4 to icb.
    Example(
        "cap_amount_year_to_partner",
        {"a": (C, [12.9 * m]), "b": (I, [8.6 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[0.5 * m, 1.0 * m]]},
        agreement={"caps": [{"partner": C, "amount": 0.5 * m, "overflow": I}]},
    ),
    # 5 % of council's contribution (0.6): V = 2 -> 1.2 capped at 0.6; 0.6 unfunded.
    Example(
        "cap_fraction_contribution_unfunded",
        {"a": (C, [13.2 * m]), "b": (I, [8.8 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[0.6 * m, 0.8 * m]], "unfunded": [0.6 * m]},
        agreement={
            "caps": [{"partner": C, "fraction": 0.05, "of": "contribution", "overflow": "unfunded"}]
        },
    ),
    # 3 % of the budget (0.6): V = 1.5 -> 0.9 capped at 0.6; 0.3 to icb (0.6 + 0.3).
    Example(
        "cap_fraction_budget",
        {"a": (C, [12.9 * m]), "b": (I, [8.6 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[0.6 * m, 0.9 * m]]},
        agreement={"caps": [{"partner": C, "fraction": 0.03, "of": "budget", "overflow": I}]},
    ),
    # 10 % of council's contribution to joint group a: budgets 8 and 12 (B = 20), council's
    # part of a is 0.5 * 8 = 4 -> cap 0.4. V = 1.5 -> 0.9 capped at 0.4; 0.5 to icb (1.1).
    Example(
        "cap_group_contribution",
        {"a": ({C: 0.5, I: 0.5}, [8 * m]), "b": (I, [12 * m])},
        {C: [12 * m], I: [8 * m]},
        {"overspend_call": [[0.4 * m, 1.1 * m]]},
        agreement={
            "caps": [
                {
                    "partner": C,
                    "fraction": 0.1,
                    "of": "group_contribution",
                    "group": "a",
                    "overflow": I,
                }
            ]
        },
        spend=[[8.6 * m, 12.9 * m]],
    ),
    # £1 cap over the agreement, overflow to the reserve. V = 1.5 both years, 0.9 to
    # council each year. Year 0: 0.9 (0.1 of the cap left). Year 1: 0.1, the other 0.8
    # drawn from the reserve, which goes 0.8 into deficit; at the end the deficit is paid
    # by the final key 12:8: final_distribution -0.48/-0.32.
    Example(
        "cap_amount_agreement_to_reserve",
        {"a": (C, [12.9 * m, 12.9 * m]), "b": (I, [8.6 * m, 8.6 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "overspend_call": [[0.9 * m, 0.6 * m], [0.1 * m, 0.6 * m]],
            "reserve_draw": [0, 0.8 * m],
            "reserve_release": [0, -0.8 * m],
            "reserve": [0, 0],
            "final_distribution": [[0, 0], [-0.48 * m, -0.32 * m]],
            "net": [[0.9 * m, 0.6 * m], [0.58 * m, 0.92 * m]],
        },
        agreement={
            "reserve": {},
            "caps": [{"partner": C, "per": "agreement", "amount": 1 * m, "overflow": "reserve"}],
        },
    ),
    # 10 % of contributions over the agreement: limit 1.2 after year 0, 2.4 after year 1.
    # Year 0 V = 1.5: council 0.9. Year 1 V = 3: council 1.8, allowed 2.4 - 0.9 = 1.5,
    # 0.3 to icb (1.2 + 0.3 = 1.5).
    Example(
        "cap_fraction_agreement",
        {"a": (C, [12.9 * m, 13.8 * m]), "b": (I, [8.6 * m, 9.2 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {"overspend_call": [[0.9 * m, 0.6 * m], [1.5 * m, 1.5 * m]]},
        agreement={"caps": [{"partner": C, "per": "agreement", "fraction": 0.1, "overflow": I}]},
    ),
    # Underspend cap: council's gain 0.6 of V = -1 capped at 0.3; 0.3 more to icb (0.7).
    Example(
        "cap_underspend_to_partner",
        {"a": (C, [11.4 * m]), "b": (I, [7.6 * m])},
        {C: [12 * m], I: [8 * m]},
        {"underspend_refund": [[0.3 * m, 0.7 * m]]},
        agreement={
            "caps": [{"partner": C, "side": "underspend", "amount": 0.3 * m, "overflow": I}]
        },
    ),
    # Underspend cap overflowing into the reserve (no carry-forward): council's gain 0.6
    # capped at 0.3; 0.3 into the reserve, paid out at the end 12:8 -> 0.18/0.12.
    Example(
        "cap_underspend_to_reserve",
        {"a": (C, [11.4 * m]), "b": (I, [7.6 * m])},
        {C: [12 * m], I: [8 * m]},
        {
            "underspend_refund": [[0.3 * m, 0.4 * m]],
            "reserve_topup": [0.3 * m],
            "final_distribution": [[0.18 * m, 0.12 * m]],
        },
        agreement={
            "reserve": {"carry_forward": False},
            "caps": [
                {"partner": C, "side": "underspend", "amount": 0.3 * m, "overflow": "reserve"}
            ],
        },
    ),
    # ------------------------------------------------------------------ holdback
    # The icb holds back H = 2.8 against a 4.2 % NEA reduction target; achieved 2.1 %
    # (metric mean, sd 0): released 2.8 * 2.1/4.2 = 1.4 to the pool, 1.4 retained for
    # the acute provider. Contributions 14 + 26 = 40 (icb pays 23.2 in); B = 40 - 2.8 +
    # 1.4 = 38.6. Spend 39.6: V = 1 shared 14:26 -> 0.35/0.65.
    Example(
        "holdback",
        {"a": (C, [14 * m]), "b": (I, [25.6 * m])},
        {C: [14 * m], I: [26 * m]},
        {
            "contribution": [[14 * m, 23.2 * m]],
            "holdback_released": [1.4 * m],
            "holdback_retained": [1.4 * m],
            "overspend_call": [[0.35 * m, 0.65 * m]],
        },
        agreement={"holdback": {"partner": I, "amount": 2.8 * m, "metric": "nea", "target": 0.042}},
        extra={"performance": [{"id": "nea", "mean": 0.021, "sd": 0.0}]},
    ),
    # The same year with ``unreleased: uncommission``: the 1.4 not released would have funded
    # schemes in the icb's group b; a quarter of their cost was committed before the release
    # was known (fixed_share 0.25), so spend falls by 0.75 * 1.4 = 1.05 (memo
    # holdback_uncommissioned): b spends 25.6 - 1.05 = 24.55, the pool 14 + 24.55 = 38.55.
    # B = 38.6 as before, so V = 38.55 - 38.6 = -0.05: an underspend of 0.05 returned
    # 14:26 (0.0175 / 0.0325) instead of an overspend of 1 shared. The acute provider still
    # gets 1.4 from the icb (holdback_retained).
    Example(
        "holdback_uncommission",
        {"a": (C, [14 * m]), "b": (I, [25.6 * m])},
        {C: [14 * m], I: [26 * m]},
        {
            "contribution": [[14 * m, 23.2 * m]],
            "holdback_released": [1.4 * m],
            "holdback_retained": [1.4 * m],
            "holdback_uncommissioned": [1.05 * m],
            "spend": [38.55 * m],
            "overspend_call": [[0, 0]],
            "underspend_refund": [[0.0175 * m, 0.0325 * m]],
        },
        agreement={
            "holdback": {
                "partner": I,
                "amount": 2.8 * m,
                "metric": "nea",
                "target": 0.042,
                "unreleased": "uncommission",
                "funds": ["b"],
                "fixed_share": 0.25,
            }
        },
        extra={"performance": [{"id": "nea", "mean": 0.021, "sd": 0.0}]},
    ),
    # Admissions rose (metric -1 % against a 4 % target): nothing is released, the icb's
    # H = 2 goes to the acute provider. Its schemes are in two groups, b (icb, expected 6)
    # and c (council, expected 2): half their cost is committed (fixed_share 0.5), so spend
    # falls by 0.5 * 2 = 1, split by the group budgets 6:2 -> b 0.75, c 0.25. Aligned
    # budgets make the split visible: council V = a 7 + c (2 - 0.25) - 9 = -0.25; icb
    # budget part 9 - 2 + 0 = 7, V = b (6 - 0.75) - 7 = -1.75. Spend 15 - 1 = 14.
    Example(
        "holdback_uncommission_split",
        {"a": (C, [7 * m]), "b": (I, [6 * m]), "c": (C, [2 * m])},
        {C: [9 * m], I: [9 * m]},
        {
            "contribution": [[9 * m, 7 * m]],
            "holdback_released": [0.0],
            "holdback_retained": [2 * m],
            "holdback_uncommissioned": [1 * m],
            "spend": [14 * m],
            "underspend_refund": [[0.25 * m, 1.75 * m]],
        },
        agreement={
            "arrangement": "aligned",
            "holdback": {
                "partner": I,
                "amount": 2 * m,
                "metric": "nea",
                "target": 0.04,
                "unreleased": "uncommission",
                "funds": ["b", "c"],
                "fixed_share": 0.5,
            },
        },
        extra={"performance": [{"id": "nea", "mean": -0.01, "sd": 0.0}]},
    ),
    # ------------------------------------------------------------------ trigger
    # B = 20; spend 21: V0 = 1 > 2 % (0.4): mitigate 50 % of the second half's overspend:
    # M = 0.5 * 1 * 6/12 = 0.25. Spend after action 20.75; V = 0.75 shared 12:8 -> 0.45/0.3.
    Example(
        "trigger",
        {"a": (C, [12 * m]), "b": (I, [9 * m])},
        {C: [12 * m], I: [8 * m]},
        {
            "mitigation": [0.25 * m],
            "spend": [20.75 * m],
            "trigger_fired": [True],
            "overspend_call": [[0.45 * m, 0.3 * m]],
        },
        agreement={"trigger": {"threshold": 0.02, "mitigation": 0.5, "month": 6}},
    ),
    # A trigger on the month-6 forecast with a 2-month lag, 60 % effective, and a recovery
    # plan costing 0.05 plus 10 % of the saving. B = 12 + 8 = 20 both years; spend 21, so
    # V0 = 1 (5 %) > 2 % of B (0.4): action is needed both years. Flat accrual: tau = 6/12.
    # Plan P = B - X - U = 20; L = ln(21/20) = 0.0487902; sd 0.04, so the bridge adds
    # 0.04 * sqrt(0.5 * 0.5) * z = 0.02 z to tau L = 0.0243951.
    # Year 0, z = -1: W = 0.0043951, forecast A = 20 (e^W - 1) = 0.0880951 < 0.4: no action
    # although needed (a miss); forecast error V0 - A = 0.9119049. V = 1 shared 12:8 -> 0.6/0.4.
    # Year 1, z = +1: W = 0.0443951, A = 20 (e^W - 1) = 0.9079058 > 0.4: action from month
    # 6 + 2 = 8, on the last 4 months: M = 0.6 * 0.9079058 * 4/12 = 0.1815812; spend 21 - M
    # = 20.8184188; recovery cost K = 0.05 + 0.1 M = 0.0681581 (an outflow, in the variance):
    # V = 0.8184188 + 0.0681581 = 0.8865770 shared 12:8 -> 0.5319462 / 0.3546308.
    # Forecast error 1 - 0.9079058 = 0.0920942.
    Example(
        "trigger_on_forecast_with_lag",
        {"a": (C, [12 * m, 12 * m]), "b": (I, [9 * m, 9 * m])},
        {C: [12 * m, 12 * m], I: [8 * m, 8 * m]},
        {
            "trigger_needed": [True, True],
            "trigger_fired": [False, True],
            "forecast_error": [0.9119049075335 * m, 0.0920941947596 * m],
            "mitigation": [0, 0.1815811610481 * m],
            "recovery_cost": [0, 0.0681581161048 * m],
            "spend": [21 * m, 20.8184188389519 * m],
            "overspend_call": [[0.6 * m, 0.4 * m], [0.5319461730340 * m, 0.3546307820227 * m]],
        },
        agreement={
            "trigger": {
                "threshold": 0.02,
                "mitigation": 0.6,
                "month": 6,
                "lag": 2,
                "on": "forecast",
                "forecast": {"sd": 0.04},
                "cost": {"fixed": 0.05 * m, "proportional": 0.1},
            }
        },
        forecast=[-1.0, 1.0],
    ),
    # ------------------------------------------------------------------ instalments
    # Quarterly instalments in advance: B = 12 + 8 = 20, paid 5 at the start of each quarter
    # (received by the end of month k: 5, 5, 5, 10, 10, 10, 15, ...). Group a (12) accrues
    # flat, 1 a month; group b (9) is spent in the first quarter, 3 a month. Spent by the
    # end of month k: k + 3 min(k, 3). Short (spent - received) at each month end:
    # Q1 4-5, 8-5, 12-5 = -1, 3, 7 -> call 7; Q2 13-10, 14-10, 15-10 = 3, 4, 5 -> 5;
    # Q3 16-15, 17-15, 18-15 -> 3; Q4 19-20, 20-20, 21-20 -> 1 = V, the year-end overspend
    # shared 12:8 (0.6/0.4). The host finds 7 in the first quarter although the year ends
    # only 1 over.
    Example(
        "instalments_quarterly",
        {"a": (C, [12 * m]), "b": (I, [9 * m])},
        {C: [12 * m], I: [8 * m]},
        {
            "cash_q1": [7 * m],
            "cash_q2": [5 * m],
            "cash_q3": [3 * m],
            "cash_q4": [1 * m],
            # By default (cash_key: host) the host, the council, finds every call.
            "cash_q1:council": [7 * m],
            "cash_q1:icb": [0],
            "cash_q4:council": [1 * m],
            "cash_q4:icb": [0],
            "overspend_call": [[0.6 * m, 0.4 * m]],
        },
        agreement={"instalments": {"number": 4}},
        accrual={"b": [1 / 3] * 3 + [0.0] * 9},
    ),
    # The same year with the in-year cash found by the partners in proportion to their
    # contributions (cash_key: proportional, 12:8 = 0.6/0.4), as in-year additional
    # contributions: the council finds 0.6 of each call, 0.6 x (7, 5, 3, 1) = 4.2, 3, 1.8,
    # 0.6, and the icb 0.4 x (7, 5, 3, 1) = 2.8, 2, 1.2, 0.4 (the pool's calls unchanged).
    Example(
        "instalments_cash_by_partner",
        {"a": (C, [12 * m]), "b": (I, [9 * m])},
        {C: [12 * m], I: [8 * m]},
        {
            "cash_q1": [7 * m],
            "cash_q1:council": [4.2 * m],
            "cash_q1:icb": [2.8 * m],
            "cash_q2:council": [3 * m],
            "cash_q2:icb": [2 * m],
            "cash_q3:council": [1.8 * m],
            "cash_q3:icb": [1.2 * m],
            "cash_q4:council": [0.6 * m],
            "cash_q4:icb": [0.4 * m],
        },
        agreement={"instalments": {"number": 4, "cash_key": "proportional"}},
        accrual={"b": [1 / 3] * 3 + [0.0] * 9},
    ),
    # The same year with one instalment, all 20 paid at the start: the pool is never short
    # until the year end, when it is 1 over (21 - 20): calls 0, 0, 0, 1.
    Example(
        "instalments_annual",
        {"a": (C, [12 * m]), "b": (I, [9 * m])},
        {C: [12 * m], I: [8 * m]},
        {"cash_q1": [0], "cash_q2": [0], "cash_q3": [0], "cash_q4": [1 * m]},
        agreement={"instalments": {"number": 1}},
        accrual={"b": [1 / 3] * 3 + [0.0] * 9},
    ),
    # The host leaves: council (host), icb and trust put in 12, 6 and 2 (B = 20) and spend
    # 12, 9 and 4 (25) each year, flat; one instalment, all 20 paid at the start, so the
    # pool is short only at the year end, 25 - 20 = 5: calls 0, 0, 0, 5 each year. Year 0:
    # cash_key host, the council finds the 5. It leaves at the start of year 1 (voluntary);
    # the key 'host' then gives the partners still in nothing and falls back to their
    # contributions, 6:2: the icb finds 3.75 and the trust 1.25 of year 1's call.
    Example(
        "instalments_cash_host_left",
        {"a": (C, [12 * m] * 2), "b": (I, [9 * m] * 2), "c": (T, [4 * m] * 2)},
        {C: [12 * m] * 2, I: [6 * m] * 2, T: [2 * m] * 2},
        {
            "cash_q3": [0, 0],
            "cash_q4": [5 * m, 5 * m],
            "cash_q4:council": [5 * m, 0],
            "cash_q4:icb": [0, 3.75 * m],
            "cash_q4:trust": [0, 1.25 * m],
        },
        agreement={"instalments": {"number": 1}, "exit": {"voluntary": {C: 1}}},
        partners=[C, I, T],
    ),
    # ------------------------------------------------------------------ exit
    # Council's limit 0.5, one year's notice. Reserve opening 1. Year 0 V = 2.2: draw 1,
    # 1.2 shared 0.6/0.6: council's cumulative 0.6 > 0.5 -> notice; it leaves at the start
    # of year 2. Year 1 V = -0.4 carried into the reserve (0.4). Year 2: the council takes
    # its share of the reserve by the exit key (proportional 10:10): 0.2, and from then on
    # its own variance, V_a = +0.3. The icb carries on alone: V - 0.3 = -0.1 is its pool's
    # underspend, carried into the reserve (0.3), paid to it at the end (final key over the
    # partners still in: the icb). The ``exit`` extra marks the year an exit takes effect.
    Example(
        "exit_with_notice",
        {"a": (C, [10 * m] * 4), "b": (I, [10 * m] * 4)},
        {C: [10 * m] * 4, I: [10 * m] * 4},
        {
            "overspend_call": [[0.6 * m, 0.6 * m], [0, 0], [0.3 * m, 0], [0, 0]],
            "underspend_refund": [[0, 0], [0, 0], [0, 0], [0, 0]],
            "final_distribution": [[0, 0], [0, 0], [0.2 * m, 0], [0, 0.3 * m]],
            "reserve_release": [0, 0, 0.2 * m, 0.3 * m],
            "reserve_topup": [0, 0.4 * m, 0.1 * m, 0],
            "net": [[0.6 * m, 0.6 * m], [0, 0], [0.1 * m, 0], [0, -0.3 * m]],
            "exit": [False, False, True, False],
        },
        agreement={
            "reserve": {"opening": 1 * m},
            "exit": {"limits": {C: 0.5 * m}, "notice_years": 1},
        },
        spend=[[11.1 * m, 11.1 * m], [9.8 * m, 9.8 * m], [10.3 * m, 9.9 * m], [10 * m, 10 * m]],
    ),
    # Three partners; the trust leaves at the start of year 1 (voluntary exit). Budget
    # 10 + 6 + 4 = 20, reserve opening 1. Year 0: spend 10.5, 6, 4: V = 0.5, met by the
    # reserve (0.5 left). Year 1: the trust takes 4/20 of the reserve, 0.1 (0.4 left). Spend
    # 11, 6, 4.6: V = 1.6. The trust keeps its own variance, 4.6 - 4 = 0.6; the council and
    # the icb carry on with V - 0.6 = 1.0: the reserve meets 0.4, and 0.6 is shared over the
    # two of them, 10 : 6: council 0.375, icb 0.225.
    Example(
        "exit_only_the_leaver_leaves",
        {"a": (C, [10 * m] * 2), "b": (I, [6 * m] * 2), "c": (T, [4 * m] * 2)},
        {C: [10 * m] * 2, I: [6 * m] * 2, T: [4 * m] * 2},
        {
            "reserve_draw": [0.5 * m, 0.4 * m],
            "final_distribution": [[0, 0, 0], [0, 0, 0.1 * m]],
            "reserve_release": [0, 0.1 * m],
            "overspend_call": [[0, 0, 0], [0.375 * m, 0.225 * m, 0.6 * m]],
            "net": [[0, 0, 0], [0.375 * m, 0.225 * m, 0.5 * m]],
            "exit": [False, True],
        },
        agreement={"reserve": {"opening": 1 * m}, "exit": {"voluntary": {T: 1}}},
        spend=[[10.5 * m, 6 * m, 4 * m], [11 * m, 6 * m, 4.6 * m]],
        partners=[C, I, T],
    ),
    # The same exit with its costs: redundancy 0.3 split by a key 50/50 between the council
    # and the icb, and a year of double running 0.2 paid by the leaver. Paid outside the
    # pool in the exit year (exit_cost), counted in each net position.
    Example(
        "exit_costs_by_key",
        {"a": (C, [10 * m] * 2), "b": (I, [6 * m] * 2), "c": (T, [4 * m] * 2)},
        {C: [10 * m] * 2, I: [6 * m] * 2, T: [4 * m] * 2},
        {
            "exit_cost": [[0, 0, 0], [0.15 * m, 0.15 * m, 0.2 * m]],
            "overspend_call": [[0, 0, 0], [0.375 * m, 0.225 * m, 0.6 * m]],
            "net": [[0, 0, 0], [0.525 * m, 0.375 * m, 0.7 * m]],
        },
        agreement={
            "reserve": {"opening": 1 * m},
            "exit": {
                "voluntary": {T: 1},
                "costs": [
                    {
                        "kind": "redundancy",
                        "amount": 0.3 * m,
                        "paid_by": "key",
                        "key": {C: 0.5, I: 0.5},
                    },
                    {"kind": "double_running", "amount": 0.2 * m, "paid_by": "leaver"},
                ],
            },
        },
        spend=[[10.5 * m, 6 * m, 4 * m], [11 * m, 6 * m, 4.6 * m]],
        partners=[C, I, T],
    ),
    # No notice in the last year. Budget 12 + 8 = 20, the council's limit 0.5. Year 0 as
    # budgeted; year 1 (the last) spend 22: V = +2 shared 12 : 8, council 1.2, past its
    # limit, but no year is left for an exit to take effect in: no notice, no exit year
    # (years + 1 = 3 for both).
    Example(
        "exit_no_notice_in_the_last_year",
        {"a": (C, [12 * m] * 2), "b": (I, [8 * m] * 2)},
        {C: [12 * m] * 2, I: [8 * m] * 2},
        {
            "overspend_call": [[0, 0], [1.2 * m, 0.8 * m]],
            "exit": [False, False],
            "exit_year": [3, 3],
        },
        agreement={"exit": {"limits": {C: 0.5 * m}}},
        spend=[[12 * m, 8 * m], [13.5 * m, 8.5 * m]],
    ),
    # A fixed end date: the agreement ends at the start of year 1. Reserve opening 0.4, not
    # used in year 0 (spend as budgeted); at the end date it is shared 12 : 8 (0.24, 0.16)
    # and year 1 runs as aligned budgets: council V_a = +0.5, icb V_b = -0.2.
    Example(
        "exit_end_date",
        {"a": (C, [12 * m] * 2), "b": (I, [8 * m] * 2)},
        {C: [12 * m] * 2, I: [8 * m] * 2},
        {
            "final_distribution": [[0, 0], [0.24 * m, 0.16 * m]],
            "overspend_call": [[0, 0], [0.5 * m, 0]],
            "underspend_refund": [[0, 0], [0, 0.2 * m]],
            "reserve": [0.4 * m, 0],
            "exit": [False, True],
        },
        agreement={"reserve": {"opening": 0.4 * m}, "exit": {"end_year": 1}},
        spend=[[12 * m, 8 * m], [12.5 * m, 7.8 * m]],
    ),
    # ------------------------------------------------------------------ charging
    # Council group a charges clients 16 % of 10 = 1.6 expected, actual income 1.4.
    # Gross pooling (an option): the pool receives 1.4; net spend 8.6 + 5 = 13.6 on
    # B = 13.4: V = 0.2 shared 50/50 -> 0.1/0.1.
    Example(
        "charging_gross",
        {"a": (C, [10 * m]), "b": (I, [5 * m])},
        {C: [8.4 * m], I: [5 * m]},
        {
            "charging_income": [1.4 * m],
            "income_shortfall": [[0, 0]],
            "overspend_call": [[0.1 * m, 0.1 * m]],
        },
        agreement={"overspend": {"key": {C: 0.5, I: 0.5}}, "charging": {"pooling": "gross"}},
        charging={"a": 0.16},
        income=[[1.4 * m, 0]],
    ),
    # Net pooling: the pool works at the expected 16 % (net spend 8.4 + 5 = B): V = 0; the
    # council (host, the bearer) pays the income shortfall 1.6 - 1.4 = 0.2.
    Example(
        "charging_net",
        {"a": (C, [10 * m]), "b": (I, [5 * m])},
        {C: [8.4 * m], I: [5 * m]},
        {
            "charging_income": [1.4 * m],
            "income_shortfall": [[0.2 * m, 0]],
            "overspend_call": [[0, 0]],
            "net": [[0.2 * m, 0]],
        },
        agreement={"overspend": {"key": {C: 0.5, I: 0.5}}, "charging": {"pooling": "net"}},
        charging={"a": 0.16},
        income=[[1.4 * m, 0]],
    ),
    # Correction (issue 10): the default is net pooling, the seed's reading (charging
    # income is the council's; the ICB neither shares its shortfall nor its excess). With
    # no 'charging' in the agreement: as above, the council pays the 0.2 shortfall and the
    # ICB pays nothing. Income 1.9 instead (0.3 above the expected 1.6): the council keeps
    # the 0.3 (shortfall -0.3), still nothing shared.
    Example(
        "charging_default_is_net",
        {"a": (C, [10 * m, 10 * m]), "b": (I, [5 * m, 5 * m])},
        {C: [8.4 * m, 8.4 * m], I: [5 * m, 5 * m]},
        {
            "charging_income": [1.4 * m, 1.9 * m],
            "income_shortfall": [[0.2 * m, 0], [-0.3 * m, 0]],
            "overspend_call": [[0, 0], [0, 0]],
            "underspend_refund": [[0, 0], [0, 0]],
            "net": [[0.2 * m, 0], [-0.3 * m, 0]],
        },
        agreement={"overspend": {"key": {C: 0.5, I: 0.5}}},
        charging={"a": 0.16},
        income=[[1.4 * m, 0], [1.9 * m, 0]],
    ),
    # ------------------------------------------------------------------ integration
    # Set-up cost 0.5 charged to the pool: V = 0.5 shared 50/50.
    Example(
        "integration_setup_pool",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"integration_cost": [0.5 * m], "overspend_call": [[0.25 * m, 0.25 * m]]},
        agreement={"integration": {"setup_costs": [{"year": 0, "amount": 0.5 * m}]}},
    ),
    # Set-up cost 0.5 charged to the icb: paid outside the pool, in its net position.
    Example(
        "integration_setup_partner",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "integration_cost": [0],
            "partner_integration_cost": [[0, 0.5 * m]],
            "overspend_call": [[0, 0]],
            "net": [[0, 0.5 * m]],
        },
        agreement={
            "integration": {"setup_costs": [{"year": 0, "amount": 0.5 * m, "charged_to": I}]}
        },
    ),
    # Savings 1 a year ramping 50 % in year 0 (certain): 0.5 to the pool: V = -0.5,
    # refunds 0.25/0.25.
    Example(
        "integration_savings_pool",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"integration_savings": [0.5 * m], "underspend_refund": [[0.25 * m, 0.25 * m]]},
        extra={"integration_savings": {"amount": 1 * m, "ramp": [0.5]}},
    ),
    # The same savings credited to the council: kept outside the pool.
    Example(
        "integration_savings_partner",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "integration_savings": [0],
            "partner_integration_savings": [[0.5 * m, 0]],
            "underspend_refund": [[0, 0]],
            "net": [[-0.5 * m, 0]],
        },
        agreement={"integration": {"savings_to": C}},
        extra={"integration_savings": {"amount": 1 * m, "ramp": [0.5]}},
    ),
    # ------------------------------------------------------------------ fault (R10)
    # B = 20 (10 : 10), spend 21: V = 1. 40 % of it is tagged to the icb's decision: the
    # icb pays 0.4, and the other 0.6 is shared 10 : 10. Council 0.3, icb 0.4 + 0.3 = 0.7.
    Example(
        "fault_based_allocation",
        {"a": (C, [11 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"overspend_call": [[0.3 * m, 0.7 * m]]},
        agreement={"fault": {"partner": I, "share": 0.4}},
    ),
    # ------------------------------------------------------------------ VAT
    # The icb (an NHS body) hosts: B = 20 (10 : 10), spend 9 + 9 = 18 net of VAT. A quarter
    # of it is standard-rated (VAT 0.2 · 0.25 · 18 = 0.9); the icb recovers 40 % (its
    # contracted-out services), so the pool pays 0.9 · 0.6 = 0.54 of VAT. V = 18 + 0.54 -
    # 20 = -1.46, refunded 10 : 10: 0.73 each.
    Example(
        "vat_nhs_host",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "spend": [18 * m],
            "irrecoverable_vat": [0.54 * m],
            "underspend_refund": [[0.73 * m, 0.73 * m]],
            "net": [[-0.73 * m, -0.73 * m]],
        },
        agreement={"vat": {"vatable": 0.25, "recovered": 0.4}},
        spend=[[9 * m, 9 * m]],
        host=I,
    ),
    # The same pool hosted by the council, which recovers all the VAT (s33 VATA 1994): no
    # VAT cost, V = 18 - 20 = -2, refunded 1 each: hosting saves each partner 0.27.
    Example(
        "vat_council_host",
        {"a": (C, [10 * m]), "b": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {"irrecoverable_vat": [0], "underspend_refund": [[1 * m, 1 * m]]},
        agreement={"vat": {"vatable": 0.25, "recovered": 1.0}},
        spend=[[9 * m, 9 * m]],
    ),
    # VAT without offsets between groups, in a schedule taking part in offsets across
    # schedules. Each partner puts 20, half into each schedule. "nhs" (the icb hosts,
    # offset_groups false): budgets 10 and 10, spend 9 and 9, VAT 0.2 · 0.25 · 18 · 0.6 =
    # 0.54 is an overspend of its own (X > 0), so O = 0.54 and Q = 1 + 1 = 2. "other": budget
    # 20, spend 20.5, O = 0.5. Across: O = 1.04, Q = 2, m = 1.04: nhs receives 0.54 (its
    # VAT) and gives 1.04, other receives 0.5. nhs returns 2 - 1.04 = 0.96, 0.48 each.
    # Spend 18 + 20.5 + VAT 0.54 = 39.04 = contributions 40 - 0.96.
    Example(
        "vat_offset_groups_false_across",
        {"a": (C, [10 * m]), "b": (I, [10 * m]), "c": (C, [20 * m])},
        {C: [20 * m], I: [20 * m]},
        {
            "irrecoverable_vat": [0.54 * m],
            "schedule_offset_in": [1.04 * m],
            "schedule_offset_out": [1.04 * m],
            "underspend_refund": [[0.48 * m, 0.48 * m]],
            "overspend_call": [[0, 0]],
            "schedule_net": [[[-0.48 * m, -0.48 * m], [0, 0]]],
        },
        agreement={
            "schedules": [
                {
                    "id": "nhs",
                    "groups": ["a", "b"],
                    "funding": {C: 0.5, I: 0.5},
                    "offset_groups": False,
                    "vat": {"vatable": 0.25, "recovered": 0.4},
                },
                {"id": "other", "groups": ["c"], "funding": {C: 0.5, I: 0.5}},
            ],
            "across": {"offset": True},
        },
        spend=[[9 * m, 9 * m, 20.5 * m]],
        host=I,
    ),
    # ------------------------------------------------------------------ IJB underspend
    # R9 f: budget 20; integration savings of 0.5 a year credited to the pool (management
    # action). Year 0 spend 19.7: V = 19.7 - 20 - 0.5 = -0.8; the 0.5 from management
    # action is retained in the reserve, the 0.3 windfall returned 10 : 10 (0.15 each).
    # Year 1 spend 20: V = -0.5, all of it from management action: retained. The reserve,
    # 1.0, is paid out at the end (0.5 each).
    Example(
        "ijb_underspend_split",
        {"a": (C, [10 * m] * 2), "b": (I, [10 * m] * 2)},
        {C: [10 * m] * 2, I: [10 * m] * 2},
        {
            "integration_savings": [0.5 * m, 0.5 * m],
            "reserve_topup": [0.5 * m, 0.5 * m],
            "underspend_refund": [[0.15 * m, 0.15 * m], [0, 0]],
            "final_distribution": [[0, 0], [0.5 * m, 0.5 * m]],
            "net": [[-0.15 * m, -0.15 * m], [-0.5 * m, -0.5 * m]],
        },
        agreement={"underspend_disposition": "ijb", "reserve": {"carry_forward": False}},
        spend=[[9.8 * m, 9.9 * m], [10 * m, 10 * m]],
        extra={"integration_savings": {"amount": 1 * m, "ramp": [0.5, 0.5]}},
    ),
    # ------------------------------------------------------------------ case splits
    # s117 aftercare split per case by a panel: 50/50 for half the cases, wholly the icb's
    # or wholly the council's for a quarter each, so the expected split (commissioners) is
    # 50/50. B = 7 + 7 = 14, expected spend ld 10 (council), s117 4: B_ld = 10, B_s117 = 4.
    # This year's s117 cases: A 1.2 (50/50), B 1.0 (icb), C 0.8 (council), D 1.4 (50/50):
    # spend 4.4, the council's cases 0.6 + 0.8 + 0.7 = 2.1, the icb's 0.6 + 1.0 + 0.7 = 2.3
    # (shares 2.1/4.4 and 2.3/4.4). s117 is settled by its cases: each partner its cases
    # less its expected half of B_s117 = 2: council 2.1 - 2 = +0.1, icb 2.3 - 2 = +0.3
    # (together V_s117 = 4.4 - 4 = 0.4). The pooled variance is ld's alone, 10.5 - 10 =
    # +0.5, shared 7 : 7 (0.25 each). Calls: council 0.1 + 0.25 = 0.35, icb 0.3 + 0.25 =
    # 0.55; together 0.9 = 14.9 - 14.
    Example(
        "case_splits_s117_pooled",
        {"ld": (C, [10 * m]), "s117": ({C: 0.5, I: 0.5}, [4 * m])},
        {C: [7 * m], I: [7 * m]},
        {
            "spend": [14.9 * m],
            "overspend_call": [[0.35 * m, 0.55 * m]],
            "net": [[0.35 * m, 0.55 * m]],
        },
        spend=[[10.5 * m, 4.4 * m]],
        cases={
            "s117": {
                "table": [
                    {"shares": {C: 0.5, I: 0.5}, "probability": 0.5},
                    {"shares": {I: 1.0}, "probability": 0.25},
                    {"shares": {C: 1.0}, "probability": 0.25},
                ]
            }
        },
        case_shares={"s117": [[2.1 / 4.4, 2.3 / 4.4]]},
    ),
    # The same year under aligned budgets: each partner its own functions, its s117 cases
    # included. Council: ld 10.5 + its cases 2.1 - its contribution 7 = +5.6; icb: its
    # cases 2.3 - 7 = -4.7 (together 0.9). Engine: the s117 part (+0.1, +0.3) plus the own
    # variances of the rest, council 10.5 - 7 + 2 (its half of B_s117) = 5.5, icb 0 - 7 +
    # 2 = -5.
    Example(
        "case_splits_s117_aligned",
        {"ld": (C, [10 * m]), "s117": ({C: 0.5, I: 0.5}, [4 * m])},
        {C: [7 * m], I: [7 * m]},
        {
            "overspend_call": [[5.6 * m, 0]],
            "underspend_refund": [[0, 4.7 * m]],
        },
        agreement={"arrangement": "aligned"},
        spend=[[10.5 * m, 4.4 * m]],
        cases={"s117": {"concentration": 3.0}},
        case_shares={"s117": [[2.1 / 4.4, 2.3 / 4.4]]},
    ),
    # ------------------------------------------------------------------ schedules
    # Two schedules. "ld_pool" (group ld, council's) is funded 60 % of the council's 10 and
    # 40 % of the icb's 10 (6 + 4 = 10), proportional, with a 0.2 reserve. "community"
    # (mh, icb's; eq, council's) is lead-commissioned by the icb, funded 4 + 6 = 10.
    # Spend: ld 11 (V = +1), mh 6 and eq 3.5 against budgets 6.5 and 3.5 (V = -0.5).
    # Offset across: m = min(1, 0.5) = 0.5 of community's underspend meets ld_pool's
    # overspend. ld_pool: O = 1 - 0.5 = 0.5; the reserve meets 0.2; 0.3 is shared 6 : 4:
    # council 0.18, icb 0.12. community: nothing left to share.
    Example(
        "schedules_offset_across",
        {"ld": (C, [10 * m]), "mh": (I, [6.5 * m]), "eq": (C, [3.5 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "schedule_offset_in": [0.5 * m],
            "schedule_offset_out": [0.5 * m],
            "reserve_draw": [0.2 * m],
            "overspend_call": [[0.18 * m, 0.12 * m]],
            "underspend_refund": [[0, 0]],
            "net": [[0.18 * m, 0.12 * m]],
            "schedule_net": [[[0.18 * m, 0.12 * m], [0, 0]]],
        },
        agreement={
            "schedules": [
                {
                    "id": "ld_pool",
                    "groups": ["ld"],
                    "funding": {C: 0.6, I: 0.4},
                    "reserve": {"opening": 0.2 * m},
                },
                {
                    "id": "community",
                    "groups": ["mh", "eq"],
                    "arrangement": "lead",
                    "lead": I,
                    "funding": {C: 0.4, I: 0.6},
                },
            ],
            "across": {"offset": True},
        },
        spend=[[11 * m, 6 * m, 3.5 * m]],
    ),
    # The same without the offset: ld_pool's reserve meets 0.2 of its 1 and 0.8 is shared
    # 6 : 4 (council 0.48, icb 0.32); community's 0.5 underspend goes to its lead, the icb
    # (key 'host' by default under lead commissioning). Council 0.48, icb 0.32 - 0.5 = -0.18.
    Example(
        "schedules_without_offset",
        {"ld": (C, [10 * m]), "mh": (I, [6.5 * m]), "eq": (C, [3.5 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "schedule_offset_in": [0],
            "reserve_draw": [0.2 * m],
            "overspend_call": [[0.48 * m, 0.32 * m]],
            "underspend_refund": [[0, 0.5 * m]],
            "net": [[0.48 * m, -0.18 * m]],
            "schedule_net": [[[0.48 * m, 0.32 * m], [0, -0.5 * m]]],
        },
        agreement={
            "schedules": [
                {
                    "id": "ld_pool",
                    "groups": ["ld"],
                    "funding": {C: 0.6, I: 0.4},
                    "reserve": {"opening": 0.2 * m},
                },
                {
                    "id": "community",
                    "groups": ["mh", "eq"],
                    "arrangement": "lead",
                    "lead": I,
                    "funding": {C: 0.4, I: 0.6},
                },
            ]
        },
        spend=[[11 * m, 6 * m, 3.5 * m]],
    ),
    # Offsets are found year by year: last year's offset changes this year's overspend.
    # Each partner funds each schedule half its 1 (budgets 1 and 1). "capped" has a
    # reserve with cap 0 and a 0.05 top-slice, and the council's overspend capped at 0
    # (fraction 0 of its contribution) overflowing into the reserve; "other" has none.
    # Year 0: capped spends 1.1 (O = 0.1), other 0.94 (Q = 0.06); m = 0.06 meets capped's
    # overspend: 0.04 left, shared 1:1, council 0.02 capped -> the reserve, R = -0.02
    # (reserve_draw 0.02); icb 0.02. No top-slice (room max(0 - 0, 0) = 0).
    # Year 1: room max(0 - (-0.02), 0) = 0.02 of the wanted 0.05 * 1 = 0.05, so 0.01 from
    # each: R = 0, capped's budget 0.98, spend 1 -> O = 0.02. other spends 0.9 -> Q = 0.1;
    # m = 0.02 meets capped's overspend, the 0.08 left is returned 1:1 (0.04 each).
    # (Settled without year 0's offset, capped's reserve would be at -0.05 and year 1's
    # overspend 0.05.) Nets: council -0.04, icb 0.02 - 0.04 = -0.02; spend 2.04 + 1.9 =
    # 3.94 = contributions 4 - 0.06.
    Example(
        "schedules_offset_year_by_year",
        {"a": (C, [1 * m, 1 * m]), "b": (I, [1 * m, 1 * m])},
        {C: [1 * m, 1 * m], I: [1 * m, 1 * m]},
        {
            "schedule_offset_in": [0.06 * m, 0.02 * m],
            "schedule_offset_out": [0.06 * m, 0.02 * m],
            "reserve_topup": [0, 0.02 * m],
            "reserve_draw": [0.02 * m, 0],
            "reserve": [-0.02 * m, 0],
            "overspend_call": [[0, 0.02 * m], [0, 0]],
            "underspend_refund": [[0, 0], [0.04 * m, 0.04 * m]],
            "net": [[0, 0.02 * m], [-0.04 * m, -0.04 * m]],
            "schedule_net": [[[0, 0.02 * m], [0, 0]], [[0, 0], [-0.04 * m, -0.04 * m]]],
        },
        agreement={
            "schedules": [
                {
                    "id": "capped",
                    "groups": ["a"],
                    "funding": {C: 0.5, I: 0.5},
                    "reserve": {"top_slice": 0.05, "cap": 0, "carry_forward": False},
                    "caps": [
                        {
                            "partner": C,
                            "side": "overspend",
                            "fraction": 0,
                            "of": "contribution",
                            "overflow": "reserve",
                        }
                    ],
                },
                {"id": "other", "groups": ["b"], "funding": {C: 0.5, I: 0.5}},
            ],
            "across": {"offset": True},
        },
        spend=[[1.1 * m, 0.94 * m], [1 * m, 0.9 * m]],
    ),
    # Without funding fractions each partner funds each schedule by its share of expected
    # spend: a 12 of 20, b 8 of 20. Council 10 -> 6 + 4, icb 10 -> 6 + 4. Schedule "a"
    # (proportional, 6 : 6): spend 13, V = +1 -> 0.5 each. Schedule "b" (aligned): b is the
    # icb's, budget 8 (the icb's 4 + the council's 4), spend 7.6: the icb's own variance
    # is its commissioned spend less its part of the budget, 7.6 - 4 = +3.6, the council's
    # 0 - 4 = -4 (aligned budgets: each partner its own).
    Example(
        "schedules_funded_by_expected_spend",
        {"a": (C, [12 * m]), "b": (I, [8 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "net": [[0.5 * m - 4 * m, 0.5 * m + 3.6 * m]],
            "schedule_net": [[[0.5 * m, 0.5 * m], [-4 * m, 3.6 * m]]],
        },
        agreement={
            "schedules": [
                {"id": "a", "groups": ["a"]},
                {"id": "b", "groups": ["b"], "arrangement": "aligned"},
            ]
        },
        spend=[[13 * m, 7.6 * m]],
    ),
    # ------------------------------------------------------------------ contributions re-set (R18)
    # The council re-bases: base 10, uplift 3 %, efficiency 1 % (so x 1.02), half of its
    # recurrent variance r = V_a (it commissions a). The icb pays 10, 10.5, 11 as planned.
    # Group budgets by expected cost (10 and 10 every year): B_a = B_b = B / 2.
    # Year 0: c = 10 : 10, B = 20; spend 11 + 10: V_a = +1, V_b = 0, V = +1 shared 10:10
    #   -> calls 0.5, 0.5. Council's next: (10 + 0.5 x 1) x 1.02 = 10.71.
    # Year 1: c = 10.71 : 10.5, B = 21.21, B_a = B_b = 10.605; spend 11.5 + 10.5:
    #   V_a = +0.895, V_b = -0.105, V = +0.79 shared 10.71 : 10.5 (the simulation's own
    #   contributions) -> council 0.79 x 10.71 / 21.21, icb 0.79 x 10.5 / 21.21.
    #   Council's next: (10.71 + 0.5 x 0.895) x 1.02 = 11.1575 x 1.02 = 11.38065.
    # Year 2: c = 11.38065 : 11, B = 22.38065, B_a = B_b = 11.190325; spend 10 + 11:
    #   V = 21 - 22.38065 = -1.38065 refunded 11.38065 : 11 -> council
    #   1.38065 x 11.38065 / 22.38065, icb 1.38065 x 11 / 22.38065.
    Example(
        "contributions_rebased",
        {"a": (C, [10 * m, 10 * m, 10 * m]), "b": (I, [10 * m, 10 * m, 10 * m])},
        {
            C: {
                "kind": "rebased",
                "base": 10 * m,
                "uplift": 0.03,
                "efficiency": 0.01,
                "recurrent_share": 0.5,
            },
            I: [10 * m, 10.5 * m, 11 * m],
        },
        {
            "contribution": [[10 * m, 10 * m], [10.71 * m, 10.5 * m], [11.38065 * m, 11 * m]],
            "overspend_call": [
                [0.5 * m, 0.5 * m],
                [0.79 * 10.71 / 21.21 * m, 0.79 * 10.5 / 21.21 * m],
                [0, 0],
            ],
            "underspend_refund": [
                [0, 0],
                [0, 0],
                [1.38065 * 11.38065 / 22.38065 * m, 1.38065 * 11 / 22.38065 * m],
            ],
            "spend": [21 * m, 22 * m, 21 * m],
        },
        spend=[[11 * m, 10 * m], [11.5 * m, 10.5 * m], [10 * m, 11 * m]],
    ),
    # The same re-basing with an efficiency amount of 0.2 a year and all of the
    # recurrent variance; with underspend_disposition nonrecurrent an underspend is spent
    # on one-off items, so it does not recur: r = max(V_a, 0).
    # Year 0: V_a = 9 - 10 = -1 (spent on one-off items: nonrecurrent_spend 1), r = 0:
    #   next = (10 + 0) x 1.03 - 0.2 = 10.1.
    # Year 1: c = 10.1 : 10, B = 20.1, B_a = B_b = 10.05; spend 11 + 10.05: V_a = +0.95,
    #   V = +0.95 shared 10.1 : 10 -> council 0.95 x 10.1 / 20.1, icb 0.95 x 10 / 20.1.
    Example(
        "contributions_rebased_nonrecurrent",
        {"a": (C, [10 * m, 10 * m]), "b": (I, [10 * m, 10 * m])},
        {
            C: {"kind": "rebased", "base": 10 * m, "uplift": 0.03, "efficiency_amount": 0.2 * m},
            I: [10 * m, 10 * m],
        },
        {
            "contribution": [[10 * m, 10 * m], [10.1 * m, 10 * m]],
            "nonrecurrent_spend": [1 * m, 0],
            "overspend_call": [[0, 0], [0.95 * 10.1 / 20.1 * m, 0.95 * 10 / 20.1 * m]],
        },
        agreement={"underspend_disposition": "nonrecurrent"},
        spend=[[9 * m, 10 * m], [11 * m, 10.05 * m]],
    ),
    # A holdback larger than a re-based contribution is limited to it. The icb re-bases all
    # of its recurrent variance (base 2, no uplift) and holds back H = 1.5, all released
    # (the metric meets its target). Group budgets by expected cost 10 : 2.
    # Year 0: c = 10 : 2 (the icb pays 0.5 in, 1.5 released), B = 12; spend 10 + 1.2:
    #   V_b = 1.2 - 2 = -0.8 = V, refunded 10 : 2 -> council 0.8 x 10/12, icb 0.8 x 2/12.
    #   icb next: 2 - 0.8 = 1.2, below H: the holdback is 1.2 (pays 0 in, 1.2 released).
    # Year 1: c = 10 : 1.2, B = 11.2; spend 10 + 2: V = +0.8 shared 10 : 1.2 ->
    #   council 0.8 x 10 / 11.2, icb 0.8 x 1.2 / 11.2.
    Example(
        "contributions_rebased_below_holdback",
        {"a": (C, [10 * m, 10 * m]), "b": (I, [2 * m, 2 * m])},
        {C: [10 * m, 10 * m], I: {"kind": "rebased", "base": 2 * m}},
        {
            "contribution": [[10 * m, 0.5 * m], [10 * m, 0]],
            "holdback_released": [1.5 * m, 1.2 * m],
            "holdback_retained": [0, 0],
            "underspend_refund": [[0.8 * 10 / 12 * m, 0.8 * 2 / 12 * m], [0, 0]],
            "overspend_call": [[0, 0], [0.8 * 10 / 11.2 * m, 0.8 * 1.2 / 11.2 * m]],
        },
        agreement={"holdback": {"partner": I, "amount": 1.5 * m, "metric": "nea", "target": 0.04}},
        extra={"performance": [{"id": "nea", "mean": 0.04, "sd": 0.0}]},
        spend=[[10 * m, 1.2 * m], [10 * m, 2 * m]],
    ),
    # Need-based: the icb pays its share (all of b, which it commissions) of last year's
    # outturn uplifted 5 %, never below a minimum of 9.5 growing 5 % a year (the BCF NHS
    # minimum: 9.5, 9.975, 10.47375). Year 0 is the expected cost of b: 10. Expected
    # spend of b 10, 10.5, 11.025 (budget shares), of a 10 a year; the council pays 10.
    # Year 0: B = 20, B_a = B_b = 10; spend 10 + 12: V = +2 shared 10:10 -> 1, 1.
    #   icb next: 1.05 x 12 = 12.6 (above the minimum 9.975).
    # Year 1: c = 10 : 12.6, B = 22.6; spend 10 + 9: V = -3.6 refunded 10 : 12.6 ->
    #   council 3.6 x 10 / 22.6, icb 3.6 x 12.6 / 22.6. icb next: 1.05 x 9 = 9.45, below
    #   the minimum 10.47375, so 10.47375.
    # Year 2: c = 10 : 10.47375, B = 20.47375; spend 10 + 11.025: V = +0.55125 shared
    #   10 : 10.47375 -> council 0.55125 x 10 / 20.47375, icb 0.55125 x 10.47375 / 20.47375.
    Example(
        "contributions_outturn_with_minimum",
        {"a": (C, [10 * m, 10 * m, 10 * m]), "b": (I, [10 * m, 10.5 * m, 11.025 * m])},
        {
            C: [10 * m, 10 * m, 10 * m],
            I: {"kind": "outturn", "uplift": 0.05, "minimum": {"base": 9.5 * m, "growth": 0.05}},
        },
        {
            "contribution": [[10 * m, 10 * m], [10 * m, 12.6 * m], [10 * m, 10.47375 * m]],
            "overspend_call": [
                [1 * m, 1 * m],
                [0, 0],
                [0.55125 * 10 / 20.47375 * m, 0.55125 * 10.47375 / 20.47375 * m],
            ],
            "underspend_refund": [[0, 0], [3.6 * 10 / 22.6 * m, 3.6 * 12.6 / 22.6 * m], [0, 0]],
        },
        spend=[[10 * m, 12 * m], [10 * m, 9 * m], [10 * m, 11.025 * m]],
    ),
    # Re-basing across two schedules, re-set once for the agreement and split by funding.
    # Schedule "social" holds a (the council's), funded council 0.8, icb 0.2; schedule
    # "health" holds b (the icb's), funded council 0.2, icb 0.8, and spends its underspends
    # on one-off items (nonrecurrent). Both share by contributions (proportional), one group
    # each, so a schedule's group budget is its whole budget. The council re-bases all of its
    # recurrent variance with a 2 % uplift; the icb all of its, no uplift, never below its
    # minimum 10 growing 5 % (10, 10.5, 11.025).
    # Year 0: c = 10 : 10 -> social 8 : 2 (B 10), health 2 : 8 (B 10). Spend a 11, b 9.5:
    #   social V = +1 shared 8 : 2 -> calls 0.8, 0.2; health V = -0.5 spent on one-off items
    #   (nonrecurrent_spend 0.5). Recurrent variance summed over the schedules, each by its
    #   commissioners: council r = 1 x (+1) = 1; icb r = max(1 x (-0.5), 0) = 0 (health's
    #   underspend does not recur). Council next (10 + 1) x 1.02 = 11.22; icb next 10 + 0 =
    #   10, below the minimum of its whole contribution, 10.5: so 10.5.
    # Year 1: c = 11.22 : 10.5 -> social 8.976 : 2.1 (B 11.076), health 2.244 : 8.4
    #   (B 10.644). Spend a 11.576, b 11.644: social V = +0.5 shared 8.976 : 2.1; health
    #   V = +1 shared 2.244 : 8.4. Council r = 0.5, icb r = max(1, 0) = 1. Council next
    #   (11.22 + 0.5) x 1.02 = 11.9544; icb next 10.5 + 1 = 11.5 (above 11.025).
    # Year 2: c = 11.9544 : 11.5 -> social 9.56352 : 2.3 (B 11.86352), health
    #   2.39088 : 9.2 (B 11.59088). Spend a 11.26352, b 11.59088: social V = -0.6 refunded
    #   9.56352 : 2.3; health V = 0.
    Example(
        "contributions_rebased_across_schedules",
        {"a": (C, [10 * m, 10 * m, 10 * m]), "b": (I, [10 * m, 10 * m, 10 * m])},
        {
            C: {"kind": "rebased", "base": 10 * m, "uplift": 0.02},
            I: {"kind": "rebased", "base": 10 * m, "minimum": {"base": 10 * m, "growth": 0.05}},
        },
        {
            "contribution": [[10 * m, 10 * m], [11.22 * m, 10.5 * m], [11.9544 * m, 11.5 * m]],
            "nonrecurrent_spend": [0.5 * m, 0, 0],
            "overspend_call": [
                [0.8 * m, 0.2 * m],
                [
                    (0.5 * 8.976 / 11.076 + 2.244 / 10.644) * m,
                    (0.5 * 2.1 / 11.076 + 8.4 / 10.644) * m,
                ],
                [0, 0],
            ],
            "underspend_refund": [
                [0, 0],
                [0, 0],
                [0.6 * 9.56352 / 11.86352 * m, 0.6 * 2.3 / 11.86352 * m],
            ],
            "schedule_net": [
                [[0.8 * m, 0.2 * m], [0, 0]],
                [
                    [0.5 * 8.976 / 11.076 * m, 0.5 * 2.1 / 11.076 * m],
                    [2.244 / 10.644 * m, 8.4 / 10.644 * m],
                ],
                [[-0.6 * 9.56352 / 11.86352 * m, -0.6 * 2.3 / 11.86352 * m], [0, 0]],
            ],
        },
        agreement={
            "schedules": [
                {"id": "social", "groups": ["a"], "funding": {C: 0.8, I: 0.2}},
                {
                    "id": "health",
                    "groups": ["b"],
                    "funding": {C: 0.2, I: 0.8},
                    "underspend_disposition": "nonrecurrent",
                },
            ]
        },
        spend=[[11 * m, 9.5 * m], [11.576 * m, 11.644 * m], [11.26352 * m, 11.59088 * m]],
    ),
    # A lead arrangement (the icb leads, so its keys default to the lead: it bears the
    # variance) with the council's contribution re-set each year to 103 % of last year's
    # outturn of a, which it commissions; year 0 is a's expected cost, 10. The icb pays 10
    # a year. The lead's schedule is funded by the whole contribution (fraction 1).
    # Year 0: c = 10 : 10, B = 20; spend a 12, b 9: V = +1, the icb's call 1.
    #   Council next: 1.03 x 12 = 12.36.
    # Year 1: c = 12.36 : 10, B = 22.36; spend a 11, b 10: V = 21 - 22.36 = -1.36, refunded
    #   to the icb. Council next: 1.03 x 11 = 11.33.
    # Year 2: c = 11.33 : 10, B = 21.33; spend a 11.5, b 10.5: V = +0.67, the icb's call.
    Example(
        "contributions_outturn_lead",
        {"a": (C, [10 * m, 10 * m, 10 * m]), "b": (I, [10 * m, 10 * m, 10 * m])},
        {C: {"kind": "outturn", "uplift": 0.03}, I: [10 * m, 10 * m, 10 * m]},
        {
            "contribution": [[10 * m, 10 * m], [12.36 * m, 10 * m], [11.33 * m, 10 * m]],
            "overspend_call": [[0, 1 * m], [0, 0], [0, 0.67 * m]],
            "underspend_refund": [[0, 0], [0, 1.36 * m], [0, 0]],
        },
        agreement={"arrangement": "lead", "lead": I},
        spend=[[12 * m, 9 * m], [11 * m, 10 * m], [11.5 * m, 10.5 * m]],
    ),
    # ------------------------------------------------------------------ exit with schedules
    # Two pooled schedules, three partners, each partner putting half of its contribution
    # (council 10, icb 6, trust 4) into each: 5 + 3 + 2 = 10 a schedule, shared
    # proportionally (5 : 3 : 2). "ld" holds ld (council's, budget 8) and sup (trust's, 2);
    # "mh" holds mh (icb's, 8) and com (trust's, 2). The trust's loss limit is 0.3 over the
    # agreement, notice 0.
    # Year 0: ld 8.5 + 2.5 = 11 and mh 8.5 + 2.5 = 11, V = +1 in each: council 0.5, icb 0.3,
    # trust 0.2 in each schedule. The trust's net position is 0.2 in each schedule (under its
    # limit in both) but 0.4 over the agreement (past it): it gives notice once and leaves
    # both schedules at the start of year 1 (exit_year 1; 3 = never for the others).
    # Year 1: ld 9 + 2 = 11 (V = +1): the trust keeps its own variance, sup 2 less its 2
    # put in = 0; the council and icb share 1 - 0 = 1 as 5 : 3: 0.625, 0.375.
    # mh 8 + 2.5 = 10.5 (V = +0.5): the trust's own variance is com 2.5 - 2 = +0.5, all of
    # it; 0.5 - 0.5 = 0 is left to share. Year 1: council 0.625, icb 0.375, trust 0.5.
    Example(
        "schedules_exit_on_the_agreement_limit",
        {
            "ld": (C, [8 * m] * 2),
            "sup": (T, [2 * m] * 2),
            "mh": (I, [8 * m] * 2),
            "com": (T, [2 * m] * 2),
        },
        {C: [10 * m] * 2, I: [6 * m] * 2, T: [4 * m] * 2},
        {
            "overspend_call": [[1.0 * m, 0.6 * m, 0.4 * m], [0.625 * m, 0.375 * m, 0.5 * m]],
            "schedule_net": [
                [[0.5 * m, 0.3 * m, 0.2 * m], [0.5 * m, 0.3 * m, 0.2 * m]],
                [[0.625 * m, 0.375 * m, 0], [0, 0, 0.5 * m]],
            ],
            "exit": [False, True],
            "exit_year": [3, 3, 1],
        },
        agreement={
            "schedules": [
                {"id": "ld", "groups": ["ld", "sup"], "funding": {C: 0.5, I: 0.5, T: 0.5}},
                {"id": "mh", "groups": ["mh", "com"], "funding": {C: 0.5, I: 0.5, T: 0.5}},
            ],
            "exit": {"limits": {T: 0.3 * m}},
        },
        spend=[[8.5 * m, 2.5 * m, 8.5 * m, 2.5 * m], [9 * m, 2 * m, 8 * m, 2.5 * m]],
        partners=[C, I, T],
    ),
    # Exit costs paid once, not once per schedule. Contributions council 10, icb 6, trust 4;
    # the trust puts 3 (0.75) into "ld" and 1 (0.25) into "mh", the others half each:
    # ld 5 + 3 + 3 = 11 (groups ld, council's, 8; sup, trust's, 3), mh 5 + 3 + 1 = 9 (mh,
    # icb's, 8; com, trust's, 1). Spend as budgeted: no variance. ld has a reserve of 1.1.
    # The trust leaves at the start of year 1 (voluntary) and takes 3/11 of ld's reserve by
    # ld's contributions, 0.3 (mh has none). Its exit costs: redundancy 0.4 by the key
    # 50/25/25 (council 0.2, icb 0.1, trust 0.1) and stranded contracts 0.2 by every
    # partner's contribution to the whole agreement, 10 : 6 : 4 (0.1, 0.06, 0.04): council
    # 0.3, icb 0.16, trust 0.14 in all, booked 0.75 to ld (0.225, 0.12, 0.105) and 0.25 to
    # mh (0.075, 0.04, 0.035) by the trust's funding. After the last year ld's reserve,
    # 1.1 - 0.3 = 0.8, is paid out 5 : 3 to the partners still in (0.5, 0.3).
    # ld year 1: council 0.225 - 0.5 = -0.275, icb 0.12 - 0.3 = -0.18, trust 0.105 - 0.3
    # = -0.195; mh year 1: 0.075, 0.04, 0.035.
    Example(
        "schedules_exit_costs_paid_once",
        {
            "ld": (C, [8 * m] * 2),
            "sup": (T, [3 * m] * 2),
            "mh": (I, [8 * m] * 2),
            "com": (T, [1 * m] * 2),
        },
        {C: [10 * m] * 2, I: [6 * m] * 2, T: [4 * m] * 2},
        {
            "exit_cost": [[0, 0, 0], [0.3 * m, 0.16 * m, 0.14 * m]],
            "final_distribution": [[0, 0, 0], [0.5 * m, 0.3 * m, 0.3 * m]],
            "reserve_release": [0, 1.1 * m],
            "schedule_net": [
                [[0, 0, 0], [0, 0, 0]],
                [[-0.275 * m, -0.18 * m, -0.195 * m], [0.075 * m, 0.04 * m, 0.035 * m]],
            ],
            "net": [[0, 0, 0], [-0.2 * m, -0.14 * m, -0.16 * m]],
            "exit_year": [3, 3, 1],
        },
        agreement={
            "schedules": [
                {
                    "id": "ld",
                    "groups": ["ld", "sup"],
                    "funding": {C: 0.5, I: 0.5, T: 0.75},
                    "reserve": {"opening": 1.1 * m},
                },
                {"id": "mh", "groups": ["mh", "com"], "funding": {C: 0.5, I: 0.5, T: 0.25}},
            ],
            "exit": {
                "voluntary": {T: 1},
                "costs": [
                    {
                        "kind": "redundancy",
                        "amount": 0.4 * m,
                        "paid_by": "key",
                        "key": {C: 0.5, I: 0.25, T: 0.25},
                    },
                    {"kind": "stranded_contracts", "amount": 0.2 * m, "paid_by": "all"},
                ],
            },
        },
        partners=[C, I, T],
    ),
    # The lead of a schedule leaves. "ld" (council's group, 10) is funded by the council's
    # whole 10; "community" (eq, icb's, 6; ot, trust's, 4) by the icb's 6 and the trust's 4,
    # led by the icb, whose key 'host' gives it the schedule's overspend. Year 0: eq 6.2,
    # V = +0.2, all the icb's. The icb leaves at the start of year 1 (voluntary). Year 1:
    # eq 6.5, ot 4.5, V = +1: the icb keeps its own variance, 6.5 - 6 = 0.5; the key 'host'
    # gives the partners still in nothing, so the rest, 0.5, falls back to their
    # contributions to the schedule (council 0, trust 4): all the trust's.
    Example(
        "schedules_the_lead_leaves",
        {"ld": (C, [10 * m] * 2), "eq": (I, [6 * m] * 2), "ot": (T, [4 * m] * 2)},
        {C: [10 * m] * 2, I: [6 * m] * 2, T: [4 * m] * 2},
        {
            "overspend_call": [[0, 0.2 * m, 0], [0, 0.5 * m, 0.5 * m]],
            "schedule_net": [
                [[0, 0, 0], [0, 0.2 * m, 0]],
                [[0, 0, 0], [0, 0.5 * m, 0.5 * m]],
            ],
            "exit": [False, True],
            "exit_year": [3, 1, 3],
        },
        agreement={
            "schedules": [
                {"id": "ld", "groups": ["ld"], "funding": {C: 1.0, I: 0.0, T: 0.0}},
                {
                    "id": "community",
                    "groups": ["eq", "ot"],
                    "arrangement": "lead",
                    "lead": I,
                    "funding": {C: 0.0, I: 1.0, T: 1.0},
                },
            ],
            "exit": {"voluntary": {I: 1}},
        },
        spend=[[10 * m, 6.2 * m, 4 * m], [10 * m, 6.5 * m, 4.5 * m]],
        partners=[C, I, T],
    ),
    # Integration savings routed to schedules: 1 drawn for the agreement (ramp 1, in full),
    # 0.75 to "ld" and 0.25 to "mh". ld (council's group, funded 6 + 4) credits its pool:
    # X = -0.75, an underspend shared 6 : 4, refunds 0.45 and 0.3. mh (icb's group, funded
    # 4 + 6) credits its savings to the icb (integration.savings_to), a memo flow: the icb
    # keeps 0.25. Net: council -0.45, icb -0.3 - 0.25 = -0.55.
    Example(
        "schedules_integration_savings_routed",
        {"ld": (C, [10 * m]), "mh": (I, [10 * m])},
        {C: [10 * m], I: [10 * m]},
        {
            "integration_savings": [0.75 * m],
            "partner_integration_savings": [[0, 0.25 * m]],
            "underspend_refund": [[0.45 * m, 0.3 * m]],
            "net": [[-0.45 * m, -0.55 * m]],
            "schedule_net": [[[-0.45 * m, -0.3 * m], [0, -0.25 * m]]],
        },
        agreement={
            "schedules": [
                {"id": "ld", "groups": ["ld"], "funding": {C: 0.6, I: 0.4}},
                {
                    "id": "mh",
                    "groups": ["mh"],
                    "funding": {C: 0.4, I: 0.6},
                    "integration": {"savings_to": I},
                },
            ],
        },
        extra={
            "integration_savings": {
                "amount": 1 * m,
                "ramp": [1.0],
                "schedules": {"ld": 0.75, "mh": 0.25},
            }
        },
    ),
]

IDS = [e.id for e in EXAMPLES]


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _compare(name: str, got: np.ndarray, want: Any) -> None:
    got, want = _arr(got), _arr(want)
    if got.ndim == want.ndim + 1:  # a flow the backend keeps per partner, given for the pool
        got = got.sum(axis=-1)
    elif want.ndim == got.ndim + 1:  # given per partner, kept for the pool
        want = want.sum(axis=-1)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6, err_msg=f"flow {name!r}")


@pytest.mark.parametrize("ex", EXAMPLES, ids=IDS)
def test_reference(ex: Example) -> None:
    model = ex.model()
    spend = ex.spend if ex.spend is not None else model.expected_spend()
    out = reference_settle(
        model, spend, ex.income, forecast=ex.forecast, case_shares=ex.case_shares
    )
    np.testing.assert_allclose(reference_imbalance(out), 0.0, atol=1e-6)
    for name, want in ex.expected.items():
        _compare(name, out[name], want)


@pytest.mark.parametrize("ex", EXAMPLES, ids=IDS)
def test_engine(ex: Example) -> None:
    model = ex.model()
    spend = (
        None
        if ex.spend is None and ex.income is None and ex.forecast is None
        else (ex.spend if ex.spend is not None else model.expected_spend())
    )
    ledger = engine_ledger(
        model, spend, ex.income, forecast=ex.forecast, case_shares=ex.case_shares
    )
    check_balance(ledger, allow_deficit=True)
    for name, want in ex.expected.items():
        _compare(name, engine_view(ledger, name), want)
