"""Case splits in settlement: the s117 preset's worked example and what the clause changes.

The formulas are in docs/rules.md ("Case splits"); every clause combination is
compared with the reference by the property tests, the hand-worked examples are
in test_worked_examples.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

import riskshare as rs
from riskshare._reference import reference_settle
from riskshare.testing import engine_ledger
from riskshare.testing.asserts import engine_view

PRESET = Path(__file__).resolve().parents[2] / "configs" / "presets" / "s117_aftercare.yaml"


def test_s117_preset_worked_example() -> None:
    """docs/presets.md: year 0 of s117_aftercare.yaml on stated spend and case shares.

    Budget 9.996m (10.2m less a 204k top-slice); group budgets 5.88m, 2.646m, 1.47m.
    s117 spend 2.9m, the council's cases 40 %: council 1.16m − 0.45 × 2.646m = −30,700,
    icb 1.74m − 0.55 × 2.646m = +284,700. Joint packages 1.45m 50/50: −10,000 each.
    Community mental health 6.12m − 5.88m = +240k: the reserve meets 204k, 36k is
    shared 4.365 : 5.835 (15,405.88 and 20,594.12). Council −25,294.12, icb +295,294.12.
    """
    model = rs.load_config(PRESET)
    years = model.simulation.years
    spend = np.tile([6_120_000.0, 2_900_000.0, 1_450_000.0], (years, 1))
    shares = {
        "s117_aftercare": np.tile([0.40, 0.60], (years, 1)),
        "joint_packages": np.tile([0.5, 0.5], (years, 1)),
    }
    want = [-25_294.117647, 295_294.117647]
    ref = reference_settle(model, spend, case_shares=shares)
    np.testing.assert_allclose(ref["net"][0], want, atol=1e-3)
    ledger = engine_ledger(model, spend, case_shares=shares)
    np.testing.assert_allclose(engine_view(ledger, "net")[0], want, atol=1e-3)


def test_case_shares_change_only_who_pays_the_case_group() -> None:
    """Moving the s117 case mix moves only that group's money between partners: the total,
    the pool's spend and the other groups' settlement are the same."""
    model = rs.load_config(PRESET)
    paths = rs.sample(model, n_sims=2000, seed=3)
    ledger = rs.settle(model, paths)
    flipped = dict(paths.case_shares)
    flipped["s117_aftercare"] = paths.case_shares["s117_aftercare"][..., ::-1]
    other = rs.settle(model, replace(paths, case_shares=flipped))
    s117 = model.group_ids.index("s117_aftercare")
    gross = paths.spend[:, :, s117]
    moved = (
        paths.case_shares["s117_aftercare"][..., 1] - flipped["s117_aftercare"][..., 1]
    ) * gross
    np.testing.assert_allclose(ledger.net_total().sum(axis=1), other.net_total().sum(axis=1))
    # with 2 partners, the icb's net over the agreement moves by exactly its cases' spend
    np.testing.assert_allclose(
        ledger.net_total()[:, 1] - other.net_total()[:, 1], moved.sum(axis=1), rtol=1e-9, atol=1e-3
    )


def test_without_drawn_shares_a_case_group_is_split_by_its_expected_split() -> None:
    """Spend given by hand (no case shares): jointly commissioned shares, settled on its own."""
    model = rs.load_config(PRESET)
    data = model.model_dump(mode="python")
    for grp in data["client_groups"]:
        grp.pop("cases")
    data["agreement"]["group_keys"] = {"s117_aftercare": "commissioners", "joint_packages": "own"}
    plain = rs.Model.model_validate(data)
    spend = np.tile([6_120_000.0, 2_900_000.0, 1_450_000.0], (model.simulation.years, 1))
    np.testing.assert_allclose(
        engine_view(engine_ledger(model, spend), "net"),
        engine_view(engine_ledger(plain, spend), "net"),
        atol=1e-6,
    )
