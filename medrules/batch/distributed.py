"""The same settlement on a Dask cluster (``medrules settle … --scheduler ADDRESS``).

The input is split into member partitions (Parquet files, each holding all the claims of its
members): either the claim files given are already such partitions (a folder of Parquet files,
``--partitioned``), or the client spills them by a hash of the member id, exactly as a
single-machine run does. Each partition is one task: a worker loads the rulebook once (per
process), settles the partition on the vector backend and returns its results and rejects as
Arrow tables, which the client writes in partition order. Members never span partitions, so
the results are those of the single-machine run.

Histories (``--history NAME=FILE``) are read by the client, as a single-machine run reads them, and
written beside the claim partitions, each member's records in its member's partition (the same hash
of the member id): a worker reads the records of its partition only. A membership rulebook is
loaded by each worker from its path (with the schemes' rulebooks it names) and routes the claims of
its partition as a single-machine run does: a member's claims, records and year-to-date totals never
leave its partition.

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
from medrules.batch.run import (PARTITION_ROWS, REJECT_SCHEMA, Rulebooks, Summary, _fund_order, _histories,
                                _results_schema, load_rulebooks, read_members, rejects_path, settle_partition, spill)
from medrules.diagnostics import MedrulesError, error


@functools.lru_cache(maxsize=8)
def _rulebooks(path: str) -> Rulebooks:
    return load_rulebooks(path)


def settle_partition_file(rulebook: str, path: str, members: str | None, columns: dict[str, str],
                          histories: dict[str, str] | None = None):
    """One task: a partition file settled on a worker; returns (results, rejects) as Arrow tables.
    ``histories``: each history's records for this partition (a Parquet file per history name)."""
    table = pq.read_table(path)
    if io.FILE not in table.column_names:  # a partition the user made: label its rows here
        table = io.labelled(table, path, 1)
    member_table = read_members(members) if members else None
    records = None if histories is None else {name: pq.read_table(f) for name, f in histories.items()}
    return settle_partition(_rulebooks(rulebook), table, member_table, columns, records)


def settle_on_dask(rb: Rulebooks | str | Path, claim_paths: list, out: str | Path, *, scheduler=None,
                   client=None, members: str | Path | None = None, columns: dict[str, str] | None = None,
                   partitioned: bool = False, spill_dir: str | Path | None = None,
                   partition_rows: int = PARTITION_ROWS, histories: dict[str, str] | None = None) -> Summary:
    """Settle on ``client`` (a ``dask.distributed.Client``) or on the scheduler at ``scheduler``. ``histories``:
    history name → the file of its records (``--history``), as for :func:`medrules.batch.run.settle_files`."""
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
            hint = "start one with 'dask scheduler', and workers with 'dask worker ADDRESS'"
            raise MedrulesError(error("dask", f"cannot reach the Dask scheduler at {scheduler}: {exc}", None,
                                      hint)) from None
    summary = Summary()
    funds = _fund_order(rb)
    writer, rejects_writer = io.Writer(out), io.Writer(rejects_path(out))
    try:
        with tempfile.TemporaryDirectory(prefix="medrules-dask-", dir=spill_dir) as tmp:
            paths = io.expand(claim_paths)
            history_tables = _histories(rb, histories or {}, paths)  # None: no version declares a history
            homes: dict = {}  # member id -> its household's key, when the spill partitions by household
            if partitioned:
                files = [str(p) for p in paths]
                n_parts = None  # the user's partitions: each task reads every record, and keeps its members'
            else:
                n_parts = max(1, math.ceil(io.estimate_rows(paths) / partition_rows))
                files = [str(p) for p in spill(paths, rb, columns, n_parts, Path(tmp), members, homes)]
            records = [None] * len(files)
            if history_tables is not None:  # (households sharing quotas: each person's records in their household's)
                records = split_histories(history_tables, columns, files, n_parts, Path(tmp), homes)
            summary.partitions = len(files)
            futures = client.map(settle_partition_file, [str(rulebook_path)] * len(files), files,
                                 [str(members) if members else None] * len(files), [columns] * len(files),
                                 records, pure=False)
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


def split_histories(tables: dict, columns: dict[str, str], files: list[str], n_parts: int | None,
                    folder: Path, homes: dict | None = None) -> list[dict[str, str]]:
    """Each history's records written beside the claim partitions ``files`` (``part-KKKKK.parquet``, spilled
    by :func:`medrules.batch.run.spill` into ``n_parts``): per partition, history name → a Parquet file of
    the records of its members (by the same hash of the member id, or of the key ``homes`` gives a member when
    the spill partitioned by household). ``n_parts`` None (partitions the user made), or records without a
    member id column (the worker then says so, as a single-machine run does): every partition reads all the
    records."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    out: list[dict[str, str]] = [{} for _ in files]
    for name, table in tables.items():
        whole = folder / f"history-{name}.parquet"
        key = columns.get(f"{name}.member_id") or next(
            (c for c in ("member_id", "member.id", f"{name}.member_id", "id") if c in table.column_names), None)
        if n_parts is None or key is None:
            pq.write_table(table, whole)
            for o in out:
                o[name] = str(whole)
            continue
        ids = np.asarray(pc.fill_null(pc.cast(table.column(key), pa.string()), "").to_numpy(zero_copy_only=False),
                         object)
        if homes:
            from medrules.batch.vqhistory import partition_keys
            ids = partition_keys(ids, homes)
        keys = io.member_keys(ids, n_parts)
        for o, f in zip(out, files):
            k = int(Path(f).stem.rsplit("-", 1)[1])
            path = folder / f"history-{name}-{k:05d}.parquet"
            pq.write_table(table.take(pa.array(np.flatnonzero(keys == k), pa.int64())), path)
            o[name] = str(path)
    return out
