"""medrules settle on membership rulebooks: each claim routed to the scheme of its date and settled on that
scheme's vector program (Quzhou 2020, 衢医保联发〔2020〕13号 二), or under the better of two former schemes
(Qinhuangdao 2017, 待遇就高不就低). Amounts worked out by hand from the rulebooks' text; explain --results on a
routed claim; the generated corpus reaches every route."""
from __future__ import annotations

import collections
import csv
from pathlib import Path

from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.batch.differential import routed_differences, routed_table
from medrules.batch.generate import random_routed
from medrules.batch.run import Rulebooks, settle_table
from medrules.batch.vmember import compile_membership
from medrules.cli import app

QUZHOU = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
QHD = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"
runner = CliRunner()

CLAIMS = """member_id,employment,category,claim_id,date,kind,compliant_cost
P,flexible,working,P1,2020-03-10,inpatient,10000.00
P,flexible,working,P2,2020-08-10,inpatient,10000.00
P,flexible,working,P3,2020-11-10,outpatient,1000.00
P,flexible,working,P4,2021-01-05,outpatient,200.00
R,employed,,R1,2020-02-10,inpatient,3000.00
S,employed,retired,S1,2020-06-10,inpatient,5000.00
T,employed,,T1,2020-03-01,inpatient,800.00
T,employed,,T2,2020-04-01,inpatient,800.00
"""
PERIODS = """member_id,scheme,first_month,last_month,arrears
P,employee,2019-01-01,2020-05-01,false
P,employee,2020-06-01,,true
R,resident,2020-01-01,,
S,employee,2015-01-01,2020-04-30,false
"""


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def settle_quzhou(tmp_path, out_name="results.csv"):
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "periods.csv").write_text(PERIODS, encoding="utf-8")
    out = tmp_path / out_name
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(out), "--no-progress",
                            "--history", "period=" + str(tmp_path / "periods.csv")])
    assert r.exit_code == 0, r.output
    return out


def test_quzhou_each_claim_under_the_scheme_of_its_date(tmp_path):
    out = settle_quzhou(tmp_path)
    rows = {row["claim_id"]: row for row in read_csv(out)}
    # P, a flexible worker: employee insurance 2019-01 to 2020-05 (paid), then in arrears from 2020-06.
    # P1 (2020-03-10) is inside the paid employee period: the employee scheme (employee-2012), inpatient,
    #   working: (10,000 − 600 deductible) × 84% = 7,896.00; member pays 2,104.00.
    p1 = rows["P1"]
    assert (p1["scheme"], p1["settled_by"]) == ("employee", "quzhou/employee-2012")
    assert p1["paid.inpatient_pool"] == "7896.00" and p1["member_pays"] == "2104.00"
    assert p1["after.inpatient_cost"] == "10000.00" and p1["paid.resident_pool"] == ""
    # P2 (2020-08-10) and P3 (2020-11-10): in the arrears period, before its 7th month (2020-12-01): "欠费期间视作
    #   资助参加" the resident scheme (residents-2020, illustrative rates): inpatient 60% × 10,000 = 6,000.00;
    #   outpatient 50% × 1,000 = 500.00. The employee scheme's funds and totals are empty on these rows.
    for cid, paid in (("P2", "6000.00"), ("P3", "500.00")):
        assert (rows[cid]["scheme"], rows[cid]["settled_by"]) == ("arrears_resident", "quzhou/residents-2020")
        assert rows[cid]["paid.resident_pool"] == paid
        assert rows[cid]["paid.inpatient_pool"] == "" and rows[cid]["after.inpatient_cost"] == ""
    # P4 (2021-01-05): from the 1st of the 7th month of arrears (2020-12-01) the employee insurance is
    #   interrupted ("连续欠缴…六个月"): resident scheme, outpatient 50% × 200 = 100.00.
    assert rows["P4"]["scheme"] == "arrears_ended" and rows["P4"]["paid.resident_pool"] == "100.00"
    # R: enrolled in the resident scheme, no category (an employee fact it never needs): 60% × 3,000 = 1,800.00.
    assert rows["R1"]["scheme"] == "resident" and rows["R1"]["paid.resident_pool"] == "1800.00"
    # S: employee insurance stopped in April 2020: from 1 May the resident scheme ("从停保次月起"):
    #   S1 (2020-06-10) 60% × 5,000 = 3,000.00.
    assert rows["S1"]["scheme"] == "stopped" and rows["S1"]["paid.resident_pool"] == "3000.00"
    # T has no period at all: insured in no scheme on its dates, refused with the reason, never settled.
    assert "T1" not in rows and "T2" not in rows
    rejects = {r["claim"]: r for r in read_csv(Path(str(out) + ".rejects.csv"))}
    assert "insured in no scheme of 'quzhou/membership-2020'" in rejects["T1"]["reason"]
    assert rejects["T1"]["reason"].startswith("on 2020-03-01")


def test_a_scheme_fact_is_needed_only_for_claims_routed_there(tmp_path):
    """R has no category: fine under the resident scheme. The same member in the employee scheme needs it."""
    claims = "member_id,employment,category,claim_id,date,kind,compliant_cost\nE,employed,,E1,2020-03-10,inpatient,100\n"
    periods = "member_id,scheme,first_month,last_month,arrears\nE,employee,2019-01-01,,false\n"
    (tmp_path / "c.csv").write_text(claims, encoding="utf-8")
    (tmp_path / "p.csv").write_text(periods, encoding="utf-8")
    out = tmp_path / "r.csv"
    r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "c.csv"), "--out", str(out), "--no-progress",
                            "--history", "period=" + str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    assert read_csv(out) == []
    [reject] = read_csv(Path(str(out) + ".rejects.csv"))
    assert reject["claim"] == "E1" and reject["column"] == "category" and "missing" in reject["reason"]


def test_explain_a_routed_claim_of_the_results(tmp_path):
    out = settle_quzhou(tmp_path, "results.parquet")
    r = runner.invoke(app, ["explain", str(QUZHOU), "--results", str(out), "--claims", str(tmp_path / "claims.csv"),
                            "--history", "periods=" + str(tmp_path / "periods.csv"), "--claim", "P2", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "quzhou/residents-2020" in r.output and "6,000.00" in r.output
    r = runner.invoke(app, ["explain", str(QUZHOU), "--results", str(out), "--claims", str(tmp_path / "claims.csv"),
                            "--claim", "P2"])
    assert r.exit_code == 1 and "--history period=FILE" in r.output and "Traceback" not in r.output


QHD_CLAIMS = """member_id,former_scheme,claim_id,date,kind,compliant_cost
U,urban_resident,U1,2017-03-01,inpatient,10000.00
U,urban_resident,U2,2017-05-01,inpatient,1000.00
U,urban_resident,U3,2017-07-01,inpatient,2700.00
"""


def test_qinhuangdao_the_better_of_the_former_schemes_claim_by_claim(tmp_path):
    (tmp_path / "c.csv").write_text(QHD_CLAIMS, encoding="utf-8")
    out = tmp_path / "r.csv"
    r = runner.invoke(app, ["settle", str(QHD), str(tmp_path / "c.csv"), "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in read_csv(out)}
    urban, ncms = "compared.qinhuangdao-integration/urban-residents-2016", "compared.qinhuangdao-integration/ncms-2016"
    # Former schemes (ILLUSTRATIVE): urban residents 500 deductible per admission, 60%; 新农合 300 deductible, 55%.
    # U1 10,000: urban (10,000 − 500) × 60% = 5,700.00 against ncms (10,000 − 300) × 55% = 5,335.00: urban.
    assert (rows["U1"][urban], rows["U1"][ncms]) == ("5700.00", "5335.00")
    assert rows["U1"]["settled_by"] == "qinhuangdao-integration/urban-residents-2016"
    assert rows["U1"]["paid.urban_pool"] == "5700.00" and rows["U1"]["paid.ncms_pool"] == ""
    # U2 1,000: urban (1,000 − 500) × 60% = 300.00 against ncms (1,000 − 300) × 55% = 385.00: ncms.
    assert (rows["U2"][urban], rows["U2"][ncms]) == ("300.00", "385.00")
    assert rows["U2"]["settled_by"] == "qinhuangdao-integration/ncms-2016" and rows["U2"]["paid.ncms_pool"] == "385.00"
    # U3 2,700: urban (2,700 − 500) × 60% = 1,320.00 = ncms (2,700 − 300) × 55% = 1,320.00: a tie goes to the
    # first rulebook named (urban residents), as the scalar backend decides it.
    assert (rows["U3"][urban], rows["U3"][ncms]) == ("1320.00", "1320.00")
    assert rows["U3"]["settled_by"] == "qinhuangdao-integration/urban-residents-2016"
    assert {row["scheme"] for row in rows.values()} == {"integrated"}


def test_the_generated_corpus_reaches_every_route_and_agrees():
    """The differential test means something only if claims reach every route: count them, then compare."""
    router = medrules.load(QUZHOU)
    vm = compile_membership(router)
    checked = [t.program.checked for t in vm.targets]
    members = random_routed(router.checked, checked, 1000, seed=5)
    table, history = routed_table(members, [router.checked] + checked)
    results, _ = settle_table(Rulebooks(router.checked.id, (vm,)), table, histories=history)
    routes = collections.Counter(results.column("scheme").to_pylist())
    assert set(routes) == {r.name for r in vm.routes}, routes
    assert routed_differences(router, members) == []


def test_a_history_the_rulebook_does_not_declare_is_refused_with_a_hint(tmp_path):
    (tmp_path / "c.csv").write_text(QHD_CLAIMS, encoding="utf-8")
    base = ["settle", str(QHD), str(tmp_path / "c.csv"), "--out", str(tmp_path / "r.csv"), "--no-progress"]
    # (--scheduler and --ledger settle membership rulebooks: tests/test_batch_dask_routed.py, test_ledger_batch_routed.py)
    r = runner.invoke(app, base + ["--history", "period=x.csv"])
    assert r.exit_code == 1 and "not a history of" in r.output


def test_qinhuangdao_members_in_their_own_file_and_a_claim_explained(tmp_path):
    claims = "member_id,claim_id,date,kind,compliant_cost\nU,U1,2017-03-01,inpatient,10000.00\nN,N1,2017-03-01,inpatient,1000.00\n"
    members = "id,former_scheme\nU,urban_resident\nN,ncms\n"
    (tmp_path / "c.csv").write_text(claims, encoding="utf-8")
    (tmp_path / "m.csv").write_text(members, encoding="utf-8")
    out = tmp_path / "r.parquet"
    r = runner.invoke(app, ["settle", str(QHD), str(tmp_path / "c.csv"), "--members", str(tmp_path / "m.csv"),
                            "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    import pyarrow.parquet as pq
    rows = {row["claim_id"]: row for row in pq.read_table(out).to_pylist()}
    # the same amounts as with one table: U1 urban 5,700.00; N1 ncms (1,000 − 300) × 55% = 385.00
    assert str(rows["U1"]["paid.urban_pool"]) == "5700.00" and rows["U1"]["paid.ncms_pool"] is None
    assert str(rows["N1"]["paid.ncms_pool"]) == "385.00"
    r = runner.invoke(app, ["explain", str(QHD), "--results", str(out), "--claims", str(tmp_path / "c.csv"),
                            "--members", str(tmp_path / "m.csv"), "--claim", "N1", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "qinhuangdao-integration/ncms-2016" in r.output and "385.00" in r.output


def test_histories_across_member_partitions(tmp_path):
    """A run spilled to member partitions reads each member's records in its partition: the same results."""
    from medrules.batch import settle_files
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "periods.csv").write_text(PERIODS, encoding="utf-8")
    whole, parts = tmp_path / "whole.csv", tmp_path / "parts.csv"
    settle_files(QUZHOU, [tmp_path / "claims.csv"], whole, histories={"period": str(tmp_path / "periods.csv")})
    s = settle_files(QUZHOU, [tmp_path / "claims.csv"], parts, histories={"period": str(tmp_path / "periods.csv")},
                     partition_rows=2)
    assert s.partitions > 1
    key = lambda r: r["claim_id"]  # noqa: E731
    assert sorted(read_csv(whole), key=key) == sorted(read_csv(parts), key=key)
    assert len(read_csv(whole)) == 6
