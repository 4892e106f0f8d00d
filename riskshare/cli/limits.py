"""Bounds on what a command may ask for: simulations that fit in memory, sweep grid sizes.

Checked before anything is allocated, so an impossible request is refused at
once with a message saying how much it needs (exit 2), instead of running
until memory is exhausted.
"""

from __future__ import annotations

import os
from typing import Any

from riskshare.errors import InputError

MAX_SIMS = 2**40
"""Largest number of simulations any command accepts."""
MAX_SWEEP_POINTS = 10_000
"""Default largest sweep grid (raise it with ``sweep --max-points``)."""
BLOCK = 2**16
"""Simulations per chunk assumed for working memory (a random-number block)."""


def available_memory() -> int:
    """Memory this process can use now [bytes]: MemAvailable, else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def memory_needed(model: Any, n_sims: int, *, workers: int = 4, keep_paths: int = 1 << 20) -> int:
    """Estimated peak memory of simulating ``model`` ``n_sims`` times [bytes].

    Per-simulation outcomes kept for every simulation (net position and cash
    call per partner, with the copies the metrics make; above
    :data:`riskshare.run.SPILL_ABOVE` simulations they are in a temporary
    file and only the row being reduced, 8 bytes a simulation, is in memory),
    per-year outcomes for at most ``keep_paths`` simulations, and each
    worker's chunk of spend paths (with case shares) and ledger flows.
    """
    from riskshare.run import SPILL_ABOVE

    years = model.simulation.years
    partners = len(model.partners)
    groups = len(model.client_groups)
    cased = sum(g.cases is not None for g in model.client_groups)  # case shares per partner
    keep = min(n_sims, keep_paths)
    whole = 8 * n_sims if n_sims > SPILL_ABOVE else n_sims * partners * (8 + 1) * 4
    per_year = keep * years * (partners * 9 + 17) * 2
    chunk = workers * min(n_sims, BLOCK) * years * (groups * 24 + (cased + 24) * partners * 8)
    return whole + per_year + chunk


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_sims(model: Any, n_sims: int | None, *, flag: str = "--sims") -> int:
    """The number of simulations to run, refused if it cannot fit in memory.

    Parameters
    ----------
    model : Model
    n_sims : int, optional
        The command's ``--sims`` (default: the config's ``simulation.n_sims``).
    flag : str
        The option named in the message.

    Raises
    ------
    riskshare.errors.InputError
        If the number is out of range or the run needs more memory than is
        available, saying how much it needs and the most that would fit.
    """
    n = int(model.simulation.n_sims if n_sims is None else n_sims)
    source = flag if n_sims is not None else "simulation.n_sims"
    if not 1 <= n <= MAX_SIMS:
        raise InputError(f"{source}: must be from 1 to {MAX_SIMS:,} (got {n:,})")
    need, have = memory_needed(model, n), available_memory()
    if need > 0.8 * have:
        per_sim = max(memory_needed(model, 2 * n) - memory_needed(model, n), 1) / n
        most = max(int((0.8 * have - memory_needed(model, 1)) / per_sim), 0)
        raise InputError(
            f"{source}: {n:,} simulations need about {_gib(need)} of memory and "
            f"{_gib(have)} is available: use at most about {most:,}"
        )
    return n


def check_points(count: int, limit: int | None, *, source: str) -> None:
    """Refuse a sweep of more than ``limit`` points (default :data:`MAX_SWEEP_POINTS`)."""
    limit = MAX_SWEEP_POINTS if limit is None else limit
    if count > limit:
        raise InputError(
            f"{source}: the grid has {count:,} points, more than the limit of {limit:,}: "
            "use fewer values, or raise the limit with --max-points"
        )
