"""Flat amounts, exclusions, reclassification, 'highest', sets and day counting, on tests/rulebooks/features.mr.

Every expected figure is worked out in the test from the rulebook's own numbers.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.explain import explain
from medrules.facts import facts_from_source
from medrules.source import SourceFile

RULEBOOK = ROOT / "tests" / "rulebooks" / "features.mr"


@pytest.fixture(scope="module")
def program():
    source = SourceFile("tests/rulebooks/features.mr", RULEBOOK.read_text(encoding="utf-8"))
    return medrules.compile_rulebook(medrules.check(medrules.parse(source)))


def settle(program, claims, categories=(), paid_on="2017-01-01", trace=True):
    facts = {"member": {"id": "M", "paid_on": paid_on, "categories": list(categories)},
             "claims": [{"id": f"C{i}", **c} for i, c in enumerate(claims, 1)]}
    f = facts_from_source(SourceFile("facts.json", json.dumps(facts)), program.checked)
    return medrules.settle(program, f, trace=trace)


def paid(result, fund):
    return result.fund(fund).paid


def test_flat_amount_replaces_the_rate(program):
    s = settle(program, [{"date": "2017-06-01", "kind": "childbirth", "cost": "3000.00"},
                         {"date": "2017-07-01", "kind": "childbirth", "cost": "500.00"}])
    assert paid(s.claims[0], "maternity") == Decimal("800.00")  # 定额 800
    assert paid(s.claims[1], "maternity") == Decimal("500.00")  # never more than the cost
    assert paid(s.claims[0], "pool") == 0


def test_high_risk_childbirth_is_treated_as_inpatient(program):
    s = settle(program, [{"date": "2017-06-01", "kind": "childbirth", "high_risk": True, "cost": "3000.00"}])
    c = s.claims[0]
    assert paid(c, "maternity") == 0 and paid(c, "pool") == Decimal("1800.00")  # 3,000 × 60%
    treat = next(step for step in c.steps if step.kind == "treat")
    assert treat.values == {"fact": "claim.kind", "before": "childbirth", "after": "inpatient"}
    assert c.claim.values["kind"] == "childbirth"  # the facts themselves are unchanged


def test_treatment_does_not_leak_into_the_next_claim(program):
    s = settle(program, [{"date": "2017-06-01", "kind": "special", "disease": "dialysis", "cost": "1000.00"},
                         {"date": "2017-06-02", "kind": "special", "disease": "other", "cost": "1000.00"}])
    assert paid(s.claims[0], "pool") == Decimal("600.00") and paid(s.claims[1], "pool") == 0


def test_exclusion_stops_every_fund_and_says_why(program):
    s = settle(program, [{"date": "2017-06-01", "kind": "inpatient", "third_party": True, "cost": "1000.00"}],
               categories=["disabled_war"])
    c = s.claims[0]
    assert c.funds_paid == 0 and c.member_pays == Decimal("1000.00")
    assert all(f.excluded_by is not None and f.excluded_by.reason.zh == "应当由第三人负担的医疗费用" for f in c.funds)
    text = [line.text for line in explain(program, s, "en").claims[0].lines]
    assert any("Not paid: a third party is liable" in t and "no fund pays" in t for t in text)


@pytest.mark.parametrize("day, covered", [("2017-03-31", False), ("2017-04-01", True)])
def test_day_90_and_day_91_inclusive(program, day, covered):
    # paid 2017-01-01 is day 1 (days counted inclusive); 2017-03-31 is day 31 + 28 + 31 = 90
    s = settle(program, [{"date": day, "kind": "inpatient", "cost": "100.00"}], paid_on="2017-01-01")
    assert (paid(s.claims[0], "pool") == Decimal("60.00")) is covered


def test_day_counting_exclusive_shifts_by_one(program, tmp_path):
    text = RULEBOOK.read_text(encoding="utf-8").replace("days counted inclusive", "days counted exclusive")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    # exclusive: 2017-01-02 is day 1, so 2017-04-01 is day 90 (still waiting) and 2017-04-02 day 91
    assert paid(settle(prog, [{"date": "2017-04-01", "kind": "inpatient", "cost": "100.00"}]).claims[0],
                "pool") == 0
    assert paid(settle(prog, [{"date": "2017-04-02", "kind": "inpatient", "cost": "100.00"}]).claims[0],
                "pool") == Decimal("60.00")


def test_highest_takes_the_best_category_not_the_first(program):
    # disabled on duty (60%) and martyr's family (80%): the highest, 80%, of what the pool left.
    s = settle(program, [{"date": "2017-06-01", "kind": "inpatient", "cost": "1000.00"}],
               categories=["disabled_duty", "martyr_family"])
    c = s.claims[0]
    assert paid(c, "pool") == Decimal("600.00")  # 1,000 × 60%
    assert paid(c, "veterans") == Decimal("320.00")  # (1,000 − 600) × 80%
    assert c.member_pays == Decimal("80.00")


def test_set_membership_adjusts_the_rate(program):
    s = settle(program, [{"date": "2017-06-01", "kind": "inpatient", "cost": "1000.00"}],
               categories=["disabled_war"])
    c = s.claims[0]
    assert paid(c, "pool") == Decimal("700.00")  # 60% + 10 points
    assert paid(c, "veterans") == Decimal("210.00")  # (1,000 − 700) × 70%


def test_fund_level_exclusion(program):
    s = settle(program, [{"date": "2017-12-05", "kind": "inpatient", "cost": "1000.00"}],
               categories=["martyr_family"])
    c = s.claims[0]
    assert paid(c, "pool") == Decimal("600.00") and paid(c, "veterans") == 0
    assert c.fund("veterans").excluded_by.reason.en == "closed in December"


def test_bad_set_member_in_facts(program):
    with pytest.raises(medrules.MedrulesError) as err:
        settle(program, [{"date": "2017-06-01", "kind": "inpatient", "cost": "1.00"}], categories=["war"])
    assert "'war' is not one of the veteran values" in str(err.value)


@pytest.mark.parametrize("snippet, code, fragment", [
    ("rate 60%\n  flat 800 yuan", "duplicate", "says how much it pays twice"),
    ("rate highest { true when true, otherwise false }", "unit", "'highest' compares its cases"),
    ("rate 60%\n  adjust +10 points when has(claim.kind, inpatient)", "unit",
     "the first argument of has(…) must be a set"),
    ("rate 60%\n  adjust +10 points when month_start(claim.cost) == 2017-01-01", "unit",
     "an argument of month_start(…) must be a date"),
])
def test_new_constructs_are_checked(snippet, code, fragment):
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "rate 60%\n  adjust +10 points when has(member.categories, disabled_war)", snippet)
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.check(medrules.parse(SourceFile("x.mr", text)))
    assert any(d.code == code and fragment in d.message for d in err.value.diagnostics), err.value


@pytest.mark.parametrize("day, arrears_paid_on, covered", [
    ("2017-06-30", None, True),           # arrears from 2017-06-10: still covered in June
    ("2017-07-01", None, False),          # suspended from the next month
    ("2017-07-01", "2017-08-15", False),  # paid in August: restored from August
    ("2017-08-01", "2017-08-15", True),   # 'restored in the month of payment' (the whole month)
])
def test_optional_facts_suspension_in_arrears(program, day, arrears_paid_on, covered):
    facts = {"member": {"id": "M", "paid_on": "2016-01-01", "arrears_from": "2017-06-10",
                        "arrears_paid_on": arrears_paid_on},
             "claims": [{"id": "C1", "date": day, "kind": "inpatient", "cost": "100.00"}]}
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(facts)), program.checked))
    assert (paid(s.claims[0], "pool") == Decimal("60.00")) is covered


def test_reading_a_fact_that_was_not_given_is_a_located_error():
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "adjust +10 points when has(member.categories, disabled_war)",
        "adjust +10 points when member.arrears_from > 2017-01-01")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    with pytest.raises(medrules.MedrulesError) as err:
        settle(prog, [{"date": "2017-06-01", "kind": "inpatient", "cost": "100.00"}])
    d = err.value.diagnostics[0]
    assert "'member.arrears_from' is needed here but the facts do not give it" in d.message
    assert d.span.file == "x.mr" and "given(member.arrears_from)" in d.hint


def test_given_only_takes_optional_facts():
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "adjust +10 points when has(member.categories, disabled_war)", "adjust +10 points when given(member.paid_on)")
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.check(medrules.parse(SourceFile("x.mr", text)))
    assert "'member.paid_on' is always given" in str(err.value)


def test_a_computed_rate_shows_its_formula(program):
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "  rate 60%\n  adjust +10 points", "  rate max(55%, 60%)\n  adjust +10 points")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    s = settle(prog, [{"date": "2017-06-01", "kind": "inpatient", "cost": "1000.00"}])
    rate = next(line for line in explain(prog, s, "en").claims[0].lines if line.kind == "rate" and line.fund == "pool")
    assert rate.formula == "max(55%, 60%) = 60%; 1,000.00 × 60% = 600.00"


@pytest.mark.parametrize("categories, applies", [(["martyr_family"], True), (["disabled_duty"], True),
                                                 (["disabled_war"], False), ([], False)])
def test_has_any_of_several_members(categories, applies):
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "adjust +10 points when has(member.categories, disabled_war)",
        "adjust +10 points when has(member.categories, martyr_family, disabled_duty)")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    s = settle(prog, [{"date": "2017-06-01", "kind": "inpatient", "cost": "1000.00"}], categories=categories)
    assert paid(s.claims[0], "pool") == (Decimal("700.00") if applies else Decimal("600.00"))  # 60% (+10 points)


def test_a_yearly_and_a_per_claim_payment_cap_together():
    """60% of 1,000 = 600 a claim; at most 400 a claim and 1,000 a year:
    C1 400 (per-claim cap), C2 400 (per-claim cap; 600 left in the year), C3 200 (the year's cap)."""
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "  accumulate payments in paid\n  rate 60%",
        "  accumulate payments in paid\n  cap payments at 1_000 yuan cites T at \"11\" \"年度限额\"\n"
        "  cap payments at 400 yuan per claim cites T at \"12\" \"每次限额\"\n  rate 60%")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    claims = [{"date": f"2017-06-0{i}", "kind": "inpatient", "cost": "1000.00"} for i in (1, 2, 3)]
    s = settle(prog, claims)
    assert [paid(c, "pool") for c in s.claims] == [Decimal("400.00"), Decimal("400.00"), Decimal("200.00")]
    caps = [line for line in explain(prog, s, "en").claims[2].lines if line.kind == "cap"]
    assert len(caps) == 2 and [c.moves_money for c in caps] == [True, False]  # the yearly cap is the one that bound


@pytest.mark.parametrize("old, new, code, fragment", [
    ("rounding half_up to 0.01 yuan", "rounding half_up to 0.05 yuan", "unit", "a power of ten of a yuan"),
    ("disease: text = \"\"", "disease: text = \"\"\n  extra: money = 1 yuan + 1 yuan", "default",
     "the default of 'extra' must be a value"),
    ("year starts 01-01 by claim.date", "year starts 01-01 by member.paid_on", "unit",
     "placed in a benefit year by one of its own dates"),
    ("  rate 60%\n  adjust", "  bands { up to 1_000 yuan: 60% }\n  adjust", "bands",
     "the last band has an upper edge"),
])
def test_what_used_to_be_limitations_are_now_checked(old, new, code, fragment):
    text = RULEBOOK.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.check(medrules.parse(SourceFile("x.mr", text.replace(old, new, 1))))
    assert any(d.code == code and fragment in d.message for d in err.value.diagnostics), err.value


def test_division_by_zero_is_a_located_error():
    text = RULEBOOK.read_text(encoding="utf-8").replace("  base claim.cost\n  accumulate payments in paid",
                                                        "  base claim.cost / 0\n  accumulate payments in paid")
    prog = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("x.mr", text))))
    with pytest.raises(medrules.MedrulesError) as err:
        settle(prog, [{"date": "2017-06-01", "kind": "inpatient", "cost": "100.00"}])
    d = err.value.diagnostics[0]
    assert "division by zero: '0' is 0 here" in d.message and d.span.file == "x.mr"


def test_flat_amounts_take_no_adjustment():
    text = RULEBOOK.read_text(encoding="utf-8").replace("  flat 800 yuan", "  flat 800 yuan\n"
                                                        "  adjust -50 points when true cites T at \"7\" \"x\"")
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.check(medrules.parse(SourceFile("x.mr", text)))
    assert any(d.code == "flat" and "has no rate to adjust" in d.message for d in err.value.diagnostics)


def test_a_parameter_without_citation_is_reported_where_it_is():
    text = RULEBOOK.read_text(encoding="utf-8").replace(
        "accumulator paid: money per year", "parameter limit: money = 100 yuan\n\naccumulator paid: money per year")
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.check(medrules.parse(SourceFile("x.mr", text)))
    d = err.value.diagnostics[0]
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("parameter limit"))
    assert (d.code, d.span.line, d.span.col) == ("citation", line, 1)
    assert "parameter 'limit' does not cite its source" in d.message
