"""Tianjin (provision N): contribution continuity decides which claims are reimbursed, at the
day and month boundaries, worked out by hand from seed 003 lines 627–653.

Derived dates (the rulebook writes them with calendar functions, never as literal dates):
* deadline for an interruption starting in 2020: month_end(year_start(2020-03-xx) + 14 months)
  = month_end(2021-03-01) = 2021-03-31 ("次年3月份(含)以前");
* six consecutive months from joining on 2020-01-15: month_start + 6 months = 2020-07-01;
* an interruption's length: months_between(first unpaid month, last unpaid month) + 1.
The fund pays an illustrative 100%, so a reimbursed claim of 1,000 pays 1,000 and an excluded one 0.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT, program_for
from medrules.facts import facts_from_source
from medrules.plan.arith import month_end, months_between, year_start
from medrules.source import SourceFile

TJ = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"


def paid(claim_date: str, **member) -> Decimal:
    program = program_for(TJ)
    member.setdefault("id", "M")
    doc = {"member": member, "claims": [{"id": "C", "date": claim_date, "compliant_cost": "1000.00"}]}
    facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), program.checked)
    return medrules.settle(program, facts).claims[0].fund("reimbursement").paid


def test_the_calendar_functions():
    assert month_end(dt.date(2021, 2, 3)) == dt.date(2021, 2, 28)
    assert month_end(dt.date(2020, 2, 3)) == dt.date(2020, 2, 29)
    assert year_start(dt.date(2020, 11, 30)) == dt.date(2020, 1, 1)
    assert months_between(dt.date(2020, 3, 31), dt.date(2020, 5, 1)) == 2
    assert months_between(dt.date(2020, 11, 1), dt.date(2021, 1, 31)) == 2


EMPLOYEE = {"insured_as": "employee", "joined_on": "2015-01-10"}


@pytest.mark.parametrize("gap_to, gap_paid_on, claim, reimbursed", [
    # March–May 2020: 3 months ≤ 3; paid 2021-03-31 (the last day of "次年3月份"): reimbursed
    ("2020-05-01", "2021-03-31", "2020-04-15", True),
    # paid one day late, 2021-04-01: not reimbursed
    ("2020-05-01", "2021-04-01", "2020-04-15", False),
    # March–June: 4 months > 3, paid in time: not reimbursed
    ("2020-06-01", "2020-07-10", "2020-04-15", False),
    # never paid up: not reimbursed
    ("2020-05-01", None, "2020-04-15", False),
    # the day after the interruption's last month: an employee is covered again
    ("2020-06-01", None, "2020-07-01", True),
    # the last day of the interruption's last month is still in it
    ("2020-05-01", None, "2020-05-31", False),
    # the day before the interruption: covered
    ("2020-05-01", None, "2020-02-29", True),
])
def test_employee_interruption(gap_to, gap_paid_on, claim, reimbursed):
    member = EMPLOYEE | {"gap_from": "2020-03-01", "gap_to": gap_to} | (
        {"gap_paid_on": gap_paid_on} if gap_paid_on else {})
    assert paid(claim, **member) == (Decimal(1000) if reimbursed else 0)


def test_employee_interruption_across_new_year_is_due_by_march_after_its_first_month():
    # November 2020 – January 2021 (3 months): due by month_end(2020-01-01 + 14 months) = 2021-03-31
    member = EMPLOYEE | {"gap_from": "2020-11-01", "gap_to": "2021-01-01"}
    assert paid("2020-12-10", **member, gap_paid_on="2021-03-31") == 1000
    assert paid("2020-12-10", **member, gap_paid_on="2021-04-01") == 0


INDIVIDUAL = {"insured_as": "individual", "joined_on": "2020-01-15"}


@pytest.mark.parametrize("claim, reimbursed", [
    ("2020-01-20", False),  # waiting
    ("2020-06-30", False),  # January–June are the six months: still waiting on 30 June
    ("2020-07-01", True),   # month_start(2020-01-15) + 6 months = 2020-07-01
])
def test_individual_six_consecutive_months(claim, reimbursed):
    assert paid(claim, **INDIVIDUAL) == (Decimal(1000) if reimbursed else 0)


def test_nobody_is_covered_before_joining():
    # claim in December 2019, joined in January 2020 (even an exception starts "从参保缴费之月起")
    assert paid("2019-12-31", **INDIVIDUAL, back_paid_years=5) == 0
    assert paid("2020-01-01", **INDIVIDUAL, back_paid_years=5) == 1000  # from the month of payment


@pytest.mark.parametrize("ended, joined, covered", [
    ("2019-11-15", "2020-01-15", True),   # 2019-11-15 + 2 months = 2020-01-15: within
    ("2019-11-15", "2020-01-16", False),  # one day later: waits six months
])
def test_individual_exception_joined_within_two_months_of_a_contract_ending(ended, joined, covered):
    member = {"insured_as": "individual", "joined_on": joined, "contract_ended_on": ended}
    assert paid("2020-02-03", **member) == (Decimal(1000) if covered else 0)


def test_individual_exception_unemployment_benefit_ran_out():
    member = {"insured_as": "individual", "joined_on": "2020-03-31", "benefit_ended_on": "2020-01-31"}
    # 2020-01-31 + 2 months = 2020-03-31 (the same day, or the month's last): within → covered in March
    assert paid("2020-03-31", **member) == 1000


@pytest.mark.parametrize("years, covered", [(5, True), (4, False)])
def test_individual_exception_five_years_back_paid(years, covered):
    assert paid("2020-02-01", **INDIVIDUAL, back_paid_years=years) == (Decimal(1000) if covered else 0)


INTERRUPTED = INDIVIDUAL | {"gap_from": "2020-09-01", "gap_to": "2021-02-01"}  # September–February: 6 months


@pytest.mark.parametrize("gap_paid_on, claim, reimbursed", [
    # 6 months ≤ 6, paid by month_end(2020-01-01 + 14 months) = 2021-03-31: continuous, costs in it reimbursed
    ("2021-03-31", "2020-12-01", True),
    ("2021-03-31", "2021-03-01", True),
    # paid 2021-04-01: costs in it are not reimbursed
    ("2021-04-01", "2020-12-01", False),
    # ... and six months start again after it: month_start(2021-02-01) + 7 months = 2021-09-01
    ("2021-04-01", "2021-08-31", False),
    ("2021-04-01", "2021-09-01", True),
])
def test_individual_interruption(gap_paid_on, claim, reimbursed):
    assert paid(claim, **INTERRUPTED, gap_paid_on=gap_paid_on) == (Decimal(1000) if reimbursed else 0)


def test_a_seven_month_interruption_is_never_continuous():
    member = INDIVIDUAL | {"gap_from": "2020-09-01", "gap_to": "2021-03-01", "gap_paid_on": "2021-03-15"}
    assert paid("2020-12-01", **member) == 0
    # restart: month_start(2021-03-01) + 7 months = 2021-10-01
    assert paid("2021-09-30", **member) == 0
    assert paid("2021-10-01", **member) == 1000


def test_the_explanation_shows_the_derived_deadline():
    from medrules.explain import explain
    program = program_for(TJ)
    doc = {"member": EMPLOYEE | {"id": "M", "gap_from": "2020-03-01", "gap_to": "2020-05-01",
                                 "gap_paid_on": "2021-04-01"},
           "claims": [{"id": "C", "date": "2020-04-15", "compliant_cost": "1000.00"}]}
    facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), program.checked)
    e = explain(program, medrules.settle(program, facts, trace=True), "en")
    text = "\n".join(line.text for line in e.claims[0].lines)
    # the deadline is derived from the interruption's first month: 2020-01-01 + 14 months → 2021-03-31
    assert "month_end(year_start(member.gap_from) + 14 months) = 2021-03-31" in text
    assert "months_between(member.gap_from, member.gap_to) = 2" in text
