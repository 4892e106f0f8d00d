"""Step 12: exit (``agreement.exit``): only the leaver leaves.

A partner leaves at the start of a year: the year after its cumulative net
position passes its limit plus ``notice_years``, the year named in
``voluntary``, or ``end_year`` (every partner). It takes its share of the
reserve (by ``reserve_key`` over the partners still in), its position from
then on is its own variance (what it commissions less what it puts in: its
committed placements stay with it), its exit ``costs`` are paid, and the
other partners carry on under the agreement, every key recomputed over them.

The clause is agreement-wide: with several schedules every schedule applies
it, and two functions the settlement calls between the schedules' steps make
them one exit (``docs/rules.md``, "Exit with several schedules"):
:func:`share_context` gives every schedule the whole agreement's keys for
exit costs, :func:`give_notice` tests each limit on the partner's net
position over the whole agreement and gives every schedule the same exit years.
"""

from __future__ import annotations

import numpy as np

from riskshare.config.model import ExitCost
from riskshare.rules.base import Rule, between
from riskshare.rules.keys import key_weights
from riskshare.rules.state import State
from riskshare.rules.terms import Terms

__all__ = ["Exit", "give_notice", "share_context"]

#: The partner flows that make up a net position besides calls and refunds, with their signs.
_NET_FLOWS = (
    ("income_shortfall", 1.0),
    ("partner_integration_cost", 1.0),
    ("partner_integration_savings", -1.0),
    ("final_distribution", -1.0),
    ("exit_cost", 1.0),
)


class Exit(Rule):
    """Partners leave; the others carry on under the agreement."""

    name = "exit"
    steps = ("exit_start", "offset", "exited", "exit_notice")
    writes = frozenset({"reserve_release", "final_distribution", "exit_cost"})
    carries = ("cum_net", "exit_year")
    records = ("exit",)
    needs = frozenset({"own_variances"})
    order = 1  # at the offset step, after the overspend and underspend are known

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.exit = terms.agreement.exit
        self.pooled = terms.agreement.arrangement == "pooled"
        # One schedule of several: the fraction of each partner's contribution funding it.
        self.funding = terms.funding

    @classmethod
    def from_terms(cls, terms: Terms) -> Exit | None:
        return cls(terms) if terms.agreement.exit is not None else None

    def start(self, s: State) -> None:
        s.cum_net = np.zeros((s.n_partners, s.n_sims))
        # The year each partner's exit takes effect (years + 1: never).
        s.exit_year = np.full((s.n_partners, s.n_sims), s.years + 1)
        for pid, year in self.exit.voluntary.items():
            s.exit_year[self.terms.partner(pid)] = year
        if self.exit.end_year is not None:
            s.exit_year = np.minimum(s.exit_year, self.exit.end_year)
        s.extras["exit"] = np.zeros((s.years, s.n_sims), dtype=bool)

    def exit_start(self, s: State) -> None:
        """Partners leaving this year take their share of the reserve; exit costs are paid."""
        t = s.t
        starting = s.exit_year == t
        if np.any(starting):
            s.extras["exit"][t] = starting.any(axis=0)
            ctx = self.terms.context(t, s.cumulative, s.gross, ~s.left, s.cases_at(t), s.c)
            share = np.where(starting, key_weights(self.exit.reserve_key, ctx) * s.balance, 0.0)
            out = share.sum(axis=0)
            s.flows.add("reserve_release", t, out)
            s.flows.add("final_distribution", t, share)
            s.balance = s.balance - out
            s.left = s.left | starting
            s.any_left = True
            s.exited = ~np.any(~s.left, axis=0)
            s.any_exited = bool(s.exited.any())
        for cost in self.exit.costs:
            self.pay(cost, s)

    def pay(self, cost: ExitCost, s: State) -> None:
        """This year's part of an exit cost, for every exit it follows. [£]

        One schedule of several books the leaver's cost in proportion to the
        leaver's funding of it, split between payers by keys over the whole
        agreement (``s.agreement_ctx``), so the schedules pay each cost once.
        """
        t = s.t
        due = (s.exit_year <= t) & (t < s.exit_year + cost.years)  # (partners, sims)
        if not np.any(due):
            return
        amount = cost.amount * due  # one cost per partner leaving
        if self.funding is not None:
            amount = amount * self.funding[t][:, None]
        if cost.paid_by == "leaver":
            s.flows.add("exit_cost", t, amount)
            return
        key = "proportional" if cost.paid_by == "all" else cost.key
        if self.funding is not None:
            ctx = s.agreement_ctx
        else:
            ctx = self.terms.context(
                t, s.cumulative, s.gross, cases=s.cases_at(t), contributions=s.c
            )
        w = key_weights(key, ctx)
        s.flows.add("exit_cost", t, w * amount.sum(axis=0))

    def offset(self, s: State) -> None:
        """The partners still in share the pooled variance less the leavers' own variances."""
        if not (self.pooled and s.any_left):
            return
        s.gone = gone = np.where(s.left, s.own, 0.0).sum(axis=0)
        s.v = s.v - gone  # the variance of the partners still in (it decides 'own''s side)
        target = s.over - s.under - gone
        over = np.maximum(s.over - np.maximum(gone, 0.0), 0.0)
        under = np.maximum(s.under - np.maximum(-gone, 0.0), 0.0)
        gap = over - under - target
        s.over = over - np.minimum(gap, 0.0)
        s.under = under + np.maximum(gap, 0.0)

    def exited(self, s: State) -> None:
        """A partner that has left takes its own variance (aligned)."""
        if s.any_left:
            s.position = np.where(s.left, s.aligned_position, s.position)

    def finish(self, s: State) -> None:
        """The ledger keeps each partner's exit year, ``extras["exit_year"]`` ``(sims, partners)``.

        The agreement year (0-based) at whose start the partner's exit took
        effect; ``years`` or more when it did not leave within the agreement.
        """
        s.extras["exit_year"] = s.exit_year

    def exit_notice(self, s: State) -> None:
        """This year's net positions add to the cumulative ones (in this schedule).

        The limits are tested on their sum over the schedules: :func:`give_notice`.
        """
        t = s.t
        s.cum_net += s.calls - s.refunds
        for name, sign in _NET_FLOWS:
            s.cum_net += sign * s.flows.value(name, t)


@between("after", "exit_notice")
def give_notice(terms: Terms, states: list[State]) -> None:
    """Notice is given when a cumulative net position over the agreement passes its limit.

    Called after every schedule's ``exit_notice`` step. The position is the
    sum of the partner's cumulative net positions in the schedules
    (``states``, one per schedule); a partner leaves every schedule
    ``notice_years`` after the end of this year, so every schedule gets the
    same exit years. No notice is given at the end of the last year: no year
    is left for an exit to take effect in.
    """
    first = states[0]
    exit_ = first.terms.agreement.exit
    t = first.t
    if exit_ is None or t == first.years - 1:
        return
    cum_net = first.cum_net if len(states) == 1 else sum(s.cum_net for s in states)
    exit_year = first.exit_year
    leave = t + 1 + exit_.notice_years
    for pid, limit in exit_.limits.items():
        p = first.terms.partner(pid)
        notice = (cum_net[p] > limit) & ~first.left[p] & (leave < exit_year[p])
        exit_year[p] = np.where(notice, leave, exit_year[p])
    for s in states[1:]:
        s.exit_year = exit_year


@between("before", "exit_start")
def share_context(terms: Terms, states: list[State]) -> None:
    """Give every schedule the whole agreement's key context of the year (``agreement_ctx``).

    Keys of exit costs (``paid_by: all`` or ``key``) are computed over the
    whole agreement: its contributions, its host, the spend of all its groups.
    Called before the ``exit_start`` step, with ``terms`` the agreement's and
    ``states`` its schedules' (in the order of ``terms.schedules``); nothing
    to do for one schedule, or when every exit cost is paid by the leaver.
    """
    exit_ = terms.agreement.exit
    if not terms.agreement.schedules or exit_ is None:
        return
    if all(cost.paid_by == "leaver" for cost in exit_.costs):
        return
    first = states[0]
    t = first.t
    gross = np.empty((len(terms.group_ids), first.n_sims))
    cases = {}
    for (_, groups), s in zip(terms.schedules, states, strict=True):
        gross[groups] = s.gross
        cases.update({int(groups[g]): shares for g, shares in s.cases_at(t).items()})
    # Contributions re-set per simulation (rule rebasing): each schedule keeps the whole ones.
    agreed = first.agreed if first.terms.reset is not None else None
    cumulative = sum(s.cumulative for s in states)  # each schedule's part of the contributions
    ctx = terms.context(t, cumulative, gross, cases=cases, contributions=agreed)
    for s in states:
        s.agreement_ctx = ctx
