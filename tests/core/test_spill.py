"""Very large runs spill whole-agreement outcomes to a temporary file: same bits, no file left."""

from __future__ import annotations

import errno
import gc
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import riskshare as rs
from riskshare.analysis.comparison import load_agreement
from riskshare.config.load import with_agreement
from riskshare.errors import InputError
from riskshare.report.files import write_run
from riskshare.spill import CHUNK, SpilledArray

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
TABLES = ("summary", "by_year", "pool_by_year", "by_schedule", "exit_costs", "exits")


@pytest.fixture
def spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh temporary folder that tempfile uses (as TMPDIR would)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def open_files_in(folder: Path) -> list[str]:
    """Files this process holds open under ``folder`` (anonymous ones included)."""
    fds = Path("/proc/self/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return [link for link in links if link.startswith(str(folder))]


def bits(x: object) -> bytes:
    return np.ascontiguousarray(x, dtype=float).tobytes()


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(lambda: rs.load_config(CONFIGS / "schedules_example.yaml"), id="schedules"),
        pytest.param(
            lambda: with_agreement(
                rs.load_config(CONFIGS / "four_partners.yaml"),
                load_agreement(CONFIGS / "agreements" / "four_partners" / "district_exit.yaml"),
            ),
            id="exit-costs",
        ),
        pytest.param(
            lambda: rs.load_config(
                CONFIGS / "benchmark.yaml",
                ["reporting.basis=present_value", "reporting.discount_rate=0.035"],
            ),
            id="present-value",
        ),
    ],
)
def test_spilled_run_gives_the_bits_of_the_run_in_memory(model, tmp_path: Path) -> None:
    # More simulations than one read chunk, so every table reads its columns in pieces.
    model = model()
    n = CHUNK + 4321
    in_memory = rs.simulate(model, n_sims=n, seed=11, workers=2)
    spilled = rs.simulate(model, n_sims=n, seed=11, workers=2, spill_above=1000)
    assert not in_memory.outcomes.spilled
    assert spilled.outcomes.spilled
    for name in TABLES:
        a, b = in_memory.table(name), spilled.table(name)
        assert a.index == b.index
        assert list(a.columns) == list(b.columns)
        for column in a.columns:
            assert bits(a.columns[column]) == bits(b.columns[column]), (name, column)
    assert bits(in_memory.net) == bits(spilled.net)
    for result, folder in ((in_memory, tmp_path / "memory"), (spilled, tmp_path / "spilled")):
        folder.mkdir()
        write_run(result, folder)
    a = pq.read_table(tmp_path / "memory" / "per_simulation.parquet")
    b = pq.read_table(tmp_path / "spilled" / "per_simulation.parquet")
    assert a.equals(b)
    for name in ("summary.csv", "by_year.csv", "pool_by_year.csv"):
        memory, spilled_file = (tmp_path / kind / name for kind in ("memory", "spilled"))
        assert memory.read_bytes() == spilled_file.read_bytes()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_spill_file_has_no_name_and_goes_with_the_result(spill_dir: Path) -> None:
    model = rs.load_config(CONFIGS / "benchmark.yaml")
    result = rs.simulate(model, n_sims=5000, seed=1, workers=1, spill_above=100)
    assert result.outcomes.spilled
    assert list(spill_dir.iterdir()) == []  # never a name in the folder
    assert open_files_in(spill_dir)  # but open, anonymous
    result.table("summary")
    del result
    gc.collect()
    assert open_files_in(spill_dir) == []
    assert list(spill_dir.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_interrupted_spilled_run_leaves_no_file(spill_dir: Path) -> None:
    model = rs.load_config(CONFIGS / "benchmark.yaml")

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rs.simulate(model, n_sims=5000, seed=1, workers=1, spill_above=100, progress=interrupt)
    gc.collect()
    assert open_files_in(spill_dir) == []
    assert list(spill_dir.iterdir()) == []


@pytest.mark.parametrize("positional_io", [True, False], ids=["pwrite", "seek"])
def test_spilled_array_round_trip_and_map(spill_dir: Path, positional_io, monkeypatch) -> None:
    if not positional_io:  # as on Windows: seek and read or write under a lock
        monkeypatch.delattr(os, "pwrite", raising=False)
        monkeypatch.delattr(os, "preadv", raising=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 2, 3))
    stored = SpilledArray(x.shape)
    for start in range(0, 1000, 300):  # chunks written in any order
        stored[start : start + 300] = x[start : start + 300]
    assert bits(stored[0:1000]) == bits(x)
    assert bits(stored[250:700]) == bits(x[250:700])
    assert bits(stored.column((1, 2))) == bits(x[:, 1, 2])
    assert bits(np.asarray(stored)) == bits(x)
    out = np.empty(1000)
    assert bits(stored.column_sum([(0, 0), (0, 1), (0, 2)], out)) == bits(x[:, 0].sum(axis=1))


def test_no_room_for_the_spill_is_a_clear_error(spill_dir: Path, monkeypatch) -> None:
    def full(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(InputError, match=r"no room for .* MiB of per-simulation outcomes"):
        SpilledArray((10_000_000, 2))
