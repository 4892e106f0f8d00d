"""How every command prints: one table style, fitted to the terminal, one money format.

Tables are drawn with rich (which arrives with Typer), imported when a table is
printed so that starting the command line stays quick. On a terminal a table
fits its width (long cells wrap); piped into a file it is never wrapped.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

#: Widest a table is drawn when the output is not a terminal. [characters]
PIPE_WIDTH = 240


def money(value: float) -> str:
    """Pounds in thousands, as every command prints them: ``£4,124k``, ``-£150k``. [£]

    Blank for NaN.

    Examples
    --------
    >>> money(4_123_630.0), money(-150_000.0), money(float("nan"))
    ('£4,124k', '-£150k', '')
    """
    if value is None or math.isnan(float(value)):
        return ""
    value = float(value)
    sign = "-" if value < 0 and round(abs(value) / 1e3) != 0 else ""
    return f"{sign}£{abs(value) / 1e3:,.0f}k"


def signed_money(value: float) -> str:
    """A difference in thousands with its sign: ``+£12k``, ``-£3k``. [£]"""
    text = money(value)
    return text if not text or text.startswith("-") else f"+{text}"


def percent(value: float) -> str:
    """A fraction as a percentage to one decimal: ``94.3%``; blank for NaN. [fraction]"""
    if value is None or math.isnan(float(value)):
        return ""
    return f"{100 * float(value):.1f}%"


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    note: str | None = None,
) -> None:
    """Print a table: the first column left-aligned (labels), the others right-aligned.

    Parameters
    ----------
    header : sequence of str
        Column headings.
    rows : sequence of sequences
        Cells, already formatted (anything else is shown with ``str``).
    title : str, optional
        A line printed above the table.
    note : str, optional
        A line printed below it (e.g. the units or the Monte Carlo error).
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(
        width=None if sys.stdout.isatty() else PIPE_WIDTH, highlight=False, soft_wrap=False
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    for i, heading in enumerate(header):
        table.add_column(heading, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    if title:
        console.print(title, markup=False)
    console.print(table)
    if note:
        console.print(note, markup=False)


def print_summary(table: Any, labels: Mapping[str, str], *, title: str | None = None) -> None:
    """Print the headline figures of a result (from ``Result.table("summary")``).

    Money in £ thousands, probabilities in per cent; one row per partner and
    the pool, named by ``labels`` (partner id to display name).
    """
    cols = {
        "mean": "mean",
        "p50": "median",
        "p95": "P95 (VaR)",
        "tvar95": "TVaR95",
        "p99": "P99",
        "prob_pays": "P(pays)",
        "prob_call_any_year": "P(cash call)",
    }
    if "prob_exceeds" in table.columns:
        cols["prob_exceeds"] = "P(> appetite)"
    rows = []
    for i, partner in enumerate(table.index["partner"]):
        cells = [labels.get(str(partner), str(partner))]
        for key in cols:
            value = float(table.columns[key][i])
            cells.append(percent(value) if key.startswith("prob") else money(value))
        rows.append(cells)
    print_table(["partner", *cols.values()], rows, title=title)
