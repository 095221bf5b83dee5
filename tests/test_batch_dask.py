"""The same settlement on dask.distributed (two in-process workers): results identical to the single-machine run."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import medrules
from conftest import ROOT
from medrules.batch import settle_files
from medrules.batch.generate import as_rows, random_members

distributed = pytest.importorskip("dask.distributed")

QUZHOU_AID = ROOT / "rulebooks" / "quzhou" / "employee-mutual-aid-2012.mr"


def test_dask_local_cluster_gives_the_single_machine_results(tmp_path):
    from medrules.batch.distributed import settle_on_dask
    program = medrules.load(QUZHOU_AID)  # layered on the employee scheme
    members = random_members(program.checked, 300, seed=21)
    rows = as_rows(program.checked, members)
    rows["claim.compliant_cost"][0] = "-1"  # one bad row: its member is held back the same way on both
    pq.write_table(pa.table(rows), tmp_path / "claims.parquet")
    single = settle_files(QUZHOU_AID, [tmp_path / "claims.parquet"], tmp_path / "one.parquet", partition_rows=400)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spread = settle_on_dask(str(QUZHOU_AID), [tmp_path / "claims.parquet"], tmp_path / "dask.parquet",
                                client=client, partition_rows=400)
    assert spread.partitions == single.partitions > 1
    assert pq.read_table(tmp_path / "dask.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    assert spread.claims == single.claims and spread.funds == single.funds and spread.rejected == single.rejected > 0
    assert (tmp_path / "dask.parquet.rejects.csv").read_bytes() == (tmp_path / "one.parquet.rejects.csv").read_bytes()
