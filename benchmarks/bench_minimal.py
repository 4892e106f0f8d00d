"""riskshare's whole process against the minimal numpy script (issue 14), in one run.

Each measurement is a fresh process, timed from outside (wall clock, and peak
RSS from ``os.wait4``). The two commands compared,

* ``riskshare run configs/benchmark.yaml --sims N --quiet --out <tmp>``: all
  its output files (summary, by-year and pool-by-year tables with quantile
  intervals, per-simulation Parquet, config and manifest);
* ``python benchmarks/minimal.py --sims N --out <tmp>``: the same scenario and
  agreement in plain numpy (see its docstring),

run alternately, ``--repeat`` times each (the order flips every round, so a
change in the machine's load hits both alike); the table gives the medians and
their ratio, at each size (and the medians of their CPU time, user + system:
less sensitive to other load on the machine). Then, in the same way:

* import: ``python -c "import riskshare.cli"`` against ``python -c "import
  numpy"`` (medians of wall time);
* the run's own manifest: sampling, settlement, writing the results
  (``write_s``: summary, by year, pool by year, Parquet) and the whole
  process, medians over the runs at each size;
* memory: the peak RSS of ``riskshare run`` at 1,000,000 and at 10,000,000
  (``--quick`` skips 10,000,000);
* comparison: re-settling a changed agreement (the reserve opening at £1m) on
  spend drawn once, 100,000 simulations, in-process, median of ``--repeat``:
  ``riskshare.settle`` alone, and with the summary table.

Every process runs in this one's environment: where ``PYTHONDONTWRITEBYTECODE``
is set, riskshare's own modules (an editable install) are compiled from source
on every start, about 40 ms of CPU. ``--bytecode`` measures as on a machine
where Python caches bytecode, its default (and a wheel install, compiled when
installed).

Usage::

    .venv/bin/python benchmarks/bench_minimal.py [--sims 1000000 100000] [--repeat 5] [--quick]
        [--bytecode]

Prints a markdown table and writes ``benchmarks/out/minimal.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "benchmark.yaml"
MINIMAL = ROOT / "benchmarks" / "minimal.py"
OUT = ROOT / "benchmarks" / "out"
BIG = 10_000_000
#: Environment of every measured process (``--bytecode`` changes it).
CHILD_ENV = dict(os.environ)


def spawn(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` to completion: wall time [s] and peak RSS [MiB] of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CHILD_ENV
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{stderr.decode()[-4000:]}")
    return {
        "s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "stdout": stdout.decode(),
    }


def riskshare_run(n: int) -> dict[str, Any]:
    """One whole ``riskshare run``, with the timings from its manifest."""
    exe = str(Path(sys.executable).parent / "riskshare")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        m = spawn([exe, "run", str(CONFIG), "--sims", str(n), "--quiet", "--out", str(out)])
        manifest = json.loads((out / "manifest.json").read_text())
    m["timings"] = {**manifest["timings"], "process_s": manifest["process_s"]}
    return m


def minimal_run(n: int) -> dict[str, Any]:
    """One whole run of the minimal script."""
    with tempfile.TemporaryDirectory() as tmp:
        return spawn([sys.executable, str(MINIMAL), "--sims", str(n), "--out", f"{tmp}/run"])


def alternate(repeat: int, a: Any, b: Any) -> tuple[list[dict], list[dict]]:
    """``repeat`` measurements of each, alternating, the order flipped every round."""
    ra, rb = [], []
    for i in range(repeat):
        if i % 2:
            rb.append(b())
            ra.append(a())
        else:
            ra.append(a())
            rb.append(b())
    return ra, rb


def med(runs: list[dict], key: str = "s") -> float:
    return statistics.median(r[key] for r in runs)


def resettle(n: int, repeat: int) -> dict[str, float]:
    """In this process: re-settle a changed agreement on drawn spend (seconds, medians)."""
    import riskshare as rs
    from riskshare.run import Result

    model = rs.load_config(CONFIG)
    paths = rs.sample(model, n, seed=1)
    changed = rs.with_changes(model.agreement, {"reserve.opening": 1_000_000})
    rs.settle(model, paths, agreement=changed)  # warm-up
    settle_s, summary_s = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ledger = rs.settle(model, paths, agreement=changed)
        t1 = time.perf_counter()
        Result.from_ledger(model, ledger).table("summary")
        t2 = time.perf_counter()
        settle_s.append(t1 - t0)
        summary_s.append(t2 - t0)
    return {"settle_s": statistics.median(settle_s), "with_summary_s": statistics.median(summary_s)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help=f"Skip the {BIG:,} memory run.")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="Let Python cache bytecode (in a temporary folder), as it does by default: "
        "PYTHONDONTWRITEBYTECODE unset; one warm-up run of each first.",
    )
    parser.add_argument("--out", type=Path, default=OUT / "minimal.json")
    args = parser.parse_args(argv)
    if args.bytecode:
        CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="riskshare-pycache-")
        riskshare_run(1000)
        minimal_run(1000)

    res: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f} at start, "
        + (
            "riskshare recompiled on each start (PYTHONDONTWRITEBYTECODE)"
            if "PYTHONDONTWRITEBYTECODE" in CHILD_ENV
            else "bytecode cached"
        ),
        "repeat": args.repeat,
        "sizes": {},
    }
    for n in args.sims:
        print(f"... {n:,} simulations", file=sys.stderr, flush=True)
        rs_runs, min_runs = alternate(
            args.repeat, lambda n=n: riskshare_run(n), lambda n=n: minimal_run(n)
        )
        res["sizes"][n] = {
            "riskshare_s": med(rs_runs),
            "minimal_s": med(min_runs),
            "ratio": med(rs_runs) / med(min_runs),
            "riskshare_cpu_s": med(rs_runs, "cpu_s"),
            "minimal_cpu_s": med(min_runs, "cpu_s"),
            "riskshare_rss_mib": max(r["rss_mib"] for r in rs_runs),
            "minimal_rss_mib": max(r["rss_mib"] for r in min_runs),
            "timings": {
                k: statistics.median(r["timings"][k] for r in rs_runs)
                for k in rs_runs[0]["timings"]
            },
            "all_riskshare_s": [r["s"] for r in rs_runs],
            "all_minimal_s": [r["s"] for r in min_runs],
        }
    print("... imports", file=sys.stderr, flush=True)
    py = sys.executable
    cli, numpy = alternate(
        2 * args.repeat,
        lambda: spawn([py, "-c", "import riskshare.cli"]),
        lambda: spawn([py, "-c", "import numpy"]),
    )
    res["import"] = {
        "riskshare.cli_s": med(cli),
        "numpy_s": med(numpy),
        "riskshare.cli_cpu_s": med(cli, "cpu_s"),
        "numpy_cpu_s": med(numpy, "cpu_s"),
    }
    if not args.quick:
        print(f"... {BIG:,} simulations (memory)", file=sys.stderr, flush=True)
        big = riskshare_run(BIG)
        res["big"] = {"n": BIG, "s": big["s"], "rss_mib": big["rss_mib"], **big["timings"]}
    print("... comparison re-settle", file=sys.stderr, flush=True)
    res["resettle_100k"] = resettle(100_000, args.repeat)

    print(report(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")


def report(res: dict[str, Any]) -> str:
    """The measurements as markdown."""
    lines = [
        f"{res['machine']}; medians of {res['repeat']}, alternating",
        "",
        "| simulations | riskshare run (s) | minimal script (s) | ratio | CPU s riskshare / "
        "minimal | peak RSS riskshare / minimal (MiB) | sample / settle / write (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, s in res["sizes"].items():
        t = s["timings"]
        lines.append(
            f"| {int(n):,} | {s['riskshare_s']:.3f} | {s['minimal_s']:.3f} | "
            f"{s['ratio']:.2f}× | {s['riskshare_cpu_s']:.2f} / {s['minimal_cpu_s']:.2f} | "
            f"{s['riskshare_rss_mib']:.0f} / {s['minimal_rss_mib']:.0f} | "
            f"{t['sample_s']:.3f} / {t['settle_s']:.3f} / {t['write_s']:.3f} |"
        )
    imp = res["import"]
    lines += [
        "",
        f"- `import riskshare.cli`: {imp['riskshare.cli_s']:.3f} s "
        f"(`import numpy`: {imp['numpy_s']:.3f} s), whole interpreter start included; CPU "
        f"{imp['riskshare.cli_cpu_s']:.3f} s (numpy {imp['numpy_cpu_s']:.3f} s)",
    ]
    if "big" in res:
        big, small = res["big"], res["sizes"].get(1_000_000) or res["sizes"].get("1000000")
        ref = f" vs {small['riskshare_rss_mib']:.0f} MiB at 1,000,000" if small else ""
        lines.append(
            f"- peak RSS of `riskshare run` at {big['n']:,}: {big['rss_mib']:.0f} MiB{ref} "
            f"({big['s']:.1f} s; writing {big['write_s']:.2f} s)"
        )
    rs100 = res["resettle_100k"]
    lines.append(
        f"- re-settling a changed agreement on drawn spend, 100,000: {rs100['settle_s']:.3f} s "
        f"({rs100['with_summary_s']:.3f} s with the summary table)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
