"""The facts that would change the outcome most, for a membership rulebook (`explain … --what-if`), and
`--what-if HISTORY[N].FIELD=VALUE` (a field of one record of a member's history).

Amounts by hand from the rulebooks' figures:
* Quzhou employee scheme (employee-2012.mr, 衢政发〔2011〕102号): inpatient 600 deductible per admission, then 84% (to
  60,000 cumulative), +5 points for a retired member; outpatient 300 deductible a year on at most 3,000 of cost, 50%
  (other designated institutions);
* Quzhou resident scheme (residents-2020.mr, ILLUSTRATIVE, declared assumed): inpatient 60%, otherwise 50%, no
  deductible; a cost a third party paid is excluded;
* Quzhou membership (membership-2020.mr): the employee scheme inside an employee period not in arrears (or in
  arrears, for an employed member); the resident scheme from the month after the employee period stopped, or for
  a flexible worker's arrears;
* Qinhuangdao former schemes (ILLUSTRATIVE): urban residents 500 deductible then 60%; NCMS 300 then 55%; both pay
  inpatient care only; 'highest of' keeps the better, ties to the first named (urban residents).
"""
from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.diagnostics import MedrulesError
from medrules.membership import load_membership
from medrules.membership_sensitivity import sensitivity
from medrules.membership_whatif import what_if
from medrules.source import SourceFile

QUZHOU = "rulebooks/quzhou/membership-2020.mr"
STOPPED = "examples/membership/quzhou-employee-stopped-in-april.json"  # employee to 2020-04; C1 03-12, C2 05-10
QHD = "rulebooks/qinhuangdao-integration/integration-2017.mr"
QHD_FACTS = "examples/membership/qinhuangdao-integration-2017.json"
# a flexible worker in arrears from January 2020 (as in tests/test_membership_documents.py)
ARREARS = {"member": {"id": "F1", "category": "working", "employment": "flexible"},
           "periods": [{"scheme": "employee", "first_month": "2018-01-01", "last_month": "2019-12-01"},
                       {"scheme": "employee", "first_month": "2020-01-01", "arrears": True}],
           "claims": [{"id": "C1", "date": "2020-04-10", "kind": "inpatient", "compliant_cost": "5000.00"}]}

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d\d$"}
MOST_SCHEMA = {  # the 'most_sensitive' list of medrules.whatif/1, as a membership rulebook fills it
    "type": "array", "items": {
        "type": "object", "required": ["fact", "value", "change"], "additionalProperties": False,
        "properties": {"fact": {"type": "string", "pattern": r"^(member|claim|[a-z_][a-z0-9_]*\[[1-9][0-9]*\])\.\w+$"},
                       "value": {}, "change": MONEY,
                       "moves": {"type": "array", "minItems": 1, "items": {
                           "type": "object", "required": ["claim", "before", "after"], "additionalProperties": False,
                           "properties": {"claim": {"type": "string"}, "before": {"type": "string"},
                                          "after": {"type": "string"}}}}}}}


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)

    def invoke(rulebook, doc, *args: str, ok: bool = True) -> str:
        if isinstance(doc, dict):
            path = tmp_path / "facts.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            doc = str(path)
        r = CliRunner().invoke(app, ["explain", str(rulebook), str(doc), *args])
        assert (r.exit_code == 0) == ok, r.output
        assert "Traceback" not in r.output
        return r.output
    return invoke


def most(run, rulebook, doc, *change: str) -> list[dict]:
    w = json.loads(run(rulebook, doc, "--what-if", *change, "--json", "--lang", "en"))
    jsonschema.Draft202012Validator(MOST_SCHEMA).validate(w["most_sensitive"])
    return w["most_sensitive"]


def test_the_ranking_over_the_membership_and_the_schemes_facts(run):
    """C1 (employee-2012, 10,600) pays (10,600 − 600) × 84% = 8,400.00; C2 (residents-2020, 10,000) 6,000.00.
    1. claim.kind=outpatient: C1 (3,000 − 300) × 50% = 1,350.00 (−7,050); C2 10,000 × 50% = 5,000.00 (−1,000):
       −8,050.00 (family_ward would give C1 10,600 × 84% = 8,904 (+504) and C2 −1,000: −496, less);
    2. claim.third_party=third_party_paid: C2 excluded by the resident scheme: −6,000.00;
    3. period[1].last_month=2020-05-01: the nearest last month that moves a claim (March or April change
       nothing): C2 in the employee scheme, (10,000 − 600) × 84% = 7,896.00: +1,896.00, and it says so;
    4. member.category=retired: C1 +5 points, (10,600 − 600) × 5% = +500.00.
    The employee period's first month, its arrears (an employed member stays) and member.employment (no
    arrears) change nothing; period[1].scheme=resident leaves C2 insured in no scheme and is left out."""
    ranked = most(run, QUZHOU, STOPPED, "residents-2020.inpatient_rate=70%")
    assert [(m["fact"], m["value"], m["change"]) for m in ranked] == [
        ("claim.kind", "outpatient", "-8050.00"),
        ("claim.third_party", "third_party_paid", "-6000.00"),
        ("period[1].last_month", "2020-05-01", "1896.00"),
        ("member.category", "retired", "500.00")]
    assert ranked[2]["moves"] == [{"claim": "C2", "before": "residents-2020", "after": "employee-2012"}]
    assert "moves" not in ranked[3]


def test_the_ranking_in_text_markdown_and_html(run, snapshot):
    text = run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%", "--lang", "en")
    flat = " ".join(text.split())
    assert ("3. period[1].last_month=2020-05-01: +1,896.00 yuan (C2 would be settled under employee-2012, not "
            "residents-2020)") in flat
    citizen = " ".join(run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%", "--view", "citizen",
                           "--lang", "en").split())
    assert "period[1].last_month=2020-05-01: +1,896.00 yuan (C2 would be settled under employee-2012" in citizen
    zh = " ".join(run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%").split())
    assert "3. period[1].last_month=2020-05-01: +1,896.00 元 (结算单 C2 将改按 employee-2012 结算(原为 residents-2020))" in zh
    md = run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%", "--format", "markdown", "--lang", "en")
    assert ("3. period\\[1\\].last\\_month=2020-05-01: +1,896.00 yuan (C2 would be settled under employee-2012, not "
            "residents-2020)\n4. member.category=retired: +500.00 yuan\n") in md
    assert md == snapshot
    html = run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%", "--format", "html", "--lang", "en")
    assert ("<li>period[1].last_month=2020-05-01: +1,896.00 yuan (C2 would be settled under employee-2012, not "
            "residents-2020)</li>") in html


def test_a_flexible_workers_arrears_ranked(run):
    """C1 (2020-04-10, 5,000) is in the arrears: residents-2020, 5,000 × 60% = 3,000.00.
    claim.third_party=third_party_paid: −3,000.00 (excluded);
    in the employee scheme instead: (5,000 − 600) × 84% = 3,696.00, +696.00, three ways (ties by their text):
      member.employment=employed (an employed member's arrears keep the employee scheme),
      period[1].last_month=2020-04-01 (the earlier employee period, not in arrears, reaching April: the nearest
        such month; months back to 2019-10 only move C1 between the resident scheme's statements),
      period[2].arrears=false;
    claim.kind=outpatient: 5,000 × 50% = 2,500.00: −500.00.
    The arrears period's first month changes only which resident statement applies (within the six months, or
    after them): the same scheme, the same money, not ranked."""
    ranked = most(run, QUZHOU, ARREARS, "claim.compliant_cost=6000")
    assert [(m["fact"], m["value"], m["change"]) for m in ranked] == [
        ("claim.third_party", "third_party_paid", "-3000.00"),
        ("member.employment", "employed", "696.00"),
        ("period[1].last_month", "2020-04-01", "696.00"),
        ("period[2].arrears", False, "696.00"),
        ("claim.kind", "outpatient", "-500.00")]
    for m in ranked[1:4]:
        assert m["moves"] == [{"claim": "C1", "before": "residents-2020", "after": "employee-2012"}]


def test_under_highest_of_the_ranking_says_which_scheme_would_win(run):
    """C1 10,000: urban (10,000 − 500) × 60% = 5,700.00 wins over NCMS (9,700 × 55% = 5,335.00);
    C2 1,000: NCMS 700 × 55% = 385.00 wins over urban 500 × 60% = 300.00. As outpatient claims neither pays:
    −6,085.00, and C2's tie goes to the first named, urban-residents-2016."""
    ranked = most(run, QHD, QHD_FACTS, "ncms-2016.inpatient_rate=65%")
    assert ranked == [{"fact": "claim.kind", "value": "outpatient", "change": "-6085.00",
                       "moves": [{"claim": "C2", "before": "ncms-2016", "after": "urban-residents-2016"}]}]


def test_a_count_is_tried_at_the_parameter_it_is_compared_with(run, tmp_path):
    """A member's months in arrears (4) against arrears_months (6): tried at 3 and 5 (nothing changes), then 6,
    the boundary: C1 (1,000) moves from s1 (80%: 800.00) to s2 (50%: 500.00): −300.00. 7 is not tried (farther)."""
    head = ('rulebook "t/%s" { effective from 2020-01-01 year starts 01-01 by claim.date '
            'rounding half_up to 0.01 yuan per payment }\n')
    scheme = '''facts member { id: text }
facts claim { id: text  date: date  cost: money }
total cost is claim.cost
fund f "F" assumed "test" {
  base claim.cost
  rate %s assumed "test"
}
'''
    (tmp_path / "s1.mr").write_text(head % "s1" + scheme % "80%", encoding="utf-8")
    (tmp_path / "s2.mr").write_text(head % "s2" + scheme % "50%", encoding="utf-8")
    (tmp_path / "m.mr").write_text(head % "m" + '''facts member { id: text  months_in_arrears: months }
facts claim { id: text  date: date }
parameter arrears_months: months = 6 months "arrears that end the first scheme" assumed "test"
insured one "One" under "s1.mr" when member.months_in_arrears < arrears_months because "paid" assumed "test"
insured two "Two" under "s2.mr" when member.months_in_arrears >= arrears_months because "arrears" assumed "test"
''', encoding="utf-8")
    doc = {"member": {"id": "M", "months_in_arrears": 4},
           "claims": [{"id": "C1", "date": "2020-03-01", "cost": "1000.00"}]}
    ranked = most(run, tmp_path / "m.mr", doc, "claim.cost=1200", "--root", str(tmp_path))
    assert ranked == [{"fact": "member.months_in_arrears", "value": 6, "change": "-300.00",
                       "moves": [{"claim": "C1", "before": "s1", "after": "s2"}]}]


# ---------------------------------------------------------------- --what-if HISTORY[N].FIELD=VALUE
def test_what_if_a_history_record_changes(run):
    """period[1].last_month=2020-05-01: the employee period reaches May, C2 is settled under employee-2012:
    (10,000 − 600) × 84% = 7,896.00 instead of 6,000.00 (+1,896.00)."""
    w = json.loads(run(QUZHOU, STOPPED, "--what-if", "period[1].last_month=2020-05-01", "--json", "--lang", "en"))
    assert w["changes"] == [{"fact": "period[1].last_month", "value": "2020-05-01"}]
    c2 = next(c for c in w["claims"] if c["id"] == "C2")
    assert c2["scheme"]["before"]["rulebook"] == "quzhou/residents-2020"
    assert c2["scheme"]["after"]["rulebook"] == "quzhou/employee-2012"
    assert w["funds"]["change"] == "1896.00"
    assert {f["fund"]: f["after"] for f in c2["funds"]}["employee-2012.inpatient_pool"] == "7896.00"


@pytest.mark.parametrize("change, message", [
    ("period[2].last_month=2020-05-01", "'period[2]': examples/membership/quzhou-employee-stopped-in-april.json "
                                        "gives 1 record(s) of 'periods'"),
    ("perod[1].last_month=2020-05-01", "'perod' is not a history of any rulebook involved"),
    ("period[1].last=2020-05-01", "'period[1].last' is not a field of period"),
    ("period[1].last_month=soon", "period[1].last_month: 'soon' is not a date"),
    ("period[0].arrears=true", "'period[0]': records are counted from 1"),
])
def test_bad_history_changes_are_located_errors(run, change, message):
    out = " ".join(run(QUZHOU, STOPPED, "--what-if", change, "--lang", "en", ok=False).split())
    assert out.startswith("--what-if:1:1: error[") and message in out


def test_a_claim_selected_keeps_only_the_claims_that_can_affect_it(run):
    """--claim C1: C2 (later) is left out, and the candidate dates come from C1's date only. C1 as an outpatient
    claim: −7,050.00 (as above); the nearest last month that moves C1: February (2020-02-29, 32 days before
    April; every March date keeps C1 in the employee period): the resident scheme from March,
    10,600 × 60% = 6,360.00 instead of 8,400.00: −2,040.00; the same with the period a resident one (without C2,
    which that would leave insured in no scheme, it settles); retired: +500.00. (C2's third party is not C1's.)"""
    w = json.loads(run(QUZHOU, STOPPED, "--what-if", "claim.compliant_cost=11000", "--claim", "C1", "--json",
                       "--lang", "en"))
    assert [(m["fact"], m["value"], m["change"]) for m in w["most_sensitive"]] == [
        ("claim.kind", "outpatient", "-7050.00"),
        ("period[1].last_month", "2020-02-29", "-2040.00"),
        ("period[1].scheme", "resident", "-2040.00"),
        ("member.category", "retired", "500.00")]
    assert w["most_sensitive"][1]["moves"] == w["most_sensitive"][2]["moves"]
    assert w["most_sensitive"][1]["moves"] == [{"claim": "C1", "before": "employee-2012", "after": "residents-2020"}]


# ---------------------------------------------------------------- invariant
@settings(max_examples=8, deadline=None)
@given(last=st.dates(min_value=dt.date(2019, 6, 1), max_value=dt.date(2020, 10, 1)),
       days=st.lists(st.integers(0, 360), min_size=1, max_size=3, unique=True),
       costs=st.lists(st.integers(1_000, 50_000), min_size=3, max_size=3),
       flexible=st.booleans(), arrears=st.booleans())
def test_each_ranked_change_is_what_the_what_if_pays(last, days, costs, flexible, arrears):
    """For generated Quzhou members (an employee period ending on a generated month, claims through 2020): every
    entry of the ranking, tried as a --what-if, changes the funds' total by exactly its 'change' and moves exactly
    the claims it names; the ranking is ordered by the size of the change."""
    ms = load_membership(medrules.load(ROOT / QUZHOU))
    claims = [{"id": f"C{i}", "date": (dt.date(2020, 1, 1) + dt.timedelta(days=d)).isoformat(), "kind": "inpatient",
               "compliant_cost": f"{c}.00"} for i, (d, c) in enumerate(zip(sorted(days), costs))]
    doc = {"member": {"id": "M", "category": "working", "employment": "flexible" if flexible else "employed"},
           "periods": [{"scheme": "employee", "first_month": "2015-01-01", "last_month": last.isoformat(),
                        "arrears": arrears}], "claims": claims}
    source = SourceFile("generated.json", json.dumps(doc))
    try:
        ranked = sensitivity(ms, source)
    except MedrulesError:  # a claim on a date the member is insured in no scheme: refused, located, as by run
        return
    assert [abs(s.delta) for s in ranked] == sorted((abs(s.delta) for s in ranked), reverse=True)
    for s in ranked:
        w = what_if(ms, source, [s.change.text], "en")
        assert w.funds_after - w.funds_before == s.delta, s.change.text
        moved = tuple((c.id, _scheme(w.before, c.id), _scheme(w.after, c.id)) for c in w.after.claims
                      if _scheme(w.before, c.id) != _scheme(w.after, c.id))
        assert s.moves == moved, s.change.text


def _scheme(settlement, claim_id: str) -> str:
    """The file stem of the rulebook that settled a claim ('quzhou/employee-2012' -> 'employee-2012')."""
    return next(x.rulebook for x in settlement.claim(claim_id).steps if x.kind == "insured").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- an unpaid claim: what would have made it pay
def test_an_unpaid_claim_says_what_would_have_made_it_pay(run):
    """C2 (2020-05-10, 10,000, resident scheme) was paid by a third party: excluded, the funds pay 0.00. It would
    have been paid (a) had the employee period reached May: the employee scheme, which does not read the third
    party, (10,000 − 600) × 84% = 7,896.00 (and C2 moves scheme); (b) with no third party liable: 10,000 × 60% =
    6,000.00 (a third party that does not pay: the fund pays first, the same 6,000.00; ties by their text)."""
    doc = json.loads((ROOT / STOPPED).read_text(encoding="utf-8"))
    doc["claims"][1]["third_party"] = "third_party_paid"
    auditor = " ".join(run(QUZHOU, doc, "--lang", "en").split())
    assert auditor.endswith("Claim C2 paid nothing; it would have been paid if: • period[1].last_month=2020-05-01: "
                            "+7,896.00 yuan (C2 would be settled under employee-2012, not residents-2020) "
                            "• claim.third_party=no_third_party: +6,000.00 yuan")
    citizen = " ".join(run(QUZHOU, doc, "--view", "citizen").split())
    assert ("结算单 C2 未获支付;以下事实不同则会支付: • 参保期间 1 · 末月(该月任一日;未给出:至今):2020-05-01: +7,896.00 元 "
            "(结算单 C2 将改按 employee-2012 结算(原为 residents-2020)) • 第三人负担情况:无应由第三人负担的费用: +6,000.00 元") \
        in citizen
    assert "Claim C1 paid nothing" not in auditor  # C1 was paid
