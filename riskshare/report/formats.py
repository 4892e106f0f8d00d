"""How money and chances are written in every output: report, headline, tables.

Plain functions of numbers, no imports beyond the standard library, so the
command line and the what-if app can use them without loading charts.
"""

from __future__ import annotations

import math

__all__ = ["chance", "money", "money_k", "money_short", "percent", "rounding_step"]

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _blank(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _unbounded(x: float) -> str | None:
    """``∞`` or ``−∞`` for an infinite amount (a bound past the simulations), else None."""
    if math.isinf(float(x)):
        return "∞" if x > 0 else "−∞"
    return None


def money(x: float | None, digits: int = 0) -> str:
    """``£1,234,567`` (negative as ``−£1,234``); blank for NaN. [£]

    >>> money(-1234.4)
    '−£1,234'
    """
    if _blank(x):
        return ""
    if (inf := _unbounded(x)) is not None:
        return inf
    x = float(x)
    sign = "−" if x < 0 and round(abs(x), digits) != 0 else ""
    return f"{sign}£{abs(x):,.{digits}f}"


def percent(x: float | None, digits: int = 1) -> str:
    """``12.3%`` from a fraction; blank for NaN. [fraction]"""
    if _blank(x):
        return ""
    return f"{100 * float(x):.{digits}f}%"


def rounding_step(se: float) -> float:
    """The rounding step for money whose standard error is ``se``: a power of ten. [£]

    The largest power of ten not above the standard error (at least £1), so
    the last digit shown is the first one Monte Carlo noise moves.

    >>> rounding_step(9286.6), rounding_step(17_000.0), rounding_step(0.0)
    (1000.0, 10000.0, 1.0)
    """
    if _blank(se) or not math.isfinite(se) or se < 1:
        return 1.0
    return float(10 ** math.floor(math.log10(se)))


def money_k(x: float | None, step: float = 1000.0) -> str:
    """Money in £ thousands rounded to ``step`` pounds: ``£4,130k``, ``−£20k``, ``£4,133.2k``.

    Parameters
    ----------
    x : float
        Amount. [£]
    step : float
        Rounding step, a power of ten (see :func:`rounding_step`). [£]

    >>> money_k(4_133_222.0, 10_000), money_k(-2_000.0, 1000), money_k(4_133_222.0, 100)
    ('£4,130k', '−£2k', '£4,133.2k')
    """
    if _blank(x):
        return ""
    if (inf := _unbounded(x)) is not None:
        return inf
    step = max(float(step), 1.0)
    value = round(float(x) / step) * step / 1000
    digits = max(0, -math.floor(math.log10(step / 1000) + 1e-9))
    sign = "−" if value < 0 else ""
    return f"{sign}£{abs(value):,.{digits}f}k"


def money_short(x: float | None) -> str:
    """Money in words-sized units, two or three significant figures: ``£4.1m``, ``£410k``, ``£2m``.

    For sentences; tables use :func:`money_k`.

    >>> money_short(4_133_222.0), money_short(60_783_550.7), money_short(2e6), money_short(-56_400)
    ('£4.1m', '£60.8m', '£2m', '−£56k')
    """
    if _blank(x):
        return ""
    if (inf := _unbounded(x)) is not None:
        return inf
    x = float(x)
    sign = "−" if x < 0 else ""
    a = abs(x)
    if a >= 1e6:
        text = f"{a / 1e6:,.1f}".removesuffix(".0") + "m"
    elif a >= 1e3:
        digits = 0 if a >= 1e4 else 1
        text = f"{a / 1e3:,.{digits}f}".removesuffix(".0") + "k"
        if text == "1,000k":
            text = "1m"
    else:
        text = f"{a:,.0f}"
    if text in ("0", "0k"):
        sign = ""
    return f"{sign}£{text}"


def chance(p: float | None, digits: int = 0) -> str:
    """A probability as a percentage that never rounds to a certainty it is not.

    ``<1%`` for a small non-zero chance and ``>99%`` for one just short of
    certain (at ``digits=0``).

    >>> chance(0.94495), chance(0.99985), chance(0.0001), chance(1.0), chance(0.0)
    ('94%', '>99%', '<1%', '100%', '0%')
    """
    if _blank(p):
        return ""
    p = float(p)
    text = percent(p, digits)
    smallest = 10.0**-digits
    if p > 0 and round(100 * p, digits) == 0:
        return f"<{smallest:g}%"
    if p < 1 and round(100 * p, digits) >= 100:
        return f">{100 - smallest:g}%"
    return text


def count_words(n: int) -> str:
    """``five`` for 5; digits from ten up."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)
