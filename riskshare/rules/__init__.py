"""The clauses of an agreement, each a small component, and the pieces they share.

* :mod:`~riskshare.rules.base`: the rule contract (:class:`Rule`), the
  registry (:data:`RULES`) and the order of a year's steps (:data:`STEPS`);
* :mod:`~riskshare.rules.state`: what rules read and write while a chunk is
  settled (:class:`State`, :class:`Flows`);
* :mod:`~riskshare.rules.terms`: a model's figures resolved for settlement
  (:class:`Terms`);
* :mod:`~riskshare.rules.keys` and :mod:`~riskshare.rules.tower`: allocation
  keys and towers of bands;
* one module per clause (contributions, reserve, charging, ...), each
  defining one :class:`Rule`.

Every module of this package is imported here, so every rule is registered.
``docs/rules.md`` gives each clause's formula.
"""

import importlib
import pkgutil

from riskshare.rules.base import RULES, STEPS, Rule, rules_for
from riskshare.rules.keys import KeyContext, key_weights
from riskshare.rules.state import Flows, State
from riskshare.rules.terms import Terms
from riskshare.rules.tower import apply_tower, band_amounts

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "RULES",
    "STEPS",
    "Flows",
    "KeyContext",
    "Rule",
    "State",
    "Terms",
    "apply_tower",
    "band_amounts",
    "key_weights",
    "rules_for",
]
