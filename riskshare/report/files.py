"""Result folders and files: written whole or not at all, never over what riskshare did not write.

Every command that writes a folder goes through :func:`atomic_folder`; every
command that writes one file goes through :func:`write_file`. The rules:

- A folder is built in a hidden staging folder inside the destination
  (``.riskshare-partial-PID-XXXX``) and its files are moved into place only
  when all are written, ``manifest.json`` last. An interrupted command leaves
  nothing; a killed one leaves only its staging folder, which the next command
  writing to the same place recognises (its process is gone) and removes.
- The destination must be free: missing or empty. ``--force`` replaces a
  previous riskshare results folder, recognised by its ``manifest.json``, and
  only the files that manifest lists; any other file is kept, and one that a
  new file would replace makes the command refuse (exit 2).
- The check that the destination is free is repeated, under a lock, just
  before the files are moved in, so of two commands writing to one place at
  once the second refuses instead of silently replacing the first.
- No command writes over one of its own inputs.
- Every folder gets a ``manifest.json`` listing the files riskshare wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskshare.errors import ConfigError, InputError

if TYPE_CHECKING:
    from riskshare.run import Result

__all__ = [
    "atomic_folder",
    "check_file",
    "check_folder",
    "preload_writer",
    "write_file",
    "write_run",
]

_STAGING = re.compile(r"^\.riskshare-partial-(\d+)-[0-9a-f]+$")

#: Simulations per row group of ``per_simulation.parquet`` (bounds the writer's memory).
ROW_GROUP = 1 << 20


@dataclass
class _Folder:
    """What is in a destination folder: riskshare's files, other files, its manifest."""

    path: Path
    exists: bool = False
    manifest: dict[str, Any] | None = None
    owned: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.owned or self.other)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The folder's manifest if it is one riskshare wrote, else None."""
    from riskshare.config.load import read_text

    try:
        data = json.loads(read_text(path, what="manifest"))
    except (ConfigError, ValueError):
        return None
    if isinstance(data, dict) and ("command" in data or "config_sha256" in data):
        return data
    return None


def _clean_stale(folder: Path) -> list[str]:
    """Remove staging entries left in ``folder`` by killed runs; return the other names."""
    names = []
    for entry in folder.iterdir():
        m = _STAGING.match(entry.name)
        if m is None:
            names.append(entry.name)
        elif not _process_alive(int(m.group(1))):
            _remove(entry)  # left by a killed run
    return names


def _inspect(out: Path, keep: Iterable[str] = ()) -> _Folder:
    """Classify what is in ``out``, removing staging folders of processes that are gone."""
    state = _Folder(out)
    if not out.is_dir():
        return state
    state.exists = True
    names = _clean_stale(out)
    if "manifest.json" in names:
        state.manifest = _read_manifest(out / "manifest.json")
    owned = set(keep)
    if state.manifest is not None:
        listed = state.manifest.get("files", [])
        owned |= {"manifest.json", *(f for f in listed if isinstance(f, str) and "/" not in f)}
    for name in names:
        (state.owned if name in owned else state.other).add(name)
    return state


def check_folder(
    out: str | Path,
    *,
    force: bool = False,
    command: str | None = None,
    resume: bool = False,
    add: bool = False,
    keep: Iterable[str] = (),
    new: Iterable[str] = (),
    inputs: Iterable[str | Path] = (),
) -> None:
    """Refuse a destination folder that is not free to write (exit 2); see the module's rules.

    Parameters
    ----------
    out : str or pathlib.Path
        The destination folder.
    force : bool
        Replace a previous riskshare results folder.
    command : str, optional
        The command writing (recorded in the manifest; with ``resume``, a
        folder of the same command is this command's own).
    resume : bool
        The command continues its own folder (``sweep``): a folder holding
        only ``keep`` entries, or written by the same command, needs no
        ``force``.
    add : bool
        Add files to an existing riskshare results folder (``report``): its
        other files and manifest are kept; no ``force`` is needed.
    keep : iterable of str
        Entries the command maintains in the folder itself (sweep's
        ``points``); they count as riskshare's.
    new : iterable of str
        Names of the files about to be written (a foreign file among them is
        refused even with ``force``).
    inputs : iterable of path
        The command's input files: none may be among the files replaced.

    Raises
    ------
    riskshare.errors.InputError
    """
    out = Path(out)
    _check_not_a_file(out)
    state = _inspect(out, keep)
    if add and state.manifest is None:
        raise InputError(f"{out}: not a riskshare results folder (no riskshare manifest.json)")
    if state.empty:
        return
    own = add or (
        resume
        and not state.other
        and (state.manifest is None or state.manifest.get("command") == command)
    )
    if not (force or own):
        raise InputError(
            f"{out}: folder is not empty (use --force to replace a previous riskshare results "
            "folder; other files are never replaced)"
        )
    if state.manifest is None and not own:
        raise InputError(
            f"{out}: not a riskshare results folder (no riskshare manifest.json): --force "
            "replaces only riskshare's own results; choose another --out or empty it"
        )
    in_the_way = sorted(state.other & set(new))
    if in_the_way:
        raise InputError(
            f"{out}: {', '.join(in_the_way)} would be replaced but riskshare did not write "
            "it (not in manifest.json): move it or choose another --out"
        )
    replaced = {(out / n).resolve() for n in (set(new) if add else state.owned | set(new))}
    for p in inputs:
        if Path(p).resolve() in replaced:
            raise InputError(f"{out}: would replace {p}, an input of this command")


def _check_not_a_file(out: Path, shown: Path | None = None) -> None:
    """Refuse a folder ``out`` that is a file or lies under one (named as ``shown``)."""
    shown = shown or out
    for p in (out, *out.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "exists and is not a folder" if p == shown else f"{p} is not a folder"
                raise InputError(f"{shown}: {what}")
            return


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (POSIX ``flock``; none where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _make_dirs(out: Path) -> list[Path]:
    """Create ``out`` and missing parents; return those created (deepest last)."""
    missing = [p for p in (out, *out.parents) if not p.exists()][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
    return missing


@contextlib.contextmanager
def atomic_folder(
    out: str | Path,
    *,
    force: bool = False,
    command: str | None = None,
    resume: bool = False,
    add: bool = False,
    keep: Iterable[str] = (),
    inputs: Iterable[str | Path] = (),
) -> Iterator[Path]:
    """Yield a staging folder whose files replace ``out``'s when the block succeeds.

    Parameters are those of :func:`check_folder`, which runs before the block
    and again, under a lock, before the files are moved in.

    Raises
    ------
    riskshare.errors.InputError
        If ``out`` is not free to write, cannot be created, or the files would
        replace an input.
    """
    out = Path(out)
    inputs = list(inputs)
    keep = list(keep)
    rules = {
        "force": force,
        "command": command,
        "resume": resume,
        "add": add,
        "keep": keep,
        "inputs": inputs,
    }
    check_folder(out, **rules)
    created = _make_dirs(out)
    staging = out / f".riskshare-partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
        yield staging
        with _locked(out):
            new = sorted(p.name for p in staging.iterdir())
            check_folder(out, new=new, **rules)
            _commit(staging, out, new, command=command, keep=keep, add=add)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for p in [*(out / k for k in keep), *reversed(created)]:
            with contextlib.suppress(OSError):
                p.rmdir()  # only if empty (a sweep's points/ with finished points stays)
        raise


def _commit(
    staging: Path, out: Path, new: list[str], *, command: str | None, keep: list[str], add: bool
) -> None:
    """Move the staged files into ``out``, replacing riskshare's previous ones, manifest last."""
    old = _inspect(out, keep)
    path = staging / "manifest.json"
    if add and old.manifest is not None:  # adding to a folder: its files and manifest stay
        manifest = dict(old.manifest)
        keep = sorted(old.owned - {"manifest.json"})
    else:
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        keep = [k for k in keep if (out / k).exists()]
    manifest.setdefault("command", command)
    manifest["files"] = sorted({*new, *keep} - {"manifest.json"})
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    moves = [n for n in new if n != "manifest.json"] + ["manifest.json"]
    with contextlib.suppress(FileNotFoundError):
        (out / "manifest.json").unlink()  # a crash from here on leaves no false manifest
    for name in sorted(old.owned - set(moves) - set(keep)):
        _remove(out / name)
    for name in moves:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(staging / name, target)
    staging.rmdir()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def check_file(path: str | Path, *, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output file path that :func:`write_file` would refuse (exit 2)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise InputError(f"{path}: exists and is not a regular file")
    _check_not_a_file(path.parent, shown=path)
    for p in inputs:
        if Path(p).resolve() == path.resolve():
            raise InputError(f"{path}: is an input of this command; write the output elsewhere")


def write_file(
    path: str | Path, write: Callable[[Path], Any], *, inputs: Iterable[str | Path] = ()
) -> Path:
    """Write one output file whole or not at all: ``write(tmp)`` then rename over ``path``.

    An existing regular file is replaced (as ``-o`` does elsewhere), unless it
    is one of the command's ``inputs``; a folder, a device or a path under a
    file is refused.

    Raises
    ------
    riskshare.errors.InputError
    """
    path = Path(path)
    check_file(path, inputs=inputs)
    created = _make_dirs(path.parent)
    _clean_stale(path.parent)
    tmp = path.with_name(f".riskshare-partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        for p in reversed(created):
            with contextlib.suppress(OSError):
                p.rmdir()
        raise
    return path


def preload_writer() -> None:
    """Start importing pyarrow's Parquet writer on a thread, for :func:`write_run` to find loaded.

    ``riskshare run`` calls it before simulating: the import (about 0.1 s of
    CPU, mostly loading Arrow's libraries) then overlaps the simulation
    instead of delaying the results. Nothing happens without pyarrow.
    """

    def load() -> None:
        with contextlib.suppress(ImportError):
            import pyarrow.parquet  # noqa: F401

    threading.Thread(target=load, name="riskshare-preload-pyarrow").start()


def _write_per_simulation(result: Result, folder: Path) -> str:
    """One row per simulation, one column per partner's net position: Parquet, else CSV."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        fmt = ["%d"] + ["%.17g"] * len(result.partner_ids)
        with open(folder / "per_simulation.csv", "w", encoding="utf-8") as f:
            f.write(",".join(["sim", *result.partner_ids]) + "\n")
            for start, net in result.net_chunks(ROW_GROUP):
                data = np.column_stack([np.arange(start, start + len(net)), net])
                np.savetxt(f, data, fmt=fmt, delimiter=",")
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
        for start, net in result.net_chunks(ROW_GROUP):
            stop = start + len(net)
            columns = [np.arange(start, stop, dtype=np.int64), *net.T]
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
    (the resolved configuration) and ``manifest.json``; with several
    schedules also ``by_schedule.csv`` (per schedule and partner, whole
    agreement); with exit costs ``exit_costs.csv`` (their distribution for
    each partner); with a trigger ``trigger.csv`` (management action each
    year, and on a forecast its error and false alarms and misses); with
    instalments ``cash_calls.csv`` (the in-year cash calls of each quarter
    beside the year end, each partner's part and the pool's); with a
    holdback ``holdback.csv`` (the distribution of the amounts released,
    retained and not commissioned, each year and in total); with
    contributions re-set each year ``contribution_paths.csv`` (their
    distribution per partner and year); with an exit clause ``exits.csv``
    (each partner's chance of having left by each year, and of its exit
    year). CSV files are UTF-8 with a byte-order mark so Excel shows £
    correctly.

    Returns
    -------
    list of str
        Names of the files written.
    """
    t0 = time.perf_counter()
    folder = Path(folder)
    names = ["summary", "by_year", "pool_by_year"]
    if result.model.agreement.schedules:
        names.append("by_schedule")
    if result.outcomes.exit_cost_total is not None:
        names.append("exit_costs")
    if "trigger_fired" in result.outcomes.extras:
        names.append("trigger")
    if "cash_q1" in result.outcomes.extras:
        names.append("cash_calls")
    if result.outcomes.holdback_total is not None:
        names.append("holdback")
    if result.outcomes.contribution_paths is not None:
        names.append("contribution_paths")
    if result.outcomes.exit_year is not None:
        names.append("exits")
    if result.outcomes.spilled:
        # A very large run: a table over every simulation reduces rows as long
        # as the run, so the tables and the per-simulation file one after
        # another, each with the memory to itself: the peak stays that of a
        # million simulations.
        tables = [result.table(name) for name in names]
        per_simulation = _write_per_simulation(result, folder)
    else:
        # The tables and the per-simulation file at once: numpy and pyarrow
        # release the GIL, so they share the cores.
        with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
            parquet = pool.submit(_write_per_simulation, result, folder)
            tables = list(pool.map(result.table, names))
            per_simulation = parquet.result()
    written = []
    for name, table in zip(names, tables, strict=True):
        table.to_csv(folder / f"{name}.csv")
        written.append(f"{name}.csv")
    written.append(per_simulation)
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
