"""Settlement: an agreement applied to spend paths, year by year.

No randomness here. Spend (and the other random quantities an agreement
depends on: charging income, performance metrics, integration savings) is
drawn once by :mod:`riskshare.sampling`, and any number of agreements (rules,
contribution levels, reserves, caps) are settled on the same draws, so
comparisons between them are paired.

Each clause of the agreement is a rule (:mod:`riskshare.rules`); this module
is the loop that runs them: chunk by chunk of simulations, year by year, the
agreement's rules at their steps in the order of
:data:`riskshare.rules.STEPS`, then the ledger of the chunk and its balance
check. Within a year everything is vectorised over simulations. The order of
the steps and every formula are in ``docs/rules.md``;
:mod:`riskshare._reference` is a per-simulation version written from that page
and tested against this one.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare._types import FloatArray
from riskshare.config.load import with_agreement
from riskshare.config.model import Agreement, Model
from riskshare.ledger import Ledger
from riskshare.rules import STEPS, Rule, State, Terms, rules_for
from riskshare.rules.base import BETWEEN, schedule

if TYPE_CHECKING:
    from riskshare.paths import SpendPaths

__all__ = ["SETTLE_CHUNK", "Terms", "iter_settle", "settle"]

#: Simulations settled at once. Vectors of this size stay in the CPU cache and
#: reuse freed memory instead of mapping fresh pages, which makes settlement
#: about three times faster than one pass over a large block. The numbers do
#: not depend on it: simulations are independent.
SETTLE_CHUNK = 8192


def settle(
    model: Model,
    paths: SpendPaths,
    *,
    agreement: Agreement | None = None,
    contributions: FloatArray | None = None,
    check: bool = True,
) -> Ledger:
    """Settle an agreement on drawn spend paths.

    Parameters
    ----------
    model : Model
        The scenario (partners, groups, contributions, agreement).
    paths : SpendPaths
        Drawn spend, ``(sims, years, groups)``, and the other draws.
    agreement : Agreement, optional
        Settle this agreement instead of ``model.agreement`` (same draws).
    contributions : ndarray, optional
        ``(years, partners)`` contributions instead of the model's. [£]
    check : bool
        Check that the ledger balances in every simulated year (cheap).

    Returns
    -------
    Ledger

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/benchmark.yaml")
    >>> paths = rs.sample(model, n_sims=1000, seed=1)
    >>> ledger = rs.settle(model, paths)
    >>> ledger.net_total().shape
    (1000, 2)
    """
    if agreement is not None:
        model = with_agreement(model, agreement)
    terms = Terms.from_model(model, contributions=contributions)
    parts = list(iter_settle(terms, paths, check=check))
    if len(parts) == 1:
        return parts[0][1]
    return Ledger.concatenate([ledger for _, ledger in parts])


def iter_settle(
    terms: Terms, paths: SpendPaths, *, check: bool = True
) -> Iterator[tuple[slice, Ledger]]:
    """Settle ``terms`` on ``paths``, :data:`SETTLE_CHUNK` simulations at a time.

    The one way into settlement: :func:`settle` assembles the chunks into one
    ledger; ``simulate`` and comparisons reduce each chunk as it comes, which
    keeps memory small and the CPU cache warm.

    Parameters
    ----------
    terms : Terms
    paths : SpendPaths
    check : bool
        Check the balance of every simulated year of every chunk.

    Yields
    ------
    (slice, Ledger)
        The simulations of the chunk and their ledger.
    """
    spend = np.asarray(paths.spend, dtype=float)
    n_sims, years, n_groups = spend.shape
    if years != terms.contributions.shape[0]:
        raise ValueError(f"spend has {years} years, the terms {terms.contributions.shape[0]}")
    if n_groups != terms.commissioning.shape[0]:
        raise ValueError(f"spend has {n_groups} groups, the terms {terms.commissioning.shape[0]}")
    # One implicit schedule takes every group: a slice, so the chunk is a view, not a copy.
    parts = terms.schedules or ((terms, slice(None)),)
    rules = [rules_for(part) for part, _ in parts]
    calls = [schedule(r) for r in rules]
    savings = paths.savings
    if savings is not None and not np.any(np.asarray(savings) != 0):
        savings = None
    for a in range(0, max(n_sims, 1), SETTLE_CHUNK):
        sl = slice(a, min(a + SETTLE_CHUNK, n_sims))
        states = [
            State(
                part,
                part_rules,
                spend[sl][:, :, groups],
                income=None if paths.income is None else paths.income[sl][:, :, groups],
                metrics={k: v[sl] for k, v in paths.metrics.items()},
                savings=_savings(savings, part, sl),
                forecast=None if paths.forecast is None else paths.forecast[sl],
                case_shares=_case_shares(paths, part, groups, sl),
            )
            for (part, groups), part_rules in zip(parts, rules, strict=True)
        ]
        ledgers = _settle_chunk(terms, states, calls, check=check)
        yield sl, ledgers[0] if len(ledgers) == 1 else Ledger.combine(ledgers, terms.schedule_ids)


def _savings(savings: Any, terms: Terms, sl: slice) -> FloatArray | None:
    """The integration savings ``(sims, years)`` of simulations ``sl`` that ``terms`` receives.

    One schedule of several receives its share of them (``terms.savings_share``). [£]
    """
    if savings is None:
        return None
    part = np.asarray(savings)[sl]
    return part if terms.savings_share is None else part * terms.savings_share[None, :]


def _case_shares(
    paths: SpendPaths, terms: Terms, groups: slice | np.ndarray, sl: slice
) -> dict[int, FloatArray]:
    """The drawn case shares of ``terms``' case-split groups in simulations ``sl``.

    ``{group index in terms: (years, partners, sims)}``; a group whose shares
    were not drawn (paths given by hand) is left out and split by its
    expected split.
    """
    ids = np.asarray(paths.group_ids)[groups]
    return {
        g: paths.case_shares[ids[g]][sl].transpose(1, 2, 0)
        for g in terms.case_groups
        if ids[g] in paths.case_shares
    }


def _settle_chunk(
    terms: Terms,
    states: list[State],
    calls: list[list[tuple[Rule, str]]],
    *,
    check: bool = True,
) -> list[Ledger]:
    """Run each schedule's rule ``calls`` (see :func:`riskshare.rules.base.schedule`) every year.

    The schedules of an agreement run in step: each step of a year runs for
    every schedule before the next step starts, so that offsets between
    schedules see every schedule's overspend and underspend, contributions
    re-set each year the whole agreement's experience, and an exit is one
    exit of the whole agreement: the functions the rules register to run
    between the schedules (:data:`riskshare.rules.base.BETWEEN`) run before
    and after their steps.

    Parameters
    ----------
    terms : Terms
        The agreement's terms (with several schedules: its ``schedules``).
    states : list of State
        A chunk of simulations, fresh, one state per schedule.
    calls : list of list of (Rule, str)
        Each schedule's year of rule methods, in order.
    check : bool
        Check each ledger's balance.

    Returns
    -------
    list of Ledger
        Each schedule's ledger of the chunk, its arrays year-major views.
    """
    by_step = [[[c for c in part if c[1] == step] for step in STEPS] for part in calls]
    for state in states:
        for rule in state.rules:
            state.flows.writer = rule
            rule.start(state)
    for t in range(states[0].years):
        for state in states:
            state.flows.writer = None
            state.begin_year(t)
        for k, step in enumerate(STEPS):
            for combine in BETWEEN.get(("before", step), ()):
                combine(terms, states)
            for state, steps in zip(states, by_step, strict=True):
                for rule, _ in steps[k]:
                    state.flows.writer = rule  # flows it writes are checked against its declaration
                    getattr(rule, step)(state)
            for combine in BETWEEN.get(("after", step), ()):
                combine(terms, states)
    return [state.ledger(check=check) for state in states]


class _SettleModule(types.ModuleType):
    """This module, callable: ``rs.settle(model, paths)`` is :func:`settle`.

    ``riskshare.settle`` stays the module (``import riskshare.settle as m``
    gives it, with :func:`iter_settle` and :data:`SETTLE_CHUNK`), and the
    package's public ``settle`` is that same module, called.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Ledger:
        return settle(*args, **kwargs)


sys.modules[__name__].__class__ = _SettleModule
