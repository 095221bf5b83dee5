"""medrules settle: claim files in every format, validation and rejects, policy years, layers, partitions,
the Python API; amounts worked out by hand or compared with the scalar backend (medrules run / explain)."""
from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.batch import settle_files, settle_table
from medrules.batch.generate import as_rows, random_members
from medrules.cli import app
from medrules.facts import load_facts
from medrules.versions import load_set, settle_set
from medrules.source import SourceFile

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
runner = CliRunner()

CLAIMS = """member_id,category,claim_id,date,kind,institution,compliant_cost,self_paid
M1,working,C1,2012-03-01,inpatient,,50600,
M1,working,C2,2012-06-01,inpatient,,170000.00,0
M1,working,C3,2013-01-10,outpatient,grassroots_zero_markup,1000,0
M2,retired,C4,2012-02-30,outpatient,,100,0
M2,retired,C5,2012-03-01,outpatient,,100,0
M3,retired,C6,2012-03-01,outpatient,,-5,0
M4,retired,C7,2012-03-01,dental,,5,0
M5,retired,C12,2012-03-01,outpatient,,5,0
M5,retired,C12,2012-04-01,outpatient,,5,0
M6,retired,C8,2011-03-01,outpatient,,5,0
M7,retired,C9,2012-05-01,outpatient,,1000.5,0
M8,,C10,2012-05-01,outpatient,,1000,0
M9,retired,C11,2012-05-01,outpatient,,12.345,0
"""


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_settle_csv_by_hand_with_rejects(tmp_path):
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    out = tmp_path / "results.csv"
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in read_csv(out)}
    assert set(rows) == {"C1", "C2", "C3", "C9"}
    # The rulebook's reading: 160,000 is a point on the year's inpatient cost (cap_axis = cost).
    # C1: (50,600 − 600 deductible) × 84% = 42,000.00; member 50,600 − 42,000 = 8,600.00
    # C2: axis 50,600 → 220,600, after the 600 deductible 51,200 → 220,600, limited at 160,000:
    #   (60,000 − 51,200) × 84% = 7,392.00 + (160,000 − 60,000) × 87% = 87,000.00 → 94,392.00;
    #   the cost above 160,000: (220,600 − 160,000) × 90% = 54,540.00 by the critical-illness layer;
    #   member 170,000 − 94,392 − 54,540 = 21,068.00; the year's inpatient payments 42,000 + 94,392 = 136,392.00
    assert rows["C1"]["paid.inpatient_pool"] == "42000.00" and rows["C1"]["member_pays"] == "8600.00"
    assert rows["C2"]["paid.inpatient_pool"] == "94392.00" and rows["C2"]["paid.critical_illness"] == "54540.00"
    assert rows["C2"]["member_pays"] == "21068.00"
    assert rows["C2"]["after.inpatient_paid"] == "136392.00" and rows["C2"]["year"] == "2012"
    # C3 in 2013: (1,000 − 300) × 55% (grassroots) = 385.00; the year's accumulators start again
    assert rows["C3"]["paid.outpatient_pool"] == "385.00" and rows["C3"]["after.inpatient_cost"] == "0.00"
    # C9, retired: (1,000.50 − 300) × (50% + 5 points) = 385.275 → 385.28 (half up)
    assert rows["C9"]["paid.outpatient_pool"] == "385.28" and rows["C9"]["member_pays"] == "615.22"
    rejects = {(row["row"], row["column"]): row["reason"] for row in read_csv(tmp_path / "results.csv.rejects.csv")}
    assert rejects[("4", "date")].startswith("not a calendar date")
    assert rejects[("5", "")].startswith("held back")  # M2's other claim
    assert rejects[("6", "compliant_cost")] == "an amount cannot be negative"
    assert rejects[("7", "kind")].startswith("not one of the visit_kind values")
    assert rejects[("8", "")].startswith("held back")
    assert rejects[("9", "claim_id")].startswith("duplicate claim id")  # M5's C12 again
    assert rejects[("10", "date")].startswith("dated outside every version in force")
    assert rejects[("12", "category")].startswith("missing")
    assert rejects[("13", "compliant_cost")].startswith("not an amount of yuan")
    assert len(rejects) == 9
    assert "4 claims of 2 members" in r.output and "9 rows rejected" in r.output


def test_settle_by_another_reading(tmp_path):
    """'--reading cap_axis=payments': 160,000 limits the inpatient fund's payments in a year."""
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    out = tmp_path / "results.csv"
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(out), "--no-progress",
                            "--reading", "cap_axis=payments"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in read_csv(out)}
    # C1: (50,600 − 600) × 84% = 42,000.00 either way. C2 on the axis 51,200 → 220,600 (after the deductible):
    # (60,000 − 51,200) × 84% = 7,392.00 + (220,600 − 60,000) × 87% = 139,722.00 = 147,114.00, but the
    # 160,000 payment cap leaves 160,000 − 42,000 = 118,000.00. The room 118,000 − 7,392 = 110,608 in the 87% band
    # covers 110,608 / 0.87 = 127,135.6321… of cost; above it 160,600 − 127,135.6321… = 33,464.37, × 90% = 30,117.93
    assert rows["C1"]["paid.inpatient_pool"] == "42000.00"
    assert rows["C2"]["paid.inpatient_pool"] == "118000.00" and rows["C2"]["paid.critical_illness"] == "30117.93"
    assert rows["C2"]["after.inpatient_paid"] == "160000.00"
    for extra, words in ((["--reading", "cap_axis=both"], "not an alternative of reading 'cap_axis'"),
                         (["--reading", "cap_axis=payments", "--ledger", f"sqlite:///{tmp_path / 'l.sqlite'}"],
                          "not available with '--ledger'")):
        r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out",
                                str(tmp_path / "x.csv"), "--no-progress", *extra])
        assert r.exit_code == 1 and words in r.output and "Traceback" not in r.output


def test_two_tables_parquet_and_column_mapping(tmp_path):
    pq.write_table(pa.table({"insured": ["A", "B"], "category": ["retired", "working"]}), tmp_path / "members.parquet")
    pq.write_table(pa.table({
        "insured": ["A", "B", "B", "X"], "claim_id": ["1", "2", "3", "4"],
        "date": pa.array(["2012-04-01", "2012-04-01", "2012-05-01", "2012-05-01"]).cast(pa.date32()),
        "kind": ["outpatient"] * 4,
        "cost": pa.array([Decimal("1300.00"), Decimal("500"), Decimal("2000"), Decimal("1")], pa.decimal128(12, 2))}),
        tmp_path / "claims.parquet")
    out = tmp_path / "out.parquet"
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.parquet"), "--members",
                            str(tmp_path / "members.parquet"), "--column", "member.id=insured", "--column",
                            "claim.compliant_cost=cost", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in pq.read_table(out).to_pylist()}
    # A, retired: (1,300 − 300) × (50% + 5 points) = 550.00; B, working: (500 − 300) × 50% = 100.00, then the
    # deductible is used up and the year's cost (2,500) stays under the 3,000 cost cap: 2,000 × 50% = 1,000.00
    assert rows["1"]["paid.outpatient_pool"] == Decimal("550.00")
    assert rows["2"]["paid.outpatient_pool"] == Decimal("100.00")
    assert rows["3"]["paid.outpatient_pool"] == Decimal("1000.00")
    rejects = read_csv(tmp_path / "out.parquet.rejects.csv")
    assert [(x["claim"], x["reason"]) for x in rejects] == [("4", "no such member in the members file")]


def test_json_facts_folder_gives_what_run_and_explain_give(tmp_path):
    program = medrules.load(QUZHOU)
    examples = sorted((ROOT / "examples").glob("quzhou-employee-2012*.json"))
    assert examples
    out = tmp_path / "r.parquet"
    summary = settle_files(QUZHOU, examples, out)
    rows = {(r["member_id"], r["claim_id"]): r for r in pq.read_table(out).to_pylist()}
    checked = 0
    for path in examples:
        facts = load_facts(path, program.checked)
        traced = medrules.settle(program, facts, trace=True)  # what medrules explain shows
        for c in traced.claims:
            row = rows[(facts.member_id, c.id)]
            for f in c.funds:
                assert row[f"paid.{f.fund}"] == f.paid
            paid_step = [s.values["amount"] for s in c.steps if s.kind == "paid"]
            assert sum(paid_step, Decimal(0)) == c.funds_paid == sum(row[f"paid.{f.fund}"] for f in c.funds)
            assert row["member_pays"] == c.member_pays
            checked += 1
    assert checked == summary.claims > 0


def test_policy_year_folder_settles_each_claim_under_its_version(tmp_path):
    folder = ROOT / "rulebooks" / "pingyang"
    rs = load_set(folder)
    members = []
    for v in rs.versions:
        members += random_members(v.checked, 40, seed=5)
    # one claim file spanning the versions: each member's claims under the version in force on its date
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    for i, (member, claims) in enumerate(members):
        member = dict(member, id=f"P{i}")
        doc = {"member": _json_values(member), "claims": [_json_values(dict(c, id=f"P{i}-{j}"))
                                                          for j, c in enumerate(claims)]}
        (facts_dir / f"P{i}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "r.parquet"
    settle_files(folder, [facts_dir], out)
    rows = {r["claim_id"]: r for r in pq.read_table(out).to_pylist()}
    compared = 0
    for path in sorted(facts_dir.glob("*.json")):
        settlement, used = settle_set(rs, SourceFile.read(path))
        for c in settlement.claims:
            assert rows[c.id]["rulebook"] == used[c.id].checked.id
            for f in c.funds:
                assert rows[c.id][f"paid.{f.fund}"] == f.paid, (c.id, f.fund)
            compared += 1
    assert compared == len(rows) > 100


def _json_values(record: dict) -> dict:
    from medrules.batch.generate import text_of
    out = {}
    for k, v in record.items():
        if v is None:
            continue
        out[k] = sorted(v) if isinstance(v, frozenset) else v if isinstance(v, (bool, int)) else text_of(v)
    return out


@pytest.mark.parametrize("name", ["quzhou/employee-mutual-aid-2012.mr", "veterans/subsidy.mr",
                                  "chongqing/residents-2017.mr"])
def test_claim_table_of_text_matches_scalar(name):
    """Generated claims written as text (as in a CSV), read and validated column-wise, settled on the vector
    backend: the same amounts as the scalar backend on the same facts (layered rulebooks included)."""
    program = medrules.load(ROOT / "rulebooks" / name)
    members = random_members(program.checked, 300, seed=11)
    results, rejects = settle_table(program, as_rows(program.checked, members))
    assert rejects.num_rows == 0
    rows = {r["claim_id"]: r for r in results.to_pylist()}
    from medrules.batch.differential import as_facts
    for member, claims in members:
        for c in medrules.settle(program, as_facts(member, claims), in_force_only=False).claims:
            for f in c.funds:
                assert rows[c.id][f"paid.{f.fund}"] == f.paid
            assert rows[c.id]["member_pays"] == c.member_pays


def test_partitions_spilled_to_disk_give_the_same_results(tmp_path):
    program = medrules.load(QUZHOU)
    members = random_members(program.checked, 400, seed=3)
    table = pa.table(as_rows(program.checked, members))
    pq.write_table(table, tmp_path / "claims.parquet")
    settle_files(QUZHOU, [tmp_path / "claims.parquet"], tmp_path / "one.parquet")
    summary = settle_files(QUZHOU, [tmp_path / "claims.parquet"], tmp_path / "many.parquet", partition_rows=300)
    assert summary.partitions > 3

    def key(t):
        return sorted(t.to_pylist(), key=lambda r: r["claim_id"])
    assert key(pq.read_table(tmp_path / "many.parquet")) == key(pq.read_table(tmp_path / "one.parquet"))


def test_python_api_accepts_pandas():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"member_id": ["M1"], "category": ["retired"], "claim_id": ["C1"], "date": ["2012-05-01"],
                          "kind": ["outpatient"], "compliant_cost": ["1000.50"]})
    results, rejects = settle_table(QUZHOU, frame)
    # (1,000.50 − 300) × 55% = 385.275 → 385.28
    assert results.column("paid.outpatient_pool").to_pylist() == [Decimal("385.28")] and rejects.num_rows == 0


def test_floats_are_refused_for_money(tmp_path):
    pq.write_table(pa.table({"member_id": ["M"], "category": ["retired"], "date": ["2012-05-01"],
                             "kind": ["outpatient"], "compliant_cost": [1000.5]}), tmp_path / "f.parquet")
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "f.parquet"), "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 1 and "floating-point" in r.output and "Traceback" not in r.output


def test_unknown_fact_in_mapping_is_a_located_error(tmp_path):
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(tmp_path / "o.csv"),
                            "--column", "claim.compliant_cots=cost"])
    assert r.exit_code == 1 and "claim.compliant_cost" in r.output  # did you mean …


def test_json_lines_with_a_mapping_file(tmp_path):
    lines = [{"insured": "A", "category": "working", "claim_id": "1", "date": "2012-04-01", "kind": "outpatient",
              "cost": "1300.00"},
             {"insured": "A", "category": "working", "claim_id": "2", "date": "2012-05-01", "kind": "outpatient",
              "cost": "100"}]
    (tmp_path / "claims.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    (tmp_path / "map.json").write_text(json.dumps({"member.id": "insured", "claim.compliant_cost": "cost"}))
    out = tmp_path / "r.csv"
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.jsonl"), "--columns",
                            str(tmp_path / "map.json"), "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    # working member: (1,300 − 300) × 50% = 500.00; then 100 × 50% = 50.00 (deductible used up)
    assert [row["paid.outpatient_pool"] for row in read_csv(out)] == ["500.00", "50.00"]
    assert [row["after.outpatient_paid"] for row in read_csv(out)] == ["500.00", "550.00"]
