"""Contributions re-set each year with several schedules and with a lead arrangement (R18).

A partner's contribution is re-set once for the agreement, on the recurrent
variance summed over the schedules, and split between the schedules by their
funding fractions (``docs/rules.md``, "Re-set across schedules").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskshare as rs
import riskshare.settle as settle_module
from riskshare.analysis.sweeps import apply_point, sweep
from riskshare.config.load import validate_data
from riskshare.errors import InputError
from riskshare.ledger import check_balance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "schedules_rebased_example.yaml"


def test_schedules_re_set_contributions_do_not_depend_on_chunking(monkeypatch) -> None:
    model = rs.load_config(EXAMPLE)
    paths = rs.sample(model, n_sims=40, seed=2)
    whole = rs.settle(model, paths)
    check_balance(whole)
    monkeypatch.setattr(settle_module, "SETTLE_CHUNK", 7)
    chunked = rs.settle(model, paths)
    np.testing.assert_array_equal(chunked.flow("contribution"), whole.flow("contribution"))
    np.testing.assert_array_equal(chunked.net(), whole.net())
    np.testing.assert_array_equal(chunked.extras["schedule_net"], whole.extras["schedule_net"])
    check_balance(chunked)
    c = whole.flow("contribution")  # (sims, years, partners), summed over the schedules
    assert c[:, -1, 0].std() > 1e5  # the county's re-based paths differ per simulation


def test_re_based_across_schedules_is_the_summed_recurrent_variance_split_by_funding() -> None:
    """c_{t+1} = (c_t + Σ_s Σ_{g in s} s_gp V_g)(1 + u − e), simulation by simulation, by hand.

    No reserve, no charging, no management action: schedule s's budget is
    ``B_s = Σ_p f_sp c_p`` and its group budgets ``B_s · e_g / Σ_{g in s} e_g``.
    """
    data = rs.load_config(EXAMPLE).model_dump(mode="json")
    for sched in data["agreement"]["schedules"]:
        sched["reserve"] = None
    data["agreement"]["across"] = None
    data["contributions"]["icb"] = {"kind": "uplift", "base": 10585000, "uplift": 0.04}
    model = validate_data(data, source="<test>")
    paths = rs.sample(model, n_sims=200, seed=9)
    c = rs.settle(model, paths).flow("contribution")  # (sims, years, partners)
    f = model.schedule_funding()  # (schedules, years, partners)
    e = model.expected_spend()  # (years, groups)
    spend = np.asarray(paths.spend)  # (sims, years, groups)
    gidx = {g: i for i, g in enumerate(model.group_ids)}
    comm = model.commissioning_matrix()
    r = np.zeros(c.shape[:2])  # the county's recurrent variance (sims, years)
    for s, sched in enumerate(model.schedules()):
        groups = [gidx[g] for g in sched.groups]
        budget = (c * f[s][None]).sum(axis=2)  # B_s (sims, years)
        share = e[:, groups] / e[:, groups].sum(axis=1, keepdims=True)
        v_g = spend[:, :, groups] - budget[:, :, None] * share[None]
        r += v_g @ comm[groups, 0]
    want = (c[:, :-1, 0] + r[:, :-1]) * (1 + 0.035 - 0.01)
    np.testing.assert_allclose(c[:, 1:, 0], want, rtol=1e-12)
    np.testing.assert_allclose(
        c[:, :, 1], np.broadcast_to(model.contribution_schedule()[:, 1], c.shape[:2]), rtol=1e-14
    )


def test_a_lead_arrangement_hosted_by_the_host_is_the_pooled_agreement() -> None:
    """Under ``arrangement: lead`` (funding fraction 1) a re-set contribution flows through."""
    pooled = rs.load_config(ROOT / "configs" / "rebased_example.yaml")
    data = pooled.model_dump(mode="json")
    data["agreement"].update(arrangement="lead", lead="council")  # the host leads
    lead = validate_data(data, source="<test>")
    paths = rs.sample(pooled, n_sims=300, seed=5)
    a, b = rs.settle(pooled, paths), rs.settle(lead, paths)
    check_balance(b)
    assert b.flow("contribution")[:, -1, 1].std() > 1e5  # the icb's outturn-based paths vary
    np.testing.assert_allclose(b.flow("contribution"), a.flow("contribution"), rtol=1e-12)
    np.testing.assert_allclose(b.net(), a.net(), rtol=1e-9, atol=1e-3)


def test_contribution_paths_with_schedules_are_each_partners_total() -> None:
    model = rs.load_config(EXAMPLE)
    result = rs.simulate(model, n_sims=400, seed=3)
    paths = result.contribution_paths()
    planned = model.contribution_schedule()
    county = paths.loc["county"]
    np.testing.assert_allclose(county["planned"].to_numpy(), planned[:, 0])
    assert county["sd"].iloc[0] == 0 and county["sd"].iloc[-1] > 1e5
    # the icb's outturn-based contribution never falls below its BCF minimum
    floor = model.minimum_schedule()[:, 1]
    assert (paths.loc["icb"]["min"].to_numpy() >= floor * (1 - 1e-12)).all()
    # a fixed contribution is its planned path in every simulation (summed over schedules)
    np.testing.assert_allclose(paths.loc["trust"]["max"].to_numpy(), planned[:, 2], rtol=1e-12)
    np.testing.assert_allclose(paths.loc["trust"]["min"].to_numpy(), planned[:, 2], rtol=1e-12)


def test_a_sweep_still_refuses_to_scale_a_re_set_contribution_with_schedules() -> None:
    model = rs.load_config(EXAMPLE)
    with pytest.raises(InputError, match=r"re-set each year .*contributions\.county\.base"):
        sweep(model, [{"contributions.county": 1.1}], n_sims=100, seed=1)
    changed, contrib = apply_point(model, {"contributions.county.recurrent_share": 0.5})
    assert contrib is None
    assert changed.contributions["county"].recurrent_share == 0.5
