"""Per-simulation arrays kept in a temporary file, so a very large run's memory stays flat.

A run keeps each partner's whole-agreement outcome for every simulation (exact
quantiles and TVaRs need them all). Beyond about a million simulations these
arrays go to a :class:`SpilledArray`: an anonymous temporary file (no name in
any folder, removed by the operating system when it is closed, when the run
is interrupted or when the process is killed), one column after another, each
written chunk by chunk with ``pwrite`` and read back a column (or a range of
simulations) at a time with ``preadv`` into the caller's buffer (where the
system has neither, as on Windows, by seeking under a lock). Nothing is
mapped into memory on the way, so the file's pages are never part of the
process's resident memory; only the column being reduced is.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from riskshare.errors import InputError

__all__ = ["SpilledArray", "chunks"]

#: Simulations read at a time when a column is summed or a range copied [simulations].
CHUNK = 1 << 16


def chunks(n: int, size: int = CHUNK) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive ranges of ``size`` simulations covering ``n``."""
    for start in range(0, n, size):
        yield start, min(start + size, n)


class SpilledArray:
    """A ``(sims, ...)`` array in an anonymous temporary file, stored column by column.

    Each column (one index of the axes after the first) holds every
    simulation contiguously, as the in-memory outcomes are stored (simulations
    last). Chunks of simulations are written with ``x[start:stop] = values``
    (from several threads at once: each write has its own offset); reading
    ``x[start:stop]`` gives those simulations as an ordinary array, and
    :meth:`column` one column into a buffer. ``numpy.asarray(x)`` maps the
    whole file read-only (for code that needs an ordinary array; its pages
    then count as the process's memory).

    Parameters
    ----------
    shape : tuple of int
        ``(sims, ...)``.
    dtype : numpy dtype
    folder : str, optional
        Where the file lives (default :func:`tempfile.gettempdir`, i.e.
        ``TMPDIR``).

    Raises
    ------
    riskshare.errors.InputError
        If the folder has no room for the file.
    """

    def __init__(self, shape: tuple[int, ...], dtype: Any = float, *, folder: str | None = None):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        # Open as long as the array lives (closed, and so gone, with it).
        self._file = tempfile.TemporaryFile(prefix="riskshare-outcomes-", dir=folder)  # noqa: SIM115
        self._fd = self._file.fileno()
        size = math.prod(self.shape) * self.dtype.itemsize
        try:
            allocate = getattr(os, "posix_fallocate", None)
            if allocate is not None and size:
                allocate(self._fd, 0, size)  # no room is found out now, not mid-run
            else:
                os.ftruncate(self._fd, size)
        except OSError as exc:
            self._file.close()
            where = folder or tempfile.gettempdir()
            raise InputError(
                f"{where}: no room for {size / 2**20:,.0f} MiB of per-simulation outcomes "
                f"({exc.strerror or exc}); free space there or set TMPDIR to a folder with room"
            ) from None
        self._mapped: np.ndarray | None = None
        self._lock = threading.Lock()  # for seek-then-read/write without pwrite and preadv

    def _write_at(self, data: np.ndarray, offset: int) -> None:
        view = memoryview(np.ascontiguousarray(data)).cast("B")
        if not hasattr(os, "pwrite"):  # Windows
            with self._lock:
                self._file.seek(offset)
                self._file.write(view)
                self._file.flush()
            return
        while view:
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done

    def _read_at(self, out: np.ndarray, offset: int) -> None:
        view = memoryview(out).cast("B")
        while view:
            if hasattr(os, "preadv"):
                done = os.preadv(self._fd, [view], offset)
            else:  # Windows, older macOS
                with self._lock:
                    self._file.seek(offset)
                    done = self._file.readinto(view) or 0
            if done == 0:
                raise OSError(f"temporary outcome file ended early at byte {offset}")
            view, offset = view[done:], offset + done

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def columns(self) -> list[tuple[int, ...]]:
        """Index of each column (the axes after the first), in storage order."""
        return list(np.ndindex(self.shape[1:]))

    def _offset(self, column: tuple[int, ...], start: int) -> int:
        flat = int(np.ravel_multi_index(column, self.shape[1:])) if column else 0
        return (flat * self.shape[0] + start) * self.dtype.itemsize

    def __setitem__(self, sims: slice, values: np.ndarray) -> None:
        """Store ``values`` (``(stop - start, ...)``) for simulations ``start:stop``."""
        start, stop, _ = sims.indices(self.shape[0])
        shape = (stop - start, *self.shape[1:])
        values = np.broadcast_to(np.asarray(values, dtype=self.dtype), shape)
        for column in self.columns:
            self._write_at(values[(slice(None), *column)], self._offset(column, start))

    def __getitem__(self, sims: slice) -> np.ndarray:
        """Simulations ``start:stop`` as an ordinary array ``(stop - start, ...)`` (read now)."""
        if not isinstance(sims, slice):
            raise TypeError("a SpilledArray is read by ranges of simulations, x[start:stop]")
        start, stop, step = sims.indices(self.shape[0])
        if step != 1:
            raise TypeError("a SpilledArray is read by contiguous ranges of simulations")
        stop = max(stop, start)
        out = np.empty((*self.shape[1:], stop - start), dtype=self.dtype)
        for column in self.columns:
            self.column(column, out[column], start, stop)
        return np.moveaxis(out, -1, 0)

    def column(
        self,
        column: tuple[int, ...],
        out: np.ndarray | None = None,
        start: int = 0,
        stop: int | None = None,
    ) -> np.ndarray:
        """One column's simulations ``start:stop`` read into ``out`` (contiguous; made if None)."""
        stop = self.shape[0] if stop is None else stop
        if out is None:
            out = np.empty(stop - start, dtype=self.dtype)
        self._read_at(out, self._offset(column, start))
        return out

    def column_sum(self, columns: list[tuple[int, ...]], out: np.ndarray) -> np.ndarray:
        """The sum of ``columns`` into ``out``, as ``numpy.sum`` adds stored rows (in turn).

        Read a chunk of simulations at a time: ``numpy.sum(rows, axis=0)`` of
        each chunk, which adds the rows element by element in order, so the
        bits equal those of the sum over the whole stored array.
        """
        piece = np.empty((len(columns), min(CHUNK, self.shape[0])), dtype=self.dtype)
        for start, stop in chunks(self.shape[0]):
            part = piece[:, : stop - start]
            for k, column in enumerate(columns):
                self.column(column, part[k], start, stop)
            np.sum(part, axis=0, out=out[start:stop])
        return out

    def row_readers(self, total: bool = False) -> list[Callable[[np.ndarray], np.ndarray]]:
        """Functions reading each column into a buffer, for :func:`riskshare.metrics.describe`.

        In the order ``describe`` takes an array's columns; with ``total``,
        after each group of columns along the last axis, their sum.
        """
        lead = self.shape[1:]
        readers: list[Callable[[np.ndarray], np.ndarray]] = []
        for idx in np.ndindex(lead[:-1] if total else lead):
            if total:
                group = [(*idx, k) for k in range(lead[-1])]
                readers += [lambda out, c=c: self.column(c, out) for c in group]
                readers.append(lambda out, g=group: self.column_sum(g, out))
            else:
                readers.append(lambda out, c=idx: self.column(c, out))
        return readers

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The whole array, mapped read-only from the file (``(sims, ...)`` view)."""
        if copy:
            raise ValueError("a SpilledArray maps its file; copy the mapped array instead")
        if self._mapped is None:
            stored = np.memmap(
                self._file, dtype=self.dtype, mode="r", shape=(*self.shape[1:], self.shape[0])
            )
            self._mapped = np.moveaxis(stored, -1, 0)
        return self._mapped if dtype is None else self._mapped.astype(dtype, copy=False)
