"""Assertions on ledgers: flows equal and both balanced."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from riskshare.ledger import Ledger, check_balance

__all__ = ["assert_ledger_allclose", "engine_view"]


def assert_ledger_allclose(
    a: Ledger,
    b: Ledger,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-6,
    flows: Iterable[str] | None = None,
    allow_deficit: bool = False,
) -> None:
    """Assert two ledgers have the same flows, reserve and net positions, and both balance.

    A flow present in one ledger only must be zero in it.

    Parameters
    ----------
    a, b : Ledger
    rtol, atol : float
        Tolerances of :func:`numpy.testing.assert_allclose`. ``atol`` in £.
    flows : iterable of str, optional
        Compare only these flows (default: every flow of either ledger).
    allow_deficit : bool
        Let the reserve go below zero (a cap overflowing into it).
    """
    check_balance(a, allow_deficit=allow_deficit)
    check_balance(b, allow_deficit=allow_deficit)
    assert a.partner_ids == b.partner_ids, f"partners differ: {a.partner_ids} vs {b.partner_ids}"
    assert a.reserve.shape == b.reserve.shape, (
        f"shapes differ: {a.reserve.shape} vs {b.reserve.shape}"
    )
    names = (
        set(flows)
        if flows is not None
        else (set(a.partner_flows) | set(a.pool_flows) | set(b.partner_flows) | set(b.pool_flows))
    )
    for name in sorted(names):
        np.testing.assert_allclose(
            a.flow(name), b.flow(name), rtol=rtol, atol=atol, err_msg=f"flow {name!r} differs"
        )
    np.testing.assert_allclose(
        a.reserve, b.reserve, rtol=rtol, atol=atol, err_msg="reserve differs"
    )
    np.testing.assert_allclose(a.net(), b.net(), rtol=rtol, atol=atol, err_msg="net differs")


def engine_view(ledger: Ledger, name: str, sim: int = 0) -> np.ndarray:
    """One simulation's ``(years, partners)`` or ``(years,)`` array of a flow or view.

    ``name`` is a flow name, ``"net"``, ``"reserve"`` (ledger's year-end
    balance) or an entry of ``ledger.extras``.
    """
    if name == "net":
        return ledger.net()[sim]
    if name == "reserve":
        return ledger.reserve[sim]
    if name in ledger.extras:
        return np.asarray(ledger.extras[name])[sim]
    return ledger.flow(name)[sim]
