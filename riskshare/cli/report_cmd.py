"""``riskshare report RESULT_DIR``: the HTML report (and Excel workbook) of a saved run.

The result is rebuilt from the folder's ``config.json`` and ``manifest.json``
by simulating again with the recorded seed, number of simulations and block
size: simulation is deterministic, so the numbers are identical to the run's
(checked against the config SHA-256 and the saved ``summary.csv``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from riskshare.cli.app import app
from riskshare.cli.commands import handles_errors
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

    from riskshare.config.load import validate_data
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
            files[name] = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not valid JSON ({exc})") from None
    manifest = files["manifest.json"]
    model = validate_data(files["config.json"], source=str(folder / "config.json"))
    digest = manifest.get("config_sha256")
    if digest and digest != config_digest(model):
        raise InputError(
            f"{folder}: config.json does not match the manifest's config_sha256 (was it edited?)"
        )
    for key in ("seed", "n_sims"):
        if key not in manifest:
            raise InputError(f"{folder / 'manifest.json'}: no '{key}'")
    kwargs = {}
    if "block_size" in manifest:
        kwargs["block_size"] = int(manifest["block_size"])
    result = simulate(model, n_sims=int(manifest["n_sims"]), seed=int(manifest["seed"]), **kwargs)
    saved = folder / "summary.csv"
    if saved.is_file():
        table = pd.read_csv(saved, encoding="utf-8-sig").set_index("partner")
        now = result.summary()
        cols = [c for c in ("mean", "p95") if c in table.columns and c in now.columns]
        if list(table.index.astype(str)) != list(now.index) or not np.allclose(
            table[cols].to_numpy(float), now[cols].to_numpy(float), rtol=1e-9, atol=1e-6
        ):
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
@handles_errors
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
    from riskshare.report.html import write_html

    folder = Path(result_dir)
    result = load_result(folder)
    tables = {
        "sensitivity": read_analysis_table("sensitivity", sensitivity, folder),
        "stress": read_analysis_table("stress", stress, folder),
    }
    html_path = write_html(result, out or folder / "report.html", title=title, **tables)
    typer.echo(f"Report written to {html_path}")
    if pdf:
        from riskshare.report.pdf import html_to_pdf

        typer.echo(f"PDF written to {html_to_pdf(html_path, html_path.with_suffix('.pdf'))}")
    if excel:
        xlsx = write_excel(result, (out.parent if out else folder) / "results.xlsx")
        typer.echo(f"Workbook written to {xlsx}")
