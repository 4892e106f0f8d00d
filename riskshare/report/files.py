"""Result folders: tidy tables, per-simulation outcomes and the manifest, written atomically.

A folder is built under a temporary name beside its destination and renamed
into place only when every file is written, so an interrupted run never
leaves a half-written folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare.errors import InputError

if TYPE_CHECKING:
    from riskshare.run import Result

__all__ = ["atomic_folder", "write_run"]

#: Simulations per row group of ``per_simulation.parquet`` (bounds the writer's memory).
ROW_GROUP = 1 << 20


@contextlib.contextmanager
def atomic_folder(out: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out`` when the block succeeds.

    Parameters
    ----------
    out : str or pathlib.Path
        Destination folder.
    force : bool
        Replace a non-empty ``out``; without it a non-empty folder is refused.

    Raises
    ------
    riskshare.errors.InputError
        If ``out`` is a file, or a non-empty folder and ``force`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: folder is not empty (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_per_simulation(result: Result, folder: Path) -> str:
    """One row per simulation, one column per partner's net position: Parquet, else CSV."""
    net = result.net
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        header = ",".join(["sim", *result.partner_ids])
        data = np.column_stack([np.arange(net.shape[0]), net])
        fmt = ["%d"] + ["%.17g"] * net.shape[1]
        np.savetxt(
            folder / "per_simulation.csv", data, fmt=fmt, delimiter=",", header=header, comments=""
        )
        return "per_simulation.csv"
    # Written a row group at a time, as Arrow arrays over numpy buffers: no
    # copy of the whole, and no pandas (``pa.array`` imports it: 0.25 s of
    # CPU, more than writing the results). No dictionaries (every value is
    # distinct; trying one costs half the time) and the simulation numbers as
    # deltas: the same columns and values.
    names = ["sim", *result.partner_ids]
    schema = pa.schema(
        [(name, pa.int64() if k == 0 else pa.float64()) for k, name in enumerate(names)]
    )
    with pq.ParquetWriter(
        folder / "per_simulation.parquet",
        schema,
        use_dictionary=False,
        column_encoding={"sim": "DELTA_BINARY_PACKED"},
    ) as writer:
        for start in range(0, net.shape[0], ROW_GROUP):
            stop = min(start + ROW_GROUP, net.shape[0])
            columns = [np.arange(start, stop, dtype=np.int64), *net[start:stop].T]
            arrays = [
                pa.Array.from_buffers(field.type, stop - start, [None, pa.py_buffer(c)])
                for field, c in zip(schema, map(np.ascontiguousarray, columns), strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return "per_simulation.parquet"


def write_run(
    result: Result, folder: Path, *, extra_manifest: dict[str, Any] | None = None
) -> list[str]:
    """Write a run's tables, per-simulation outcomes and manifest into ``folder``.

    Files: ``summary.csv`` (one row per partner and the pool, whole agreement),
    ``by_year.csv`` (per partner and year), ``pool_by_year.csv``,
    ``per_simulation.parquet`` (or ``.csv`` without pyarrow: one row per
    simulation, one column per partner's net position), ``config.json``
    (the resolved configuration) and ``manifest.json``. CSV files are UTF-8
    with a byte-order mark so Excel shows £ correctly.

    Returns
    -------
    list of str
        Names of the files written.
    """
    t0 = time.perf_counter()
    folder = Path(folder)
    names = ("summary", "by_year", "pool_by_year")
    # The tables and the per-simulation file at once: numpy and pyarrow
    # release the GIL, so they share the cores.
    with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        per_simulation = pool.submit(_write_per_simulation, result, folder)
        tables = list(pool.map(result.table, names))
    written = []
    for name, table in zip(names, tables, strict=True):
        table.to_csv(folder / f"{name}.csv")
        written.append(f"{name}.csv")
    written.append(per_simulation.result())
    (folder / "config.json").write_text(
        json.dumps(result.model.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
    )
    written.append("config.json")
    manifest = dict(result.manifest)
    manifest.pop("config", None)
    manifest.update(extra_manifest or {})
    manifest.setdefault("timings", {})
    manifest["timings"] = {**manifest.get("timings", {}), "write_s": time.perf_counter() - t0}
    manifest["files"] = sorted(written)
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
    )
    written.append("manifest.json")
    return written
