"""H: Anji county residents' scheme, 2014 and 2015 — rulebooks/anji/residents-2014.mr and residents-2015.mr.

From the county bureau's explanation of 《安吉县2015年城乡居民基本医疗保险管理办法》:
* 县内二级及以上医保定点医疗机构门诊报销30% (2014: only the general consultation fee and herbal
  medicine “按比例”, read as 30%);
* childbirth: 定额补偿800元 for members without the employee maternity compensation — 2015 in or out
  of the county, 2014 in the county only;
* inpatient cap: 8 × last year's county urban per-capita disposable income, 即28万元 in 2015 (26万元 in
  2014), 以出院日期为准累计计算 — it caps the fund's payments, by discharge date;
* 2015 only: full-time students who die from an accidental injury: 5万元 lump sum.
The seed gives no inpatient deductible or rate: both rulebooks assume 1,000 per admission and 70%
(flagged ⚠ assumed). Every expected figure below is worked out by hand in the docstring.
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

RULEBOOKS = {year: ROOT / "rulebooks" / "anji" / f"residents-{year}.mr" for year in (2014, 2015)}
EXAMPLES = {"2015": ROOT / "examples" / "anji-2015-residents-year.json",
            "2014": ROOT / "examples" / "anji-2014-childbirth-out-of-county.json"}


def _read(path):
    return SourceFile(path.resolve().relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def programs():
    return {year: medrules.load(path, read=_read) for year, path in RULEBOOKS.items()}


def claim(kind="inpatient", location="in_county", level="level2_plus", **rest):
    return {"kind": kind, "location": location, "level": level, **rest}


def settle(program, *claims, member=None, year=None, trace=False):
    year = year or program.checked.id[-4:]
    doc = {"member": {"id": "AJ-1", **(member or {})},
           "claims": [{"id": f"C{i}", "discharge_date": f"{year}-{i:02d}-10", **c} for i, c in enumerate(claims, 1)]}
    return medrules.settle(program, facts_from_source(SourceFile("facts.json", json.dumps(doc)), program.checked),
                           trace=trace)


def paid(c, fund):
    return c.fund(fund).paid


# ---------------------------------------------------------------- the cap as a multiple of income
def test_the_cap_is_eight_times_last_years_income(programs):
    """2015: 8 × 35,000 = 280,000 (即28万元). 2014: 8 × 32,500 = 260,000 (26万元)."""
    new, old = programs[2015].checked, programs[2014].checked
    assert parameter_value(new, "cap_multiple") == 8
    assert parameter_value(new, "county_income_2014") == Decimal("35000")
    assert parameter_value(new, "inpatient_cap") == Decimal("280000")
    assert parameter_value(old, "county_income_2013") == Decimal("32500")
    assert parameter_value(old, "inpatient_cap") == Decimal("260000")


def test_the_unstated_inpatient_figures_are_marked_as_assumptions(programs):
    for program in programs.values():
        params = program.checked.parameters
        for name in ("inpatient_deductible", "inpatient_rate"):
            assert params[name].citation.assumed, name


# ---------------------------------------------------------------- inpatient (assumed 1,000 / 70%) and the cap
def test_an_ordinary_admission(programs):
    """11,000 compliant + 400 self-paid: (11,000 − 1,000) × 70% = 7,000.00; member 4,000 + 400 = 4,400.00.
    The same in 2014 and 2015 (the placeholders are the same)."""
    for program in programs.values():
        c = settle(program, claim(compliant_cost="11000.00", self_paid="400.00")).claims[0]
        assert paid(c, "inpatient_pool") == Decimal("7000.00") and c.member_pays == Decimal("4400.00")


@pytest.mark.parametrize("cost, expected", [("1000.00", "0.00"), ("1000.01", "0.01"), ("1000.05", "0.04")])
def test_on_the_deductible(programs, cost, expected):
    """Exactly 1,000: nothing above it. 0.01 × 70% = 0.007 → 0.01; 0.05 × 70% = 0.035 → half-up 0.04."""
    c = settle(programs[2015], claim(compliant_cost=cost)).claims[0]
    assert paid(c, "inpatient_pool") == Decimal(expected)


def test_2015_exactly_at_the_cap(programs):
    """C1 401,000: (401,000 − 1,000) × 70% = 280,000.00 = the cap exactly, nothing above it.
    C2 5,000: deductible 1,000; 4,000 × 70% = 2,800 but no room left: paid 0, 4,000.00 above the cap;
    the member pays all 5,000.00."""
    s = settle(programs[2015], claim(compliant_cost="401000.00"), claim(compliant_cost="5000.00"))
    c1, c2 = s.claims
    assert paid(c1, "inpatient_pool") == Decimal("280000.00") and c1.fund("inpatient_pool").above_cap == 0
    assert paid(c2, "inpatient_pool") == 0 and c2.fund("inpatient_pool").above_cap == Decimal("4000.00")
    assert c2.member_pays == Decimal("5000.00")


CROSSING = [claim(compliant_cost="301000.00"), claim(compliant_cost="111000.00")]


def test_2015_crossing_the_cap(programs):
    """C1 301,000: 300,000 × 70% = 210,000.00. C2 111,000: 110,000 × 70% = 77,000 > 280,000 − 210,000 =
    70,000 left: paid 70,000.00, covering 70,000 ÷ 70% = 100,000 of cost; 10,000.00 above the cap.
    Member pays 111,000 − 70,000 = 41,000.00."""
    c1, c2 = settle(programs[2015], *CROSSING).claims
    assert paid(c1, "inpatient_pool") == Decimal("210000.00")
    assert paid(c2, "inpatient_pool") == Decimal("70000.00")
    assert c2.fund("inpatient_pool").above_cap == Decimal("10000.00")
    assert c2.member_pays == Decimal("41000.00")
    assert c2.accumulators["inpatient_paid"] == Decimal("280000.00")


def test_2014_crossing_the_lower_cap(programs):
    """The same admissions in 2014: C1 210,000.00; C2: 260,000 − 210,000 = 50,000 left: paid 50,000.00,
    covering 50,000 ÷ 70% = 71,428.5714… of cost; 110,000 − 71,428.5714… = 38,571.4285… → 38,571.43
    above the cap. Member pays 111,000 − 50,000 = 61,000.00 — 20,000.00 more than in 2015."""
    c1, c2 = settle(programs[2014], *CROSSING).claims
    assert paid(c1, "inpatient_pool") == Decimal("210000.00")
    assert paid(c2, "inpatient_pool") == Decimal("50000.00")
    assert c2.fund("inpatient_pool").above_cap == Decimal("38571.43")
    assert c2.member_pays == Decimal("61000.00")


def test_claims_are_counted_by_discharge_date(programs):
    """以出院日期为准: B (discharged 2015-03-01, 11,000) is listed first, A (discharged 2015-01-06, 401,000)
    second. A settles first and takes the whole 280,000.00 (400,000 × 70%); B then gets 0, its
    10,000 above the deductible all above the cap. Settled in file order, B would have had 7,000."""
    doc = {"member": {"id": "AJ-1"}, "claims": [
        {"id": "B", "discharge_date": "2015-03-01", **claim(compliant_cost="11000.00")},
        {"id": "A", "discharge_date": "2015-01-06", **claim(compliant_cost="401000.00")}]}
    program = programs[2015]
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked))
    assert [c.id for c in s.claims] == ["A", "B"]
    assert paid(s.claim("A"), "inpatient_pool") == Decimal("280000.00")
    assert paid(s.claim("B"), "inpatient_pool") == 0
    assert s.claim("B").fund("inpatient_pool").above_cap == Decimal("10000.00")


def test_an_admission_discharged_in_the_next_year_belongs_to_that_year(programs):
    """Admitted in December 2014, discharged 2015-01-06: the 2014 rulebook refuses it (its year is the
    discharge year); under 2015 it counts against the 2015 cap of 280,000, not 2014's 260,000:
    401,000 → 400,000 × 70% = 280,000.00 in full."""
    doc = {"member": {"id": "AJ-1"}, "claims": [
        {"id": "X", "discharge_date": "2015-01-06", **claim(compliant_cost="401000.00")}]}
    text = json.dumps(doc)
    with pytest.raises(medrules.MedrulesError) as err:
        facts = facts_from_source(SourceFile("f.json", text), programs[2014].checked)
        medrules.settle(programs[2014], facts)
    assert "after rulebook 'anji/residents-2014' ends" in str(err.value)
    s = medrules.settle(programs[2015], facts_from_source(SourceFile("f.json", text), programs[2015].checked))
    assert s.claims[0].year == "2015" and paid(s.claims[0], "inpatient_pool") == Decimal("280000.00")


# ---------------------------------------------------------------- outpatient
def test_2015_outpatient_30_percent_in_county_level_2_and_above(programs):
    """333.33 × 30% = 99.999 → 100.00. The same visit at a grassroots institution, or outside the county:
    not encoded (the seed states no rate), 0."""
    s = settle(programs[2015], claim("outpatient", compliant_cost="333.33"),
               claim("outpatient", level="grassroots", compliant_cost="333.33"),
               claim("outpatient", location="out_of_county", compliant_cost="333.33"))
    assert [paid(c, "outpatient_pool") for c in s.claims] == [Decimal("100.00"), 0, 0]


def test_2014_outpatient_only_general_fee_and_herbal_medicine(programs):
    """2014: of a 333.33 visit, only the 120.50 of general consultation fee and herbal medicine:
    120.50 × 30% = 36.15. 2015: all 333.33 → 100.00 (above)."""
    c = settle(programs[2014], claim("outpatient", compliant_cost="333.33", general_and_herbal="120.50")).claims[0]
    assert paid(c, "outpatient_pool") == Decimal("36.15")
    assert c.member_pays == Decimal("297.18")  # 333.33 − 36.15


# ---------------------------------------------------------------- childbirth
@pytest.mark.parametrize("location, paid_2014, paid_2015", [
    ("in_county", "800.00", "800.00"),
    ("out_of_county", "0.00", "800.00"),  # 2014: 必须在县内; 2015: 在县内、县外 都能享受
])
def test_childbirth_flat_800_by_year_and_place(programs, location, paid_2014, paid_2015):
    """A delivery bill of 4,000 compliant + 300 self-paid: the flat 800 replaces the percentage rule
    (the inpatient fund pays nothing on it); member pays 4,300 − 800 = 3,500.00 (or all 4,300.00)."""
    for program, expected in ((programs[2014], paid_2014), (programs[2015], paid_2015)):
        c = settle(program, claim("childbirth", location=location, compliant_cost="4000.00",
                                  self_paid="300.00")).claims[0]
        assert paid(c, "maternity_flat") == Decimal(expected)
        assert paid(c, "inpatient_pool") == 0
        assert c.member_pays == Decimal("4300.00") - Decimal(expected)


def test_2014_out_of_county_childbirth_says_why(programs):
    c = settle(programs[2014], claim("childbirth", location="out_of_county", compliant_cost="4000.00")).claims[0]
    assert c.fund("maternity_flat").excluded_by.reason.zh == "2014年须在县内医保定点医疗机构住院分娩"


@pytest.mark.parametrize("year", [2014, 2015])
def test_childbirth_exclusions(programs, year):
    """Employee maternity compensation received → 0 (the 800 is for those who did not get it);
    not a lawful birth → 0; a bill of 650 → 650.00 (never more than the bill)."""
    program = programs[year]
    got_employee = settle(program, claim("childbirth", compliant_cost="4000.00"),
                          member={"employee_maternity": True}).claims[0]
    assert paid(got_employee, "maternity_flat") == 0
    assert got_employee.fund("maternity_flat").excluded_by.reason.en == \
        "the employee maternity flat compensation was received"
    unlawful = settle(program, claim("childbirth", compliant_cost="4000.00", lawful_birth=False)).claims[0]
    assert paid(unlawful, "maternity_flat") == 0
    small = settle(program, claim("childbirth", compliant_cost="600.00", self_paid="50.00")).claims[0]
    assert paid(small, "maternity_flat") == Decimal("650.00") and small.member_pays == 0


def test_childbirth_and_outpatient_do_not_count_toward_the_inpatient_cap(programs):
    """C1 401,000 uses the whole 280,000; C2 childbirth still 800.00; C3 outpatient 100 → 30.00."""
    s = settle(programs[2015], claim(compliant_cost="401000.00"), claim("childbirth", compliant_cost="3000.00"),
               claim("outpatient", compliant_cost="100.00"))
    assert [c.funds_paid for c in s.claims] == [Decimal("280000.00"), Decimal("800.00"), Decimal("30.00")]
    assert s.claims[-1].accumulators["inpatient_paid"] == Decimal("280000.00")


# ---------------------------------------------------------------- students' death grant (2015 only)
def test_students_accidental_death_grant(programs):
    """A full-time student of the county who dies from an accidental injury: 50,000.00 lump sum; the claim's
    total is the grant, so nothing is left to pay. Not a student: excluded, 0 (and nothing to pay)."""
    death = claim("accidental_death", compliant_cost="0.00")
    student = settle(programs[2015], death, member={"full_time_student": True}).claims[0]
    assert paid(student, "student_death") == Decimal("50000.00")
    assert student.total_cost == Decimal("50000.00") and student.member_pays == 0
    other = settle(programs[2015], death).claims[0]
    assert paid(other, "student_death") == 0 and other.total_cost == 0
    assert other.fund("student_death").excluded_by.reason.en == "only for full-time students of the county"


def test_2014_has_no_death_grant(programs):
    """New in 2015 (“新增设的一个条款”): in 2014 the claim kind does not exist."""
    with pytest.raises(medrules.MedrulesError) as err:
        settle(programs[2014], claim("accidental_death", compliant_cost="0.00"))
    assert "accidental_death" in str(err.value)


# ---------------------------------------------------------------- the example files
def test_the_example_files(programs):
    """examples/anji-2015-residents-year.json (a full-time student):
      C1 inpatient, discharged 2015-01-08 (admitted in December 2014), 301,000 + 2,000 self-paid → 210,000.00;
         member 91,000 + 2,000 = 93,000.00
      C2 outpatient at the county hospital 333.33 → 100.00; member 233.33
      C3 childbirth outside the county, 4,000 + 300 → 800.00; member 3,500.00
      C4 inpatient 111,000 → 70,000.00 (cap reached, 10,000 above it); member 41,000.00
      C5 accidental death → 50,000.00; member 0.00
    examples/anji-2014-childbirth-out-of-county.json:
      C1 childbirth outside the county 4,000 + 300 → 0 (2014: in the county only); member 4,300.00
      C2 outpatient 333.33 of which 120.50 general fee and herbal → 36.15; member 297.18
    """
    def load(key, program):
        path = EXAMPLES[key]
        return medrules.settle(program, facts_from_source(_read(path), program.checked))

    s = load("2015", programs[2015])
    assert [c.funds_paid for c in s.claims] == [Decimal("210000.00"), Decimal("100.00"), Decimal("800.00"),
                                                Decimal("70000.00"), Decimal("50000.00")]
    assert [c.member_pays for c in s.claims] == [Decimal("93000.00"), Decimal("233.33"), Decimal("3500.00"),
                                                 Decimal("41000.00"), 0]
    s = load("2014", programs[2014])
    assert [c.funds_paid for c in s.claims] == [0, Decimal("36.15")]
    assert [c.member_pays for c in s.claims] == [Decimal("4300.00"), Decimal("297.18")]


# ---------------------------------------------------------------- explanations
def test_explanation_2015_crossing_the_cap_zh(programs, snapshot):
    """Read against test_2015_crossing_the_cap: 210,000.00; then 70,000.00 with 10,000.00 above the cap."""
    s = settle(programs[2015], *CROSSING, trace=True)
    text = to_text(render_explanation(explain(programs[2015], s, "zh")), width=120)
    assert "⚠" in text  # the assumed deductible and rate show as assumptions
    assert text == snapshot


def test_explanation_2014_childbirth_out_of_county_en(programs, snapshot):
    s = settle(programs[2014], claim("childbirth", location="out_of_county", compliant_cost="4000.00",
                                     self_paid="300.00"), trace=True)
    assert to_text(render_explanation(explain(programs[2014], s, "en")), width=120) == snapshot


def test_explanation_2015_childbirth_and_death_grant_en(programs, snapshot):
    s = settle(programs[2015], claim("childbirth", location="out_of_county", compliant_cost="4000.00",
                                     self_paid="300.00"),
               claim("accidental_death", compliant_cost="0.00"), member={"full_time_student": True}, trace=True)
    assert to_text(render_explanation(explain(programs[2015], s, "en")), width=120) == snapshot
