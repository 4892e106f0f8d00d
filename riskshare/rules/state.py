"""What the rules of an agreement read and write while a chunk of simulations is settled.

:class:`State` holds one chunk's draws, the money carried from year to year
(the reserve balance, cumulative contributions, exits) and the quantities of
the current year that one rule computes and a later one reads (the budget, the
variance, the partners' positions...). :class:`Flows` holds the ledger flows
being written. Arrays are year-major with simulations last: ``(sims,)`` per
year, ``(partners, sims)`` per partner, ``(groups, sims)`` per group.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare._types import FloatArray
from riskshare.ledger import FLOWS, Ledger, check_balance

if TYPE_CHECKING:
    from riskshare.rules.base import Rule
    from riskshare.rules.terms import Terms

__all__ = ["YEAR", "Flows", "State"]

#: The quantities of the current year any rule may set on the :class:`State`
#: (documented there); anything else a rule keeps it declares in ``carries``.
YEAR = frozenset(
    {
        "c", "budget_p", "gross", "inc", "n_g", "x", "uncommitted", "ctx",
        "group_budget", "v_g", "v", "own", "w_prop", "aligned_position", "position",
        "over", "under", "live", "draw", "release", "added", "retained", "nonrecurrent",
        "calls", "refunds", "balance", "cumulative", "exited", "any_exited", "closing",
        "left", "any_left", "gone", "across_over", "across_under", "offset_net",
        "recurrent", "outturn",
        "agreement_ctx",
    }
)  # fmt: skip


class Flows:
    """Year-major flow arrays (pool ``(years, sims)``, partner ``(years, partners, sims)``).

    Allocated on first use, so a settlement only carries the flows its
    clauses produce. Arrays start uninitialised: the first write of a year
    assigns, later writes add, and :meth:`finish` zeroes the years never
    written (this saves zero-filling memory that is about to be overwritten).
    Each write is checked against the flows the writing rule declares
    (``writer``, set by the settlement before it calls a rule).
    """

    def __init__(self, years: int, n_sims: int, n_partners: int) -> None:
        self.shape_pool = (years, n_sims)
        self.shape_partner = (years, n_partners, n_sims)
        self.pool: dict[str, np.ndarray] = {}
        self.partner: dict[str, np.ndarray] = {}
        self.writer: Rule | None = None
        self.written: dict[str, set[int]] = {}

    def array(self, name: str) -> np.ndarray:
        """The whole array of flow ``name``, allocated on the first write."""
        if self.writer is not None and name not in self.writer.writes:
            raise RuntimeError(
                f"rule {self.writer.name!r} writes flow {name!r}, which it does not declare"
            )
        pool = FLOWS[name].level == "pool"
        store = self.pool if pool else self.partner
        arr = store.get(name)
        if arr is None:
            arr = store[name] = np.empty(self.shape_pool if pool else self.shape_partner)
            self.written[name] = set()
        return arr

    def add(self, name: str, t: int, value: Any) -> None:
        """Add ``value`` to year ``t`` of a flow: ``(sims,)`` (pool) or ``(partners, sims)``."""
        arr = self.array(name)
        if t in self.written[name]:
            arr[t] += value
        else:
            arr[t] = value
            self.written[name].add(t)

    def value(self, name: str, t: int) -> np.ndarray | float:
        """What flow ``name`` holds in year ``t`` so far: 0.0 until a rule writes it.

        Reading through this is the only safe way: arrays start uninitialised
        and a year nobody wrote holds whatever the memory held.
        """
        store = self.pool if FLOWS[name].level == "pool" else self.partner
        if name not in store or t not in self.written[name]:
            return 0.0
        return store[name][t]

    def year(self, name: str, t: int) -> np.ndarray:
        """Year ``t`` of a flow, for the caller to fill completely."""
        arr = self.array(name)
        self.written[name].add(t)
        return arr[t]

    def add_column(self, name: str, t: int, p: int, value: Any) -> None:
        """Add ``value`` to partner ``p``'s part of year ``t`` of a partner flow."""
        arr = self.array(name)
        if t not in self.written[name]:
            arr[t] = 0.0
            self.written[name].add(t)
        arr[t, p] += value

    def constant(self, name: str, value: np.ndarray) -> None:
        """Set a whole flow to a read-only ``value`` (a broadcast view), every year written."""
        self.array(name)
        self.partner[name] = value
        self.written[name] = set(range(value.shape[0]))

    def finish(self) -> None:
        """Zero the years of each flow that were never written."""
        for store in (self.pool, self.partner):
            for name, arr in store.items():
                for t in range(arr.shape[0]):
                    if t not in self.written[name]:
                        arr[t] = 0.0


class State:
    """One chunk of simulations being settled: its draws, what is carried, this year's figures.

    Rules read and write these attributes; a rule adds attributes of its own
    only for what it declares in ``carries``. Set once per chunk:

    terms, rules, n_sims, years, n_partners
        The settlement's terms, the agreement's rules and the sizes.
    spend, income
        Gross spend and charging income (``None`` without charging),
        ``(years, groups, sims)``. [£]
    metrics, savings
        Performance metrics, each ``(sims, years)``, and integration savings
        ``(sims, years)`` (``None`` without). [£]
    forecast
        Standard normals ``(sims, years)`` of the forecast stream (a trigger
        ``on: forecast``), or ``None``.
    case_shares
        For each group with case splits (by index on this state's group
        axis): each partner's share of its spend, ``(years, partners, sims)``;
        a case group missing here is split by its expected split
        (``terms.commissioning``). [fraction]
    flows
        The ledger flows being written (:class:`Flows`).
    pool_spend, variance, reserve, exhausted, closing, extras
        Outputs: the pool's spend after action and its variance ``(years,
        sims)``, the reserve balance at each year end ``(years, sims)``,
        whether an overspend exhausted the reserve, the balance paid out at the
        end ``(sims,)``, and clause indicators by name.

    Carried from year to year:

    balance
        The reserve balance ``(sims,)``. [£]
    cumulative
        Contributions from year 0 to this year ``(partners,)``, or
        ``(partners, sims)`` when contributions are re-set per simulation. [£]
    exited, any_exited
        Simulations where the agreement has ended (every partner has left),
        and whether there is any.
    left, any_left, gone
        ``(partners, sims)``: partners that have left the agreement, and
        whether any has; the others carry on, keys recomputed over them.
        ``gone``: this year's own variances of the partners that have left. [£]

    This year (``t``; reset by :meth:`begin_year`):

    c, budget_p, budget
        Contributions ``(partners,)`` (``(partners, sims)`` when re-set per
        simulation: rule ``rebasing``), each partner's part of the budget
        ``(partners, 1 or sims)`` and the budget ``Σ_p budget_p``. [£]
    gross, inc, n_g
        Spend, income and spend net of income of each group ``(groups, sims)``. [£]
    x, uncommitted
        Pool-level integration effect and uncommitted allocation. [£]
    ctx, group_budget, v_g, v, own, w_prop, aligned_position
        Key context, group budgets and variances, the pooled variance, each
        partner's own variance, proportional weights, the aligned positions.
    position
        Each partner's net position ``(partners, sims)`` (positive pays). [£]
    over, under, under_eligible, live
        The overspend and underspend left to meet, the underspend that may
        be carried forward, simulations not exited.
    across_over, across_under, offset_net
        With offsets between schedules: the overspend and underspend of every
        schedule taking part, set by the settlement after the ``offset`` step,
        and what this schedule received less what it gave. [£]
    recurrent, outturn
        With contributions re-set each year: the whole agreement's recurrent
        variance and outturn shares, ``(partners, sims)`` (or ``None``), set by
        the settlement before the ``rebase`` step (summed over the schedules). [£]
    agreement_ctx
        One schedule of several with an exit: the whole agreement's key
        context of the year (its contributions, host and groups), for the
        keys of exit costs.
    draw, release, added, retained, nonrecurrent
        What the reserve, the uncommitted allocation, carry-forward, retention
        and non-recurrent use absorbed. [£]
    calls, refunds
        This year's ``overspend_call`` and ``underspend_refund``. [£]
    """

    def __init__(
        self,
        terms: Terms,
        rules: tuple[Rule, ...],
        spend: FloatArray,
        *,
        income: FloatArray | None,
        metrics: Mapping[str, FloatArray] | None,
        savings: FloatArray | None,
        forecast: FloatArray | None = None,
        case_shares: Mapping[int, FloatArray] | None = None,
    ) -> None:
        n_sims, years, _ = spend.shape
        self.terms = terms
        self.rules = rules
        self.n_sims = n_sims
        self.years = years
        self.n_partners = len(terms.partner_ids)
        # Group-major copies: every (year, group) vector is contiguous.
        self.spend = np.ascontiguousarray(spend.transpose(1, 2, 0))
        self._income = income
        self.metrics = metrics
        self.savings = savings
        self.forecast = forecast
        given = case_shares or {}
        self.case_shares = {
            g: given[g]
            if g in given
            else np.broadcast_to(
                terms.commissioning[g][None, :, None], (years, self.n_partners, n_sims)
            )
            for g in terms.case_groups
        }
        self.flows = Flows(years, n_sims, self.n_partners)
        self.pool_spend = np.empty((years, n_sims))
        self.variance = np.empty((years, n_sims))
        self.reserve = np.zeros((years, n_sims))
        self.exhausted = np.zeros((years, n_sims), dtype=bool)
        self.closing = np.zeros(n_sims)
        self.extras: dict[str, np.ndarray] = {}
        self.balance = np.full(n_sims, 0.0)
        self.cumulative = np.zeros(self.n_partners)
        self.exited = np.zeros(n_sims, dtype=bool)
        self.any_exited = False
        self.left = np.zeros((self.n_partners, n_sims), dtype=bool)
        self.any_left = False
        self.t = -1

    @cached_property
    def income(self) -> FloatArray | None:
        """Charging income ``(years, groups, sims)``, or ``None`` without. [£]"""
        if self._income is None:
            return None
        # Group-major, like spend (a copy made only when a rule reads it).
        return np.ascontiguousarray(np.asarray(self._income).transpose(1, 2, 0))

    def cases_at(self, t: int) -> dict[int, FloatArray]:
        """Year ``t``'s case shares of the groups with case splits, ``(partners, sims)`` each."""
        return {g: shares[t] for g, shares in self.case_shares.items()}

    def needs(self, what: str) -> bool:
        """Whether any rule of the agreement needs ``what`` (see :attr:`Rule.needs`)."""
        return any(what in rule.needs for rule in self.rules)

    @property
    def budget_p(self) -> FloatArray:
        """Each partner's part of the budget, ``(partners, 1)`` or ``(partners, sims)``. [£]"""
        return self._budget_p

    @budget_p.setter
    def budget_p(self, value: FloatArray) -> None:
        self._budget_p = value
        self._budget: FloatArray | None = None

    @property
    def budget(self) -> FloatArray:
        """This year's budget, ``Σ_p budget_p``: ``(1,)`` or ``(sims,)``. [£]"""
        if self._budget is None:
            self._budget = self._budget_p.sum(axis=0)
        return self._budget

    def begin_year(self, t: int) -> None:
        """Start year ``t``: this year's spend, and nothing absorbed or shared yet."""
        self.t = t
        self.gross = self.n_g = self.spend[t]
        self.inc = None
        self.x = 0.0
        self.uncommitted = 0.0
        self.group_budget = self.v_g = self.own = self.w_prop = self.aligned_position = None
        self.draw = self.release = self.added = self.retained = self.nonrecurrent = 0.0
        self.offset_net = 0.0
        self.gone = 0.0

    def ledger(self, *, check: bool = True) -> Ledger:
        """The finished ledger of this chunk (the rules' final steps run), balance checked.

        Its arrays are year-major views (simulations last in memory).
        """
        flows = self.flows
        for rule in self.rules:
            flows.writer = rule
            rule.finish(self)
        flows.writer = None
        flows.finish()
        flows.pool["spend"] = self.pool_spend
        ledger = Ledger(
            partner_flows={k: v.transpose(2, 0, 1) for k, v in flows.partner.items()},
            pool_flows={k: v.T for k, v in flows.pool.items()},
            reserve=self.reserve.T,
            partner_ids=self.terms.partner_ids,
            first_year=self.terms.first_year,
            extras={
                "variance": self.variance.T,
                "reserve_exhausted": self.exhausted.T,
                "reserve_closing": self.closing,
                **{k: v.T for k, v in self.extras.items()},
            },
        )
        if check:
            check_balance(ledger, allow_deficit=self.needs("reserve_deficit"))
        return ledger
