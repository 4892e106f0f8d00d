"""Generate ``examples/history.csv``: a realistic synthetic history of pooled-fund spend.

Eight financial years (2018/19 to 2025/26) of four client groups like
``configs/section75_example.yaml``, drawn from KNOWN parameters
(:data:`TRUE_PARAMETERS`) with a fixed seed, so that ``riskshare fit`` can be
checked against the truth (``tests/analysis/test_fit.py``).

The generating model is the one ``riskshare fit`` assumes:

* clients groups: clients ``N_t ~ Poisson(mu_t)`` or negative binomial
  (size ``r``) with ``mu_t = clients0 * (1 + growth)**t``; the year's spend is
  the sum of ``N_t`` independent lognormal costs of mean ``cost0 * (1 +
  inflation)**t`` and CV ``cv``, drawn as one lognormal of the same mean and
  CV ``cv / sqrt(N_t)`` (the approximation riskshare's sampler refines);
* aggregate groups: spend lognormal around ``spend0 * (1 + growth)**t`` with
  CV ``cv``;
* the groups' year-to-year noise is correlated through a Gaussian copula
  with matrix :data:`CORRELATION` (independent from year to year).

Run ``python examples/make_history.py`` (from the repository root) to rewrite
``examples/history.csv``; ``make_history(seed)`` returns the table for other
seeds (used by the coverage test).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: First history year (2018/19) and number of years.
FIRST_YEAR = 2018
YEARS = 8
#: Seed of the shipped file.
SEED = 20260101

#: The parameters the history is drawn from (t = 0 is 2018/19). Rates a year, money in £.
TRUE_PARAMETERS: dict[str, dict[str, float | str]] = {
    "learning_disability": {
        "model": "clients",
        "count": "poisson",
        "clients0": 340.0,
        "growth": 0.015,
        "cost0": 24000.0,
        "cv": 0.6,
        "inflation": 0.055,
    },
    "mental_health": {
        "model": "aggregate",
        "spend0": 3_550_000.0,
        "cv": 0.04,
        "growth": 0.05,
    },
    "community_equipment": {
        "model": "aggregate",
        "spend0": 1_780_000.0,
        "cv": 0.06,
        "growth": 0.05,
    },
    "intermediate_care": {
        "model": "clients",
        "count": "negative_binomial",
        "dispersion": 60.0,
        "clients0": 960.0,
        "growth": 0.02,
        "cost0": 4000.0,
        "cv": 0.8,
        "inflation": 0.036,
    },
}

#: Correlation of the groups' year-to-year noise (order of TRUE_PARAMETERS).
CORRELATION = np.array(
    [
        [1.0, 0.3, 0.2, 0.2],
        [0.3, 1.0, 0.4, 0.3],
        [0.2, 0.4, 1.0, 0.3],
        [0.2, 0.3, 0.3, 1.0],
    ]
)


def make_history(
    seed: int = SEED, years: int = YEARS, first_year: int = FIRST_YEAR
) -> pd.DataFrame:
    """Draw a history table from :data:`TRUE_PARAMETERS`.

    Parameters
    ----------
    seed : int
        Seed of the numpy generator.
    years : int
        Number of financial years.
    first_year : int
        Calendar year the first financial year starts.

    Returns
    -------
    pandas.DataFrame
        Columns ``year`` ("2018/19"), ``group``, ``spend`` [£, whole pounds],
        ``clients`` and ``unit_cost`` [£, pence] (blank for aggregate groups).
    """
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(CORRELATION)
    z = rng.standard_normal((years, len(TRUE_PARAMETERS))) @ chol.T
    rows = []
    for g, (gid, p) in enumerate(TRUE_PARAMETERS.items()):
        for t in range(years):
            label = f"{first_year + t}/{(first_year + t + 1) % 100:02d}"
            if p["model"] == "clients":
                mu = p["clients0"] * (1 + p["growth"]) ** t
                if p["count"] == "poisson":
                    n = int(rng.poisson(mu))
                else:
                    r = p["dispersion"]
                    n = int(rng.negative_binomial(r, r / (r + mu)))
                mean_cost = p["cost0"] * (1 + p["inflation"]) ** t
                s2 = np.log1p(p["cv"] ** 2 / n)
                spend = n * mean_cost * np.exp(np.sqrt(s2) * z[t, g] - s2 / 2)
                rows.append(
                    {
                        "year": label,
                        "group": gid,
                        "spend": round(spend),
                        "clients": n,
                        "unit_cost": round(round(spend) / n, 2),
                    }
                )
            else:
                mean = p["spend0"] * (1 + p["growth"]) ** t
                s2 = np.log1p(p["cv"] ** 2)
                spend = mean * np.exp(np.sqrt(s2) * z[t, g] - s2 / 2)
                rows.append(
                    {
                        "year": label,
                        "group": gid,
                        "spend": round(spend),
                        "clients": None,
                        "unit_cost": None,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["clients"] = frame["clients"].astype("Int64")
    return frame


def main(argv: list[str] | None = None) -> int:
    """Write the history to ``examples/history.csv`` (or the path given)."""
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).with_name("history.csv")
    make_history().to_csv(out, index=False)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
