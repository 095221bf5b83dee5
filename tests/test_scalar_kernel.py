"""The scalar kernel's shortcuts (issue 8) keep the interpreter's meaning: a test of a fact compiled as one
closure gives the value and records the read the fact's own closure would; ``a and b and c`` short-circuits
left to right; a fund's outputs are held in FundResult's field order (the result is built from them in order)."""
from __future__ import annotations

import attrs
import pytest

from medrules.evaluate import RESULT_FIELDS, FundResult
from medrules.evaluate.compile import Env, _all, compile_expr
from medrules.evaluate.fund import NOT_APPLIED, empty_outputs
from medrules.plan import core


def fact(record: str, field: str):
    return core.Fact(record, field, False, node=f"{record}.{field}")


def test_outputs_are_in_the_result_fields_order():
    fields = [f.name for f in attrs.fields(FundResult)][1:]  # after the fund's name
    assert RESULT_FIELDS == tuple("excluded" if f == "excluded_by" else f for f in fields)
    assert tuple(empty_outputs()) == RESULT_FIELDS
    assert tuple(NOT_APPLIED) == RESULT_FIELDS
    assert not NOT_APPLIED["applied"] and NOT_APPLIED["excluded"] is None


# claim.kind is 'inpatient', member.category 'retired': each test's answer follows from those two facts
CASES = [
    (core.Compare("==", fact("claim", "kind"), core.Const("inpatient", None), None), True),
    (core.Compare("!=", fact("claim", "kind"), core.Const("inpatient", None), None), False),
    (core.Compare("==", fact("member", "category"), core.Const("working", None), None), False),
    (core.In(fact("claim", "kind"), frozenset({"inpatient", "family_ward"}), False, None), True),
    (core.In(fact("claim", "kind"), frozenset({"outpatient"}), False, None), False),
    (core.In(fact("member", "category"), frozenset({"outpatient"}), True, None), True),  # not in
]


@pytest.mark.parametrize("expr, expected", CASES)
def test_a_test_of_a_fact_reads_and_records_it_once(expr, expected):
    record, field = (expr.left if isinstance(expr, core.Compare) else expr.operand).record, \
        (expr.left if isinstance(expr, core.Compare) else expr.operand).field
    value = {"claim": "inpatient", "member": "retired"}[record]
    for traced in (True, False):
        env = Env({"category": "retired"}, {}, traced)
        env.claim = {"kind": "inpatient"}
        assert compile_expr(expr, traced)(env) is expected
        assert env.take() == (((f"{record}.{field}", value),) if traced else ())


def test_and_short_circuits_left_to_right():
    calls = []

    def seen(name, value):
        # a claim fact read through a closure that notes the call: `and` stops at the first false operand
        e = core.Compare("==", fact("claim", name), core.Const(value, None), None)
        f = compile_expr(e, False)
        return lambda env: calls.append(name) or f(env)

    env = Env({}, {}, False)
    env.claim = {"a": 1, "b": 2, "c": 3, "d": 4}
    for n, stop in ((2, None), (3, "b"), (4, "c")):
        calls.clear()
        fs = [seen(k, env.claim[k] if k != stop else -1) for k in "abcd"[:n]]
        assert _all(fs)(env) is (stop is None)
        assert calls == list("abcd"[:n] if stop is None else "abcd"[:"abcd".index(stop) + 1])
