"""Chongqing 2017's outpatient quota kept per holder (seed 003, 区社保局2017年度参保缴费问答 普通门诊1):

"2017年城乡居民的普通门诊定额包干标准为80元/人,定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付
费用,在定额包干额度内可全部使用并且报销比例100%,当年未使用的余额可跨年度结转使用(须在次年连续参保缴费后)。对没有
连续参保缴费的居民,未使用完的定额包干资金不再结转和使用。"

Every amount below is worked by hand from that text: 80 a holder a year, 100% within the quota, last year's
balance added only for a holder who paid again (member.continuous). All claims are outpatient at an 'other'
institution, so the grassroots outpatient pooling (which pays only at grassroots institutions) pays nothing
and the quota is the only fund that pays on them.
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
from medrules.explain import explain
from medrules.household import household_lines, household_summary, load_household_claims, settle_household
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"
EXAMPLE = ROOT / "examples" / "households" / "chongqing-quota-2017.json"
D = Decimal


@pytest.fixture(scope="module")
def cq():
    return medrules.load(RULEBOOK)


def person(pid, claims=(), **member):
    return {"member": {"id": pid, "tier": "tier1", "paid_on": "2016-10-15", **member}, "claims": list(claims)}


def outpatient(cid, date, cost, **more):
    return {"id": cid, "date": date, "kind": "outpatient", "compliant_cost": cost, **more}


def settle_doc(program, doc, tmp_path, trace=False):
    path = tmp_path / "household.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return settle_household(program, load_household_claims(SourceFile.read(path), program.checked), trace=trace)


def paid(hs):
    return {c.id: (c.fund("outpatient_quota").paid, c.member_pays) for s in hs.settlements for c in s.claims}


def test_a_household_of_three_shares_its_quotas(cq):
    # The example: household H-1 of three at 80 each, and D-1 whom I-3 designated (80 of their own).
    #   C1 (I-1, 150, names I-1 then I-2): room 80 + 80 = 160 ≥ 150 → pays 150: 80 from I-1 (left 0),
    #      70 from I-2 (left 80 − 70 = 10); I-1 pays 150 − 150 = 0.
    #   C2 (I-3, 50, names I-2): I-2 has 10 left → pays 10 (left 0); I-3 pays 50 − 10 = 40.
    #   C3 (I-3, 30, names nobody → own): pays 30 from I-3 (left 80 − 30 = 50); I-3 pays 0.
    #   C4 (D-1, 60, names I-3 then D-1): 50 from I-3 (left 0) + 10 from D-1 (left 70); D-1 pays 0.
    #   Household: cost 150 + 50 + 30 + 60 = 290; funds 150 + 10 + 30 + 60 = 250; own share 40.
    hs = settle_household(cq, load_household_claims(SourceFile.read(EXAMPLE), cq.checked), trace=True)
    assert paid(hs) == {"C1": (D("150.00"), D("0.00")), "C2": (D("10.00"), D("40.00")),
                        "C3": (D("30.00"), D("0.00")), "C4": (D("60.00"), D("0.00"))}
    assert [(d.claim, d.holder, d.amount, d.left, d.relation) for d in hs.book.draws] == [
        ("C1", "I-1", D("80.00"), D("0.00"), "own"), ("C1", "I-2", D("70.00"), D("10.00"), "household"),
        ("C2", "I-2", D("10.00"), D("0.00"), "household"), ("C3", "I-3", D("30.00"), D("50.00"), "own"),
        ("C4", "I-3", D("50.00"), D("0.00"), "designated"), ("C4", "D-1", D("10.00"), D("70.00"), "own")]
    s = household_summary(hs)
    assert s["totals"] == {"total_cost": D("290.00"), "funds_paid": D("250.00"), "member_pays": D("40.00"),
                           "quota_drawn": D("250.00")}
    assert {q["holder"]: q["left"] for q in s["quotas"]} == {"I-1": 0, "I-2": 0, "I-3": 0, "D-1": D("70.00")}


def test_the_explanation_says_whose_quota_paid(cq):
    hs = settle_household(cq, load_household_claims(SourceFile.read(EXAMPLE), cq.checked), trace=True)
    c1 = hs.settlements[0]
    en = explain(cq, c1, "en")
    text = " ".join(line.text for c in en.claims for line in c.lines)
    assert ("Drawn on the quotas (the claim names whose pays, in order): 80.00 yuan from I-1's own quota "
            "(0.00 yuan left); 70.00 yuan from the quota of I-2, a relative (same household) (10.00 yuan left).") in text
    zh = " ".join(line.text for c in explain(cq, c1, "zh").claims for line in c.lines)
    assert "I-1 本人的定额包干资金支付 80.00 元(余额 0.00 元)" in zh and "亲属 I-2(同一家庭)的定额包干资金支付 70.00 元" in zh
    d1 = explain(cq, hs.settlements[3], "en")
    assert "the quota of I-3, who designated the patient" in " ".join(x.text for c in d1.claims for x in c.lines)


def test_claims_draw_in_date_order_not_file_order(cq, tmp_path):
    # I-2 is listed after I-1 but claims first: C2 (I-2, 2017-02-01, 100, own) takes all of I-2's 80.
    # C1 (I-1, 2017-03-01, 150, names I-1 then I-2): I-1 80 + I-2 0 → pays 80; I-1 pays 150 − 80 = 70.
    doc = {"household": {"id": "H"}, "members": [
        person("I-1", [outpatient("C1", "2017-03-01", "150.00", quota_from="I-1", quota_then="I-2")]),
        person("I-2", [outpatient("C2", "2017-02-01", "100.00")])]}
    assert paid(settle_doc(cq, doc, tmp_path)) == {"C1": (D("80.00"), D("70.00")), "C2": (D("80.00"), D("20.00"))}


@pytest.mark.parametrize("continuous, quota", [(True, "100.00"), (False, "80.00")])
def test_last_years_balance_carries_over_only_after_paying_again(cq, tmp_path, continuous, quota):
    # I-2 left 20 unused in 2016. Paid again for 2017 (continuous): 80 + 20 = 100; not: 80, the 20 lapses.
    # C1 (I-1, 150, names I-2 only) → pays min(150, I-2's quota); I-1 pays the rest (50 or 70).
    doc = {"members": [person("I-1", [outpatient("C1", "2017-05-01", "150.00", quota_from="I-2")]),
                       person("I-2", continuous=continuous, quota_balance="20.00")]}
    hs = settle_doc(cq, doc, tmp_path)
    assert paid(hs) == {"C1": (D(quota), D("150.00") - D(quota))}
    assert [(d.holder, d.amount, d.left) for d in hs.book.draws] == [("I-2", D(quota), D("0.00"))]


def test_a_member_settled_alone_draws_on_their_own_quota(cq):
    # the plain facts file of one member: the quota is theirs (80), as before the quota was kept per holder
    facts = medrules.load_facts({"member": {"id": "M", "tier": "tier1", "paid_on": "2016-10-15"},
                                 "claims": [outpatient("A", "2017-03-01", "50.00"),
                                            outpatient("B", "2017-04-01", "50.00")]}, cq)
    s = medrules.settle(cq, facts)
    assert [c.fund("outpatient_quota").paid for c in s.claims] == [D("50.00"), D("30.00")]  # 50; then 80 − 50


def test_a_holder_who_is_not_in_the_file_is_refused_at_the_fact(cq, tmp_path):
    doc = {"members": [person("I-1", [outpatient("C1", "2017-03-01", "150.00", quota_from="X-9")])]}
    with pytest.raises(medrules.MedrulesError) as e:
        settle_doc(cq, doc, tmp_path)
    [d] = e.value.diagnostics
    assert d.code == "quota" and "'X-9'" in d.message and "I-1" in d.hint
    line = (tmp_path / "household.json").read_text().splitlines()[d.span.line - 1]
    assert line[d.span.col - 1:d.span.end_col - 1] == '"X-9"'  # the value of claims[0].quota_from, underlined
    alone = {"member": {"id": "M", "tier": "tier1", "paid_on": "2016-10-15"},
             "claims": [outpatient("C1", "2017-03-01", "10.00", quota_from="K")]}
    with pytest.raises(medrules.MedrulesError) as e:
        medrules.settle(cq, medrules.load_facts(alone, cq))
    assert e.value.diagnostics[0].code == "quota" and "household" in e.value.diagnostics[0].hint


HEAD = '''rulebook "t" { effective from 2017-01-01 year starts 01-01 by claim.date rounding half_up to 0.01 yuan per payment }
facts member { id: text  balance: money = 0 yuan }
facts claim { id: text  date: date  cost: money  from: text = none }
accumulator used: money per year
'''


@pytest.mark.parametrize("body, code, line", [
    ("fund q assumed \"x\" { base claim.cost rate 100% cap cost at 80 yuan per holder of claim.from }",
     "quota", 5),
    ("fund q assumed \"x\" { base claim.cost rate 100% cap payments at 80 yuan per holder }", "quota", 5),
    ("fund q assumed \"x\" { base claim.cost rate 100% cap payments at 80 yuan + holder.balance per holder of claim.date }",
     "quota", 5),
    ("fund q assumed \"x\" { base claim.cost rate 100% cap payments at holder.balance per claim }", "quota", 5),
])
def test_a_quota_is_checked(tmp_path, body, code, line):
    path = tmp_path / "r.mr"
    path.write_text(HEAD + body + "\ntotal cost is claim.cost\n", encoding="utf-8")
    with pytest.raises(medrules.MedrulesError) as e:
        medrules.load(path)
    assert (code, line) in {(d.code, d.span.line) for d in e.value.diagnostics}


def test_the_vector_backend_settles_each_claim_on_its_own_quota_and_rejects_a_row_naming_another(cq):
    # a member table (the vector backend, medrules settle): M1's outpatient claims of 50 and 50, own quota 80:
    #   A: 50 (80 − 0 left); B: min(50, 80 − 50 = 30) = 30; M1 pays 0 and 20.
    # M2 also gives 'quota_from' = M2 (their own: the same) for C: 100 → 80, pays 20.
    # M3's claim names M1's quota: rejected (a household is settled with 'medrules run'), nothing settled for M3.
    import pyarrow as pa
    from medrules.batch.run import settle_table
    rows = [("M1", "A", "2017-03-01", "50.00", None), ("M1", "B", "2017-04-01", "50.00", None),
            ("M2", "C", "2017-03-01", "100.00", "M2"), ("M3", "D", "2017-03-01", "10.00", "M1")]
    table = pa.table({"member_id": [r[0] for r in rows], "claim_id": [r[1] for r in rows],
                      "date": [r[2] for r in rows], "kind": ["outpatient"] * 4,
                      "compliant_cost": [r[3] for r in rows], "quota_from": [r[4] for r in rows],
                      "tier": ["tier1"] * 4, "paid_on": ["2016-10-15"] * 4})
    results, rejects = settle_table(cq, table)
    paid = {r["claim_id"]: (str(r["paid.outpatient_quota"]), str(r["member_pays"])) for r in results.to_pylist()}
    assert paid == {"A": ("50.00", "0.00"), "B": ("30.00", "20.00"), "C": ("80.00", "20.00")}
    [reject] = rejects.to_pylist()
    assert reject["column"] == "quota_from" and "another person" in reject["reason"]


def test_the_vector_backend_refuses_a_quota_it_cannot_settle_at_load(tmp_path):
    # the quota fund's payments accumulator is shared with another fund: the patient's yearly payments are not
    # what was drawn on their quota, so the vector backend cannot read the one as the other
    from medrules.batch.vector import compile_vector
    path = tmp_path / "r.mr"
    path.write_text(HEAD + """fund q assumed "x" { base claim.cost accumulate payments in used rate 100%
  cap payments at 80 yuan + holder.balance per holder of claim.from }
fund p assumed "y" { base q.remaining accumulate payments in used rate 50% }
total cost is claim.cost
""", encoding="utf-8")
    with pytest.raises(medrules.MedrulesError) as e:
        compile_vector(medrules.load(path))
    [d] = e.value.diagnostics
    assert d.code == "vector" and "per holder" in d.message and "medrules run" in d.hint and d.span.line == 6


def test_run_prints_the_household_view(tmp_path):
    r = CliRunner().invoke(app, ["run", str(RULEBOOK), str(EXAMPLE), "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Quota of I-2 (2017): 80.00 yuan − drawn 80.00 yuan (by: I-1 70.00; I-3 10.00) = 0.00 yuan left." in r.output
    assert "Household totals: total cost 290.00 yuan, funds 250.00 yuan, own share 40.00 yuan" in r.output
    r = CliRunner().invoke(app, ["run", str(RULEBOOK), str(EXAMPLE), "--view", "citizen"])
    assert r.exit_code == 0 and "您的家庭(H-1)共 4 人:总费用 290.00 元,基金支付 250.00 元,个人共负担 40.00 元。" in r.output
    r = CliRunner().invoke(app, ["run", str(RULEBOOK), str(EXAMPLE), "--json"])
    doc = json.loads(r.output)
    assert doc["household"]["totals"] == {"total_cost": "290.00", "funds_paid": "250.00", "member_pays": "40.00",
                                          "quota_drawn": "250.00"}
    assert [(x["patient"], x["holder"], x["amount"]) for x in doc["draws"]][:2] == [("I-1", "I-1", "80.00"),
                                                                                    ("I-1", "I-2", "70.00")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 300), st.integers(1, 28),
                          st.lists(st.integers(0, 2), max_size=2)), min_size=1, max_size=8))
def test_no_quota_is_overdrawn_and_the_fund_pays_what_it_drew(cq, claims):
    # invariants: per holder, drawn ≤ 80 (no carry-over here); the quota fund's payment on each claim is the
    # sum of its draws, and equals min(cost, the named holders' balances before it)
    ids = ["I-0", "I-1", "I-2"]
    people = {i: [] for i in ids}
    for n, (who, cost, day, named) in enumerate(claims):
        extra = {k: ids[h] for k, h in zip(("quota_from", "quota_then"), named)}
        people[ids[who]].append(outpatient(f"C{n}", f"2017-03-{day:02d}", f"{cost}.00", **extra))
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        hs = settle_doc(cq, {"members": [person(i, people[i]) for i in ids]}, Path(tmp))
    drawn: dict = {}
    for d in hs.book.draws:
        drawn[d.holder] = drawn.get(d.holder, 0) + d.amount
    assert all(v <= 80 for v in drawn.values())
    by_claim: dict = {}
    for d in hs.book.draws:
        by_claim[d.claim] = by_claim.get(d.claim, 0) + d.amount
    for s in hs.settlements:
        for c in s.claims:
            assert c.fund("outpatient_quota").paid == by_claim.get(c.id, 0)
    # an independent model of the text: the claims of all three in date order (ties: file order, person by
    # person), each paid min(cost, what the named holders have left), drawn on them in the order named
    left = {i: 80 for i in ids}
    expected = {}
    order = sorted(((day, ids.index(ids[who]), n) for n, (who, cost, day, named) in enumerate(claims)))
    for day, _, n in order:
        who, cost, _day, named = claims[n]
        holders = list(dict.fromkeys(ids[h] for h in named)) or [ids[who]]
        pay = want = min(cost, sum(left[h] for h in holders))
        for h in holders:
            take = min(left[h], want)
            left[h], want = left[h] - take, want - take
        expected[f"C{n}"] = pay
    assert {c.id: c.fund("outpatient_quota").paid for s in hs.settlements for c in s.claims} == expected


def test_household_lines_in_both_languages(cq):
    hs = settle_household(cq, load_household_claims(SourceFile.read(EXAMPLE), cq.checked))
    assert household_lines(hs, "zh", "auditor")[-1] == (
        "家庭合计:总费用 290.00 元,基金支付 250.00 元,个人负担 40.00 元;其中定额包干资金 250.00 元。")


def test_explain_on_a_household_file_validates_against_the_published_schema():
    import jsonschema
    from importlib import resources
    schema = json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(EXAMPLE), "--json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    for e in doc["explanations"]:
        jsonschema.validate(e, schema)
    quota = [s["values"] for e in doc["explanations"] for c in e["claims"] for s in c["steps"] if s["kind"] == "quota"]
    # C4 (D-1, 60): I-3 had 80 − 30 (C3) = 50 left → 50 drawn, 0 left; then D-1's own 80 → 10 drawn, 70 left
    assert quota[-1]["draws"] == [
        {"holder": "I-3", "quota": "80.00", "used": "30.00", "drawn": "50.00", "left": "0.00", "relation": "designated"},
        {"holder": "D-1", "quota": "80.00", "used": "0.00", "drawn": "10.00", "left": "70.00", "relation": "own"}]
    # --what-if on a household file: tests/test_household_analyses.py


@pytest.mark.parametrize("doc, message", [
    ({"members": []}, "'members' must be a list of persons' facts"),
    ({"members": [3]}, "members[0] must be a JSON object"),
    ({"members": [{"id": "A", "tier": "tier1"}], "designated": {}}, "'designated' must be a list of persons' facts"),
    ({"household": 5, "members": [{"id": "A", "tier": "tier1"}]}, "this rulebook declares no household facts"),
    ({"members": [{"id": "A", "tier": "tier1"}, {"id": "A", "tier": "tier2"}]}, "person 'A' is listed twice"),
    ({"members": [{"id": "A", "tier": "tier1"}], "extra": 1}, "'extra' is not part of a household's facts file"),
    ({"members": [{"member": {"id": "A", "tier": "tier1"}, "claims": [
        {"id": "C1", "date": "2017-03-01", "kind": "outpatient", "compliant_cost": "10.00"}]},
                  {"member": {"id": "B", "tier": "tier1"}, "claims": [
        {"id": "C1", "date": "2017-03-02", "kind": "outpatient", "compliant_cost": "20.00"}]}]},
     "claim 'C1' of person 'B' has the id of a claim of person 'A'"),
])
def test_a_bad_household_file_is_refused_where_it_is_wrong(cq, tmp_path, doc, message):
    with pytest.raises(medrules.MedrulesError) as e:
        settle_doc(cq, doc, tmp_path)
    d = e.value.diagnostics[0]
    assert message in d.message and d.span is not None and d.span.line == 1


def test_an_opening_value_of_the_quota_fund_is_drawn_on_the_own_quota(cq):
    # a member's facts file says 50 of the outpatient quota was used this year before its claims
    # (opening quota_used = 50): the 50-yuan visit gets 80 − 50 = 30, the member pays 20 — on both backends
    doc = {"member": {"id": "M", "tier": "tier1", "paid_on": "2016-10-15"}, "opening": {"quota_used": "50.00"},
           "claims": [outpatient("A", "2017-03-01", "50.00")]}
    [c] = medrules.settle(cq, medrules.load_facts(doc, cq)).claims
    assert (c.fund("outpatient_quota").paid, c.member_pays) == (D("30.00"), D("20.00"))


@pytest.mark.parametrize("named, quota_paid", [(None, "0.00"), ("MO", "50.00")])
def test_a_newborn_sharing_the_mothers_benefits_draws_on_the_mothers_quota(cq, tmp_path, named, quota_paid):
    # newborn N (born 2017-04-10, not enrolled, mother enrolled: covered from birth) has paid no contribution,
    # so holds no quota ("80元/人" of the insured): an outpatient visit of 50 on N's own quota gets 0;
    # naming the mother MO (80, unused) it gets min(50, 80) = 50
    newborn = {"member": {"id": "N", "tier": "tier1", "born_on": "2017-04-10", "mother_enrolled": True},
               "claims": [outpatient("C1", "2017-05-01", "50.00", **({"quota_from": named} if named else {}))]}
    hs = settle_doc(cq, {"members": [person("MO"), newborn]}, tmp_path)
    assert paid(hs) == {"C1": (D(quota_paid), D("50.00") - D(quota_paid))}


def test_run_refuses_the_household_view_on_a_members_facts_file():
    r = CliRunner().invoke(app, ["run", "rulebooks/quzhou/employee-2012",
                                 "examples/quzhou-employee-2012-inpatient-year.json", "--view", "citizen"])
    assert r.exit_code != 0 and "household" in r.output and "explain" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("args, what", [
    (["rulebooks/pingyang", "examples/pingyang-2019-cataract.json"], "a folder of policy years"),
    (["rulebooks/quzhou/membership-2020.mr", "examples/membership/quzhou-employee-stopped-in-april.json"],
     "a membership rulebook"),
])
def test_run_refuses_the_household_view_everywhere_else(args, what):
    """--view was silently ignored for a folder of years and a membership rulebook (and JSON Lines)."""
    r = CliRunner().invoke(app, ["run", *args, "--view", "citizen"])
    assert r.exit_code == 1 and f"not {what}" in r.output and "Traceback" not in r.output, r.output


def test_run_refuses_the_household_view_for_json_lines(tmp_path):
    lines = tmp_path / "m.jsonl"
    lines.write_text((ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json").read_text(encoding="utf-8")
                     .replace("\n", " ") + "\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["run", "rulebooks/quzhou/employee-2012.mr", str(lines), "--view", "citizen"])
    assert r.exit_code == 1 and "not a JSON Lines file" in r.output, r.output
