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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskshare.errors import InputError

if TYPE_CHECKING:
    from riskshare.run import Result

__all__ = ["atomic_folder", "write_run"]


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


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


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
    written = []
    result.summary().reset_index().to_csv(folder / "summary.csv", index=False, encoding="utf-8-sig")
    written.append("summary.csv")
    result.by_year().reset_index().to_csv(folder / "by_year.csv", index=False, encoding="utf-8-sig")
    written.append("by_year.csv")
    result.pool_by_year().reset_index().to_csv(
        folder / "pool_by_year.csv", index=False, encoding="utf-8-sig"
    )
    written.append("pool_by_year.csv")
    per_sim = result.per_simulation().reset_index()
    if _has_pyarrow():
        per_sim.to_parquet(folder / "per_simulation.parquet", index=False)
        written.append("per_simulation.parquet")
    else:
        per_sim.to_csv(folder / "per_simulation.csv", index=False)
        written.append("per_simulation.csv")
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
