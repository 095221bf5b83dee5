"""Histories and membership rulebooks on dask.distributed (two in-process workers): each member's history
records travel with its claims to its partition, a membership rulebook routes inside each partition, and the
results and rejects are those of the single-machine run, to the fen, every column."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import medrules
from conftest import ROOT
from medrules.batch import settle_files
from medrules.batch.differential import routed_table
from medrules.batch.generate import random_members, random_routed
from medrules.batch.vmember import compile_membership

distributed = pytest.importorskip("dask.distributed")

QUZHOU = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
QHD = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"
TIANJIN = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def corpus(tmp_path, rulebook, n, seed, routed: bool):
    """Generated members as files: claims.parquet (text columns) and one Parquet file per history."""
    program = medrules.load(rulebook)
    if routed:
        targets = [t.program.checked for t in compile_membership(program).targets]
        members = random_routed(program.checked, targets, n, seed=seed)
        table, history = routed_table(members, [program.checked] + targets)
    else:
        table, history = routed_table(random_members(program.checked, n, seed=seed), [program.checked])
    rows = table.to_pydict()
    rows["claim.compliant_cost"][3] = "-1"  # one bad row: its member is held back the same way on both
    pq.write_table(pa.table(rows), tmp_path / "claims.parquet")
    files = {}
    for name, t in history.items():
        pq.write_table(t, tmp_path / f"{name}.parquet")
        files[name] = str(tmp_path / f"{name}.parquet")
    return files


def same_on_dask(tmp_path, client, rulebook, histories, partition_rows):
    from medrules.batch.distributed import settle_on_dask
    claims = [tmp_path / "claims.parquet"]
    single = settle_files(rulebook, claims, tmp_path / "one.parquet", partition_rows=partition_rows,
                          histories=histories)
    spread = settle_on_dask(str(rulebook), claims, tmp_path / "dask.parquet", client=client,
                            partition_rows=partition_rows, histories=histories)
    assert spread.partitions == single.partitions > 1
    one, dask = pq.read_table(tmp_path / "one.parquet"), pq.read_table(tmp_path / "dask.parquet")
    assert one.num_rows > 100 and dask.schema == one.schema
    assert dask.equals(one)  # every column, every row, in the same order: amounts to the fen
    assert spread.claims == single.claims and spread.funds == single.funds
    assert spread.rejected == single.rejected > 0
    assert (tmp_path / "dask.parquet.rejects.csv").read_bytes() == (tmp_path / "one.parquet.rejects.csv").read_bytes()
    return one


def test_quzhou_membership_with_histories_on_dask(tmp_path, client):
    histories = corpus(tmp_path, QUZHOU, 200, 11, routed=True)
    one = same_on_dask(tmp_path, client, QUZHOU, histories, partition_rows=150)
    schemes = set(one.column("scheme").to_pylist())
    assert len(schemes) >= 3, schemes  # the comparison reaches several routes, not one


def test_qinhuangdao_highest_of_on_dask(tmp_path, client):
    corpus(tmp_path, QHD, 150, 12, routed=True)
    one = same_on_dask(tmp_path, client, QHD, None, partition_rows=120)
    assert len(set(one.column("settled_by").to_pylist())) == 2  # both former schemes win some claims


def test_tianjin_histories_on_dask(tmp_path, client):
    histories = corpus(tmp_path, TIANJIN, 200, 13, routed=False)
    same_on_dask(tmp_path, client, TIANJIN, histories, partition_rows=150)


def test_a_bad_history_record_is_rejected_the_same_on_dask(tmp_path, client):
    histories = corpus(tmp_path, QUZHOU, 80, 14, routed=True)
    periods = pq.read_table(histories["period"]).to_pydict()
    periods["first_month"][0] = "2020-13-01"  # an impossible date: the record rejected, its member held back
    pq.write_table(pa.table(periods), histories["period"])
    same_on_dask(tmp_path, client, QUZHOU, histories, partition_rows=60)
    rejects = pacsv.read_csv(tmp_path / "dask.parquet.rejects.csv").to_pylist()
    [bad] = [r for r in rejects if r["column"] == "first_month"]
    assert str(bad["row"]) == "1" and bad["member"] == periods["member_id"][0]


def test_settle_scheduler_with_history_on_the_command_line(tmp_path, client):
    """medrules settle --scheduler ADDRESS --history …: the hand-worked Quzhou members of test_batch_routed."""
    import csv

    from typer.testing import CliRunner

    from medrules.cli import app
    from test_batch_routed import CLAIMS, PERIODS
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "periods.csv").write_text(PERIODS, encoding="utf-8")
    out = tmp_path / "r.csv"
    r = CliRunner().invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(out),
                                 "--no-progress", "--history", "period=" + str(tmp_path / "periods.csv"),
                                 "--scheduler", client.scheduler.address])
    assert r.exit_code == 0, r.output
    with open(out, encoding="utf-8") as f:
        rows = {row["claim_id"]: row for row in csv.DictReader(f)}
    # P1, employee scheme, working: (10,000 − 600) × 84% = 7,896.00; P2 in arrears, resident scheme (assumed
    # 60%): 60% × 10,000 = 6,000.00; T has no period: refused, never settled.
    assert (rows["P1"]["settled_by"], rows["P1"]["paid.inpatient_pool"]) == ("quzhou/employee-2012", "7896.00")
    assert (rows["P2"]["settled_by"], rows["P2"]["paid.resident_pool"]) == ("quzhou/residents-2020", "6000.00")
    assert "T1" not in rows


def test_partitions_the_user_made_read_every_record(tmp_path, client):
    """partitioned=True: the claim files are the user's member partitions; each task reads every history
    record and keeps its members'. The same claims settle to the same amounts as the single-machine run."""
    from medrules.batch.distributed import settle_on_dask
    histories = corpus(tmp_path, QUZHOU, 120, 15, routed=True)
    claims = pq.read_table(tmp_path / "claims.parquet")
    ids = claims.column("member.id").to_pylist()
    first = sorted(set(ids))[: len(set(ids)) // 2]
    (tmp_path / "parts").mkdir()
    for k, keep in enumerate(([i in first for i in ids], [i not in first for i in ids])):
        pq.write_table(claims.filter(pa.array(keep)), tmp_path / "parts" / f"p{k}.parquet")
    settle_files(QUZHOU, [tmp_path / "claims.parquet"], tmp_path / "one.parquet", histories=histories)
    spread = settle_on_dask(str(QUZHOU), [tmp_path / "parts"], tmp_path / "dask.parquet", client=client,
                            partitioned=True, histories=histories)
    assert spread.partitions == 2

    def by_claim(path):
        t = pq.read_table(path)
        return t.take(pa.array(sorted(range(t.num_rows), key=lambda i: (t.column("member_id")[i].as_py(),
                                                                        t.column("claim_id")[i].as_py()))))
    one, dask = by_claim(tmp_path / "one.parquet"), by_claim(tmp_path / "dask.parquet")
    assert one.num_rows > 100 and dask.equals(one)
