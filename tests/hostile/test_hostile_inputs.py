"""Config and data files a careless or hostile user gives: one message naming the file, exit 2.

Each case is a file's bytes (or a special path) handed to ``validate`` and
``run``: nothing is simulated, nothing hangs, nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ._support import BAD_INPUT, OK, TINY, expect, refused

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)

#: (case id, file name, bytes, text the message must contain)
BAD_FILES = [
    (
        "latin1-pound",
        "c.yaml",
        TINY.replace("Tiny pool", "Tiny £1m pool").encode("cp1252"),
        "byte 0xA3",
    ),
    (
        "latin1-line-named",
        "c.yaml",
        TINY.replace("Tiny pool", "Caf\u00e9").encode("latin-1"),
        "line 1",
    ),
    ("cp1252-quote", "c.yaml", ("name: \u2018x\u2019\n" + TINY[16:]).encode("cp1252"), "not UTF-8"),
    ("binary-png", "c.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    ("nul-bytes", "c.yaml", b"name: x\x00\x00\npartners: []\n", "binary"),
    ("alias-bomb", "c.yaml", BOMB.encode(), "aliases"),
    ("deep-list", "c.yaml", ("a: " + "[" * 200 + "]" * 200).encode(), "nested"),
    ("deep-map", "c.yaml", ("a: " + "{b: " * 200 + "1" + "}" * 200).encode(), "nested"),
    ("deep-block", "c.yaml", "".join(f"{'  ' * i}k{i}:\n" for i in range(60)).encode(), "nested"),
    ("deep-toml", "c.toml", ("a = " + "[" * 3000 + "]" * 3000).encode(), "TOML"),
    ("bad-toml", "c.toml", b"name = \n", "not valid TOML"),
    ("empty", "c.yaml", b"", "empty"),
    ("only-comments", "c.yaml", b"# nothing here\n", "empty"),
    ("top-level-list", "c.yaml", b"- 1\n- 2\n", "mapping"),
    ("top-level-scalar", "c.yaml", b"42\n", "mapping"),
    ("bad-indent", "c.yaml", b"name: x\n  partners: [\n", "not valid YAML"),
    ("duplicate-key", "c.yaml", b"name: a\nname: b\n", "not valid YAML"),
    ("python-tag", "c.yaml", b"name: !!python/object/apply:os.system ['echo pwned']\n", "c.yaml"),
    (
        "unknown-tag",
        "c.yaml",
        TINY.replace("name: Tiny pool", "name: !secret x").encode(),
        "c.yaml",
    ),
    ("inf-money", "c.yaml", TINY.replace("mean: 1000000", "mean: .inf").encode(), "mean"),
    ("nan-money", "c.yaml", TINY.replace("mean: 1000000", "mean: .nan").encode(), "mean"),
    ("huge-int", "c.yaml", TINY.replace("mean: 1000000", "mean: " + "9" * 400).encode(), "mean"),
    ("negative-years", "c.yaml", TINY.replace("years: 2", "years: -2").encode(), "years"),
    ("zero-sims", "c.yaml", TINY.replace("n_sims: 200", "n_sims: 0").encode(), "n_sims"),
    ("string-sims", "c.yaml", TINY.replace("n_sims: 200", "n_sims: lots").encode(), "n_sims"),
    ("unicode-id", "c.yaml", TINY.replace("id: icb", "id: ic\u00df").encode(), "partners"),
    ("id-with-space", "c.yaml", TINY.replace("id: icb", "id: 'i c b'").encode(), "partners"),
    ("unknown-field", "c.yaml", (TINY + "colour: red\n").encode(), "colour"),
    ("unknown-suffix", "c.txt", TINY.encode(), "unknown file type"),
    ("no-suffix", "config", TINY.encode(), "unknown file type"),
    (
        "zero-contributions-proportional",
        "c.yaml",
        TINY.replace(
            "council: {kind: expected_cost, uplift: 0.02}",
            "council: {kind: schedule, amounts: [0, 0]}",
        )
        .replace("icb: {kind: expected_cost, uplift: 0.02}", "icb: {kind: uplift, base: 0}")
        .encode(),
        "proportional",
    ),
    (
        "zero-spend-everywhere",
        "c.yaml",
        TINY.replace(
            "spend: {model: aggregate, distribution: gamma, mean: 1000000, cv: 0.1, growth: 0.03}",
            "spend: {model: fixed, amount: 0}",
        )
        .replace(
            """    spend:
      model: clients
      clients: {distribution: poisson, mean: 50, growth: 0.02}
      cost: {distribution: lognormal, mean: 20000, cv: 0.5, inflation: 0.03}""",
            "    spend: {model: fixed, amount: 0}",
        )
        .encode(),
        "expected spend",
    ),
    (
        "extreme-growth",
        "c.yaml",
        TINY.replace("years: 2", "years: 50").replace("growth: 0.03}", "growth: 10}").encode(),
        "growth",
    ),
    ("surrogate-escape", "c.yaml", TINY.replace("Tiny pool", '"\\ud800"').encode(), "c.yaml"),
]


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [pytest.param(n, d, s, id=i) for i, n, d, s in BAD_FILES],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_config_file(tmp_path: Path, cli, command: str, name: str, data: bytes, needle: str):
    path = tmp_path / name
    path.write_bytes(data)
    refused(cli, command, path, needle)


def test_latin1_message_names_byte_line_and_the_pound(tmp_path: Path, cli) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(("# budget\n" + TINY.replace("Tiny pool", "Pool £25m")).encode("cp1252"))
    expect(cli("validate", path), BAD_INPUT, "line 2", "byte 0xA3", "'£'", "UTF-8")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [(TINY, "utf-8-sig"), (TINY, "utf-16"), (TINY.replace("Tiny pool", "Pool £25m"), "utf-8")],
    ids=["utf8-bom", "utf16-bom", "utf8-pound"],
)
def test_good_encodings_are_read(tmp_path: Path, cli, text: str, encoding: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode(encoding))
    expect(cli("validate", path), OK, "valid")


@pytest.mark.parametrize(
    "special",
    [
        "/dev/zero",
        "/dev/null",
        "/dev/urandom",
        "folder",
        "missing.yaml",
        "loop.yaml",
        "too-big.yaml",
        "fifo.yaml",
    ],
)
def test_special_paths_are_refused_without_reading_them(tmp_path: Path, cli, special: str):
    if special.startswith("/dev/"):
        if not Path(special).exists():
            pytest.skip(f"no {special} here")
        path = Path(special)
    else:
        path = tmp_path / special
        if special == "folder":
            path.mkdir()
        elif special == "loop.yaml":
            os.symlink(path, path)
        elif special == "too-big.yaml":
            path.write_bytes(b"# " + b"x" * (5 * 2**20) + b"\n")
        elif special == "fifo.yaml":
            if not hasattr(os, "mkfifo"):
                pytest.skip("no named pipes here")
            os.mkfifo(path)
            # A writer that sends an endless stream: reading must stop at the size limit.
            import threading

            def flood() -> None:
                try:
                    with open(path, "wb") as f:
                        while True:
                            f.write(b"# " + b"x" * 65536 + b"\n")
                except (BrokenPipeError, OSError):
                    pass

            threading.Thread(target=flood, daemon=True).start()
    result = cli("validate", path)
    expect(result, BAD_INPUT, str(path))


@pytest.mark.parametrize(
    "command", ["validate", "run", "compare", "solve", "stress", "sensitivity", "precise"]
)
def test_latin1_config_is_refused_by_every_command(tmp_path: Path, cli, command: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(TINY.replace("Tiny pool", "£").encode("cp1252"))
    extra = {
        "validate": [],
        "run": ["--quiet"],
        "compare": ["--agreements", "configs/agreements/aligned.yaml"],
        "solve": ["--vary", "contributions.council", "--target", "council:p95<=1e6"],
        "stress": ["--scenarios", "examples/stress.yaml"],
        "sensitivity": ["--out", tmp_path / "s"],
        "precise": ["--target-rel", "0.05"],
    }[command]
    expect(cli(command, path, *extra), BAD_INPUT, "byte 0xA3")
    assert not (tmp_path / "s").exists()


HOLDBACK = (Path(__file__).resolve().parents[2] / "configs/presets/bcf_holdback.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("funds: [out_of_hospital]", "funds: [nowhere]", "holdback.funds[0]: unknown client group"),
        ("fixed_share: 0.25", "fixed_share: 1.5", "fixed_share"),
        ("unreleased: uncommission", "unreleased: vanish", "unreleased"),
        ("funds: [out_of_hospital]", "funds: []", "funds: 'uncommission' needs the client groups"),
        (
            "funds: [out_of_hospital]",
            "funds: [disabled_facilities]",
            "more than the expected spend",
        ),
        ("metrics: [nea_reduction]", "metrics: [nea]", "correlation.metrics: unknown performance"),
        ("unreleased: uncommission", "unreleased: overspend", "applies only with unreleased"),
    ],
)
def test_bad_holdback(tmp_path: Path, cli, old: str, new: str, needle: str) -> None:
    assert old in HOLDBACK
    path = tmp_path / "c.yaml"
    path.write_text(HOLDBACK.replace(old, new).replace("../../riskshare", "riskshare"))
    expect(cli("validate", path), BAD_INPUT, str(path), needle)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("final_key: proportional", "final_key: own", "agreement.reserve.final_key"),
        (
            "  underspend: {key: proportional}\n",
            "  underspend: {key: proportional}\n"
            "  threshold_overspend: {rate: 0.01, below_key: own}\n",
            "agreement.threshold_overspend.below_key",
        ),
    ],
)
def test_key_own_where_an_amount_is_split(
    tmp_path: Path, cli, old: str, new: str, field: str
) -> None:
    """'own' names no shares: a reserve's balance or a threshold's part needs some (was a crash)."""
    assert old in TINY
    path = tmp_path / "c.yaml"
    path.write_text(TINY.replace(old, new))
    expect(cli("validate", path), BAD_INPUT, str(path), field, "'own'", "fixed shares")
    expect(cli("run", path, "--quiet"), BAD_INPUT, str(path), field, "'own'")


@pytest.mark.parametrize(
    ("old", "new", "field", "allowed"),
    [
        ("final_key: proportional", "final_key: bogus", "reserve.final_key", "host, commissioners"),
        ("overspend: {key: proportional}", "overspend: {key: 7}", "overspend.key", "host, own"),
    ],
)
def test_a_bad_key_name_gets_one_message(
    tmp_path: Path, cli, old: str, new: str, field: str, allowed: str
) -> None:
    """Not one message per type of the union (name or mapping): one, with what is allowed."""
    path = tmp_path / "c.yaml"
    path.write_text(TINY.replace(old, new))
    result = cli("validate", path)
    expect(result, BAD_INPUT, f"agreement.{field}: not a key", allowed, "{partner: share}")
    assert result.output.count(field) == 1, result.output
