"""``riskshare report RESULT_DIR``: the HTML report (and Excel workbook) of a saved run.

The result is rebuilt from the folder's ``config.json`` and ``manifest.json``
by simulating again with the recorded seed, number of simulations and block
size: simulation is deterministic, so the numbers are identical to the run's
(checked against the config SHA-256 and the saved ``summary.csv``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated

import typer

from riskshare.cli.core import app
from riskshare.cli.limits import MAX_SIMS, check_sims
from riskshare.errors import InputError

__all__ = ["load_result", "report"]


def load_result(folder: str | Path):  # -> riskshare.run.Result
    """Rebuild the :class:`riskshare.Result` of a folder written by ``riskshare run --out``.

    Parameters
    ----------
    folder : str or pathlib.Path

    Raises
    ------
    riskshare.errors.InputError
        If the folder lacks ``config.json`` or ``manifest.json``, the config's
        SHA-256 differs from the manifest's, or the re-simulated summary does
        not match the saved ``summary.csv``.
    """
    import numpy as np
    import pandas as pd

    from riskshare.config.load import read_text, validate_data
    from riskshare.run import config_digest, simulate

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a result folder")
    files = {}
    for name in ("config.json", "manifest.json"):
        p = folder / name
        if not p.is_file():
            raise InputError(
                f"{folder}: no {name} (is it a folder written by 'riskshare run --out'?)"
            )
        try:
            files[name] = json.loads(read_text(p, what=name))
        except ValueError as exc:
            raise InputError(f"{p}: not valid JSON ({exc})") from None
        if not isinstance(files[name], dict):
            raise InputError(f"{p}: not a JSON object")
    manifest = files["manifest.json"]
    model = validate_data(files["config.json"], source=str(folder / "config.json"))
    digest = manifest.get("config_sha256")
    if digest and digest != config_digest(model):
        raise InputError(
            f"{folder}: config.json does not match the manifest's config_sha256 (was it edited?)"
        )
    where = folder / "manifest.json"
    numbers = {
        "seed": (0, 2**128),
        "n_sims": (1, MAX_SIMS),
        "block_size": (1, MAX_SIMS),
    }
    kwargs = {}
    for key, (low, high) in numbers.items():
        value = manifest.get(key)
        if value is None and key == "block_size":
            continue
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(
                f"{where}: '{key}' must be a whole number from {low:,} to {high:,} (got {value!r})"
            )
        kwargs[key] = value
    check_sims(model, kwargs["n_sims"], flag=f"{where}: n_sims")
    result = simulate(model, **kwargs)
    saved = folder / "summary.csv"
    if saved.is_file():
        now = result.summary()
        try:
            table = pd.read_csv(io.StringIO(read_text(saved, what="summary"))).set_index("partner")
            cols = [c for c in ("mean", "p95") if c in table.columns and c in now.columns]
            same = list(table.index.astype(str)) == list(now.index) and np.allclose(
                table[cols].to_numpy(float), now[cols].to_numpy(float), rtol=1e-9, atol=1e-6
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{saved}: not a riskshare summary table ({exc})") from None
        if not same:
            raise InputError(
                f"{folder}: re-simulating does not reproduce summary.csv "
                "(different riskshare version?)"
            )
    result.manifest.update({k: v for k, v in manifest.items() if k not in result.manifest})
    return result


#: Columns a sensitivity (tornado) and a stress table must have to be shown.
_TABLE_COLUMNS = {
    "sensitivity": ("tornado.csv", {"assumption", "partner", "measure", "at_low", "at_high"}),
    "stress": ("stress.csv", {"scenario", "partner", "mean", "p95", "diff_mean"}),
}


def read_analysis_table(kind: str, path: Path | None, folder: Path):  # -> pandas.DataFrame | None
    """A sensitivity or stress table for the report: ``path`` (a CSV, or a folder holding
    ``tornado.csv``), else the one saved in the result ``folder``, else None.

    Raises
    ------
    riskshare.errors.InputError
        If a given file is missing or lacks the table's columns.
    """
    import pandas as pd

    name, needed = _TABLE_COLUMNS[kind]
    if path is None:
        path = folder / name
        if not path.is_file():
            return None
    elif path.is_dir():
        path = path / name
    if not path.is_file():
        raise InputError(f"{path}: no {kind} table there (write one with 'riskshare {kind} --out')")
    try:
        table = pd.read_csv(path, encoding="utf-8-sig")
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = needed - set(table.columns)
    if missing:
        raise InputError(
            f"{path}: not a {kind} table (missing column(s) {', '.join(sorted(missing))})"
        )
    return table


@app.command()
def report(
    result_dir: Annotated[Path, typer.Argument(help="Folder written by 'riskshare run --out'.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write (default RESULT_DIR/report.html)."),
    ] = None,
    excel: Annotated[
        bool,
        typer.Option("--excel", help="Also write an Excel workbook (RESULT_DIR/results.xlsx)."),
    ] = False,
    pdf: Annotated[
        bool,
        typer.Option("--pdf", help="Also print the report to an A4 PDF beside it (report.pdf)."),
    ] = False,
    sensitivity: Annotated[
        Path | None,
        typer.Option(
            help="tornado.csv (or its folder) from 'riskshare sensitivity --out' to include "
            "(default: RESULT_DIR/tornado.csv if there)."
        ),
    ] = None,
    stress: Annotated[
        Path | None,
        typer.Option(
            help="CSV from 'riskshare stress --out' to include (default: RESULT_DIR/stress.csv "
            "if there)."
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Report title (default: the config's name).")
    ] = None,
) -> None:
    """Write the HTML report of a saved run (and optionally its PDF and an Excel workbook).

    The report leads with a sentence per partner and the key table; sensitivity
    and stress results are included when given or saved in RESULT_DIR.
    """
    from riskshare.report.excel import write_excel
    from riskshare.report.files import atomic_folder, check_file, write_file
    from riskshare.report.html import write_html

    folder = Path(result_dir)
    inputs = [folder / n for n in ("config.json", "manifest.json", "summary.csv")]
    if out is not None:
        check_file(out, inputs=inputs)
    result = load_result(folder)
    tables = {
        "sensitivity": read_analysis_table("sensitivity", sensitivity, folder),
        "stress": read_analysis_table("stress", stress, folder),
    }

    if pdf:  # the optional extra (Playwright), imported only when asked for
        from riskshare.report.pdf import html_to_pdf
    if out is None:  # into the results folder, which records the new files in its manifest
        with atomic_folder(folder, add=True, inputs=inputs) as tmp:
            write_html(result, tmp / "report.html", title=title, **tables)
            if pdf:
                html_to_pdf(tmp / "report.html", tmp / "report.pdf")
            if excel:
                write_excel(result, tmp / "results.xlsx")
        html_path, xlsx = folder / "report.html", folder / "results.xlsx"
    else:
        html_path, xlsx = out, out.parent / "results.xlsx"
        write_file(out, lambda p: write_html(result, p, title=title, **tables), inputs=inputs)
        if pdf:
            write_file(out.with_suffix(".pdf"), lambda p: html_to_pdf(out, p), inputs=inputs)
        if excel:
            write_file(xlsx, lambda p: write_excel(result, p), inputs=inputs)
    typer.echo(f"Report written to {html_path}")
    if pdf:
        typer.echo(f"PDF written to {html_path.with_suffix('.pdf')}")
    if excel:
        typer.echo(f"Workbook written to {xlsx}")
