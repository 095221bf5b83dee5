"""The lowered plan (medrules.plan): what a backend reads, dumped for a small rulebook.

The expected dump is written from the rulebook text below: parameters folded to their values
(with their names), band edges folded, names resolved to slots, operations in kernel order.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

import medrules
from medrules.diagnostics import MedrulesError
from medrules.plan import core, describe, lower, ops
from medrules.source import SourceFile

RULEBOOK = """
rulebook "test/plan" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
source T { number "T1" }
enum kind { inpatient "住院" outpatient "门诊" }
facts member { id: text  retired: bool = false }
facts claim { id: text  date: date  kind: kind  cost: money  self_paid: money = 0 yuan }
parameter edge: money = 30_000 yuan "分段点" cites T at "1" "3万元"
parameter deductible_amount: money = edge / 50 "起付线" cites T at "2" "600元"
accumulator ip_cost: money per year
accumulator ip_paid: money per year
fund pool "统筹" cites T at "3" "住院" {
  applies when claim.kind == inpatient
  base claim.cost
  accumulate cost in ip_cost
  accumulate payments in ip_paid
  deductible deductible_amount per admission cites T at "4" "起付"
  bands on ip_cost {
    up to edge: 80%,
    above edge: 90%
  } cites T at "5" "分段"
  adjust +5 points when member.retired cites T at "6" "退休"
  cap payments at 100_000 yuan cites T at "7" "封顶"
}
total cost is claim.cost + claim.self_paid
"""


@pytest.fixture(scope="module")
def checked():
    return medrules.check(medrules.parse(SourceFile("plan.mr", RULEBOOK)))


def test_a_small_plan_dumped(checked):
    # edge = 30,000; deductible_amount = edge / 50 = 600 (folded, exact); the band edge is the
    # parameter's value; accumulations in the kernel's order (cost, then payments).
    assert describe(lower(checked)) == "\n".join([
        "layer test/plan: dated by claim.date, year starts 01-01, rounding half_up to 0.01",
        "  accumulator ip_cost per year",
        "  accumulator ip_paid per year",
        "  fund pool",
        "    applies when (claim.kind == 'inpatient')",
        "    base claim.cost",
        "    deductible deductible_amount=600 per admission",
        "    adjust points 0.05 when member.retired",
        "    bands on ip_cost: [0, 30000) 0.8; [30000, ∞) 0.9",
        "    payment cap 100000 per year",
        "    rounding half_up to 0.01",
        "    accumulate cost in ip_cost",
        "    accumulate payments in ip_paid",
        "  total add(claim.cost, claim.self_paid)",
    ])


def test_the_plan_is_plain_data(checked):
    plan = lower(checked)
    fund = plan.top.funds[0]
    assert [type(o).__name__ for o in fund.operations()] == [
        "Applies", "Base", "Deductible", "Adjust", "Bands", "PaymentCap", "Rounding", "Accumulate", "Accumulate"]
    assert isinstance(fund.base.expr, core.Fact) and fund.base.expr.field == "cost"
    assert fund.cost_acc == "ip_cost" and fund.payments_acc == "ip_paid" and fund.deductible_acc is None
    param = fund.deductible.amount
    assert isinstance(param, core.Param) and param.name == "deductible_amount" and param.value == Decimal(600)
    assert (param.node.span.line, param.node.span.col) == (20, 14) # the Ref in 'deductible deductible_amount per admission'
    seen = []

    def walk(x):  # no closures anywhere: only attrs data, tuples, dicts and values
        assert not callable(x) or isinstance(x, type), x
        if hasattr(type(x), "__attrs_attrs__") and not type(x).__module__.startswith("medrules.nodes") and \
                type(x).__module__ != "medrules.check.context":
            seen.append(type(x))
            for a in type(x).__attrs_attrs__:
                walk(getattr(x, a.name))
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)

    walk(plan)
    assert ops.FundPlan in seen and core.Param in seen and ops.Band in seen


def test_an_override_moves_a_band_edge_and_what_is_folded_from_it(checked):
    # edge 30,000 → 60,000: the band edge moves, and deductible_amount = 60,000 / 50 = 1,200
    plan = lower(checked, {"edge": Decimal(60_000)})
    fund = plan.top.funds[0]
    assert [(b.lower, b.upper) for b in fund.pay.bands] == [(0, Decimal(60_000)), (Decimal(60_000), None)]
    assert fund.deductible.amount.value == Decimal(1200)
    assert plan.top.parameters["edge"] == Decimal(60_000) and plan.overrides == {"edge": Decimal(60_000)}


def test_an_unknown_override_is_a_message(checked):
    with pytest.raises(MedrulesError) as e:
        lower(checked, {"egde": Decimal(1)})
    assert "no parameter named 'egde'" in str(e.value)


def test_a_layered_rulebook_lowers_to_two_layers():
    from conftest import ROOT
    program = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-mutual-aid-2012.mr")
    plan = lower(program.checked, {"basic.inpatient_deductible": Decimal(700)})
    assert [(layer.id, layer.prefix, layer.alias) for layer in plan.layers] == [
        ("quzhou/employee-2012", "basic", None), ("quzhou/employee-mutual-aid-2012", "", "basic")]
    assert plan.layers[0].parameters["inpatient_deductible"] == Decimal(700)
    base = plan.top.funds[0].base.expr
    assert isinstance(base, core.Arith) and base.op == "sub" and isinstance(base.right, core.BaseOutput)
    assert base.right.key == "paid"


def test_the_facts_a_plan_reads(checked):
    from medrules.plan import facts_read
    # applies: claim.kind; base: claim.cost; adjust: member.retired; total: claim.cost + claim.self_paid
    assert facts_read(lower(checked)) == {("claim", "kind"), ("claim", "cost"), ("member", "retired"),
                                          ("claim", "self_paid")}
