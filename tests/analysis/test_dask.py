"""Sweeps on a real dask.distributed LocalCluster give the same numbers as in-process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import riskshare as rs
from riskshare.analysis.sweeps import sweep
from riskshare.executors import run_items

distributed = pytest.importorskip("distributed")

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "section75_example.yaml"


def _square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_run_items_in_order(client):
    seen = []
    out = run_items(_square, [3, 1, 2], client, on_result=lambda i, r: seen.append(i))
    assert out == [9, 1, 4]
    assert sorted(seen) == [0, 1, 2]


def test_dask_sweep_equals_in_process(client):
    model = rs.load_config(EXAMPLE)
    grid = {
        "contributions.council.factor": [0.95, 1.05],
        "client_groups[0].spend.cost.cv": [0.5, 0.7],
    }
    local = sweep(model, grid, n_sims=1200, seed=6)
    on_dask = sweep(model, grid, n_sims=1200, seed=6, executor=client)
    pd.testing.assert_frame_equal(local, on_dask)


def test_local_cluster_by_name():
    model = rs.load_config(EXAMPLE)
    grid = {"contributions.icb.factor": [1.0, 1.1]}
    pd.testing.assert_frame_equal(
        sweep(model, grid, n_sims=600, seed=1),
        sweep(model, grid, n_sims=600, seed=1, executor="local"),
    )
