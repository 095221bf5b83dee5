"""M: Kuiwen district (Weifang) residents' scheme, 2011 — rulebooks/weifang/kuiwen-residents-2011.mr.

The report (奎文区城乡一体化医保体系建设情况汇报): “城乡居民三级住院报销比例达到55%,起付线700元,
最高支付限额提高到18万元”; “城镇居民医疗保险尚未实行门诊统筹”.
Readings of the rulebook: 700 per admission; 55% of the compliant cost above it; 180,000 caps the
fund's payments in the calendar year; rounding half-up to the fen. Every expected figure below is
worked out by hand in the docstring from those numbers.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.evaluate.compile import parameter_value
from medrules.explain import explain
from medrules.explain.text import render_explanation, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "weifang" / "kuiwen-residents-2011.mr"
EXAMPLE = ROOT / "examples" / "kuiwen-2011-crosses-cap.json"


@pytest.fixture(scope="module")
def program():
    def read(path):
        return SourceFile(path.resolve().relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    return medrules.load(RULEBOOK, read=read)


def facts(program, *claims, opening=None):
    doc = {"member": {"id": "KW-1"},
           "claims": [{"id": f"C{i}", "date": f"2011-{i:02d}-10", "kind": "tertiary_inpatient", **c}
                      for i, c in enumerate(claims, 1)]}
    if opening:
        doc["opening"] = opening
    return facts_from_source(SourceFile("facts.json", json.dumps(doc)), program.checked)


def settle(program, *claims, opening=None, trace=False):
    return medrules.settle(program, facts(program, *claims, opening=opening), trace=trace)


def pool(claim):
    return claim.fund("inpatient_pool")


def test_the_reports_figures(program):
    """起付线700元, 报销比例55%, 最高支付限额18万元 — as parameters with their citations."""
    ck = program.checked
    assert parameter_value(ck, "tertiary_deductible") == Decimal("700")
    assert parameter_value(ck, "tertiary_rate") == Decimal("0.55")
    assert parameter_value(ck, "annual_cap") == Decimal("180000")


def test_an_ordinary_admission(program):
    """10,700 compliant + 500 self-paid: (10,700 − 700) × 55% = 5,500.00;
    member pays 700 + 10,000 × 45% + 500 = 700 + 4,500 + 500 = 5,700.00."""
    c = settle(program, {"compliant_cost": "10700.00", "self_paid": "500.00"}).claims[0]
    assert pool(c).deductible == Decimal("700.00")
    assert pool(c).paid == Decimal("5500.00")
    assert c.member_pays == Decimal("5700.00")


@pytest.mark.parametrize("cost, paid", [
    ("699.99", "0.00"),    # all of it under the deductible
    ("700.00", "0.00"),    # exactly the deductible: nothing above it
    ("700.01", "0.01"),    # 0.01 × 55% = 0.0055 → half-up 0.01
    ("700.30", "0.17"),    # 0.30 × 55% = 0.165 → half-up 0.17 (half-even would give 0.16)
    ("1234.57", "294.01"),  # 534.57 × 55% = 294.0135 → 294.01
])
def test_on_and_around_the_deductible(program, cost, paid):
    """The deductible is the first 700 of the admission; the rest at 55%, rounded half-up to the fen."""
    c = settle(program, {"compliant_cost": cost}).claims[0]
    assert pool(c).paid == Decimal(paid)
    assert pool(c).deductible == min(Decimal(cost), Decimal("700.00"))


def test_the_deductible_is_taken_once_per_admission(program):
    """Two admissions of 1,700 each: each pays its own 700; (1,700 − 700) × 55% = 550.00 twice.
    A yearly deductible would have paid 550.00 then 935.00."""
    s = settle(program, {"compliant_cost": "1700.00"}, {"compliant_cost": "1700.00"})
    assert [pool(c).paid for c in s.claims] == [Decimal("550.00"), Decimal("550.00")]
    assert [pool(c).deductible for c in s.claims] == [Decimal("700.00"), Decimal("700.00")]


def test_exactly_at_the_cap(program):
    """179,450 paid already this year; an admission of 1,700: 1,000 × 55% = 550.00, which brings the
    year to 180,000.00 exactly: paid in full, nothing above the cap. The next admission of 10,700:
    room 0, so the 10,000 above its deductible is all above the cap; the member pays all 10,700."""
    s = settle(program, {"compliant_cost": "1700.00"}, {"compliant_cost": "10700.00"},
               opening={"inpatient_paid": "179450.00"})
    first, second = s.claims
    assert pool(first).paid == Decimal("550.00") and pool(first).above_cap == 0
    assert first.accumulators["inpatient_paid"] == Decimal("180000.00")
    assert pool(second).paid == 0 and pool(second).above_cap == Decimal("10000.00")
    assert second.member_pays == Decimal("10700.00")


def test_a_claim_crossing_the_cap(program):
    """C1 300,700: 300,000 × 55% = 165,000.00.
    C2 30,700: 30,000 × 55% = 16,500.00 is more than the 180,000 − 165,000 = 15,000.00 left, so the fund
    pays 15,000.00; that covers 15,000 ÷ 55% = 27,272.7272… of cost; 30,000 − 27,272.7272… = 2,727.2727…
    is above the cap (rounded 2,727.27). The member pays 30,700 − 15,000 = 15,700.00."""
    s = settle(program, {"compliant_cost": "300700.00"}, {"compliant_cost": "30700.00"})
    c1, c2 = s.claims
    assert pool(c1).paid == Decimal("165000.00")
    assert pool(c2).paid == Decimal("15000.00")
    assert pool(c2).above_cap == Decimal("2727.27")
    assert c2.member_pays == Decimal("15700.00")
    assert c2.accumulators["inpatient_paid"] == Decimal("180000.00")


def test_outpatient_care_is_not_pooled(program):
    """“尚未实行门诊统筹”: an outpatient visit of 300 is the member's, and the exclusion says why."""
    doc = {"member": {"id": "KW-1"},
           "claims": [{"id": "O1", "date": "2011-05-05", "kind": "outpatient", "compliant_cost": "300.00"}]}
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked))
    c = s.claims[0]
    assert c.funds_paid == 0 and c.member_pays == Decimal("300.00")
    assert pool(c).excluded_by.reason.zh == "城镇居民医疗保险尚未实行门诊统筹"


def test_lower_level_admissions_are_refused_not_paid_zero(program):
    """The report gives only tertiary figures: a secondary-hospital admission is not a kind this
    rulebook knows, and the facts check says so instead of settling it at 0."""
    with pytest.raises(medrules.MedrulesError) as err:
        settle(program, {"kind": "secondary_inpatient", "compliant_cost": "5000.00"})
    assert "secondary_inpatient" in str(err.value)


def test_claims_outside_2011_are_refused(program):
    doc = {"member": {"id": "KW-1"}, "claims": [
        {"id": "X", "date": "2012-01-02", "kind": "tertiary_inpatient", "compliant_cost": "1000.00"}]}
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked))
    assert "after rulebook 'weifang/kuiwen-residents-2011' ends" in str(err.value)


def test_the_example_file(program):
    """examples/kuiwen-2011-crosses-cap.json: the crossing above, plus an outpatient visit (0) and an
    admission after the cap (room 0: 0 paid, all 5,000 − 700 = 4,300 above the cap)."""
    f = facts_from_source(SourceFile(EXAMPLE.relative_to(ROOT).as_posix(), EXAMPLE.read_text(encoding="utf-8")),
                          program.checked)
    s = medrules.settle(program, f)
    assert [pool(c).paid for c in s.claims] == [Decimal("165000.00"), Decimal("0.00"), Decimal("15000.00"),
                                                Decimal("0.00")]
    assert pool(s.claims[-1]).above_cap == Decimal("4300.00")
    assert [c.member_pays for c in s.claims] == [Decimal("136200.00"), Decimal("260.00"), Decimal("15700.00"),
                                                 Decimal("5000.00")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explanation_of_the_claim_crossing_the_cap(program, lang, snapshot):
    """Read against test_a_claim_crossing_the_cap: room 15,000.00; 27,272.7272… covered; 2,727.27 above."""
    s = settle(program, {"compliant_cost": "300700.00"}, {"compliant_cost": "30700.00"}, trace=True)
    e = explain(program, s, lang)
    cap = next(line for line in e.claims[1].lines if line.kind == "cap")
    assert cap.formula.startswith("annual_cap = 180,000.00; 180,000.00 − 165,000.00 = 15,000.00")
    assert to_text(render_explanation(e), width=120) == snapshot


def test_explanation_of_an_outpatient_visit(program, snapshot):
    doc = {"member": {"id": "KW-1"},
           "claims": [{"id": "O1", "date": "2011-05-05", "kind": "outpatient", "compliant_cost": "300.00"}]}
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked),
                        trace=True)
    assert to_text(render_explanation(explain(program, s, "en")), width=120) == snapshot
