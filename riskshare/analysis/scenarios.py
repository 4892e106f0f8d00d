"""Named stress scenarios compared with the base on common random numbers.

A scenario is a set of changes to the config, each a dotted path
(``client_groups[1].spend.cost.inflation``) and

* a value: sets it (on an uncertain ``{mean, sd}`` rate, a number moves the
  ``mean`` and keeps the ``sd``; give ``{mean: .., sd: ..}`` to replace both);
* ``{multiply: f}`` or ``{add: a}``: scales or shifts the current value (the
  ``mean`` of an uncertain rate);

or the special key ``add_step_change: {group: id, year: 2, factor: 1.1}`` (or
a list of them), which appends a :class:`~riskshare.config.model.StepChange`
to a group: "demand +10 % from year 3" is ``{group: g, year: 2, factor:
1.1}`` and "inflation +3 points for two years" is two step changes of
``1.03`` at years 0 and 1 (the price level stays raised afterwards, as it
would).

The base and every scenario are simulated with the same seed and block size,
so every stream (keyed by seed, block and group name) gives the same numbers
wherever the scenario does not change them: differences are paired, not
noise. By default the **contributions are held at the base's** (the agreed
amounts do not move when the world does) unless a scenario changes a
``contributions.*`` path.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskshare.config.load import get_path, parse_override, set_path, validate_data
from riskshare.config.model import Model
from riskshare.errors import ConfigError, InputError
from riskshare.metrics import tvar
from riskshare.run import Result, simulate

__all__ = ["apply_changes", "paired_compare", "stress"]

STEP_KEY = "add_step_change"
#: Batches used for the standard error of a paired difference of P95 / TVaR95.
BATCHES = 20


def _new_value(key: str, current: Any, change: Any) -> Any:
    """The value after ``change`` (value, {multiply}, {add}) on ``current``."""
    uncertain = isinstance(current, Mapping) and set(current) == {"mean", "sd"}
    base = current["mean"] if uncertain else current
    if (
        isinstance(change, Mapping)
        and len(change) == 1
        and next(iter(change)) in ("multiply", "add")
    ):
        op, arg = next(iter(change.items()))
        if (
            not isinstance(base, (int, float))
            or isinstance(base, bool)
            or not isinstance(arg, (int, float))
        ):
            raise InputError(f"'{key}': {op} needs a number at that path (found {base!r})")
        new = base * arg if op == "multiply" else base + arg
    elif uncertain and isinstance(change, (int, float)) and not isinstance(change, bool):
        new = float(change)
    else:
        return copy.deepcopy(change)
    return {"mean": new, "sd": current["sd"]} if uncertain else new


def apply_changes(model: Model, changes: Mapping[str, Any], *, source: str = "<changes>") -> Model:
    """A re-validated copy of ``model`` with a scenario's changes applied.

    Parameters
    ----------
    model : Model
    changes : mapping
        ``{dotted.path: value | {multiply: f} | {add: a}}`` and optionally
        ``add_step_change: {group, year, factor}`` (or a list of them); see
        the module docstring.
    source : str
        Named in error messages (e.g. the scenario).

    Raises
    ------
    riskshare.errors.InputError
        For a path that does not exist or an unknown group.
    riskshare.errors.ConfigError
        If the changed config is not valid.
    """
    data = model.model_dump(mode="json")
    for key, change in changes.items():
        if key == STEP_KEY:
            steps = (
                change if isinstance(change, Sequence) and not isinstance(change, str) else [change]
            )
            ids = [g["id"] for g in data["client_groups"]]
            for step in steps:
                if not isinstance(step, Mapping) or set(step) != {"group", "year", "factor"}:
                    raise InputError(
                        f"{source}: {STEP_KEY} needs {{group, year, factor}} (got {step!r})"
                    )
                if step["group"] not in ids:
                    raise InputError(
                        f"{source}: {STEP_KEY}: unknown client group "
                        f"'{step['group']}' (groups: {', '.join(ids)})"
                    )
                g = data["client_groups"][ids.index(step["group"])]
                g.setdefault("step_changes", []).append(
                    {"year": step["year"], "factor": step["factor"]}
                )
            continue
        try:
            current = get_path(data, key)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        set_path(data, parse_override(f"{key}=0")[0], _new_value(key, current, change))
    try:
        return validate_data(data, source=source)
    except ConfigError:
        raise


def _holds_contributions(changes: Mapping[str, Any]) -> bool:
    return not any(str(k).startswith("contributions") for k in changes)


def run_variant(
    base: Model,
    changes: Mapping[str, Any],
    *,
    n_sims: int,
    seed: int,
    hold_contributions: bool = True,
    source: str = "<changes>",
    **simulate_kwargs: Any,
) -> Result:
    """Simulate ``base`` with ``changes`` on the base's random numbers (and contributions).

    Contributions re-set each year (``rebased``, ``outturn``) are not held:
    they respond to the changed spend by design, and holding them would fix them.
    """
    model = apply_changes(base, changes, source=source) if changes else base
    contributions = None
    if hold_contributions and _holds_contributions(changes) and not base.contributions_vary:
        contributions = base.contribution_schedule()
    return simulate(model, n_sims, seed, contributions=contributions, **simulate_kwargs)


def _p95(x: np.ndarray) -> np.ndarray:
    return np.quantile(x, 0.95, axis=0)


def _tvar95(x: np.ndarray) -> np.ndarray:
    return tvar(x, 0.95)


def _batch_se(base: np.ndarray, alt: np.ndarray, stat: Any, batches: int = BATCHES) -> np.ndarray:
    """Standard error of ``stat(alt) - stat(base)`` by batch means over contiguous batches."""
    n = base.shape[0]
    b = min(batches, n // 20)
    if b < 2:
        return np.full(base.shape[1:], np.nan)
    edges = np.linspace(0, n, b + 1).astype(int)
    diffs = np.array([stat(alt[i:j]) - stat(base[i:j]) for i, j in itertools.pairwise(edges)])
    return diffs.std(axis=0, ddof=1) / math.sqrt(b)


def paired_compare(base: Result, alt: Result, name: str) -> pd.DataFrame:
    """Per-partner measures of ``alt`` and their paired differences from ``base``.

    Returns
    -------
    pandas.DataFrame
        Index ``(scenario, partner)``; ``mean, p95, tvar95`` of the
        whole-agreement net position and ``diff_mean, diff_mean_se,
        diff_p95, diff_p95_se, diff_tvar95, diff_tvar95_se`` against the base
        on the same simulations. ``diff_mean_se`` is the exact paired
        standard error; the P95 and TVaR95 ones are batch-means estimates
        (20 contiguous batches). [£]
    """
    xb, index = base.net_with_pool()
    xa, _ = alt.net_with_pool()
    d = xa - xb
    n = d.shape[0]
    frame = pd.DataFrame(
        {
            "mean": xa.mean(axis=0),
            "p95": _p95(xa),
            "tvar95": _tvar95(xa),
            "diff_mean": d.mean(axis=0),
            "diff_mean_se": d.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.nan,
            "diff_p95": _p95(xa) - _p95(xb),
            "diff_p95_se": _batch_se(xb, xa, _p95),
            "diff_tvar95": _tvar95(xa) - _tvar95(xb),
            "diff_tvar95_se": _batch_se(xb, xa, _tvar95),
        },
        index=pd.MultiIndex.from_product([[name], index], names=["scenario", "partner"]),
    )
    return frame


def stress(
    model: Model,
    scenarios: Mapping[str, Mapping[str, Any]],
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    hold_contributions: bool = True,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """Each named scenario against the base, on common random numbers.

    Parameters
    ----------
    model : Model
        The base.
    scenarios : mapping of str to mapping
        ``{name: {dotted.path: value | {multiply: f} | {add: a}, add_step_change: {...}}}``.
    n_sims : int, optional
        Default ``model.simulation.n_sims``.
    seed : int, optional
        Default the model's seed (drawn once and shared if None).
    hold_contributions : bool
        Settle every scenario with the base's contributions (default), unless
        it changes ``contributions.*``.
    **simulate_kwargs
        Passed to :func:`riskshare.simulate` (``workers``, ...).

    Returns
    -------
    pandas.DataFrame
        Index ``(scenario, partner)`` with the ``base`` first; see
        :func:`paired_compare` for the columns. [£]

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/section75_example.yaml")
    >>> table = stress(model, {"demand +10% from year 3": {"add_step_change":
    ...     {"group": "learning_disability", "year": 2, "factor": 1.1}}}, n_sims=2000, seed=1)
    >>> bool(table.loc[("demand +10% from year 3", "council"), "diff_mean"] > 0)
    True
    """
    from riskshare.streams import resolve_seed

    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    base = simulate(model, n_sims, seed, **simulate_kwargs)
    frames = [paired_compare(base, base, "base")]
    for name, changes in scenarios.items():
        if not isinstance(changes, Mapping):
            raise InputError(
                f"scenario '{name}': give a mapping of changes (got {type(changes).__name__})"
            )
        alt = run_variant(
            model,
            changes,
            n_sims=n_sims,
            seed=seed,
            hold_contributions=hold_contributions,
            source=f"scenario '{name}'",
            **simulate_kwargs,
        )
        frames.append(paired_compare(base, alt, str(name)))
    return pd.concat(frames)
