"""The public API is what the docs promise (pinned, as chainladder does)."""

import subprocess
import sys

import riskshare as rs

EXPECTED_PUBLIC_API = [
    "Agreement",
    "Ledger",
    "Model",
    "Result",
    "SpendPaths",
    "Terms",
    "__version__",
    "check_balance",
    "compare",
    "explore",
    "fit",
    "load_config",
    "risk_allocation",
    "sample",
    "settle",
    "simulate",
    "simulate_until",
    "solve",
    "stress",
    "sweep",
    "tornado",
    "value_of_pooling",
    "with_changes",
    "write_excel",
    "write_html",
]


def test_public_api_is_pinned() -> None:
    assert sorted(rs.__all__) == sorted(EXPECTED_PUBLIC_API)
    for name in rs.__all__:
        assert getattr(rs, name) is not None


def test_importing_riskshare_does_not_import_matplotlib_or_the_analysis() -> None:
    code = (
        "import sys, riskshare; "
        "print('matplotlib' in sys.modules, 'riskshare.analysis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
