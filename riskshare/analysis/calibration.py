"""Calibrate client-group assumptions from a history of spend.

:func:`fit` reads a table of past years (CSV or an Excel sheet) with one row
per client group and year::

    year,group,spend,clients,unit_cost
    2018/19,learning_disability,8123456,341,23822.5
    ...

* ``year``: a financial year (``2019``, ``"2019/20"`` or ``"2019-20"``: the
  calendar year it starts);
* ``group``: the client-group id (as in the config);
* ``spend``: the year's gross spend [£];
* ``clients`` (optional): number of clients that year [clients];
* ``unit_cost`` (optional): mean annual cost of a client [£]; derived as
  ``spend / clients`` when left out (and ``clients`` as ``spend /
  unit_cost`` when only it is given).

A monthly table has a ``month`` column (``2019-04``) instead of ``year``: the
months are summed into financial years, April to March (spend summed,
clients the average monthly caseload); part years at either end are left
out with a :class:`PartialYearWarning`.

and estimates, group by group:

* **demand growth**: the slope of an ordinary least-squares (OLS) line
  through ``log(clients)`` against the year, ``growth = exp(slope) - 1``;
* **cost inflation**: the same for ``log(unit_cost)``;
* **volatility**: the residual standard deviation ``s`` of ``log(spend)``
  (or of ``log(unit_cost)``) around its trend, reported as the CV
  ``sqrt(exp(s**2) - 1)``;
* **count dispersion**: Poisson against negative binomial client counts (both
  with a log-linear mean fitted by Poisson maximum likelihood), chosen by AIC
  (lower wins; the negative binomial pays one extra parameter), with the
  negative binomial's size ``r`` by profile likelihood at those means;
* **cost per client**: lognormal (assumed; the model's default) with the CV
  that reproduces the observed year-to-year volatility of the unit cost,
  ``cv = CV(unit cost) * sqrt(mean clients)`` (the CV of a mean of N
  independent costs is ``cv / sqrt(N)``). This folds price shocks that hit
  every client into the per-client spread, so it slightly overstates it:
  the variance the model reproduces is the observed one. With per-client
  cost records (``client_costs=``) lognormal and gamma are fitted by maximum
  likelihood and chosen by AIC instead;
* **correlation** between groups: the Pearson correlation of their
  detrended ``log(spend)`` residuals over the common years;
* **performance metrics** (``metrics=``, :func:`read_metrics`): each
  metric's sample mean and sd, and its correlation with each group's
  residuals for ``correlation.metrics`` (divided by ``sqrt(1 - phi**2)`` for
  a group with persistence phi; :func:`_metric_correlation`);
* **persistence** φ of the year-to-year deviations (AR(1), see
  ``docs/sampling.md`` §13): :func:`fit_persistence` on the detrended
  ``log(spend)`` residuals, median-unbiased with a 95 % interval (Andrews
  1993, by simulation). Written as ``persistence`` for an aggregate group;
  for a clients group (whose model draws its years independently) reported
  in the comments and the estimates only.

Short histories are the norm, so each trend is carried into the model as
**parameter uncertainty**: ``growth`` and ``inflation`` are written as
``{mean, sd}`` (:class:`~riskshare.config.model.Uncertain`, drawn once per
simulation) where ``sd`` is the standard deviation of the Student-t sampling
distribution of the estimate, ``se * sqrt(nu / (nu - 2))`` with ``nu = n -
2`` degrees of freedom (for ``nu <= 2``, the se scaled so that the normal's
95 % interval is as wide as the t's), mapped to the rate scale by the delta
method (``sd_rate = exp(slope) * sd_slope``).

The year-0 level (``mean`` of clients, cost or spend) is the trend projected
to the first agreement year (mean, not median: ``exp(fit + s**2 / 2)``). Its
standard error is reported in a comment but not carried (the config has no
uncertain level).

The output (:meth:`FitResult.to_yaml`) is a config *fragment*: a
``client_groups:`` list and, with two or more groups, a ``correlation:``
block, with comments stating each estimate's goodness of fit.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from riskshare.config.load import (
    MAX_DATA_BYTES,
    check_workbook,
    load_config,
    read_text,
    validate_data,
)
from riskshare.config.model import Model
from riskshare.errors import InputError, RiskshareWarning

__all__ = [
    "FitResult",
    "GroupFit",
    "MetricFit",
    "PartialYearWarning",
    "PersistenceFit",
    "ShortHistoryWarning",
    "fit",
    "fit_persistence",
    "fragment_data",
    "read_history",
    "read_metrics",
]

#: Columns a history file may have.
REQUIRED_COLUMNS = ("year", "group", "spend")
OPTIONAL_COLUMNS = ("clients", "unit_cost")
#: Columns a history of performance metrics has.
METRIC_COLUMNS = ("year", "metric", "value")
#: Largest magnitude of a metric value (as PerformanceMetric.mean).
MAX_METRIC_VALUE = 1e9
#: Series shorter than this are refused; shorter than WARN_YEARS get a warning.
MIN_YEARS = 3
WARN_YEARS = 5
#: Largest rate sd the config accepts (Uncertain.sd <= 1).
MAX_SD = 1.0


class ShortHistoryWarning(RiskshareWarning):
    """A history series is short (3 or 4 years): estimates are very uncertain."""


class PartialYearWarning(RiskshareWarning):
    """A monthly history starts or ends part-way through a financial year; that year is left out."""


#: The first month of the (English public-sector) financial year.
FIRST_MONTH = 4
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-\d{1,2})?(?:[ T].*)?\s*$")


# ----------------------------------------------------------------------------- reading


_YEAR = re.compile(r"^\s*(\d{4})(?:\s*[/\-]\s*(\d{2}|\d{4}))?\s*$")


def _parse_year(text: str) -> int | None:
    m = _YEAR.match(text)
    if not m:
        try:
            value = float(text)
        except ValueError:
            return None
        return int(value) if value.is_integer() and 1900 <= value <= 2200 else None
    start = int(m.group(1))
    if m.group(2):
        end = m.group(2)
        if (int(end) % 100) != (start + 1) % 100:
            return None
    return start


def _parse_number(text: str) -> float | None:
    """A money or count cell: ``1,234.5``, ``£1234``; ``None`` if not a number; NaN if blank."""
    t = text.strip().replace(",", "").replace("£", "").replace(" ", "")
    if t == "" or t.lower() in ("nan", "na", "n/a"):
        return math.nan
    try:
        value = float(t)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


#: An id in a history (group, metric) or a commissioner: as the config's ``Identifier``.
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _year_and_id(
    rec: Mapping[str, Any], column: str, where: str, problems: list[str]
) -> tuple[int | None, str]:
    """A history row's year and its ``column`` id; what is wrong with them goes to ``problems``.

    ``where`` names the file and row (``"history.csv: row 3"``).
    """
    year = _parse_year(str(rec["year"]))
    if year is None:
        problems.append(
            f"{where}, column 'year': '{rec['year']}' is not a year (e.g. 2019 or 2019/20)"
        )
    ident = str(rec[column]).strip()
    if not _ID.match(ident):
        problems.append(
            f"{where}, column '{column}': '{ident}' is not a {column} id "
            "(letters, digits, '_' or '-', starting with a letter)"
        )
    return year, ident


def _cell(v: Any) -> str:
    """A cell as text; blank for None, NaN and pandas.NA."""
    try:
        if v is None or pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


#: Furthest beyond the history's last year that levels are projected. [years]
MAX_PROJECTION_YEARS = 20


def _check_partner_id(pid: Any) -> Any:
    """A commissioner written into the generated YAML must be a partner id (or shares)."""
    if isinstance(pid, Mapping):
        for k in pid:
            _check_partner_id(k)
        return pid
    if not isinstance(pid, str) or not _ID.match(pid):
        raise InputError(
            f"commissioner {pid!r}: not a partner id (letters, digits, '_' or '-', "
            "starting with a letter or '_')"
        )
    return pid


#: Largest value a history cell may hold (spend, clients or unit cost).
MAX_HISTORY_VALUE = 1e12


def _cell_problem(col: str, value: float | None, text: str) -> str | None:
    """What is wrong with one number of a history, or None."""
    if value is None:
        return f"'{text}' is not a number"
    if col == "spend" and math.isnan(value):
        return "missing value"
    if not math.isnan(value) and not 0 < value <= MAX_HISTORY_VALUE:
        return f"must be > 0 and at most {MAX_HISTORY_VALUE:.0e} (got {text})"
    return None


def _raw_table(
    source: str | Path | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.astype(object).map(_cell), "<frame>"
    path = Path(source)
    name = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            check_workbook(path, what="history", limit=MAX_DATA_BYTES)
            raw = pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet, dtype=object, header=0
            )
            raw = raw.map(_cell)
        elif suffix in (".csv", ".txt", ""):
            text = read_text(path, what="history", limit=MAX_DATA_BYTES)
            raw = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
            )
        else:
            raise InputError(f"{name}: unknown file type '{suffix}' (allowed: .csv, .xlsx, .xlsm)")
    except InputError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{name}: cannot read the history ({' '.join(str(exc).split())})"
        ) from None
    return raw, name


def read_history(
    source: str | Path | pd.DataFrame, *, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read and check a history table.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A ``.csv`` or ``.xlsx`` file, or a frame with the same columns.
    sheet : str or int, optional
        Excel sheet (default: the first).

    Returns
    -------
    pandas.DataFrame
        Columns ``year`` (int, the calendar year the financial year starts),
        ``group``, ``spend`` [£], ``clients`` [clients] and ``unit_cost`` [£]
        (NaN for a group without client data) and ``row`` (the 1-based
        spreadsheet row, header = row 1), sorted by group and year.

    Raises
    ------
    riskshare.errors.InputError
        Naming the file, the row and the column of every problem found:
        unknown or missing columns, non-numeric cells, zero or negative
        values, repeated or missing years, series shorter than 3 years.
    """
    raw, name = _raw_table(source, sheet)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    problems: list[str] = []
    monthly = "month" in raw.columns and "year" not in raw.columns
    allowed = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "month")
    for col in raw.columns:
        if col not in allowed:
            problems.append(
                f"{name}: row 1, column '{col}': unknown column (allowed: {', '.join(allowed)})"
            )
    for col in REQUIRED_COLUMNS:
        if col not in raw.columns and not (col == "year" and monthly):
            hint = " (or 'month' for monthly figures)" if col == "year" else ""
            problems.append(f"{name}: row 1: missing column '{col}'{hint}")
    if "month" in raw.columns and "year" in raw.columns:
        problems.append(f"{name}: row 1: give 'year' (years) or 'month' (months), not both")
    if problems:
        raise InputError("\n".join(problems))
    if raw.empty:
        raise InputError(f"{name}: the history has no rows")
    if monthly:
        raw = _months_to_years(raw, name)

    records = []
    for i, rec in enumerate(raw.to_dict("records")):
        row = int(rec.pop("row")) if "row" in rec else i + 2
        if all(str(v).strip() == "" for v in rec.values()):
            continue  # blank line
        year, group = _year_and_id(rec, "group", f"{name}: row {row}", problems)
        out: dict[str, Any] = {"row": row, "year": year, "group": group}
        for col in ("spend", *OPTIONAL_COLUMNS):
            text = str(rec.get(col, "")).strip()
            value = _parse_number(text)
            problem = _cell_problem(col, value, text)
            if problem:
                problems.append(f"{name}: row {row}, column '{col}': {problem}")
                value = math.nan
            out[col] = value
        records.append(out)
    if problems:
        raise InputError("\n".join(problems))
    frame = pd.DataFrame.from_records(records)
    # Groups in the order they first appear in the file, years ascending.
    order = {gid: k for k, gid in enumerate(dict.fromkeys(frame["group"]))}
    frame["_order"] = frame["group"].map(order)
    frame = frame.sort_values(["_order", "year"], kind="stable").reset_index(drop=True)

    for gid, g in frame.groupby("group", sort=False):
        dup = g[g["year"].duplicated(keep="first")]
        for _, r in dup.iterrows():
            problems.append(
                f"{name}: row {r['row']}, column 'year': group '{gid}' has year {r['year']} twice"
            )
        years = g["year"].drop_duplicates().to_numpy()
        for prev, (_, r) in zip(
            years[:-1], g.drop_duplicates("year").iloc[1:].iterrows(), strict=True
        ):
            if r["year"] != prev + 1:
                missing = ", ".join(_fy(y) for y in range(prev + 1, r["year"]))
                problems.append(
                    f"{name}: row {r['row']}, column 'year': group '{gid}' has no "
                    f"row for {missing} (years must be consecutive)"
                )
        if len(years) < MIN_YEARS:
            problems.append(
                f"{name}: row {g['row'].iloc[0]}, column 'group': group '{gid}' has "
                f"{len(years)} year(s); at least {MIN_YEARS} are needed to fit a trend"
            )
        for col in OPTIONAL_COLUMNS:
            have = g[col].notna()
            if have.any() and not have.all():
                r = g.loc[~have, "row"].iloc[0]
                problems.append(
                    f"{name}: row {r}, column '{col}': missing value (give '{col}' "
                    f"in every year of group '{gid}' or in none)"
                )
    if problems:
        raise InputError("\n".join(problems))

    # Derive the missing one of clients / unit_cost.
    has_c, has_u = frame["clients"].notna(), frame["unit_cost"].notna()
    frame.loc[has_c & ~has_u, "unit_cost"] = frame["spend"] / frame["clients"]
    frame.loc[has_u & ~has_c, "clients"] = frame["spend"] / frame["unit_cost"]
    return frame[["group", "year", "spend", "clients", "unit_cost", "row"]]


def read_metrics(
    source: str | Path | pd.DataFrame, *, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read and check a history of performance metrics: columns ``year, metric, value``.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A ``.csv`` or ``.xlsx`` file, or a frame with the same columns; one
        row per metric and year, e.g. ``2019/20,nea_reduction,-0.021``.
    sheet : str or int, optional
        Excel sheet (default: the first).

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``year`` (the calendar year the financial year
        starts), ``value`` (in the metric's units; any sign) and ``row``,
        sorted by metric and year.

    Raises
    ------
    riskshare.errors.InputError
        Naming the file, the row and the column of every problem: unknown or
        missing columns, a year or value that is not one, a metric id that is
        not an id, a year given twice, fewer than 3 years of a metric.
    """
    raw, name = _raw_table(source, sheet)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    problems = [
        f"{name}: row 1, column '{col}': unknown column (allowed: {', '.join(METRIC_COLUMNS)})"
        for col in raw.columns
        if col not in METRIC_COLUMNS
    ]
    problems += [
        f"{name}: row 1: missing column '{col}'" for col in METRIC_COLUMNS if col not in raw
    ]
    if problems:
        raise InputError("\n".join(problems))
    records = []
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2
        if all(str(v).strip() == "" for v in rec.values()):
            continue
        year, metric = _year_and_id(rec, "metric", f"{name}: row {row}", problems)
        text = str(rec["value"]).strip()
        value = _parse_number(text)
        if value is None or math.isnan(value) or abs(value) > MAX_METRIC_VALUE:
            problems.append(
                f"{name}: row {row}, column 'value': '{text}' is not a number from "
                f"-{MAX_METRIC_VALUE:.0e} to {MAX_METRIC_VALUE:.0e}"
            )
        records.append({"row": row, "year": year, "metric": metric, "value": value})
    if not records:
        raise InputError(f"{name}: the metrics history has no rows")
    if problems:
        raise InputError("\n".join(problems))
    frame = pd.DataFrame.from_records(records)
    order = {m: k for k, m in enumerate(dict.fromkeys(frame["metric"]))}
    frame["_order"] = frame["metric"].map(order)
    frame = frame.sort_values(["_order", "year"], kind="stable").reset_index(drop=True)
    for mid, g in frame.groupby("metric", sort=False):
        for _, r in g[g["year"].duplicated(keep="first")].iterrows():
            problems.append(
                f"{name}: row {r['row']}, column 'year': metric '{mid}' has year {r['year']} twice"
            )
        n = g["year"].nunique()
        if n < MIN_YEARS:
            problems.append(
                f"{name}: row {g['row'].iloc[0]}, column 'metric': metric '{mid}' has {n} "
                f"year(s); at least {MIN_YEARS} are needed"
            )
    if problems:
        raise InputError("\n".join(problems))
    return frame[["metric", "year", "value", "row"]]


def _months_to_years(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """Monthly rows summed into financial years (April to March).

    Spend is summed over the twelve months; clients are the average monthly
    caseload (the number on the books in a typical month), so the annual
    unit cost is the year's spend per client on that caseload. A first or
    last financial year with missing months is left out with a
    :class:`PartialYearWarning`; a month missing in between is an error.
    """
    import pandas as pd

    problems: list[str] = []
    rows = []
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2
        if all(str(v).strip() == "" for v in rec.values()):
            continue
        text = str(rec["month"]).strip()
        m = _MONTH.match(text)
        month = int(m.group(2)) if m else 0
        if not m or not 1 <= month <= 12:
            problems.append(
                f"{name}: row {row}, column 'month': '{text}' is not a month (e.g. 2019-04)"
            )
            continue
        year = int(m.group(1))
        values = {}
        for col in ("spend", *OPTIONAL_COLUMNS):
            cell = str(rec.get(col, "")).strip()
            value = _parse_number(cell)
            problem = _cell_problem(col, value, cell)
            if problem:
                problems.append(f"{name}: row {row}, column '{col}': {problem}")
            values[col] = math.nan if value is None or problem else value
        rows.append(
            {
                "row": row,
                "group": str(rec["group"]).strip(),
                "fy": year if month >= FIRST_MONTH else year - 1,
                "month": (year, month),
                **values,
            }
        )
    if problems:
        raise InputError("\n".join(problems))
    frame = pd.DataFrame.from_records(rows)
    out = []
    for gid, g in frame.groupby("group", sort=False):
        dup = g[g["month"].duplicated(keep="first")]
        for _, r in dup.iterrows():
            y, mo = r["month"]
            problems.append(
                f"{name}: row {r['row']}, column 'month': group '{gid}' has {y}-{mo:02d} twice"
            )
        years = sorted(set(g["fy"]))
        for fy in years:
            year_rows = g[g["fy"] == fy].drop_duplicates("month")
            if len(year_rows) < 12:
                if fy in (years[0], years[-1]):
                    warnings.warn(
                        f"{name}: group '{gid}' has {len(year_rows)} of 12 months of "
                        f"{_fy(fy)}; that part year is left out of the fit",
                        PartialYearWarning,
                        stacklevel=3,
                    )
                    continue
                have = set(year_rows["month"])
                missing = [
                    f"{y}-{mo:02d}"
                    for mo in range(1, 13)
                    for y in [fy if mo >= FIRST_MONTH else fy + 1]
                    if (y, mo) not in have
                ]
                problems.append(
                    f"{name}: row {int(year_rows['row'].iloc[0])}, column 'month': group "
                    f"'{gid}' has no row for {', '.join(missing)} (months must be consecutive)"
                )
                continue
            clients = year_rows["clients"]
            if clients.isna().all() and year_rows["unit_cost"].notna().all():
                clients = year_rows["spend"] / year_rows["unit_cost"]
            out.append(
                {
                    "row": int(year_rows["row"].iloc[0]),
                    "year": str(fy),
                    "group": gid,
                    "spend": repr(float(year_rows["spend"].sum())),
                    "clients": "" if clients.isna().any() else repr(float(clients.mean())),
                    "unit_cost": "",
                }
            )
    if problems:
        raise InputError("\n".join(problems))
    if not out:
        raise InputError(f"{name}: no complete financial year (April to March) in the history")
    return pd.DataFrame.from_records(out)


def _fy(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


# ----------------------------------------------------------------------------- estimators


@dataclass(frozen=True)
class Trend:
    """OLS fit of ``log(y) = a + b * (year - year0)``.

    Attributes
    ----------
    rate : float
        ``exp(b) - 1``. [per year]
    rate_sd : float
        Standard deviation of the rate's sampling distribution (t-based, delta
        method). [per year]
    slope, slope_se : float
        ``b`` and its OLS standard error.
    resid_sd : float
        Residual standard deviation ``s`` of ``log(y)`` (``n - 2`` degrees of freedom).
    r2 : float
        Coefficient of determination of the log-linear fit.
    shapiro_p : float
        Shapiro–Wilk p-value of the residuals (normality of ``log(y)``; NaN for n < 3).
    n : int
        Number of years.
    """

    a: float
    b: float
    year0: int
    slope_se: float
    rate: float
    rate_sd: float
    resid_sd: float
    r2: float
    shapiro_p: float
    n: int
    residuals: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)

    @property
    def cv(self) -> float:
        """Residual CV around the trend (lognormal): ``sqrt(exp(s**2) - 1)``. [fraction]"""
        return math.sqrt(math.expm1(self.resid_sd**2))

    def level(self, year: int) -> tuple[float, float]:
        """Trend mean at ``year`` and the relative standard error of the fitted log level."""
        x = np.array([1.0, year - self.year0])
        log_median = self.a + self.b * (year - self.year0)
        se = float(np.sqrt(x @ self.cov @ x))
        return math.exp(log_median + 0.5 * self.resid_sd**2), se


def _t_sd_factor(df: int) -> float:
    """Factor turning a standard error into the sd of the t sampling distribution."""
    if df > 2:
        return math.sqrt(df / (df - 2))
    return float(stats.t.ppf(0.975, df) / stats.norm.ppf(0.975))


def log_trend(years: Sequence[int], y: Sequence[float]) -> Trend:
    """Fit a log-linear trend by OLS; see :class:`Trend`.

    Parameters
    ----------
    years : sequence of int
        Calendar years (consecutive or not).
    y : sequence of float
        Positive values (spend [£], clients or unit costs [£]).
    """
    yrs = np.asarray(years, dtype=float)
    ly = np.log(np.asarray(y, dtype=float))
    n = len(ly)
    year0 = int(yrs[0])
    x = yrs - year0
    X = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ coef
    df = n - 2
    s2 = float(resid @ resid / df) if df > 0 else 0.0
    cov = s2 * np.linalg.inv(X.T @ X)
    se = math.sqrt(cov[1, 1])
    b = float(coef[1])
    sd_b = se * _t_sd_factor(df) if df > 0 else math.inf
    tss = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else 1.0
    shapiro = float(stats.shapiro(resid).pvalue) if n >= 3 and np.ptp(resid) > 0 else math.nan
    return Trend(
        a=float(coef[0]),
        b=b,
        year0=year0,
        slope_se=se,
        rate=math.expm1(b),
        rate_sd=math.exp(b) * sd_b,
        resid_sd=math.sqrt(s2),
        r2=r2,
        shapiro_p=shapiro,
        n=n,
        residuals=resid,
        cov=cov,
    )


@dataclass(frozen=True)
class CountFit:
    """Poisson against negative binomial client counts, each with a log-linear mean.

    Attributes
    ----------
    aic_poisson, aic_nb : float
        Akaike information criteria (2 and 3 parameters).
    distribution : str
        ``'poisson'`` or ``'negative_binomial'`` (the lower AIC).
    dispersion : float or None
        Negative binomial size ``r`` (variance = mean + mean²/r) when chosen.
    dispersion_index : float
        Pearson chi-square / (n - 2) around the Poisson fit (1 = Poisson).
    """

    aic_poisson: float
    aic_nb: float
    distribution: str
    dispersion: float | None
    dispersion_index: float


def _poisson_nll(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = theta[0] + theta[1] * x
    mu = np.exp(eta)
    return float(np.sum(mu - y * eta + special.gammaln(y + 1)))


def _nb_nll(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    mu = np.exp(theta[0] + theta[1] * x)
    r = math.exp(theta[2])
    ll = (
        special.gammaln(y + r)
        - special.gammaln(r)
        - special.gammaln(y + 1)
        + r * np.log(r / (r + mu))
        + y * np.log(mu / (r + mu))
    )
    return float(-np.sum(ll))


def fit_counts(years: Sequence[int], counts: Sequence[float]) -> CountFit:
    """Choose Poisson or negative binomial counts by AIC (maximum likelihood).

    Parameters
    ----------
    years : sequence of int
    counts : sequence of float
        Clients each year (rounded to whole clients). [clients]
    """
    x = np.asarray(years, dtype=float) - float(years[0])
    y = np.round(np.asarray(counts, dtype=float))
    ly = np.log(np.maximum(y, 0.5))
    start = np.polyfit(x, ly, 1)[::-1]
    # Poisson GLM with log link by iteratively reweighted least squares.
    X = np.column_stack([np.ones_like(x), x])
    beta = np.asarray(start, dtype=float)
    for _ in range(100):
        mu = np.exp(X @ beta)
        step = np.linalg.solve(X.T @ (mu[:, None] * X), X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    mu = np.exp(X @ beta)
    n = len(y)
    disp_index = float(np.sum((y - mu) ** 2 / mu) / max(n - 2, 1))
    nll_p = _poisson_nll(beta, x, y)
    # Negative binomial size r by profile likelihood at the Poisson-fitted means
    # (the ML means of the negative binomial differ little); bounded on log r.
    res = optimize.minimize_scalar(
        lambda lr: _nb_nll(np.array([beta[0], beta[1], lr]), x, y),
        bounds=(-7.0, 25.0),
        method="bounded",
        options={"xatol": 1e-6},
    )
    nll_nb = min(float(res.fun), nll_p)
    aic_p = 2 * 2 + 2 * nll_p
    aic_nb = 2 * 3 + 2 * nll_nb
    r = math.exp(float(res.x))
    if aic_nb < aic_p:
        return CountFit(aic_p, aic_nb, "negative_binomial", r, disp_index)
    return CountFit(aic_p, aic_nb, "poisson", None, disp_index)


@dataclass(frozen=True)
class CostFit:
    """Lognormal against gamma for per-client costs (maximum likelihood, AIC)."""

    distribution: str
    mean: float
    cv: float
    aic_lognormal: float
    aic_gamma: float
    ks_p: float
    n: int


def fit_cost_records(costs: Sequence[float]) -> CostFit:
    """Fit lognormal and gamma to per-client annual costs; keep the lower AIC.

    Parameters
    ----------
    costs : sequence of float
        Positive annual costs of individual clients. [£]
    """
    c = np.asarray(costs, dtype=float)
    if c.size < 10 or np.any(c <= 0) or not np.all(np.isfinite(c)):
        raise InputError("per-client costs need at least 10 positive finite values")
    s, _, scale = stats.lognorm.fit(c, floc=0)
    ll_ln = float(np.sum(stats.lognorm.logpdf(c, s, 0, scale)))
    k, _, th = stats.gamma.fit(c, floc=0)
    ll_g = float(np.sum(stats.gamma.logpdf(c, k, 0, th)))
    aic_ln, aic_g = 4 - 2 * ll_ln, 4 - 2 * ll_g
    if aic_ln <= aic_g:
        mean, cv = scale * math.exp(s * s / 2), math.sqrt(math.expm1(s * s))
        ks = stats.kstest(c, "lognorm", args=(s, 0, scale)).pvalue
        return CostFit("lognormal", mean, cv, aic_ln, aic_g, float(ks), c.size)
    ks = stats.kstest(c, "gamma", args=(k, 0, th)).pvalue
    return CostFit("gamma", k * th, 1 / math.sqrt(k), aic_ln, aic_g, float(ks), c.size)


#: Persistence values the estimator's sampling distribution is simulated at.
PERSISTENCE_GRID = np.linspace(0.0, 1.0, 51)
#: Simulated series per grid value (common random numbers across the grid).
PERSISTENCE_SIMS = 2000
#: Fewest years for which persistence is estimated.
PERSISTENCE_MIN_YEARS = 5


@dataclass(frozen=True)
class PersistenceFit:
    """Persistence φ of a detrended log series, with its uncertainty.

    Attributes
    ----------
    phi : float
        Median-unbiased estimate in [0, 1].
    low, high : float
        95 % confidence interval (equal-tailed, in [0, 1]).
    sd : float
        ``(high - low) / 3.92``: the s.d. a normal with that interval would have.
    lag1 : float
        The raw lag-1 autocorrelation of the residuals (biased down: a short
        detrended series reads far less persistent than it is).
    n : int
        Number of years.
    """

    phi: float
    low: float
    high: float
    sd: float
    lag1: float
    n: int


def _lag1(resid: np.ndarray, consecutive: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation over the pairs of consecutive years (last axis: years)."""
    num = (resid[..., 1:] * resid[..., :-1])[..., consecutive].sum(axis=-1)
    den = (resid * resid).sum(axis=-1)
    return num / den


def _invert(curve: np.ndarray, value: float) -> float:
    """The φ at which an increasing curve over ``PERSISTENCE_GRID`` reaches ``value``."""
    if value <= curve[0]:
        return 0.0
    if value >= curve[-1]:
        return 1.0
    return float(np.interp(value, curve, PERSISTENCE_GRID))


def fit_persistence(years: Sequence[int], residuals: Sequence[float]) -> PersistenceFit:
    """Estimate the AR(1) persistence φ of detrended log residuals, with a 95 % interval.

    The statistic is the lag-1 autocorrelation ``r`` of the residuals of an
    OLS trend (pairs of consecutive years only). With 5-10 years it is
    heavily biased towards 0 (and below it), so ``r`` is not used as φ.
    Instead its sampling distribution is simulated for every φ on a grid
    over [0, 1] (``PERSISTENCE_SIMS`` stationary AR(1) series, a random walk
    at φ = 1, at the same years, detrended by the same OLS; common random
    numbers, fixed seed): φ̂ is the φ whose median of ``r`` is the observed
    ``r`` (median-unbiased), and the interval is the φ's whose 97.5 % and
    2.5 % quantiles are ``r`` (Andrews 1993, *Econometrica* 61:139,
    "Exactly median-unbiased estimation of first order autoregressive /
    unit root models", which treats exactly this case of an AR(1) around a
    linear trend). Estimates beyond the grid are clipped to 0 or 1.

    Parameters
    ----------
    years : sequence of int
        Calendar years of the residuals (gaps allowed: the simulated AR(1)
        uses φ^gap across them, and the statistic skips them).
    residuals : sequence of float
        Residuals of ``log(y)`` around its OLS trend on ``years``. [log £]

    Returns
    -------
    PersistenceFit

    Examples
    --------
    >>> fit = fit_persistence(range(2010, 2018), [0.0, 0.1, 0.12, 0.05, -0.04, -0.1, -0.08, -0.05])
    >>> 0.0 <= fit.low <= fit.phi <= fit.high <= 1.0
    True
    """
    yrs = tuple(int(y) for y in years)
    n = len(yrs)
    if n < PERSISTENCE_MIN_YEARS:
        raise ValueError(f"persistence needs at least {PERSISTENCE_MIN_YEARS} years, got {n}")
    consecutive = np.diff(yrs) == 1
    observed = float(_lag1(np.asarray(residuals, dtype=float), consecutive))
    curves = _lag1_quantiles(yrs)
    low, phi, high = (_invert(curves[:, k], observed) for k in (2, 1, 0))
    return PersistenceFit(phi, low, high, (high - low) / 3.92, observed, n)


@functools.lru_cache(maxsize=32)
def _lag1_quantiles(years: tuple[int, ...]) -> np.ndarray:
    """2.5 %, 50 % and 97.5 % quantiles of the detrended lag-1 autocorrelation at each grid φ.

    Shape ``(grid, 3)``, each column made non-decreasing in φ (this smooths
    the simulation noise; the true quantiles increase with φ). Depends only
    on the years, so a history's groups share it.
    """
    yrs = np.asarray(years, dtype=float)
    n = yrs.size
    gaps = np.diff(yrs)
    consecutive = gaps == 1
    design = np.column_stack([np.ones(n), yrs - yrs[0]])
    annihilator = np.eye(n) - design @ np.linalg.pinv(design)
    z = np.random.default_rng(20260411).standard_normal((n, PERSISTENCE_SIMS))
    curves = np.empty((PERSISTENCE_GRID.size, 3))
    for i, phi in enumerate(PERSISTENCE_GRID):
        x = z.copy()
        for t in range(1, n):
            r = phi ** gaps[t - 1]
            x[t] = r * x[t - 1] + (1.0 if phi == 1 else math.sqrt(1.0 - r * r)) * z[t]
        stat = _lag1((annihilator @ x).T, consecutive)
        curves[i] = np.quantile(stat, [0.025, 0.5, 0.975])
    curves = np.maximum.accumulate(curves, axis=0)
    curves.flags.writeable = False
    return curves


# ----------------------------------------------------------------------------- results


@dataclass
class GroupFit:
    """What was estimated for one client group.

    Attributes
    ----------
    id : str
    years : list of int
        History years used.
    spend : dict
        The ``spend:`` model in the config schema (``model: clients`` or
        ``aggregate``).
    estimates : dict
        Flat table of estimates and diagnostics (see :meth:`FitResult.to_frame`).
    notes : list of str
        Goodness of fit, criteria and assumptions, written as YAML comments.
    """

    id: str
    years: list[int]
    spend: dict[str, Any]
    estimates: dict[str, float | str]
    notes: list[str]
    residuals: np.ndarray = field(repr=False)


@dataclass
class MetricFit:
    """What was estimated for one performance metric.

    Attributes
    ----------
    id : str
    years : list of int
    mean, sd : float
        Sample mean and standard deviation (n − 1) of the yearly values: the
        metric's ``{mean, sd}`` (drawn Normal, independently each year). [metric units]
    values : ndarray
        The yearly values, one per year of ``years``.
    """

    id: str
    years: list[int]
    mean: float
    sd: float
    values: np.ndarray = field(repr=False)

    @property
    def performance(self) -> dict[str, Any]:
        """The ``performance:`` entry."""
        return {"id": self.id, "mean": _round(self.mean), "sd": _round(self.sd)}


def _round(v: float) -> float:
    """Four significant figures, for the written config."""
    return float(f"{v:.4g}")


@dataclass
class FitResult:
    """Assumptions fitted to a history, as a config fragment.

    Attributes
    ----------
    groups : list of GroupFit
    correlation : dict or None
        ``{groups: [...], matrix: [[...]]}`` of the detrended residuals, when
        there are two or more groups with at least 4 common years and the
        matrix is a valid correlation matrix.
    correlation_notes : list of str
    first_year : int
        Calendar year of agreement year 0 (levels are projected to it).
    source : str
        The history file.
    warnings : list of str
    """

    groups: list[GroupFit]
    correlation: dict[str, Any] | None
    correlation_notes: list[str]
    first_year: int
    source: str
    commissioners: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    #: Fields kept from the base config's group of the same id (name, step_changes, ...).
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Performance metrics fitted to a metrics history (``fit(metrics=...)``).
    metrics: list[MetricFit] = field(default_factory=list)

    # ------------------------------------------------------------------ views
    @property
    def fragment(self) -> dict[str, Any]:
        """The config fragment as plain data: ``client_groups`` (and ``correlation``)."""
        out: dict[str, Any] = {
            "client_groups": [
                {
                    "id": g.id,
                    **{k: v for k, v in self.extras.get(g.id, {}).items() if k == "name"},
                    "commissioners": self.commissioners.get(g.id, "CHANGE_ME"),
                    "spend": g.spend,
                    **{k: v for k, v in self.extras.get(g.id, {}).items() if k != "name"},
                }
                for g in self.groups
            ]
        }
        if self.metrics:
            out["performance"] = [m.performance for m in self.metrics]
        if self.correlation is not None:
            out["correlation"] = self.correlation
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per group: every estimate and diagnostic."""
        frame = pd.DataFrame([{"group": g.id, **g.estimates} for g in self.groups])
        return frame.set_index("group")

    def to_yaml(self, *, other_metrics: Sequence[Mapping[str, Any]] = ()) -> str:
        """The fragment as commented YAML (goodness of fit and criteria in comments).

        ``other_metrics``: ``performance`` entries not fitted, written after the fitted ones.
        """
        lines = [
            f"# Assumptions fitted by riskshare fit from {self.source}",
            f"# Levels are projected to agreement year 0 = {_fy(self.first_year)}.",
            "# growth/inflation {mean, sd}: OLS trend of the log series; sd = the estimate's",
            "#   t sampling sd (parameter uncertainty, drawn once per simulation).",
            "# Count model: Poisson or negative binomial by AIC (lower is better).",
            "# persistence: AR(1) of the detrended log spend, median-unbiased (Andrews 1993);",
            "#   with under 10 years its interval is wide: weigh it against what you know.",
            "client_groups:",
        ]
        for g in self.groups:
            lines.append(
                f"  # --- {g.id}: {len(g.years)} years ({_fy(g.years[0])} to {_fy(g.years[-1])})"
            )
            lines += [f"  # {n}" for n in g.notes]
            lines.append(f"  - id: {g.id}")
            extra = self.extras.get(g.id, {})
            if "name" in extra:
                lines.append(f"    name: {_quote(extra['name'])}")
            comm = self.commissioners.get(g.id)
            if comm is None:
                lines.append(
                    "    commissioners: CHANGE_ME  # the partner(s) whose function "
                    "this is, e.g. council or {council: 0.5, icb: 0.5}"
                )
            else:
                lines.append(f"    commissioners: {_flow(comm)}")
            lines.append("    spend:")
            for key, value in g.spend.items():
                lines.append(f"      {key}: {_flow(value)}")
            for key, value in extra.items():
                if key != "name":
                    lines.append(f"    {key}: {_flow(value)}  # from the base config")
        if self.metrics:
            lines.append("")
            lines.append("# Performance metrics: sample mean and sd (n - 1) of the yearly values.")
            lines.append("performance:")
            for m in self.metrics:
                lines.append(
                    f"  # {m.id}: {len(m.years)} years ({_fy(m.years[0])} to {_fy(m.years[-1])})"
                )
                lines.append(f"  - {_flow(m.performance)}")
            for other in other_metrics:
                lines.append(f"  - {_flow(dict(other))}  # from the base config")
        if self.correlation is not None:
            lines.append("")
            lines += [f"# {n}" for n in self.correlation_notes]
            lines.append("correlation:")
            lines.append(f"  groups: {_flow(self.correlation['groups'])}")
            if self.correlation.get("metrics"):
                lines.append(f"  metrics: {_flow(self.correlation['metrics'])}")
            lines.append("  matrix:")
            for row in self.correlation["matrix"]:
                lines.append(f"    - {_flow(row)}")
        elif self.correlation_notes:
            lines.append("")
            lines += [f"# {n}" for n in self.correlation_notes]
        return "\n".join(lines) + "\n"

    def merge(self, base: Model | str | Path, *, keep_common_shocks: bool = False) -> Model:
        """A full, validated model: ``base`` with its client groups replaced by the fitted ones.

        Names, step changes, high-cost placements and charging of groups with
        the same id are kept from ``base``; commissioners come from the fit
        (which took them from ``base`` when it was given). The base's
        ``common_shocks`` are dropped unless ``keep_common_shocks`` (the fitted
        volatility already contains them; keeping them counts them twice).

        Raises
        ------
        riskshare.errors.ConfigError
            If the merged config is not valid (e.g. commissioners left as
            ``CHANGE_ME``).
        """
        model = load_config(base) if not isinstance(base, Model) else base
        data = model.model_dump(mode="json", exclude_none=True)
        old = {g["id"]: g for g in data["client_groups"]}
        groups = []
        for g in self.fragment["client_groups"]:
            merged = {
                k: v
                for k, v in old.get(g["id"], {}).items()
                if k in ("name", "step_changes", "high_cost", "charging")
            }
            merged.update(g)
            groups.append(merged)
        data["client_groups"] = groups
        if self.metrics:
            fitted = {m.id: m.performance for m in self.metrics}
            kept = [m for m in data.get("performance", []) if m["id"] not in fitted]
            data["performance"] = kept + list(fitted.values())
        data.pop("correlation", None)
        if self.correlation is not None:
            data["correlation"] = self.correlation
        if not keep_common_shocks:
            data["common_shocks"] = []
        return validate_data(data, source=f"{self.source} merged into {model.name}")

    def to_full_yaml(self, base: Model | str | Path) -> str:
        """A complete config: :meth:`to_yaml` plus ``base``'s other sections (validated first).

        The base's ``common_shocks`` are left out (see :meth:`merge`).
        """
        from ruamel.yaml import YAML

        model = load_config(base) if not isinstance(base, Model) else base
        merged = self.merge(model)
        if any(v == "CHANGE_ME" for v in self.commissioners.values()):  # pragma: no cover
            raise InputError("set every group's commissioners before writing a full config")
        data = merged.model_dump(mode="json", exclude_none=True)
        rest = {
            k: v
            for k, v in data.items()
            if k not in ("client_groups", "correlation", "common_shocks")
            and not (k == "performance" and self.metrics)
        }
        buf = io.StringIO()
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.dump(rest, buf)
        fitted = {m.id for m in self.metrics}
        others = [m for m in data.get("performance", []) if m["id"] not in fitted]
        return (
            self.to_yaml(other_metrics=others if self.metrics else ())
            + f"\n# The rest is from {base if not isinstance(base, Model) else model.name};"
            + " common_shocks are left out:\n# the fitted volatility and correlation"
            + " already include them.\n"
            + buf.getvalue()
        )


def _num(v: float) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v == 0:
        return "0.0"
    text = f"{v:.6g}"
    if "e" in text:
        text = f"{v:.6e}"  # YAML 1.2 floats need the dot: 1.0e+06
        mant, exp = text.split("e")
        text = f"{float(mant):.6g}"
        if "." not in text:
            text += ".0"
        text = f"{text}e{int(exp):+d}"
    elif "." not in text:
        text += ".0"
    return text


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(value: Any) -> str:
    """A value in YAML flow style."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return _num(float(value))


def _uncertain(rate: float, sd: float) -> dict[str, float]:
    return {"mean": round(rate, 5), "sd": round(min(sd, MAX_SD), 5)}


# ----------------------------------------------------------------------------- fit


def fit(
    history: str | Path | pd.DataFrame,
    *,
    sheet: str | int | None = None,
    first_year: int | None = None,
    base: Model | str | Path | None = None,
    commissioners: str | Mapping[str, Any] | None = None,
    client_costs: pd.DataFrame | str | Path | None = None,
    correlation: bool = True,
    uncertain: bool = True,
    metrics: str | Path | pd.DataFrame | None = None,
) -> FitResult:
    """Fit each client group's demand, cost and volatility to a history of spend.

    Parameters
    ----------
    history : str, pathlib.Path or pandas.DataFrame
        CSV or Excel file (or frame) with columns ``year, group, spend`` and
        optionally ``clients``, ``unit_cost`` (see the module docstring).
    sheet : str or int, optional
        Excel sheet (default: the first).
    first_year : int, optional
        Calendar year of agreement year 0, to which levels are projected.
        Default: ``base.simulation.first_year`` if ``base`` is given, else the
        year after the last history year.
    base : Model or path, optional
        A config whose groups' commissioners (matched by id) and first year
        are used.
    commissioners : str or mapping, optional
        The commissioning partner of every group (a partner id), or
        ``{group: partner id or {partner: share}}``; overrides ``base``.
        Groups left without one are written as ``CHANGE_ME``.
    client_costs : DataFrame or path, optional
        Per-client cost records, columns ``group, cost`` [£]: the cost
        distribution (lognormal or gamma) and its CV are then fitted to them
        by maximum likelihood (AIC); the cost level and inflation still come
        from the history's unit costs.
    correlation : bool
        Estimate the correlation between groups' detrended residuals.
    uncertain : bool
        Write growth and inflation as ``{mean, sd}`` (default) or as plain
        rates.
    metrics : str, pathlib.Path or pandas.DataFrame, optional
        A history of performance metrics (:func:`read_metrics`: columns
        ``year, metric, value``): each is written to ``performance`` with its
        sample mean and sd, and (with ``correlation``) correlated with the
        groups in ``correlation.metrics`` (see :func:`_metric_correlation`).

    Returns
    -------
    FitResult

    Raises
    ------
    riskshare.errors.InputError
        For a bad history file (naming file, row and column).

    Warns
    -----
    ShortHistoryWarning
        For a group with only 3 or 4 years.

    Examples
    --------
    >>> from riskshare.analysis.calibration import fit
    >>> result = fit("examples/history.csv", first_year=2026)
    >>> [g.id for g in result.groups][:2]
    ['learning_disability', 'mental_health']
    """
    frame = read_history(history, sheet=sheet)
    source = "<frame>" if isinstance(history, pd.DataFrame) else str(history)
    base_model: Model | None = None
    if base is not None:
        base_model = base if isinstance(base, Model) else load_config(base)
    if first_year is None:
        first_year = (
            base_model.simulation.first_year
            if base_model is not None
            else int(frame["year"].max()) + 1
        )
    low, high = int(frame["year"].min()), int(frame["year"].max()) + MAX_PROJECTION_YEARS
    if isinstance(first_year, bool) or not isinstance(first_year, int | np.integer):
        raise InputError(f"first year: must be a calendar year (got {first_year!r})")
    if not low <= first_year <= high:
        raise InputError(
            f"first year {first_year}: must be from {low} (the history's first year) to {high} "
            f"({MAX_PROJECTION_YEARS} years after its last)"
        )
    if isinstance(commissioners, str):
        commissioners = _check_partner_id(commissioners)
    elif commissioners is not None:
        commissioners = {g: _check_partner_id(p) for g, p in dict(commissioners).items()}
    comm: dict[str, Any] = {}
    if base_model is not None:
        comm.update({g.id: g.commissioners for g in base_model.client_groups})
    if isinstance(commissioners, str):
        comm.update({gid: commissioners for gid in frame["group"].unique()})
    elif commissioners is not None:
        comm.update(dict(commissioners))
    costs_by_group: dict[str, np.ndarray] = {}
    if client_costs is not None:
        costs_by_group = _read_costs(client_costs)

    msgs: list[str] = []
    groups: list[GroupFit] = []
    for gid, g in frame.groupby("group", sort=False):
        if len(g) < WARN_YEARS:
            msg = (
                f"{source}: group '{gid}' has only {len(g)} years: its estimates are very "
                "uncertain (5-10 years are usual)"
            )
            warnings.warn(msg, ShortHistoryWarning, stacklevel=2)
            msgs.append(msg)
        groups.append(_fit_group(str(gid), g, first_year, costs_by_group.get(str(gid)), uncertain))

    corr, corr_notes = (None, [])
    if correlation and len(groups) >= 2:
        corr, corr_notes = _fit_correlation(groups)
    fitted_metrics: list[MetricFit] = []
    if metrics is not None:
        fitted_metrics = _fit_metrics(read_metrics(metrics))
        if correlation:
            corr, notes = _metric_correlation(groups, fitted_metrics, corr)
            corr_notes += notes
    extras: dict[str, dict[str, Any]] = {}
    if base_model is not None:
        for grp in base_model.client_groups:
            d = grp.model_dump(
                mode="json",
                exclude_none=True,
                include={"name", "step_changes", "high_cost", "charging"},
            )
            extras[grp.id] = {k: v for k, v in d.items() if v not in ([], None)}
    return FitResult(
        groups, corr, corr_notes, int(first_year), source, comm, msgs, extras, fitted_metrics
    )


def _fit_metrics(frame: pd.DataFrame) -> list[MetricFit]:
    """Each metric's sample mean and standard deviation (n − 1)."""
    out = []
    for mid, g in frame.groupby("metric", sort=False):
        values = g["value"].to_numpy(dtype=float)
        out.append(
            MetricFit(
                str(mid),
                [int(y) for y in g["year"]],
                float(values.mean()),
                float(values.std(ddof=1)),
                values,
            )
        )
    return out


def _metric_correlation(
    groups: list[GroupFit], metrics: list[MetricFit], corr: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The correlation block with the metrics added (``correlation.metrics``).

    Entry (metric, group) is the Pearson correlation r of the metric's values
    with the group's detrended log-spend residuals over their common years (at
    least 4; else 0, noted). That is the correlation with the level of spend;
    the copula's ρ is with the year's new pressure, so for a group written
    with persistence φ it is r / √(1 − φ²) (docs/sampling.md §11), clipped to
    [−1, 1]. Metric pairs: the Pearson correlation of their values. The
    groups' block is ``corr``'s (or, without it, independent groups). A
    matrix that is not positive semi-definite leaves the metrics out, noted.
    """
    gids = [g.id for g in groups]
    k = len(gids)
    block = np.eye(k)  # without an estimate between groups they stay independent
    if corr is not None:
        at = [corr["groups"].index(g) for g in gids]
        block = np.asarray(corr["matrix"], dtype=float)[np.ix_(at, at)]
    names = [*gids, *(m.id for m in metrics)]
    series = {g.id: pd.Series(g.residuals, index=g.years) for g in groups}
    series.update({m.id: pd.Series(m.values, index=m.years) for m in metrics})
    phi = {g.id: float(g.spend.get("persistence", 0.0) or 0.0) for g in groups}
    n = len(names)
    matrix = np.eye(n)
    matrix[:k, :k] = block
    notes: list[str] = []
    short = []
    for i in range(k, n):
        for j in range(i):
            pair = pd.concat([series[names[i]], series[names[j]]], axis=1).dropna()
            if len(pair) < 4 or pair.std().min() <= 0:
                short.append(f"{names[i]}-{names[j]}")
                continue
            r = float(np.corrcoef(pair.to_numpy().T)[0, 1])
            if j < k and phi[names[j]] > 0:
                r /= math.sqrt(1.0 - min(phi[names[j]], 0.99) ** 2)
            matrix[i, j] = matrix[j, i] = round(min(max(r, -1.0), 1.0), 3)
    notes.append(
        "correlation.metrics: Pearson correlation of each metric with each group's detrended "
        "log-spend residuals over their common years, divided by sqrt(1 - persistence^2) for "
        "a group with persistence (the copula correlates the year's new pressure); indicative"
    )
    if short:
        notes.append(f"correlation.metrics: under 4 common years, set to 0: {', '.join(short)}")
    if np.linalg.eigvalsh(matrix).min() < -1e-10:
        notes.append("correlation.metrics: the matrix is not positive semi-definite; left out")
        return corr, notes
    return {"groups": gids, "metrics": [m.id for m in metrics], "matrix": matrix.tolist()}, notes


def _read_costs(client_costs: pd.DataFrame | str | Path) -> dict[str, np.ndarray]:
    if isinstance(client_costs, pd.DataFrame):
        table, name = client_costs, "<client costs>"
    else:
        name = str(client_costs)
        try:
            text = read_text(client_costs, what="per-client costs file", limit=MAX_DATA_BYTES)
            table = pd.read_csv(io.StringIO(text))
        except (OSError, ValueError) as exc:
            raise InputError(f"{name}: cannot read per-client costs ({exc})") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"group", "cost"} <= set(table.columns):
        raise InputError(f"{name}: row 1: per-client costs need columns 'group' and 'cost'")
    cost = pd.to_numeric(table["cost"], errors="coerce")
    bad = np.flatnonzero(~(cost > 0))
    if bad.size:
        raise InputError(
            f"{name}: row {bad[0] + 2}, column 'cost': must be a number > 0 "
            f"(got {table['cost'].iloc[bad[0]]!r})"
        )
    return {str(k): cost[table["group"] == k].to_numpy(float) for k in table["group"].unique()}


def _fit_group(
    gid: str, g: pd.DataFrame, first_year: int, costs: np.ndarray | None, uncertain: bool
) -> GroupFit:
    years = g["year"].astype(int).tolist()
    horizon = first_year - years[0]
    spend_tr = log_trend(years, g["spend"])
    est: dict[str, Any] = {"years": len(years), "first": _fy(years[0]), "last": _fy(years[-1])}
    notes: list[str] = []
    rate = (lambda r, sd: _uncertain(r, sd)) if uncertain else (lambda r, sd: round(r, 5))

    def trend_note(label: str, tr: Trend) -> str:
        sw = "n/a" if math.isnan(tr.shapiro_p) else f"{tr.shapiro_p:.2f}"
        return (
            f"{label}: {100 * tr.rate:+.2f} % a year (sd {100 * tr.rate_sd:.2f} points), "
            f"R^2 {tr.r2:.2f}, residual CV {100 * tr.cv:.1f} %, Shapiro-Wilk p {sw}"
        )

    if g["clients"].notna().all():
        cl_tr = log_trend(years, g["clients"])
        uc_tr = log_trend(years, g["unit_cost"])
        counts = fit_counts(years, g["clients"])
        n_mean, n_se = cl_tr.level(first_year)
        c_mean, c_se = uc_tr.level(first_year)
        mean_clients = float(g["clients"].mean())
        clients: dict[str, Any] = {"distribution": counts.distribution, "mean": round(n_mean, 1)}
        if counts.dispersion is not None:
            clients["dispersion"] = round(min(counts.dispersion, 1e8), 3)
        clients["growth"] = rate(cl_tr.rate, cl_tr.rate_sd)
        if costs is not None:
            cf = fit_cost_records(costs)
            cost = {
                "distribution": cf.distribution,
                "mean": round(c_mean, 2),
                "cv": round(min(cf.cv, 20.0), 4),
                "inflation": rate(uc_tr.rate, uc_tr.rate_sd),
            }
            cost_note = (
                f"cost per client: {cf.distribution} by AIC on {cf.n} client records "
                f"(lognormal {cf.aic_lognormal:.1f}, gamma {cf.aic_gamma:.1f}), "
                f"CV {cf.cv:.2f}, KS p {cf.ks_p:.2f}"
            )
            est.update(
                cost_distribution=cf.distribution,
                aic_lognormal=cf.aic_lognormal,
                aic_gamma=cf.aic_gamma,
            )
        else:
            cv = min(uc_tr.cv * math.sqrt(mean_clients), 20.0)
            cost = {
                "distribution": "lognormal",
                "mean": round(c_mean, 2),
                "cv": round(cv, 4),
                "inflation": rate(uc_tr.rate, uc_tr.rate_sd),
            }
            cost_note = (
                f"cost per client: lognormal ASSUMED (no per-client records); "
                f"cv {cv:.2f} = unit-cost residual CV {100 * uc_tr.cv:.1f} % x "
                f"sqrt({mean_clients:.0f} clients): reproduces the observed volatility"
            )
            est["cost_distribution"] = "lognormal (assumed)"
        spend = {"model": "clients", "clients": clients, "cost": cost}
        pick = "negative binomial" if counts.distribution == "negative_binomial" else "Poisson"
        disp = f", size r = {counts.dispersion:.3g}" if counts.dispersion is not None else ""
        notes += [
            trend_note("demand growth (clients)", cl_tr),
            f"clients: {pick} by AIC (Poisson {counts.aic_poisson:.1f}, negative binomial "
            f"{counts.aic_nb:.1f}; dispersion index {counts.dispersion_index:.2f}{disp})",
            trend_note("inflation (unit cost)", uc_tr),
            cost_note,
            f"year-0 level: {n_mean:,.0f} clients x £{c_mean:,.0f}, projected {horizon} years "
            f"(standard errors {100 * n_se:.1f} % and {100 * c_se:.1f} %, not carried)",
        ]
        est.update(
            growth=cl_tr.rate,
            growth_sd=cl_tr.rate_sd,
            growth_r2=cl_tr.r2,
            inflation=uc_tr.rate,
            inflation_sd=uc_tr.rate_sd,
            inflation_r2=uc_tr.r2,
            clients_mean=n_mean,
            clients_level_se=n_se,
            count_distribution=counts.distribution,
            dispersion=counts.dispersion if counts.dispersion is not None else math.nan,
            dispersion_index=counts.dispersion_index,
            aic_poisson=counts.aic_poisson,
            aic_negative_binomial=counts.aic_nb,
            unit_cost_mean=c_mean,
            unit_cost_level_se=c_se,
            unit_cost_resid_cv=uc_tr.cv,
            cost_cv=cost["cv"],
        )
    else:
        s_mean, s_se = spend_tr.level(first_year)
        spend = {
            "model": "aggregate",
            "distribution": "lognormal",
            "mean": round(s_mean),
            "cv": round(spend_tr.cv, 4),
            "growth": rate(spend_tr.rate, spend_tr.rate_sd),
        }
        notes += [
            trend_note("growth (spend: demand and price)", spend_tr),
            "no client counts: aggregate spend, lognormal around the trend (assumed; "
            "Shapiro-Wilk tests the log residuals)",
            f"year-0 level: £{s_mean:,.0f}, projected {horizon} years (standard error "
            f"{100 * s_se:.1f} %, not carried)",
        ]
        est.update(
            growth=spend_tr.rate,
            growth_sd=spend_tr.rate_sd,
            growth_r2=spend_tr.r2,
            spend_mean=s_mean,
            spend_level_se=s_se,
        )
    est.update(
        spend_growth=spend_tr.rate, spend_resid_cv=spend_tr.cv, spend_shapiro_p=spend_tr.shapiro_p
    )
    notes.append(_persistence(years, spend_tr, spend, est))
    resid = pd.Series(spend_tr.residuals, index=years)
    return GroupFit(gid, years, spend, est, notes, resid.to_numpy())


def _persistence(years: list[int], trend: Trend, spend: dict[str, Any], est: dict[str, Any]) -> str:
    """Estimate the persistence of the spend residuals: into ``est`` (and an aggregate ``spend``).

    Returns the note that states it.
    """
    why = None
    if len(years) < PERSISTENCE_MIN_YEARS:
        why = f"{len(years)} years; at least {PERSISTENCE_MIN_YEARS} are needed"
    elif not trend.resid_sd > 1e-12:
        why = "no variation around the trend"
    if why is not None:
        est.update(persistence=math.nan, persistence_low=math.nan, persistence_high=math.nan)
        return f"persistence: not estimated ({why}); years drawn independently"
    pf = fit_persistence(years, trend.residuals)
    est.update(
        persistence=pf.phi,
        persistence_low=pf.low,
        persistence_high=pf.high,
        persistence_sd=pf.sd,
        persistence_lag1=pf.lag1,
    )
    text = (
        f"persistence of the spend residuals: {pf.phi:.2f} (95 % interval {pf.low:.2f} to "
        f"{pf.high:.2f}; median-unbiased, raw lag-1 autocorrelation {pf.lag1:+.2f})"
    )
    if spend["model"] == "aggregate":
        spend["persistence"] = round(pf.phi, 2)
        return text
    return text + "; not carried (a clients group draws its years independently: see cost.shock)"


def _fit_correlation(groups: list[GroupFit]) -> tuple[dict[str, Any] | None, list[str]]:
    frame = pd.DataFrame({g.id: pd.Series(g.residuals, index=g.years) for g in groups}).dropna()
    n = len(frame)
    ids = list(frame.columns)
    if n < 4:
        return None, [f"correlation: not estimated ({n} common years; at least 4 are needed)"]
    m = np.corrcoef(frame.to_numpy().T)
    m = np.round((m + m.T) / 2, 3)
    np.fill_diagonal(m, 1.0)
    eig = np.linalg.eigvalsh(m)
    se = 1.0 / math.sqrt(max(n - 3, 1))
    notes = [
        f"correlation of the groups' detrended log-spend residuals over {n} common years "
        f"(Pearson; standard error about {se:.2f} on Fisher's z scale: treat as indicative)",
    ]
    if eig.min() < -1e-10 or not np.all(np.isfinite(m)):
        notes.append("correlation: the estimated matrix is not positive semi-definite; left out")
        return None, notes
    return {"groups": ids, "matrix": m.tolist()}, notes


def fragment_data(text: str) -> dict[str, Any]:
    """Parse a fragment written by :meth:`FitResult.to_yaml` back into plain data."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(io.StringIO(text))
