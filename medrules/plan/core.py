"""The plan's expression core: a small typed language with every name already resolved.

Each class keeps ``node``, the rulebook node it was lowered from (for spans, and for the trace:
a traced backend records ``(node, value)`` for every :class:`Param`, :class:`Fact`, :class:`Acc`,
:class:`FundOutput` and :class:`BaseOutput` read, for ``month_start``/``day_number`` calls, and
``(node, index)`` for the case of a :class:`Cases`/:class:`Highest` that was chosen). A :class:`Const`
(a literal or an enumeration member) is not recorded.

Binary operations are resolved by unit at lowering (``Arith.op``), so a backend never dispatches on
units:

=================  =========================================  ======================
``op``             meaning                                    operand units
=================  =========================================  ======================
``add`` ``sub``    a + b, a − b                               same unit (money, rate, points, count, days…)
``mul``            a × b                                      money × rate, count × money, …
``mul_relpct``     a × (1 + b)                                anything × relative percent
``div``            a ÷ b, EXACT (a rational; see arith)       b ≠ 0, else a located error
``date_add_days``  date + n days                              date, days
``date_sub_days``  date − n days                              date, days
``date_add_months`` date + n months (day clipped to month end) date, months
``date_diff``      date − date, in days                       date, date
=================  =========================================  ======================
"""
from __future__ import annotations

from typing import Union

import attrs


def _core(cls):
    return attrs.frozen(eq=False)(cls)


@_core
class Const:
    value: object  # Decimal | int | date | bool | str (an enumeration member)
    node: object


@_core
class Param:
    """A parameter, folded to its value (after overrides); read as 'parameter NAME' in traces."""

    name: str
    value: object
    node: object  # the Ref that names it


@_core
class Fact:
    record: str  # member | claim
    field: str
    optional: bool  # declared '= none': reading it when absent is a located error
    node: object


@_core
class Acc:
    name: str  # an accumulator of the same layer
    node: object


@_core
class FundOutput:
    fund: str  # an earlier fund of the same layer
    output: str  # paid | base | deductible | payable | above_cap | above_ceiling | remaining
    node: object


@_core
class BaseOutput:
    key: str  # of the layer below: total_cost | paid | member_pays | FUND.OUTPUT
    node: object


@_core
class Neg:
    operand: Expr
    node: object


@_core
class Arith:
    op: str  # see the module docstring
    left: Expr
    right: Expr
    node: object


@_core
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    node: object


@_core
class In:
    operand: Expr
    names: frozenset
    negated: bool
    node: object


@_core
class And:
    operands: tuple
    node: object


@_core
class Or:
    operands: tuple
    node: object


@_core
class Not:
    operand: Expr
    node: object


@_core
class Call:
    """``min`` ``max`` (of any arity), ``month_start(date)``, ``month_end(date)``, ``year_start(date)``,
    ``months_between(a, b)`` (calendar months from a's month to b's), ``day_number(start, day)`` (counting
    the start day as ``first``: 1 inclusive, 0 exclusive), ``given(FACT)`` (the fact is not none),
    ``has(SET, member…)`` (any member in the set)."""

    func: str
    args: tuple
    node: object
    first: int = 1  # day_number only: what the start day counts as


@_core
class Cases:
    """The first case whose condition holds, else ``otherwise``."""

    cases: tuple  # ((when, value), …)
    otherwise: Expr
    node: object


@_core
class Highest:
    """The largest value among the cases that hold (ties: the first), else ``otherwise``."""

    cases: tuple
    otherwise: Expr
    node: object


Expr = Union[Const, Param, Fact, Acc, FundOutput, BaseOutput, Neg, Arith, Compare, In, And, Or, Not, Call,
             Cases, Highest]

EXPRESSIONS = (Const, Param, Fact, Acc, FundOutput, BaseOutput, Neg, Arith, Compare, In, And, Or, Not, Call,
               Cases, Highest)
ARITH_OPS = ("add", "sub", "mul", "mul_relpct", "div", "date_add_days", "date_sub_days", "date_add_months",
             "date_diff")


def children(e) -> tuple:
    """The sub-expressions of ``e`` (for walks)."""
    if isinstance(e, (Neg, Not)):
        return (e.operand,)
    if isinstance(e, (Arith, Compare)):
        return (e.left, e.right)
    if isinstance(e, In):
        return (e.operand,)
    if isinstance(e, (And, Or)):
        return tuple(e.operands)
    if isinstance(e, Call):
        return tuple(e.args)
    if isinstance(e, (Cases, Highest)):
        return tuple(x for c in e.cases for x in c) + (e.otherwise,)
    return ()


def show(e) -> str:
    """A compact one-line form, for :func:`medrules.plan.describe`."""
    if isinstance(e, Const):
        return repr(e.value) if not hasattr(e.value, "is_finite") else str(e.value)
    if isinstance(e, Param):
        return f"{e.name}={e.value}"
    if isinstance(e, Fact):
        return f"{e.record}.{e.field}" + ("?" if e.optional else "")
    if isinstance(e, Acc):
        return f"acc:{e.name}"
    if isinstance(e, FundOutput):
        return f"{e.fund}.{e.output}"
    if isinstance(e, BaseOutput):
        return f"below:{e.key}"
    if isinstance(e, Neg):
        return f"-{show(e.operand)}"
    if isinstance(e, Arith):
        return f"{e.op}({show(e.left)}, {show(e.right)})"
    if isinstance(e, Compare):
        return f"({show(e.left)} {e.op} {show(e.right)})"
    if isinstance(e, In):
        return f"({show(e.operand)} {'not in' if e.negated else 'in'} {sorted(e.names)})"
    if isinstance(e, (And, Or)):
        return "(" + f" {type(e).__name__.lower()} ".join(show(x) for x in e.operands) + ")"
    if isinstance(e, Not):
        return f"not {show(e.operand)}"
    if isinstance(e, Call):
        return f"{e.func}({', '.join(show(x) for x in e.args)})"
    kind = type(e).__name__.lower()
    return f"{kind}{{" + ", ".join(f"{show(v)} when {show(w)}" for w, v in e.cases) + \
        f", otherwise {show(e.otherwise)}}}"
