"""The contract every rule must keep: balanced, finite, inputs untouched, batch == one at a time.

Parametrised over every preset and over agreements that together use every
clause of ``docs/rules.md``, settled on random spend of the Section 75 preset
(with charging income, a performance metric and integration savings drawn).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from riskshare.config import load_config
from riskshare.config.model import Model
from riskshare.ledger import check_balance
from riskshare.sampling import sample
from riskshare.settle import settle

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "presets"
N = 20

CLAUSES = {
    "proportional_cumulative": {"weights": "cumulative"},
    "fixed_host_commissioners": {
        "overspend": {"key": {"council": 0.7, "icb": 0.3}},
        "underspend": {"key": "commissioners"},
    },
    "own_with_reserve": {
        "overspend": {"key": "own"},
        "underspend": {"key": "own"},
        "reserve": {"opening": 500000},
    },
    "aligned": {"arrangement": "aligned"},
    "tower_pounds": {
        "overspend": {
            "basis": "amount",
            "key": "proportional",
            "bands": [
                {"upto": 250000, "key": "host"},
                {"upto": 1000000, "key": {"council": 0.5, "icb": 0.5}},
            ],
        }
    },
    "reserve_everything": {
        "reserve": {
            "opening": 250000,
            "top_slice": 0.01,
            "top_slice_years": "first",
            "cap": 800000,
            "exclude_groups": ["community_equipment"],
            "final_key": "host",
        }
    },
    "thresholds": {
        "threshold_overspend": {"rate": 0.01, "below_key": "host"},
        "threshold_underspend": {"rate": 0.02, "first_dollar": True, "below_key": {"icb": 1.0}},
    },
    "profiles": {"group_keys": {"community_equipment": "host", "mental_health": "commissioners"}},
    "no_offset_uncommitted_first": {
        "offset_groups": False,
        "uncommitted": 0.02,
        "waterfall": ["uncommitted", "reserve"],
        "reserve": {},
    },
    "retain": {"underspend_disposition": "retain", "reserve": {"cap": 100000}},
    "nonrecurrent": {"underspend_disposition": "nonrecurrent"},
    "caps": {
        "reserve": {},
        "caps": [
            {"partner": "council", "amount": 300000, "overflow": "icb"},
            {"partner": "icb", "per": "agreement", "fraction": 0.02, "overflow": "reserve"},
            {
                "partner": "council",
                "side": "underspend",
                "fraction": 0.01,
                "of": "budget",
                "overflow": "icb",
            },
            {
                "partner": "icb",
                "fraction": 0.1,
                "of": "group_contribution",
                "group": "mental_health",
                "overflow": "unfunded",
            },
        ],
    },
    "holdback": {
        "holdback": {"partner": "icb", "amount": 1000000, "metric": "nea", "target": 0.042}
    },
    "trigger": {"trigger": {"threshold": 0.01, "mitigation": 0.5, "month": 6}},
    "exit": {
        "reserve": {"opening": 300000},
        "exit": {"limits": {"council": 500000, "icb": 500000}, "notice_years": 1},
    },
    "charging_net": {"charging": {"pooling": "net", "bearer": "council"}},
    "integration": {
        "integration": {
            "setup_costs": [
                {"year": 0, "amount": 400000},
                {"year": 1, "amount": 200000, "charged_to": "icb"},
            ],
            "savings_to": "council",
        }
    },
    "integration_pool": {"integration": {"savings_to": "pool"}},
}


def _base_data() -> dict:
    model = load_config(PRESETS / "s75_proportional_reserve.yaml")
    data = model.model_dump(mode="json", exclude_none=True)
    data["client_groups"][3]["charging"] = {"rate": 0.16, "cv": 0.1}
    data["client_groups"][0]["charging"] = {"rate": 0.03, "cv": 0.1}
    data["performance"] = [{"id": "nea", "mean": 0.01, "sd": 0.03}]
    data["integration_savings"] = {
        "amount": 500000,
        "ramp": [0, 0.25, 0.5, 1, 1],
        "probability_none": 0.3,
        "cv": 0.5,
    }
    return data


def _case_list():
    for path in sorted(PRESETS.glob("*.yaml")):
        yield pytest.param(lambda p=path: load_config(p), id=f"preset-{path.stem}")
    for name, agreement in CLAUSES.items():

        def make(a=agreement):
            data = _base_data()
            data["agreement"] = a
            return Model.model_validate(data)

        yield pytest.param(make, id=name)


def _digest(paths) -> str:
    h = hashlib.sha256()
    for v in (paths.spend, paths.income, paths.savings, *paths.metrics.values()):
        if v is not None:
            h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("make", list(_case_list()))
def test_rule_contract(make) -> None:
    model = make()
    paths = sample(model, n_sims=N, seed=11)
    before = _digest(paths)
    contributions = model.contribution_schedule()
    c_before = contributions.copy()
    ledger = settle(model, paths, contributions=contributions)
    # inputs not mutated
    assert _digest(paths) == before
    np.testing.assert_array_equal(contributions, c_before)
    # balanced, finite, right shapes
    check_balance(ledger, allow_deficit=True)
    years, n_p = model.simulation.years, len(model.partners)
    assert ledger.reserve.shape == (N, years)
    for name, arr in ledger.partner_flows.items():
        assert arr.shape == (N, years, n_p), name
        assert np.all(np.isfinite(arr)), name
    for name, arr in ledger.pool_flows.items():
        assert arr.shape == (N, years), name
        assert np.all(np.isfinite(arr)), name
    assert np.all(np.isfinite(ledger.net()))
    # a batch equals the same simulations settled one at a time
    for i in range(N):
        one = settle(model, paths.take([i]), contributions=contributions)
        for name in set(ledger.partner_flows) | set(ledger.pool_flows):
            np.testing.assert_allclose(
                one.flow(name)[0],
                ledger.flow(name)[i],
                rtol=1e-12,
                atol=1e-6,
                err_msg=f"simulation {i}: flow {name!r}",
            )
        np.testing.assert_allclose(one.reserve[0], ledger.reserve[i], rtol=1e-12, atol=1e-6)
