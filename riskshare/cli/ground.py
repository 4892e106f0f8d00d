"""Grounding commands: fit assumptions to history, sensitivity, stress, run until precise."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from riskshare.cli.core import ConfigArg, SetOpt, app
from riskshare.cli.limits import check_sims
from riskshare.errors import InputError

SimsOpt = Annotated[int | None, typer.Option("--sims", "-n", min=1, help="Simulations per run.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")]


def _read_yaml(path: Path, what: str) -> Any:
    from riskshare.config.load import read_config_data

    return read_config_data(path, what=what)[0]


def _whole(
    data: dict[str, Any], key: str, default: Any, *, source: str, low: int = 1, high: int = 2**40
) -> Any:
    """``data[key]`` as a whole number from ``low`` to ``high`` (``default`` if absent)."""
    value = data.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(
            f"{source}: {key}: must be a whole number from {low:,} to {high:,} (got {value!r})"
        )
    return value


@app.command("fit")
def fit_command(
    history: Annotated[
        Path,
        typer.Argument(
            help="History of spend: .csv or .xlsx (columns year or month, group, "
            "spend[, clients, unit_cost]); months are summed into financial years."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the YAML here (default: print it).")
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base", help="Config whose groups' commissioners, names and first year are used."
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Write a complete config: the fitted "
            "groups with --base's partners, contributions, "
            "agreement and simulation.",
        ),
    ] = False,
    first_year: Annotated[
        int | None,
        typer.Option(
            "--first-year", help="Calendar year of agreement year 0 (levels are projected to it)."
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Excel sheet name.")] = None,
    commissioner: Annotated[
        str | None, typer.Option("--commissioner", help="Partner id commissioning every group.")
    ] = None,
    costs: Annotated[
        Path | None,
        typer.Option(
            "--client-costs",
            help="Per-client costs CSV (group, cost) to fit the cost distribution.",
        ),
    ] = None,
    metrics: Annotated[
        Path | None,
        typer.Option(
            "--metrics",
            help="History of performance metrics: .csv or .xlsx (columns year, metric, "
            "value): each metric's mean and sd, and its correlation with the groups' spend.",
        ),
    ] = None,
) -> None:
    """Fit growth, inflation, volatility, count dispersion and correlation to a history."""
    import warnings

    from riskshare.analysis.calibration import fit
    from riskshare.report.files import check_file, write_file

    if full and base is None:
        raise InputError("--full needs --base CONFIG (partners, contributions and agreement)")
    inputs = [p for p in (history, base, costs, metrics) if p is not None]
    if out is not None:
        check_file(out, inputs=inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(
            history,
            sheet=sheet,
            first_year=first_year,
            base=base,
            commissioners=commissioner,
            client_costs=costs,
            metrics=metrics,
        )
    for w in caught:
        typer.echo(f"Warning: {w.message}", err=True)
    text = result.to_full_yaml(base) if full else result.to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    write_file(out, lambda p: p.write_text(text, encoding="utf-8"), inputs=inputs)
    table = result.to_frame()
    typer.echo(
        f"Fitted {len(table)} groups from {history} (agreement year 0 = "
        f"{result.first_year}); wrote {out}"
    )
    from riskshare.cli.show import print_table

    def rate(value: Any, sd: Any) -> str:
        if value is None or value != value:
            return ""
        return f"{100 * value:+.2f}% (sd {100 * sd:.2f})"

    print_table(
        ["group", "growth a year", "inflation a year", "spend residual CV", "persistence (95 %)"],
        [
            [
                gid,
                rate(row["growth"], row["growth_sd"]),
                rate(row.get("inflation"), row.get("inflation_sd")),
                f"{100 * row['spend_resid_cv']:.1f}%",
                (
                    f"{row['persistence']:.2f} ({row['persistence_low']:.2f} to "
                    f"{row['persistence_high']:.2f})"
                    if row["persistence"] == row["persistence"]
                    else ""
                ),
            ]
            for gid, row in table.iterrows()
        ],
    )


@app.command()
def sensitivity(
    config: ConfigArg,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for tornado.csv and tornado.png (and sobol.csv)."),
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="YAML: assumptions {path: [low, "
            "high] | {relative: r} | {absolute: a}}, "
            "n_sims, measures, sobol.",
        ),
    ] = None,
    sims: SimsOpt = None,
    seed: SeedOpt = None,
    sobol_: Annotated[
        bool, typer.Option("--sobol", help="Also Sobol indices (needs SALib; slow).")
    ] = False,
    measure: Annotated[str, typer.Option("--chart-measure", help="Measure charted.")] = "p95",
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Tornado of each partner's mean and P95 exposure (and optional Sobol indices)."""
    from riskshare.analysis.sensitivity import sobol, tornado
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder, check_folder
    from riskshare.report.plots import tornado as tornado_chart

    folder = {
        "force": force,
        "command": "sensitivity",
        "inputs": [config, *([spec] if spec else [])],
    }
    check_folder(out, **folder)
    model = load_config(config, set_ or ())
    data = _read_yaml(spec, "sensitivity spec") if spec is not None else {}
    unknown = set(data) - {"assumptions", "n_sims", "seed", "measures", "sobol"}
    if unknown:
        raise InputError(
            f"{spec}: unknown key(s) {', '.join(sorted(unknown))} (allowed: "
            "assumptions, n_sims, seed, measures, sobol)"
        )
    source = str(spec)
    n_sims = check_sims(model, sims or _whole(data, "n_sims", 20_000, source=source))
    seed = seed if seed is not None else _whole(data, "seed", None, source=source, low=0)
    measures = data.get("measures", ("mean", "p95"))
    if not isinstance(measures, list | tuple) or not all(isinstance(m, str) for m in measures):
        raise InputError(f"{source}: measures: give a list of statistic names (got {measures!r})")
    measures = tuple(measures)
    if measure not in measures:
        measures = (*measures, measure)
    t0 = time.perf_counter()
    try:
        table = tornado(model, data.get("assumptions"), n_sims=n_sims, seed=seed, measures=measures)
    except InputError as exc:
        raise InputError(f"{spec or 'default assumptions'}: {exc}") from None
    sobol_table = None
    sobol_spec = data.get("sobol") or {}
    if sobol_ or sobol_spec:
        if not isinstance(sobol_spec, dict):
            sobol_spec = {}
        sobol_table = sobol(
            model,
            sobol_spec.get("assumptions", data.get("assumptions")),
            n_base=_whole(sobol_spec, "n_base", 32, source=f"{source}: sobol", high=2**16),
            n_sims=check_sims(model, _whole(sobol_spec, "n_sims", 4096, source=f"{source}: sobol")),
            seed=seed,
            measure=str(sobol_spec.get("measure", "mean")),
        )
    with atomic_folder(out, **folder) as tmp:
        table.to_csv(tmp / "tornado.csv", index=False)
        tornado_chart(table, measure=measure, model=model).savefig(tmp / "tornado.png", dpi=120)
        if sobol_table is not None:
            sobol_table.to_csv(tmp / "sobol.csv")
    typer.echo(
        f"{model.name}: tornado of {table['assumption'].nunique()} assumptions, "
        f"{n_sims:,} simulations each ({time.perf_counter() - t0:.1f} s)"
    )
    from riskshare.cli.show import money, print_table, signed_money
    from riskshare.config.names import assumption_label, partner_labels

    labels = partner_labels(model)
    for partner in [p for p in dict.fromkeys(table["partner"]) if p != "pool"]:
        d = table[(table["partner"] == partner) & (table["measure"] == measure)].head(5)
        print_table(
            ["assumption", "low", "high", "change at low", "change at high"],
            [
                [
                    assumption_label(model, r["assumption"]),
                    f"{r['low_value']:.4g}",
                    f"{r['high_value']:.4g}",
                    signed_money(r["change_low"]),
                    signed_money(r["change_high"]),
                ]
                for _, r in d.iterrows()
            ],
            title=f"{labels.get(partner, partner)}: largest swings of {measure} "
            f"(base {money(d['base'].iloc[0])})",
        )
    typer.echo(f"Written to {out}")


@app.command("stress")
def stress_command(
    config: ConfigArg,
    scenarios: Annotated[
        Path,
        typer.Option(
            "--scenarios",
            help="YAML: {name: {path: value | "
            "{multiply: f} | {add: a}, add_step_change: "
            "{group, year, factor}}}.",
        ),
    ],
    sims: SimsOpt = None,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the table as CSV.")] = None,
    float_contributions: Annotated[
        bool,
        typer.Option(
            "--move-contributions",
            help="Recompute contributions in each scenario (default: held at the base's).",
        ),
    ] = False,
    set_: SetOpt = None,
) -> None:
    """Named stress scenarios against the base, on common random numbers."""
    from riskshare.analysis.scenarios import stress
    from riskshare.config import load_config
    from riskshare.config.names import partner_labels
    from riskshare.report.files import check_file, write_file

    if out is not None:
        check_file(out, inputs=[config, scenarios])
    model = load_config(config, set_ or ())
    data = _read_yaml(scenarios, "scenarios")
    if "scenarios" in data and isinstance(data["scenarios"], dict) and len(data) == 1:
        data = data["scenarios"]
    n_sims = check_sims(model, sims or min(model.simulation.n_sims, 100_000))
    try:
        table = stress(
            model, data, n_sims=n_sims, seed=seed, hold_contributions=not float_contributions
        )
    except InputError as exc:
        raise InputError(f"{scenarios}: {exc}") from None
    if out is not None:
        csv = table.to_csv()
        write_file(out, lambda p: p.write_text(csv, encoding="utf-8"), inputs=[config, scenarios])
    from riskshare.cli.show import money, print_table, signed_money

    typer.echo(
        f"{model.name}: {len(data)} scenarios against the base, {n_sims:,} simulations, "
        "common random numbers"
    )
    names = partner_labels(model)
    labels = [f"{scenario} / {names.get(partner, partner)}" for scenario, partner in table.index]
    print_table(
        [
            " / ".join(map(str, table.index.names)),
            "mean",
            "P95",
            "TVaR95",
            "change in mean",
            "change in P95",
        ],
        [
            [
                label,
                money(r["mean"]),
                money(r["p95"]),
                money(r["tvar95"]),
                f"{signed_money(r['diff_mean'])} ±{money(r['diff_mean_se'])}",
                signed_money(r["diff_p95"]),
            ]
            for label, (_, r) in zip(labels, table.iterrows(), strict=True)
        ],
        note="Net position over the agreement; changes are paired differences to the base "
        "± their standard error.",
    )
    if out is not None:
        typer.echo(f"Written to {out}")


@app.command()
def precise(
    config: ConfigArg,
    target_rel: Annotated[
        float | None,
        typer.Option(
            "--target-rel",
            help="Target half-width "
            "of each partner's P95 interval, as a "
            "fraction of P95 (0.01 = 1 %).",
        ),
    ] = None,
    target_abs: Annotated[
        float | None, typer.Option("--target-abs", help="Target half-width in £.")
    ] = None,
    max_sims: Annotated[int, typer.Option("--max-sims", min=1, help="Stop here.")] = 1 << 22,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the results.")] = None,
    force: ForceOpt = False,
    set_: SetOpt = None,
) -> None:
    """Simulate until every partner's P95 is known to within a target; print it with its CI."""
    import warnings

    from riskshare.analysis.precision import simulate_until
    from riskshare.config import load_config
    from riskshare.report.files import atomic_folder, check_folder, write_run

    if target_rel is None and target_abs is None:
        raise InputError("give --target-rel (fraction) or --target-abs (£)")
    for flag, value in (("--target-rel", target_rel), ("--target-abs", target_abs)):
        if value is not None and not 0 < value < float("inf"):
            raise InputError(f"{flag} must be a number > 0 (got {value})")
    folder = {"force": force, "command": "precise", "inputs": [config]}
    if out is not None:
        check_folder(out, **folder)
    model = load_config(config, set_ or ())
    max_sims = check_sims(model, max_sims, flag="--max-sims")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = simulate_until(
            model, rel_error=target_rel, abs_error=target_abs, seed=seed, max_sims=max_sims
        )
    for w in caught:
        typer.echo(f"Warning: {w.message}", err=True)
    result, table = res.result, res.precision
    if out is not None:
        with atomic_folder(out, **folder) as tmp:
            write_run(
                result,
                tmp,
                extra_manifest={
                    "command": "precise",
                    "config_file": str(config),
                    "steps": res.steps,
                },
            )
            table.to_csv(tmp / "precision.csv")
    status = "target met" if res.converged else "target NOT met"
    typer.echo(
        f"{model.name}: {result.n_sims:,} simulations, seed {result.seed} ({status}; "
        f"runs: {', '.join(f'{n:,}' for n, _ in res.steps)})"
    )
    from riskshare.cli.show import money, print_summary, print_table
    from riskshare.config.names import partner_labels

    labels = partner_labels(model)
    print_summary(result.table("summary"), labels)
    print_table(
        ["partner", "P95", "95% interval", "± of P95", "mean", "± SE"],
        [
            [
                labels.get(partner, partner),
                money(r["p95"]),
                f"{money(r['p95_low'])} to {money(r['p95_high'])}",
                f"{100 * r['p95_rel_half_width']:.2f}%",
                money(r["mean"]),
                money(r["mean_se"]),
            ]
            for partner, r in table.iterrows()
        ],
        title="P95 with its 95% confidence interval (order statistics); mean ± standard error:",
    )
    if out is not None:
        typer.echo(f"Results written to {out}")
    if not res.converged:  # a recognised failure: the target was not met within --max-sims
        raise typer.Exit(code=1)
