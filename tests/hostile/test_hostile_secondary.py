"""Secondary inputs (results folders, sweep, stress and sensitivity files, histories) and CLI
numbers are validated like configs: one message naming the file and field, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._support import BAD_INPUT, FAILURE, OK, TINY, expect, leftovers

SIMS = ["--sims", "200", "--quiet"]


@pytest.fixture
def results(tmp_path: Path, cli, tiny: Path) -> Path:
    out = tmp_path / "run1"
    expect(cli("run", tiny, *SIMS, "--out", out), OK)
    return out


MANIFEST_EDITS = {
    "not-json": "{not json",
    "a-list": "[1, 2]",
    "a-string": '"manifest"',
    "seed-text": {"seed": "lots"},
    "seed-negative": {"seed": -1},
    "seed-float": {"seed": 1.5},
    "n_sims-zero": {"n_sims": 0},
    "n_sims-huge": {"n_sims": 10**15},
    "n_sims-text": {"n_sims": "many"},
    "n_sims-missing": {"n_sims": None},
    "block_size-zero": {"block_size": 0},
    "block_size-text": {"block_size": "x"},
    "binary": b"\x00\x01\x02",
    "latin1": '{"name": "\xa3"}'.encode("latin-1"),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS), ids=list(MANIFEST_EDITS))
def test_report_on_a_damaged_manifest(results: Path, cli, edit: str) -> None:
    change = MANIFEST_EDITS[edit]
    path = results / "manifest.json"
    if isinstance(change, dict):
        data = json.loads(path.read_text())
        for k, v in change.items():
            if v is None:
                data.pop(k)
            else:
                data[k] = v
        path.write_text(json.dumps(data))
    elif isinstance(change, bytes):
        path.write_bytes(change)
    else:
        path.write_text(change)
    expect(cli("report", results), BAD_INPUT, str(results))
    assert not (results / "report.html").exists()


@pytest.mark.parametrize(
    "config_json",
    ['{"partners": 3}', "[]", "{bad", '{"name": "x"}'],
    ids=["wrong-type", "list", "not-json", "incomplete"],
)
def test_report_on_a_damaged_config_json(results: Path, cli, config_json: str) -> None:
    (results / "config.json").write_text(config_json)
    expect(cli("report", results), BAD_INPUT, "config.json")


def test_report_on_an_edited_config_json(results: Path, cli) -> None:
    data = json.loads((results / "config.json").read_text())
    data["name"] = "edited"
    (results / "config.json").write_text(json.dumps(data))
    expect(cli("report", results), BAD_INPUT, "config_sha256")


@pytest.mark.parametrize("what", ["missing", "a-file", "empty-folder"])
def test_report_on_something_that_is_not_a_results_folder(tmp_path: Path, cli, what: str):
    path = tmp_path / "x"
    if what == "a-file":
        path.write_text("x")
    elif what == "empty-folder":
        path.mkdir()
    expect(cli("report", path), BAD_INPUT, str(path))


SENSITIVITY_SPECS = {
    "n_sims-text": "n_sims: lots\n",
    "n_sims-zero": "n_sims: 0\n",
    "n_sims-huge": "n_sims: 1000000000000000\n",
    "seed-negative": "seed: -3\n",
    "measures-number": "measures: 5\n",
    "unknown-key": "colour: red\n",
    "top-level-list": "- 1\n",
    "sobol-n_base-text": "sobol: {n_base: x}\n",
    "sobol-n_sims-negative": "sobol: {n_sims: -1}\n",
    "bad-assumption-path": "assumptions: {no.such.path: [1, 2]}\n",
    "latin1": "# \xa3\nn_sims: 100\n",
}


@pytest.mark.parametrize("name", list(SENSITIVITY_SPECS))
def test_bad_sensitivity_spec(tmp_path: Path, cli, tiny: Path, name: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(SENSITIVITY_SPECS[name].encode("latin-1"))
    out = tmp_path / "tornado"
    expect(cli("sensitivity", tiny, "--spec", spec, "--out", out), BAD_INPUT, str(spec))
    assert not out.exists()


STRESS_FILES = {
    "top-level-list": "- 1\n",
    "empty": "",
    "bad-path": "s1: {no.such.field: 3}\n",
    "bad-value": "s1: {simulation.years: -1}\n",
    "bad-step-change": "s1: {add_step_change: {group: nope, year: 0, factor: 2}}\n",
    "multiply-text": "s1: {client_groups[0].spend.cv: {multiply: lots}}\n",
    "alias-bomb": "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
    + "".join(
        f"{c}: &{c} [{','.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    ),
}


@pytest.mark.parametrize("name", list(STRESS_FILES))
def test_bad_stress_scenarios(tmp_path: Path, cli, tiny: Path, name: str) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(STRESS_FILES[name])
    expect(
        cli("stress", tiny, "--scenarios", scenarios, "--sims", "200"), BAD_INPUT, str(scenarios)
    )


SWEEP_FILES = {
    "huge-grid": "grid:\n"
    + "".join(
        f"  contributions.council.factor{'' if i == 0 else f'_{i}'}: [{', '.join(['1.0'] * 30)}]\n"
        for i in range(1)
    )
    + "".join(
        f"  simulation.seed_{i}: [{', '.join(str(k) for k in range(30))}]\n" for i in range(5)
    ),
    "empty-values": "grid: {contributions.council.factor: []}\n",
    "both-grid-and-points": "grid: {simulation.seed: [1]}\npoints: [{simulation.seed: 2}]\n",
    "neither": "sims: 100\n",
    "point-not-mapping": "points: [3]\n",
    "sims-zero": "sims: 0\ngrid: {simulation.seed: [1]}\n",
    "sims-text": "sims: lots\ngrid: {simulation.seed: [1]}\n",
    "bad-point-value": "grid: {simulation.years: [2, -1]}\n",
    "bad-metric": "grid: {simulation.seed: [1]}\nmetrics: [nonsense]\n",
    "config-missing": "REPLACE",
    "no-points": "points: []\n",
    "huge-contribution-scale": "grid: {contributions.council: [1e308]}\n",
    "zero-contributions": "points: [{contributions.council: 0, contributions.icb: 0}]\n",
    "unknown-partner-scale": "grid: {contributions.nobody: [1.1]}\n",
}


@pytest.mark.parametrize("name", list(SWEEP_FILES))
def test_bad_sweep_file(tmp_path: Path, cli, tiny: Path, name: str) -> None:
    body = SWEEP_FILES[name]
    head = f"config: {tiny.name}\n" if body != "REPLACE" else "config: nowhere.yaml\n"
    if body == "REPLACE":
        body = "grid: {simulation.seed: [1]}\n"
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(head + ("" if "sims:" in body else "sims: 100\n") + body)
    out = tmp_path / "sw"
    expect(cli("sweep", sweep, "--out", out), BAD_INPUT)
    assert not out.exists()


def test_sweep_grid_limit_is_raisable(tmp_path: Path, cli, tiny: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"config: {tiny.name}\nsims: 100\ngrid: {{contributions.council.factor: [1.0, 1.1, 1.2]}}\n"
    )
    expect(
        cli("sweep", sweep, "--out", tmp_path / "a", "--max-points", "2"), BAD_INPUT, "--max-points"
    )
    expect(cli("sweep", sweep, "--out", tmp_path / "b", "--max-points", "3"), OK)


@pytest.mark.parametrize(
    "target",
    [
        "council:prob_pays<=1.5",
        "council:prob_pays>=-0.1",
        "pool:prob_call_any_year<=2",
        "council:p_any_year_above:2000000<=1.01",
        "council:p95<=nan",
        "council:p95<=inf",
        "council:nonsense<=1",
        "nobody:p95<=1e6",
        "council:p95",
        "",
        "council:p95<=<=1",
        "council:quantile:1.5<=1e6",
    ],
)
def test_solve_refuses_impossible_targets(cli, tiny: Path, target: str) -> None:
    result = cli(
        "solve", tiny, "--vary", "contributions.council", "--target", target, "--sims", "200"
    )
    expect(result, BAD_INPUT)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [("0", "1e308"), ("-1", "2"), ("2", "1"), ("1", "1"), ("nan", "2"), ("0.5", "inf")],
)
def test_solve_refuses_bad_bounds(cli, tiny: Path, lo: str, hi: str) -> None:
    result = cli(
        "solve",
        tiny,
        "--vary",
        "contributions.council",
        "--target",
        "council:p95<=1e6",
        "--lo",
        lo,
        "--hi",
        hi,
        "--sims",
        "200",
    )
    expect(result, BAD_INPUT)


def test_solve_unreachable_target_exits_1(cli, tiny: Path) -> None:
    result = cli(
        "solve",
        tiny,
        "--vary",
        "contributions.council",
        "--target",
        "council:prob_pays<=0",
        "--lo",
        "0.5",
        "--hi",
        "0.6",
        "--sims",
        "200",
    )
    expect(result, FAILURE, "Not reachable")


def test_precise_unmet_target_exits_1(tmp_path: Path, cli, tiny: Path) -> None:
    result = cli("precise", tiny, "--target-rel", "0.000001", "--max-sims", "40000")
    expect(result, FAILURE, "NOT met")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "abc"])
def test_precise_refuses_bad_targets(cli, tiny: Path, value: str) -> None:
    expect(cli("precise", tiny, "--target-rel", value), BAD_INPUT)


@pytest.mark.parametrize(
    "args",
    [
        ["--first-year", "-5"],
        ["--first-year", "99999"],
        ["--first-year", "1066"],
        ["--commissioner", "bad id!"],
        ["--commissioner", "a: b"],
        ["--commissioner", "x\ny"],
        ["--full"],
        ["--sheet", "nope"],
    ],
    ids=[
        "year-negative",
        "year-far",
        "year-before-history",
        "id-space",
        "id-yaml",
        "id-newline",
        "full-without-base",
        "sheet-on-csv",
    ],
)
def test_fit_refuses_bad_arguments(tmp_path: Path, cli, args: list[str]) -> None:
    out = tmp_path / "a.yaml"
    result = cli("fit", "examples/history.csv", "--out", out, *args)
    if args[0] == "--sheet":  # a sheet name means nothing to a CSV: ignored
        expect(result, OK)
        return
    expect(result, BAD_INPUT)
    assert not out.exists()


HISTORIES = {
    "huge-spend": "year,group,spend\n2018,ld,1e308\n2019,ld,2e6\n2020,ld,2e6\n",
    "inf-spend": "year,group,spend\n2018,ld,inf\n2019,ld,2e6\n2020,ld,2e6\n",
    "negative": "year,group,spend\n2018,ld,-5\n2019,ld,2e6\n2020,ld,2e6\n",
    "text": "year,group,spend\n2018,ld,lots\n2019,ld,2e6\n2020,ld,2e6\n",
    "bad-group": "year,group,spend\n2018,'bad id!',5\n2019,x,2e6\n2020,x,2e6\n",
    "no-rows": "year,group,spend\n",
    "latin1": "year,group,spend\n2018,ld,\xa35\n",
    "binary": "\x00\x01\x02",
    "empty": "",
}


@pytest.mark.parametrize("name", list(HISTORIES))
def test_fit_refuses_bad_histories(tmp_path: Path, cli, name: str) -> None:
    history = tmp_path / "h.csv"
    history.write_bytes(HISTORIES[name].encode("latin-1"))
    expect(cli("fit", history), BAD_INPUT, str(history))


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


WORKBOOKS = {
    # 64 MiB of zeros packs to about 64 KiB: a zip bomb in miniature (ratio ~1000).
    "zip-bomb": {"xl/worksheets/sheet1.xml": bytes(64 * 2**20)},
    "not-a-zip": None,
    "empty-zip": {},
}


@pytest.mark.parametrize("name", list(WORKBOOKS))
def test_fit_refuses_bad_workbooks(tmp_path: Path, cli, name: str) -> None:
    history = tmp_path / "h.xlsx"
    members = WORKBOOKS[name]
    if members is None:
        history.write_bytes(b"year,group,spend\n2018,ld,5\n")
    else:
        _zip(history, members)
    result = cli("fit", history)
    expect(result, BAD_INPUT, str(history))
    if name == "zip-bomb":
        assert "compressed" in result.output


def test_workbook_larger_than_allowed_unpacked_is_refused(tmp_path: Path) -> None:
    from riskshare.config.load import check_workbook
    from riskshare.errors import ConfigError

    # 2 MiB of zeros packs to a few KiB: the file is small, its declared unpacked size is not.
    data = bytes(2**20)
    path = _zip(tmp_path / "big.xlsx", {"a.bin": data, "b.bin": data})
    with pytest.raises(ConfigError, match=r"unpacks to 2 MiB, more than the 1\.5 MiB"):
        check_workbook(path, what="history", limit=2**20 + 2**19)


@pytest.mark.parametrize(
    "args",
    [
        ["--sims", "0"],
        ["--sims", "-5"],
        ["--sims", "abc"],
        ["--sims", "1e9"],
        ["--sims", "1000000000000"],
        ["--sims", str(10**40)],
        ["--seed", "-1"],
        ["--seed", "x"],
        ["--workers", "0"],
        ["--chunk-blocks", "0"],
        ["--set", "simulation.n_sims=1000000000000"],
        ["--set", "simulation.n_sims=lots"],
        ["--set", "nonsense"],
        ["--set", "=3"],
        ["--set", "a.b[x]=1"],
        ["--set", "partners[99].id=x"],
        ["--set", "agreement.reserve.cap=-1"],
        ["--set", "name=" + "[" * 300 + "]" * 300],
        [
            "--set",
            "description={a: &a [1,1,1,1,1,1,1,1,1,1], "
            + ", ".join(
                f"{c}: &{c} [{','.join([f'*{p}'] * 10)}]"
                for p, c in zip("abcdef", "bcdefg", strict=True)
            )
            + "}",
        ],
        ["--set", "name=!!python/object:os.system x"],
        ["--set", "a" + ".a" * 5000 + "=1"],
        ["--set", "partners[" + "9" * 50 + "].id=x"],
        ["--report"],
    ],
)
def test_run_refuses_bad_numbers_and_overrides(tmp_path: Path, cli, tiny: Path, args):
    out = tmp_path / "o"
    extra = [] if args == ["--report"] else ["--out", out]
    expect(cli("run", tiny, "--quiet", *args, *extra), BAD_INPUT)
    assert not out.exists()
    assert not leftovers(tmp_path)


def test_memory_refusal_says_how_much_is_needed(cli, tiny: Path) -> None:
    expect(cli("run", tiny, "--sims", "1000000000000", "--quiet"), BAD_INPUT, "GiB", "at most")


def test_one_simulation_reports_an_undefined_error_not_zero(tmp_path: Path, cli, tiny: Path):
    import pandas as pd

    out = tmp_path / "one"
    expect(cli("run", tiny, "--sims", "1", "--quiet", "--out", out), OK)
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert summary["mean_se"].isna().all() and summary["sd"].isna().all()
    assert summary["prob_pays_se"].isna().all()


def test_toml_config_is_bounded_too(tmp_path: Path, cli) -> None:
    path = tmp_path / "c.toml"
    path.write_text('name = "x"\n' + "a = " + "[" * 5000 + "]" * 5000 + "\n")
    expect(cli("validate", path), BAD_INPUT, str(path))


def test_set_on_a_valid_config_still_names_the_override(cli, tiny: Path) -> None:
    expect(cli("validate", tiny, "--set", "simulation.years=0"), BAD_INPUT, "simulation.years")
    assert TINY  # the fixture's text is the valid baseline


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_one_line_asking_for_a_report(cli, tiny: Path, monkeypatch, debug):
    import riskshare.run

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(riskshare.run, "simulate", bug)
    result = cli(*(["--debug"] if debug else []), "run", tiny, "--sims", "10", "--quiet")
    if debug:  # the traceback is shown: the exception propagates
        assert isinstance(result.exception, ZeroDivisionError)
        return
    expect(result, 70, "internal error", "report", "--debug")
    assert len(result.output.strip().splitlines()) == 1


def test_report_refuses_a_manifest_asking_for_more_memory_than_there_is(results: Path, cli):
    data = json.loads((results / "manifest.json").read_text())
    data["n_sims"] = 2**39
    (results / "manifest.json").write_text(json.dumps(data))
    expect(cli("report", results), BAD_INPUT, "manifest.json", "memory")


@pytest.mark.parametrize(
    "summary",
    ["", "a,b\n1,2\n", "partner,mean\ncouncil,lots\n", "\x00\x01"],
    ids=["empty", "other-columns", "text-number", "binary"],
)
def test_report_on_a_damaged_summary(results: Path, cli, summary: str) -> None:
    (results / "summary.csv").write_text(summary)
    expect(cli("report", results), BAD_INPUT, "summary")


@pytest.mark.parametrize("address", ["nonsense", "tcp://", "tcp://host:notaport"])
def test_sweep_on_a_malformed_dask_address(tmp_path: Path, cli, tiny: Path, address: str):
    pytest.importorskip("distributed")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"config: {tiny.name}\nsims: 100\ngrid: {{simulation.seed: [1, 2]}}\n")
    expect(cli("sweep", sweep, "--out", tmp_path / "sw", "--dask", address), BAD_INPUT, address)
    assert not (tmp_path / "sw").exists()


def test_app_refuses_a_draw_that_cannot_fit_in_memory(cli, tiny: Path) -> None:
    pytest.importorskip("shiny")
    expect(cli("app", tiny, "--sims", "1000000000000"), BAD_INPUT, "GiB", "at most")
