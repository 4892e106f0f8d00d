"""Charts of a result: exposure distributions, exceedance curves, fan charts, comparisons, sweeps.

Every function returns a :class:`matplotlib.figure.Figure` and takes an
optional ``ax`` to draw into an existing axes (the figure is then
``ax.figure``). Figures are made without :mod:`matplotlib.pyplot`, so no
global figure state builds up; in a notebook a returned figure displays
itself. Money axes are in pounds with ``k``/``m`` units; colours come from
the Okabe–Ito palette, which reads for colour-blind readers and in grey print
(line styles also differ).

>>> import riskshare as rs
>>> from riskshare.report.plots import PlotAccessor
>>> result = rs.simulate(rs.load_config("configs/benchmark.yaml"), n_sims=2000, seed=7)
>>> fig = PlotAccessor(result).exceedance()
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np

if (
    "matplotlib.pyplot" not in sys.modules
    and not os.environ.get("MPLBACKEND")
    and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    and "ipykernel" not in sys.modules
):
    matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, PercentFormatter

if TYPE_CHECKING:
    import pandas as pd

    from riskshare.config.model import Model
    from riskshare.run import Result

__all__ = [
    "PALETTE",
    "PlotAccessor",
    "comparison",
    "distribution",
    "exceedance",
    "exceedance_by_rule",
    "fan",
    "format_money",
    "goal_seek",
    "money_formatter",
    "sweep",
    "sweep_panels",
    "tornado",
]

#: Okabe–Ito colour-blind-safe palette (black last, for the pool).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Legends with more entries than this go beside the axes, not over the data.
LEGEND_INSIDE = 6
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))

_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}


def format_money(x: float, _pos: Any = None) -> str:
    """Format pounds with ``k``/``m``/``bn`` units: ``£1.25m``, ``-£350k``, ``£0``.

    Parameters
    ----------
    x : float
        Amount. [£]
    """
    if not np.isfinite(x):
        return ""
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if a >= 1e9:
        text = f"{a / 1e9:.3g}bn"
    elif a >= 1e6:
        text = f"{a / 1e6:.3g}m"
    elif a >= 1e3:
        text = f"{a / 1e3:.3g}k"
    elif a == 0:
        return "£0"
    else:
        text = f"{a:.3g}"
    return f"{sign}£{text}"


def money_formatter() -> FuncFormatter:
    """A tick formatter for pound axes (see :func:`format_money`)."""
    return FuncFormatter(format_money)


def _figure_ax(ax: Axes | None, figsize: tuple[float, float] = (7.5, 4.2)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, alpha=0.3)
    ax.set_axisbelow(True)


def _colour(i: int) -> str:
    return PALETTE[i % (len(PALETTE) - 1)]


def _legend(ax: Axes, loc: str = "best", *, groups: Sequence[str] = ()) -> None:
    """A legend inside the axes, or below them when it has many entries (many partners).

    Below the axes (two columns, filled top to bottom), entries drawn with
    ``gid`` set to one of ``groups`` (a partner id) are kept together, in the
    order of ``groups``.
    """
    handles, labels = ax.get_legend_handles_labels()
    fig = ax.figure
    constrained = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    if len(handles) <= LEGEND_INSIDE or not constrained:
        ax.legend(fontsize=8, loc=loc)
        return
    if groups:
        order = {g: i for i, g in enumerate(groups)}
        pairs = sorted(
            zip(handles, labels, strict=True),
            key=lambda hl: order.get(hl[0].get_gid(), len(order)),
        )
        handles, labels = [h for h, _ in pairs], [lb for _, lb in pairs]
    if len(fig.axes) == 1:  # a chart of its own: grow it so the plot keeps its height
        fig.set_figheight(fig.get_figheight() + 0.16 * -(-len(handles) // 2))
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=2)


def _labels(result: Result) -> dict[str, str]:
    return {p.id: p.label for p in result.model.partners}


def _partners(result: Result, partners: Sequence[str] | str | None) -> list[str]:
    if partners is None:
        return list(result.partner_ids)
    if isinstance(partners, str):
        partners = [partners]
    unknown = [p for p in partners if p not in result.partner_ids]
    if unknown:
        raise ValueError(f"unknown partner(s) {unknown}; partners: {result.partner_ids}")
    return list(partners)


# ----------------------------------------------------------------------------- distribution


def distribution(
    result: Result,
    partners: Sequence[str] | str | None = None,
    *,
    bins: int = 60,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Histogram of each partner's net position over the agreement, with P95 and TVaR95.

    Parameters
    ----------
    result : Result
    partners : str or sequence of str, optional
        Partner ids (default: all).
    bins : int
        Number of histogram bins over the common range.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of a new figure.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from riskshare.metrics import tvar

    fig, ax = _figure_ax(ax)
    ids = _partners(result, partners)
    labels = _labels(result)
    idx = [result.partner_ids.index(p) for p in ids]
    net = result.net[:, idx]
    lo, hi = np.min(net), np.max(net)
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    for k, pid in enumerate(ids):
        colour = _colour(result.partner_ids.index(pid))
        x = net[:, k]
        ax.hist(x, bins=edges, density=True, histtype="stepfilled", alpha=0.25, color=colour)
        ax.hist(
            x,
            bins=edges,
            density=True,
            histtype="step",
            color=colour,
            linewidth=1.4,
            label=labels[pid],
            gid=pid,
        )
        p95 = float(np.quantile(x, 0.95))
        tv = float(tvar(x, 0.95))
        ax.axvline(
            p95,
            color=colour,
            linestyle="--",
            linewidth=1.2,
            label=f"{labels[pid]} P95 {format_money(p95)}",
            gid=pid,
        )
        ax.axvline(
            tv,
            color=colour,
            linestyle=":",
            linewidth=1.6,
            label=f"{labels[pid]} TVaR95 {format_money(tv)}",
            gid=pid,
        )
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.xaxis.set_major_formatter(money_formatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda *_: ""))
    ax.set_xlabel("Net position over the agreement (+ pays beyond contributions, − money back)")
    ax.set_ylabel("Relative frequency")
    ax.set_title(title or "How much each partner could pay over the agreement")
    _legend(ax, loc="upper left", groups=ids)
    return fig


# ----------------------------------------------------------------------------- exceedance


def _exceedance_xy(x: np.ndarray, max_points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Points of the empirical survival function P(X > x), thinned to ``max_points``."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = xs.size
    surv = 1.0 - np.arange(1, n + 1) / n
    if n > max_points:
        # Keep the tail in full detail: evenly spaced in log(probability).
        pick = np.unique(
            np.concatenate(
                [
                    np.linspace(0, n - 1, max_points // 2).astype(int),
                    (n - np.unique(np.geomspace(1, n, max_points // 2).astype(int))).clip(0, n - 1),
                ]
            )
        )
        xs, surv = xs[pick], surv[pick]
    return xs, surv


def exceedance(
    results: Result | Mapping[str, Result],
    partners: Sequence[str] | str | None = None,
    *,
    log: bool = False,
    appetite: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Exceedance curves: the chance each partner pays more than £X over the agreement.

    Parameters
    ----------
    results : Result or mapping of str to Result
        One result, or several (e.g. agreements settled on the same draws)
        labelled by name: colour marks the partner, line style the result.
    partners : str or sequence of str, optional
        Partner ids (default: all).
    log : bool
        Log scale for the probability (shows the tail).
    appetite : bool
        Mark each partner's risk appetite from the config, if set.
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure_ax(ax)
    items = {"": results} if not isinstance(results, Mapping) else dict(results)
    if not items:
        raise ValueError("no results to plot")
    first = next(iter(items.values()))
    ids = _partners(first, partners)
    labels = _labels(first)
    for j, (name, res) in enumerate(items.items()):
        for pid in ids:
            if pid not in res.partner_ids:
                continue
            x = res.net[:, res.partner_ids.index(pid)]
            xs, surv = _exceedance_xy(x)
            label = labels.get(pid, pid) + (f" — {name}" if name else "")
            ax.step(
                xs,
                surv,
                where="post",
                color=_colour(first.partner_ids.index(pid)),
                linestyle=LINESTYLES[j % len(LINESTYLES)],
                linewidth=1.6,
                label=label,
                gid=pid,
            )
    if appetite:
        for pid in ids:
            limit = first.model.appetite.get(pid)
            if limit is not None:
                ax.axvline(
                    limit,
                    color=_colour(first.partner_ids.index(pid)),
                    linewidth=0.9,
                    alpha=0.8,
                    linestyle=(0, (1, 2)),
                    label=f"{labels.get(pid, pid)} appetite {format_money(limit)}",
                    gid=pid,
                )
    ax.axhline(0.05, color="0.4", linewidth=0.8, linestyle="--")
    ax.annotate(
        "1 in 20",
        xy=(1.0, 0.05),
        xycoords=("axes fraction", "data"),
        ha="right",
        va="bottom",
        fontsize=8,
        color="0.3",
    )
    if log:
        n = max(r.n_sims for r in items.values())
        ax.set_yscale("log")
        ax.set_ylim(max(1.0 / n, 1e-5), 1.0)
    else:
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_formatter(money_formatter())
    ax.set_xlabel("Net payment over the agreement, £X (beyond contributions)")
    ax.set_ylabel("Chance of paying more than £X")
    ax.set_title(title or "Chance of paying more than £X over the agreement")
    _legend(ax, groups=ids)
    return fig


def exceedance_by_rule(
    totals: Mapping[str, Mapping[str, np.ndarray]],
    baseline: str,
    *,
    labels: Mapping[str, str] | None = None,
    appetite: Mapping[str, float] | None = None,
) -> Figure:
    """Exceedance curves of several rules overlaid, one panel per partner, the baseline named.

    Parameters
    ----------
    totals : mapping of str to mapping of str to ndarray
        Rule name → partner id → each simulation's net position over the
        agreement, ``(sims,)``, all rules settled on the same draws. [£]
    baseline : str
        The rule the others are compared with: a solid black curve labelled
        "baseline: NAME".
    labels : mapping of str to str, optional
        Partner display names.
    appetite : mapping of str to float, optional
        Each partner's risk appetite, marked on its panel. [£]

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(totals)
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not among the rules {names}")
    partners = list(totals[baseline])
    labels = dict(labels or {})
    appetite = dict(appetite or {})
    fig = Figure(figsize=(9, 3.0 * len(partners) + 0.6), layout="constrained")
    axes = fig.subplots(len(partners), 1, squeeze=False)[:, 0]
    others = [n for n in names if n != baseline]
    for ax, pid in zip(axes, partners, strict=True):
        for j, name in enumerate([baseline, *others]):
            xs, surv = _exceedance_xy(np.asarray(totals[name][pid], dtype=float))
            is_base = name == baseline
            ax.step(
                xs,
                surv,
                where="post",
                color="black" if is_base else _colour(j - 1),
                linestyle="-" if is_base else LINESTYLES[(j - 1) % len(LINESTYLES)],
                linewidth=2.2 if is_base else 1.6,
                label=f"baseline: {name}" if is_base else name,
                zorder=3 if is_base else 2,
            )
        if pid in appetite:
            ax.axvline(appetite[pid], color="0.35", linewidth=0.9, linestyle=(0, (1, 2)))
            ax.annotate(
                f"appetite {format_money(appetite[pid])}",
                xy=(appetite[pid], 0.98),
                xycoords=("data", "axes fraction"),
                ha="left",
                va="top",
                fontsize=8,
                color="0.3",
            )
        ax.axhline(0.05, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.xaxis.set_major_formatter(money_formatter())
        ax.set_ylabel("Chance of paying more")
        ax.set_title(f"{labels.get(pid, pid)}: chance of paying more than £X", fontsize=10)
        ax.legend(fontsize=8, loc="upper right")
        _style(ax)
    axes[-1].set_xlabel("Net position over the agreement, £X (beyond contributions)")
    return fig


# ----------------------------------------------------------------------------- fan chart


def _fan_panel(ax: Axes, years: list[str], x: np.ndarray, colour: str, what: str) -> None:
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    t = np.arange(len(years))
    ax.fill_between(t, q[0], q[4], color=colour, alpha=0.18, linewidth=0, label="P5–P95")
    ax.fill_between(t, q[1], q[3], color=colour, alpha=0.35, linewidth=0, label="P25–P75")
    ax.plot(t, q[2], color=colour, linewidth=2.0, marker="o", markersize=4, label="Median")
    ax.plot(t, x.mean(axis=0), color="0.2", linewidth=1.0, linestyle="--", label="Mean")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xticks(t, years)
    ax.yaxis.set_major_formatter(money_formatter())
    ax.set_xlabel("Financial year")
    ax.set_ylabel(what)
    _legend(ax, loc="upper left")


def fan(
    result: Result,
    measures: Sequence[str] | str = ("variance", "reserve"),
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """Fan chart of the pool over the years: the variance and the reserve balance.

    Bands show P5–P95 and P25–P75 across simulations, with the median and mean.

    Parameters
    ----------
    result : Result
    measures : str or sequence of {'variance', 'reserve'}
        ``variance``: pool spend minus budget each year [£] (positive is an
        overspend); ``reserve``: reserve balance at year end [£].
    ax : Axes or sequence of Axes, optional
        One axes per measure.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(measures, str):
        measures = [measures]
    names = {
        "variance": ("Pool variance (spend − budget)", PALETTE[3]),
        "reserve": ("Reserve balance at year end", PALETTE[2]),
    }
    bad = [m for m in measures if m not in names]
    if bad or not measures:
        raise ValueError(f"measures must be among {list(names)}, got {list(measures)}")
    if ax is None:
        with matplotlib.rc_context(_STYLE):
            fig = Figure(figsize=(7.5, 3.4 * len(measures)), layout="constrained")
            axes = list(np.atleast_1d(fig.subplots(len(measures), 1, sharex=True)))
        for a in axes:
            _style(a)
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(measures):
            raise ValueError(f"give one axes per measure ({len(measures)}), got {len(axes)}")
        fig = axes[0].figure
    for a, m in zip(axes, measures, strict=True):
        data = result.outcomes.variance if m == "variance" else result.outcomes.reserve
        label, colour = names[m]
        _fan_panel(a, result.years, np.asarray(data), colour, label)
        a.set_title(label)
    if title is not None or ax is None:
        fig.suptitle(title or "The pool over the years", fontsize=12)
    return fig  # type: ignore[return-value]


# ----------------------------------------------------------------------------- comparison


def comparison(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Difference in mean net position vs the baseline (± 2 standard errors)",
) -> Figure:
    """Paired differences between agreements, per partner, with ± 2 SE error bars.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``agreement``, ``partner``, ``diff`` [£] and ``se`` [£]: the
        mean difference of each partner's net position under ``agreement``
        against a baseline settled on the same draws, and its standard error.
    ax : matplotlib.axes.Axes, optional
    title, xlabel : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = {"agreement", "partner", "diff", "se"} - set(frame.columns)
    if missing:
        raise ValueError(f"comparison frame lacks column(s) {sorted(missing)}")
    agreements = list(dict.fromkeys(frame["agreement"]))
    partners = list(dict.fromkeys(frame["partner"]))
    fig, ax = _figure_ax(ax, figsize=(7.5, 1.0 + 0.55 * len(agreements) * max(1, len(partners))))
    height = 0.8 / max(1, len(partners))
    for j, pid in enumerate(partners):
        sub = frame[frame["partner"] == pid]
        pos = [
            agreements.index(a) + (j - (len(partners) - 1) / 2) * height for a in sub["agreement"]
        ]
        ax.errorbar(
            sub["diff"].to_numpy(float),
            pos,
            xerr=2 * sub["se"].to_numpy(float),
            fmt="o",
            color=_colour(j),
            capsize=4,
            label=str(pid),
            markersize=6,
        )
    ax.axvline(0.0, color="0.3", linewidth=0.9)
    ax.set_yticks(range(len(agreements)), [str(a) for a in agreements])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(money_formatter())
    ax.set_xlabel(xlabel)
    ax.set_title(title or "How each agreement changes what partners pay")
    _legend(ax)
    return fig


# ----------------------------------------------------------------------------- sweep


def sweep(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    hue: str | None = "partner",
    se: str | None = None,
    appetite: float | Mapping[str, float] | None = None,
    money_x: bool = True,
    money_y: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A metric against a swept value, one line per ``hue`` group, with the appetite line.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy table with the swept value in column ``x`` and the metric in ``y``.
    x, y : str
        Column names.
    hue : str, optional
        Column whose values get one line each (default ``partner`` if present).
    se : str, optional
        Column of standard errors of ``y``: drawn as a ± 2 SE band.
    appetite : float or mapping, optional
        A horizontal line at this value, or one per ``hue`` value. [same unit as y]
    money_x, money_y : bool
        Format that axis in £ with k/m units.
    xlabel, ylabel, title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    for col in (x, y, se):
        if col is not None and col not in frame.columns:
            raise ValueError(f"sweep frame has no column {col!r} (columns: {list(frame.columns)})")
    fig, ax = _figure_ax(ax)
    if hue is not None and hue in frame.columns:
        groups = list(frame.groupby(hue, sort=False))
    else:
        groups = [("", frame)]
    for j, (name, sub) in enumerate(groups):
        sub = sub.sort_values(x)
        xv, yv = sub[x].to_numpy(float), sub[y].to_numpy(float)
        colour = _colour(j)
        ax.plot(
            xv,
            yv,
            marker="o",
            markersize=4,
            color=colour,
            linestyle=LINESTYLES[j % len(LINESTYLES)],
            label=str(name) if name != "" else y,
        )
        if se is not None:
            s = sub[se].to_numpy(float)
            ax.fill_between(xv, yv - 2 * s, yv + 2 * s, color=colour, alpha=0.2, linewidth=0)
        if isinstance(appetite, Mapping) and name in appetite:
            ax.axhline(
                appetite[name], color=colour, linestyle=":", linewidth=1.2, label=f"{name} appetite"
            )
    if appetite is not None and not isinstance(appetite, Mapping):
        ax.axhline(float(appetite), color="0.2", linestyle=":", linewidth=1.2, label="Appetite")
    if money_x:
        ax.xaxis.set_major_formatter(money_formatter())
    if money_y:
        ax.yaxis.set_major_formatter(money_formatter())
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(title or f"{ylabel or y} against {xlabel or x}")
    _legend(ax)
    return fig


# ----------------------------------------------------------------------------- accessor


class PlotAccessor:
    """``result.plot.<kind>()``: the charts of one result.

    Parameters
    ----------
    result : Result

    Examples
    --------
    >>> import riskshare as rs
    >>> result = rs.simulate(rs.load_config("configs/benchmark.yaml"), n_sims=2000, seed=7)
    >>> fig = PlotAccessor(result).fan()
    """

    def __init__(self, result: Result) -> None:
        self._result = result

    def __repr__(self) -> str:
        return "<PlotAccessor: .distribution(), .exceedance(), .fan()>"

    def distribution(self, partners: Sequence[str] | str | None = None, **kwargs: Any) -> Figure:
        """Histogram of each partner's net position; see :func:`distribution`."""
        return distribution(self._result, partners, **kwargs)

    def exceedance(
        self,
        partners: Sequence[str] | str | None = None,
        *,
        others: Mapping[str, Result] | None = None,
        label: str = "this result",
        **kwargs: Any,
    ) -> Figure:
        """Exceedance curves; ``others`` adds results to the same chart. See :func:`exceedance`."""
        if others:
            return exceedance({label: self._result, **others}, partners, **kwargs)
        return exceedance(self._result, partners, **kwargs)

    def fan(self, measures: Sequence[str] | str = ("variance", "reserve"), **kwargs: Any) -> Figure:
        """Fan chart of the pool's variance and reserve; see :func:`fan`."""
        return fan(self._result, measures, **kwargs)


def tornado(
    table: pd.DataFrame,
    *,
    measure: str = "p95",
    partners: Sequence[str] | None = None,
    top: int = 12,
    model: Model | None = None,
) -> Figure:
    """A tornado chart per partner: bars from base to the value at low and at high.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`riskshare.analysis.tornado` output.
    measure : str
        Which measure to chart (``mean``, ``p95``, ...).
    partners : sequence of str, optional
        Default every partner in the table except ``pool``.
    top : int
        The ``top`` assumptions by swing in each panel.
    model : Model, optional
        The model the table was made from: assumptions and partners are then
        labelled by their display names ("Learning disability: cost
        inflation"), not config paths.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal panel per partner, largest swing on top, £ axis.
    """
    from matplotlib.patches import Patch

    from riskshare.config.names import assumption_label, partner_labels

    who = partner_labels(model) if model is not None else {}

    def name(path: str) -> str:
        return assumption_label(model, path) if model is not None else path

    t = table[table["measure"] == measure]
    if partners is None:
        partners = [p for p in dict.fromkeys(t["partner"]) if p != "pool"]
    rows_max = max([min(top, int((t["partner"] == p).sum())) for p in partners] + [1])
    fig = Figure(figsize=(9, 1.2 + 0.45 * rows_max * len(partners)), layout="constrained")
    axes = fig.subplots(len(partners), 1, squeeze=False)[:, 0]
    for ax, partner in zip(axes, partners, strict=True):
        d = t[t["partner"] == partner].sort_values("swing", ascending=False).head(top)
        d = d.iloc[::-1]
        y = np.arange(len(d))
        base = float(d["base"].iloc[0]) if len(d) else 0.0
        ax.barh(y, d["at_low"] - base, left=base, color=PALETTE[0], label="at low")
        ax.barh(y, d["at_high"] - base, left=base, color=PALETTE[1], label="at high")
        ax.axvline(base, color="black", lw=0.8)
        labels = [
            f"{name(a)}  ({_short_value(lo)} to {_short_value(hi)})"
            for a, lo, hi in zip(d["assumption"], d["low_value"], d["high_value"], strict=True)
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.xaxis.set_major_formatter(money_formatter())
        ax.set_title(
            f"{who.get(partner, partner)}: {measure.upper()} net position over the agreement "
            f"(as assumed: {format_money(base)})",
            fontsize=10,
            loc="right",
        )
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(
        handles=[
            Patch(color=PALETTE[0], label="assumption at low"),
            Patch(color=PALETTE[1], label="assumption at high"),
        ],
        loc="lower right",
        fontsize=8,
    )
    return fig


def _short_value(v: float) -> str:
    """A tornado label's low or high value: a rate in %, a count as is, money in £k/£m."""
    if abs(v) < 1:
        return f"{100 * v:.3g}%"
    return f"{v:.3g}" if abs(v) < 1e4 else format_money(v)


def sweep_panels(
    frame: pd.DataFrame,
    params: Sequence[str],
    partners: Sequence[str],
    measure: str = "mean",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """One panel per partner: a measure against the first swept value, a line per other point.

    Parameters
    ----------
    frame : pandas.DataFrame
        The sweep table (:func:`riskshare.analysis.sweep`): the swept config
        paths as columns, and ``{partner}_{measure}`` columns.
    params : sequence of str
        The swept columns; the first is the x axis, the others name the lines.
    partners : sequence of str
        Partner ids, one panel each.
    measure : str
        The measure drawn (``mean``, ``p95``...). [£]
    labels : mapping of str to str, optional
        Display names of the partners (panel titles).

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = labels or {}
    x, others = params[0], list(params[1:])
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(5.2 * len(partners), 4.2), layout="constrained")
        axes = fig.subplots(1, len(partners), squeeze=False)[0]
    tidy = frame.assign(
        line=frame[others].astype(str).agg(", ".join, axis=1) if others else measure
    )
    if others:
        tidy["line"] = ", ".join(others) + " = " + tidy["line"]
    for ax, partner in zip(axes, partners, strict=True):
        _style(ax)
        sweep(
            tidy,
            x,
            f"{partner}_{measure}",
            hue="line",
            money_x=False,
            xlabel=x,
            ylabel=f"{measure} net position",
            title=labels.get(partner, partner),
            ax=ax,
        )
    return fig


def goal_seek(
    points: Sequence[tuple[float, float]],
    target: float | None,
    answer: float,
    interval: tuple[float, float],
    *,
    xlabel: str,
    ylabel: str,
    money_x: bool = False,
    money_y: bool = False,
) -> Figure:
    """The statistic against the decision value, with the target and the answer's interval.

    Parameters
    ----------
    points : sequence of (float, float)
        Decision values settled and the statistic there.
    target : float, optional
        The target value (a horizontal line).
    answer : float
        The decision value found (a vertical line).
    interval : (float, float)
        Its 95 % interval (a band; NaN draws none).
    xlabel, ylabel : str
    money_x, money_y : bool
        Format that axis in £ with k/m units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure_ax(None)
    xs, ys = np.asarray(sorted(points), dtype=float).T
    ax.plot(xs, ys, marker="o", markersize=3, color=_colour(0), label="Settled on the same draws")
    if target is not None:
        ax.axhline(target, color="0.2", linestyle=":", linewidth=1.2, label="Target")
    if np.isfinite(answer):
        ax.axvline(answer, color=_colour(1), linewidth=1.5, label="Answer")
    if all(np.isfinite(interval)):
        ax.axvspan(*interval, color=_colour(1), alpha=0.2, linewidth=0, label="95% interval")
    if money_x:
        ax.xaxis.set_major_formatter(money_formatter())
    if money_y:
        ax.yaxis.set_major_formatter(money_formatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel} against {xlabel}")
    ax.legend(fontsize=8)
    return fig
