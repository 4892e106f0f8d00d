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
from riskshare.ledger import check_balance
from riskshare.sampling import sample
from riskshare.settle import settle
from riskshare.testing.clauses import CLAUSES, clause_model

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "presets"
N = 20


def _case_list():
    for path in sorted(PRESETS.glob("*.yaml")):
        yield pytest.param(lambda p=path: load_config(p), id=f"preset-{path.stem}")
    for name, agreement in CLAUSES.items():

        def make(a=agreement):
            return clause_model(a)

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
