"""Readings wherever an explanation is shown (explain --json, a folder of policy years, what-if) and the money at
stake over a folder of policy years and over a layered rulebook. Every figure is worked by hand from the seeds.

Quzhou 2012 (衢政发〔2011〕102号; reading cap_axis, chosen 'cost'), examples/quzhou-employee-2012-inpatient-year.json,
C2: 180,000 of compliant cost after C1's 50,000 in the year, deductible 600, working member (84% to 60,000 of
cumulative cost, 87% above):
  cost reading:     inpatient (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% = 7,896 + 87,000 = 94,896.00;
                    critical illness (230,000 − 160,000) × 90% = 63,000.00; funds 157,896.00; member 22,104.00.
  payments reading: the rates give 7,896 + 170,000 × 87% = 155,796 but only 160,000 − 41,496 (C1: 49,400 × 84%)
                    = 118,504.00 is left; the cost above the point where payments reach 160,000:
                    170,000 − (118,504 − 7,896) / 87% = 170,000 − 127,135.63… = 42,864.36…, × 90% = 38,577.93;
                    funds 157,081.93; member 22,918.07. At stake: −814.07 (inpatient +23,608.00, critical −24,422.07).
  Retired (+5 points: 89% and 92%), the what-if: C1 49,400 × 89% = 43,966.00.
  cost reading:     9,400 × 89% + 100,000 × 92% = 8,366 + 92,000 = 100,366.00; critical 63,000.00;
                    funds 163,366.00; member 16,634.00.
  payments reading: room 160,000 − 43,966 = 116,034.00; counted at 92% after the 89% band:
                    (116,034 − 8,366) / 92% = 117,030.43…; above 170,000 − 117,030.43… = 52,969.56…, × 90%
                    = 47,672.61; funds 163,706.61; member 16,293.39. At stake: +340.61.
Mutual aid (layered on it; working members; tiers of the member's own share per admission: 40% to 10,000, 50% to
20,000, 60% to 50,000): cost reading 22,104.00 → 4,000 + 5,000 + 2,104 × 60% = 10,262.40; payments reading
22,918.07 → 4,000 + 5,000 + 2,918.07 × 60% = 10,750.84 (1,750.842 rounded half-up); +488.44; on C2 in all
−814.07 + 488.44 = −325.63.

Pingyang (平阳, seed 003; reading deductible_above_limit, chosen 'waived'), tests/corpus/pingyang: C5, a township
admission of 4,000 after 98,330 + 60,000 = 158,330 of cost in the year, lies wholly above the 120,000 limit. Waived:
(六) pays 4,000 × 60% = 2,400.00. Charged: the township deductible stays with the member and out of the 60% base:
2019 (“镇(乡)卫生院起付线从300元调整为600元”) (4,000 − 600) × 60% = 2,040.00, −360.00; 2018 (300)
(4,000 − 300) × 60% = 2,220.00, −180.00. Both years: −540.00. The 60% layer's yearly 60,000 is not reached
(C4's 38,330 above the limit × 60% = 22,998.00, + 2,400.00 = 25,398.00).
"""
from __future__ import annotations

import json
from importlib import resources

import jsonschema
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = "rulebooks/quzhou/employee-2012.mr"
MUTUAL = "rulebooks/quzhou/employee-mutual-aid-2012.mr"
INPATIENT = "examples/quzhou-employee-2012-inpatient-year.json"
PINGYANG = "rulebooks/pingyang"
PY2018 = "tests/corpus/pingyang/2018-inpatient-year.json"
PY2019 = "tests/corpus/pingyang/2019-inpatient-year.json"
SCHEMA = json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))


def _cli(monkeypatch, *args):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def test_explain_json_says_what_the_other_reading_would_have_paid(monkeypatch):
    doc = json.loads(_cli(monkeypatch, "explain", QUZHOU, INPATIENT, "--json", "--lang", "en"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    by_id = {c["id"]: c for c in doc["claims"]}
    assert [c["id"] for c in doc["claims"] if c["readings"]] == ["C2"]  # C1, C3, C4 are paid alike
    (note,) = by_id["C2"]["readings"]
    assert (note["reading"], note["chosen"], note["declared"], note["alternative"]) == (
        "cap_axis", "cost", "cost", "payments")
    assert note["would_pay"] == {"funds": {"outpatient_pool": "0.00", "inpatient_pool": "118504.00",
                                           "critical_illness": "38577.93"},
                                 "funds_paid": "157081.93", "member_pays": "22918.07"}
    assert note["difference"] == {"funds": {"inpatient_pool": "23608.00", "critical_illness": "-24422.07"},
                                  "funds_paid": "-814.07", "member_pays": "814.07"}
    text = _cli(monkeypatch, "explain", QUZHOU, INPATIENT, "--claim", "C2", "--lang", "en")
    assert note["text"][:60] in " ".join(text.split())  # the text view's sentence


def test_the_json_of_a_reading_read_otherwise_names_the_rulebooks_choice(monkeypatch):
    doc = json.loads(_cli(monkeypatch, "explain", QUZHOU, INPATIENT, "--json", "--claim", "C2",
                          "--reading", "cap_axis=payments"))
    (note,) = doc["claims"][0]["readings"]
    assert (note["chosen"], note["declared"], note["alternative"]) == ("payments", "cost", "cost")
    assert note["would_pay"]["funds_paid"] == "157896.00" and note["difference"]["funds_paid"] == "814.07"


def test_a_folder_of_policy_years_explains_each_claim_under_its_years_readings(monkeypatch):
    for facts, above, change in ((PY2019, "2040.00", "-360.00"), (PY2018, "2220.00", "-180.00")):
        doc = json.loads(_cli(monkeypatch, "explain", PINGYANG, facts, "--json", "--claim", "C5"))
        (e,) = doc["explanations"]
        jsonschema.Draft202012Validator(SCHEMA).validate(e)
        (note,) = e["claims"][0]["readings"]
        assert (note["reading"], note["alternative"]) == ("deductible_above_limit", "charged")
        assert note["would_pay"]["funds"]["above_limit"] == above, facts
        assert note["difference"] == {"funds": {"above_limit": change}, "funds_paid": change,
                                      "member_pays": change.lstrip("-")}
    text = _cli(monkeypatch, "explain", PINGYANG, PY2019, "--claim", "C5", "--lang", "en")
    assert "≠" in text and "2,040.00" in text and "cost above the 120,000 limit 2,400.00 → 2,040.00" in \
        " ".join(text.split())
    doc = json.loads(_cli(monkeypatch, "explain", PINGYANG, PY2019, "--json", "--claim", "C1"))
    assert doc["explanations"][0]["claims"][0]["readings"] == []  # below the limit: both readings pay alike


def test_what_if_says_what_the_other_reading_would_have_paid_in_each_scenario(monkeypatch):
    args = ("explain", QUZHOU, INPATIENT, "--what-if", "member.category=retired", "--claim", "C2")
    doc = json.loads(_cli(monkeypatch, *args, "--json"))
    readings = doc["claims"][0]["readings"]
    (before,), (after,) = readings["before"], readings["after"]
    assert before["would_pay"]["funds_paid"] == "157081.93" and before["difference"]["funds_paid"] == "-814.07"
    assert after["would_pay"]["funds"]["inpatient_pool"] == "116034.00"
    assert after["would_pay"]["funds"]["critical_illness"] == "47672.61"
    assert after["would_pay"]["member_pays"] == "16293.39"
    assert after["difference"] == {"funds": {"inpatient_pool": "15668.00", "critical_illness": "-15327.39"},
                                   "funds_paid": "340.61", "member_pays": "-340.61"}
    text = " ".join(_cli(monkeypatch, *args, "--lang", "en").split())
    assert "As the facts are: The text can be read two ways" in text and "157,081.93" in text
    assert "With the change: The text can be read two ways" in text and "163,706.61 yuan (here 163,366.00 yuan)" in text
    md = _cli(monkeypatch, *args, "--format", "markdown")
    assert md.count("- ≠ ") == 2 and "163,706.61" in md
    html = _cli(monkeypatch, *args, "--format", "html")
    assert html.count("<li class=reading>") == 2


def test_readings_over_a_folder_of_policy_years(monkeypatch):
    doc = json.loads(_cli(monkeypatch, "readings", PINGYANG, PY2018, PY2019, "--json"))
    assert doc["schema"] == "medrules.readings-set/1"
    r = doc["readings"]["deductible_above_limit"]
    assert r["moves_together"] and r["years"] == ["pingyang/residents-earlier", "pingyang/residents-2019"]
    chosen, other = doc["combinations"]
    assert chosen["chosen"] and chosen["readings"] == {"deductible_above_limit": "waived"}
    assert other["readings"] == {"deductible_above_limit": "charged"}
    years = {y["version"]: y for y in other["years"]}
    assert years["pingyang/residents-earlier"]["difference"]["funds"]["above_limit"] == "-180.00"
    assert years["pingyang/residents-2019"]["difference"]["funds"]["above_limit"] == "-360.00"
    assert years["pingyang/residents-2019"]["difference"]["member_pays"] == "360.00"
    assert {y["version"]: y["funds"]["above_limit"] for y in chosen["years"]} == {
        "pingyang/residents-earlier": "25398.00", "pingyang/residents-2019": "25398.00"}
    assert other["all_years"]["difference"]["funds_paid"] == "-540.00"
    assert [(c["version"], c["claim"], c["difference"]) for c in other["claims"]] == [
        ("pingyang/residents-2019", "C5", "-360.00"), ("pingyang/residents-earlier", "C5", "-180.00")]
    text = " ".join(_cli(monkeypatch, "readings", PINGYANG, PY2018, PY2019, "--lang", "en").split())
    assert "which move together" in text and "All years: the funds pay" in text and "(−540.00)" in text


def test_a_pinned_reading_is_held_in_every_year(monkeypatch):
    doc = json.loads(_cli(monkeypatch, "readings", PINGYANG, PY2018, PY2019, "--json",
                          "--reading", "deductible_above_limit=charged"))
    assert doc["pinned"] == {"deductible_above_limit": "charged"}
    (only,) = doc["combinations"]
    assert {y["version"]: y["funds"]["above_limit"] for y in only["years"]} == {
        "pingyang/residents-earlier": "25218.00", "pingyang/residents-2019": "25038.00"}  # 25,398 − 180; − 360
    assert not doc["readings"]["deductible_above_limit"]["moves_together"]


def test_a_bad_pin_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, ["readings", PINGYANG, PY2019, "--reading", "deductible_above_limit=sometimes"])
    assert r.exit_code == 1 and "'sometimes' is not an alternative of reading 'deductible_above_limit'" in r.output
    r = CliRunner().invoke(app, ["readings", QUZHOU, INPATIENT, "--reading", "cap_axis=cost"])
    assert r.exit_code == 1 and "over a folder" in r.output


def test_readings_over_a_layered_rulebook(monkeypatch):
    doc = json.loads(_cli(monkeypatch, "readings", MUTUAL, INPATIENT, "--json"))
    (other,) = doc["others"]
    assert other["readings"] == {"basic.cap_axis": "payments"}
    (c2,) = other["claims"]
    assert c2["claim"] == "C2" and c2["difference"] == "-325.63"
    assert c2["funds"]["mutual_aid"] == {"chosen": "10262.40", "this": "10750.84"}
    assert c2["funds"]["basic.inpatient_pool"] == {"chosen": "94896.00", "this": "118504.00"}
    assert c2["funds"]["basic.critical_illness"] == {"chosen": "63000.00", "this": "38577.93"}


def _members(program, seed: int):
    from medrules.batch.generate import random_members, text_of

    def jv(v):
        return v if isinstance(v, bool) else sorted(v) if isinstance(v, frozenset) else text_of(v)
    for member, claims in random_members(program.checked, 3, seed=seed, max_claims=8):
        yield {"member": {k: jv(v) for k, v in member.items() if v is not None},
               "claims": [{k: jv(v) for k, v in c.items() if v is not None} for c in claims]}


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_reading_note_adds_up(seed):
    """Invariants of every claim's readings (generated Quzhou members): what the other reading pays is its funds'
    sum, the member pays the rest of the same total, and the difference is the other reading minus this one."""
    import medrules
    from decimal import Decimal
    from medrules.analyses.readings import other_readings
    from medrules.explain import explain
    from medrules.explain.json import explanation_json
    rulebook = ROOT / QUZHOU
    program = medrules.load(rulebook)
    for doc in _members(program, seed):
        facts = medrules.load_facts(json.dumps(doc), program)
        notes = other_readings(lambda choice: medrules.load(rulebook, readings=choice), program, facts)
        out = explanation_json(explain(program, medrules.settle(program, facts, trace=True), "en", readings=notes))
        for c in out["claims"]:
            for note in c["readings"]:
                would = note["would_pay"]
                assert sum(Decimal(v) for v in would["funds"].values()) == Decimal(would["funds_paid"])
                assert Decimal(would["funds_paid"]) + Decimal(would["member_pays"]) == Decimal(c["total_cost"])
                paid = {f["fund"]: Decimal(f["paid"]) for f in c["funds"]}
                assert note["difference"]["funds"] == {k: str(Decimal(v) - paid[k]) for k, v in would["funds"].items()
                                                       if Decimal(v) != paid[k]}
                assert Decimal(note["difference"]["funds_paid"]) == \
                    Decimal(would["funds_paid"]) - sum(paid.values())
