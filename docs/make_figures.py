"""Regenerate the charts shown in the README and the docs.

Run from the repository root::

    .venv/bin/python docs/make_figures.py

Writes ``docs/img/exceedance.png`` (the worked Section 75 example, 100,000
simulations, seed 7).
"""

from __future__ import annotations

from pathlib import Path

import riskshare as rs
from riskshare.report.plots import exceedance

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    model = rs.load_config(ROOT / "configs" / "section75_example.yaml")
    result = rs.simulate(model, n_sims=100_000, seed=7)
    fig = exceedance(
        result, title="Section 75 example: chance of paying more than £X over five years"
    )
    out = ROOT / "docs" / "img" / "exceedance.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
