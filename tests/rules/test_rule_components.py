"""The rule contract, checked on every registered rule (scikit-learn's ``check_estimator`` idea).

Each rule of :mod:`riskshare.rules` is settled on the clause agreements of
:mod:`riskshare.testing.clauses` that use it: it writes only the flows it
declares, keeps only the state it declares, leaves a balanced ledger, gives
the same numbers one simulation at a time as in a batch, and does not touch
its inputs. A rule class that is not registered, or that no clause agreement
exercises, fails here; so does a clause that breaks the contract.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import riskshare
import riskshare.rules
import riskshare.settle as settle_module
from riskshare.ledger import FLOWS, check_balance
from riskshare.paths import SpendPaths
from riskshare.rules import RULES, STEPS, Rule, State, Terms, rules_for
from riskshare.rules.state import YEAR
from riskshare.sampling import sample
from riskshare.settle import iter_settle, settle
from riskshare.testing.clauses import CLAUSES, clause_model

N = 12


def _active() -> dict[str, list[str]]:
    """For each registered rule, the clause agreements that use it."""
    out: dict[str, list[str]] = {name: [] for name in RULES}
    for clause, agreement in CLAUSES.items():
        terms = Terms.from_model(clause_model(agreement))
        for rule in (r for part, _ in terms.schedules or [(terms, None)] for r in rules_for(part)):
            out[rule.name].append(clause)
    return out


ACTIVE = _active()


def _paths(model) -> SpendPaths:
    return sample(model, n_sims=N, seed=5)


def test_every_rule_class_is_registered() -> None:
    for info in pkgutil.iter_modules(riskshare.rules.__path__):
        module = importlib.import_module(f"riskshare.rules.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Rule) and cls is not Rule:
                assert RULES.get(cls.name) is cls, f"{cls.__qualname__} is not registered"


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_declarations(name: str) -> None:
    cls = RULES[name]
    assert cls.writes <= set(FLOWS), f"{name} declares unknown flows"
    assert cls.steps, f"{name} acts in no step"
    assert set(cls.steps) <= set(STEPS)
    for step in cls.steps:
        assert callable(getattr(cls, step))
    assert cls.__doc__, f"{name} has no docstring"
    assert ACTIVE[name], f"no agreement in riskshare.testing.clauses uses rule {name!r}"


class _Recording(State):
    """A state that records which rule sets which attribute."""

    set_by: ClassVar[dict[str, set[str]]] = {}

    def __setattr__(self, key: str, value: object) -> None:
        flows = self.__dict__.get("flows")
        writer = None if flows is None else flows.writer
        if writer is not None:
            type(self).set_by.setdefault(writer.name, set()).add(key)
        super().__setattr__(key, value)


@pytest.mark.parametrize("clause", sorted(CLAUSES))
def test_rules_keep_only_declared_state(clause: str, monkeypatch) -> None:
    _Recording.set_by = {}
    monkeypatch.setattr(settle_module, "State", _Recording)
    model = clause_model(CLAUSES[clause])
    settle(model, _paths(model))
    for name, keys in _Recording.set_by.items():
        extra = keys - YEAR - set(RULES[name].carries) - {"_budget_p", "_budget"}
        assert not extra, f"rule {name!r} keeps undeclared state {sorted(extra)}"


@pytest.mark.parametrize("clause", sorted(CLAUSES))
def test_rules_settle_balanced_batched_and_leave_inputs(clause: str) -> None:
    model = clause_model(CLAUSES[clause])
    paths = _paths(model)
    spend, savings = paths.spend.copy(), np.array(paths.savings)
    ledger = settle(model, paths)
    np.testing.assert_array_equal(paths.spend, spend)
    np.testing.assert_array_equal(paths.savings, savings)
    check_balance(ledger, allow_deficit=True)
    terms = Terms.from_model(model)
    extras = {r for rule in rules_for(terms) for r in rule.records}
    assert extras <= set(ledger.extras)
    for i in range(N):
        one = settle(model, paths.take([i]))
        for name in set(ledger.partner_flows) | set(ledger.pool_flows):
            np.testing.assert_array_equal(one.flow(name)[0], ledger.flow(name)[i], err_msg=name)


def test_a_rule_writing_an_undeclared_flow_fails(monkeypatch) -> None:
    from riskshare.rules.cash import Cash

    monkeypatch.setattr(Cash, "writes", frozenset({"overspend_call"}))
    model = clause_model({})
    with pytest.raises(RuntimeError, match="underspend_refund"):
        settle(model, _paths(model))


def test_a_toy_rule_through_the_public_contract(monkeypatch) -> None:
    """A new clause is one class: here every partner gives £1,000 a year to charity."""

    class Charity(Rule):
        """Each partner pays £1,000 a year outside the pool (a memo flow in its net position)."""

        name = "toy_charity"
        steps = ("cash",)
        writes = frozenset({"partner_integration_cost"})

        @classmethod
        def from_terms(cls, terms: Terms) -> Rule:
            return cls()

        def cash(self, s: State) -> None:
            s.flows.add("partner_integration_cost", s.t, np.full((s.n_partners, 1), 1000.0))

    try:
        model = clause_model({})
        paths = _paths(model)
        with_toy = settle(model, paths)
    finally:
        del RULES["toy_charity"]
    without = settle(model, paths)
    years = model.simulation.years
    np.testing.assert_allclose(with_toy.net_total() - without.net_total(), 1000.0 * years)


def test_the_order_of_steps_is_that_of_docs_rules_md() -> None:
    doc = (Path(riskshare.__file__).parents[1] / "docs" / "rules.md").read_text("utf-8")
    table = doc[doc.index("| step | rules |") :].split("\n\n")[0].splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in table] == list(STEPS)
    for row in table:
        step, names = row.split("|")[1].strip(" `"), row.split("|")[2]
        acting = {name for name, cls in RULES.items() if step in cls.steps}
        assert {n.strip(" `") for n in names.split(",")} == acting, step


def test_chunks_are_independent(monkeypatch) -> None:
    model = clause_model(CLAUSES["exit"])
    paths = _paths(model)
    whole = [ledger for _, ledger in iter_settle(Terms.from_model(model), paths)]
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 5)
    parts = settle(model, paths)
    np.testing.assert_array_equal(parts.net(), whole[0].net())
    np.testing.assert_array_equal(parts.reserve, whole[0].reserve)


def test_a_flow_year_nobody_wrote_reads_as_zero_whatever_the_memory_holds() -> None:
    """Flow arrays start uninitialised: rules read a year through Flows.value."""
    from riskshare.rules.state import Flows

    flows = Flows(years=3, n_sims=2, n_partners=2)
    assert flows.value("exit_cost", 0) == 0.0  # never allocated
    flows.add("exit_cost", 1, np.array([[1.0, 2.0], [3.0, 4.0]]))
    flows.partner["exit_cost"][0] = np.nan  # what uninitialised memory may hold
    flows.partner["exit_cost"][2] = 7.0
    assert flows.value("exit_cost", 0) == 0.0 and flows.value("exit_cost", 2) == 0.0
    np.testing.assert_array_equal(flows.value("exit_cost", 1), [[1.0, 2.0], [3.0, 4.0]])
