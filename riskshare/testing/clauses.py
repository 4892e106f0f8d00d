"""Agreements that together use every clause of ``docs/rules.md``, for contract tests.

Each is settled on the Section 75 preset with charging income, a performance
metric (``nea``) and integration savings drawn (:func:`clause_model`), so
every rule of :mod:`riskshare.rules` is exercised by at least one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskshare.config import load_config
from riskshare.config.model import Model

__all__ = ["CLAUSES", "base_data", "clause_model"]

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "presets"

#: Agreements by name; each uses one clause (or a few that belong together).
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
    "ijb": {
        "underspend_disposition": "ijb",
        "reserve": {"carry_forward": False},
        "integration": {"savings_to": "pool"},
    },
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
    "holdback_uncommission": {
        "holdback": {
            "partner": "icb",
            "amount": 1000000,
            "metric": "nea",
            "target": 0.042,
            "unreleased": "uncommission",
            "funds": ["mental_health"],
            "fixed_share": 0.25,
        }
    },
    "trigger": {"trigger": {"threshold": 0.01, "mitigation": 0.5, "month": 6}},
    "trigger_forecast_instalments": {
        "trigger": {
            "threshold": 0.01,
            "mitigation": 0.5,
            "month": 6,
            "lag": 2,
            "on": "forecast",
            "forecast": {"sd": 0.04, "bias": -0.01},
            "cost": {"fixed": 50000, "proportional": 0.1},
        },
        "instalments": {"number": 4},
        "accrual": [0.07, 0.07, 0.08, 0.08, 0.08, 0.08, 0.08, 0.09, 0.1, 0.1, 0.09, 0.08],
    },
    "fault": {"fault": {"partner": "icb", "share": 0.25}},
    "vat": {"vat": {"vatable": 0.3, "recovered": 0.25}},
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
    "exit_voluntary_costs": {
        "reserve": {"opening": 300000},
        "exit": {
            "voluntary": {"icb": 2},
            "end_year": 4,
            "costs": [
                {"kind": "redundancy", "amount": 200000, "paid_by": "key", "key": "host"},
                {"kind": "double_running", "amount": 100000, "years": 2, "paid_by": "leaver"},
            ],
        },
    },
    # Contributions re-set each year (R18): the council re-based (an efficiency amount), the
    # icb need-based with the NHS minimum, through the top-slice, a cap of a fraction of
    # the contribution, a holdback and cumulative proportional weights.
    "contributions_reset": {
        "contributions": {
            "council": {
                "kind": "rebased",
                "base": 12000000,
                "uplift": 0.03,
                "recurrent_share": 0.5,
                "efficiency_amount": 100000,
            },
            "icb": {
                "kind": "outturn",
                "uplift": 0.04,
                "minimum": {"base": 12000000, "growth": 0.0566},
            },
        },
        "weights": "cumulative",
        "reserve": {"opening": 200000, "top_slice": 0.01, "cap": 900000},
        "caps": [{"partner": "council", "fraction": 0.02, "overflow": "reserve"}],
        "holdback": {"partner": "icb", "amount": 300000, "metric": "nea", "target": 0.01},
    },
    # The same re-set contributions in an agreement of three schedules: re-set once for the
    # agreement, split by the schedules' funding (by expected spend); one schedule spends
    # its underspends on one-off items, another is led by the icb.
    "contributions_reset_schedules": {
        "contributions": {
            "council": {"kind": "rebased", "base": 12000000, "uplift": 0.03, "efficiency": 0.01},
            "icb": {
                "kind": "outturn",
                "uplift": 0.04,
                "minimum": {"base": 12000000, "growth": 0.0566},
            },
        },
        "schedules": [
            {
                "id": "ld",
                "groups": ["learning_disability"],
                "weights": "cumulative",
                "reserve": {"opening": 200000, "top_slice": 0.01, "cap": 900000},
                "caps": [{"partner": "council", "fraction": 0.02, "overflow": "reserve"}],
            },
            {
                "id": "mh",
                "groups": ["mental_health"],
                "underspend_disposition": "nonrecurrent",
            },
            {
                "id": "community",
                "groups": ["community_equipment", "intermediate_care"],
                "arrangement": "lead",
                "lead": "icb",
            },
        ],
        "across": {"offset": True},
    },
    "schedules_offset": {
        "schedules": [
            {
                "id": "ld",
                "groups": ["learning_disability"],
                "reserve": {"opening": 200000},
            },
            {"id": "mh", "groups": ["mental_health"], "arrangement": "aligned"},
            {
                "id": "community",
                "groups": ["community_equipment", "intermediate_care"],
                "arrangement": "lead",
                "lead": "icb",
            },
        ],
        "across": {"offset": True},
    },
    # An agreement-wide exit in three schedules: a partner leaves every schedule on its net
    # position over the agreement (the icb leads "community", so its lead may leave), its
    # exit costs paid once by keys over the whole agreement; the savings go by expected spend.
    "exit_schedules": {
        "schedules": [
            {"id": "ld", "groups": ["learning_disability"], "reserve": {"opening": 300000}},
            {"id": "mh", "groups": ["mental_health"], "arrangement": "aligned"},
            {
                "id": "community",
                "groups": ["community_equipment", "intermediate_care"],
                "arrangement": "lead",
                "lead": "icb",
                "integration": {"savings_to": "council"},
            },
        ],
        "across": {"offset": True},
        "exit": {
            "limits": {"council": 400000, "icb": 400000},
            "notice_years": 1,
            "costs": [
                {"kind": "stranded_contracts", "amount": 200000, "paid_by": "all"},
                {"kind": "redundancy", "amount": 100000, "paid_by": "key", "key": "commissioners"},
            ],
        },
    },
}


def base_data() -> dict[str, Any]:
    """The Section 75 preset with charging, a performance metric and integration savings."""
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


def clause_model(agreement: dict[str, Any]) -> Model:
    """:func:`base_data` with ``agreement``, validated.

    An entry of :data:`CLAUSES` may also give ``contributions`` (a clause of
    the contributions, not of the agreement): they replace the preset's.
    """
    data = base_data()
    agreement = dict(agreement)
    if "contributions" in agreement:
        data["contributions"] = agreement.pop("contributions")
    data["agreement"] = agreement
    return Model.model_validate(data)
