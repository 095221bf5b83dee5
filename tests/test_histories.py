"""Histories: list-valued facts ('facts visit { … }', given as "visits": [ … ]) and the functions over them
(any, every, count, sum, latest, earliest), checked with located errors and evaluated exactly."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from medrules.facts import facts_from_source
from medrules.source import SourceFile

HEAD = '''rulebook "t/histories" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
facts member { id: text }
facts payment "缴费记录" | "payment" {
  month: date
  amount: money
  paid_on: date = none
}
facts claim { id: text  date: date  cost: money }
total cost is claim.cost
'''


def program(body: str):
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("t.mr", HEAD + body))))


def diagnostics(body: str):
    with pytest.raises(medrules.MedrulesError) as e:
        program(body)
    return [(d.code, d.span.line, d.span.col) for d in e.value.diagnostics]


PAYMENTS = [{"month": "2020-01-01", "amount": "100.00", "paid_on": "2020-01-05"},
            {"month": "2020-02-01", "amount": "100.00"},  # never paid
            {"month": "2020-03-01", "amount": "150.00", "paid_on": "2020-05-20"}]


def paid(body: str, date: str = "2020-06-01", payments=PAYMENTS) -> Decimal:
    p = program(body)
    doc = {"member": {"id": "M"}, "payments": payments, "claims": [{"id": "C", "date": date, "cost": "1000.00"}]}
    facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), p.checked)
    return medrules.settle(p, facts).claims[0].funds_paid


@pytest.mark.parametrize("base, expected", [
    # count: the payments made (paid_on given): January and March → 2; × 100 yuan = 200
    ("count(payment, given(payment.paid_on)) * 100 yuan", "200.00"),
    # sum of the amounts due: 100 + 100 + 150 = 350
    ("sum(payment, payment.amount, true)", "350.00"),
    # sum of the amounts paid within the month after their month: January only (paid 2020-01-05) = 100
    ("sum(payment, payment.amount, given(payment.paid_on) and payment.paid_on <= month_end(payment.month + 1 months))",
     "100.00"),
    # none qualifies: 0
    ("sum(payment, payment.amount, payment.amount > 1000 yuan)", "0.00"),
    # months from the latest month paid (March) to the claim (June): 3 → 3 × 10 yuan = 30
    ("months_between(latest(payment, payment.month, given(payment.paid_on), claim.date), claim.date) * 10 yuan",
     "30.00"),
    # the earliest unpaid month is February: 2 months before April … (months from it to the claim: 4) × 1 yuan
    ("months_between(earliest(payment, payment.month, not given(payment.paid_on), claim.date), claim.date) * 1 yuan",
     "4.00"),
    # any / every
    ("{ 10 yuan when any(payment, payment.amount > 120 yuan), otherwise 0 yuan }", "10.00"),
    ("{ 10 yuan when every(payment, given(payment.paid_on)), otherwise 0 yuan }", "0.00"),
])
def test_functions_over_a_history(base, expected):
    assert paid(f"fund f {{ base {base} rate 100% assumed \"test\" }}\n") == Decimal(expected)


def test_an_empty_history():
    body = 'fund f { base { 10 yuan when every(payment, false), otherwise 0 yuan } + sum(payment, payment.amount, true) rate 100% assumed "t" }\n'
    # every over no records holds (10), the sum of none is 0
    assert paid(body, payments=[]) == Decimal("10.00")


def test_located_errors():
    # a history's field outside a function over it
    assert diagnostics('fund f { base payment.amount rate 100% assumed "t" }\n') == [("history", 14, 15)]
    # the first argument must name a history; 'paymnet' gets a hint
    assert diagnostics('fund f { base sum(paymnet, 1 yuan, true) rate 100% assumed "t" }\n') == [("arguments", 14, 19)]
    # the number of arguments
    assert diagnostics('fund f { base sum(payment, payment.amount) rate 100% assumed "t" }\n') == [("arguments", 14, 15)]
    # sum adds quantities, not dates; a condition must be yes/no
    assert diagnostics('fund f { base { 1 yuan when sum(payment, payment.month, true) > 2020-01-01, otherwise 0 yuan } '
                       'rate 100% assumed "t" }\n')[0][:2] == ("unit", 14)
    assert diagnostics('fund f { base { 1 yuan when any(payment, payment.amount), otherwise 0 yuan } '
                       'rate 100% assumed "t" }\n')[0][:2] == ("unit", 14)
    # an unknown field of the history, with a hint
    with pytest.raises(medrules.MedrulesError) as e:
        program('fund f { base sum(payment, payment.amont, true) rate 100% assumed "t" }\n')
    [d] = e.value.diagnostics
    assert d.message == "'payment.amont' is not a declared payment fact" and d.hint == "did you mean 'amount'?"
    # a history may not be called like a facts file's own keys
    assert diagnostics('facts claims { x: date }\n')[0][:2] == ("unknown-name", 14)


def test_the_facts_file_history_is_checked():
    p = program('fund f { base sum(payment, payment.amount, true) rate 100% assumed "t" }\n')
    text = '{"member": {"id": "M"}, "payments": {"month": "2020-01-01"}, "claims": []}'
    with pytest.raises(medrules.MedrulesError) as e:
        facts_from_source(SourceFile("<t>", text), p.checked)
    [d] = e.value.diagnostics
    assert d.message == "'payments' must be a list of payment records" and (d.span.line, d.span.col) == (1, 37)  # the opening brace


def test_a_missing_optional_field_read_is_located():
    body = 'fund f { base { 1 yuan when every(payment, payment.paid_on < claim.date), otherwise 0 yuan } rate 100% assumed "t" }\n'
    with pytest.raises(medrules.MedrulesError) as e:
        paid(body)
    [d] = e.value.diagnostics
    assert d.message == "'payment.paid_on' is needed here but a payment record does not give it"
    assert (d.span.line, d.span.col) == (14, 44)  # payment.paid_on inside every(…)


# ---------------------------------------------------------------- invariants (hypothesis)
from hypothesis import given, settings, strategies as st  # noqa: E402

from conftest import ROOT, program_for  # noqa: E402

TJ = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"


@st.composite
def interruptions(draw):
    """Up to four interruptions in 2018–2021 (months as their first day), some paid up, some not."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        year, month = draw(st.integers(2018, 2021)), draw(st.integers(1, 12))
        length = draw(st.integers(1, 8))
        last_index = year * 12 + month - 1 + length - 1
        first, last = f"{year}-{month:02d}-01", f"{last_index // 12}-{last_index % 12 + 1:02d}-01"
        record = {"first_month": first, "last_month": last}
        if draw(st.booleans()):
            delay = draw(st.integers(0, 20))  # months after the interruption's last month
            paid_index = last_index + delay
            record["paid_on"] = f"{paid_index // 12}-{paid_index % 12 + 1:02d}-{draw(st.integers(1, 28)):02d}"
        out.append(record)
    return out


def _months(date: str) -> int:
    y, m, _ = (int(x) for x in date.split("-"))
    return y * 12 + m - 1


def employee_model(history: list[dict], claim: str) -> bool:
    """Seed 003 item 2, by hand: an employee's claim is reimbursed unless it falls in an interruption that
    is longer than 3 months or not paid by 31 March of the year after the interruption's first month."""
    for r in history:
        if _months(r["first_month"]) <= _months(claim) <= _months(r["last_month"]):
            length = _months(r["last_month"]) - _months(r["first_month"]) + 1
            deadline = f"{int(r['first_month'][:4]) + 1}-03-31"
            if not (length <= 3 and "paid_on" in r and r["paid_on"] <= deadline):
                return False
    return True


@settings(max_examples=40, deadline=None)
@given(history=interruptions(), claim_month=st.integers(2018 * 12, 2022 * 12 - 1), day=st.integers(1, 28),
       data=st.data())
def test_employee_continuity_matches_the_hand_model_and_ignores_order(history, claim_month, day, data):
    program = program_for(TJ)
    claim = f"{claim_month // 12}-{claim_month % 12 + 1:02d}-{day:02d}"

    def pays(records):
        doc = {"member": {"id": "M", "insured_as": "employee", "joined_on": "2015-01-10"}, "interruptions": records,
               "claims": [{"id": "C", "date": claim, "compliant_cost": "1000.00"}]}
        facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), program.checked)
        return medrules.settle(program, facts).claims[0].funds_paid

    expected = Decimal(1000) if employee_model(history, claim) else Decimal(0)
    assert pays(history) == expected
    assert pays(data.draw(st.permutations(history))) == expected  # the order of the records does not matter


@settings(max_examples=25, deadline=None)
@given(history=interruptions())
def test_every_is_not_any_not_and_count_counts(history):
    p = program('fund f { base { 1 yuan when every(payment, given(payment.paid_on)) '
                '== (not any(payment, not given(payment.paid_on))), otherwise 0 yuan } '
                '+ count(payment, given(payment.paid_on)) * 10 yuan rate 100% assumed "t" }\n')
    payments = [{"month": r["first_month"], "amount": "1.00"} | ({"paid_on": r["paid_on"]} if "paid_on" in r else {})
                for r in history]
    doc = {"member": {"id": "M"}, "payments": payments, "claims": [{"id": "C", "date": "2022-06-01", "cost": "1000.00"}]}
    facts = facts_from_source(SourceFile("<t>", json.dumps(doc)), p.checked)
    # 1 for the identity, 10 for each payment made
    assert medrules.settle(p, facts).claims[0].funds_paid == 1 + 10 * sum("paid_on" in r for r in history)
