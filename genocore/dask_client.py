"""Dask clients for the commands that can run their work on a cluster."""
from __future__ import annotations


def dask_client(*, scheduler: str | None = None, workers: int | None = None):
    """A ``dask.distributed.Client``: to the scheduler at ``scheduler``, or to a new local cluster of
    ``workers`` single-threaded processes; None (run in this process) when neither is given.

    The local cluster's dashboard takes a free port, so several clusters (and tests) can coexist.
    """
    if scheduler is None and not workers:
        return None
    from distributed import Client, LocalCluster

    if scheduler is not None:
        return Client(scheduler)
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"))
