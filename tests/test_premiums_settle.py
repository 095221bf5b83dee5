"""``medrules settle`` on a rulebook of contributions: a member table in, premiums out; figures by hand."""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

D = Decimal
JIANG = ROOT / "rulebooks" / "jiang" / "contributions-2021.mr"
COUNTY_I = ROOT / "rulebooks" / "county-i" / "contributions.mr"
TAICANG = ROOT / "rulebooks" / "taicang" / "contributions-retirement.mr"

# Jiang 2021 (seed 003, 江医保发[2020]40号 五): tier 1 280, tier 2 380; list 1 = the whole tier-2 premium,
# list 2 = the whole tier-1 premium, list 3 = 60% of tier 1; one subsidy only, the highest, never above
# the premium; supplementary 31.50 (students, minors) / 76.50 with a 3.50 subsidy; new out-of-city students
# pay 4/12 of tier 1 and of 31.50, half up to the yuan.
JIANG_MEMBERS = """id,tier,age,student,local,groups,supplementary,new_student
A,tier2,65,false,true,low_income,false,false
B,tier2,10,false,true,registered_poor,false,false
C,tier1,40,false,true,hardship,false,false
D,tier2,40,false,true,registered_poor,false,false
E,tier1,19,true,true,,true,true
F,tier1,30,false,true,,true,false
G,tier2,40,false,false,hardship,false,false
H,tier1,forty,false,true,,false,false
A,tier1,20,false,true,,false,false
"""
# basic (premium, government subsidy, owes):
#   A: 380 (tier 2), low income and 65 ≥ 60 → list 3: 280 × 60% = 168 → 380 − 168 = 212
#   B: a minor pays tier 1 = 280; registered poor → list 2: 280 → 0
#   C: 280; hardship → list 1: 380, but never above the premium: min(380, 280) = 280 → 0
#   D: 380 (tier 2); registered poor → 280 → the difference 100
#   E: a student, tier 1 = 280, new out-of-city: 280 × 4/12 = 93.33 → 93 (half up to the yuan); no group → 93
#   F: 280, no group → 280
#   G: 380, hardship but not registered in the county (local = false) → no subsidy → 380
JIANG_BASIC = {"A": ("380", "168", "212"), "B": ("280", "280", "0"), "C": ("280", "280", "0"),
               "D": ("380", "280", "100"), "E": ("93", "0", "93"), "F": ("280", "0", "280"),
               "G": ("380", "0", "380")}
# supplementary (only E and F join): E: 31.50 × 4/12 = 10.50 → 11, no 3.50 for a new student → 11;
#   F: 18 and over: 76.50 − 3.50 = 73.00
JIANG_SUPP = {"E": ("11", "0", "11"), "F": ("76.50", "3.50", "73.00")}


def settle(tmp_path, rulebook, text: str, name="members.csv", *extra):
    members = tmp_path / name
    members.write_text(text, encoding="utf-8")
    out = tmp_path / "premiums.parquet"
    result = CliRunner().invoke(app, ["settle", str(rulebook), str(members), "--out", str(out), "--no-progress",
                                      *extra])
    return result, out


def test_jiang_premiums_for_a_member_table(tmp_path):
    result, out = settle(tmp_path, JIANG, JIANG_MEMBERS)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    got = {(r["member_id"], r["contribution"]): r for r in rows}
    assert len(rows) == 7 * 2  # 7 members assessed, 2 contributions each; H and the second A are rejected
    for m, (premium, subsidy, owes) in JIANG_BASIC.items():
        r = got[m, "basic"]
        assert (r["premium"], r["subsidy.government"], r["member_owes"]) == (D(premium), D(subsidy), D(owes)), m
        assert r["subsidised"] == D(premium) - D(owes)
    for m in JIANG_BASIC:
        r = got[m, "supplementary"]
        if m in JIANG_SUPP:
            premium, subsidy, owes = JIANG_SUPP[m]
            assert r["applied"] and (r["premium"], r["subsidy.government"], r["member_owes"]) == (
                D(premium), D(subsidy), D(owes)), m
        else:  # did not join: owes nothing under it
            assert not r["applied"] and (r["premium"], r["member_owes"]) == (0, 0), m
    # members owe: basic 212 + 0 + 0 + 100 + 93 + 280 + 380 = 1,065; supplementary 11 + 73 = 84; in all 1,149.00
    # subsidies: basic 168 + 280 + 280 + 280 = 1,008.00; supplementary 3.50
    assert "1,149.00" in result.output and "1,008.00" in result.output and "3.50" in result.output
    assert "assessed 7 members" in result.output
    rejects = pacsv.read_csv(str(out) + ".rejects.csv").to_pylist()
    assert [(r["member"], r["row"]) for r in rejects] == [("H", 8), ("A", 9)]
    assert "age" in rejects[0]["column"] and "duplicate member id" in rejects[1]["reason"]


def test_county_i_a_household_of_three_owes_330(tmp_path):
    # "个人缴费标准为每人120元,以户为单位参保"; "30元门诊费可列抵30元参保费(即可只交90元参保费)":
    # 120 + 120 + (120 − 30) = 330
    result, out = settle(tmp_path, COUNTY_I, "id,household,offset_allowance\nH1-1,H1,false\nH1-2,H1,false\n"
                                             "H1-3,H1,true\n")
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["member_owes"] for r in rows] == [D(120), D(120), D(90)]
    assert sum(r["member_owes"] for r in rows) == D(330)
    assert rows[2]["subsidy.allowance_offset"] == D(30)


def test_a_facts_file_is_a_member_table_of_one(tmp_path):
    # Jiang: a low-income member of 65 at tier 2: 380 − 280 × 60% = 212
    facts = json.dumps({"member": {"id": "M", "tier": "tier2", "age": 65, "groups": ["low_income"]}})
    result, out = settle(tmp_path, JIANG, facts, "m.json")
    assert result.exit_code == 0, result.output
    basic = [r for r in pq.read_table(out).to_pylist() if r["contribution"] == "basic"]
    assert [(r["member_id"], r["member_owes"]) for r in basic] == [("M", D(212))]


def test_a_column_mapping_and_a_reading_option_work_as_for_claims(tmp_path):
    # the tier in a Chinese-named column; D: 380 − 280 = 100
    result, out = settle(tmp_path, JIANG, "编号,档次,age,groups\nD,tier2,40,registered_poor\n", "m.csv",
                         "--column", "member.id=编号", "--column", "member.tier=档次")
    assert result.exit_code == 0, result.output
    assert [r["member_owes"] for r in pq.read_table(out).to_pylist() if r["contribution"] == "basic"] == [D(100)]


def test_what_cannot_be_vectorised_is_refused_at_load_with_its_place(tmp_path):
    result, out = settle(tmp_path, TAICANG, "id\nM\n")
    assert result.exit_code != 0
    assert "contributions-retirement.mr:" in result.output and "division" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("option", [["--members", "x.csv"], ["--scheduler", "tcp://localhost:1"],
                                    ["--ledger", "sqlite:///ledger.sqlite"]])
def test_claim_only_options_are_refused_for_premiums(tmp_path, option):
    (tmp_path / "x.csv").write_text("id\nM\n")
    result, _ = settle(tmp_path, JIANG, "id\nM\n", "m.csv", *[o if o != "x.csv" else str(tmp_path / o) for o in option])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "premiums" in result.output or "member tables" in result.output
    assert not (tmp_path / "premiums.parquet").exists()  # refused before anything is written


def test_a_reading_the_rulebook_does_not_declare_is_refused_as_for_claims(tmp_path):
    result, _ = settle(tmp_path, JIANG, "id\nM\n", "m.csv", "--reading", "cap_axis=payments")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "no reading 'cap_axis'" in result.output
