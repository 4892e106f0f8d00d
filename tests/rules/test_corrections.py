"""Worked examples of two corrections of issue 10 that are not flows: materiality and provenance.

(The reserve cap and the charging default are flows: their worked examples are in
``test_worked_examples.py``.)
"""

from __future__ import annotations

import json

import numpy as np

import riskshare as rs
from riskshare.config import with_agreement
from riskshare.run import config_digest
from riskshare.testing import fixed_model

C, I = "council", "icb"
m = 1e6


def _exact_model(materiality: float | None = None) -> rs.Model:
    """Contributions exactly equal to spend; group c jointly commissioned, settled on its own."""
    a, b, c, share = 3.58 * m, 2.82 * m, 2.6 * m, 0.48
    model = fixed_model(
        [C, I],
        {"a": (C, [a]), "b": (I, [b]), "c": ({C: share, I: 1 - share}, [c])},
        {C: [a + share * c], I: [b + (1 - share) * c]},
        {"group_keys": {"c": "commissioners"}},
    )
    data = model.model_dump(mode="json")
    if materiality is not None:
        data["simulation"]["materiality"] = materiality
    return rs.Model.model_validate(data)


def test_materiality_floating_point_residue_is_never_an_event() -> None:
    # Spend equals contributions exactly (3.58 + 0.48 x 2.6 and 2.82 + 0.52 x 2.6), but
    # the group budgets (B x share) leave residue: calls of about 2e-10 pounds appear in
    # the ledger for both partners. With the default materiality (1 pound) neither
    # P(pays) nor P(call) counts them; at materiality 0 both would be 100 %, which is
    # what the correction removes.
    model = _exact_model()
    paths = rs.sample(model, 1, seed=0)
    ledger = rs.settle(model, paths)
    calls = ledger.flow("overspend_call")
    assert np.all(calls > 0) and np.all(calls < 1e-6)
    result = rs.Result.from_ledger(model, ledger)
    assert result.materiality == 1.0
    summary = result.summary()
    assert (summary["prob_call_any_year"] == 0).all()
    assert (summary["prob_pays"] == 0).all()
    residue = _exact_model(materiality=0.0)
    counted = rs.Result.from_ledger(residue, rs.settle(residue, paths)).summary()
    assert (counted["prob_call_any_year"] == 1).all()
    assert (counted["prob_pays"] == 1).all()


def test_materiality_counts_calls_and_reserve_exhaustion_above_it() -> None:
    # One year, budget 20 (10 + 10), reserve 1. Spend 21.5: V = 1.5, the reserve meets 1,
    # 0.5 is called 0.25/0.25 (above the materiality: both are called, the reserve is
    # exhausted). Materiality 300,000: the calls of 250,000 are not events; the reserve's
    # shortfall of 500,000 still is.
    for materiality, called, exhausted in ((1.0, 1.0, True), (0.3 * m, 0.0, True)):
        model = fixed_model(
            [C, I],
            {"a": (C, [10 * m]), "b": (I, [10 * m])},
            {C: [10 * m], I: [10 * m]},
            {"reserve": {"opening": 1 * m}},
        )
        data = model.model_dump(mode="json")
        data["simulation"]["materiality"] = materiality
        model = rs.Model.model_validate(data)
        spend = np.array([[[10.75 * m, 10.75 * m]]])
        ledger = rs.testing.engine_ledger(model, spend)
        np.testing.assert_allclose(ledger.flow("overspend_call")[0, 0], [0.25 * m, 0.25 * m])
        assert bool(ledger.extras["reserve_exhausted"][0, 0]) is exhausted
        summary = rs.Result.from_ledger(model, ledger).summary()
        assert summary.loc[C, "prob_call_any_year"] == called


def test_provenance_simulate_records_the_agreement_it_settled(tmp_path) -> None:
    # simulate(model, agreement=X) settles X: Result.model, its digest and config.json
    # record X (they recorded the model's own agreement before).
    model = rs.load_config("configs/section75_example.yaml")
    aligned = rs.Agreement(name="aligned", arrangement="aligned")
    result = rs.simulate(model, n_sims=500, seed=3, agreement=aligned)
    assert result.model.agreement == aligned
    assert result.manifest["config_sha256"] == config_digest(with_agreement(model, aligned))
    direct = rs.simulate(with_agreement(model, aligned), n_sims=500, seed=3)
    np.testing.assert_array_equal(result.net, direct.net)
    from riskshare.report.files import write_run

    write_run(result, tmp_path)
    recorded = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert recorded["agreement"]["arrangement"] == "aligned"


def test_provenance_simulate_records_the_contributions_it_settled() -> None:
    model = rs.load_config("configs/section75_example.yaml")
    contributions = model.contribution_schedule() * 1.05
    result = rs.simulate(model, n_sims=500, seed=3, contributions=contributions)
    np.testing.assert_array_equal(result.model.contribution_schedule(), contributions)
