"""Explore an agreement by hand: re-settle on spend already drawn, redraw the key figures.

:func:`explore` is a plain function: it settles a changed agreement (or
changed contributions) on the spend paths drawn once with
:func:`riskshare.sample`, so nothing is resampled and the comparison with the
original agreement is paired. At 100,000 simulations it takes a fraction of a
second. :func:`explore_widgets` wraps it in ipywidgets sliders for a
notebook (``pip install riskshare[notebook]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare.errors import RiskshareError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from riskshare.config.model import Agreement, Model
    from riskshare.paths import SpendPaths
    from riskshare.run import Result

__all__ = ["explore", "explore_widgets"]

#: Columns of the summary shown by :func:`explore`.
EXPLORE_COLUMNS = (
    "mean",
    "p50",
    "p95",
    "tvar95",
    "prob_pays",
    "prob_call_any_year",
    "prob_exceeds",
    "mean_se",
)


def _contributions(model: Model, contributions: Any) -> np.ndarray | None:
    if contributions is None:
        return None
    if isinstance(contributions, Mapping):
        sched = model.contribution_schedule().copy()
        for pid, value in contributions.items():
            if pid not in model.partner_ids:
                raise ValueError(
                    f"contributions: unknown partner {pid!r} "
                    f"(partners: {', '.join(model.partner_ids)})"
                )
            col = model.partner_ids.index(pid)
            arr = np.asarray(value, dtype=float)
            if arr.ndim == 0:
                sched[:, col] *= float(arr)
            elif arr.shape == (sched.shape[0],):
                sched[:, col] = arr
            else:
                raise ValueError(
                    f"contributions.{pid}: give a scale factor or one amount per "
                    f"year ({sched.shape[0]}), got shape {arr.shape}"
                )
        return sched
    return np.asarray(contributions, dtype=float)


def explore(
    model: Model,
    paths: SpendPaths,
    *,
    contributions: Mapping[str, Any] | np.ndarray | None = None,
    agreement_changes: Mapping[str, Any] | None = None,
    agreement: Agreement | None = None,
    baseline: bool = True,
) -> tuple[pd.DataFrame, Figure]:
    """Re-settle a changed agreement on drawn spend: key figures and an exceedance chart.

    Parameters
    ----------
    model : Model
        The scenario the paths were drawn from.
    paths : SpendPaths
        Spend drawn once with :func:`riskshare.sample` (not redrawn).
    contributions : mapping or ndarray, optional
        ``{partner: scale}`` multiplying that partner's contributions every
        year [fraction], ``{partner: [amount per year]}`` [£], or a full
        ``(years, partners)`` array [£]. Default: the model's.
    agreement_changes : mapping of str to value, optional
        Changes to the agreement by dotted path relative to ``agreement``,
        e.g. ``{"reserve.opening": 1e6, "overspend.bands[0].upto": 0.03}``;
        validated like a config file.
    agreement : Agreement, optional
        Start from this agreement instead of ``model.agreement``.
    baseline : bool
        Also draw the unchanged agreement's curves (dashed) on the chart.

    Returns
    -------
    summary : pandas.DataFrame
        :meth:`Result.summary` of the changed agreement (one row per partner
        and the pool). [£, fraction]
    figure : matplotlib.figure.Figure
        Exceedance curves of the changed (and the original) agreement.

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/benchmark.yaml")
    >>> paths = rs.sample(model, n_sims=2000, seed=1)
    >>> table, fig = explore(model, paths, contributions={"nhs": 1.02})
    >>> list(table.index)
    ['nhs', 'council', 'pool']
    """
    from riskshare.config.load import with_changes
    from riskshare.report.plots import exceedance
    from riskshare.run import Result
    from riskshare.settle import settle

    base_agreement = model.agreement if agreement is None else agreement
    changed = (
        with_changes(base_agreement, agreement_changes) if agreement_changes else base_agreement
    )
    contrib = _contributions(model, contributions)
    ledger = settle(model, paths, agreement=changed, contributions=contrib)
    result = Result.from_ledger(model, ledger)
    summary = result.summary()
    curves: dict[str, Result] = {"changed": result}
    if baseline and (contrib is not None or changed is not model.agreement):
        curves["original"] = Result.from_ledger(model, settle(model, paths))
    fig = exceedance(
        curves if len(curves) > 1 else result,
        title="Chance of paying more than £X (re-settled on the same draws)",
    )
    return summary, fig


def explore_widgets(model: Model, n_sims: int = 100_000, seed: int | None = None) -> Any:
    """Sliders for each partner's contributions, the reserve and the first band; live figures.

    Draws ``n_sims`` spend paths once; each slider move re-settles on them
    with :func:`explore` and redraws the key figures and the exceedance chart.

    Parameters
    ----------
    model : Model
    n_sims : int
        Simulations drawn once.
    seed : int, optional
        Default: the config's seed.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook (it is the cell's value).
    """
    try:
        import ipywidgets as w
    except ImportError as exc:  # pragma: no cover - optional extra
        raise ImportError(
            "explore_widgets needs ipywidgets: pip install 'riskshare[notebook]'"
        ) from exc
    from IPython.display import display

    from riskshare.report.html import money
    from riskshare.sampling import sample

    paths = sample(model, n_sims=n_sims, seed=model.simulation.seed if seed is None else seed)
    labels = {p.id: p.label for p in model.partners}
    style = {"description_width": "16em"}
    layout = w.Layout(width="36em")
    sliders: dict[str, Any] = {}
    for pid in model.partner_ids:
        sliders[f"scale:{pid}"] = w.FloatSlider(
            value=1.0,
            min=0.8,
            max=1.2,
            step=0.005,
            readout_format=".1%",
            description=f"{labels[pid]} contributions ×",
            style=style,
            layout=layout,
            continuous_update=False,
        )
    reserve = model.agreement.reserve
    if reserve is not None:
        budget = float(model.contribution_schedule()[0].sum())
        sliders["reserve.opening"] = w.FloatSlider(
            value=reserve.opening,
            min=0.0,
            max=max(0.1 * budget, 2 * reserve.opening),
            step=max(budget / 1000, 1.0),
            readout_format=",.0f",
            description="Reserve opening balance £",
            style=style,
            layout=layout,
            continuous_update=False,
        )
    bands = model.agreement.overspend.bands
    if bands and bands[0].upto is not None:
        upto = bands[0].upto
        top = bands[1].upto if len(bands) > 1 and bands[1].upto is not None else 3 * upto
        basis_budget = model.agreement.overspend.basis == "budget"
        sliders["overspend.bands[0].upto"] = w.FloatSlider(
            value=upto,
            min=upto / 10,
            max=top * 0.999,
            step=upto / 20,
            readout_format=".2%" if basis_budget else ",.0f",
            description="First overspend band up to",
            style=style,
            layout=layout,
            continuous_update=False,
        )
    out = w.Output()

    def redraw(_: Any = None) -> None:
        scales = {k.split(":", 1)[1]: s.value for k, s in sliders.items() if k.startswith("scale:")}
        changes = {k: s.value for k, s in sliders.items() if not k.startswith("scale:")}
        if reserve is not None and changes.get("reserve.opening") == reserve.opening:
            changes.pop("reserve.opening")
        if bands and changes.get("overspend.bands[0].upto") == bands[0].upto:
            changes.pop("overspend.bands[0].upto", None)
        with out:
            out.clear_output(wait=True)
            try:
                table, fig = explore(
                    model, paths, contributions=scales, agreement_changes=changes or None
                )
            except (RiskshareError, ValueError) as exc:
                # A slider combination the config does not allow: say so in the widget.
                print(f"Cannot settle this agreement: {exc}")
                return
            cols = [c for c in EXPLORE_COLUMNS if c in table.columns]
            shown = table[cols].copy()
            for c in cols:
                shown[c] = [
                    f"{100 * v:.1f}%" if c.startswith("prob") else money(v) for v in shown[c]
                ]
            display(shown)
            display(fig)

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([*sliders.values(), out])
