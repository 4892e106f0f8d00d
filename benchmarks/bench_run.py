"""Benchmark of a whole riskshare run of the benchmark scenario (issue 2, item 10).

For each size (100,000 and 1,000,000 simulations by default) it measures, every
measurement in a fresh Python process so that peak memory is that of the
measurement alone:

* **run**: wall time of the whole process
  ``.venv/bin/riskshare run configs/benchmark.yaml --sims N --seed 1 --out <tmp>
  --force --quiet`` (interpreter start, imports, validation, simulation, writing
  the results);
* **simulate, 1 / 2 workers**: ``riskshare.simulate(model, N, seed=1,
  workers=W)`` timed in-process (after a 2,000-simulation warm-up that builds
  the cached tables), and the process's peak RSS;
* **floor**: the time numpy's own samplers take to draw 20 Poisson counts
  (``rng.poisson(lam, size=N)`` for each group and year) and 25 standard
  normals per simulation: what one path of the scenario needs at the least.

Then ``simulate`` at 10,000,000 simulations, one worker, for its peak memory
(flatness: memory should be bounded by the chunk size, not the number of
simulations); ``--quick`` skips it.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4`` (Linux: KiB), so it
counts each process alone. Prints a markdown table and writes
``benchmarks/out/results.json``.

Usage::

    .venv/bin/python benchmarks/bench_run.py [--sims 100000 1000000] [--repeat 1] [--quick]

Targets (issue 2, 2-core machine; not timed tests): run at 1,000,000 ≤ 1.5 s;
simulate ≤ 0.8 x floor on one worker and ≥ 1.7x faster again on two; peak
memory < 500 MB at 1,000,000 and flat to 10,000,000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "benchmark.yaml"
OUT = ROOT / "benchmarks" / "out"
SEED = 1
FLAT_SIMS = 10_000_000


# ----------------------------------------------------------------------------- child processes


def _child_simulate(n_sims: int, workers: int) -> dict[str, Any]:
    """In a fresh process: time ``riskshare.simulate`` and report memory."""
    import resource

    import riskshare as rs

    model = rs.load_config(CONFIG)
    rs.simulate(model, 2000, seed=SEED, workers=workers)  # warm-up: tables, lazy imports
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = rs.simulate(model, n_sims, seed=SEED, workers=workers)
    seconds = time.perf_counter() - start
    timings = result.manifest.get("timings", {})
    return {
        "seconds": seconds,
        "rss_before_kib": rss_before,
        "timings": {k: float(v) for k, v in timings.items()},
    }


def _child_floor(n_sims: int) -> dict[str, Any]:
    """In a fresh process: numpy's own draws of 20 Poisson + 25 normals per simulation."""
    import numpy as np

    import riskshare as rs

    model = rs.load_config(CONFIG)
    years = model.simulation.years
    lams = []
    for group in model.client_groups:
        counts = group.spend.clients
        lams += [counts.mean * (1.0 + counts.growth) ** t for t in range(years)]
    normals = 25
    rng = np.random.default_rng(SEED)
    rng.poisson(lams[0], size=1000)  # warm-up
    rng.standard_normal(1000)
    start = time.perf_counter()
    for lam in lams:
        rng.poisson(lam, size=n_sims)
    rng.standard_normal(normals * n_sims)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "poisson_per_sim": len(lams), "normals_per_sim": normals}


def _spawn(argv: list[str]) -> dict[str, Any]:
    """Run ``argv``; return its wall time, exit status, peak RSS and stdout.

    ``os.wait4`` gives the rusage of that one child, so its ``ru_maxrss`` is the
    peak resident memory of this process alone.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr[-4000:]}")
    return {
        "wall_s": wall,
        "maxrss_mib": usage.ru_maxrss / 1024,  # Linux: KiB
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "stdout": stdout,
    }


def _child(kind: str, *args: str) -> dict[str, Any]:
    out = _spawn([sys.executable, __file__, "--child", kind, *args])
    data = json.loads(out["stdout"].strip().splitlines()[-1])
    data.update({k: out[k] for k in ("wall_s", "maxrss_mib", "user_s", "sys_s")})
    return data


# ----------------------------------------------------------------------------- measurements


def riskshare_exe() -> str:
    """The ``riskshare`` command next to this interpreter (the project's .venv)."""
    exe = Path(sys.executable).parent / "riskshare"
    if exe.exists():
        return str(exe)
    found = shutil.which("riskshare")
    if found is None:
        raise SystemExit("riskshare command not found: install the project first")
    return found


def measure_run(n_sims: int) -> dict[str, Any]:
    """Whole-process ``riskshare run`` of the benchmark scenario."""
    with tempfile.TemporaryDirectory() as tmp:
        out = _spawn(
            [
                riskshare_exe(),
                "run",
                str(CONFIG),
                "--sims",
                str(n_sims),
                "--seed",
                str(SEED),
                "--out",
                str(Path(tmp) / "run"),
                "--force",
                "--quiet",
            ]
        )
    out.pop("stdout")
    out["seconds"] = out["wall_s"]
    return out


def best(repeat: int, fn) -> dict[str, Any]:
    """The fastest of ``repeat`` measurements (peak memory: the largest seen)."""
    runs = [fn() for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r["seconds"])
    fastest = dict(fastest)
    fastest["maxrss_mib"] = max(r["maxrss_mib"] for r in runs)
    fastest["all_seconds"] = [r["seconds"] for r in runs]
    return fastest


def _fmt_time(s: float) -> str:
    return f"{s:.3f}"


def _fmt_rate(n: int, s: float) -> str:
    rate = n / s
    return f"{rate / 1e6:.2f} M" if rate >= 1e6 else f"{rate / 1e3:.0f} k"


def table(results: dict[str, Any]) -> str:
    """The results as a markdown table."""
    lines = [
        "| simulations | measurement | seconds | ratio to floor | simulations / s "
        "| peak RSS (MiB) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        n = size["n_sims"]
        floor = size["floor"]["seconds"]
        rows = [
            ("floor (numpy: 20 Poisson + 25 normals / sim)", size["floor"]),
            ("`riskshare run`, whole process", size["run"]),
            ("`simulate`, 1 worker", size["simulate_1"]),
            ("`simulate`, 2 workers", size["simulate_2"]),
        ]
        for label, m in rows:
            lines.append(
                f"| {n:,} | {label} | {_fmt_time(m['seconds'])} | {m['seconds'] / floor:.2f} | "
                f"{_fmt_rate(n, m['seconds'])} | {m['maxrss_mib']:,.0f} |"
            )
    flat = results.get("flatness")
    if flat:
        m = flat["simulate_1"]
        lines.append(
            f"| {flat['n_sims']:,} | `simulate`, 1 worker (memory check) | "
            f"{_fmt_time(m['seconds'])} | | {_fmt_rate(flat['n_sims'], m['seconds'])} | "
            f"{m['maxrss_mib']:,.0f} |"
        )
    return "\n".join(lines)


def notes(results: dict[str, Any]) -> str:
    """Targets of issue 2 against the measurements."""
    out = []
    for size in results["sizes"]:
        n = size["n_sims"]
        s1, s2 = size["simulate_1"], size["simulate_2"]
        t1 = s1.get("timings", {})
        split = ""
        if "sample_s" in t1 and "settle_s" in t1:
            split = f" (sample {t1['sample_s']:.3f} s, settle {t1['settle_s']:.3f} s)"
        out.append(
            f"- {n:,}: simulate 1 worker {s1['seconds']:.3f} s{split}; 2 workers "
            f"{s2['seconds']:.3f} s, speed-up {s1['seconds'] / s2['seconds']:.2f}x; "
            f"RSS after imports and warm-up {s1['rss_before_kib'] / 1024:,.0f} MiB"
        )
    flat = results.get("flatness")
    if flat:
        big = flat["simulate_1"]["maxrss_mib"]
        ref = next((s for s in results["sizes"] if s["n_sims"] == 1_000_000), None)
        if ref is not None:
            out.append(
                f"- peak RSS of simulate, 1 worker: {ref['simulate_1']['maxrss_mib']:,.0f} MiB at "
                f"1,000,000 vs {big:,.0f} MiB at {flat['n_sims']:,} "
                f"({big / ref['simulate_1']['maxrss_mib']:.2f}x)"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--repeat", type=int, default=1, help="Runs of each timing; the best is kept."
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"Skip the {FLAT_SIMS:,} memory check."
    )
    parser.add_argument("--out", type=Path, default=OUT / "results.json")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "simulate":
            data = _child_simulate(int(rest[0]), int(rest[1]))
        elif kind == "floor":
            data = _child_floor(int(rest[0]))
        else:
            raise SystemExit(f"unknown child {kind!r}")
        print(json.dumps(data))
        return

    import numpy as np

    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "config": str(CONFIG.relative_to(ROOT)),
        "seed": SEED,
        "repeat": args.repeat,
        "sizes": [],
    }
    for n in args.sims:
        print(f"... {n:,} simulations", file=sys.stderr, flush=True)
        size = {
            "n_sims": n,
            "floor": best(args.repeat, lambda n=n: _child("floor", str(n))),
            "run": best(args.repeat, lambda n=n: measure_run(n)),
            "simulate_1": best(args.repeat, lambda n=n: _child("simulate", str(n), "1")),
            "simulate_2": best(args.repeat, lambda n=n: _child("simulate", str(n), "2")),
        }
        results["sizes"].append(size)
    if not args.quick:
        print(f"... {FLAT_SIMS:,} simulations (memory)", file=sys.stderr, flush=True)
        results["flatness"] = {
            "n_sims": FLAT_SIMS,
            "simulate_1": _child("simulate", str(FLAT_SIMS), "1"),
        }

    m = results["machine"]
    print(
        f"{m['machine']}, {m['cpus']} CPUs, Python {m['python']}, numpy {m['numpy']}; "
        f"{results['config']}, seed {SEED}, best of {args.repeat}\n"
    )
    print(table(results))
    print()
    print(notes(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
