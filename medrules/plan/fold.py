"""Constant folding: the value of a core expression that reads no facts, accumulators or outputs."""
from __future__ import annotations

import operator

from medrules.plan import arith
from medrules.plan import core as c

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}

ARITH = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "mul_relpct": arith.times_relative,
         "div": arith.divide, "date_add_days": arith.add_days, "date_sub_days": arith.sub_days,
         "date_add_months": lambda d, m: arith.add_months(d, int(m)), "date_diff": arith.days_between}


class NotConstant(Exception):
    pass


def value(e):  # noqa: C901 - one dispatch over the core
    if isinstance(e, (c.Const, c.Param)):
        return e.value
    if isinstance(e, c.Neg):
        return -value(e.operand)
    if isinstance(e, c.Arith):
        return ARITH[e.op](value(e.left), value(e.right))
    if isinstance(e, c.Compare):
        return _COMPARE[e.op](value(e.left), value(e.right))
    if isinstance(e, c.In):
        return (value(e.operand) in e.names) != e.negated
    if isinstance(e, c.And):
        return all(value(x) for x in e.operands)
    if isinstance(e, c.Or):
        return any(value(x) for x in e.operands)
    if isinstance(e, c.Not):
        return not value(e.operand)
    if isinstance(e, c.Call) and e.func in ("min", "max"):
        return (min if e.func == "min" else max)(value(x) for x in e.args)
    if isinstance(e, c.Call) and e.func == "month_start":
        return value(e.args[0]).replace(day=1)
    if isinstance(e, c.Call) and e.func in ("month_end", "year_start", "months_between"):
        return arith.CALENDAR[e.func](*(value(x) for x in e.args))
    if isinstance(e, c.Call) and e.func == "day_number":
        return arith.Decimal(arith.days_between(value(e.args[1]), value(e.args[0])) + e.first)
    if isinstance(e, c.Cases):
        for when, v in e.cases:
            if value(when):
                return value(v)
        return value(e.otherwise)
    if isinstance(e, c.Highest):
        held = [value(v) for when, v in e.cases if value(when)]
        return max(held) if held else value(e.otherwise)
    raise NotConstant(e)
