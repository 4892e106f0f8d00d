"""The answer first: a plain-English headline per partner and a compact key table.

Pure functions of a summary table (:meth:`riskshare.Result.summary`) and the
model, returning structured data *and* text, so the HTML report, the PDF,
the command line and the what-if app say the same thing in the same words.

Every figure is the whole agreement's (all its years together): a partner's
**net position** is what it pays beyond its agreed contributions, positive
when it pays. "1 time in 20" is the 95th percentile (P95) of that total, so
it is one *agreement* in 20, not one year in 20.

Examples
--------
>>> import riskshare as rs
>>> model = rs.load_config("configs/section75_example.yaml")
>>> result = rs.simulate(model, n_sims=2000, seed=1)
>>> lines = headlines(result.summary(), model)
>>> lines[0].text.startswith("Council should expect to pay about £")
True
>>> table = key_table(result.summary(), model)
>>> table.headings()[:3]
['Partner', 'Contributions', 'Expected (mean)']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riskshare.config.names import partner_labels
from riskshare.report.formats import chance, count_words, money_k, money_short, rounding_step

if TYPE_CHECKING:
    import pandas as pd

    from riskshare.config.model import Model
    from riskshare.run import Result

__all__ = [
    "KEY_COLUMNS",
    "Headline",
    "KeyCell",
    "KeyColumn",
    "KeyTable",
    "Precision",
    "Quoted",
    "expected_contributions",
    "headlines",
    "key_table",
    "period_words",
    "precision_of",
]


@dataclass(frozen=True)
class Quoted:
    """A figure quoted in a sentence: what it is, its exact value and how it is written.

    Attributes
    ----------
    measure : str
        ``contributions``, ``appetite`` or a column of the summary (``mean``,
        ``p95``, ``prob_exceeds``).
    value : float
        The exact figure. [£ or fraction]
    text : str
        As written in the sentence (``£4.1m``, ``94%``).
    """

    measure: str
    value: float
    text: str


@dataclass(frozen=True)
class Headline:
    """One partner's exposure in a sentence (or the pool's, ``partner == 'pool'``).

    Attributes
    ----------
    partner : str
        Partner id, or ``'pool'``.
    label : str
        Display name.
    parts : tuple of str and Quoted
        The sentence in pieces: plain text and quoted figures, in order.
    """

    partner: str
    label: str
    parts: tuple[str | Quoted, ...]

    @property
    def text(self) -> str:
        """The sentence as plain text."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def figures(self) -> dict[str, Quoted]:
        """The quoted figures by measure."""
        return {p.measure: p for p in self.parts if isinstance(p, Quoted)}


def period_words(n_years: int) -> str:
    """``the five years`` / ``the year``: the span every whole-agreement figure covers."""
    return "the year" if n_years == 1 else f"the {count_words(n_years)} years"


def _contributions(model: Model) -> dict[str, float]:
    sched = model.contribution_schedule()
    out = {p: float(sched[:, i].sum()) for i, p in enumerate(model.partner_ids)}
    out["pool"] = float(sched.sum())
    return out


def expected_contributions(result: Result) -> dict[str, float] | None:
    """Contributions re-set each year: each partner's expected total over the agreement. [£]

    ``{partner: mean contributions paid, summed over the years}`` with
    ``pool`` (nominal, as the planned ones the headline quotes otherwise),
    from :meth:`riskshare.Result.contribution_paths`; ``None`` when the
    contributions are fixed, so the planned schedule is what each pays.
    """
    if result.outcomes.contribution_paths is None:
        return None
    mean = result.contribution_paths("nominal")["mean"]
    return {str(k): float(v) for k, v in mean.groupby(level="partner").sum().items()}


def _headline(
    prec: Precision,
    pid: str,
    label: str,
    row: Mapping[str, float],
    contributed: float,
    appetite: float | None,
    n_years: int,
    expected: bool = False,
) -> Headline:
    pool = pid == "pool"
    it, its = ("they", "their") if pool else ("it", "its")
    period = period_words(n_years)
    mean, p95 = float(row["mean"]), float(row["p95"])
    se = float(row.get("mean_se", 0.0))

    def estimate(x: float) -> str:
        # No more digits than the key table shows: rounded to its step first.
        return money_short(round(x / prec.step) * prec.step)

    q_contrib = Quoted("contributions", contributed, money_short(contributed))
    of = " of expected contributions" if expected else " of contributions"
    q_mean = Quoted("mean", mean, estimate(abs(mean)))
    who = "Together, the partners" if pool else label
    parts: list[str | Quoted] = []
    if abs(mean) <= 2 * se or q_mean.text == "£0":
        q_mean = Quoted("mean", mean, estimate(mean))
        parts += [
            who,
            f" should expect to break about even on {its} ",
            q_contrib,
            f"{of} over {period} (expected net position ",
            q_mean,
            ")",
        ]
    elif mean > 0:
        parts += [
            who,
            " should expect to pay about ",
            q_mean,
            f" on top of {its} ",
            q_contrib,
            f"{of} over {period}",
        ]
    else:
        parts += [
            who,
            " should expect to get back about ",
            q_mean,
            f" of {its} ",
            q_contrib,
            f"{of} over {period}",
        ]
    if p95 > 0:
        parts += [
            f"; 1 time in 20 {period} cost {'them' if pool else 'it'} more than ",
            Quoted("p95", p95, estimate(p95)),
        ]
    else:
        parts += [
            f"; 19 times in 20 {it} get{'' if pool else 's'} back at least ",
            Quoted("p95", p95, estimate(-p95)),
            f" over {period}",
        ]
    prob = row.get("prob_exceeds", math.nan)
    if appetite is not None and not math.isnan(prob):
        parts += [
            "; there is a ",
            Quoted("prob_exceeds", float(prob), chance(prob, prec.percent_digits)),
            f" chance that {it} pay{'' if pool else 's'} more than {its} ",
            Quoted("appetite", float(appetite), money_short(appetite)),
            " risk appetite",
        ]
    parts.append(".")
    return Headline(pid, label, tuple(parts))


def headlines(
    summary: pd.DataFrame,
    model: Model,
    *,
    pool: bool = True,
    contributions: Mapping[str, float] | None = None,
) -> list[Headline]:
    """Each partner's exposure over the whole agreement in one plain-English sentence.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`riskshare.Result.summary` (index ``partner``, with ``pool``).
    model : Model
        The model simulated: display names, contributions, appetites, years.
    pool : bool
        Add a sentence for all partners together.
    contributions : mapping, optional
        Contributions re-set each year: each partner's (and ``pool``'s)
        expected total, :func:`expected_contributions`, quoted as expected;
        by default the planned schedule. [£]

    Returns
    -------
    list of Headline
        One per partner, in the config's order, then the pool's.

    Notes
    -----
    "Should expect to pay about X" is the mean net position; "1 time in 20 the
    five years cost it more than Y" is its P95 (one simulated agreement in 20, all years
    together); the chance above appetite is ``prob_exceeds``. A mean within
    two standard errors of zero is reported as breaking about even.
    """
    labels = partner_labels(model)
    contributed = _contributions(model) if contributions is None else contributions
    ids = _subjects(summary, model, pool)
    prec = precision_of(summary.loc[ids])
    return [
        _headline(
            prec,
            pid,
            labels[pid],
            summary.loc[pid],
            contributed[pid],
            model.appetite.get(pid),
            model.simulation.years,
            expected=contributions is not None,
        )
        for pid in ids
    ]


# --------------------------------------------------------------------------- key table


@dataclass(frozen=True)
class KeyColumn:
    """A column of the key table.

    Attributes
    ----------
    measure : str
        A summary column, or ``contributions`` / ``appetite``.
    heading : str
        Short heading (the table fits a 1280 px screen and an A4 page).
    kind : str
        ``money`` or ``chance``.
    term : str
        Glossary entry explaining it (an anchor of the report's glossary).
    """

    measure: str
    heading: str
    kind: str
    term: str


#: The key table's columns, left to right.
KEY_COLUMNS: tuple[KeyColumn, ...] = (
    KeyColumn("contributions", "Contributions", "money", "contribution"),
    KeyColumn("mean", "Expected (mean)", "money", "mean"),
    KeyColumn("p95", "1 in 20 (P95)", "money", "p95"),
    KeyColumn("tvar95", "Worst 1 in 20, average (TVaR95)", "money", "tvar95"),
    KeyColumn("prob_call_any_year", "Chance of a cash call (any year)", "chance", "prob-call"),
    KeyColumn("appetite", "Risk appetite", "money", "appetite"),
    KeyColumn("prob_exceeds", "Chance above appetite", "chance", "prob-exceeds"),
)


@dataclass(frozen=True)
class KeyCell:
    """One cell: exact value and its rounded text."""

    partner: str
    measure: str
    value: float
    text: str


@dataclass(frozen=True)
class KeyTable:
    """The compact key table: one row per partner and the pool.

    Attributes
    ----------
    columns : tuple of KeyColumn
    rows : list of (partner id, label, list of KeyCell)
    step : float
        Money is rounded to this many pounds (a power of ten near the Monte
        Carlo standard error). [£]
    percent_digits : int
        Decimals of the chances.
    precision : str
        The Monte Carlo error, stated once, in a sentence.
    """

    columns: tuple[KeyColumn, ...]
    rows: list[tuple[str, str, list[KeyCell]]]
    step: float
    percent_digits: int
    precision: str

    def headings(self) -> list[str]:
        """``Partner`` then each column's heading."""
        return ["Partner", *(c.heading for c in self.columns)]

    def text_rows(self) -> list[list[str]]:
        """Headings, then each row's label and cell texts (for a terminal or a sheet)."""
        return [
            self.headings(),
            *([label, *(c.text for c in cells)] for _, label, cells in self.rows),
        ]


@dataclass(frozen=True)
class Precision:
    """How precisely a summary's figures are known, and so how they are rounded.

    Attributes
    ----------
    step : float
        Money is rounded to this many pounds: the power of ten at or below the
        largest standard error among the means and P95s (a P95's taken as its
        95 % interval's half-width / 1.96). [£]
    percent_digits : int
        Decimals of chances: 1 when their standard errors are under 0.05 points, else 0.
    mean_se, p95_half_width : float
        The largest standard error of a mean and half-width of a P95's 95 %
        interval (NaN if unknown). [£]
    prob_se : float
        The largest standard error of a chance. [fraction]
    """

    step: float
    percent_digits: int
    mean_se: float
    p95_half_width: float
    prob_se: float


def precision_of(rows: pd.DataFrame) -> Precision:
    """The :class:`Precision` of the summary ``rows`` shown together (a table, a headline)."""
    mean_se = _finite_max([float(v) for v in rows["mean_se"]])
    p95_half = _finite_max(
        [
            (float(hi) - float(lo)) / 2
            for lo, hi in zip(rows.get("p95_lo", []), rows.get("p95_hi", []), strict=True)
        ]
    )
    step = rounding_step(_finite_max([mean_se, p95_half / 1.96]))
    prob_se = _finite_max(
        [float(v) for c in ("prob_pays_se", "prob_exceeds_se") if c in rows for v in rows[c]]
    )
    return Precision(step, 1 if prob_se < 0.0005 else 0, mean_se, p95_half, prob_se)


def _subjects(summary: pd.DataFrame, model: Model, pool: bool) -> list[str]:
    ids = [p for p in model.partner_ids if p in summary.index]
    if pool and "pool" in summary.index:
        ids.append("pool")
    return ids


def _finite_max(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v) and math.isfinite(v)]
    return max(vals) if vals else math.nan


def key_table(
    summary: pd.DataFrame,
    model: Model,
    *,
    pool: bool = True,
    contributions: Mapping[str, float] | None = None,
) -> KeyTable:
    """The key figures per partner, rounded to match their Monte Carlo error.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`riskshare.Result.summary`.
    model : Model
    pool : bool
        Add the pool's row.
    contributions : mapping, optional
        Expected contributions when they are re-set each year, as
        :func:`headlines`; by default the planned schedule. [£]

    Returns
    -------
    KeyTable
        Money in £ thousands rounded to :func:`~riskshare.report.formats.rounding_step`
        of the largest standard error among the means and P95s shown (a P95's
        standard error taken as its 95 % interval's width / 3.92); chances to
        whole percentages unless their standard errors are under 0.05 points.
    """
    labels = partner_labels(model)
    contributed = _contributions(model) if contributions is None else contributions
    ids = _subjects(summary, model, pool)
    prec = precision_of(summary.loc[ids])
    step, digits = prec.step, prec.percent_digits
    mean_se, p95_half, prob_se = prec.mean_se, prec.p95_half_width, prec.prob_se
    p95_se = p95_half / 1.96
    rows = summary.loc[ids]
    columns = tuple(c for c in KEY_COLUMNS if c.measure != "prob_exceeds" or c.measure in rows)
    if not model.appetite:
        columns = tuple(c for c in columns if c.measure not in ("appetite", "prob_exceeds"))
    out_rows = []
    for pid in ids:
        cells = []
        for col in columns:
            if col.measure == "contributions":
                value = contributed[pid]
            elif col.measure == "appetite":
                value = float(model.appetite.get(pid, math.nan))
            else:
                value = float(summary.loc[pid, col.measure])
            text = money_k(value, step) if col.kind == "money" else chance(value, digits)
            cells.append(KeyCell(pid, col.measure, value, text))
        out_rows.append((pid, labels[pid], cells))
    unit = money_k(step, step).removeprefix("£")
    words = [
        f"Amounts in £ thousands, rounded to £{unit}; chances to "
        + ("0.1 point" if digits else "the nearest 1%")
        + "."
    ]
    if contributions is not None:
        words.append("Contributions are re-set each year: their expected total is shown.")
    if not math.isnan(mean_se):
        words.append(
            f"Monte Carlo standard error: at most {money_short(mean_se)} on an expected amount"
            + (f", {prob_se * 100:.1f} points on a chance" if not math.isnan(prob_se) else "")
        )
        if not math.isnan(p95_se):
            words[-1] += (
                f"; each 1-in-20 figure is within ±{money_short(p95_half)} (95% confidence)"
            )
        words[-1] += "."
    return KeyTable(columns, out_rows, step, digits, " ".join(words))
