"""Core commands: run, validate, schema."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from riskshare.cli.core import ConfigArg, SetOpt, app, fail
from riskshare.errors import InputError


def progress_reporter(quiet: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A progress callback: a bar on a terminal, a line every ~10 s otherwise.

    Returns the callback and a function that closes it.
    """
    if quiet:
        return None, lambda: None
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(
            total=None, unit="sim", unit_scale=True, file=sys.stderr, leave=False, mininterval=0.2
        )

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        return update, bar.close
    last = [time.monotonic()]
    start = last[0]

    def log(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 10 or (done == total and now - start >= 10):
            last[0] = now
            typer.echo(f"simulated {done:,} of {total:,} ({100 * done / total:.0f} %)", err=True)

    return log, lambda: None


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None) -> None:
    """Check a configuration file; print every problem with its file, line and field."""
    from riskshare.config import load_config

    model = load_config(config, set_ or ())
    typer.echo(
        f"{config}: valid ({len(model.partners)} partners, {len(model.client_groups)} client "
        f"groups, {model.simulation.years} years)"
    )


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")] = None,
) -> None:
    """Print the JSON Schema of configuration files (for editor completion and checking)."""
    from riskshare.config import json_schema_text

    text = json_schema_text()
    if out is None:
        typer.echo(text, nl=False)
    else:
        from riskshare.report.files import write_file

        write_file(out, lambda p: p.write_text(text, encoding="utf-8"))


@app.command()
def run(
    config: ConfigArg,
    sims: Annotated[
        int | None, typer.Option("--sims", "-n", min=1, help="Number of simulations.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the results.")] = None,
    set_: SetOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty --out folder.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", "-j", min=1, help="Threads (default: CPU count, at most 4); same numbers."
        ),
    ] = None,
    chunk_blocks: Annotated[int, typer.Option(min=1, help="Random-number blocks per chunk.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no table.")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (needs --out).")
    ] = False,
    excel: Annotated[
        bool, typer.Option("--excel", help="Also write results.xlsx (needs --out).")
    ] = False,
    pdf: Annotated[
        bool,
        typer.Option("--pdf", help="Also write report.html and its A4 PDF (needs --out)."),
    ] = False,
) -> None:
    """Simulate the pool and settle the agreement; print and save each partner's exposure.

    Writes into --out: summary.csv, by_year.csv, pool_by_year.csv,
    per_simulation.parquet (.csv without the parquet extra), config.json,
    manifest.json; as the agreement has them, by_schedule.csv, exits.csv,
    exit_costs.csv, contribution_paths.csv, holdback.csv, trigger.csv and
    cash_calls.csv; with --report and --excel a self-contained report.html and a
    results.xlsx workbook (--pdf: report.html and its A4 PDF).
    """
    t0 = time.perf_counter()
    from riskshare.cli.limits import check_sims
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder, check_folder, preload_writer, write_run
    from riskshare.run import simulate

    if (report or excel or pdf) and out is None:
        fail(InputError("--report, --pdf and --excel write into a results folder: give --out DIR"))
    model = load_config(config, set_ or ())
    sims = check_sims(model, sims)
    folder = {"force": force, "command": "run", "inputs": [config]}
    if out is not None:  # before spending time simulating
        extras = [n for n, on in (("report.html", report), ("results.xlsx", excel)) if on]
        check_folder(out, new=extras, **folder)
        preload_writer()  # imported while the simulation runs
    callback, close = progress_reporter(quiet)
    try:
        result = simulate(
            model,
            n_sims=sims,
            seed=seed,
            workers=workers,
            chunk_blocks=chunk_blocks,
            progress=callback,
        )
    finally:
        close()
    if out is not None:
        with atomic_folder(out, **folder) as tmp:
            write_run(
                result,
                tmp,
                extra_manifest={
                    "command": "run",
                    "config_file": str(config),
                    "overrides": list(set_ or ()),
                    "process_s": time.perf_counter() - t0,
                },
            )
            if report or pdf:
                from riskshare.report.html import write_html

                write_html(result, tmp / "report.html")
            if pdf:
                from riskshare.report.pdf import html_to_pdf

                html_to_pdf(tmp / "report.html", tmp / "report.pdf")
            if excel:
                from riskshare.report.excel import write_excel

                write_excel(result, tmp / "results.xlsx")
    if not quiet:
        from riskshare.cli.show import print_summary
        from riskshare.config.names import partner_labels

        typer.echo(f"{model.name}: {result.n_sims:,} simulations, seed {result.seed}")
        if result.basis != "nominal":
            typer.echo(result.basis_note)
        print_summary(
            result.table("summary"),
            partner_labels(model),
            title="Net position over the agreement (positive = pays beyond contributions):",
        )
        if out is not None:
            typer.echo(f"Results written to {out}")
