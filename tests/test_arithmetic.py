"""The arithmetic of docs/arithmetic.md, obeyed: exact division, rounding by the quantum's value,
payments that never exceed a cap or the base after rounding, and the settlement's invariants.

Every expected amount is worked out by hand in the comment next to it.
"""
from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import medrules
from conftest import ROOT
from medrules.diagnostics import MedrulesError
from medrules.facts import facts_from_source
from medrules.plan.arith import Exact, divide, round_to
from medrules.source import SourceFile

D = Decimal
REPRO = ROOT.parent.parent / "shared" / "reports" / "reliability"


def program(body: str, rounding: str = "half_up to 0.01 yuan", total: str = "claim.cost"):
    text = f"""
rulebook "arith" {{
  effective from 2012-01-01
  year starts 01-01 by claim.date
  rounding {rounding} per payment
}}
source S {{ number "n" }}
facts member {{ id: text }}
facts claim {{ id: text  date: date  cost: money }}
{body}
total cost is {total}
"""
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("arith.mr", text))))


def settle(prog, *costs, trace=False):
    facts = {"member": {"id": "M"},
             "claims": [{"id": f"C{i}", "date": f"2012-0{i}-01", "cost": c} for i, c in enumerate(costs, 1)]}
    return medrules.settle(prog, facts_from_source(SourceFile("f.json", json.dumps(facts)), prog.checked), trace)


def paid(s, fund="f"):
    return [c.fund(fund).paid for c in s.claims]


# ---------------------------------------------------------------- exact division
def test_dividing_before_a_rate_lands_exactly_on_a_half_fen_tie():
    # 1,000.15 / 3 = 333.38333… ; × 90% = 300.045 exactly: a tie, half-up → 300.05.
    # A quotient cut at 28 digits (333.3833333333333333333333333) × 0.9 = 300.0449999…97 → 300.04.
    prog = program('fund f cites S "q" {\n base claim.cost / 3\n rate 90%\n}')
    s = settle(prog, "1000.15", trace=True)
    assert paid(s) == [D("300.05")]
    assert s.claims[0].member_pays == D("700.10")  # 1,000.15 − 300.05
    from medrules.explain import explain
    lines = [line.text for line in explain(prog, s, "en").claims[0].lines]
    assert any("333.3833…" in t for t in lines)  # an exact quotient is shown cut to four decimals, marked


def test_division_is_exact_and_stays_decimal_when_it_can():
    assert divide(D("1000.15"), 3) == Fraction(100015, 300) and isinstance(divide(D(1), 3), Exact)
    assert divide(D("10.00"), 4) == D("2.5") and type(divide(D("10.00"), 4)) is Decimal  # 10 / 4 terminates
    assert divide(D(1), 3) * 3 == 1  # (1/3) × 3 = 1, not 0.999…
    assert D(1) - divide(D(1), 3) == Fraction(2, 3)


def test_the_cost_beyond_a_payment_cap_is_divided_exactly():
    # rate 90%, cap 100 yuan per year: a 1,000.00 claim pays 100.00; 100 / 0.9 = 111.111… of cost is
    # covered; 1,000 − 111.111… = 888.888…, rounded half-up to the fen: 888.89.
    prog = program('accumulator p: money per year\nfund f cites S "q" {\n base claim.cost\n rate 90%\n'
                   ' accumulate payments in p\n cap payments at 100 yuan\n}')
    s = settle(prog, "1000.00")
    assert paid(s) == [D("100.00")] and s.claims[0].fund("f").above_cap == D("888.89")


# ---------------------------------------------------------------- rounding by the quantum's value
def test_rounding_to_10_yuan_rounds_to_tens():
    # 250.00 × 50% = 125 → half-up to a multiple of 10: 130 (125 is a tie between 120 and 130)
    prog = program('fund f cites S "q" {\n base claim.cost\n rate 50%\n}', rounding="half_up to 10 yuan")
    assert paid(settle(prog, "250.00")) == [D(130)]


def test_rounding_to_1_0_yuan_rounds_to_units():
    # 100.50 × 50% = 50.25 → half-up to 1 yuan (the VALUE of 1.0): 50, not 50.3
    prog = program('fund f cites S "q" {\n base claim.cost\n rate 50%\n}', rounding="half_up to 1.0 yuan")
    assert paid(settle(prog, "100.50")) == [D(50)]


@pytest.mark.parametrize("amount, quantum, mode, expected", [
    ("123.465", "0.01", "half_up", "123.47"), ("123.465", "0.01", "half_even", "123.46"),
    ("123.465", "0.01", "down", "123.46"), ("123.461", "0.01", "up", "123.47"),
    ("125", "10", "half_up", "130"), ("135", "10", "half_even", "140"), ("0.75", "0.5", "half_even", "1.0"),
    ("-2.5", "1", "half_up", "-3"), ("-2.5", "1", "down", "-2"), ("7", "0.5", "up", "7.0"),
])
def test_round_to(amount, quantum, mode, expected):
    assert round_to(D(amount), D(quantum), mode) == D(expected)


@given(st.fractions(min_value=-10**6, max_value=10**6, max_denominator=10**4),
       st.sampled_from(["0.01", "0.1", "1", "10", "0.5", "0.05"]),
       st.sampled_from(["half_up", "half_even", "down", "up"]))
def test_rounding_lands_on_the_grid_within_one_step(x, quantum, mode):
    q = D(quantum)
    value = divide(D(x.numerator), x.denominator)
    r = round_to(value, q, mode)
    steps = Fraction(r) / Fraction(q)
    assert steps.denominator == 1  # a multiple of the quantum
    error = Fraction(r) - x
    assert abs(error) < Fraction(q)
    if mode.startswith("half"):
        assert abs(error) <= Fraction(q) / 2
    if mode == "down":
        assert abs(Fraction(r)) <= abs(x)
    if mode == "up":
        assert abs(Fraction(r)) >= abs(x)


# ---------------------------------------------------------------- payments within caps after rounding
def test_the_veterans_quota_is_not_exceeded_by_rounding():
    # pension_standard 1,234.65 × 10% = 123.465 (a sub-fen cap); the claim's 200.00 at 100% is above it,
    # so the fund pays its room: 123.465 → half-up would be 123.47, above the cap; the largest fen amount
    # within it is 123.46.
    prog = medrules.load(ROOT / "rulebooks" / "veterans" / "subsidy.mr")
    facts = {"member": {"id": "V", "categories": ["martyr_family"], "pension_standard": "1234.65"},
             "claims": [{"id": "C1", "date": "2011-03-01", "kind": "outpatient", "compliant_cost": "200.00"}]}
    s = medrules.settle(prog, facts_from_source(SourceFile("m03.json", json.dumps(facts)), prog.checked), True)
    c = s.claims[0]
    assert c.fund("outpatient_quota").paid == D("123.46")
    rounding = [st for st in c.steps if st.kind == "rounding" and st.fund == "outpatient_quota"][0]
    assert rounding.values["within"] == D("123.465")


def test_rounding_up_never_pays_above_a_yearly_cap():
    # cap 100.5 yuan a year, rounding up to 1 yuan, rate 100%:
    # C1 100.00 → 100 (room 100.5); C2 3.00 → room 0.5, rounding up would pay 1 (101 in the year):
    # the largest whole yuan within 0.5 is 0. The year pays 100 ≤ 100.5.
    body = ('accumulator paid: money per year\nfund f cites S "q" {\n base claim.cost\n rate 100%\n'
            ' accumulate payments in paid\n cap payments at 100.5 yuan\n}')
    prog = program(body, rounding="up to 1 yuan")
    assert paid(settle(prog, "100.00", "3.00")) == [D(100), D(0)]
    # C1 100.20 → 100.2 within the room of 100.5, but rounding up gives 101 > 100.5: pays 100
    assert paid(settle(prog, "100.20")) == [D(100)]


def test_rounding_never_pays_more_than_the_base():
    # base 0.004 at 100%, rounding up to the fen would pay 0.01 > 0.004: the fund pays 0.00
    prog = program('fund f cites S "q" {\n base claim.cost / 250\n rate 100%\n}', rounding="up to 0.01 yuan")
    assert paid(settle(prog, "1.00")) == [D("0.00")]


def test_a_negative_payment_fails_closed_with_a_located_message():
    # flat −800 yuan on a 100.00 claim: whether the checker refuses it or settlement does, the user
    # gets a located MedrulesError, never a payment of −800.00
    with pytest.raises(MedrulesError) as e:
        prog = program('fund f cites S "q" {\n base claim.cost\n flat -800 yuan\n}')
        settle(prog, "100.00")
    d = e.value.diagnostics[0]
    assert d.span is not None and d.span.file == "arith.mr"


# ---------------------------------------------------------------- the same, for all inputs (hypothesis)
VETERANS = medrules.load(ROOT / "rulebooks" / "veterans" / "subsidy.mr")
_cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c) / 100)


@given(pension=_cents, forward=st.integers(min_value=0, max_value=100_000).map(lambda c: D(c) / 100),
       costs=st.lists(_cents, min_size=1, max_size=4))
def test_the_veterans_quota_holds_for_any_pension(pension, forward, costs):
    # the quota is pension_standard × 10% + the balance brought forward, whatever its sub-fen digits;
    # the year's payments never exceed it, and no claim is paid more than its cost
    facts = {"member": {"id": "V", "categories": ["martyr_family"], "pension_standard": str(pension),
                        "quota_brought_forward": str(forward)},
             "claims": [{"id": f"C{i}", "date": f"2011-0{i}-01", "kind": "outpatient", "compliant_cost": str(c)}
                        for i, c in enumerate(costs, 1)]}
    s = medrules.settle(VETERANS, facts_from_source(SourceFile("v.json", json.dumps(facts)), VETERANS.checked))
    quota = pension * D("0.10") + forward
    paid = [c.fund("outpatient_quota").paid for c in s.claims]
    assert sum(paid) <= quota
    assert all(D(0) <= p <= c.fund("outpatient_quota").base for p, c in zip(paid, s.claims))


@given(st.lists(st.integers(min_value=0, max_value=20_000).map(lambda c: D(c) / 100), min_size=1, max_size=6),
       st.sampled_from(["up to 1 yuan", "half_up to 1 yuan", "half_up to 0.01 yuan", "up to 10 yuan"]))
def test_a_yearly_payment_cap_holds_after_any_rounding(costs, rounding):
    prog = _CAPPED[rounding]
    paid = [p for p in paid_of(prog, costs)]
    assert sum(paid) <= D("100.5") and all(p >= 0 for p in paid)


_CAP_BODY = ('accumulator paid: money per year\nfund f cites S "q" {\n base claim.cost\n rate 100%\n'
             ' accumulate payments in paid\n cap payments at 100.5 yuan\n}')
_CAPPED = {r: program(_CAP_BODY, rounding=r) for r in
           ["up to 1 yuan", "half_up to 1 yuan", "half_up to 0.01 yuan", "up to 10 yuan"]}


def paid_of(prog, costs):
    facts = {"member": {"id": "M"}, "claims": [{"id": f"C{i}", "date": f"2012-01-{i:02}", "cost": str(c)}
                                               for i, c in enumerate(costs, 1)]}
    s = medrules.settle(prog, facts_from_source(SourceFile("f.json", json.dumps(facts)), prog.checked))
    return [c.fund("f").paid for c in s.claims]
