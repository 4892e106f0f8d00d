"""The benchmark scenario in plain vectorised numpy, written independently of riskshare.

The yardstick of issue 14: what a careful analyst would write by hand for the
scenario of ``shared/reference/benchmark-scenario.md`` (4 client groups, 5
years, Poisson counts, lognormal client costs summed with the shifted-lognormal
shortcut of its section 6b, one common shock) settled under the agreement of
``configs/benchmark.yaml`` (its section 4: overspends met from the reserve, the
rest shared in proportion to contributions, underspends carried forward, the
reserve returned at the end), and the same kind of output files as
``riskshare run``:

* ``summary.csv``: per partner and the pool, over the 5 years: mean, sd, P5,
  P50, P95, P99 (``numpy.quantile``), TVaR95, TVaR99, P(pays), P(any top-up);
* ``by_year.csv``: per partner and the pool, each year: mean, sd, P5, P50,
  P95, P99, P(pays), P(top-up);
* ``pool_by_year.csv``: each year: P(overspend), P(reserve exhausted), mean
  variance, reserve mean, P5, P50, P95;
* ``per_simulation.parquet``: one row per simulation, each partner's net
  position (CSV when pyarrow is missing).

It imports nothing from riskshare and uses numpy's own samplers on one thread
(``Generator.poisson`` and ``standard_normal``): no tables beyond the
shortcut's, no blocks, no threads. It computes no confidence intervals of the
quantiles and no standard errors (riskshare's tables have them).

Usage::

    python benchmarks/minimal.py --sims 1000000 --seed 1 --out DIR
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

YEARS = 5
PARTNERS = ("nhs", "council")
#: (owner, clients in year 0, mean cost in year 0 [£], cv of cost, demand growth, inflation)
GROUPS = (
    ("council", 300, 60_000.0, 0.6, 0.02, 0.025),
    ("nhs", 500, 20_000.0, 0.8, 0.02, 0.02),
    ("council", 1_500, 10_000.0, 0.7, 0.025, 0.02),
    ("nhs", 4_000, 1_000.0, 1.0, 0.03, 0.02),
)
SHOCK_CV = 0.04
UPLIFT = 0.03
QS = (0.05, 0.50, 0.95, 0.99)


def shifted_lognormal_table(
    lam: float, mean: float, cv: float
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Parameters (a, b, c) of S | N = k for every k in the Poisson range around ``lam``."""
    lo = max(0, int(lam - 12 * np.sqrt(lam) - 10))
    hi = int(lam + 12 * np.sqrt(lam) + 10)
    k = np.arange(lo, hi + 1, dtype=float)
    kk = np.maximum(k, 1.0)
    gamma2 = ((3 * cv + cv**3) / np.sqrt(kk)) ** 2
    e = gamma2 / 9
    for _ in range(60):  # Newton on f(e) = e (e + 3)^2 - gamma^2
        e = e - (e * (e + 3) ** 2 - gamma2) / ((e + 3) ** 2 + 2 * e * (e + 3))
    a = np.sqrt(np.log1p(e))
    scale = np.sqrt(kk * (cv * mean) ** 2 / (e * (1 + e)))
    b = np.log(scale)
    c = kk * mean - scale * np.sqrt(1 + e)
    zero = k == 0
    a[zero], b[zero], c[zero] = 0.0, -np.inf, 0.0
    c[k == 1] = 0.0
    return lo, a, b, c


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """Pooled spend, contributions and the settled agreement for ``n`` paths."""
    rng = np.random.default_rng(seed)
    spend = np.zeros((YEARS, n))
    for _owner, lam0, mean0, cv, growth, inflation in GROUPS:
        for t in range(YEARS):
            lam = lam0 * (1 + growth) ** t
            lo, a, b, c = shifted_lognormal_table(lam, mean0 * (1 + inflation) ** t, cv)
            idx = np.clip(rng.poisson(lam, n) - lo, 0, len(a) - 1)
            s = np.take(a, idx) * rng.standard_normal(n) + np.take(b, idx)
            np.exp(s, out=s)
            s += np.take(c, idx)
            spend[t] += s
    s2 = np.log1p(SHOCK_CV**2)
    spend *= np.exp(np.sqrt(s2) * rng.standard_normal((YEARS, n)) - s2 / 2)

    funded = np.array(
        [sum(g[1] * g[2] for g in GROUPS if g[0] == p) for p in PARTNERS]
    )  # expected year-0 spend of each partner's groups
    contrib = funded[None, :] * (1 + UPLIFT) ** np.arange(YEARS)[:, None]  # (years, partners)
    share = funded / funded.sum()

    reserve = np.zeros(n)
    topup = np.empty((YEARS, n))
    reserve_end = np.empty((YEARS, n))
    exhausted = np.empty((YEARS, n), dtype=bool)
    variance = spend - contrib.sum(axis=1)[:, None]
    for t in range(YEARS):
        d = variance[t]
        use = np.minimum(reserve, np.maximum(d, 0.0))
        exhausted[t] = d > reserve
        topup[t] = np.maximum(d, 0.0) - use
        reserve = reserve - use - np.minimum(d, 0.0)
        reserve_end[t] = reserve
    # Each partner's net position each year: its share of the top-up, and of
    # the reserve returned at the end.
    pool_year = topup.copy()
    pool_year[-1] -= reserve
    net_year = share[None, :, None] * pool_year[:, None, :]  # (years, partners, n)
    return {
        "net_year": net_year,
        "net": net_year.sum(axis=0),  # (partners, n)
        "topup": topup > 0,
        "variance": variance,
        "reserve": reserve_end,
        "exhausted": exhausted,
    }


def stats(x: np.ndarray) -> list[float]:
    """mean, sd, quantiles, TVaR95, TVaR99 and P(> 0) of one outcome vector."""
    n = x.size
    out = [x.mean(), x.std(ddof=1), *np.quantile(x, QS)]
    for level in (0.95, 0.99):
        k = int(np.ceil((1 - level) * n))
        out.append(np.partition(x, n - k)[n - k :].mean())
    out.append(np.count_nonzero(x > 0) / n)
    return [float(v) for v in out]


def write(out: Path, r: dict[str, np.ndarray]) -> None:
    """The four output files."""
    out.mkdir(parents=True, exist_ok=True)
    names = ("mean", "sd", "p5", "p50", "p95", "p99", "tvar95", "tvar99", "prob_pays")
    rows = [["partner", *names, "prob_topup_any_year"]]
    any_topup = float(r["topup"].any(axis=0).mean())
    for p, x in zip((*PARTNERS, "pool"), (*r["net"], r["net"].sum(axis=0)), strict=True):
        rows.append([p, *stats(x), any_topup])
    _csv(out / "summary.csv", rows)

    rows = [["partner", "year", "mean", "sd", "p5", "p50", "p95", "p99", "prob_pays"]]
    p_topup = r["topup"].mean(axis=1)
    rows[0].append("prob_topup")
    pool_year = r["net_year"].sum(axis=1)
    for i, p in enumerate((*PARTNERS, "pool")):
        for t in range(YEARS):
            x = pool_year[t] if p == "pool" else r["net_year"][t, i]
            s = stats(x)
            rows.append([p, t, *s[:6], s[8], float(p_topup[t])])
    _csv(out / "by_year.csv", rows)

    rows = [
        [
            "year",
            "prob_overspend",
            "prob_reserve_exhausted",
            "variance_mean",
            "reserve_mean",
            "reserve_p5",
            "reserve_p50",
            "reserve_p95",
        ]
    ]
    for t in range(YEARS):
        res = r["reserve"][t]
        rows.append(
            [
                t,
                float((r["variance"][t] > 0).mean()),
                float(r["exhausted"][t].mean()),
                float(r["variance"][t].mean()),
                float(res.mean()),
                *(float(v) for v in np.quantile(res, (0.05, 0.5, 0.95))),
            ]
        )
    _csv(out / "pool_by_year.csv", rows)

    sims = np.arange(r["net"].shape[1])
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        data = np.column_stack([sims, *r["net"]])
        np.savetxt(out / "per_simulation.csv", data, delimiter=",", fmt="%.17g")
        return
    table = pa.table({"sim": sims, **{p: r["net"][i] for i, p in enumerate(PARTNERS)}})
    pq.write_table(table, out / "per_simulation.parquet")


def _csv(path: Path, rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write(args.out, simulate(args.sims, args.seed))


if __name__ == "__main__":
    main()
