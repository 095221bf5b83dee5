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


def gap(first: str, last: str, paid_on: str | None = None) -> dict:
    """One interruption of the history: its first and last unpaid months, and when it was paid up."""
    return {"first_month": first, "last_month": last} | ({"paid_on": paid_on} if paid_on else {})


def paid(claim_date: str, interruptions=(), **member) -> Decimal:
    program = program_for(TJ)
    member.setdefault("id", "M")
    doc = {"member": member, "interruptions": list(interruptions),
           "claims": [{"id": "C", "date": claim_date, "compliant_cost": "1000.00"}]}
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
    assert paid(claim, [gap("2020-03-01", gap_to, gap_paid_on)], **EMPLOYEE) == (Decimal(1000) if reimbursed else 0)


def test_employee_interruption_across_new_year_is_due_by_march_after_its_first_month():
    # November 2020 – January 2021 (3 months): due by month_end(2020-01-01 + 14 months) = 2021-03-31
    assert paid("2020-12-10", [gap("2020-11-01", "2021-01-01", "2021-03-31")], **EMPLOYEE) == 1000
    assert paid("2020-12-10", [gap("2020-11-01", "2021-01-01", "2021-04-01")], **EMPLOYEE) == 0


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
    # September 2020 – February 2021: 6 months
    assert paid(claim, [gap("2020-09-01", "2021-02-01", gap_paid_on)], **INDIVIDUAL) == (
        Decimal(1000) if reimbursed else 0)


def test_a_seven_month_interruption_is_never_continuous():
    seven = [gap("2020-09-01", "2021-03-01", "2021-03-15")]
    assert paid("2020-12-01", seven, **INDIVIDUAL) == 0
    # restart: the run starts in April 2021; April–September are six months, covered from 2021-10-01
    assert paid("2021-09-30", seven, **INDIVIDUAL) == 0
    assert paid("2021-10-01", seven, **INDIVIDUAL) == 1000


def test_the_explanation_shows_the_derived_deadline():
    from medrules.explain import explain
    program = program_for(TJ)
    doc = {"member": EMPLOYEE | {"id": "M"}, "interruptions": [gap("2020-03-01", "2020-05-01", "2021-04-01")],
           "claims": [{"id": "C", "date": "2020-04-15", "compliant_cost": "1000.00"}]}
    facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), program.checked)
    e = explain(program, medrules.settle(program, facts, trace=True), "en")
    text = "\n".join(line.text for line in e.claims[0].lines)
    # the claim falls in an interruption not paid up by 2021-03-31: the function over the history is true
    assert "any(interruption, " in text and ") = true" in text.lower()


# ---------------------------------------------------------------- any number of interruptions
# An employee with two interruptions in 2020:
#   A: March–May 2020 (3 months ≤ 3), paid 2021-02-10 ≤ month_end(2020-01-01 + 14 months) = 2021-03-31: kept;
#   B: September–October 2020 (2 months ≤ 3), never paid up: costs in it are not reimbursed.
TWO = [gap("2020-03-01", "2020-05-01", "2021-02-10"), gap("2020-09-01", "2020-10-01")]


@pytest.mark.parametrize("claim, reimbursed", [
    ("2020-04-15", True),   # in A, paid up in time
    ("2020-07-01", True),   # between the two: contributions paid
    ("2020-09-01", False),  # the first day of B
    ("2020-10-31", False),  # the last day of B
    ("2020-11-01", True),   # after B: an employee is covered again
])
def test_employee_two_interruptions_each_judged_on_its_own(claim, reimbursed):
    assert paid(claim, TWO, **EMPLOYEE) == (Decimal(1000) if reimbursed else 0)
    # the order they are listed in does not matter
    assert paid(claim, TWO[::-1], **EMPLOYEE) == (Decimal(1000) if reimbursed else 0)


# An individual member joined 2020-01-15: covered from 2020-07-01 (January–June).
#   A: August 2020 (1 month), never paid: not continuous; the run starts again in September 2020:
#      September 2020 – February 2021 are six months, covered from 2021-03-01;
#   B: May–June 2021 (2 months ≤ 6), paid 2021-07-20 ≤ month_end(2021-01-01 + 14 months) = 2022-03-31:
#      continuous: costs in it are reimbursed and the run goes on;
#   C: October 2021 – April 2022 (7 months > 6), paid 2022-05-05: not continuous; the run starts again in
#      May 2022: May–October are six months, covered from 2022-11-01.
THREE = [gap("2020-08-01", "2020-08-01"), gap("2021-05-01", "2021-06-01", "2021-07-20"),
         gap("2021-10-01", "2022-04-01", "2022-05-05")]


@pytest.mark.parametrize("claim, reimbursed", [
    ("2020-07-31", True),   # six months complete, before A
    ("2020-08-10", False),  # in A, never paid
    ("2021-02-28", False),  # September–January: five months of the new run
    ("2021-03-01", True),   # six months: September 2020 – February 2021
    ("2021-05-20", True),   # in B, paid up in time
    ("2021-09-30", True),   # B counted as continuous: no new wait
    ("2021-12-01", False),  # in C, over six months
    ("2022-10-31", False),  # May–September 2022: five months of the run after C
    ("2022-11-01", True),   # six months: May–October 2022
])
def test_individual_six_months_restart_after_each_broken_interruption(claim, reimbursed):
    assert paid(claim, THREE, **INDIVIDUAL) == (Decimal(1000) if reimbursed else 0)


def test_the_history_is_checked_with_located_errors():
    program = program_for(TJ)
    text = ('{"member": {"id": "M", "insured_as": "employee", "joined_on": "2015-01-10"},\n'
            ' "interruptions": [{"first_month": "2020-03-01", "last_month": "2020-02-30"},\n'
            '                   {"first_month": "2020-05-01", "paid": "2020-06-01"}],\n'
            ' "interuptions": [],\n'
            ' "claims": [{"id": "C", "date": "2020-04-15", "compliant_cost": "1000.00"}]}')
    with pytest.raises(medrules.MedrulesError) as e:
        facts_from_source(SourceFile("<t>", text), program.checked)
    found = {(d.message, d.span.line) for d in e.value.diagnostics}
    assert ("interruptions[0].last_month: '2020-02-30' is not a calendar date", 2) in found
    assert ("'paid' is not part of the declared interruption facts", 3) in found
    assert ("interruptions[1] has no 'last_month'", 3) in found
    assert ("'interuptions' is not part of a facts file", 4) in found
    hints = {d.hint for d in e.value.diagnostics}
    assert "did you mean 'interruptions'?" in hints and "did you mean 'paid_on'?" in hints
