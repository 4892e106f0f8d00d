"""Decision commands: compare, sweep, solve (all on common random numbers)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer

from riskshare.cli.core import ConfigArg, SetOpt, app, bad_input
from riskshare.cli.limits import check_points, check_sims
from riskshare.errors import ConfigError, InputError

SimsOpt = Annotated[int | None, typer.Option("--sims", "-n", min=1, help="Number of simulations.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the results.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")]

#: Headings of the measures the sweep table shows.
SWEEP_MEASURES = {"mean": "mean", "p95": "P95", "prob_exceeds": "P(> appetite)"}


def print_comparison(table, baseline: str, labels: dict[str, str]) -> None:
    """The side-by-side table: each metric and, in brackets, its paired difference ± SE."""
    from riskshare.cli.show import money, percent, print_table, signed_money

    cols = [
        ("mean", "mean", money),
        ("p95", "P95", money),
        ("tvar95", "TVaR95", money),
        ("prob_pays", "P(pays)", percent),
        ("prob_call_any_year", "P(cash call)", percent),
    ]
    if "prob_exceeds" in table.columns:
        cols.append(("prob_exceeds", "P(> appetite)", percent))
    rows = []
    for (alt, partner), row in table.iterrows():
        cells = [f"{alt} / {labels.get(partner, partner)}"]
        for key, _, fmt in cols:
            text = fmt(row[key])
            if alt != baseline and row[key] == row[key]:
                d, se = row[f"{key}_diff"], row[f"{key}_diff_se"]
                diff = signed_money(d) if fmt is money else f"{100 * d:+.1f}%"
                text += f" ({diff} ±{fmt(se)})"
            cells.append(text)
        rows.append(cells)
    print_table(["agreement / partner", *[c[1] for c in cols]], rows)


def _write_comparison_report(model, comparison, folder: Path, *, report: bool, excel: bool) -> None:
    """The comparison report (rules side by side); the baseline's workbook with the comparison."""
    if report:
        from riskshare.report.compared import write_comparison_html

        write_comparison_html(comparison, model, folder / "report.html")
    if excel:
        from riskshare.report.excel import write_excel
        from riskshare.run import simulate

        baseline = simulate(model, n_sims=comparison.n_sims, seed=comparison.seed)
        write_excel(baseline, folder / "results.xlsx", comparison=comparison.table)


@app.command()
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
    from riskshare.config.names import partner_labels
    from riskshare.report.files import atomic_folder, check_folder

    t0 = time.perf_counter()
    agreements = [*(agreements or []), *(more or [])]
    if (report or excel) and out is None:
        bad_input("--report and --excel write into a results folder: give --out DIR")
    if not agreements:
        bad_input("give at least one agreement file: --agreements a.yaml [b.yaml ...]")
    folder = {"force": force, "command": "compare", "inputs": [config, *agreements]}
    if out is not None:
        check_folder(out, **folder)
    model = load_config(config, set_ or ())
    alts = {}
    for path in agreements:
        agr = load_agreement(path)
        name = agr.name or path.stem
        if name in alts or name == (model.agreement.name or "baseline"):
            name = f"{name} ({path.name})"
        alts[name] = path  # validated with the model: errors name this file
    sims = check_sims(model, sims)
    result = run_compare(model, alts, n_sims=sims, seed=seed)
    typer.echo(
        f"{model.name}: {result.n_sims:,} simulations, seed {result.seed}; "
        f"baseline '{result.baseline}'"
    )
    typer.echo(
        "Net position over the agreement (positive = pays beyond contributions); "
        "in brackets: difference to the baseline ± its standard error"
    )
    print_comparison(result.table, result.baseline, partner_labels(model))
    if out is not None:
        with atomic_folder(out, **folder) as tmp:
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


def _print_sweep(frame, params: list[str], model, elapsed: float) -> None:
    """The sweep table: the swept values, then each partner's mean, P95 and P(> appetite)."""
    from riskshare.cli.show import money, percent, print_table
    from riskshare.config.names import assumption_label, partner_labels

    labels = partner_labels(model)

    def heading(column: str) -> str:
        pid = next((p for p in model.partner_ids if column.startswith(f"{p}_")), None)
        if pid is None:
            return column
        measure = column.removeprefix(f"{pid}_")
        return f"{labels[pid]}\n{SWEEP_MEASURES.get(measure, measure)}"

    show = [
        c
        for c in frame.columns
        if c.endswith(("_mean", "_p95", "_prob_exceeds")) and not c.startswith("pool_")
    ][:6]
    rows = [
        [f"{r[c]:g}" if isinstance(r[c], float) else str(r[c]) for c in params]
        + [percent(r[c]) if "prob" in c else money(r[c]) for c in show]
        for _, r in frame.iterrows()
    ]
    print_table(
        [
            *(assumption_label(model, p).replace(": ", ":\n", 1) for p in params),
            *map(heading, show),
        ],
        rows,
        title=f"{len(frame)} points, {int(frame['n_sims'].iloc[0]):,} simulations each, "
        f"in {elapsed:.1f} s",
    )


def _sweep_chart(
    frame, params: list[str], partners: list[str], labels: dict[str, str], path: Path
) -> None:
    """Each partner's mean net position against the first swept value (sweep.png)."""
    if not params or not partners:
        return
    from riskshare.report.plots import sweep_panels

    sweep_panels(frame, params, partners, "mean", labels).savefig(path, dpi=110)


@app.command()
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
    force: Annotated[
        bool, typer.Option("--force", help="Replace another riskshare results folder.")
    ] = False,
    max_points: Annotated[
        int | None,
        typer.Option("--max-points", min=1, help="Largest grid allowed (default 10,000)."),
    ] = None,
) -> None:
    """Metrics at every point of a grid of config values; interrupted sweeps resume."""
    from riskshare.analysis.sweeps import apply_point, expand_points, load_sweep
    from riskshare.analysis.sweeps import sweep as run_sweep
    from riskshare.report.files import atomic_folder, check_folder

    t0 = time.perf_counter()
    model, spec = load_sweep(sweep_file)
    # The folder keeps finished points ('points/') so a rerun resumes: it is this
    # command's own; any other non-empty folder is refused.
    folder = {
        "force": force,
        "command": "sweep",
        "resume": True,
        "keep": ["points"],
        "inputs": [sweep_file, sweep_file.parent / spec.config],
    }
    check_folder(out, **folder)
    n_sims = sims or spec.sims
    seed_ = seed if seed is not None else spec.seed
    grid = spec.grid if spec.grid is not None else spec.points
    count = math.prod(len(v) for v in grid.values()) if isinstance(grid, dict) else len(grid)
    if count == 0:
        bad_input(f"{sweep_file}: points: the sweep has no points")
    check_points(count, max_points, source=str(sweep_file))
    n_sims = check_sims(model, n_sims)
    # Every point is checked before anything is written or simulated.
    for changes in expand_points(grid):
        try:
            apply_point(model, changes)
        except ConfigError as exc:
            lines = [f"{sweep_file}: point {changes}: {loc}: {msg}" for loc, msg in exc.problems]
            raise InputError("\n".join(lines)) from None
        except InputError as exc:
            raise InputError(f"{sweep_file}: point {changes}: {exc}") from None
    with atomic_folder(out, **folder) as tmp:
        frame = run_sweep(
            model,
            grid,
            n_sims=n_sims,
            seed=seed_,
            metrics=spec.metrics,
            resume_dir=out,
            executor=dask,
        )
        frame.to_csv(tmp / "sweep.csv", encoding="utf-8-sig")
        with contextlib.suppress(ImportError):  # no pyarrow: the CSV is enough
            frame.to_parquet(tmp / "sweep.parquet")
        elapsed = time.perf_counter() - t0
        (tmp / "manifest.json").write_text(
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
        partners = [p for p in model.partner_ids if f"{p}_mean" in frame.columns]
        labels = {p.id: p.label for p in model.partners}
        _sweep_chart(frame, params, partners, labels, tmp / "sweep.png")
    _print_sweep(frame, params, model, elapsed)
    typer.echo(f"Results written to {out / 'sweep.csv'} (chart: {out / 'sweep.png'})")


@app.command()
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
    report: Annotated[
        bool,
        typer.Option("--report", help="Also write the solved setting's report.html (needs --out)."),
    ] = False,
) -> None:
    """Find the contribution (or reserve, or split) that meets a target on a simulated statistic.

    Answers in pounds a year, per partner and in total, with the 95 % interval;
    with --out writes solution.json, contributions.csv and solve.png (the
    statistic against the decision), and with --report the solved setting's
    report.html.
    """
    from riskshare.analysis.solver import parse_target
    from riskshare.analysis.solver import solve as run_solve
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder, check_folder

    parsed = parse_target(target)  # a bad target fails before the config is read
    _check_target(parsed)
    if goal not in ("min", "max"):
        bad_input(f"--goal must be 'min' or 'max', not '{goal}'")
    if (lo is None) != (hi is None):
        bad_input("give both --lo and --hi, or neither")
    if lo is not None and hi is not None:
        _check_bounds(vary, lo, hi)
    if report and out is None:
        bad_input("--report writes into a results folder: give --out DIR")
    folder = {"force": force, "command": "solve", "inputs": [config]}
    if out is not None:
        check_folder(out, **folder)
    model = load_config(config, set_ or ())
    sims = check_sims(model, sims)
    bounds = None if lo is None else (lo, hi)
    sol = run_solve(model, parsed, vary, bounds=bounds, n_sims=sims, seed=seed, goal=goal)
    _print_solution(model, sol)
    if out is not None:
        with atomic_folder(out, **folder) as tmp:
            data = sol.to_dict()
            data = {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in data.items()
            }
            data["config_file"] = str(config)
            (tmp / "solution.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            if sol.reachable:
                sol.contributions.to_csv(tmp / "contributions.csv", encoding="utf-8-sig")
            _solve_chart(model, sol, parsed, tmp / "solve.png")
            if report and sol.reachable:
                _solve_report(model, sol, tmp / "report.html")
        typer.echo(f"Results written to {out}")
    if not sol.reachable:
        raise typer.Exit(code=1)


def _check_target(parsed) -> None:
    """Refuse a target no statistic can meet: a probability outside [0, 1], a non-finite value."""
    from riskshare.analysis.comparison import STATISTICS

    _, name, _ = parsed.left
    meaning = next((v for k, v in STATISTICS.items() if k.split(":")[0] == name), "")
    if isinstance(parsed.right, tuple):
        return
    value = float(parsed.right)
    if not math.isfinite(value):
        bad_input(f"--target '{parsed.text}': the value must be a finite number")
    if "P(" in meaning and not 0 <= value <= 1:
        bad_input(
            f"--target '{parsed.text}': {name} is a probability, so the value must be from "
            f"0 to 1 (got {value:g}; 5 % is 0.05)"
        )


#: Widest search allowed for each kind of decision variable (--lo, --hi).
_BOUND_LIMITS = {"contributions": (0.0, 100.0), "split": (0.0, 1.0)}


def _check_bounds(vary: str, lo: float, hi: float) -> None:
    """Refuse --lo/--hi that are not finite, not increasing, or beyond what ``vary`` allows."""
    low, high = _BOUND_LIMITS.get(vary.split(".")[0], (-1e12, 1e12))
    for flag, value in (("--lo", lo), ("--hi", hi)):
        if not (math.isfinite(value) and low <= value <= high):
            bad_input(f"{flag} {value:g}: must be a number from {low:g} to {high:g} for {vary}")
    if not lo < hi:
        bad_input(f"--lo {lo:g} must be below --hi {hi:g}")


def _partner_varied(vary: str) -> str | None:
    """The partner whose contributions ``vary`` moves, if it moves one."""
    parts = vary.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] in ("contributions", "split") else None


def _print_solution(model, sol) -> None:
    """The answer in pounds a year, per partner and in total, with its 95 % interval."""
    from riskshare.cli.show import money, print_table
    from riskshare.config.names import partner_labels

    typer.echo(
        f"Target: {sol.target}   varying {sol.vary} in [{sol.bounds[0]:g}, {sol.bounds[1]:g}] "
        f"({sol.n_sims:,} simulations, seed {sol.seed})"
    )
    if not sol.reachable:
        typer.echo(f"Not reachable: {sol.status}.")
        return
    table = sol.contributions
    has_interval = "low" in table.columns.unique("at")
    pid = _partner_varied(sol.vary)
    labels = {**partner_labels(model, pool=False), "total": "Total"}
    raw = f"{sol.vary} = {sol.answer:,.6g}"
    if pid is not None:
        avg = table.loc["average"]
        sentence = f"Answer: {labels[pid]} pays in {money(avg[('answer', pid)])} a year on average"
        if has_interval:
            sentence += (
                f" (95% interval {money(avg[('low', pid)])} to {money(avg[('high', pid)])};"
                f" the safe end {money(avg[('conservative', pid)])})"
            )
        typer.echo(f"{sentence}; {raw} ({sol.status})")
    else:
        interval = (
            f" (95% interval {sol.interval[0]:,.6g} to {sol.interval[1]:,.6g})"
            if has_interval
            else ""
        )
        typer.echo(f"Answer: {raw}{interval} ({sol.status})")
    left = sol.target.split("<")[0].split(">")[0].split("=")[0].strip()
    typer.echo(f"At the answer: {left} = {sol.value:,.6g} (SE {sol.value_se:,.2g})")
    columns = list(table["answer"].columns)
    rows = []
    for year in table.index:
        cells = [year]
        for col in columns:
            text = money(table.loc[year, ("answer", col)])
            if has_interval:
                low, high = table.loc[year, ("low", col)], table.loc[year, ("high", col)]
                if money(low) != money(high):
                    text += f" ({money(low)} to {money(high)})"
            cells.append(text)
        rows.append(cells)
    print_table(
        ["year", *(labels.get(c, c) for c in columns)],
        rows,
        title="Each partner's contributions at the answer, a year (95% interval in brackets):",
    )


def _solve_chart(model, sol, target, path: Path) -> None:
    """The target's statistic against the decision (in £ a year where it is a contribution)."""
    if not sol.trace:
        return
    from riskshare.analysis.solver import contributions_at
    from riskshare.config.names import partner_labels
    from riskshare.report.plots import format_money, goal_seek

    labels = partner_labels(model)
    pid = _partner_varied(sol.vary)
    xs = [x for x, _ in sol.trace]
    answer, interval = sol.answer, sol.interval
    xlabel = sol.vary
    if pid is not None:  # the decision as the partner's average contribution [£ a year]
        named = {str(i): x for i, x in enumerate([*xs, answer, *interval]) if math.isfinite(x)}
        avg = contributions_at(model, sol.vary, named).loc["average"].xs(pid, level="partner")
        pounds = [float(avg[str(i)]) if str(i) in avg else math.nan for i in range(len(xs) + 3)]
        xs, (answer, *interval) = pounds[: len(xs)], pounds[len(xs) :]
        xlabel = f"{labels[pid]}'s contribution, £ a year on average"
    subject, stat, param = target.left
    ylabel = f"{labels.get(subject, subject)} {stat}" + (
        "" if param is None else f" {format_money(param)}"
    )
    money_y = not stat.startswith(("p_", "prob")) and "per_pound" not in stat
    goal_seek(
        list(zip(xs, [y for _, y in sol.trace], strict=True)),
        target.right if isinstance(target.right, float) else None,
        answer,
        (interval[0], interval[1]),
        xlabel=xlabel,
        ylabel=ylabel,
        money_x=pid is not None,
        money_y=money_y,
    ).savefig(path, dpi=110)


def _solve_report(model, sol, path: Path) -> None:
    """The report of the solved setting, on the same simulations and seed."""
    from riskshare.analysis.solver import vary_point
    from riskshare.report.html import write_html
    from riskshare.run import simulate

    solved, contributions = vary_point(model, sol.vary, sol.answer)
    result = simulate(solved, n_sims=sol.n_sims, seed=sol.seed, contributions=contributions)
    write_html(result, path, title=f"{model.name}: solved {sol.vary} for {sol.target}")
