"""The holdback (docs/rules.md step 1): the bcf_holdback preset's worked example and the
two readings of an unreleased holdback, engine and reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
from riskshare._reference import reference_settle
from riskshare.config import with_agreement
from riskshare.testing import engine_ledger
from riskshare.testing.asserts import engine_view

PRESET = Path(__file__).resolve().parents[2] / "configs" / "presets" / "bcf_holdback.yaml"


@pytest.fixture(scope="module")
def preset() -> rs.Model:
    return rs.load_config(PRESET)


def settle_year0(model, achieved):
    """Year 0 on the expected spend with the NEA reduction ``achieved``: (reference, engine)."""
    spend = model.expected_spend()
    metric = np.full((1, model.simulation.years), achieved)
    ref = reference_settle(model, spend, metrics={"nea_reduction": metric[0]})
    ledger = engine_ledger(model, spend[None], metrics={"nea_reduction": metric})
    return ref, ledger


def test_preset_worked_example_uncommission(preset):
    """docs/presets.md: admissions fall 1 %. Released 2.8m/4.2 = 666,667, retained 2,133,333;
    spend falls 0.75 x 2,133,333 = 1.6m: 39.2m -> 37.6m against a budget of 37,866,667, an
    underspend of 266,667 returned 14 : 26 (93,333 and 173,333)."""
    ref, ledger = settle_year0(preset, 0.01)
    council, icb = (preset.partner_ids.index(p) for p in ("council", "icb"))
    for net, spend, cut in (
        (ref["net"][0], ref["spend"][0], ref["holdback_uncommissioned"][0]),
        (
            ledger.net()[0, 0],
            engine_view(ledger, "spend", 0)[0],
            engine_view(ledger, "holdback_uncommissioned", 0)[0],
        ),
    ):
        np.testing.assert_allclose(cut, 1.6e6, rtol=1e-12)
        np.testing.assert_allclose(spend, 37.6e6, rtol=1e-12)
        np.testing.assert_allclose(net[council], -266_666.667 * 14 / 40, atol=0.01)
        np.testing.assert_allclose(net[icb], -266_666.667 * 26 / 40, atol=0.01)
    np.testing.assert_allclose(ref["holdback_retained"][0].sum(), 2_133_333.33, atol=0.01)


def test_preset_worked_example_overspend_reading(preset):
    """The same year with ``unreleased: overspend``: the pool spends 39.2m against 37,866,667,
    1,333,333 short, shared 14 : 26 (466,667 and 866,667)."""
    hb = preset.agreement.holdback.model_copy(
        update={"unreleased": "overspend", "funds": [], "fixed_share": 0.0}
    )
    model = with_agreement(preset, preset.agreement.model_copy(update={"holdback": hb}))
    ref, ledger = settle_year0(model, 0.01)
    for net in (ref["net"][0], ledger.net()[0, 0]):
        np.testing.assert_allclose(net, [466_666.667, 866_666.667], atol=0.01)
    assert ref["holdback_uncommissioned"][0] == 0.0


@pytest.mark.parametrize("fixed_share", [0.0, 0.25, 1.0])
def test_only_the_fixed_share_of_the_retained_part_is_shared(preset, fixed_share):
    """Against ``overspend``, ``uncommission`` lowers the pooled variance by exactly
    (1 - fixed_share) x retained, every simulation and year; fixed_share 1 is ``overspend``."""
    paths = rs.sample(preset, 2000, seed=3)
    hb = preset.agreement.holdback
    over = preset.agreement.model_copy(
        update={
            "holdback": hb.model_copy(
                update={"unreleased": "overspend", "funds": [], "fixed_share": 0.0}
            )
        }
    )
    unc = preset.agreement.model_copy(
        update={"holdback": hb.model_copy(update={"fixed_share": fixed_share})}
    )
    a = rs.settle(with_agreement(preset, over), paths)
    b = rs.settle(with_agreement(preset, unc), paths)
    retained = a.partner_flows["holdback_retained"].sum(axis=-1)
    np.testing.assert_allclose(
        a.extras["variance"] - b.extras["variance"], (1 - fixed_share) * retained, atol=1e-4
    )
    np.testing.assert_allclose(
        b.pool_flows["holdback_uncommissioned"], (1 - fixed_share) * retained, atol=1e-6
    )
    np.testing.assert_array_equal(
        a.partner_flows["holdback_released"], b.partner_flows["holdback_released"]
    )


def test_a_charged_group_cannot_be_a_holdbacks_scheme(preset):
    data = preset.model_dump(mode="json", exclude_none=True)
    data["client_groups"][0]["charging"] = {"rate": 0.1}
    with pytest.raises(
        ValueError, match=r"holdback.funds\[0\]: group 'out_of_hospital' has charging"
    ):
        rs.Model.model_validate(data)
