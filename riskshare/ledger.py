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

__all__ = [
    "AGREEMENT_EXTRAS",
    "BALANCE_ATOL",
    "BALANCE_RTOL",
    "FLOWS",
    "Flow",
    "Ledger",
    "check_balance",
]

#: Extras of the whole agreement, the same in every schedule's ledger: each
#: partner's exit year (an exit is agreement-wide, ``docs/rules.md``).
AGREEMENT_EXTRAS = ("exit_year",)


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
            Flow(
                "exit_cost",
                "partner",
                0,
                +1,
                "Cost of a partner's exit (redundancy, stranded contracts, double running) "
                "a partner pays outside the pool (memo).",
            ),
            Flow("spend", "pool", -1, 0, "Spend on the pool's client groups (after mitigation)."),
            Flow("charging_income", "pool", +1, 0, "Client charging income received by the pool."),
            Flow("integration_cost", "pool", -1, 0, "Integration set-up cost met by the pool."),
            Flow("integration_savings", "pool", +1, 0, "Integration savings credited to the pool."),
            Flow(
                "irrecoverable_vat",
                "pool",
                -1,
                0,
                "VAT on the host's commissioning for the pool that it cannot recover.",
            ),
            Flow(
                "uncommitted_spend",
                "pool",
                -1,
                0,
                "Uncommitted allocation spent (not released to meet an overspend).",
            ),
            Flow("nonrecurrent_spend", "pool", -1, 0, "Underspend used for non-recurrent items."),
            Flow("mitigation", "pool", 0, 0, "Spend avoided by management action (memo)."),
            Flow(
                "recovery_cost",
                "pool",
                -1,
                0,
                "Cost of a recovery plan when management acts, spent by the pool.",
            ),
            Flow(
                "holdback_uncommissioned",
                "pool",
                0,
                0,
                "Spend avoided because an unreleased holdback's schemes were not commissioned "
                "(memo).",
            ),
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
            Flow(
                "schedule_offset_in",
                "pool",
                +1,
                0,
                "Other schedules' underspend meeting this schedule's overspend.",
            ),
            Flow(
                "schedule_offset_out",
                "pool",
                -1,
                0,
                "This schedule's underspend meeting other schedules' overspend.",
            ),
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

    @classmethod
    def combine(cls, parts: Sequence[Ledger], schedule_ids: Sequence[str]) -> Ledger:
        """The ledger of an agreement from its schedules' ledgers (same simulations).

        Every flow and the reserve are summed over schedules, the pool's
        variance too; the reserve is exhausted, a trigger fired or an exit
        happened where it did in any schedule; the extras of
        :data:`AGREEMENT_EXTRAS`, the same in every schedule, are kept once.
        ``extras["schedule_net"]``
        keeps each partner's net position in each schedule,
        ``(sims, years, schedules, partners)``, schedules in the order of
        ``schedule_ids``.
        """

        def total(kind: str) -> dict[str, FloatArray]:
            names = dict.fromkeys(n for part in parts for n in getattr(part, kind))
            return {n: sum(np.asarray(part.flow(n)) for part in parts) for n in names}

        extras: dict[str, np.ndarray] = {}
        for name in dict.fromkeys(k for part in parts for k in part.extras):
            arrays = [np.asarray(p.extras[name]) for p in parts if name in p.extras]
            if name in AGREEMENT_EXTRAS:
                extras[name] = arrays[0]
            elif arrays[0].dtype == bool:
                extras[name] = np.logical_or.reduce(arrays)
            else:
                extras[name] = sum(arrays)
        extras["schedule_net"] = np.stack([part.net() for part in parts], axis=2)
        if len(schedule_ids) != len(parts):
            raise ValueError(f"{len(parts)} ledgers for {len(schedule_ids)} schedules")
        return cls(
            partner_flows=total("partner_flows"),
            pool_flows=total("pool_flows"),
            reserve=sum(part.reserve for part in parts),
            partner_ids=parts[0].partner_ids,
            first_year=parts[0].first_year,
            extras=extras,
        )

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

    @staticmethod
    def concatenate(parts: Sequence[Ledger]) -> Ledger:
        """One ledger from the ledgers of consecutive chunks of simulations.

        Arrays keep the parts' memory layout (simulations last); a flow that
        is the same in every simulation (a broadcast view) stays one.
        """
        first = parts[0]
        n_sims = sum(part.n_sims for part in parts)

        def join(arrays: list[np.ndarray]) -> np.ndarray:
            out = np.moveaxis(np.empty((*arrays[0].shape[1:], n_sims), arrays[0].dtype), -1, 0)
            np.concatenate(arrays, axis=0, out=out)
            return out

        def flows(kind: str) -> dict[str, np.ndarray]:
            names = dict.fromkeys(name for part in parts for name in getattr(part, kind))
            return {name: join([part.flow(name) for part in parts]) for name in names}

        partner = flows("partner_flows")
        for name, arr in first.partner_flows.items():
            if all(name in p.partner_flows and not p.partner_flows[name].strides[0] for p in parts):
                partner[name] = np.broadcast_to(arr[:1], (n_sims, *arr.shape[1:]))
        return Ledger(
            partner_flows=partner,
            pool_flows=flows("pool_flows"),
            reserve=join([part.reserve for part in parts]),
            partner_ids=first.partner_ids,
            first_year=first.first_year,
            extras={k: join([part.extras[k] for part in parts]) for k in first.extras},
        )

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


#: The balance check's tolerance: one penny, plus this much of the year's spend
#: (or of the reserve balance) for float64 rounding on large pools.
BALANCE_ATOL = 0.01
BALANCE_RTOL = 1e-12


def check_balance(ledger: Ledger, *, allow_deficit: bool = False) -> None:
    """Raise :class:`~riskshare.errors.BalanceError` unless every year of every simulation balances.

    Recomputes, from the flows alone, that pool inflows equal outflows in
    every simulated year and that the reserve balance follows from its flows,
    within one penny (:data:`BALANCE_ATOL`) plus :data:`BALANCE_RTOL` of the
    amounts. It works on year-major views of the flows (the layout the
    settlement writes), so it is cheap enough to run on every settlement.

    Parameters
    ----------
    ledger : Ledger
    allow_deficit : bool
        Whether the reserve may go below zero (a cap overflowing into it).
    """
    spend = ledger.flow("spend").T  # (years, sims)
    gap = np.zeros_like(spend)
    for name, arr in ledger.partner_flows.items():
        d = FLOWS[name].direction
        by_partner = arr.transpose(2, 1, 0)  # (partners, years, sims)
        for p in range(by_partner.shape[0] if d else 0):
            if d > 0:
                gap += by_partner[p]
            else:
                gap -= by_partner[p]
    for name, arr in ledger.pool_flows.items():
        d = FLOWS[name].direction
        if d > 0:
            gap += arr.T
        elif d < 0:
            gap -= arr.T
    _within_tolerance(gap, spend, "the pool does not balance")
    reserve = ledger.reserve.T
    change = np.zeros_like(reserve)
    for name, sign in (("reserve_topup", 1.0), ("reserve_draw", -1.0), ("reserve_release", -1.0)):
        if name in ledger.pool_flows:
            if sign > 0:
                change += ledger.pool_flows[name].T
            else:
                change -= ledger.pool_flows[name].T
    opening = reserve[0] - change[0]
    for t in range(1, change.shape[0]):  # cumulative sum over years (rows stay contiguous)
        change[t] += change[t - 1]
    change += opening
    change -= reserve
    _within_tolerance(change, reserve, "the reserve balance does not follow from its flows")
    if not allow_deficit and (reserve < -BALANCE_ATOL).any():
        raise BalanceError("the reserve balance went negative")


def _within_tolerance(gap: FloatArray, scale: FloatArray, what: str) -> None:
    """Raise unless ``|gap| <= BALANCE_ATOL + BALANCE_RTOL |scale|``; both ``(years, sims)``."""
    np.abs(gap, out=gap)
    tolerance = np.abs(scale)
    tolerance *= BALANCE_RTOL
    tolerance += BALANCE_ATOL
    bad = gap > tolerance
    if bad.any():
        t, sim = np.argwhere(bad)[0]
        raise BalanceError(
            f"{what} in {int(bad.sum())} simulation-years; first at simulation {sim}, "
            f"year {t}: off by {gap[t, sim]:.6f} £"
        )
