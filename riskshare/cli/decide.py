"""Decision commands: compare, sweep, solve (all on common random numbers)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer

from riskshare.cli.app import ConfigArg, SetOpt, app, bad_input
from riskshare.cli.commands import handles_errors, text_table
from riskshare.errors import ConfigError, InputError

SimsOpt = Annotated[int | None, typer.Option("--sims", "-n", min=1, help="Number of simulations.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the results.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")]


def _money(v: float) -> str:
    if v != v:
        return ""
    return f"{'-' if v < 0 else ''}£{abs(v) / 1e3:,.0f}k"


def _pct(v: float) -> str:
    return "" if v != v else f"{100 * v:.1f}%"


def format_comparison(table, baseline: str) -> str:
    """A readable side-by-side table: each metric and its paired difference ± SE."""
    cols = [
        ("mean", "mean", _money),
        ("p95", "P95", _money),
        ("tvar95", "TVaR95", _money),
        ("prob_pays", "P(pays)", _pct),
        ("prob_call_any_year", "P(cash call)", _pct),
    ]
    if "prob_exceeds" in table.columns:
        cols.append(("prob_exceeds", "P(> appetite)", _pct))
    rows = [["alternative / partner", *[c[1] for c in cols]]]
    for (alt, partner), row in table.iterrows():
        cells = [f"{alt} / {partner}"]
        for key, _, fmt in cols:
            text = fmt(row[key])
            if alt != baseline and row[key] == row[key]:
                d, se = row[f"{key}_diff"], row[f"{key}_diff_se"]
                sign = "+" if d >= 0 else "-"
                text += f" ({sign}{fmt(abs(d))} ±{fmt(se)})"
            cells.append(text)
        rows.append(cells)
    return text_table(rows)


def _write_comparison_report(model, comparison, folder: Path, *, report: bool, excel: bool) -> None:
    """The baseline's report and workbook, with the comparison in them."""
    from riskshare.run import simulate

    baseline = simulate(model, n_sims=comparison.n_sims, seed=comparison.seed)
    table = comparison.table
    if report:
        from riskshare.report.html import write_html

        diffs = table.drop(index=comparison.baseline, level=0)
        frame = diffs[["mean_diff", "mean_diff_se"]].reset_index()
        frame.columns = ["agreement", "partner", "diff", "se"]
        write_html(baseline, folder / "report.html", comparison=frame)
    if excel:
        from riskshare.report.excel import write_excel

        write_excel(baseline, folder / "results.xlsx", comparison=table)


@app.command()
@handles_errors
def compare(
    config: ConfigArg,
    more: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More agreement files (so '--agreements a.yaml b.yaml' works).", show_default=False
        ),
    ] = None,
    agreements: Annotated[
        list[Path] | None,
        typer.Option(
            "--agreements",
            "-a",
            help="Agreement files (YAML with an 'agreement:' mapping, or the bare mapping); "
            "list several after it.",
        ),
    ] = None,
    sims: SimsOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (needs --out).")
    ] = False,
    excel: Annotated[
        bool, typer.Option("--excel", help="Also write results.xlsx (needs --out).")
    ] = False,
) -> None:
    """Compare agreements on the same simulated spend (paired differences to the config's own)."""
    from riskshare.analysis.comparison import compare as run_compare
    from riskshare.analysis.comparison import load_agreement
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder

    t0 = time.perf_counter()
    agreements = [*(agreements or []), *(more or [])]
    if (report or excel) and out is None:
        bad_input("--report and --excel write into a results folder: give --out DIR")
    if not agreements:
        bad_input("give at least one agreement file: --agreements a.yaml [b.yaml ...]")
    model = load_config(config, set_ or ())
    alts = {}
    for path in agreements:
        agr = load_agreement(path)
        name = agr.name or path.stem
        if name in alts or name == (model.agreement.name or "baseline"):
            name = f"{name} ({path.name})"
        alts[name] = path  # validated with the model: errors name this file
    result = run_compare(model, alts, n_sims=sims, seed=seed)
    typer.echo(
        f"{model.name}: {result.n_sims:,} simulations, seed {result.seed}; "
        f"baseline '{result.baseline}'"
    )
    typer.echo(
        "Net position over the agreement (positive = pays beyond contributions); "
        "in brackets: difference to the baseline ± its standard error"
    )
    typer.echo(format_comparison(result.table, result.baseline))
    if out is not None:
        with atomic_folder(out, force=force) as tmp:
            result.table.reset_index().to_csv(
                tmp / "comparison.csv", index=False, encoding="utf-8-sig"
            )
            (tmp / "manifest.json").write_text(
                json.dumps(
                    {
                        "command": "compare",
                        "config_file": str(config),
                        "overrides": list(set_ or ()),
                        "agreement_files": [str(p) for p in agreements],
                        "n_sims": result.n_sims,
                        "seed": str(result.seed),
                        "baseline": result.baseline,
                        "process_s": time.perf_counter() - t0,
                    },
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
            if report or excel:
                _write_comparison_report(model, result, tmp, report=report, excel=excel)
        typer.echo(f"Results written to {out}")


@app.command()
@handles_errors
def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep file (.yaml): config, sims, seed, grid or points.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for results; finished points are kept there so a rerun resumes.",
        ),
    ],
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", help="Run points on Dask: 'local' (a LocalCluster) or a scheduler address."
        ),
    ] = None,
    sims: SimsOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Metrics at every point of a grid of config values; interrupted sweeps resume."""
    from riskshare.analysis.sweeps import apply_point, expand_points, load_sweep
    from riskshare.analysis.sweeps import sweep as run_sweep

    t0 = time.perf_counter()
    model, spec = load_sweep(sweep_file)
    if out.exists() and not out.is_dir():
        bad_input(f"{out}: exists and is not a folder")
    n_sims = sims or spec.sims
    seed_ = seed if seed is not None else spec.seed
    grid = spec.grid if spec.grid is not None else spec.points
    # Every point is checked before anything is written or simulated.
    for changes in expand_points(grid):
        try:
            apply_point(model, changes)
        except ConfigError as exc:
            lines = [f"{sweep_file}: point {changes}: {loc}: {msg}" for loc, msg in exc.problems]
            raise InputError("\n".join(lines)) from None
        except InputError as exc:
            raise InputError(f"{sweep_file}: point {changes}: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    frame = run_sweep(
        model, grid, n_sims=n_sims, seed=seed_, metrics=spec.metrics, resume_dir=out, executor=dask
    )
    frame.to_csv(out / "sweep.csv", encoding="utf-8-sig")
    with contextlib.suppress(ImportError):  # no pyarrow: the CSV is enough
        frame.to_parquet(out / "sweep.parquet")
    elapsed = time.perf_counter() - t0
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "command": "sweep",
                "sweep_file": str(sweep_file),
                "points": len(frame),
                "n_sims": int(frame["n_sims"].iloc[0]),
                "seed": str(frame["seed"].iloc[0]),
                "executor": dask or "in-process",
                "process_s": elapsed,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    params = [c for c in frame.columns if "." in c]
    show = [
        c
        for c in frame.columns
        if c.endswith(("_mean", "_p95", "_prob_exceeds")) and not c.startswith("pool_")
    ][:6]
    rows = [[*params, *show]]
    for _, r in frame.iterrows():
        rows.append(
            [f"{r[c]:g}" if isinstance(r[c], float) else str(r[c]) for c in params]
            + [_pct(r[c]) if "prob" in c else _money(r[c]) for c in show]
        )
    typer.echo(
        f"{len(frame)} points, {int(frame['n_sims'].iloc[0]):,} simulations each, "
        f"in {elapsed:.1f} s"
    )
    typer.echo(text_table(rows))
    typer.echo(f"Results written to {out / 'sweep.csv'}")


@app.command()
@handles_errors
def solve(
    config: ConfigArg,
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            help="SUBJECT:STATISTIC[:PARAM] OP VALUE, OP one of <=, >=, =; e.g. "
            "'council:p_any_year_above:2000000<=0.05', 'pool:prob_call_any_year<=0.05', "
            "'council:tvar95_per_pound=icb:tvar95_per_pound'.",
        ),
    ],
    vary: Annotated[
        str,
        typer.Option(
            "--vary",
            "-v",
            help="Decision variable: contributions.PARTNER (factor on its schedule), split.PARTNER "
            "(its fraction of total contributions) or a numeric config path, e.g. "
            "agreement.reserve.opening.",
        ),
    ],
    lo: Annotated[float | None, typer.Option("--lo", help="Lower bound of the search.")] = None,
    hi: Annotated[float | None, typer.Option("--hi", help="Upper bound of the search.")] = None,
    goal: Annotated[
        str, typer.Option(help="min: the smallest value meeting the target; max: the largest.")
    ] = "min",
    sims: SimsOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Find the contribution (or reserve, or split) that meets a target on a simulated statistic."""
    from riskshare.analysis.solver import describe_solution, parse_target
    from riskshare.analysis.solver import solve as run_solve
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder

    parsed = parse_target(target)  # a bad target fails before the config is read
    if goal not in ("min", "max"):
        bad_input(f"--goal must be 'min' or 'max', not '{goal}'")
    if (lo is None) != (hi is None):
        bad_input("give both --lo and --hi, or neither")
    model = load_config(config, set_ or ())
    bounds = None if lo is None else (lo, hi)
    sol = run_solve(model, parsed, vary, bounds=bounds, n_sims=sims, seed=seed, goal=goal)
    typer.echo(describe_solution(sol))
    if out is not None:
        with atomic_folder(out, force=force) as tmp:
            data = sol.to_dict()
            data = {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in data.items()
            }
            data["config_file"] = str(config)
            (tmp / "solution.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"Results written to {out}")
    if not sol.reachable:
        raise typer.Exit(code=1)
