"""medrules explain --results: a claim of a batch's results explained on the traced scalar backend, from
the same plan and the member's rows of the claims input, its amounts checked against the results row."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
runner = CliRunner()

# M1 is the member of the hand-worked claims; M2's claim is rejected (no such date); M3 is another member
CLAIMS = """member_id,category,claim_id,date,kind,institution,compliant_cost,self_paid
M1,working,C1,2012-03-01,inpatient,,50600,
M3,retired,C7,2012-04-01,outpatient,,1000.50,0
M1,working,C2,2012-06-01,inpatient,,170000.00,0
M2,retired,C4,2012-02-30,outpatient,,100,0
"""


@pytest.fixture
def batch(tmp_path):
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")

    def settle(out: str, *options: str) -> Path:
        r = runner.invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out", str(tmp_path / out),
                                "--no-progress", *options])
        assert r.exit_code == 0, r.output
        return tmp_path / out
    return tmp_path, settle


def explain(tmp_path, results: Path, claim: str, *options: str):
    return runner.invoke(app, ["explain", str(QUZHOU), "--results", str(results), "--claims",
                               str(tmp_path / "claims.csv"), "--claim", claim, *options])


def paid(doc) -> dict:
    (claim,) = doc["claims"]
    return {f["fund"]: f["paid"] for f in claim["funds"]} | {"member pays": claim["member_pays"]}


def test_a_claim_of_the_results_explained_by_hand(batch):
    tmp_path, settle = batch
    results = settle("results.csv")
    rows = {row["claim_id"]: row for row in csv.DictReader(results.open(encoding="utf-8"))}
    assert len(rows["C2"]["plan"]) == 64  # the plan's SHA-256, on every row
    r = explain(tmp_path, results, "C2", "--json")
    assert r.exit_code == 0, r.output
    # The rulebook's reading (cap_axis = cost). C1 before it: (50,600 − 600) × 84% = 42,000.00.
    # C2: the year's axis 50,600 → 220,600; after the 600 deductible 51,200 → 220,600, ended at 160,000:
    #   (60,000 − 51,200) × 84% = 7,392.00 and (160,000 − 60,000) × 87% = 87,000.00: 94,392.00;
    #   the critical-illness layer: (220,600 − 160,000) × 90% = 54,540.00;
    #   the member: 170,000 − 94,392 − 54,540 = 21,068.00
    assert paid(json.loads(r.output)) == {"outpatient_pool": "0.00", "inpatient_pool": "94392.00",
                                          "critical_illness": "54540.00", "member pays": "21068.00"}
    citizen = explain(tmp_path, results, "C2", "--view", "citizen", "--lang", "en")
    assert citizen.exit_code == 0 and "You pay 21,068.00 yuan" in citizen.output


def test_parquet_results_under_another_reading(batch):
    tmp_path, settle = batch
    results = settle("payments.parquet", "--reading", "cap_axis=payments")
    assert pq.read_table(results).column_names[5] == "plan"
    r = explain(tmp_path, results, "C2", "--json", "--reading", "cap_axis=payments")
    assert r.exit_code == 0, r.output
    # cap_axis = payments: the bands run to the claim's end, 220,600:
    #   (60,000 − 51,200) × 84% = 7,392.00 and (220,600 − 60,000) × 87% = 139,722.00: 147,114.00,
    #   but only 160,000 − 42,000 = 118,000.00 is left of the yearly payment cap: it pays 118,000.00;
    #   the cost beyond that point: 7,392 of the room goes to band 1, 110,608 / 0.87 = 127,135.632… of
    #   band 2, so 160,600 − 127,135.632… = 33,464.367… → 33,464.37; × 90% = 30,117.933 → 30,117.93;
    #   the member: 170,000 − 118,000 − 30,117.93 = 21,882.07
    assert paid(json.loads(r.output)) == {"outpatient_pool": "0.00", "inpatient_pool": "118000.00",
                                          "critical_illness": "30117.93", "member pays": "21882.07"}


def test_results_of_another_plan_are_refused(batch):
    tmp_path, settle = batch
    results = settle("payments.parquet", "--reading", "cap_axis=payments")
    r = explain(tmp_path, results, "C2")  # the rulebook's own reading: another plan (rows by member and date)
    assert r.exit_code == 1
    assert "payments.parquet row 2: claim 'C2' was settled by another plan of 'quzhou/employee-2012'" in r.output
    assert "--reading" in r.output


def test_amounts_that_differ_from_the_results_are_a_located_error(batch):
    tmp_path, settle = batch
    results = settle("results.csv")
    text = results.read_text(encoding="utf-8").replace(",94392.00,", ",94392.01,")
    (tmp_path / "edited.csv").write_text(text, encoding="utf-8")
    r = explain(tmp_path, tmp_path / "edited.csv", "C2")
    assert r.exit_code == 1
    assert ("edited.csv row 2: claim 'C2' does not settle to the amounts of the results under the same plan: "
            "paid.inpatient_pool is 94392.01 in the results, 94392.00 when settled again") in r.output


def test_a_claim_not_in_the_results(batch):
    tmp_path, settle = batch
    results = settle("results.csv")
    r = explain(tmp_path, results, "C4")
    assert r.exit_code == 1 and "there is no claim 'C4' in" in r.output
    assert "the batch rejected it" in r.output and "not a calendar date" in r.output  # from the rejects file
    r = explain(tmp_path, results, "C99")
    assert r.exit_code == 1 and "there is no claim 'C99' in" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("out", ["results.parquet", "results.csv"])
def test_a_claim_of_a_batch_that_settled_none(batch, out):
    # every row rejected (M2's 2012-02-30 alone): the results have no rows; the claim's rejection is said (it was
    # an 'io' error quoting pyarrow: "Must pass at least one table")
    tmp_path, settle = batch
    (tmp_path / "claims.csv").write_text(CLAIMS.splitlines()[0] + "\n" + CLAIMS.splitlines()[-1] + "\n",
                                         encoding="utf-8")
    results = settle(out)
    r = explain(tmp_path, results, "C4")
    assert r.exit_code == 1 and "there is no claim 'C4' in" in r.output and "Traceback" not in r.output
    assert "the batch rejected it" in r.output and "not a calendar date" in r.output


def test_the_request_must_be_complete(batch):
    tmp_path, settle = batch
    results = settle("results.csv")
    r = runner.invoke(app, ["explain", str(QUZHOU), "--results", str(results), "--claim", "C2"])
    assert r.exit_code == 1 and "--results needs the claims input the batch settled" in r.output
    r = runner.invoke(app, ["explain", str(QUZHOU), "--results", str(results), "--claims",
                            str(tmp_path / "claims.csv")])
    assert r.exit_code == 1 and "give --claim ID" in r.output
    r = runner.invoke(app, ["explain", str(QUZHOU)])
    assert r.exit_code == 1 and "give a facts file, or --results and --claims" in r.output


def test_results_of_another_rulebook_are_refused(batch):
    tmp_path, settle = batch
    results = settle("results.csv")
    other = ROOT / "rulebooks" / "quzhou" / "employee-mutual-aid-2012.mr"
    r = runner.invoke(app, ["explain", str(other), "--results", str(results), "--claims",
                            str(tmp_path / "claims.csv"), "--claim", "C2"])
    assert r.exit_code == 1
    assert "claim 'C2' was settled by rulebook 'quzhou/employee-2012'" in r.output


def test_a_claim_of_the_results_says_what_the_other_reading_would_have_paid(batch):
    # the same claim as above, under the rulebook's reading (cap_axis = cost): 94,392.00 + 54,540.00 = 148,932.00
    # by the funds; under the other reading (cap_axis = payments, worked in the test above) 118,000.00 +
    # 30,117.93 = 148,117.93 by the funds and 21,882.07 by the member: the funds −814.07, the member +814.07
    tmp_path, settle = batch
    results = settle("results.csv")
    r = explain(tmp_path, results, "C2", "--json")
    assert r.exit_code == 0, r.output
    (claim,) = json.loads(r.output)["claims"]
    (note,) = claim["readings"]
    assert (note["reading"], note["chosen"], note["alternative"]) == ("cap_axis", "cost", "payments")
    assert note["would_pay"]["funds"] == {"outpatient_pool": "0.00", "inpatient_pool": "118000.00",
                                          "critical_illness": "30117.93"}
    assert note["would_pay"]["member_pays"] == "21882.07"
    assert note["difference"]["funds_paid"] == "-814.07"
