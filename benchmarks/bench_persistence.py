"""Issue 11's speed check: the benchmark scenario with persistence switched on, against without.

Persistence (an AR(1) of each year's log-deviation, docs/sampling.md) is
switched on for every shock of the benchmark scenario: the common shock
``system`` gets persistence 0.6 (``--set common_shocks.system.persistence=0.6``).
With ``--shocks`` every client group also gets a volume and a unit-cost shock
(CV 0.05), with persistence 0.6 against the same shocks with persistence 0, so
that only persistence differs.

Each measurement is a fresh ``riskshare run configs/benchmark.yaml --sims N
--quiet --out <tmp>`` timed from outside, the two alternating (the order
flipped every round, so a change in the machine's load hits both alike),
``--repeat`` times each; it reports the medians, their ratio (target: at most
1.10) and the medians of the sampling time from the runs' manifests (the part
persistence changes).

Usage::

    .venv/bin/python benchmarks/bench_persistence.py [--sims 1000000] [--repeat 5] [--shocks]

Prints a markdown table and writes ``benchmarks/out/persistence.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_minimal import CONFIG, OUT, alternate, med, spawn

GROUPS = ("learning_disability", "mental_health", "older_people", "community_equipment")


def overrides(phi: float, shocks: bool) -> list[str]:
    """``--set`` options: the common shock's persistence, and with ``shocks`` the groups'."""
    sets = [f"common_shocks.system.persistence={phi}"]
    if shocks:
        for group in GROUPS:
            for part in ("clients", "cost"):
                sets.append(
                    f"client_groups.{group}.spend.{part}.shock={{cv: 0.05, persistence: {phi}}}"
                )
    return [arg for s in sets for arg in ("--set", s)]


def run(n: int, sets: list[str]) -> dict[str, Any]:
    """One whole ``riskshare run`` with ``sets``, with the timings from its manifest."""
    import tempfile

    exe = str(Path(sys.executable).parent / "riskshare")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        m = spawn([exe, "run", str(CONFIG), "--sims", str(n), "--quiet", "--out", str(out), *sets])
        m["timings"] = json.loads((out / "manifest.json").read_text())["timings"]
    return m


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--phi", type=float, default=0.6, help="Persistence switched on.")
    parser.add_argument(
        "--shocks", action="store_true", help="Also volume and unit-cost shocks on every group."
    )
    parser.add_argument("--out", type=Path, default=OUT / "persistence.json")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    on, off = alternate(
        args.repeat,
        lambda: run(args.sims, overrides(args.phi, args.shocks)),
        lambda: run(args.sims, overrides(0.0, args.shocks)),
    )
    res = {
        "sims": args.sims,
        "repeat": args.repeat,
        "phi": args.phi,
        "shocks": args.shocks,
        "load_at_start": load,
        "load_at_end": os.getloadavg()[0],
        "on_s": med(on),
        "off_s": med(off),
        "ratio": med(on) / med(off),
        "on_sample_s": statistics.median(r["timings"]["sample_s"] for r in on),
        "off_sample_s": statistics.median(r["timings"]["sample_s"] for r in off),
        "all_on_s": [r["s"] for r in on],
        "all_off_s": [r["s"] for r in off],
    }
    what = "common shock" + (", volume and unit-cost shocks" if args.shocks else "")
    print(
        f"{args.sims:,} simulations, persistence {args.phi} on the {what}; medians of "
        f"{args.repeat}, alternating; load {load:.1f} at start, {res['load_at_end']:.1f} at end\n\n"
        "| | whole run (s) | sampling, summed over threads (s) |\n|---|---:|---:|\n"
        f"| persistence {args.phi} | {res['on_s']:.3f} | {res['on_sample_s']:.3f} |\n"
        f"| persistence 0 | {res['off_s']:.3f} | {res['off_sample_s']:.3f} |\n"
        f"| ratio | {res['ratio']:.3f} | {res['on_sample_s'] / res['off_sample_s']:.3f} |"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
