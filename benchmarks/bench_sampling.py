"""Benchmark of :func:`riskshare.sampling.sample` on the benchmark scenario.

The scenario is that of ``shared/reference/benchmark-scenario.md`` (4 groups, 5
years, Poisson counts, lognormal costs, one common shock), built here in code.

The *floor* is the time numpy's own samplers take to draw what one path of the
definition needs with the compound-sum shortcut: 20 Poisson counts
(``rng.poisson(lam, size=n)`` for each group-year) and 25 standard normals
per simulation. The target is ``sample`` ≤ 0.8 x floor on one thread.

Usage::

    python benchmarks/bench_sampling.py [--sims 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np

from riskshare.config.model import Model
from riskshare.sampling import sample

GROUPS = [
    # id, owner, clients in year 0, mean cost (£), cv, growth, inflation
    ("learning_disability", "council", 300, 60_000, 0.6, 0.020, 0.025),
    ("mental_health", "nhs", 500, 20_000, 0.8, 0.020, 0.020),
    ("older_people", "council", 1_500, 10_000, 0.7, 0.025, 0.020),
    ("community_equipment", "nhs", 4_000, 1_000, 1.0, 0.030, 0.020),
]
SHOCK_CV = 0.04
YEARS = 5


def benchmark_model(n_sims: int = 1_000_000) -> Model:
    """The benchmark scenario as a :class:`Model`."""
    return Model.model_validate(
        {
            "name": "benchmark",
            "partners": [{"id": "nhs"}, {"id": "council"}],
            "client_groups": [
                {
                    "id": gid,
                    "commissioners": owner,
                    "spend": {
                        "model": "clients",
                        "clients": {"distribution": "poisson", "mean": lam, "growth": growth},
                        "cost": {
                            "distribution": "lognormal",
                            "mean": mean,
                            "cv": cv,
                            "inflation": inflation,
                        },
                    },
                }
                for gid, owner, lam, mean, cv, growth, inflation in GROUPS
            ],
            "common_shocks": [{"id": "system", "cv": SHOCK_CV, "groups": "all"}],
            "contributions": {
                "nhs": {"kind": "expected_cost", "uplift": 0.03},
                "council": {"kind": "expected_cost", "uplift": 0.03},
            },
            "simulation": {"years": YEARS, "n_sims": n_sims, "seed": 20261123},
        }
    )


def floor_seconds(n_sims: int, seed: int = 1) -> float:
    """Time for numpy to draw 20 Poisson counts and 25 standard normals per simulation. [s]"""
    rng = np.random.default_rng(seed)
    t = np.arange(YEARS)
    start = time.perf_counter()
    for _, _, lam, _, _, growth, _ in GROUPS:
        for year in t:
            rng.poisson(lam * (1 + growth) ** year, size=n_sims)
    rng.standard_normal(25 * n_sims)
    return time.perf_counter() - start


def best_of(repeat: int, fn) -> float:
    """Best wall time of ``repeat`` calls. [s]"""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.sims
    model = benchmark_model(n)
    sample(model, 1000, seed=0)  # warm up: builds and caches the tables

    floor = best_of(args.repeat, lambda: floor_seconds(n))
    one = best_of(args.repeat, lambda: sample(model, n, seed=1, workers=1))
    two = best_of(args.repeat, lambda: sample(model, n, seed=1, workers=2))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    out_mib = 2 * n * YEARS * len(GROUPS) * 8 / 2**20
    print(
        f"machine            : {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"simulations        : {n:,}")
    print(f"floor (numpy draws): {floor:7.3f} s")
    for label, secs in (("1 worker ", one), ("2 workers", two)):
        print(
            f"sample, {label}  : {secs:7.3f} s   ratio to floor {secs / floor:5.2f}"
            f"   {n / secs:,.0f} sims/s"
        )
    print(f"speed-up, 2 workers: {one / two:5.2f}x")
    print(f"peak RSS           : {rss:,.0f} MiB (output arrays: {out_mib:,.0f} MiB)")


if __name__ == "__main__":
    main()
