"""Readings: an ambiguity of the text declared with its alternatives, chosen, and priced.

Quzhou 2012 (reading cap_axis, chosen 'cost'), examples/quzhou-employee-2012-inpatient-year.json, C2 (cost
180,000 after 50,000 earlier in the year, working member, deductible 600), by hand:
  cost:     (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% = 7,896 + 87,000 = 94,896.00 inpatient;
            (230,000 − 160,000) × 90% = 63,000.00 critical illness; funds 157,896.00; member 22,104.00.
  payments: the band rates give 7,896 + 170,000 × 87% = 155,796; only 160,000 − 41,496 = 118,504.00 left;
            the cost above the point where payments reach 160,000: 110,608 / 87% = 127,135.63… counted,
            170,000 − 127,135.63… = 42,864.37 × 90% = 38,577.93; funds 157,081.93; member 22,918.07.
  at stake on C2: 157,081.93 − 157,896.00 = −814.07 for the funds under the payments reading.
C1 (50,000, wholly below both limits) is the same under both: 49,400 × 84% = 41,496.00.
C3 and C4 lie wholly above the limit under both readings and are paid the same by the critical-illness layer
(C3: (36,500 − 600) × 90% = 32,310.00; C4: 2,345.67 × 90% = 2,111.10).
"""
from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.analyses.readings import money_at_stake, other_readings
from medrules.cli import app
from medrules.explain import explain
from medrules.explain.citizen import citizen_view
from medrules.parse import parse
from medrules.source import SourceFile

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
INPATIENT = ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json"


def test_each_alternative_settles_as_worked_by_hand():
    for choice, inpatient, critical, member in (("cost", "94896.00", "63000.00", "22104.00"),
                                                ("payments", "118504.00", "38577.93", "22918.07")):
        program = medrules.load(QUZHOU, readings={"cap_axis": choice})
        c2 = medrules.settle(program, medrules.load_facts(INPATIENT, program)).claim("C2")
        assert (c2.fund("inpatient_pool").paid, c2.fund("critical_illness").paid, c2.member_pays) == (
            D(inpatient), D(critical), D(member)), choice
    r = medrules.load(QUZHOU).checked.rulebook.readings[0]
    assert (r.name, r.chosen, r.declared, [a.name for a in r.alternatives]) == (
        "cap_axis", "cost", "cost", ["payments", "cost"])


def test_money_at_stake_on_the_quzhou_examples():
    sources = [SourceFile.read(p) for p in sorted((ROOT / "examples").glob("quzhou-employee-2012-*.json"))]
    stake = money_at_stake(lambda choice: medrules.load(QUZHOU, readings=choice), sources, "en")
    assert stake.chosen.choice == {"cap_axis": "cost"}
    (other, changes), = stake.others
    assert other.choice == {"cap_axis": "payments"}
    assert other.funds_paid - stake.chosen.funds_paid == D("-814.07")
    assert other.funds["inpatient_pool"] - stake.chosen.funds["inpatient_pool"] == D("118504.00") - D("94896.00")
    assert [(c.claim_id, c.delta) for c in changes] == [("C2", D("-814.07"))]


def test_the_explanation_says_what_the_other_reading_would_have_paid():
    program = medrules.load(QUZHOU)
    facts = medrules.load_facts(INPATIENT, program)
    notes = other_readings(lambda choice: medrules.load(QUZHOU, readings=choice), program, facts)
    assert [n.claim_id for n in notes] == ["C2"]
    e = explain(program, medrules.settle(program, facts, trace=True), "en", readings=notes)
    c2 = citizen_view(e)[1]
    sentence = next(s for s in c2.sentences if "read as" in s)
    assert "the funds would pay 157,081.93 yuan (here 157,896.00 yuan)" in sentence
    assert "the member 22,918.07 yuan (here 22,104.00 yuan)" in sentence
    assert not any("read as" in s for s in citizen_view(e)[0].sentences)  # C1 does not depend on it


def test_cli_readings_and_the_reading_option(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, ["readings", "rulebooks/quzhou/employee-2012.mr",
                                 "examples/quzhou-employee-2012-inpatient-year.json", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["others"][0]["difference"]["funds_paid"] == "-814.07"
    assert doc["others"][0]["claims"][0]["claim"] == "C2"
    r = CliRunner().invoke(app, ["run", "rulebooks/quzhou/employee-2012.mr",
                                 "examples/quzhou-employee-2012-inpatient-year.json", "--json",
                                 "--reading", "cap_axis=payments"])
    paid = {f["fund"]: f["paid"] for f in json.loads(r.output)["claims"][1]["funds"]}
    assert paid["inpatient_pool"] == "118504.00"
    r = CliRunner().invoke(app, ["explain", "rulebooks/quzhou/employee-2012.mr",
                                 "examples/quzhou-employee-2012-inpatient-year.json", "--claim", "C2", "--lang", "en"])
    assert r.exit_code == 0 and "≠" in r.output and "157,081.93" in r.output


def test_pingyang_money_at_stake_on_its_corpus():
    """Pingyang 2019 (reading deductible_above_limit, chosen 'waived'): C5 of the inpatient year, a township
    admission of 4,000 wholly above 120,000: waived 4,000 × 60% = 2,400.00; charged (4,000 − 600) × 60% =
    2,040.00: −360.00 for the funds on each copy of it (the example and the corpus year)."""
    rulebook = ROOT / "rulebooks" / "pingyang" / "residents-2019.mr"
    sources = [SourceFile.read(ROOT / "examples" / "pingyang-2019-inpatient-year.json"),
               SourceFile.read(ROOT / "tests" / "corpus" / "pingyang" / "2019-inpatient-year.json")]
    stake = money_at_stake(lambda choice: medrules.load(rulebook, readings=choice), sources, "zh")
    (other, changes), = stake.others
    assert other.choice == {"deductible_above_limit": "charged"}
    assert other.funds_paid - stake.chosen.funds_paid == D("-720.00")
    assert [(c.claim_id, c.delta) for c in changes] == [("C5", D("-360.00"))] * 2


@pytest.mark.parametrize("text, code, fragment", [
    ('fund f { under axis.nope rate 50% }', "reading", "'nope' is not an alternative of reading 'axis'"),
    ('fund f { under other.a rate 50% }', "reading", "there is no reading 'other'"),
])
def test_bad_under_is_located(text, code, fragment):
    source = SourceFile("t.mr", READING_HEAD + text + "\n")
    with pytest.raises(medrules.MedrulesError) as exc:
        medrules.check(parse(source))
    d = exc.value.diagnostics[0]
    assert d.code == code and fragment in d.message and d.span is not None and d.span.line == 8


def test_unknown_reading_or_alternative_asked_for():
    with pytest.raises(medrules.MedrulesError) as exc:
        medrules.load(QUZHOU, readings={"cap_axes": "cost"})
    assert "there is no reading 'cap_axes'" in exc.value.diagnostics[0].message
    assert "cap_axis" in exc.value.diagnostics[0].hint
    with pytest.raises(medrules.MedrulesError) as exc:
        medrules.load(QUZHOU, readings={"cap_axis": "both"})
    assert "payments, cost" in exc.value.diagnostics[0].hint


READING_HEAD = '''rulebook "t" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
reading axis "轴" { a "甲" b "乙" } chosen a
facts claim { id: text date: date cost: money }
'''


def test_the_batch_path_over_a_folder_of_years_accepts_a_reading(monkeypatch):
    """rulebooks/pingyang (a folder of policy years), the 2019 corpus year: C5, a township admission of 4,000
    wholly above 120,000, pays 4,000 × 60% = 2,400.00 as the rulebooks choose and (4,000 − 600) × 60% = 2,040.00
    with '--reading deductible_above_limit=charged'."""
    monkeypatch.chdir(ROOT)
    paid = {}
    for extra in ([], ["--reading", "deductible_above_limit=charged"]):
        r = CliRunner().invoke(app, ["run", "rulebooks/pingyang", "tests/corpus/pingyang/2019-inpatient-year.json",
                                     "--json", *extra])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)["versions"]["pingyang/residents-2019"]
        c5 = next(c for c in doc["claims"] if c["id"] == "C5")
        paid[bool(extra)] = {f["fund"]: f["paid"] for f in c5["funds"]}["above_limit"]
    assert paid == {False: "2400.00", True: "2040.00"}
