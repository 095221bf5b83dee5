"""What-if, diff and Markdown/HTML documents on a household file (Chongqing 2017's outpatient quota kept per
holder, seed 003, 区社保局2017年度参保缴费问答 普通门诊1; docs/language.md §22.2):

"2017年城乡居民的普通门诊定额包干标准为80元/人,定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付
费用,在定额包干额度内可全部使用并且报销比例100%,当年未使用的余额可跨年度结转使用(须在次年连续参保缴费后)。对没有
连续参保缴费的居民,未使用完的定额包干资金不再结转和使用。"

Every amount below is worked by hand from that text: 80 a holder a year, 100% within the quotas the claim
names (in order; none named: the patient's own), last year's balance added only for a holder who paid again
(member.continuous). All claims are outpatient at an 'other' institution: the grassroots pooling pays nothing
on them, so the quota is the only fund that pays.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.explain.text import to_text
from medrules.household import load_household_claims, settle_household
from medrules.household_analyses import (parse_changes, render_what_if, sensitivity, what_if, what_if_json)
from medrules.source import SourceFile
from test_quota import EXAMPLE, RULEBOOK, cq, outpatient, person  # noqa: F401 (cq: the module's fixture)

D = Decimal


def household(program, doc, tmp_path):
    path = tmp_path / "household.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_household_claims(SourceFile.read(path), program.checked)


def example(program):
    return load_household_claims(SourceFile.read(EXAMPLE), program.checked)


def paid(w):
    """claim -> (funds before, funds after) of a what-if."""
    return {c.id: (c.funds_paid, w.after.claim(c.id).funds_paid) for c in w.before.claims}


# a household where I-2 carried 20 over from 2016 and paid again (continuous): I-2's quota is 80 + 20 = 100.
#   C2 (I-2, 2017-02-01, 40, own): 40 from I-2 (left 100 − 40 = 60); I-2 pays 0.
#   C1 (I-1, 2017-03-01, 150, names I-1 then I-2): 80 from I-1 (left 0) + 60 from I-2 (left 0) = 140;
#      I-1 pays 150 − 140 = 10.
CARRIED = {"household": {"id": "H-9"}, "members": [
    person("I-1", [outpatient("C1", "2017-03-01", "150.00", quota_from="I-1", quota_then="I-2")]),
    person("I-2", [outpatient("C2", "2017-02-01", "40.00")], continuous=True, quota_balance="20.00")]}


def test_a_change_to_one_person_changes_anothers_payout(cq, tmp_path):
    # What if I-2 had not paid again? "对没有连续参保缴费的居民,未使用完的定额包干资金不再结转和使用": I-2's quota is
    # 80 without the carry-over.
    #   C2: 40 from I-2 (left 80 − 40 = 40): unchanged.
    #   C1: 80 from I-1 + 40 from I-2 = 120 (was 140): I-1 — not the person changed — pays 30 (was 10).
    hc = household(cq, CARRIED, tmp_path)
    hw = what_if(cq, hc, parse_changes(["I-2.member.continuous=false"], hc, cq.checked), "en")
    w = hw.what_if
    assert paid(w) == {"C1": (D("140.00"), D("120.00")), "C2": (D("40.00"), D("40.00"))}
    assert w.persons == ("I-1", "I-2")  # members in the file's order, each person's claims
    [c1, c2] = w.claims
    assert (c1.claim_id, c1.member_before, c1.member_after) == ("C1", D("10.00"), D("30.00"))
    assert c1.funds == (("outpatient_quota", "outpatient quota", D("140.00"), D("120.00")),)
    assert not c2.funds
    steps = [s.after.text for s in c1.steps if s.after is not None]
    # the cap step: quotas of I-1 and I-2, 80 + 80 = 160 in all, 40 drawn before (C2), 120 left
    assert any("160.00 yuan in all, 40.00 yuan drawn before, 120.00 yuan left" in t for t in steps), steps
    assert any("40.00 yuan from the quota of I-2, a relative (same household) (0.00 yuan left)" in t for t in steps)
    # the household's view: I-2's quota 100 → 80, all of it drawn either way
    [i1, i2] = hw.quotas()
    assert i2 == {"holder": "I-2", "year": "2017", "before": {"quota": D("100.00"), "drawn": D("100.00"), "left": 0},
                  "after": {"quota": D("80.00"), "drawn": D("80.00"), "left": 0}}
    assert (hw.before.funds_paid, hw.after.funds_paid) == (D("180.00"), D("160.00"))  # 140 + 40; 120 + 40


def test_a_claim_change_moves_the_draws_of_the_whole_household(cq):
    # The example (tests/test_quota.py): C1 (I-1, 150) drew 80 on I-1 and 70 on I-2. What if C1 named I-3 next
    # instead of I-2?
    #   C1: 80 from I-1 (left 0) + 70 from I-3 (left 10).
    #   C2 (I-3, 50, names I-2): I-2 has all its 80 → 50 (left 30); I-3 pays 0 (was 40: +40 from the funds).
    #   C3 (I-3, 30, own): I-3 has 10 left → 10 (left 0); I-3 pays 20 (was 0: −20).
    #   C4 (D-1, 60, names I-3 then D-1): I-3 has 0 → 60 from D-1 (left 20): paid 60 as before, from D-1 now.
    #   Funds 150 + 50 + 10 + 60 = 270 (were 250); own share 0 + 0 + 20 + 0 = 20 (was 40).
    hc = example(cq)
    hw = what_if(cq, hc, parse_changes(["I-1.claim.quota_then=I-3"], hc, cq.checked), "en")
    assert paid(hw.what_if) == {"C1": (D("150.00"), D("150.00")), "C2": (D("10.00"), D("50.00")),
                                "C3": (D("30.00"), D("10.00")), "C4": (D("60.00"), D("60.00"))}
    left = {q["holder"]: (q["before"]["left"], q["after"]["left"]) for q in hw.quotas()}
    assert left == {"I-1": (0, 0), "I-2": (0, D("30.00")), "I-3": (0, 0), "D-1": (D("70.00"), D("20.00"))}
    c4 = next(d for d in hw.what_if.claims if d.claim_id == "C4")
    assert not c4.funds and any(s.kind == "quota" for c in c4.steps for s in (c.before, c.after) if s)  # whose paid
    assert (hw.after.funds_paid, hw.after.member_pays) == (D("270.00"), D("20.00"))
    text = to_text(render_what_if(hw, ()), width=200)
    assert "Claim C3 (I-3): the funds pay less by 20.00 yuan; the member pays 0.00 → 20.00" in text
    assert "Quota of I-2 (2017): 80.00 yuan − drawn 80.00 yuan = 0.00 yuan left → 80.00 yuan − drawn 50.00 yuan = " \
           "30.00 yuan left." in text
    assert "Household H-1: the funds pay 250.00 yuan → 270.00 yuan; the persons pay 40.00 yuan → 20.00 yuan." in text


def test_one_claim_is_changed_with_the_existing_claim_option(cq):
    # --claim C3 --what-if claim.compliant_cost=60 (one member's syntax; claim ids are the household's):
    #   C3 (I-3, own): I-3's quota is untouched before it (C2 drew on I-2) → 60 from I-3 (left 20; was 30, left 50).
    #   C4 (D-1, 60, names I-3 then D-1): 20 from I-3 + 40 from D-1 (left 40) — was 50 + 10 (left 70): D-1's
    #   quota moves though only I-3's claim changed; C4 is paid 60 either way.
    #   Household: funds 250 − 30 + 60 = 280.
    hc = example(cq)
    hw = what_if(cq, hc, parse_changes(["claim.compliant_cost=60"], hc, cq.checked), "en", ["C3"])
    assert [(d.claim_id, d.funds) for d in hw.what_if.claims] == [
        ("C3", (("outpatient_quota", "outpatient quota", D("30.00"), D("60.00")),))]
    assert hw.what_if.persons == ("I-3",)
    left = {q["holder"]: (q["before"]["left"], q["after"]["left"]) for q in hw.quotas()}
    assert left["D-1"] == (D("70.00"), D("40.00")) and left["I-3"] == (0, 0)
    assert (hw.before.funds_paid, hw.after.funds_paid) == (D("250.00"), D("280.00"))


def test_a_change_without_a_person_applies_to_every_person(cq, tmp_path):
    # both carried 20 over from 2016 but did not pay again: 80 each. What if everyone had (member.continuous=true)?
    # 80 + 20 = 100 each. C1 (A, 250, names A then B): 80 + 80 = 160 → 100 + 100 = 200; A pays 90 → 50.
    doc = {"members": [person("A", [outpatient("C1", "2017-03-01", "250.00", quota_from="A", quota_then="B")],
                              quota_balance="20.00"), person("B", quota_balance="20.00")]}
    hc = household(cq, doc, tmp_path)
    hw = what_if(cq, hc, parse_changes(["member.continuous=true"], hc, cq.checked), "en")
    assert paid(hw.what_if) == {"C1": (D("160.00"), D("200.00"))}
    assert [q["after"]["quota"] for q in hw.quotas()] == [D("100.00"), D("100.00")]
    # only B's: 80 + 100 = 180
    hw = what_if(cq, hc, parse_changes(["B.member.continuous=true"], hc, cq.checked), "en")
    assert paid(hw.what_if) == {"C1": (D("160.00"), D("180.00"))}


def test_the_facts_that_matter_most_range_over_every_person(cq, tmp_path):
    # In CARRIED, I-2 not paying again costs I-1's claim 20 (above): −20 on the household's claims, a fact of I-2.
    hc = household(cq, CARRIED, tmp_path)
    ranked = sensitivity(cq, hc, most=100)
    found = {s.change.text: s.delta for s in ranked}
    assert found["I-2.member.continuous=false"] == D("-20.00")
    assert {s.change.person for s in ranked} == {"I-1", "I-2"}
    assert [abs(s.delta) for s in ranked] == sorted((abs(s.delta) for s in ranked), reverse=True)


def test_the_nearest_date_that_pays_more_is_found_for_every_person(cq, tmp_path):
    # I-2 paid the 2017 contribution on 2017-03-15: "from March, benefits after a 90-day wait", so I-2's visit on
    # 2017-04-01 (17 days later) pays 0. Paid on 2017-01-02 (January–February: benefits from the next month)
    # it pays 50 from I-2's own quota. The dates tried are those the facts suggest (each date ±1, ±89..91 days,
    # month starts); the nearest earlier one that pays is 2017-04-01 − 89 days = 2017-01-02 (72 days earlier;
    # 2017-03-01 and 2017-03-14 still wait). I-1's facts are tried too (their kind moves their own 30).
    doc = {"members": [person("I-1", [outpatient("C0", "2017-02-01", "30.00")]),
                       person("I-2", [outpatient("C1", "2017-04-01", "50.00")], paid_on="2017-03-15")]}
    ranked = sensitivity(cq, household(cq, doc, tmp_path), most=50)
    assert [(s.change.text, s.delta) for s in ranked][:2] == [("I-2.member.paid_on=2017-01-02", D("50.00")),
                                                               ("I-1.claim.kind=inpatient", D("-30.00"))]


@pytest.mark.parametrize("change, message, hint", [
    ("X-9.member.continuous=true", "'X-9' is not a person of this household file", "persons: I-1, I-2, I-3, D-1"),
    ("I-2.member.id=Z", "'member.id' names the member", "PERSON.member.FIELD"),
    ("I-2.continuous=true", "is not FACT=VALUE", "PERSON.member.FIELD"),
    ("I-2.member.nonsense=1", "'member.nonsense' is not a declared member fact", "facts:"),
    ("I-2.member.continuous=" + "x" * 2000, "too long", "I-2.member.continuous=false"),
])
def test_a_bad_change_is_refused_where_it_is_written(change, message, hint):
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--what-if", change, "--lang", "en"])
    assert r.exit_code == 1 and message in r.output and hint in r.output, r.output
    assert "--what-if:1:1" in r.output and "Traceback" not in r.output


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 200), st.integers(1, 28), st.integers(0, 2)),
                min_size=1, max_size=6), st.integers(0, 2), st.integers(0, 2))
def test_a_what_if_is_the_household_settled_with_the_change_written_in(cq, claims, who, holder):
    # invariants: the what-if's 'after' is what settling the file with the change written into it pays; no quota
    # is overdrawn (80 each, no carry-over); the quota fund pays on each claim exactly what was drawn for it
    import tempfile
    from pathlib import Path
    ids = ["I-0", "I-1", "I-2"]
    people = {i: [] for i in ids}
    for n, (p, cost, day, named) in enumerate(claims):
        people[ids[p]].append(outpatient(f"C{n}", f"2017-03-{day:02d}", f"{cost}.00", quota_from=ids[named]))
    doc = {"members": [person(i, people[i]) for i in ids]}
    changed = json.loads(json.dumps(doc))
    for c in changed["members"][who]["claims"]:
        c["quota_from"] = ids[holder]
    with tempfile.TemporaryDirectory() as tmp:
        hc = household(cq, doc, Path(tmp))
        hw = what_if(cq, hc, parse_changes([f"{ids[who]}.claim.quota_from={ids[holder]}"], hc, cq.checked), "en")
        direct = settle_household(cq, household(cq, changed, Path(tmp)))
    assert {c.id: c.funds_paid for c in hw.what_if.after.claims} == \
        {c.id: c.funds_paid for s in direct.settlements for c in s.claims}
    assert all(q["after"]["drawn"] <= 80 and q["after"]["left"] >= 0 for q in hw.quotas())
    drawn: dict = {}
    for d in hw.after.book.draws:
        drawn[d.claim] = drawn.get(d.claim, 0) + d.amount
    assert all(c.fund("outpatient_quota").paid == drawn.get(c.id, 0) for c in hw.what_if.after.claims)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["I-1", "I-9", "D-1", ".", "member", "claim", "continuous", "quota_from", "id",
                                 "kind", "=", "true", "I-3", "outpatient", "1e999", "2017-13-01", "", " ", "\u0000",
                                 "quota_balance", "-5", "[1]", "{}", "member.", "claim."]), max_size=8).map("".join))
def test_any_what_if_is_settled_or_refused_with_a_located_message(cq, text):
    hc = example(cq)
    try:
        what_if(cq, hc, parse_changes([text], hc, cq.checked), "en")
    except medrules.MedrulesError as e:
        assert all(d.message and (d.span is not None or d.hint) for d in e.diagnostics)


def test_a_holder_named_by_a_change_who_is_not_in_the_file_is_refused_at_the_change():
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--what-if", "I-1.claim.quota_from=X-9"])
    assert r.exit_code == 1 and "'X-9'" in r.output and "Traceback" not in r.output, r.output
    assert "--what-if:1:1: error[quota]: with --what-if I-1.claim.quota_from=X-9:" in r.output
    assert "the file's value is here" in r.output  # C1's own quota_from, "I-1", on line 6 of the example


def test_what_if_json_validates_against_its_schema():
    import jsonschema
    from importlib import resources
    schema = json.loads((resources.files("medrules") / "schema" / "household-what-if-1.schema.json")
                        .read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--json", "--lang", "en",
                                 "--what-if", "I-1.claim.quota_then=I-3"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    jsonschema.validate(doc, schema)
    assert doc["changes"] == [{"person": "I-1", "fact": "claim.quota_then", "value": "I-3"}]
    assert [(c["id"], c["person"]) for c in doc["claims"]] == [("C1", "I-1"), ("C2", "I-3"), ("C3", "I-3"),
                                                                ("C4", "D-1")]
    assert doc["totals"] == {"before": {"funds_paid": "250.00", "member_pays": "40.00"},  # worked above
                             "after": {"funds_paid": "270.00", "member_pays": "20.00"}}
    assert {q["holder"]: q["after"]["left"] for q in doc["quotas"]} == {"I-1": "0.00", "I-2": "30.00",
                                                                         "I-3": "0.00", "D-1": "20.00"}
    assert all(s["person"] in {"I-1", "I-2", "I-3", "D-1"} for s in doc["most_sensitive"])


def test_what_if_json_schema_catches_a_broken_document(cq):
    import jsonschema
    from importlib import resources
    schema = json.loads((resources.files("medrules") / "schema" / "household-what-if-1.schema.json")
                        .read_text("utf-8"))
    hc = example(cq)
    doc = what_if_json(what_if(cq, hc, parse_changes(["I-1.claim.quota_then=I-3"], hc, cq.checked), "en"))
    doc["quotas"][0]["after"]["left"] = 12.5
    del doc["claims"][0]["person"]
    assert len(list(jsonschema.Draft202012Validator(schema).iter_errors(doc))) >= 2


# ---------------------------------------------------------------- diff
@pytest.fixture()
def quota_100(tmp_path):
    """The same rulebook with a quota of 100 a person (a year that raised it)."""
    path = tmp_path / "residents-quota-100.mr"
    text = RULEBOOK.read_text(encoding="utf-8")
    assert 'parameter quota: money = 80 yuan' in text
    path.write_text(text.replace('parameter quota: money = 80 yuan', 'parameter quota: money = 100 yuan'),
                    encoding="utf-8")
    return path


def test_diff_settles_the_household_under_both_rulebooks(quota_100):
    # The example under a quota of 100 a person:
    #   C1 (I-1, 150, I-1 then I-2): 100 from I-1 (left 0) + 50 from I-2 (left 50) = 150, as before.
    #   C2 (I-3, 50, names I-2): I-2 has 50 → 50 (left 0): was 10, +40; I-3 pays 0 (was 40).
    #   C3 (I-3, 30, own): 30 from I-3 (left 70), as before.
    #   C4 (D-1, 60, I-3 then D-1): 60 from I-3 (left 10); D-1 draws 0 (left 100); paid 60 as before.
    #   Funds 150 + 50 + 30 + 60 = 290 (were 250); own share 0 (was 40).
    r = CliRunner().invoke(app, ["diff", str(RULEBOOK), str(quota_100), str(EXAMPLE), "--format", "markdown",
                                 "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "| claim | person | fund | before | after | change | attributed to |" in r.output
    assert "| C2 | I-3 | outpatient_quota | 10.00 | 50.00 | +40.00 | outpatient quota 80 yuan → 100 yuan: " \
           "+40.00 |" in r.output
    assert "Claims affected: 1 of 4" in r.output
    for row in ("| D-1 | 2017 | 80.00 → 100.00 | 10.00 → 0.00 | 70.00 → 100.00 |",
                "| I-2 | 2017 | 80.00 → 100.00 | 80.00 → 100.00 | 0.00 |",
                "| I-3 | 2017 | 80.00 → 100.00 | 80.00 → 90.00 | 0.00 → 10.00 |"):
        assert row in r.output
    assert "Household H-1: the funds pay 250.00 yuan → 290.00 yuan; the persons pay 40.00 yuan → 0.00 yuan." \
        in r.output
    r = CliRunner().invoke(app, ["diff", str(RULEBOOK), str(quota_100), str(EXAMPLE), "--json"])
    doc = json.loads(r.output)
    assert [(c["id"], c["person"], c["after"]["outpatient_quota"]) for c in doc["claims"]] == [
        ("C1", "I-1", "150.00"), ("C2", "I-3", "50.00"), ("C3", "I-3", "30.00"), ("C4", "D-1", "60.00")]
    [h] = doc["households"]
    assert h["totals"]["after"] == {"funds_paid": "290.00", "member_pays": "0.00"}


def _diff_schema():
    import jsonschema
    from importlib import resources
    schema = json.loads((resources.files("medrules") / "schema" / "diff-1.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_diff_json_validates_against_its_schema(quota_100, tmp_path, monkeypatch):
    validator = _diff_schema()

    def valid(args):
        r = CliRunner().invoke(app, ["diff", *map(str, args), "--json", "--lang", "en"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors[:5]
        return doc
    doc = valid([RULEBOOK, quota_100, EXAMPLE])  # a household file: persons and households
    assert doc["households"] and all("person" in c for c in doc["claims"])
    # the other kinds of diff keep validating: years of claims, years of contributions (members), membership
    monkeypatch.chdir(ROOT)
    assert "person" not in valid(["rulebooks/pingyang/residents-earlier.mr", "rulebooks/pingyang/residents-2019.mr",
                                  "examples/pingyang-2019-inpatient-year.json", "--reading",
                                  "deductible_above_limit=charged"])["claims"][0]
    member = tmp_path / "m.json"
    member.write_text(json.dumps({"member": {"id": "K", "tier": "tier2", "age": 17}}), encoding="utf-8")
    assert valid(["rulebooks/jiang/contributions-2020.mr", "rulebooks/jiang/contributions-2021.mr", member])["members"]
    doc["claims"][0]["person"] = 3
    doc["households"][0]["quotas"][0]["before"]["left"] = "80"
    assert len(list(validator.iter_errors(doc))) >= 2


def test_diff_of_a_household_under_the_same_rulebook_changes_nothing():
    r = CliRunner().invoke(app, ["diff", str(RULEBOOK), str(RULEBOOK), str(EXAMPLE), "--format", "markdown",
                                 "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Claims affected: 0 of 4" in r.output
    assert "| I-2 | 2017 | 80.00 | 80.00 | 0.00 |" in r.output  # quota 80, all drawn (70 by I-1 + 10 by I-3)


MIXED = """rulebook "t" { effective from 2017-01-01 year starts 01-01 by claim.date rounding half_up to 0.01 yuan per payment }
facts member { id: text }
facts claim { id: text  date: date  cost: money  from: text = none }
accumulator used: money per year
parameter share: money = SHARE yuan "share" | "share" assumed "x"
fund q assumed "x" { base claim.cost accumulate payments in used rate 100% cap payments at 80 yuan per holder of claim.from }
contribution basic "c" | "c" assumed "x" { premium share }
total cost is claim.cost
"""


def test_diff_of_a_household_under_rulebooks_of_quotas_and_contributions(tmp_path):
    # a rulebook with both a quota kept per holder (80) and a premium (share: 100 → 120); the household file's
    # persons are assessed each (it crashed: 'HouseholdClaims' object has no attribute 'member'):
    #   A's 100 on B's quota: 80 from B, A pays 20, under both; each owes 100 → 120 (+20, the share)
    old, new = tmp_path / "a.mr", tmp_path / "b.mr"
    old.write_text(MIXED.replace("SHARE", "100"), encoding="utf-8")
    new.write_text(MIXED.replace("SHARE", "120"), encoding="utf-8")
    h = tmp_path / "h.json"
    h.write_text(json.dumps({"members": [{"member": {"id": "A"}, "claims": [
        {"id": "C1", "date": "2017-03-01", "cost": "100.00", "from": "B"}]}, {"member": {"id": "B"}}]}),
        encoding="utf-8")
    r = CliRunner().invoke(app, ["diff", str(old), str(new), str(h), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [(m["id"], m["owes_before"], m["owes_after"]) for m in doc["members"]] == [("A", "100.00", "120.00"),
                                                                                   ("B", "100.00", "120.00")]
    assert [(c["id"], c["person"], c["before"]["q"], c["member_after"]) for c in doc["claims"]] == [
        ("C1", "A", "80.00", "20.00")]
    assert [(q["holder"], q["after"]["left"]) for q in doc["households"][0]["quotas"]] == [("B", "0.00")]
    assert not list(_diff_schema().iter_errors(doc))


def test_diff_refuses_a_bad_household_file_where_it_is_wrong(tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text('{"members": [{"member": {"id": "A", "tier": "tier9"}}]}', encoding="utf-8")
    r = CliRunner().invoke(app, ["diff", str(RULEBOOK), str(RULEBOOK), str(bad)])
    assert r.exit_code == 1 and "h.json:1:" in r.output and "tier9" in r.output and "Traceback" not in r.output


# ---------------------------------------------------------------- documents
def test_the_household_document_in_markdown_and_html():
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--format", "markdown", "--lang", "en"])
    assert r.exit_code == 0, r.output
    md = r.output
    # every person's claims, in the order settled, each with its person; the household's view at the end
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## Claim C1 (I-1) · 2017-03-01 · 2017", "## Claim C2 (I-3) · 2017-04-01 · 2017",
                     "## Claim C3 (I-3) · 2017-05-01 · 2017", "## Claim C4 (D-1) · 2017-06-01 · 2017",
                     "## The household"]
    assert "- Quota of I-2 (2017): 80.00 yuan − drawn 80.00 yuan (by: I-1 70.00; I-3 10.00) = 0.00 yuan left." in md
    assert "- Household totals: total cost 290.00 yuan, funds 250.00 yuan, own share 40.00 yuan" in md
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--format", "html", "--view", "citizen"])
    assert r.exit_code == 0, r.output
    assert "<section class=household><h2>家庭</h2>" in r.output
    assert "<li>您的家庭(H-1)共 4 人:总费用 290.00 元,基金支付 250.00 元,个人共负担 40.00 元。</li>" in r.output
    assert "<h2>I-3 · " in r.output  # the citizen's headings say whose claim


def test_a_household_document_escapes_what_the_file_says(tmp_path):
    doc = {"household": {"id": "<b>H</b>"}, "members": [person("*A*", [outpatient("C|1", "2017-03-01", "10.00")])]}
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(path), "--format", "html", "--lang", "en"])
    assert r.exit_code == 0 and "<b>H</b>" not in r.output and "&lt;b&gt;H&lt;/b&gt;" in r.output, r.output
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(path), "--format", "markdown", "--lang", "en"])
    assert "\\*A\\*" in r.output and "C\\|1" in r.output


def test_the_household_what_if_as_an_html_page_escapes_what_the_file_says(tmp_path):
    # "<i>": a person's id, in the claims' headings and the household's lines; C1 (10 on <i>'s own 80) → 20
    doc = {"household": {"id": "H&1"}, "members": [person("<i>", [outpatient("C1", "2017-03-01", "10.00")])]}
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(path), "--format", "html", "--lang", "en",
                                 "--what-if", "<i>.claim.compliant_cost=20"])
    assert r.exit_code == 0, r.output
    assert "<i>" not in r.output and "Claim C1 (&lt;i&gt;)" in r.output
    assert "<section class=household><h2>The household</h2>" in r.output
    assert "Household H&amp;1: the funds pay 10.00 yuan → 20.00 yuan" in r.output


# ---------------------------------------------------------------- snapshots (read before committing)
@pytest.mark.parametrize("lang, citizen", [("en", False), ("zh", True)], ids=["auditor-en", "citizen-zh"])
def test_household_what_if_text(cq, lang, citizen, snapshot):
    hc = example(cq)
    hw = what_if(cq, hc, parse_changes(["I-1.claim.quota_then=I-3"], hc, cq.checked), lang)
    assert to_text(render_what_if(hw, sensitivity(cq, hc), citizen=citizen), width=120) == snapshot


@pytest.mark.parametrize("args", [
    ["--lang", "en", "--what-if", "I-1.claim.quota_then=I-3", "--format", "markdown"],
    ["--lang", "en", "--format", "markdown", "--claim", "C2"],
], ids=["what-if-markdown", "document-markdown"])
def test_household_documents(args, snapshot):
    # relative paths: the auditor's steps say where in the rulebook, as the user named it
    r = CliRunner().invoke(app, ["explain", "rulebooks/chongqing/residents-2017.mr",
                                 "examples/households/chongqing-quota-2017.json", *args])
    assert r.exit_code == 0, r.output
    assert r.output == snapshot


def test_household_diff_memo(quota_100, snapshot):
    r = CliRunner().invoke(app, ["diff", str(RULEBOOK), str(quota_100), str(EXAMPLE), "--format", "markdown"])
    assert r.exit_code == 0, r.output
    assert r.output == snapshot
