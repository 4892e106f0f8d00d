"""Goal seek on a simulated statistic with common random numbers.

"What is the smallest council contribution such that P(the council pays more
than £2m in any year) ≤ 5 %?" Spend is drawn once; every trial value of the
decision variable is settled on the same draws, so the estimated statistic is
a deterministic (step) function of the decision and bisection finds where it
crosses the target.

Target syntax
-------------
``LEFT OP RIGHT`` where ``OP`` is ``<=``, ``>=`` or ``=``; ``LEFT`` is a
statistic ``SUBJECT:STATISTIC[:PARAMETER]`` (subject a partner id or
``pool``; statistics in :data:`riskshare.analysis.comparison.STATISTICS`);
``RIGHT`` is a number (``0.05``, ``5%``, ``2e6``, ``2_000_000``, ``£2m``,
``500k``) or another statistic. Examples::

    council:p_any_year_above:2000000<=0.05     # 1-in-20 chance of a £2m year
    pool:prob_call_any_year<=0.05               # 95 % chance of no cash call
    council:tvar95_per_pound=icb:tvar95_per_pound   # equal exposure per £

Decision variable (``vary``)
----------------------------
* ``contributions.<partner>``: a factor on that partner's contribution
  schedule (default bounds 0.5 to 2);
* ``split.<partner>``: that partner's fraction of the total contributions
  each year, the others sharing the rest in their present proportions
  (default bounds 0.05 to 0.95);
* any numeric config path, e.g. ``agreement.reserve.opening`` or
  ``contributions.council.factor`` (give bounds).

Uncertainty
-----------
The answer is also solved on ``sections`` (default 10) disjoint equal parts of
the simulations; the standard deviation of those answers over
``sqrt(sections)`` is the standard error of the full answer (batch means), and
the interval is the answer ± ``t(0.975, sections - 1)`` standard errors. The
*conservative* answer is the end of that interval on the safe side of the
target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskshare.analysis.comparison import (
    drawn_paths,
    parse_statistic,
    sections,
    settle_outcome,
    statistic,
)
from riskshare.config.model import Model
from riskshare.errors import InputError
from riskshare.run import Outcomes
from riskshare.settle import Terms
from riskshare.streams import resolve_seed

__all__ = [
    "Solution",
    "Target",
    "contributions_at",
    "parse_number",
    "parse_target",
    "solve",
    "vary_point",
]

_OPS = ("<=", ">=", "=")


@dataclass(frozen=True)
class Target:
    """A parsed target ``left op right``.

    Attributes
    ----------
    left : (subject, statistic, parameter)
    op : {"<=", ">=", "="}
    right : float or (subject, statistic, parameter)
    text : str
        The target as written.
    """

    left: tuple[str, str, float | None]
    op: str
    right: float | tuple[str, str, float | None]
    text: str

    def gap(self, outcome: Outcomes) -> float:
        """``left - right`` on an outcome: <= 0 meets a ``<=`` target."""
        lhs = statistic(outcome, *self.left)
        rhs = self.right if isinstance(self.right, float) else statistic(outcome, *self.right)
        return float(lhs - rhs)

    def met(self, gap: float, tol: float = 0.0) -> bool:
        """Whether a gap meets the target (``=`` is met within ``tol``)."""
        if self.op == "<=":
            return gap <= tol
        if self.op == ">=":
            return gap >= -tol
        return abs(gap) <= tol


_SUFFIX = {"k": 1e3, "m": 1e6, "bn": 1e9}


def parse_number(text: str) -> float:
    """Read ``0.05``, ``5%``, ``2e6``, ``2_000_000``, ``2,000,000``, ``£2m``, ``500k``.

    Raises
    ------
    ValueError
        If ``text`` is not such a number.
    """
    s = text.strip().replace("£", "").replace(",", "").replace("_", "").lower()
    scale = 1.0
    if s.endswith("%"):
        s, scale = s[:-1], 0.01
    else:
        for suffix, factor in _SUFFIX.items():
            if s.endswith(suffix) and not s.endswith("e" + suffix):
                s, scale = s[: -len(suffix)], factor
                break
    value = float(s) * scale
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    return value


def parse_target(text: str) -> Target:
    """Parse a target (see the module documentation for the syntax).

    Raises
    ------
    riskshare.errors.InputError
        Naming what is allowed when the target cannot be read.
    """
    m = re.match(r"^\s*(.+?)\s*(<=|>=|==|=)\s*(.+?)\s*$", str(text))
    if not m:
        raise InputError(
            f"target '{text}' is not 'SUBJECT:STATISTIC[:PARAMETER] OP VALUE' with OP one of "
            f"<=, >=, = (e.g. 'council:p_any_year_above:2000000<=0.05')"
        )
    left_text, op, right_text = m.groups()
    op = "=" if op == "==" else op
    left = parse_statistic(left_text)
    right: float | tuple[str, str, float | None]
    try:
        right = parse_number(right_text)
    except ValueError:
        if ":" not in right_text:
            raise InputError(
                f"target '{text}': right-hand side '{right_text}' is neither a number "
                f"(0.05, 5%, 2e6, £2m) nor a statistic SUBJECT:STATISTIC"
            ) from None
        right = parse_statistic(right_text)
    return Target(left=left, op=op, right=right, text=str(text).strip())


# --------------------------------------------------------------------------- decision variable


def vary_point(model: Model, vary: str, x: float) -> tuple[Model, np.ndarray | None]:
    """The model (and contributions array, if any) at decision value ``x``.

    Parameters
    ----------
    model : Model
    vary : str
        ``contributions.<partner>`` (factor on the schedule),
        ``split.<partner>`` (fraction of total contributions) or a numeric
        config path.
    x : float
        The decision value.
    """
    from riskshare.analysis.sweeps import apply_point

    parts = vary.split(".")
    if len(parts) == 2 and parts[0] == "split":
        pid = parts[1]
        if pid not in model.partner_ids:
            raise InputError(
                f"vary {vary}: unknown partner '{pid}' (partners: {', '.join(model.partner_ids)})"
            )
        if not 0 <= x <= 1:
            raise InputError(f"vary {vary}: a split must lie in [0, 1] (got {x})")
        if model.contributions_vary:
            raise InputError(
                f"vary {vary}: some contributions are re-set each year (rebased, outturn), "
                "so there is no fixed total to split; vary a field of a contribution instead"
            )
        c = model.contribution_schedule()
        i = model.partner_ids.index(pid)
        total = c.sum(axis=1)
        others = np.delete(c, i, axis=1)
        osum = others.sum(axis=1, keepdims=True)
        weights = np.where(
            osum > 0, others / np.where(osum > 0, osum, 1.0), 1.0 / max(others.shape[1], 1)
        )
        out = np.empty_like(c)
        out[:, i] = x * total
        out[:, [j for j in range(c.shape[1]) if j != i]] = (1 - x) * total[:, None] * weights
        return model, out
    return apply_point(model, {vary: float(x)})


def contributions_at(model: Model, vary: str, points: Mapping[str, float]) -> pd.DataFrame:
    """What each partner pays in at some decision values, in pounds.

    Parameters
    ----------
    model : Model
    vary : str
        The decision variable (see :func:`vary_point`).
    points : mapping of str to float
        Named decision values, e.g. ``{"answer": 1.09, "low": 1.07}``.

    Returns
    -------
    pandas.DataFrame
        One row per financial year and a last row ``"average"``; columns
        ``(at, partner)`` with ``at`` the names of ``points`` and ``partner``
        each partner id then ``"total"``. [£ a year]

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/section75_example.yaml")
    >>> table = contributions_at(model, "contributions.council", {"answer": 1.0})
    >>> float(table.loc["average", ("answer", "total")]) == float(
    ...     model.contribution_schedule().sum(axis=1).mean())
    True
    """
    first = model.simulation.first_year
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(first, first + model.simulation.years)]
    frames = {}
    for name, x in points.items():
        m, contrib = vary_point(model, vary, x)
        schedule = m.contribution_schedule() if contrib is None else contrib
        frame = pd.DataFrame(schedule, index=years, columns=list(m.partner_ids))
        frame["total"] = frame.sum(axis=1)
        frame.loc["average"] = frame.mean(axis=0)
        frames[name] = frame
    out = pd.concat(frames, axis=1, names=["at", "partner"])
    out.index.name = "year"
    return out


def _default_bounds(vary: str) -> tuple[float, float]:
    parts = vary.split(".")
    if len(parts) == 2 and parts[0] == "contributions":
        return 0.5, 2.0
    if len(parts) == 2 and parts[0] == "split":
        return 0.05, 0.95
    raise InputError(
        f"give bounds (lo, hi) for vary '{vary}' (defaults exist only for "
        "contributions.<partner> and split.<partner>)"
    )


# --------------------------------------------------------------------------- solution


@dataclass(frozen=True)
class Solution:
    """The answer of :func:`solve`.

    Attributes
    ----------
    answer : float
        The decision value found (NaN when unreachable). Units of ``vary``.
    reachable : bool
        Whether the target can be met within the bounds.
    status : str
        A sentence saying what was found.
    se : float
        Monte Carlo standard error of the answer (batch means).
    interval : (float, float)
        95 % interval of the answer.
    conservative : float
        The interval end on the safe side of the target (for ``=``, the answer).
    value, value_se : float
        The target's left-hand statistic at the answer and its standard error.
    target, vary : str
    bounds : (float, float)
    n_sims, seed : int
    section_answers : list of float
        The answers solved on each section (NaN where unreachable there).
    evaluations : int
        Settlements run on the full set of simulations.
    contributions : pandas.DataFrame
        What each partner pays in at the answer, in pounds: one row per year
        (financial-year labels, then ``"average"``), one column per partner
        and ``"total"``; the column level ``at`` is ``answer``, ``low``,
        ``high`` (the 95 % interval's ends) and ``conservative``. Empty when
        the target is unreachable. [£ a year]
    trace : list of (float, float)
        Every decision value settled on the full simulations and the target's
        left-hand statistic there (for the chart).
    """

    answer: float
    reachable: bool
    status: str
    se: float
    interval: tuple[float, float]
    conservative: float
    value: float
    value_se: float
    target: str
    vary: str
    bounds: tuple[float, float]
    goal: str
    n_sims: int
    seed: int
    section_answers: list[float] = field(default_factory=list)
    evaluations: int = 0
    contributions: pd.DataFrame = field(default_factory=pd.DataFrame)
    trace: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        return {
            "target": self.target,
            "vary": self.vary,
            "goal": self.goal,
            "bounds": list(self.bounds),
            "reachable": self.reachable,
            "status": self.status,
            "answer": self.answer,
            "se": self.se,
            "interval": list(self.interval),
            "conservative": self.conservative,
            "value": self.value,
            "value_se": self.value_se,
            "n_sims": self.n_sims,
            "seed": str(self.seed),
            "section_answers": self.section_answers,
            "evaluations": self.evaluations,
            "contributions": {
                at: self.contributions[at].to_dict(orient="index")
                for at in self.contributions.columns.unique("at")
            }
            if not self.contributions.empty
            else {},
            "trace": [list(point) for point in self.trace],
        }


def _seek(
    g: Callable[[float], float], target: Target, lo: float, hi: float, goal: str, xtol: float
) -> tuple[float, str]:
    """Bisection on a monotone (step) function; returns (answer or NaN, status)."""
    if target.op == "=":
        glo, ghi = g(lo), g(hi)
        if glo == 0:
            return lo, "met at the lower bound"
        if ghi == 0:
            return hi, "met at the upper bound"
        if np.sign(glo) == np.sign(ghi):
            return float("nan"), "not reachable within the bounds (same sign at both ends)"
        while hi - lo > xtol:
            mid = 0.5 * (lo + hi)
            gm = g(mid)
            if gm == 0:
                return mid, "solved"
            if np.sign(gm) == np.sign(glo):
                lo, glo = mid, gm
            else:
                hi, ghi = mid, gm
        return (lo if abs(glo) <= abs(ghi) else hi), "solved"
    ok_lo, ok_hi = target.met(g(lo)), target.met(g(hi))
    if goal == "min":
        if ok_lo:
            return lo, "met already at the lower bound"
        if not ok_hi:
            return float("nan"), "not reachable within the bounds (not met at the upper bound)"
        bad, good = lo, hi
    else:
        if ok_hi:
            return hi, "met already at the upper bound"
        if not ok_lo:
            return float("nan"), "not reachable within the bounds (not met at the lower bound)"
        bad, good = hi, lo
    while abs(good - bad) > xtol:
        mid = 0.5 * (good + bad)
        if target.met(g(mid)):
            good = mid
        else:
            bad = mid
    return good, "solved"


def solve(
    model: Model,
    target: str | Target,
    vary: str,
    bounds: tuple[float, float] | None = None,
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    goal: str = "min",
    xtol: float | None = None,
    n_sections: int = 10,
    check: bool = True,
) -> Solution:
    """Find the decision value that meets a target on a simulated statistic.

    Parameters
    ----------
    model : Model
        The scenario.
    target : str or Target
        E.g. ``"council:p_any_year_above:2000000<=0.05"`` (see
        :func:`parse_target`).
    vary : str
        The decision variable: ``contributions.<partner>`` (factor on its
        schedule), ``split.<partner>`` (its fraction of total contributions)
        or a numeric config path such as ``agreement.reserve.opening``.
    bounds : (float, float), optional
        Search interval (defaults for ``contributions.*`` and ``split.*``).
    n_sims, seed : int, optional
        Simulations and seed (default the config's).
    goal : {"min", "max"}
        For ``<=``/``>=`` targets: the smallest or the largest value in the
        bounds that meets the target (the statistic is assumed monotone in
        the decision). Ignored for ``=``.
    xtol : float, optional
        Bisection stops when the bracket is narrower (default 1e-4 of the
        bounds' width).
    n_sections : int
        Disjoint sections the answer is re-solved on for its standard error.
    check : bool
        Check every settled year balances.

    Returns
    -------
    Solution

    Examples
    --------
    >>> import riskshare as rs
    >>> from riskshare.analysis import solve
    >>> model = rs.load_config("configs/section75_example.yaml")
    >>> sol = solve(model, "pool:prob_call_any_year<=0.5", "agreement.reserve.opening",
    ...             bounds=(0, 2e7), n_sims=2000, seed=3)
    >>> sol.reachable
    True
    """
    t = target if isinstance(target, Target) else parse_target(target)
    if goal not in ("min", "max"):
        raise InputError(f"goal must be 'min' or 'max', not '{goal}'")
    lo, hi = _default_bounds(vary) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise InputError(f"bounds must be finite with lo < hi (got {lo}, {hi})")
    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    if n_sims < 1:
        raise InputError(f"n_sims must be >= 1, got {n_sims}")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    xtol = (hi - lo) * 1e-4 if xtol is None else float(xtol)
    # Fail early on a bad variable or statistic.
    for x in (lo, hi):
        vary_point(model, vary, x)

    trace: list[tuple[float, float]] = []

    def outcome_at(x: float, sl: slice | None = None) -> Outcomes:
        m, contrib = vary_point(model, vary, x)
        paths = drawn_paths(m, n_sims, seed)
        if sl is not None:
            paths = paths.take(sl)
        terms = Terms.from_model(m, contributions=contrib)
        outcome = settle_outcome(terms, paths, appetite=m.appetite, check=check)
        if sl is None:
            trace.append((float(x), float(statistic(outcome, *t.left))))
        return outcome

    answer, status = _seek(lambda x: t.gap(outcome_at(x)), t, lo, hi, goal, xtol)
    reachable = math.isfinite(answer)

    section_answers: list[float] = []
    secs = sections(n_sims, n_sections) if n_sections >= 2 else []
    if reachable:
        for s in secs:
            a, _ = _seek(lambda x, s=s: t.gap(outcome_at(x, s)), t, lo, hi, goal, xtol)
            section_answers.append(float(a))
    finite = np.array([a for a in section_answers if math.isfinite(a)])
    if reachable and finite.size >= 2:
        from scipy import stats as sps

        se = float(finite.std(ddof=1) / math.sqrt(finite.size))
        half = float(sps.t.ppf(0.975, finite.size - 1)) * se
        interval = (answer - half, answer + half)
    else:
        se = float("nan")
        interval = (float("nan"), float("nan"))
    if not reachable or t.op == "=" or not math.isfinite(se):
        conservative = answer
    else:
        # The safe side: where the target is met, away from the boundary.
        conservative = interval[1] if goal == "min" else interval[0]
        conservative = min(max(conservative, lo), hi)
    contributions = pd.DataFrame()
    if reachable:
        at = outcome_at(answer)
        value = statistic(at, *t.left)
        value_se = _stat_se(at, t.left)
        points = {"answer": answer, "conservative": conservative}
        if math.isfinite(se):
            points |= {"low": min(max(interval[0], lo), hi), "high": min(max(interval[1], lo), hi)}
        contributions = contributions_at(model, vary, points)
        if len(section_answers) and len(finite) < len(section_answers):
            missed = len(section_answers) - len(finite)
            status += f" (unreachable on {missed} of {len(section_answers)} sections)"
    else:
        value = value_se = float("nan")
    return Solution(
        answer=float(answer),
        reachable=reachable,
        status=status,
        se=se,
        interval=interval,
        conservative=float(conservative),
        value=float(value),
        value_se=float(value_se),
        target=t.text,
        vary=vary,
        bounds=(lo, hi),
        goal=goal,
        n_sims=n_sims,
        seed=seed,
        section_answers=section_answers,
        evaluations=len(trace),
        contributions=contributions,
        trace=sorted(set(trace)),
    )


def _stat_se(outcome: Outcomes, stat: tuple[str, str, float | None]) -> float:
    """Standard error of a statistic on an outcome (sectioned batch means)."""
    from riskshare.analysis.comparison import sectioned_se

    return sectioned_se([statistic(outcome.take(s), *stat) for s in sections(outcome.n_sims)])
