"""Spend paths: what sampling produces and settlement consumes.

:class:`SpendPaths` holds simulated spend of every client group, year and
simulation, and the other random quantities an agreement depends on. It lives
apart from :mod:`riskshare.sampling` so that settlement works on any paths
(drawn, given by hand, read from a file) without importing the sampler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from riskshare._types import FloatArray, IntArray

__all__ = ["SpendPaths", "zeros_view"]


_ZERO = np.zeros(())


def zeros_view(shape: tuple[int, ...]) -> FloatArray:
    """A read-only array of zeros of ``shape`` that takes no memory (``np.broadcast_to``).

    Every element is one shared 0.0 (all strides are 0): writing to it raises
    ``ValueError: assignment destination is read-only``; copy it
    (``np.array(a)``) to get a writable array.
    """
    return np.broadcast_to(_ZERO, shape)


def _is_constant_view(a: FloatArray) -> bool:
    """Whether ``a`` is a broadcast view of one value (all strides 0, not empty)."""
    return a.ndim > 0 and a.size > 0 and not any(a.strides)


def _select(a: FloatArray, sel: IntArray) -> FloatArray:
    """``a[sel]`` along the first axis, keeping a broadcast constant a broadcast constant."""
    if _is_constant_view(a):
        return np.broadcast_to(a[(0,) * a.ndim], (sel.size, *a.shape[1:]))
    return a[sel]


@dataclass(frozen=True)
class SpendPaths:
    """Simulated spend of every client group, year and simulation, and the model-level draws.

    Only ``spend``, ``income``, ``group_ids`` and ``years`` need to be given:
    ``income=None`` and a missing ``savings`` become read-only zeros
    (:func:`zeros_view`), a missing ``metrics`` an empty mapping.

    Attributes
    ----------
    spend : ndarray of float64, shape (sims, years, groups)
        Gross spend (charging income not deducted). [£]
    income : ndarray of float64, shape (sims, years, groups)
        Client charging income (0 where a group has no charging). [£]
        When no group has charging it is a read-only broadcast view of
        zeros (:func:`zeros_view`): it takes no memory and cannot be written.
    group_ids : tuple of str
        Client group ids, in the order of the group axis.
    years : int
        Number of agreement years.
    first_sim : int
        Index of the first simulation held (for blocks).
    metrics : mapping of str to ndarray of float64, shape (sims, years)
        Performance metrics (``Model.performance``) by metric id, in config
        order, each Normal(mean, sd) independently in every year and
        simulation. [units of the metric] Empty when the model has none.
    savings : ndarray of float64, shape (sims, years)
        Integration savings ``amount * ramp[t] * U`` (``Model.integration_savings``),
        U drawn once per simulation. [£] Read-only zeros (:func:`zeros_view`)
        when the model has none.
    forecast : ndarray of float64, shape (sims, years), or None
        Standard normals of the ``forecast`` stream: the Brownian bridge of a
        trigger on a forecast (``agreement.trigger.on: forecast``). ``None``
        when no trigger acts on a forecast (nothing is drawn).
    case_shares : mapping of str to ndarray of float64, shape (sims, years, partners)
        For each group with case splits (``ClientGroup.cases``), by group id:
        each partner's share of the group's spend that year, the sum of its
        shares of the group's cases (each row sums to 1). [fraction] Empty
        when no group has case splits; a group missing here is split by its
        ``commissioners`` (the expected split).
    """

    spend: FloatArray
    income: FloatArray | None
    group_ids: tuple[str, ...]
    years: int
    first_sim: int = 0
    metrics: Mapping[str, FloatArray] = field(default_factory=dict)
    savings: FloatArray | None = None
    forecast: FloatArray | None = None
    case_shares: Mapping[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sims = self.spend.shape[0] if self.spend.ndim else 0
        shape = (sims, self.years, len(self.group_ids))
        if self.income is None:
            object.__setattr__(self, "income", zeros_view(shape))
        if self.spend.shape != shape or self.income.shape != shape:
            raise ValueError(
                f"spend and income must have shape (sims, years, groups) = {shape}, "
                f"got {self.spend.shape} and {self.income.shape}"
            )
        paths = (sims, self.years)
        metrics = {} if self.metrics is None else dict(self.metrics)
        for mid, values in metrics.items():
            if np.shape(values) != paths:
                raise ValueError(
                    f"metrics[{mid!r}] must have shape (sims, years) = {paths}, "
                    f"got {np.shape(values)}"
                )
        object.__setattr__(self, "metrics", metrics)
        if self.savings is None:
            object.__setattr__(self, "savings", zeros_view(paths))
        elif np.shape(self.savings) != paths:
            raise ValueError(
                f"savings must have shape (sims, years) = {paths}, got {np.shape(self.savings)}"
            )
        if self.forecast is not None and np.shape(self.forecast) != paths:
            raise ValueError(
                f"forecast must have shape (sims, years) = {paths}, got {np.shape(self.forecast)}"
            )
        cases = {} if self.case_shares is None else dict(self.case_shares)
        for gid, values in cases.items():
            if gid not in self.group_ids or np.shape(values)[:2] != paths or np.ndim(values) != 3:
                raise ValueError(
                    f"case_shares[{gid!r}] must be a group's (sims, years, partners) = "
                    f"{(*paths, '...')}, got {np.shape(values)}"
                )
        object.__setattr__(self, "case_shares", cases)

    @property
    def n_sims(self) -> int:
        """Number of simulations held."""
        return int(self.spend.shape[0])

    @staticmethod
    def concatenate(parts: Sequence[SpendPaths], n: int | None = None) -> SpendPaths:
        """Consecutive blocks as one, keeping the first ``n`` simulations.

        Read-only zero views (no charging, no savings) stay views: nothing is
        allocated for them. One part is returned sliced, without a copy.

        Parameters
        ----------
        parts : sequence of SpendPaths
            Consecutive blocks (same groups, years and metrics), in order.
        n : int, optional
            Simulations to keep (default all).

        Returns
        -------
        SpendPaths
            ``first_sim`` is that of the first part.
        """
        if not parts:
            raise ValueError("parts must not be empty")
        total = sum(p.n_sims for p in parts)
        n = total if n is None else min(int(n), total)

        def cat(arrays: list[FloatArray]) -> FloatArray:
            if all(_is_constant_view(a) for a in arrays):
                return np.broadcast_to(arrays[0][(0,) * arrays[0].ndim], (n, *arrays[0].shape[1:]))
            if len(arrays) == 1:
                return arrays[0][:n]
            # Join along the simulation axis in the arrays' own memory layout
            # (simulations last), so the result keeps it.
            moved = [np.moveaxis(a, 0, -1) for a in arrays]
            return np.moveaxis(np.concatenate(moved, axis=-1)[..., :n], -1, 0)

        first = parts[0]
        return SpendPaths(
            cat([p.spend for p in parts]),
            cat([p.income for p in parts]),
            first.group_ids,
            first.years,
            first.first_sim,
            metrics={mid: cat([p.metrics[mid] for p in parts]) for mid in first.metrics},
            savings=cat([p.savings for p in parts]),
            forecast=None if first.forecast is None else cat([p.forecast for p in parts]),
            case_shares={g: cat([p.case_shares[g] for p in parts]) for g in first.case_shares},
        )

    def take(self, idx: int | slice | IntArray) -> SpendPaths:
        """Select simulations (positions in this object, not global indices).

        Parameters
        ----------
        idx : int, slice or array of int or bool
            Which simulations; an int keeps the simulation axis.

        Returns
        -------
        SpendPaths
            Spend, income, every metric, savings and case shares of those simulations;
            ``first_sim`` is the global index of the first one selected.
            Read-only zero views stay views.
        """
        sel = np.atleast_1d(np.arange(self.n_sims)[idx])
        first = self.first_sim + int(sel[0]) if sel.size else self.first_sim
        return SpendPaths(
            self.spend[sel],
            _select(self.income, sel),
            self.group_ids,
            self.years,
            first,
            metrics={mid: values[sel] for mid, values in self.metrics.items()},
            savings=_select(self.savings, sel),
            forecast=None if self.forecast is None else self.forecast[sel],
            case_shares={gid: values[sel] for gid, values in self.case_shares.items()},
        )
