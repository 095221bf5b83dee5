"""medrules settle on a rulebook with histories (Tianjin continuity, provision N): the records given as a table
(--history NAME=FILE) or nested in facts files, validated with rejects; amounts worked out by hand from the
rulebook's text, and the same members through the scalar backend (medrules run)."""
from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.batch.differential import differences, settle_vector
from medrules.batch.generate import random_members
from medrules.cli import app

TIANJIN = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"
runner = CliRunner()

CLAIMS = """member_id,insured_as,joined_on,claim_id,date,compliant_cost
A,employee,2015-01-10,A1,2016-02-15,1000.00
A,employee,2015-01-10,A2,2016-06-15,500.00
A,employee,2015-01-10,A3,2016-09-01,300.00
B,individual,2016-01-05,B1,2016-05-20,800.00
B,individual,2016-01-05,B2,2016-07-01,800.00
C,employee,2015-01-01,C1,2016-03-01,100.00
D,employee,2015-01-01,D1,2016-03-01,250.50
"""
GAPS = """member_id,first_month,last_month,paid_on
A,2016-02-01,2016-03-31,2017-03-31
A,2016-06-01,2016-10-31,
C,2016-02-01,2016-13-01,
"""


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def settle(tmp_path, *extra) -> tuple[object, dict, list]:
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "gaps.csv").write_text(GAPS, encoding="utf-8")
    out = tmp_path / "results.csv"
    r = runner.invoke(app, ["settle", str(TIANJIN), str(tmp_path / "claims.csv"), "--out", str(out),
                            "--no-progress", *extra])
    if r.exit_code:
        return r, {}, []
    return r, {row["claim_id"]: row for row in read_csv(out)}, read_csv(Path(str(out) + ".rejects.csv"))


def test_histories_from_a_table_by_hand(tmp_path):
    r, rows, rejects = settle(tmp_path, "--history", "interruption=" + str(tmp_path / "gaps.csv"))
    assert r.exit_code == 0, r.output
    # A, an employee, two interruptions:
    #   Feb–Mar 2016: 2 months ≤ 3, paid 2017-03-31 ≤ month_end(2016-01-01 + 14 months) = 2017-03-31: counts
    #     as continuous, so A1 (2016-02-15, inside it) is reimbursed at the illustrative 100%: 1,000.00;
    #   Jun–Oct 2016: 5 months > 3 (and never paid): A2 (06-15) and A3 (09-01) fall inside it: excluded, 0.
    assert rows["A1"]["paid.reimbursement"] == "1000.00"
    assert rows["A2"]["paid.reimbursement"] == "0.00" and rows["A2"]["member_pays"] == "500.00"
    assert rows["A3"]["paid.reimbursement"] == "0.00"
    # B, individually insured, joined January 2016, no interruption: covered once six months are complete:
    #   B1 (May): months_between(Jan, May) = 4 < 6 → excluded; B2 (1 July): 6 → reimbursed, 800.00.
    assert rows["B1"]["paid.reimbursement"] == "0.00"
    assert rows["B2"]["paid.reimbursement"] == "800.00"
    # D has no record at all: an empty history, nothing excludes D1: 250.50.
    assert rows["D1"]["paid.reimbursement"] == "250.50"
    # C's record has an impossible month (2016-13-01): the record is rejected with its file, row and column,
    # and C's claim is held back, never settled with a history missing a record.
    assert "C1" not in rows
    bad = [x for x in rejects if x["file"].endswith("gaps.csv")]
    assert [(x["row"], x["member"], x["column"], x["reason"]) for x in bad] == [
        ("3", "C", "last_month", "not a calendar date")]
    held = [x for x in rejects if x["claim"] == "C1"]
    assert held and "history 'interruption'" in held[0]["reason"]


def test_the_batch_agrees_with_medrules_run(tmp_path):
    """The same members as facts files (histories nested), through the scalar backend, pay the same."""
    r, rows, _ = settle(tmp_path, "--history", "interruptions=" + str(tmp_path / "gaps.csv"))
    assert r.exit_code == 0, r.output
    program = medrules.load(TIANJIN)
    facts = {"member": {"id": "A", "insured_as": "employee", "joined_on": "2015-01-10"},
             "interruptions": [{"first_month": "2016-02-01", "last_month": "2016-03-31", "paid_on": "2017-03-31"},
                               {"first_month": "2016-06-01", "last_month": "2016-10-31"}],
             "claims": [{"id": "A1", "date": "2016-02-15", "compliant_cost": "1000.00"},
                        {"id": "A2", "date": "2016-06-15", "compliant_cost": "500.00"},
                        {"id": "A3", "date": "2016-09-01", "compliant_cost": "300.00"}]}
    settled = medrules.settle(program, medrules.load_facts(facts, program))
    for c in settled.claims:
        assert f"{c.funds[0].paid:.2f}" == rows[c.id]["paid.reimbursement"]


def test_histories_nested_in_facts_files(tmp_path):
    facts = {"member": {"id": "A", "insured_as": "employee", "joined_on": "2015-01-10"},
             "interruptions": [{"first_month": "2016-06-01", "last_month": "2016-10-31"}],
             "claims": [{"id": "A1", "date": "2016-02-15", "compliant_cost": "1000.00"},
                        {"id": "A2", "date": "2016-06-15", "compliant_cost": "500.00"}]}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    out = tmp_path / "results.csv"
    r = runner.invoke(app, ["settle", str(TIANJIN), str(path), "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in read_csv(out)}
    # A1 (February) is before the Jun–Oct interruption: 1,000.00; A2 (06-15) inside it, 5 months > 3: 0.
    assert rows["A1"]["paid.reimbursement"] == "1000.00"
    assert rows["A2"]["paid.reimbursement"] == "0.00"


def test_a_rulebook_with_histories_needs_their_records(tmp_path):
    r, _, _ = settle(tmp_path)
    assert r.exit_code == 1
    assert "interruptions" in r.output and "--history interruption=FILE" in r.output
    assert "Traceback" not in r.output
    r, _, _ = settle(tmp_path, "--history", "interuption=" + str(tmp_path / "gaps.csv"))
    assert r.exit_code == 1 and "did you mean 'interruption'" in r.output


def test_a_history_file_without_member_ids(tmp_path):
    (tmp_path / "nomember.csv").write_text("first_month,last_month\n2016-01-01,2016-02-01\n", encoding="utf-8")
    r, _, _ = settle(tmp_path, "--history", "interruption=" + str(tmp_path / "nomember.csv"))
    assert r.exit_code == 1 and "no member id column" in r.output


def test_vector_equals_scalar_with_long_histories():
    """Up to 4 records a member (generated), every path: the record-by-record loop against the scalar one."""
    program = medrules.load(TIANJIN)
    members = random_members(program.checked, 600, seed=41)
    assert sum(len(m[2]["interruption"]) for m in members) > 600
    for path in (None, "waves", "layer waves"):
        assert differences(program, members, path=path) == []


# ---------------------------------------------------------------- every function over a history, generated
from test_histories import HEAD  # noqa: E402 - the same rulebook header as the scalar history tests
BASES = [
    "count(payment, given(payment.paid_on)) * 100 yuan",
    "sum(payment, payment.amount, true)",
    "sum(payment, payment.amount, given(payment.paid_on) and payment.paid_on <= month_end(payment.month + 1 months))",
    "months_between(earliest(payment, payment.month, not given(payment.paid_on), claim.date), claim.date) * 1 yuan",
    "{ 10 yuan when every(payment, given(payment.paid_on)), otherwise 0 yuan }",
    # short-circuits: 'any' stops at a member's first record that holds, 'every' at the first that fails, so
    # a later record's missing paid_on is read (an error, the member refused) only when the loop gets there
    "{ 10 yuan when any(payment, payment.amount > 120 yuan or payment.paid_on <= claim.date), otherwise 0 yuan }",
    "{ 10 yuan when every(payment, payment.amount < 50 yuan and payment.paid_on <= claim.date), otherwise 0 yuan }",
    # latest reads its value only where the condition holds (paid_on given there), else the claim's date
    "months_between(latest(payment, payment.paid_on, given(payment.paid_on) and payment.amount >= 100 yuan,"
    " claim.date), claim.date) * 1 yuan + sum(payment, payment.amount, payment.month <= claim.date)",
]


def _history_program(base: str):
    from medrules.source import SourceFile
    body = f'fund f {{ base {base} rate 100% assumed "t" }}\n'
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("t.mr", HEAD + body))))


@pytest.mark.parametrize("base", BASES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), size=st.integers(1, 12), claims=st.integers(1, 6))
def test_every_history_function_equals_the_scalar_backend(base, seed, size, claims):
    program = _history_program(base)
    members = random_members(program.checked, size, seed=seed, max_claims=claims)
    for path in (None, "waves"):
        assert differences(program, members, path=path) == []


def test_a_missing_field_is_an_error_only_where_the_scalar_loop_reads_it():
    """by hand: payments [150 yuan with no paid_on, 100 yuan with no paid_on]; 'any(amount > 120 or …)' holds
    at the first record (150 > 120) and never reads the second's paid_on: 10 yuan. 'every(amount < 50 and …)'
    fails at the first record (150 ≥ 50) without reading paid_on: 0 yuan. 'latest(paid_on, true, …)' reads
    paid_on of the first record, which is not given: the member is refused by both backends."""
    member = {"id": "M"}
    claim = [{"id": "C1", "date": dt.date(2020, 6, 1), "cost": Decimal("100.00")}]
    records = {"payment": [{"month": dt.date(2020, 1, 1), "amount": Decimal(150), "paid_on": None},
                           {"month": dt.date(2020, 2, 1), "amount": Decimal(100), "paid_on": None}]}
    for base, expected in ((BASES[5], 1000), (BASES[6], 0), ("months_between(latest(payment, payment.paid_on, "
                                                             "true, claim.date), claim.date) * 1 yuan", None)):
        program = _history_program(base)
        _, r = settle_vector(program, [(member, claim, records)])
        assert differences(program, [(member, claim, records)]) == []
        if expected is None:
            assert r.error[0] and "paid_on" in r.error[0]
        else:
            assert r.error[0] == "" and r.funds["f"][0] == expected  # in fen


def test_explain_a_claim_of_the_results_with_its_history(tmp_path):
    settle(tmp_path, "--history", "interruption=" + str(tmp_path / "gaps.csv"))
    out = tmp_path / "results.csv"
    r = runner.invoke(app, ["explain", str(TIANJIN), "--results", str(out), "--claims", str(tmp_path / "claims.csv"),
                            "--history", "interruptions=" + str(tmp_path / "gaps.csv"), "--claim", "A1", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "1,000.00" in r.output  # A1: inside an interruption of 2 months paid up in time: reimbursed in full
    r = runner.invoke(app, ["explain", str(TIANJIN), "--results", str(out), "--claims", str(tmp_path / "claims.csv"),
                            "--claim", "A1"])
    assert r.exit_code == 1 and "--history interruption=FILE" in r.output


def test_a_header_only_history_file_means_no_member_has_records(tmp_path):
    (tmp_path / "none.csv").write_text("member_id,first_month,last_month,paid_on\n", encoding="utf-8")
    r, rows, _ = settle(tmp_path, "--history", "interruption=" + str(tmp_path / "none.csv"))
    assert r.exit_code == 0, r.output
    # no interruption: A's claims are all reimbursed (1,000.00, 500.00, 300.00); B1 still waits (4 months < 6)
    assert [rows[c]["paid.reimbursement"] for c in ("A1", "A2", "A3", "B1", "C1")] == [
        "1000.00", "500.00", "300.00", "0.00", "100.00"]
