"""Contributions re-set each year (R18): per-simulation keys, fixed paths unchanged, invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
import riskshare.settle as settle_module
from riskshare.config.load import validate_data
from riskshare.ledger import check_balance
from riskshare.rules import Terms, rules_for
from riskshare.rules.keys import KeyContext, key_weights

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "rebased_example.yaml"


def test_proportional_key_per_simulation_is_each_column_of_the_fixed_key() -> None:
    rng = np.random.default_rng(3)
    c = rng.uniform(1.0, 10.0, (3, 5))  # (partners, sims)
    c[:, 2] = 0.0  # nobody contributes in simulation 2: equal shares
    comm = np.eye(3)
    ctx = KeyContext(["a", "b", "c"], 0, c, 2 * c, np.ones((3, 5)), comm, "cumulative")
    w = key_weights("proportional", ctx)
    assert w.shape == (3, 5)
    for i in range(5):
        if i == 2:
            np.testing.assert_array_equal(w[:, i], 1 / 3)
            continue
        one = KeyContext(["a", "b", "c"], 0, c[:, i], 2 * c[:, i], np.ones((3, 1)), comm)
        np.testing.assert_allclose(w[:, i], key_weights("proportional", one)[:, 0], rtol=1e-15)
    # after an exit the fallback to contributions is each simulation's own
    present = np.ones((3, 5), dtype=bool)
    present[0] = False
    host_gone = key_weights(
        "host", KeyContext(["a", "b", "c"], 0, c, c, c, comm, "current", present)
    )
    col = c[1:, 0] / c[1:, 0].sum()
    np.testing.assert_allclose(host_gone[1:, 0], col)
    assert not host_gone[0].any()


def test_fixed_contributions_keep_the_broadcast_path() -> None:
    """Without a re-set contribution nothing changes: no rule, one read-only broadcast flow."""
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    terms = Terms.from_model(model)
    assert terms.reset is None
    assert "rebasing" not in {r.name for r in rules_for(terms)}
    ledger = rs.settle(model, rs.sample(model, n_sims=50, seed=1))
    flow = ledger.partner_flows["contribution"]
    assert not flow.flags.writeable  # the broadcast view: no per-simulation array
    np.testing.assert_array_equal(flow[7], model.contribution_schedule())


def _with(model: rs.Model, contributions: dict) -> rs.Model:
    data = model.model_dump(mode="json")
    data["contributions"] = contributions
    return validate_data(data, source="<test>")


def test_rebasing_nothing_is_the_uplift_path_bit_for_bit() -> None:
    """recurrent_share 0 re-bases nothing: the same numbers as kind uplift, in every simulation."""
    model = rs.load_config(EXAMPLE)
    uplift = _with(
        model,
        {
            "council": {"kind": "uplift", "base": 11335000, "uplift": 0.035 - 0.01},
            "icb": {"kind": "uplift", "base": 13635000, "uplift": 0.04},
        },
    )
    rebased = _with(
        model,
        {
            "council": {"kind": "rebased", "base": 11335000, "uplift": 0.035,
                        "efficiency": 0.01, "recurrent_share": 0.0},
            "icb": {"kind": "rebased", "base": 13635000, "uplift": 0.04, "recurrent_share": 0.0},
        },
    )  # fmt: skip
    paths = rs.sample(model, n_sims=300, seed=5)
    a, b = rs.settle(uplift, paths), rs.settle(rebased, paths)
    np.testing.assert_allclose(b.flow("contribution"), a.flow("contribution"), rtol=1e-14)
    np.testing.assert_allclose(b.net(), a.net(), rtol=1e-9, atol=1e-6)


def test_re_set_contributions_do_not_depend_on_chunking(monkeypatch) -> None:
    model = rs.load_config(EXAMPLE)
    paths = rs.sample(model, n_sims=40, seed=2)
    whole = rs.settle(model, paths)
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 7)
    chunked = rs.settle(model, paths)
    np.testing.assert_array_equal(chunked.flow("contribution"), whole.flow("contribution"))
    np.testing.assert_array_equal(chunked.net(), whole.net())
    check_balance(chunked)


def test_re_based_contribution_follows_the_commissioned_variance() -> None:
    """c_{t+1} = (c_t + a · Σ_g s_gp V_g)(1 + u − e), simulation by simulation, by hand."""
    model = rs.load_config(EXAMPLE)
    data = model.model_dump(mode="json")
    data["agreement"] = {"overspend": {"key": "proportional"}}  # no reserve: B = Σ c
    data["contributions"]["council"]["recurrent_share"] = 0.5
    model = validate_data(data, source="<test>")
    paths = rs.sample(model, n_sims=200, seed=9)
    c = rs.settle(model, paths).flow("contribution")  # (sims, years, partners)
    e = model.expected_spend()  # group budgets by expected cost: B_g = B · e_g / Σ e
    b_g = c.sum(axis=2)[:, :, None] * (e / e.sum(axis=1, keepdims=True))
    v_g = np.asarray(paths.spend) - b_g  # no charging, no management action
    r = v_g @ model.commissioning_matrix()[:, 0]  # the council's recurrent variance
    want = (c[:, :-1, 0] + 0.5 * r[:, :-1]) * (1 + 0.035 - 0.01)
    np.testing.assert_allclose(c[:, 1:, 0], want, rtol=1e-12)
    assert c[:, -1, 0].std() > 1e5  # the paths differ per simulation, by £100k's
    np.testing.assert_array_equal(c[:, 0], np.broadcast_to(c[0, 0], c[:, 0].shape))


@pytest.mark.parametrize("share", [0.5, 1.0])
def test_outturn_contribution_is_last_years_outturn_uplifted(share: float) -> None:
    model = rs.load_config(EXAMPLE)
    model = _with(
        model,
        {
            "council": {"kind": "uplift", "base": 11335000, "uplift": 0.035},
            "icb": {"kind": "outturn", "uplift": 0.04, "factor": share},
        },
    )
    paths = rs.sample(model, n_sims=100, seed=4)
    ledger = rs.settle(model, paths)
    icb = ledger.flow("contribution")[:, :, 1]
    comm = model.commissioning_matrix()[:, 1]
    spend = np.asarray(paths.spend)  # (sims, years, groups); no charging, no action here
    want = share * 1.04 * spend[:, :-1] @ comm
    np.testing.assert_allclose(icb[:, 1:], want, rtol=1e-12)
    np.testing.assert_allclose(icb[:, 0], model.contribution_schedule()[0, 1])


def test_a_sensitivity_variant_keeps_re_setting_contributions() -> None:
    """Changing spend does not hold re-set contributions fixed: they respond by design."""
    from riskshare.analysis.scenarios import run_variant

    model = rs.load_config(EXAMPLE)
    change = {"client_groups.mental_health.spend.growth": 0.08}
    result = run_variant(model, change, n_sims=200, seed=1)
    assert result.outcomes.contribution_paths is not None
    assert result.model.contributions_vary
