"""The same settlement on a Dask cluster (``medrules settle … --scheduler ADDRESS``).

The input is split into member partitions (Parquet files, each holding all the claims of its
members): either the claim files given are already such partitions (a folder of Parquet files,
``--partitioned``), or the client spills them by a hash of the member id, exactly as a
single-machine run does. Each partition is one task: a worker loads the rulebook once (per
process), settles the partition on the vector backend and returns its results and rejects as
Arrow tables, which the client writes in partition order. Members never span partitions, so
the results are those of the single-machine run.

Workers read the partition files and the rulebook by path: on a real cluster both must be on a
file system every worker sees (``--spill DIR`` chooses where the partitions are written).
"""
from __future__ import annotations

import functools
import math
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from medrules.batch import io
from medrules.batch.run import (PARTITION_ROWS, REJECT_SCHEMA, Rulebooks, Summary, _fund_order, _results_schema,
                                load_rulebooks, read_members, rejects_path, settle_partition, spill)
from medrules.diagnostics import MedrulesError, error


@functools.lru_cache(maxsize=8)
def _rulebooks(path: str) -> Rulebooks:
    return load_rulebooks(path)


def settle_partition_file(rulebook: str, path: str, members: str | None, columns: dict[str, str]):
    """One task: a partition file settled on a worker; returns (results, rejects) as Arrow tables."""
    table = pq.read_table(path)
    if io.FILE not in table.column_names:  # a partition the user made: label its rows here
        table = io.labelled(table, path, 1)
    member_table = read_members(members) if members else None
    return settle_partition(_rulebooks(rulebook), table, member_table, columns)


def settle_on_dask(rb: Rulebooks | str | Path, claim_paths: list, out: str | Path, *, scheduler=None,
                   client=None, members: str | Path | None = None, columns: dict[str, str] | None = None,
                   partitioned: bool = False, spill_dir: str | Path | None = None,
                   partition_rows: int = PARTITION_ROWS) -> Summary:
    """Settle on ``client`` (a ``dask.distributed.Client``) or on the scheduler at ``scheduler``."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise MedrulesError(error("dask", "settling on a cluster needs dask.distributed", None,
                                  "pip install 'medrules[dask]'")) from None
    started = time.perf_counter()
    rulebook_path = rb if not isinstance(rb, Rulebooks) else rb.name
    rb = rb if isinstance(rb, Rulebooks) else load_rulebooks(rb)
    columns = dict(columns or {})
    own_client = client is None
    if own_client:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise MedrulesError(error("dask", f"cannot reach the Dask scheduler at {scheduler}: {exc}", None,
                                      "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'")) from None
    summary = Summary()
    funds = _fund_order(rb)
    writer, rejects_writer = io.Writer(out), io.Writer(rejects_path(out))
    try:
        with tempfile.TemporaryDirectory(prefix="medrules-dask-", dir=spill_dir) as tmp:
            paths = io.expand(claim_paths)
            if partitioned:
                files = [str(p) for p in paths]
            else:
                n_parts = max(1, math.ceil(io.estimate_rows(paths) / partition_rows))
                files = [str(p) for p in spill(paths, rb, columns, n_parts, Path(tmp))]
            summary.partitions = len(files)
            futures = client.map(settle_partition_file, [str(rulebook_path)] * len(files), files,
                                 [str(members) if members else None] * len(files), [columns] * len(files),
                                 pure=False)
            for future in futures:  # in partition order: the single-machine run's order
                results, rejects = future.result()
                writer.write(results)
                rejects_writer.write(rejects)
                summary.add(results, rejects, funds)
                future.release()
    finally:
        writer.close(_results_schema(rb))
        rejects_writer.close(REJECT_SCHEMA)
        if own_client:
            client.close()
    summary.seconds = time.perf_counter() - started
    return summary
