"""Sweeps: one row of metrics for each point of a grid (or list) of config changes.

A point is a mapping of dotted config paths to values, e.g.
``{"contributions.council.factor": 1.05, "agreement.reserve.opening": 5e5}``.
Two special forms make contribution sweeps easy:

* ``contributions.<partner>: 1.1`` (a number where the config has a
  contribution mapping) scales that partner's whole contribution schedule by
  1.1, whatever its kind;
* any other path is applied with :func:`riskshare.config.load.with_changes`
  and validated like the file.

Points that change only the agreement, contributions or appetite are settled
on the spend already drawn (common random numbers; drawn once per process);
points that change the model (growth, costs, years...) draw their own spend
with the same seed. Each point's numbers are exactly those of
:func:`riskshare.simulate` on the changed model with the same seed.

With ``resume_dir`` each finished point is saved as a small JSON file keyed by
a hash of the base config, its changes, the number of simulations, the seed
and the metrics; a rerun skips the points already there.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from riskshare.analysis.comparison import (
    STATISTICS,
    outcome_of,
    parse_statistic,
    statistic,
)
from riskshare.config.model import Model, value_problems
from riskshare.errors import InputError
from riskshare.run import Outcomes, config_digest
from riskshare.streams import resolve_seed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_METRICS",
    "SweepFile",
    "apply_point",
    "expand_points",
    "load_sweep",
    "metric_columns",
    "point_metrics",
    "sweep",
]

#: Statistics reported for every partner and the pool unless told otherwise.
DEFAULT_METRICS = (
    "mean",
    "p95",
    "tvar95",
    "prob_pays",
    "prob_call_any_year",
    "prob_exceeds",
    "worst_year_p95",
)


# --------------------------------------------------------------------------- points


def expand_points(
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The points of a grid (cartesian product) or a list of points.

    Parameters
    ----------
    grid : mapping of str to sequence, or sequence of mappings
        ``{"a.b": [1, 2], "c": [3, 4]}`` gives 4 points; ``[{"a.b": 1}, ...]``
        is used as is.
    """
    if isinstance(grid, Mapping):
        keys = list(grid)
        values = []
        for k in keys:
            v = grid[k]
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
                raise InputError(f"grid.{k}: give a list of values (got {v!r})")
            if len(v) == 0:
                raise InputError(f"grid.{k}: the list of values is empty")
            values.append(list(v))
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    points = []
    for i, p in enumerate(grid):
        if not isinstance(p, Mapping):
            raise InputError(f"points[{i}]: each point must be a mapping of path: value")
        points.append(dict(p))
    return points


#: Largest factor a sweep may scale a partner's contribution schedule by.
MAX_CONTRIBUTION_SCALE = 100.0


def apply_point(model: Model, changes: Mapping[str, Any]) -> tuple[Model, np.ndarray | None]:
    """The model of one point and, for scaled contributions, the contributions array.

    Parameters
    ----------
    model : Model
        Base scenario.
    changes : mapping of str to value
        Dotted paths; ``contributions.<partner>: number`` scales that
        partner's schedule.

    Returns
    -------
    (Model, ndarray or None)
        The validated changed model and, when a schedule was scaled, the
        ``(years, partners)`` contributions to settle. [£]

    Raises
    ------
    riskshare.errors.ConfigError
        If a change is not valid (the message names the field).
    """
    from riskshare.config.load import with_changes

    scales: dict[str, float] = {}
    rest: dict[str, Any] = {}
    for key, value in changes.items():
        parts = key.split(".")
        if (
            len(parts) == 2
            and parts[0] == "contributions"
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            if parts[1] not in model.partner_ids:
                raise InputError(
                    f"{key}: unknown partner '{parts[1]}' "
                    f"(partners: {', '.join(model.partner_ids)})"
                )
            kind = model.contributions[parts[1]].kind
            if kind in ("rebased", "outturn"):
                raise InputError(
                    f"{key}: a '{kind}' contribution is re-set each year and cannot be scaled "
                    f"as a fixed path; sweep one of its fields instead (e.g. {key}."
                    f"{'base' if kind == 'rebased' else 'factor'})"
                )
            if not 0 <= value <= MAX_CONTRIBUTION_SCALE:
                raise InputError(
                    f"{key}: a contribution scale must be a number from 0 to "
                    f"{MAX_CONTRIBUTION_SCALE:g} (got {value})"
                )
            scales[parts[1]] = float(value)
        else:
            rest[key] = value
    changed = with_changes(model, rest) if rest else model
    if not scales:
        return changed, None
    contrib = changed.contribution_schedule()
    for pid, factor in scales.items():
        contrib[:, changed.partner_ids.index(pid)] *= factor
    problems = value_problems(changed, contributions=contrib)
    if problems:
        raise InputError("; ".join(problems))
    return changed, contrib


# --------------------------------------------------------------------------- metrics


def _parse_metrics(
    model: Model, metrics: Sequence[str] | None
) -> list[tuple[str, str, float | None]]:
    """``(subject, name, param)`` for every requested metric."""
    subjects = [*model.partner_ids, "pool"]
    out: list[tuple[str, str, float | None]] = []
    for m in metrics or DEFAULT_METRICS:
        if ":" in m and m.split(":")[0] in subjects:
            out.append(parse_statistic(m))
            continue
        for s in subjects:
            subj, name, param = parse_statistic(f"{s}:{m}")
            if name == "prob_reserve_exhausted" and s != "pool":
                continue
            if name == "prob_exceeds" and s not in model.appetite:
                continue
            out.append((subj, name, param))
    if metrics is None:
        out.append(("pool", "prob_reserve_exhausted", None))
    return out


def metric_columns(specs: Sequence[tuple[str, str, float | None]]) -> list[str]:
    """Column names ``<subject>_<statistic>[_<parameter>]`` of parsed metrics."""
    return [f"{s}_{n}" if p is None else f"{s}_{n}_{p:g}" for s, n, p in specs]


def point_metrics(
    outcome: Outcomes, specs: Sequence[tuple[str, str, float | None]]
) -> dict[str, float]:
    """The metrics of one settled outcome, keyed by :func:`metric_columns`."""
    return {
        col: statistic(outcome, s, n, p)
        for col, (s, n, p) in zip(metric_columns(specs), specs, strict=True)
    }


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class _Item:
    model: Model
    changes: dict[str, Any]
    n_sims: int
    seed: int
    specs: tuple[tuple[str, str, float | None], ...]
    check: bool


def _run_item(item: _Item) -> dict[str, float]:
    model, contrib = apply_point(item.model, item.changes)
    n_sims, seed = item.n_sims, item.seed
    if "simulation.n_sims" in item.changes:
        n_sims = model.simulation.n_sims
    if "simulation.seed" in item.changes and model.simulation.seed is not None:
        seed = model.simulation.seed
    outcome = outcome_of(model, n_sims, seed, contributions=contrib, check=item.check)
    return point_metrics(outcome, item.specs)


def _point_key(base_digest: str, item: _Item) -> str:
    text = json.dumps(
        {
            "config": base_digest,
            "changes": item.changes,
            "n_sims": item.n_sims,
            "seed": str(item.seed),
            "metrics": [list(s) for s in item.specs],
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- sweep


def sweep(
    model: Model,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    n_sims: int | None = None,
    seed: int | None = None,
    *,
    metrics: Sequence[str] | None = None,
    resume_dir: str | Path | None = None,
    executor: Any = None,
    check: bool = True,
) -> pd.DataFrame:
    """Metrics of each partner at every point of a grid of config changes.

    Parameters
    ----------
    model : Model
        The base scenario.
    grid : mapping of str to sequence, or sequence of mappings
        ``{"contributions.council.factor": [0.95, 1.0, 1.05]}`` (cartesian
        product of the lists) or a list of points ``[{path: value, ...}, ...]``.
        ``contributions.<partner>: x`` scales that partner's schedule by x.
    n_sims : int, optional
        Simulations per point (default ``model.simulation.n_sims``).
    seed : int, optional
        Seed of every point (default ``model.simulation.seed``).
    metrics : sequence of str, optional
        Statistics (see :data:`riskshare.analysis.comparison.STATISTICS`):
        ``"p95"`` is reported for every partner and the pool,
        ``"council:p_any_year_above:2e6"`` for one subject. Default
        :data:`DEFAULT_METRICS` plus ``pool:prob_reserve_exhausted``.
    resume_dir : str or Path, optional
        Folder where each finished point is saved; points already saved
        there (same config, changes, n_sims, seed and metrics) are not
        recomputed.
    executor : None, "local", str or distributed.Client
        Where points run (see :func:`riskshare.executors.run_items`); the
        numbers are the same everywhere.
    check : bool
        Check every settled year balances.

    Returns
    -------
    pandas.DataFrame
        One row per point: a column per changed path (its value), then
        ``<subject>_<statistic>`` metric columns ([£] or [fraction]), and
        ``n_sims``, ``seed``.

    Examples
    --------
    >>> import riskshare as rs
    >>> from riskshare.analysis import sweep
    >>> model = rs.load_config("configs/section75_example.yaml")
    >>> frame = sweep(model, {"contributions.council.factor": [1.0, 1.1]}, n_sims=2000, seed=1)
    >>> len(frame)
    2
    """
    import pandas as pd

    from riskshare.executors import run_items

    n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
    if n_sims < 1:
        raise InputError(f"n_sims must be >= 1, got {n_sims}")
    seed = resolve_seed(model.simulation.seed if seed is None else seed)
    points = expand_points(grid)
    if not points:
        raise InputError("the sweep has no points (give a grid or a list of points)")
    specs = tuple(_parse_metrics(model, metrics))
    # Validate every point up front so a typo fails before hours of work.
    from riskshare.errors import ConfigError

    for i, p in enumerate(points):
        try:
            apply_point(model, p)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {i} {p}", exc.problems) from None
        except InputError as exc:
            raise InputError(f"sweep point {i}: {exc}") from None
    items = [_Item(model, p, n_sims, seed, specs, check) for p in points]

    digest = config_digest(model)
    keys = [_point_key(digest, it) for it in items]
    done: dict[int, dict[str, float]] = {}
    store: Path | None = None
    if resume_dir is not None:
        store = Path(resume_dir) / "points"
        store.mkdir(parents=True, exist_ok=True)
        for i, key in enumerate(keys):
            f = store / f"{key}.json"
            if f.exists():
                with contextlib.suppress(ValueError, KeyError):  # a damaged file is recomputed
                    done[i] = json.loads(f.read_text(encoding="utf-8"))["metrics"]
    todo = [i for i in range(len(items)) if i not in done]

    def save(j: int, row: dict[str, float]) -> None:
        i = todo[j]
        done[i] = row
        if store is not None:
            _write_json(
                store / f"{keys[i]}.json",
                {
                    "changes": points[i],
                    "n_sims": n_sims,
                    "seed": str(seed),
                    "metrics": row,
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                },
            )

    run_items(_run_item, [items[i] for i in todo], executor, on_result=save)

    params = pd.DataFrame(points)
    values = pd.DataFrame([done[i] for i in range(len(items))], columns=metric_columns(specs))
    frame = pd.concat([params, values], axis=1)
    frame["n_sims"] = n_sims
    frame["seed"] = seed
    frame.index.name = "point"
    return frame


# --------------------------------------------------------------------------- sweep files


class SweepFile(BaseModel):
    """A sweep file (YAML/TOML).

    ``config`` (path, relative to the sweep file), ``sims``, ``seed``, either
    ``grid`` (``{dotted.path: [values]}``, cartesian) or ``points`` (a list of
    ``{dotted.path: value}``), optional ``metrics`` and ``set`` (overrides of
    the config, ``path=value`` strings).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    config: str = Field(description="The base configuration file, relative to the sweep file.")
    sims: int | None = Field(None, ge=1, description="Simulations per point.")
    seed: int | None = Field(None, ge=0)
    grid: dict[str, list[Any]] | None = Field(
        None, description="{dotted.path: [values]} (cartesian)."
    )
    points: list[dict[str, Any]] | None = Field(None, description="A list of {dotted.path: value}.")
    metrics: list[str] | None = Field(
        None, description="Statistics to report (default: the usual set)."
    )
    set: list[str] = Field(default_factory=list, description="Overrides of the base config.")


def load_sweep(path: str | Path) -> tuple[Model, SweepFile]:
    """Read a sweep file and its base config.

    Raises
    ------
    riskshare.errors.ConfigError
        Naming the file and the field of any problem.
    """
    from riskshare.config.load import load_config, read_config_data, validate_data
    from riskshare.errors import ConfigError

    path = Path(path)
    data, lines = read_config_data(path)
    spec: SweepFile = validate_data(data, source=str(path), lines=lines, model=SweepFile)
    if (spec.grid is None) == (spec.points is None):
        raise ConfigError(str(path), [("", "give exactly one of 'grid' or 'points'")])
    for name, values in (spec.grid or {}).items():
        if not values:
            raise ConfigError(str(path), [(f"grid.{name}", "the list of values is empty")])
    for m in spec.metrics or []:
        try:
            if m.split(":")[0] in _STAT_NAMES:
                parse_statistic(f"pool:{m}")
            else:
                parse_statistic(m)
        except InputError as exc:
            raise ConfigError(str(path), [("metrics", str(exc))]) from None
    config = Path(spec.config)
    if not config.is_absolute():
        config = path.parent / config
    model = load_config(config, spec.set)
    return model, spec


_STAT_NAMES = frozenset(k.split(":")[0] for k in STATISTICS)
