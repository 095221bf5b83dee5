"""``medrules ledger settle | history | explain | export`` as a clerk uses them (SQLite and PostgreSQL).

Amounts are the hand-computed ones of examples/quzhou-employee-2012-inpatient-year.json (see
tests/test_ledger.py for the rule): C1 (50,000 − 600) × 84% = 41,496.00; the member pays 8,504.00.
"""
from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.ledger import Ledger

RULEBOOK = "rulebooks/quzhou/employee-2012"
INPATIENT = "examples/quzhou-employee-2012-inpatient-year.json"
OUTPATIENT = "examples/quzhou-employee-2012-retiree-outpatient.json"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def sqlite_url(tmp_path):
    """The commands are the same on both databases (tests/test_ledger.py runs the API on both); one test here
    runs on PostgreSQL too."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_settle_records_once_and_reports_what_it_recorded(sqlite_url):
    r = invoke("ledger", "settle", RULEBOOK, INPATIENT, OUTPATIENT, "--ledger", sqlite_url, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "41,496.00" in r.output and "7 decisions recorded, 0 unchanged" in r.output
    r = invoke("ledger", "settle", RULEBOOK, INPATIENT, "--ledger", sqlite_url, "--json")
    assert r.exit_code == 0, r.output
    [member] = json.loads(r.output)["members"]
    c1 = member[0]
    assert (c1["claim"], c1["sequence"], c1["recorded_now"]) == ("C1", 1, False)
    assert {f["fund"]: f["paid"] for f in c1["funds"]}["inpatient_pool"] == "41496.00"
    assert c1["member_pays"] == "8504.00" and c1["facts"]["claim"]["compliant_cost"] == "50000.00"


def test_a_correction_shows_the_amount_to_recover_and_why(ledger_url, tmp_path):
    invoke("ledger", "settle", RULEBOOK, INPATIENT, "--ledger", ledger_url)
    doc = json.loads((ROOT / INPATIENT).read_text(encoding="utf-8"))
    doc["claims"] = [dict(doc["claims"][0], compliant_cost="40000.00")]
    (tmp_path / "c.json").write_text(json.dumps(doc), encoding="utf-8")
    r = invoke("ledger", "settle", RULEBOOK, tmp_path / "c.json", "--ledger", ledger_url, "--lang", "en")
    assert r.exit_code == 0, r.output
    # 10,000 less cost at 84%: 8,400.00 to recover from the inpatient fund, caused by the corrected fact
    assert "to recover 8,400.00 yuan · inpatient_pool · because: claim.compliant_cost 50000.00 → 40000.00" in r.output
    r = invoke("ledger", "history", "--member", "QZ-W-0005", "--claim", "C1", "--ledger", ledger_url, "--json")
    assert [d["sequence"] for d in json.loads(r.output)] == [1, 2]
    r = invoke("ledger", "explain", "C1", "--ledger", ledger_url)  # a claim: its latest decision
    assert r.exit_code == 0, r.output
    assert "追回 8,400.00 元" in r.output and "33,096.00" in r.output  # 39,400 × 84%


def test_explain_a_stored_decision_in_every_format(sqlite_url):
    invoke("ledger", "settle", RULEBOOK, INPATIENT, "--ledger", sqlite_url)
    with Ledger.open(sqlite_url) as led:
        first = led.member_history("QZ-W-0005")[0]
        stored = led.explanation(first.id, "en")
    r = invoke("ledger", "explain", first.id, "--format", "json", "--lang", "en", "--ledger", sqlite_url)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == stored
    r = invoke("ledger", "explain", first.id, "--lang", "en", "--ledger", sqlite_url)
    assert "(50,000.00 − 600.00) × 84% = 49,400.00 × 84% = 41,496.00" in r.output
    assert "衢政发〔2011〕102号 二" in r.output  # the citation, from the stored document
    r = invoke("ledger", "explain", first.id, "--view", "citizen", "--format", "markdown", "--ledger", sqlite_url)
    assert r.output.startswith("# 医保结算说明") and "您需自付 8,504.00 元" in r.output
    r = invoke("ledger", "explain", first.id, "--format", "html", "--view", "auditor", "--ledger", sqlite_url)
    assert r.output.startswith("<!DOCTYPE html>") and "41,496.00" in r.output


def test_pages_escape_facts(sqlite_url, tmp_path):
    doc = {"member": {"id": "<b>M</b>", "category": "working"},
           "claims": [{"id": "<script>alert(1)</script>", "date": "2012-03-01", "kind": "inpatient",
                       "compliant_cost": "1000.00"}]}
    (tmp_path / "x.json").write_text(json.dumps(doc), encoding="utf-8")
    assert invoke("ledger", "settle", RULEBOOK, tmp_path / "x.json", "--ledger", sqlite_url).exit_code == 0
    r = invoke("ledger", "explain", "<script>alert(1)</script>", "--format", "html", "--ledger", sqlite_url)
    assert r.exit_code == 0, r.output
    assert "<script>" not in r.output and "&lt;script&gt;" in r.output and "&lt;b&gt;M&lt;/b&gt;" in r.output


def test_export_csv_and_jsonl(sqlite_url, tmp_path):
    invoke("ledger", "settle", RULEBOOK, INPATIENT, OUTPATIENT, "--ledger", sqlite_url)
    r = invoke("ledger", "export", "--out", tmp_path / "l.csv", "--ledger", sqlite_url)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((tmp_path / "l.csv").open(encoding="utf-8")))
    assert len(rows) == 7 * 3  # 7 decisions × 3 funds
    paid = {(r["member_id"], r["claim_id"], r["fund"]): r["paid"] for r in rows}
    assert paid[("QZ-W-0005", "C1", "inpatient_pool")] == "41496.00"
    invoke("ledger", "export", "--out", tmp_path / "l.jsonl", "--with-trace", "--ledger", sqlite_url)
    lines = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 7 and all(x["current"] for x in lines)
    assert lines[0]["explanation"]["en"]["schema"] == "medrules.explanation/1"


def test_members_are_found_by_part_of_their_id(sqlite_url):
    invoke("ledger", "settle", RULEBOOK, INPATIENT, OUTPATIENT, "--ledger", sqlite_url)
    r = invoke("ledger", "members", "W-0", "--ledger", sqlite_url, "--json")
    assert r.exit_code == 0, r.output
    assert [(m["member_id"], m["claims"], m["decisions"]) for m in json.loads(r.output)] == [("QZ-W-0005", 4, 4)]
    r = invoke("ledger", "members", "--ledger", sqlite_url)
    assert "QZ-R-0001" in r.output and "QZ-W-0005" in r.output


def test_mistakes_are_explained_without_tracebacks(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    r = invoke("ledger", "history", "--ledger", url)
    assert r.exit_code == 1 and "--member ID or --claim ID" in r.output
    r = invoke("ledger", "history", "--member", "nobody", "--ledger", url)
    assert r.exit_code == 1 and "no decisions in the ledger for member nobody" in r.output
    r = invoke("ledger", "explain", "42", "--ledger", url)
    assert r.exit_code == 1 and "no decision 42" in r.output
    r = invoke("ledger", "export", "--out", tmp_path / "l.xlsx", "--ledger", url)
    assert r.exit_code == 1 and "name a .csv or .jsonl file" in r.output
    (tmp_path / "bad.json").write_text('{"member": {"id": "M", "category": "working"},\n "claims": [\n'
                                       ' {"id": "C1", "date": "2012-13-01", "kind": "inpatient", '
                                       '"compliant_cost": "1.00"}]}', encoding="utf-8")
    r = invoke("ledger", "settle", RULEBOOK, tmp_path / "bad.json", "--ledger", url)
    assert r.exit_code == 1 and f"{tmp_path / 'bad.json'}:3:" in r.output and "Traceback" not in r.output
    r = invoke("ledger", "settle", RULEBOOK, INPATIENT, "--ledger", "nosuchdb://x")
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = invoke("ledger", "settle", RULEBOOK, INPATIENT, "--ledger", tmp_path / "no" / "dir" / "l.sqlite")
    assert r.exit_code == 1 and "cannot open the ledger" in r.output
