"""Monthly histories: summed into financial years (April to March) before fitting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskshare.analysis.calibration import PartialYearWarning, fit, read_history
from riskshare.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
YEARLY = ROOT / "examples" / "history.csv"


def monthly_from_yearly(yearly: pd.DataFrame) -> pd.DataFrame:
    """Each financial year's spend spread over its twelve months; the caseload constant."""
    rows = []
    for rec in yearly.to_dict("records"):
        fy = int(str(rec["year"])[:4])
        for k in range(12):
            mo = 4 + k
            year, month = (fy, mo) if mo <= 12 else (fy + 1, mo - 12)
            row = {
                "month": f"{year}-{month:02d}",
                "group": rec["group"],
                "spend": rec["spend"] / 12,
            }
            if "clients" in rec and not pd.isna(rec["clients"]):
                row["clients"] = rec["clients"]
            rows.append(row)
    return pd.DataFrame(rows)


def test_months_sum_to_the_same_years_and_the_same_fit(tmp_path: Path) -> None:
    yearly = pd.read_csv(YEARLY)
    path = tmp_path / "monthly.csv"
    monthly_from_yearly(yearly).to_csv(path, index=False)
    a, b = read_history(YEARLY), read_history(path)
    for col in ("year", "spend", "clients"):
        np.testing.assert_allclose(
            b[col].to_numpy(dtype=float), a[col].to_numpy(dtype=float), rtol=1e-12
        )
    # the yearly file rounds unit costs to the penny; the monthly one derives them
    np.testing.assert_allclose(b["unit_cost"], a["unit_cost"], rtol=1e-5)
    fa, fb = fit(YEARLY, first_year=2026), fit(path, first_year=2026)
    assert [g.id for g in fa.groups] == [g.id for g in fb.groups]
    for ga, gb in zip(fa.groups, fb.groups, strict=True):
        assert ga.years == gb.years
        spend_a, spend_b = ga.spend, gb.spend
        if "clients" in spend_a:
            assert spend_b["clients"]["growth"]["mean"] == pytest.approx(
                spend_a["clients"]["growth"]["mean"], rel=1e-9
            )
        else:
            assert spend_b["growth"]["mean"] == pytest.approx(spend_a["growth"]["mean"], rel=1e-9)


def test_part_years_at_the_ends_are_left_out_with_a_warning(tmp_path: Path) -> None:
    monthly = monthly_from_yearly(pd.read_csv(YEARLY))
    first = monthly.iloc[:3].copy()  # Jan-Mar before the first full year
    first["month"] = ["2018-01", "2018-02", "2018-03"]
    path = tmp_path / "m.csv"
    pd.concat([first, monthly]).to_csv(path, index=False)
    with pytest.warns(PartialYearWarning, match="3 of 12 months of 2017/18"):
        table = read_history(path)
    assert 2017 not in set(table["year"])


def test_a_missing_month_inside_the_history_names_the_row(tmp_path: Path) -> None:
    monthly = monthly_from_yearly(pd.read_csv(YEARLY))
    path = tmp_path / "gap.csv"
    monthly.drop(index=30).to_csv(path, index=False)  # a month of the third year
    with pytest.raises(
        InputError, match=r"gap\.csv: row \d+, column 'month': group '\w+' has no row for"
    ):
        read_history(path)


def test_bad_month_cells(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("month,group,spend\nApril,ld,100\n2019-13,ld,100\n2019-05,ld,-1\n")
    with pytest.raises(InputError) as info:
        read_history(path)
    text = str(info.value)
    assert "row 2, column 'month': 'April' is not a month" in text
    assert "row 3, column 'month': '2019-13' is not a month" in text
    assert "row 4, column 'spend': must be > 0" in text
