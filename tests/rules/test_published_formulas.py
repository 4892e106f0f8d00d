"""Published rules reproduced exactly: the ACA §1342 corridor and MSSP one-sided shared savings.

Each is configured as an agreement (``configs/presets``) and settled on a grid
of deterministic spend; the payments are compared with the published formula
coded directly here (domain.md R6, R14).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskshare._reference import reference_settle
from riskshare.config import load_config
from riskshare.ledger import check_balance
from riskshare.testing import engine_ledger

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "presets"


def aca_payment_to_plan(A: float, T: float) -> float:
    """ACA §1342: the government's payment to the plan (negative: the plan pays)."""
    if A > 1.08 * T:
        return 0.025 * T + 0.8 * (A - 1.08 * T)
    if A > 1.03 * T:
        return 0.5 * (A - 1.03 * T)
    if A < 0.92 * T:
        return -(0.025 * T + 0.8 * (0.92 * T - A))
    if A < 0.97 * T:
        return -0.5 * (0.97 * T - A)
    return 0.0


def mssp_shared_savings(E: float, B: float, msr=0.02, sr=0.5, ppl=0.10) -> float:
    """MSSP one-sided: shared = min(SR·G, PPL·B) if G/B >= MSR (first dollar), else 0."""
    G = B - E
    return min(sr * G, ppl * B) if msr <= G / B else 0.0


ACA_T = 50e6
ACA_GRID = np.round(ACA_T * np.linspace(0.80, 1.20, 81), 2)  # every 0.5 % of the target
MSSP_B = 100e6
MSSP_GRID = np.round(
    MSSP_B * np.concatenate([np.linspace(0.70, 1.10, 81), [0.98, 0.9801, 0.7999]]), 2
)


def _grid_spend(model, grid):
    years = model.simulation.years
    return np.repeat(grid[:, None, None], years, axis=1)  # (sims, years, 1): same spend each year


def test_aca_corridor_reference():
    model = load_config(PRESETS / "aca_corridor.yaml")
    gov = model.partner_ids.index("government")
    for A in ACA_GRID:
        out = reference_settle(model, [[A]] * model.simulation.years)
        np.testing.assert_allclose(out["net"][:, gov], aca_payment_to_plan(A, ACA_T), atol=1e-6)


def test_aca_corridor_engine():
    model = load_config(PRESETS / "aca_corridor.yaml")
    gov = model.partner_ids.index("government")
    ledger = engine_ledger(model, _grid_spend(model, ACA_GRID))
    check_balance(ledger)
    want = np.array([aca_payment_to_plan(A, ACA_T) for A in ACA_GRID])
    for t in range(model.simulation.years):
        np.testing.assert_allclose(ledger.net()[:, t, gov], want, atol=1e-6)


def test_mssp_reference():
    model = load_config(PRESETS / "mssp_one_sided.yaml")
    aco = model.partner_ids.index("aco")
    for E in MSSP_GRID:
        out = reference_settle(model, [[E]] * model.simulation.years)
        # the ACO's net position is minus its shared savings; it never pays
        np.testing.assert_allclose(-out["net"][:, aco], mssp_shared_savings(E, MSSP_B), atol=1e-6)


def test_mssp_engine():
    model = load_config(PRESETS / "mssp_one_sided.yaml")
    aco = model.partner_ids.index("aco")
    ledger = engine_ledger(model, _grid_spend(model, MSSP_GRID))
    check_balance(ledger)
    want = np.array([mssp_shared_savings(E, MSSP_B) for E in MSSP_GRID])
    for t in range(model.simulation.years):
        np.testing.assert_allclose(-ledger.net()[:, t, aco], want, atol=1e-6)


@pytest.mark.parametrize(
    "E, shared",
    [(98.1e6, 0.0), (98e6, 1e6), (97.9e6, 1.05e6), (90e6, 5e6), (70e6, 10e6), (101e6, 0.0)],
)
def test_mssp_spot_values(E, shared):
    # MSR 2 % of £100m: saving £2m is just enough and shares from the first pound (£1m);
    # saving £30m would share £15m but the 10 % limit caps it at £10m.
    assert mssp_shared_savings(E, MSSP_B) == pytest.approx(shared)
    model = load_config(PRESETS / "mssp_one_sided.yaml")
    out = reference_settle(model, [[E]] * model.simulation.years)
    assert -out["net"][0, model.partner_ids.index("aco")] == pytest.approx(shared)
