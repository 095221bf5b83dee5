"""Households: ``facts household``, household facts files, one tier per household, what a household owes.

County I (seed 003, 筹资工作会议讲话): "个人缴费标准为每人120元,以户为单位参保"; "30元门诊费可列抵30元参保费
(即可只交90元参保费)". Chongqing 2017 (seed 003, 参保缴费问答): "城乡居民以家庭为单位选择同一档次参保";
一档 140, 二档 350 paid 2016-09 to 2017-06 (newborns 2017-01 to 2017-06); later payers (2017-07 to 09,
newborns 2017-07 to 12) pay the share plus the 420 subsidy.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.contributions.household import assess_household, load_household_facts
from medrules.diagnostics import MedrulesError
from medrules.evaluate import assess
from medrules.facts import facts_from_source
from medrules.source import SourceFile

D = Decimal
I = ROOT / "rulebooks" / "county-i" / "contributions.mr"
F2 = ROOT / "rulebooks" / "chongqing" / "contributions-2017.mr"
EXAMPLES = ROOT / "examples" / "contributions"


def household(path, doc: dict):
    program = medrules.load(path)
    return assess_household(program, load_household_facts(SourceFile("<h>", json.dumps(doc)), program.checked))


# ---------------------------------------------------------------- assess: a household file
def test_county_i_household_of_three_owes_330():
    # 120 + 120 + (120 − 30) = 330; the allowance pays 30
    h = household(I, {"household": {"id": "H-7"},
                      "members": [{"id": "A"}, {"id": "B"}, {"id": "C", "offset_allowance": True}]})
    assert [a.member_owes for a in h.members] == [D(120), D(120), D(90)]
    assert (h.household_id, h.member_owes, h.subsidised, h.premium) == ("H-7", D(330), D(30), D(360))


def test_chongqing_one_tier_for_the_household():
    # household at tier 2: two members paying in March: 770 − 420 = 350 each; a newborn born 2017-07-20 paying on
    # 2017-08-01 is a late newborn payer: 350 + 420 = 770, no subsidy. In all 350 + 350 + 770 = 1,470
    h = household(F2, json.loads((EXAMPLES / "chongqing-2017-household.json").read_text(encoding="utf-8")))
    assert [a.member_owes for a in h.members] == [D(350), D(350), D(770)]
    assert h.member_owes == D(1470)


@pytest.mark.parametrize("lang, words", [
    ("en", "the household H-7 (3 members) owes 90.00 + 120.00 + 120.00 = 330.00 yuan in all"),
    ("zh", "全户(户号 H-7) 3 人个人应缴合计 90.00 + 120.00 + 120.00 = 330.00 元"),
])
def test_assess_explains_each_member_and_the_household(lang, words):
    r = CliRunner().invoke(app, ["assess", str(I), str(EXAMPLES / "county-i-household-of-three.json"), "--lang", lang])
    assert r.exit_code == 0, r.output
    assert words in r.output
    assert r.output.count("Member I-" if lang == "en" else "参保人 I-") == 3


@pytest.mark.parametrize("lang, sentence", [("en", "Your household (H-7) of 3 pays 330.00 yuan in all."),
                                            ("zh", "您家(户号 H-7)3 人共需缴纳 330.00 元。")])
def test_the_citizen_is_told_what_the_household_pays(lang, sentence):
    r = CliRunner().invoke(app, ["assess", str(I), str(EXAMPLES / "county-i-household-of-three.json"), "--lang", lang,
                                 "--view", "citizen"])
    assert r.exit_code == 0, r.output
    assert sentence in r.output


def test_assess_json_of_a_household():
    r = CliRunner().invoke(app, ["assess", str(I), str(EXAMPLES / "county-i-household-of-three.json"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert (doc["household"], doc["member_owes"], doc["subsidised"]) == ("H-7", "330.00", "30.00")
    assert [m["member_owes"] for m in doc["members"]] == ["90.00", "120.00", "120.00"]


def test_one_member_with_their_household():
    # paid 2017-08-15 at the household's tier 2: 350 + 420 = 770
    r = CliRunner().invoke(app, ["assess", str(F2), str(EXAMPLES / "chongqing-2017-late-tier2.json"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["member_owes"] == "770.00"


def test_anhui_a_household_of_three_pays_960_without_household_facts():
    # "每人320元的费用将由其本人承担,每家按3口人计算,需要缴纳费用960元": 3 × 320 = 960; the rulebook declares
    # no household facts, so a household file is its members
    h = household(ROOT / "rulebooks" / "anhui" / "contributions-2021.mr",
                  {"members": [{"id": f"A{i}", "status": ["stable_ex_poor"]} for i in range(3)]})
    assert (h.household_id, h.member_owes) == ("", D(960))


# ---------------------------------------------------------------- errors, located
def _error(path, text: str):
    program = medrules.load(path)
    with pytest.raises(MedrulesError) as e:
        load_household_facts(SourceFile("h.json", text), program.checked)
    return e.value.diagnostics


def test_a_member_stating_the_household_tier_is_refused_where_it_states_it():
    text = ('{"household": {"tier": "tier2"},\n'
            ' "members": [{"id": "P", "paid_on": "2017-03-01"},\n'
            '             {"id": "Q", "paid_on": "2017-03-01", "tier": "tier1"}]}')
    (d,) = _error(F2, text)
    assert (d.code, d.span.line, d.span.col) == ("facts", 3, text.splitlines()[2].index('"tier"') + 1)
    assert "household fact" in d.message and '"household"' in d.hint


def test_a_household_without_its_tier_is_refused():
    (d,) = _error(F2, '{"household": {"id": "X"}, "members": [{"id": "P", "paid_on": "2017-03-01"}]}')
    assert d.code == "facts" and "tier" in d.message


def test_a_member_that_is_not_an_object():
    (d,) = _error(I, '{"members": [{"id": "P"}, 5]}')
    assert (d.code, d.span.col) == ("facts", 27) and "members[1]" in d.message


def test_a_member_listed_twice():
    (d,) = _error(I, '{"household": {"id": "X"},\n "members": [{"id": "P"},\n {"id": "P"}]}')
    assert (d.code, d.span.line) == ("facts", 3) and "twice" in d.message


def test_assess_without_the_household_says_where_the_rulebook_asks_for_it():
    program = medrules.load(F2)
    facts = facts_from_source(SourceFile("<m>", '{"member": {"id": "M", "paid_on": "2017-03-01"}}'), program.checked)
    with pytest.raises(MedrulesError) as e:
        assess(program, facts)
    (d,) = e.value.diagnostics
    assert d.code == "facts" and d.span.file.endswith("contributions-2017.mr") and "household" in d.hint


def test_household_facts_are_for_contributions_only(tmp_path):
    src = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")
    assert "facts member {" in src
    src = src.replace("facts member {", 'facts household {\n  size: count "户内人数" | "household size"\n}\n\n'
                                        "facts member {", 1)
    # a fund condition that reads it
    src = src.replace("applies when", "applies when household.size > 0 and", 1)
    p = tmp_path / "bad.mr"
    p.write_text(src, encoding="utf-8")
    with pytest.raises(MedrulesError) as e:
        medrules.load(p)
    codes = {(d.code, "household fact" in d.message) for d in e.value.diagnostics}
    assert ("contribution", True) in codes


def test_an_unknown_record_kind_is_named():
    # any other name declares a history (a list of records); one that looks like a record kind is a typo
    with pytest.raises(MedrulesError) as e:
        medrules.check(medrules.parse(SourceFile("x.mr", 'facts housold {\n  id: text "x" | "x"\n}\n')))
    assert any(d.code == "unknown-name" and "household" in d.message for d in e.value.diagnostics)


# ---------------------------------------------------------------- settle: a member table with households
def settle(tmp_path, rulebook, text: str):
    members = tmp_path / "members.csv"
    members.write_text(text, encoding="utf-8")
    out = tmp_path / "premiums.parquet"
    r = CliRunner().invoke(app, ["settle", str(rulebook), str(members), "--out", str(out), "--no-progress"])
    return r, out


def test_county_i_households_in_a_member_table(tmp_path):
    # H1: 120 + 120 + 90 = 330; H2: 120 + 120 = 240; a member with no household id is on their own (120)
    r, out = settle(tmp_path, I, "id,household_id,offset_allowance\nA,H1,false\nB,H1,false\nC,H1,true\n"
                                 "D,H2,false\nE,H2,false\nF,,false\n")
    assert r.exit_code == 0, r.output
    assert [x["household_id"] for x in pq.read_table(out).to_pylist()] == ["H1", "H1", "H1", "H2", "H2", ""]
    totals = pacsv.read_csv(str(out) + ".households.csv").to_pylist()
    assert [(t["household_id"], t["members"], D(str(t["household_owes"]))) for t in totals] == [
        ("H1", 3, D(330)), ("H2", 2, D(240))]
    assert "2 households" in r.output


def test_chongqing_members_of_one_household_naming_different_tiers_are_rejected(tmp_path):
    # H1 names tier 2 on both rows: 350 each (paid in March); H2's rows name tier 1 and tier 2: both rejected
    r, out = settle(tmp_path, F2, "id,household.id,household.tier,paid_on\nA,H1,tier2,2017-03-01\n"
                                  "B,H1,tier2,2017-03-01\nC,H2,tier1,2017-03-01\nD,H2,tier2,2017-03-01\n")
    assert r.exit_code == 0, r.output
    assert [(x["member_id"], x["member_owes"]) for x in pq.read_table(out).to_pylist()] == [("A", D(350)),
                                                                                          ("B", D(350))]
    rejects = pacsv.read_csv(str(out) + ".rejects.csv").to_pylist()
    assert [(x["member"], x["row"], x["column"]) for x in rejects] == [("C", 3, "household.tier"),
                                                                      ("D", 4, "household.tier")]
    assert "household 'H2'" in rejects[0]["reason"] and "rows 3, 4" in rejects[0]["reason"]


def test_the_editor_knows_household_facts():
    from medrules.lsp.analysis import analyse, completions, lookup
    text = F2.read_text(encoding="utf-8")
    a = analyse(str(F2), text)
    assert lookup(a, "household.tier").kind == "fact"
    lines = text.split("\n")
    line = next(i for i, x in enumerate(lines) if "household.tier ==" in x)
    col = lines[line].index("household.") + len("household.") + 1
    assert [c[0] for c in completions(a, line + 1, col)] == ["id", "tier"]


def test_settle_reads_a_household_file_as_its_members(tmp_path):
    # Chongqing's household at tier 2: 350 + 350 + 770 = 1,470 (as in test_chongqing_one_tier_for_the_household)
    out = tmp_path / "p.csv"
    r = CliRunner().invoke(app, ["settle", str(F2), str(EXAMPLES / "chongqing-2017-household.json"), "--out", str(out),
                                 "--no-progress"])
    assert r.exit_code == 0, r.output
    (total,) = pacsv.read_csv(str(out) + ".households.csv").to_pylist()
    assert (total["household_id"], total["members"], D(str(total["household_owes"]))) == ("CQ-H1", 3, D(1470))
    assert "1 household →" in r.output
