"""The rule contract: each clause of an agreement is a small component the settlement composes.

A rule is a subclass of :class:`Rule` in its own module of
:mod:`riskshare.rules`. Subclassing registers it (:data:`RULES`); the
settlement asks every registered rule whether the agreement has its clause
(:meth:`Rule.from_terms`) and calls the rules it gets, year by year, at the
steps they name, in the order of :data:`STEPS`. A rule declares:

* ``name``: its registry name;
* ``steps``: the steps of the year it acts in; for each, a method of that
  name taking the :class:`~riskshare.rules.state.State`;
* ``writes``: the ledger flows it writes (names in :data:`riskshare.ledger.FLOWS`);
* ``carries``: the attributes of its own it keeps on the state from year to
  year (set in :meth:`Rule.start`);
* ``needs``: quantities it needs other rules to compute (``"group_variances"``,
  ``"own_variances"``) or allowances (``"reserve_deficit"``).

Rules hold only their terms (set in ``__init__``, never changed), so one rule
object settles any number of chunks, in any order, on any thread; everything
that changes lives on the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

from riskshare.ledger import FLOWS

if TYPE_CHECKING:
    from riskshare.rules.state import State
    from riskshare.rules.terms import Terms

__all__ = ["BETWEEN", "RULES", "STEPS", "Rule", "between", "rules_for"]

#: The steps of a year, in order (``docs/rules.md``, "Each year, in this order").
STEPS: tuple[str, ...] = (
    "contributions",  # 1 contributions and holdback
    "exit_start",  # 12 exits taking effect this year settle the reserve
    "top_slice",  # 2 top-slice into the reserve
    "charging",  # 3 charging income
    "integration",  # 4 integration effects
    "uncommitted",  # 5 uncommitted allocation
    "trigger",  # 6 management action
    "spend",  # 3 the year's spend and income, after action
    "variances",  # 7 group variances and profiles
    "offset",  # 8 overspend and underspend to meet
    "across",  # 8 offsets between schedules (agreement.across)
    "waterfall",  # 8 met by the reserve and the uncommitted allocation, in agreement order
    "carry_forward",  # 8 underspend carried into the reserve
    "disposition",  # 8 what is left of the underspend
    "sharing",  # 9 sharing (or aligned positions)
    "exited",  # 12 simulations after an exit run as aligned budgets
    "caps",  # 10 caps
    "cash",  # 11 calls and refunds
    "exit_notice",  # 12 exit notices
    "rebase",  # 13 next year's contributions re-set from this year's outturn
)

#: Every registered rule class by name, in the order they were defined.
RULES: dict[str, type[Rule]] = {}

#: What combines the schedules of an agreement around a step: ``{(when, step): [function]}``,
#: ``when`` ``"before"`` or ``"after"`` the step has run in every schedule; each function
#: takes the agreement's terms and the schedules' states (one per schedule, in order).
BETWEEN: dict[tuple[str, str], list[Callable[[Terms, list[State]], None]]] = {}


def between(
    when: Literal["before", "after"], step: str
) -> Callable[[Callable[[Terms, list[State]], None]], Callable[[Terms, list[State]], None]]:
    """Register a function the settlement calls between the schedules ``when`` ``step`` runs.

    A clause that spans the schedules of an agreement (offsets between them,
    one exit of the whole agreement, contributions re-set on its whole
    experience) is a rule in each schedule plus such a function, in the same
    module; the settlement itself knows no clause.
    """
    if when not in ("before", "after") or step not in STEPS:
        raise ValueError(f"between({when!r}, {step!r}): not a time and a step of STEPS")

    def register(
        fn: Callable[[Terms, list[State]], None],
    ) -> Callable[[Terms, list[State]], None]:
        BETWEEN.setdefault((when, step), []).append(fn)
        return fn

    return register


#: What a rule may name in ``needs``.
NEEDS = frozenset({"group_variances", "own_variances", "reserve_deficit"})


class Rule:
    """A clause of an agreement: what it writes, what it carries, how it applies each year.

    Subclasses set the class attributes below, implement :meth:`from_terms`
    and one method per name in ``steps``, and may override :meth:`start`
    and :meth:`finish`.
    """

    name: ClassVar[str]
    steps: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[frozenset[str]] = frozenset()
    carries: ClassVar[tuple[str, ...]] = ()
    #: Per-year indicators the rule adds to the ledger's extras (set in :meth:`start`); a
    #: rule whose indicators depend on its terms sets them in ``__init__``.
    records: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()
    #: Position within a step shared with other rules (the waterfall's order).
    order: int = 0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name in RULES:
            raise TypeError(f"rule name {cls.name!r} is taken by {RULES[cls.name].__qualname__}")
        unknown = set(cls.steps) - set(STEPS)
        if unknown:
            raise TypeError(f"{cls.__qualname__}: unknown steps {sorted(unknown)} (see STEPS)")
        missing = [s for s in cls.steps if not callable(getattr(cls, s, None))]
        if missing:
            raise TypeError(f"{cls.__qualname__}: no method for steps {missing}")
        bad = set(cls.writes) - set(FLOWS)
        if bad:
            raise TypeError(f"{cls.__qualname__}: writes unknown flows {sorted(bad)}")
        RULES[cls.name] = cls

    @classmethod
    def from_terms(cls, terms: Terms) -> Rule | None:
        """This rule for ``terms``, or ``None`` when the agreement has no such clause."""
        raise NotImplementedError

    def start(self, state: State) -> None:
        """Set up the rule's carried state for a new chunk (attributes named in ``carries``)."""

    def finish(self, state: State) -> None:
        """After the last year (e.g. pay out what is left)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def rules_for(terms: Terms) -> tuple[Rule, ...]:
    """The rules of ``terms``' agreement: every registered rule whose clause it has."""
    import riskshare.rules  # noqa: F401  (imports every rule module, filling RULES)

    found = (cls.from_terms(terms) for cls in RULES.values())
    return tuple(rule for rule in found if rule is not None)


def schedule(rules: tuple[Rule, ...]) -> list[tuple[Rule, str]]:
    """Each year's calls: ``(rule, step)`` in the order of :data:`STEPS`, then ``order``."""
    calls = [(rule, step) for rule in rules for step in rule.steps]
    for rule, step in calls:
        if not callable(getattr(rule, step)):
            raise TypeError(f"rule {rule.name!r}: attribute {step!r} hides the step's method")
    calls.sort(key=lambda call: (STEPS.index(call[1]), call[0].order))
    return calls
