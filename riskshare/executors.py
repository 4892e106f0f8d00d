"""Run independent work items in-process or on a Dask cluster, with identical results.

:func:`run_items` is the one place that knows about Dask. By default items run
one after another in this process. ``executor="local"`` starts a
``distributed.LocalCluster`` (threads in this process, so nothing is pickled
and drawn spend is shared); a scheduler address such as
``"tcp://10.0.0.5:8786"`` connects to a running cluster; a
``distributed.Client`` can be passed as is. Dask is imported only when asked
for: it is an optional extra (``pip install riskshare[dask]``).

Work items must be deterministic functions of their inputs (riskshare's are:
every random number is keyed by the seed and the block index), so the results
do not depend on where or in which order the items ran.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import as_completed as as_completed_threads
from typing import Any, TypeVar

from riskshare.errors import InputError

__all__ = ["dask_client", "run_items", "thread_pool"]

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def thread_pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, when the block fails or is interrupted (Ctrl-C), drops queued work.

    A plain ``with ThreadPoolExecutor()`` waits for every submitted item
    before the interrupt is seen, so Ctrl-C on a long run would wait for all
    of it; this pool waits only for the items already running.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def dask_client(executor: Any, *, n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``executor``, closed (with its cluster) on exit.

    Parameters
    ----------
    executor : {"local", "dask"}, str or distributed.Client
        ``"local"`` or ``"dask"``: a new in-process ``LocalCluster``
        (``processes=False``, one thread per worker); any other string: the
        address of a running scheduler; a ``Client``: used as is (not closed).
    n_workers : int, optional
        Workers of a new LocalCluster (default: Dask's choice).

    Raises
    ------
    riskshare.errors.InputError
        If dask.distributed is not installed or the scheduler cannot be reached.
    """
    try:
        import distributed
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError(
            "running on Dask needs dask.distributed: pip install 'riskshare[dask]'"
        ) from None
    if isinstance(executor, distributed.Client):
        yield executor
        return
    if executor in ("local", "dask"):
        kwargs: dict[str, Any] = {
            "processes": False,
            "threads_per_worker": 1,
            "dashboard_address": None,
        }
        if n_workers is not None:
            kwargs["n_workers"] = n_workers
        with distributed.LocalCluster(**kwargs) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    if not isinstance(executor, str):
        raise InputError(
            f"executor must be None, 'local', a scheduler address or a Client, not {executor!r}"
        )
    try:
        client = distributed.Client(executor, timeout="20s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:  # unreachable or malformed
        raise InputError(f"cannot reach the Dask scheduler at '{executor}': {exc}") from None
    try:
        yield client
    finally:
        client.close()


def run_items(
    func: Callable[[T], R],
    items: Sequence[T],
    executor: Any = None,
    *,
    on_result: Callable[[int, R], None] | None = None,
    n_workers: int | None = None,
) -> list[R]:
    """Apply ``func`` to every item and return the results in item order.

    Parameters
    ----------
    func : callable
        A deterministic function of one item (a top-level function, so a
        remote cluster can unpickle it).
    items : sequence
        Independent work items.
    executor : None, "serial", "local", "dask", str or distributed.Client
        ``None`` (or ``"inprocess"``): in this process, on a pool of threads
        (numpy releases the GIL; at most the CPU count, 4 at most);
        ``"serial"``: one after another in this process;
        ``"local"``/``"dask"``: a new in-process LocalCluster; a scheduler
        address: that cluster; a ``Client``: its cluster.
    on_result : callable, optional
        Called as ``on_result(index, result)`` as each item finishes (in
        completion order on Dask), e.g. to save it so an interrupted run can
        resume.
    n_workers : int, optional
        Workers of a new LocalCluster.

    Returns
    -------
    list
        ``[func(item) for item in items]``, whatever the executor.

    Examples
    --------
    >>> run_items(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    items = list(items)
    if executor == "serial" or (executor in (None, "inprocess") and len(items) < 2):
        out = []
        for i, item in enumerate(items):
            r = func(item)
            if on_result is not None:
                on_result(i, r)
            out.append(r)
        return out
    if executor is None or executor == "inprocess":
        workers = min(4, os.cpu_count() or 1, len(items))
        results: list[Any] = [None] * len(items)
        with thread_pool(workers) as pool:
            futures = {pool.submit(func, item): i for i, item in enumerate(items)}
            for fut in as_completed_threads(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
        return results
    if not items:
        return []
    with dask_client(executor, n_workers=n_workers) as client:
        from distributed import as_completed

        futures = client.map(func, items, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(items)
        try:
            for fut in as_completed(futures):
                i = position[fut.key]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
        finally:
            for fut in futures:
                fut.cancel()
    return results
