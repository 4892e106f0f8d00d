"""The composable pieces of an agreement: allocation keys and towers of bands.

The settlement (:mod:`riskshare.settle`) applies them year by year; see
``docs/rules.md`` for every clause and its formula.
"""

from riskshare.rules.keys import KeyContext, key_weights
from riskshare.rules.tower import apply_tower, band_amounts

__all__ = ["KeyContext", "apply_tower", "band_amounts", "key_weights"]
