"""K: a province's veterans' medical subsidy (抚恤优待对象医疗保障办法), layered on the Kuiwen residents'
scheme of 2011 — rulebooks/veterans/subsidy.mr on rulebooks/weifang/kuiwen-residents-2011.mr.

The resident scheme pays 55% above a 700 deductible per admission, up to 180,000 a year (see
test_rulebook_kuiwen.py). On what it leaves of the compliant inpatient cost, the subsidy pays at least
(第八条): disabled in war 7–10 70%, on duty 7–10 60%, martyr's family 80%, died on duty 70%, died of
illness 60%, Liberation-War veteran 60%, post-1949 / sick-returned / war / nuclear-test veterans 50%;
several categories: only the highest (第二十一条). Grades 1–6 disabled (第五条): the deductible and the
co-payment in full. Outpatient (第八条): 10% of the yearly pension standard as a quota, reimbursed in
full until used up, last year's unused balance added. 第二十四条: no subsidy for non-designated
institutions, suicide/self-harm/fighting/drunkenness/illegal acts, costs abroad, costs a liable party
pays. Every expected figure below is worked out by hand in the docstring.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.explain import explain
from medrules.explain.json import explanation_json
from medrules.explain.text import render_explanation, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "veterans" / "subsidy.mr"
EXAMPLES = {name: ROOT / "examples" / f"veterans-2011-{name}.json"
            for name in ("martyr-family-year", "disabled-grade-1-6")}


@pytest.fixture(scope="module")
def program():
    def read(path):
        return SourceFile(path.resolve().relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    return medrules.load(RULEBOOK, read=read)


def facts(program, *claims, categories=(), pension="0.00", brought_forward="0.00", opening=None):
    doc = {"member": {"id": "V-1", "categories": list(categories), "pension_standard": pension,
                      "quota_brought_forward": brought_forward},
           "claims": [{"id": f"C{i}", "date": f"2011-{i:02d}-10", "kind": "tertiary_inpatient", **c}
                      for i, c in enumerate(claims, 1)]}
    if opening:
        doc["opening"] = opening
    return facts_from_source(SourceFile("facts.json", json.dumps(doc)), program.checked)


def settle(program, *claims, trace=False, **member):
    return medrules.settle(program, facts(program, *claims, **member), trace=trace)


def paid(claim, fund):
    return claim.fund(fund).paid


ORDINARY = {"compliant_cost": "10700.00", "self_paid": "500.00"}  # resident: (10,700 − 700) × 55% = 5,500.00


# ---------------------------------------------------------------- 第八条, 第二十一条
@pytest.mark.parametrize("category, subsidy", [
    ("disabled_war_7_10", "3640.00"),       # 5,200 × 70%
    ("disabled_duty_7_10", "3120.00"),      # 5,200 × 60%
    ("martyr_family", "4160.00"),           # 5,200 × 80%
    ("duty_death_family", "3640.00"),       # 5,200 × 70%
    ("illness_death_family", "3120.00"),    # 5,200 × 60%
    ("liberation_war_veteran", "3120.00"),  # 5,200 × 60%
    ("post_1949_veteran", "2600.00"),       # 5,200 × 50%
    ("sick_returned", "2600.00"),
    ("war_participant", "2600.00"),
    ("nuclear_test", "2600.00"),
])
def test_each_category_on_the_cost_left_after_the_resident_scheme(program, category, subsidy):
    """10,700 compliant + 500 self-paid. Resident: 5,500.00. Left of the compliant cost:
    10,700 − 5,500 = 5,200 (the self-paid 500 is not counted); the category's rate of that."""
    c = settle(program, ORDINARY, categories=[category]).claims[0]
    assert paid(c, "resident.inpatient_pool") == Decimal("5500.00")
    assert c.fund("category_subsidy").base == Decimal("5200.00")
    assert paid(c, "category_subsidy") == Decimal(subsidy)
    assert c.member_pays == Decimal("11200.00") - Decimal("5500.00") - Decimal(subsidy)


def test_several_categories_get_only_the_highest(program):
    """Disabled on duty (60%), died-of-illness family (60%) and martyr's family (80%): one rate, the
    highest, 80% — not the first listed, and not a sum. 5,200 × 80% = 4,160.00;
    member pays 11,200 − 5,500 − 4,160 = 1,540.00."""
    c = settle(program, ORDINARY,
               categories=["disabled_duty_7_10", "illness_death_family", "martyr_family"]).claims[0]
    assert paid(c, "category_subsidy") == Decimal("4160.00")
    assert paid(c, "disabled_1_6_subsidy") == 0
    assert c.member_pays == Decimal("1540.00")


def test_a_member_with_no_category_gets_nothing(program):
    c = settle(program, ORDINARY, categories=[]).claims[0]
    assert c.funds_paid == Decimal("5500.00") and c.member_pays == Decimal("5700.00")


# ---------------------------------------------------------------- 第五条: grades 1–6
def test_grade_1_6_deductible_and_co_payment_in_full(program):
    """Resident 5,500.00; deductible 700 + co-payment 10,000 × 45% = 4,500 → 5,200 × 100% = 5,200.00.
    The member pays only the 500 self-paid."""
    c = settle(program, ORDINARY, categories=["disabled_1_6"]).claims[0]
    assert paid(c, "disabled_1_6_subsidy") == Decimal("5200.00")
    assert paid(c, "category_subsidy") == 0
    assert c.member_pays == Decimal("500.00")


def test_grade_1_6_exactly_on_the_deductible(program):
    """700.00: all deductible, the resident scheme pays 0; the subsidy pays the 700.00."""
    c = settle(program, {"compliant_cost": "700.00"}, categories=["disabled_1_6"]).claims[0]
    assert paid(c, "resident.inpatient_pool") == 0
    assert paid(c, "disabled_1_6_subsidy") == Decimal("700.00")
    assert c.member_pays == 0


RESIDENT_NEAR_CAP = {"resident.inpatient_paid": "179450.00"}  # 550.00 of the 180,000 left


def test_grade_1_6_does_not_cover_the_cost_above_the_resident_cap(program):
    """179,450 paid by the resident scheme already; an admission of 2,700: 2,000 × 55% = 1,100 > 550 left,
    so the resident pays 550.00, covering 550 ÷ 55% = 1,000 of cost; 2,000 − 1,000 = 1,000.00 above its cap.
    Deductible 700 + co-payment (1,000 − 550 = 450) = 1,150 = 2,700 − 550 − 1,000 → 1,150.00 at 100%.
    The 1,000 above the cap stays with the member."""
    c = settle(program, {"compliant_cost": "2700.00"}, categories=["disabled_1_6"],
               opening=RESIDENT_NEAR_CAP).claims[0]
    assert paid(c, "resident.inpatient_pool") == Decimal("550.00")
    assert c.fund("resident.inpatient_pool").above_cap == Decimal("1000.00")
    assert paid(c, "disabled_1_6_subsidy") == Decimal("1150.00")
    assert c.member_pays == Decimal("1000.00")


def test_the_highest_treatment_is_ranked_not_recomputed_per_claim(program):
    """The same admission for a Liberation-War veteran (60%): base 2,700 − 550 = 2,150 (above-cap cost
    included), × 60% = 1,290.00 — more than the 1,150.00 of grade 1–6 coverage on this claim. A member who
    is both takes the grade 1–6 treatment (第五条 ranks highest), so 1,150.00, as the rulebook notes."""
    veteran = settle(program, {"compliant_cost": "2700.00"}, categories=["liberation_war_veteran"],
                     opening=RESIDENT_NEAR_CAP).claims[0]
    assert paid(veteran, "category_subsidy") == Decimal("1290.00")
    both = settle(program, {"compliant_cost": "2700.00"}, categories=["liberation_war_veteran", "disabled_1_6"],
                  opening=RESIDENT_NEAR_CAP).claims[0]
    assert paid(both, "disabled_1_6_subsidy") == Decimal("1150.00")
    assert paid(both, "category_subsidy") == 0 and not both.fund("category_subsidy").applied


def test_categories_pay_on_the_cost_above_the_resident_cap(program):
    """Martyr's family, the admission of 2,700 at the resident cap: 2,150 left × 80% = 1,720.00;
    member pays 2,150 − 1,720 = 430.00."""
    c = settle(program, {"compliant_cost": "2700.00"}, categories=["martyr_family"],
               opening=RESIDENT_NEAR_CAP).claims[0]
    assert paid(c, "category_subsidy") == Decimal("1720.00")
    assert c.member_pays == Decimal("430.00")


# ---------------------------------------------------------------- 第八条: the outpatient quota
def outpatient(*costs):
    return [{"kind": "outpatient", "compliant_cost": cost} for cost in costs]


def test_quota_without_roll_over(program):
    """Pension standard 24,000 a year → quota 24,000 × 10% = 2,400.00. Kuiwen pools no outpatient care,
    so the whole compliant cost is left. 1,500 → 1,500.00 (900 left); 1,200 → 900.00 (quota used up,
    the member pays 300); 300 → 0 (超支不补)."""
    s = settle(program, *outpatient("1500.00", "1200.00", "300.00"), categories=["post_1949_veteran"],
               pension="24000.00")
    assert [paid(c, "outpatient_quota") for c in s.claims] == [Decimal("1500.00"), Decimal("900.00"), 0]
    assert [c.member_pays for c in s.claims] == [0, Decimal("300.00"), Decimal("300.00")]
    assert s.claims[-1].accumulators["outpatient_quota_used"] == Decimal("2400.00")


def test_quota_with_last_years_balance(program):
    """The same visits with 350.00 unused last year: quota 2,400 + 350 = 2,750.00.
    1,500 → 1,500.00; 1,200 → 1,200.00 (50 left); 300 → 50.00."""
    s = settle(program, *outpatient("1500.00", "1200.00", "300.00"), categories=["post_1949_veteran"],
               pension="24000.00", brought_forward="350.00")
    assert [paid(c, "outpatient_quota") for c in s.claims] == [Decimal("1500.00"), Decimal("1200.00"),
                                                               Decimal("50.00")]
    assert s.claims[-1].accumulators["outpatient_quota_used"] == Decimal("2750.00")


def test_quota_used_exactly(program):
    """2,400.00 in one visit uses the quota exactly; the next 0.01 is not paid."""
    s = settle(program, *outpatient("2400.00", "0.01"), categories=["martyr_family"], pension="24000.00")
    assert [paid(c, "outpatient_quota") for c in s.claims] == [Decimal("2400.00"), 0]


def test_grade_1_6_alone_has_no_quota(program):
    """第八条's quota is for “上述抚恤优待对象”; grade 1–6 alone: 0. Also a sick-returned veteran: 500.00."""
    alone = settle(program, *outpatient("500.00"), categories=["disabled_1_6"], pension="60000.00").claims[0]
    assert paid(alone, "outpatient_quota") == 0 and not alone.fund("outpatient_quota").applied
    both = settle(program, *outpatient("500.00"), categories=["disabled_1_6", "sick_returned"],
                  pension="60000.00").claims[0]
    assert paid(both, "outpatient_quota") == Decimal("500.00")


# ---------------------------------------------------------------- 第二十四条
@pytest.mark.parametrize("fact, reason", [
    ({"designated": False}, "care or drugs at a non-designated institution"),
    ({"cause": "suicide"}, "suicide, self-harm, fighting, drunkenness or an illegal act"),
    ({"cause": "self_harm"}, "suicide, self-harm, fighting, drunkenness or an illegal act"),
    ({"cause": "fighting"}, "suicide, self-harm, fighting, drunkenness or an illegal act"),
    ({"cause": "drunkenness"}, "suicide, self-harm, fighting, drunkenness or an illegal act"),
    ({"cause": "illegal_act"}, "suicide, self-harm, fighting, drunkenness or an illegal act"),
    ({"abroad": True}, "incurred abroad"),
    ({"liable_party": "traffic_accident"}, "a traffic accident, medical accident or other liable party pays"),
    ({"liable_party": "medical_accident"}, "a traffic accident, medical accident or other liable party pays"),
    ({"liable_party": "other_liability"}, "a traffic accident, medical accident or other liable party pays"),
])
def test_excluded_claims_get_no_subsidy_and_say_why(program, fact, reason):
    """The ordinary admission for a martyr's family: the resident scheme still pays its 5,500.00 (its own
    rules), the subsidy 0 instead of 4,160.00; the member pays 11,200 − 5,500 = 5,700.00."""
    c = settle(program, ORDINARY | fact, categories=["martyr_family"]).claims[0]
    assert paid(c, "resident.inpatient_pool") == Decimal("5500.00")
    assert paid(c, "category_subsidy") == 0
    assert c.fund("category_subsidy").excluded_by.reason.en == reason
    assert c.member_pays == Decimal("5700.00")


def test_an_excluded_visit_does_not_use_the_quota(program):
    """Quota 2,400: a visit abroad of 1,000 → 0, the quota untouched; then 2,400 at home → 2,400.00."""
    s = settle(program, {"kind": "outpatient", "compliant_cost": "1000.00", "abroad": True},
               *outpatient("2400.00"), categories=["martyr_family"], pension="24000.00")
    assert [paid(c, "outpatient_quota") for c in s.claims] == [0, Decimal("2400.00")]


def test_the_example_files(program):
    """examples/veterans-2011-martyr-family-year.json (martyr's family + disabled on duty 7–10, pension
    18,000 → quota 1,800, 200 brought forward → 2,000):
      C1 admission 10,700 + 500 self-paid: resident 5,500; 5,200 × 80% = 4,160.00; member 1,540.00
      C2 outpatient 1,250: 1,250.00 of the quota (750 left)
      C3 outpatient 900: 750.00; member 150.00
      C4 admission 20,700 after a fight: resident 20,000 × 55% = 11,000.00; subsidy 0; member 9,700.00
    examples/veterans-2011-disabled-grade-1-6.json (grade 1–6, 179,450 already paid by the resident scheme):
      C1 admission 2,700: resident 550.00, above its cap 1,000; subsidy 700 + 450 = 1,150.00; member 1,000.00
      C2 outpatient 400: no quota (grade 1–6 alone): member 400.00
    """
    def load(name):
        path = EXAMPLES[name]
        return medrules.settle(program, facts_from_source(
            SourceFile(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")), program.checked))

    year = load("martyr-family-year")
    assert [(paid(c, "resident.inpatient_pool"), paid(c, "category_subsidy"), paid(c, "outpatient_quota"),
             c.member_pays) for c in year.claims] == [
        (Decimal("5500.00"), Decimal("4160.00"), 0, Decimal("1540.00")),
        (0, 0, Decimal("1250.00"), 0),
        (0, 0, Decimal("750.00"), Decimal("150.00")),
        (Decimal("11000.00"), 0, 0, Decimal("9700.00")),
    ]
    disabled = load("disabled-grade-1-6")
    assert [(paid(c, "resident.inpatient_pool"), paid(c, "disabled_1_6_subsidy"), c.member_pays)
            for c in disabled.claims] == [
        (Decimal("550.00"), Decimal("1150.00"), Decimal("1000.00")),
        (0, 0, Decimal("400.00")),
    ]


# ---------------------------------------------------------------- explanations
def test_explanation_highest_of_several_categories_en(program, snapshot):
    """Read against test_several_categories_get_only_the_highest: resident 5,500.00, base 5,200.00, 80%."""
    s = settle(program, ORDINARY, categories=["disabled_duty_7_10", "illness_death_family", "martyr_family"],
               trace=True)
    e = explain(program, s, "en")
    rate = next(line for line in e.claims[0].lines if line.kind == "rate" and line.fund == "category_subsidy")
    assert "80%" in rate.text and "martyr_family" in rate.text
    assert to_text(render_explanation(e), width=120) == snapshot


def test_explanation_grade_1_6_at_the_resident_cap_zh(program, snapshot):
    """Read against test_grade_1_6_does_not_cover_the_cost_above_the_resident_cap: 550.00, 1,000.00 above
    the cap, 1,150.00 subsidy, 1,000.00 for the member."""
    s = medrules.settle(program, facts(program, {"compliant_cost": "2700.00"}, categories=["disabled_1_6"],
                                       opening=RESIDENT_NEAR_CAP), trace=True)
    assert to_text(render_explanation(explain(program, s, "zh")), width=120) == snapshot


def test_explanation_excluded_claim_and_quota_zh(program, snapshot):
    """A fight (excluded: 0 of the subsidy, resident 5,500.00) and an outpatient visit of 1,500 on a 2,400
    quota with 350 brought forward (2,750): paid 1,500.00 in full."""
    s = settle(program, ORDINARY | {"cause": "fighting"}, *outpatient("1500.00"), categories=["martyr_family"],
               pension="24000.00", brought_forward="350.00", trace=True)
    assert to_text(render_explanation(explain(program, s, "zh")), width=120) == snapshot


# ---------------------------------------------------------------- program problems found on the way
def test_set_facts_are_shown_in_a_stable_readable_form(program):
    """A set fact is shown sorted, not as a Python repr whose order changes from run to run."""
    s = settle(program, *outpatient("100.00"), categories=["sick_returned", "martyr_family"], pension="1000.00",
               trace=True)
    text = "\n".join(line.text for line in explain(program, s, "en").claims[0].lines)
    assert "member.categories = {martyr_family, sick_returned}" in text and "frozenset" not in text


def test_json_explanation_of_a_member_with_categories(program):
    s = settle(program, ORDINARY, categories=["martyr_family"], trace=True)
    doc = json.dumps(explanation_json(explain(program, s, "en")), ensure_ascii=False)
    assert "martyr_family" in doc


def test_an_exclusion_in_one_layer_does_not_claim_that_no_fund_pays(program):
    """Kuiwen excludes outpatient care (no outpatient pooling), yet the veterans' quota pays 300.00; the
    veterans' exclusion of a fight stops the subsidy, yet the resident scheme pays 5,500.00."""
    s = settle(program, *outpatient("300.00"), ORDINARY | {"cause": "fighting"}, categories=["martyr_family"],
               pension="24000.00", trace=True)
    assert paid(s.claims[0], "outpatient_quota") == Decimal("300.00")
    assert paid(s.claims[1], "resident.inpatient_pool") == Decimal("5500.00")
    for claim in explain(program, s, "en").claims:
        exclusion = next(line for line in claim.lines if line.kind == "exclude")
        assert "no fund pays" not in exclusion.text, exclusion.text


def test_the_quota_line_shows_how_the_quota_is_computed(program):
    s = settle(program, *outpatient("100.00"), categories=["martyr_family"], pension="24000.00",
               brought_forward="350.00", trace=True)
    cap = next(line for line in explain(program, s, "en").claims[0].lines if line.kind == "cap")
    assert "2,750.00" in cap.text
    assert "24,000.00" in (cap.text + (cap.formula or "")) and "350.00" in (cap.text + (cap.formula or ""))
