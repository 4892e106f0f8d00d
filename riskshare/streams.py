"""Random streams keyed by seed, block and stream name.

Every random number riskshare draws comes from a generator built here.
Simulations are drawn in fixed-size *blocks*; block ``b`` of stream ``name``
uses ``SeedSequence(seed, spawn_key=(b, stream_id(name)))``. So simulation
``i`` gets the same numbers however the run is chunked, however many workers
run it, and whatever other streams (client groups) the model has.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

__all__ = ["BLOCK_SIZE", "block_rng", "n_blocks", "resolve_seed", "stream_id"]

#: Simulations per random-number block. Part of the reproducibility contract:
#: changing it changes the numbers (it is recorded in every manifest).
BLOCK_SIZE = 1 << 15


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or 128 fresh bits of entropy when it is None.

    The resolved value is what a result records, so an unseeded run can be
    reproduced.

    Parameters
    ----------
    seed : int or None
        Non-negative integer seed.

    Returns
    -------
    int
    """
    if seed is None:
        return secrets.randbits(128)
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return seed


def stream_id(name: str) -> int:
    """Stable 63-bit integer for a stream name (e.g. ``"group:mental_health"``).

    Keyed on the name, not on a position, so that adding a client group leaves
    the draws of the other groups unchanged (common random numbers across
    configs).
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def block_rng(seed: int, block: int, name: str) -> np.random.Generator:
    """Generator for one block of one named stream.

    Parameters
    ----------
    seed : int
        Resolved run seed.
    block : int
        Block index (simulations ``block * BLOCK_SIZE`` onwards).
    name : str
        Stream name.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator; independent of every other (block, name) pair.
    """
    ss = np.random.SeedSequence(seed, spawn_key=(int(block), stream_id(name)))
    return np.random.Generator(np.random.PCG64(ss))


def n_blocks(n_sims: int, block_size: int = BLOCK_SIZE) -> int:
    """Number of blocks needed for ``n_sims`` simulations."""
    return -(-int(n_sims) // block_size)
