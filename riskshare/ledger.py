"""The ledger: named money flows of a settlement, and the balance check.

Every pound that moves in a settlement is a named flow, either at the level of
the pool ``(sims, years)`` or of each partner ``(sims, years, partners)``. Each
flow is an inflow to the pool or an outflow from it, so in every year of every
simulation

    sum of inflows == sum of outflows

to the penny (:func:`check_balance`). Nothing is silently created or lost: an
overspend no partner can be made to pay is itself a flow (``unfunded``).

A partner's *net position* in a year is what it pays beyond its contribution:
``overspend_call - underspend_refund - final_distribution`` (positive: it pays;
negative: money back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from riskshare._types import FloatArray
from riskshare.errors import BalanceError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FLOWS", "Flow", "Ledger", "check_balance"]


@dataclass(frozen=True)
class Flow:
    """How a named flow enters the balance and the partner's net position."""

    name: str
    level: str  # "pool" or "partner"
    direction: int  # +1 inflow to the pool, -1 outflow from it, 0 memo (outside the pool)
    net_sign: int  # contribution to the partner's net position (+1 pays, -1 receives, 0 none)
    description: str


#: Every flow a settlement can produce, in display order.
FLOWS: Mapping[str, Flow] = MappingProxyType(
    {
        f.name: f
        for f in (
            Flow("contribution", "partner", +1, 0, "Agreed contribution paid into the pool."),
            Flow("overspend_call", "partner", +1, +1, "Extra payment to meet an overspend."),
            Flow("underspend_refund", "partner", -1, -1, "Underspend returned to the partner."),
            Flow(
                "final_distribution",
                "partner",
                -1,
                -1,
                "Reserve balance paid out at the end of the agreement.",
            ),
            Flow(
                "holdback_released",
                "partner",
                +1,
                0,
                "Held-back contribution released to the pool on performance.",
            ),
            Flow(
                "holdback_retained",
                "partner",
                0,
                0,
                "Held-back contribution paid to the partner's acute provider (memo).",
            ),
            Flow(
                "income_shortfall",
                "partner",
                +1,
                +1,
                "Charging income below the expected rate, met by the bearer (net pooling).",
            ),
            Flow(
                "partner_integration_cost",
                "partner",
                0,
                +1,
                "Integration set-up cost a partner pays outside the pool (memo).",
            ),
            Flow(
                "partner_integration_savings",
                "partner",
                0,
                -1,
                "Integration savings a partner keeps (memo).",
            ),
            Flow("spend", "pool", -1, 0, "Spend on the pool's client groups (after mitigation)."),
            Flow("charging_income", "pool", +1, 0, "Client charging income received by the pool."),
            Flow("integration_cost", "pool", -1, 0, "Integration set-up cost met by the pool."),
            Flow("integration_savings", "pool", +1, 0, "Integration savings credited to the pool."),
            Flow(
                "uncommitted_spend",
                "pool",
                -1,
                0,
                "Uncommitted allocation spent (not released to meet an overspend).",
            ),
            Flow("nonrecurrent_spend", "pool", -1, 0, "Underspend used for non-recurrent items."),
            Flow("mitigation", "pool", 0, 0, "Spend avoided by management action (memo)."),
            Flow("reserve_draw", "pool", +1, 0, "Reserve used to meet an overspend."),
            Flow(
                "reserve_topup",
                "pool",
                -1,
                0,
                "Money put into the reserve (top-slice or carried-forward underspend).",
            ),
            Flow("reserve_release", "pool", +1, 0, "Reserve balance released at the end."),
            Flow("unfunded", "pool", +1, 0, "Overspend no partner is liable for (reported)."),
        )
    }
)


@dataclass(frozen=True)
class Ledger:
    """Named flows of a settlement.

    Parameters
    ----------
    partner_flows : mapping of str to ndarray
        Flows per partner, each ``(sims, years, partners)``. [£]
    pool_flows : mapping of str to ndarray
        Flows of the pool, each ``(sims, years)``. [£]
    reserve : ndarray
        Reserve balance at the end of each year, ``(sims, years)``, after any
        release (so 0 at the end; ``extras["reserve_closing"]`` holds the
        balance distributed at the end). [£]
    partner_ids : sequence of str
        Labels of the partner axis.
    first_year : int
        Calendar year the first financial year starts (for labels).
    """

    partner_flows: Mapping[str, FloatArray]
    pool_flows: Mapping[str, FloatArray]
    reserve: FloatArray
    partner_ids: tuple[str, ...]
    first_year: int = 0
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ shape
    @property
    def n_sims(self) -> int:
        """Number of simulations."""
        return int(self.reserve.shape[0])

    @property
    def years(self) -> int:
        """Number of agreement years."""
        return int(self.reserve.shape[1])

    def flow(self, name: str) -> FloatArray:
        """One flow's array; zeros of the right shape if the settlement had none."""
        info = FLOWS[name]
        store = self.partner_flows if info.level == "partner" else self.pool_flows
        if name in store:
            return store[name]
        shape = (self.n_sims, self.years) + (
            (len(self.partner_ids),) if info.level == "partner" else ()
        )
        return np.zeros(shape)

    # ------------------------------------------------------------------ views
    def net(self) -> FloatArray:
        """Each partner's net position per year, ``(sims, years, partners)``. [£]

        Positive: the partner pays beyond its contribution; negative: money back.
        """
        flows = [
            (FLOWS[name].net_sign, arr)
            for name, arr in self.partner_flows.items()
            if FLOWS[name].net_sign
        ]
        if not flows:
            return np.zeros((self.n_sims, self.years, len(self.partner_ids)))
        # Keep the flows' own memory layout (the settlement stores them year-major).
        out = np.zeros_like(flows[0][1], order="K")
        for sign, arr in flows:
            if sign > 0:
                out += arr
            else:
                out -= arr
        return out

    def net_total(self) -> FloatArray:
        """Each partner's net position over the whole agreement, ``(sims, partners)``. [£]"""
        return self.net().sum(axis=1)

    def imbalance(self) -> FloatArray:
        """Inflows minus outflows of the pool, ``(sims, years)``; zero when it balances. [£]"""
        out = np.zeros((self.n_sims, self.years))
        for name, arr in self.partner_flows.items():
            if FLOWS[name].direction:
                out += FLOWS[name].direction * arr.sum(axis=2)
        for name, arr in self.pool_flows.items():
            if FLOWS[name].direction:
                out += FLOWS[name].direction * arr
        return out

    def take(self, idx: np.ndarray | slice) -> Ledger:
        """The ledger of a subset of simulations."""
        return Ledger(
            partner_flows={k: v[idx] for k, v in self.partner_flows.items()},
            pool_flows={k: v[idx] for k, v in self.pool_flows.items()},
            reserve=self.reserve[idx],
            partner_ids=self.partner_ids,
            first_year=self.first_year,
            extras={k: v[idx] for k, v in self.extras.items()},
        )

    def to_frame(self, sims: Sequence[int] | None = None) -> pd.DataFrame:
        """Tidy long table: one row per (sim, year, partner, flow) with the amount.

        Pool flows have partner ``"pool"``. Meant for inspecting a few
        simulations; pass ``sims`` to select them.

        Parameters
        ----------
        sims : sequence of int, optional
            Simulations to include (default: all).
        """
        import pandas as pd

        idx = np.arange(self.n_sims) if sims is None else np.asarray(sims)
        frames = []
        years = self.first_year + np.arange(self.years)
        for name, arr in self.partner_flows.items():
            a = arr[idx]
            s, y, p = np.meshgrid(idx, years, np.arange(len(self.partner_ids)), indexing="ij")
            frames.append(
                pd.DataFrame(
                    {
                        "sim": s.ravel(),
                        "year": y.ravel(),
                        "partner": np.asarray(self.partner_ids, dtype=object)[p.ravel()],
                        "flow": name,
                        "amount": a.ravel(),
                    }
                )
            )
        for name, arr in self.pool_flows.items():
            a = arr[idx]
            s, y = np.meshgrid(idx, years, indexing="ij")
            frames.append(
                pd.DataFrame(
                    {
                        "sim": s.ravel(),
                        "year": y.ravel(),
                        "partner": "pool",
                        "flow": name,
                        "amount": a.ravel(),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def check_balance(
    ledger: Ledger, *, atol: float = 0.01, rtol: float = 1e-12, allow_deficit: bool = False
) -> None:
    """Raise :class:`~riskshare.errors.BalanceError` unless every year of every simulation balances.

    Parameters
    ----------
    ledger : Ledger
    atol : float
        Absolute tolerance. [£] (default one penny)
    rtol : float
        Tolerance relative to the year's spend, for float64 rounding on large pools.
    allow_deficit : bool
        Whether the reserve may go below zero (a cap overflowing into it).
    """
    gap = np.abs(ledger.imbalance())
    scale = np.abs(ledger.flow("spend")) * rtol
    bad = gap > atol + scale
    if np.any(bad):
        sim, year = np.argwhere(bad)[0]
        raise BalanceError(
            f"the pool does not balance in {int(bad.sum())} simulation-years; first at "
            f"simulation {sim}, year {year}: inflows - outflows = {gap[sim, year]:.6f} £"
        )
    # The reserve's balance must follow from its flows.
    change = (
        ledger.flow("reserve_topup") - ledger.flow("reserve_draw") - ledger.flow("reserve_release")
    )
    opening = ledger.reserve[:, :1] - change[:, :1]
    expected = opening + np.cumsum(change, axis=1)
    scale = np.abs(expected).max() * rtol if expected.size else 0.0
    if not np.allclose(expected, ledger.reserve, atol=atol + scale, rtol=0):
        raise BalanceError("the reserve balance does not follow from its draws and top-ups")
    if not allow_deficit and np.any(ledger.reserve < -atol):
        raise BalanceError("the reserve balance went negative")
