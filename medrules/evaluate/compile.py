"""Compile: a checked rulebook -> closures, once per rulebook.

Every expression becomes a Python closure ``f(env)``; names are resolved and
operations chosen from the checker's types here, so evaluation does no lookups
by name and no unit dispatch. When an evaluation is traced, reads of facts,
parameters, accumulators and fund outputs are appended to ``env.reads``; when it
is not, the cost is one ``is None`` test per read.
"""
from __future__ import annotations

import datetime as dt
import functools
import operator
from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.check import CheckedRulebook
from medrules.check.funds import accumulators_of
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.runtime import ZERO, Rounder, add_months


class Env:
    """What an expression can read while one claim is settled."""

    __slots__ = ("member", "claim", "acc", "out", "reads")

    def __init__(self, member: dict, acc: dict, tracing: bool):
        self.member = member
        self.claim: dict = {}
        self.acc = acc
        self.out: dict[str, dict[str, Decimal]] = {}
        self.reads: list | None = [] if tracing else None

    def take(self) -> tuple:
        """The reads since the last take (empty when not tracing)."""
        if self.reads is None:
            return ()
        reads, self.reads = tuple(self.reads), []
        return reads


def compile_expr(ck: CheckedRulebook, e: n.Expr):  # noqa: C901 - one dispatch over expression kinds
    if isinstance(e, n.Literal):
        value = e.value
        return lambda env: value
    if isinstance(e, n.Ref):
        return _compile_ref(ck, e)
    if isinstance(e, n.Unary):
        f = compile_expr(ck, e.operand)
        return lambda env: -f(env)
    if isinstance(e, n.Binary):
        return _compile_binary(ck, e)
    if isinstance(e, n.Comparison):
        op = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
              ">": operator.gt, ">=": operator.ge}[e.op]
        left, right = compile_expr(ck, e.left), compile_expr(ck, e.right)
        return lambda env: op(left(env), right(env))
    if isinstance(e, n.Membership):
        f, names, negated = compile_expr(ck, e.operand), frozenset(e.names), e.negated
        return lambda env: (f(env) in names) != negated
    if isinstance(e, n.Logic):
        fs = [compile_expr(ck, x) for x in e.operands]
        if e.op == "not":
            return lambda env: not fs[0](env)
        return functools.reduce(_and if e.op == "and" else _or, fs)
    if isinstance(e, n.Call):
        return _compile_call(ck, e)
    if isinstance(e, n.Highest):
        cases = [(compile_expr(ck, c.when), compile_expr(ck, c.value)) for c in e.cases]
        otherwise, node = compile_expr(ck, e.otherwise), e

        def highest_fn(env):
            best, best_index = None, len(cases)
            for i, (when, value) in enumerate(cases):
                if when(env):
                    v = value(env)
                    if best is None or v > best:
                        best, best_index = v, i
            if best is None:
                best = otherwise(env)
            if env.reads is not None:
                env.reads.append((node, best_index))
            return best

        return highest_fn
    if isinstance(e, n.Cases):
        cases = [(compile_expr(ck, c.when), compile_expr(ck, c.value)) for c in e.cases]
        otherwise, node = compile_expr(ck, e.otherwise), e

        def cases_fn(env):
            for i, (when, value) in enumerate(cases):
                if when(env):
                    if env.reads is not None:
                        env.reads.append((node, i))
                    return value(env)
            if env.reads is not None:
                env.reads.append((node, len(cases)))
            return otherwise(env)

        return cases_fn
    raise AssertionError(f"cannot compile {e!r}")


def _and(a, b):
    return lambda env: a(env) and b(env)


def _or(a, b):
    return lambda env: a(env) or b(env)


def _compile_call(ck: CheckedRulebook, e: n.Call):
    fs = [compile_expr(ck, x) for x in e.args]
    if e.func in ("min", "max"):
        fn = min if e.func == "min" else max
        return lambda env: fn(f(env) for f in fs)
    if e.func == "month_start":
        (f,) = fs
        return _recorded(e, lambda env: f(env).replace(day=1))
    if e.func == "day_number":
        start, day = fs
        first = 1 if ck.rulebook.header.day_count == "inclusive" else 0  # what the start day counts as
        return _recorded(e, lambda env: Decimal((day(env) - start(env)).days + first))
    if e.func == "given":
        res = ck.resolved[e.args[0]]
        record, name = res.detail, res.target
        return lambda env: getattr(env, record)[name] is not None
    if e.func == "has":  # any of the members
        group, members = fs[0], fs[1:]
        return lambda env: any(m(env) in group(env) for m in members)
    raise AssertionError(e.func)


def _recorded(node, fn):
    """A value read or computed (a fact, parameter, accumulator, day number …): traced evaluations
    record it with its node, so explanations can show where each number came from."""
    def call(env):
        value = fn(env)
        if env.reads is not None:
            env.reads.append((node, value))
        return value
    return call


def _compile_ref(ck: CheckedRulebook, e: n.Ref):
    res = ck.resolved[e]
    if res.kind == "enum_member":
        member = res.detail
        return lambda env: member
    if res.kind == "param":
        value = parameter_value(ck, res.target)
        return _recorded(e, lambda env: value)
    if res.kind == "fact" and ck.records[res.detail][res.target] in ck.optional:
        name, record = res.target, res.detail

        def get(env):
            value = getattr(env, record)[name]
            if value is None:
                raise MedrulesError(error("facts", f"'{e.text}' is needed here but the facts do not give it",
                                          e.span, f"give {record}.{name} in the facts file, or test "
                                          f"given({e.text}) before using it"))
            return value
    elif res.kind == "fact":
        name, record = res.target, res.detail

        def get(env):
            return getattr(env, record)[name]
    elif res.kind == "accumulator":
        name = res.target

        def get(env):
            return env.acc[name]
    else:  # fund_output, or base_output: env.out[alias] holds the base scheme's results
        fund, output = res.target, res.detail

        def get(env):
            return env.out[fund][output]

    return _recorded(e, get)


def parameter_value(ck: CheckedRulebook, name: str):
    f = compile_expr(ck, ck.parameters[name].value)
    return f(Env({}, {}, tracing=False))


def _compile_binary(ck: CheckedRulebook, e: n.Binary):
    left, right = compile_expr(ck, e.left), compile_expr(ck, e.right)
    lt, rt = ck.types[e.left].unit, ck.types[e.right].unit
    if e.op == "+" and lt == "date":
        if rt == "days":
            return lambda env: left(env) + dt.timedelta(days=right(env))
        return lambda env: add_months(left(env), right(env))
    if e.op == "-" and lt == "date":
        if rt == "days":
            return lambda env: left(env) - dt.timedelta(days=right(env))
        return lambda env: (left(env) - right(env)).days
    if e.op == "*" and "relpct" in (lt, rt):
        return lambda env: left(env) * (1 + right(env))
    if e.op == "/":
        def divide(env):
            divisor = right(env)
            if not divisor:
                raise MedrulesError(error("evaluate", f"division by zero: '{source_text_of(e.right)}' is 0 here",
                                          e.span, "guard it, e.g. '{ … when n > 0, otherwise 0 yuan }'"))
            return left(env) / divisor
        return divide
    op = {"+": operator.add, "-": operator.sub, "*": operator.mul}[e.op]
    return lambda env: op(left(env), right(env))


def source_text_of(e: n.Expr) -> str:
    return e.text if isinstance(e, (n.Ref, n.Literal)) else "the divisor"


# ---------------------------------------------------------------- fund plans
@attrs.frozen
class Compiled:
    """A compiled expression with the node it came from."""

    node: object
    fn: object

    def __call__(self, env):
        return self.fn(env)


@attrs.frozen
class BandPlan:
    node: n.Band
    lower: Decimal
    upper: Decimal | None
    rate: Compiled


@attrs.frozen
class AdjustPlan:
    node: n.Adjust
    kind: str  # points | relpct
    amount: Compiled
    when: Compiled


@attrs.frozen
class FundPlan:
    fund: n.Fund
    applies: Compiled | None
    applies_node: n.Applies | None
    exclusions: tuple[Compiled, ...]
    base: Compiled
    base_node: n.Base
    cost_acc: str | None
    payments_acc: str | None
    deductible_acc: str | None
    deductible: n.Deductible | None
    deductible_amount: Compiled | None
    deductible_when: Compiled | None
    cost_caps: tuple[tuple[n.Cap, Compiled], ...]  # yearly and/or per claim
    payment_caps: tuple[tuple[n.Cap, Compiled], ...]
    rate: Compiled | None
    rate_node: n.Rate | None
    bands: tuple[BandPlan, ...]
    bands_node: n.Bands | None
    adjusts: tuple[AdjustPlan, ...]
    flat: Compiled | None = None


@attrs.frozen
class Program:
    """A checked rulebook compiled for evaluation: build once, settle many times."""

    checked: CheckedRulebook
    funds: tuple[FundPlan, ...]
    total: Compiled
    dated_by: str  # the claim field that places a claim in a benefit year
    rounder: Rounder
    treatments: tuple[tuple[n.Treat, str, str, object, object], ...] = ()  # node, record, field, value, when
    exclusions: tuple[Compiled, ...] = ()
    base: Program | None = None  # the scheme a supplementary rulebook layers on

    @property
    def alias(self) -> str | None:
        return self.checked.alias

    def all_funds(self) -> list[tuple[str, n.Fund]]:
        """Every fund that settles a claim, in order, by qualified name (``basic.inpatient_pool``)."""
        base = [(f"{self.alias}.{name}", fund) for name, fund in self.base.all_funds()] if self.base else []
        return base + [(p.fund.name, p.fund) for p in self.funds]

    def all_accumulators(self) -> dict[str, n.Accumulator]:
        base = {f"{self.alias}.{k}": v for k, v in self.base.all_accumulators().items()} if self.base else {}
        return base | dict(self.checked.accumulators)


def compile_rulebook(ck: CheckedRulebook, base: Program | None = None) -> Program:
    rb = ck.rulebook
    funds = tuple(compile_fund(ck, f) for f in rb.funds)
    total = Compiled(rb.total, compile_expr(ck, rb.total.expr))
    treatments = tuple((t, t.target.parts[0], t.target.parts[1], compile_expr(ck, t.value),
                        compile_expr(ck, t.when)) for t in rb.treatments)
    exclusions = tuple(Compiled(x, compile_expr(ck, x.when)) for x in rb.exclusions)
    return Program(ck, funds, total, rb.header.dated_by.parts[-1], Rounder(rb.header.rounding),
                   treatments, exclusions, base)


def compile_fund(ck: CheckedRulebook, fund: n.Fund) -> FundPlan:
    def c(node, expr):
        return Compiled(node, compile_expr(ck, expr))

    roles = accumulators_of(fund)
    applies = (fund.clause(n.Applies) or [None])[0]
    base = fund.clause(n.Base)[0]
    ded = (fund.clause(n.Deductible) or [None])[0]
    rate = (fund.clause(n.Rate) or [None])[0]
    bands = (fund.clause(n.Bands) or [None])[0]
    return FundPlan(
        fund=fund,
        applies=c(applies, applies.when) if applies else None,
        applies_node=applies,
        exclusions=tuple(c(x, x.when) for x in fund.clause(n.Exclude)),
        base=c(base, base.expr),
        base_node=base,
        cost_acc=roles.get("cost"),
        payments_acc=roles.get("payments"),
        deductible_acc=roles.get("deductible"),
        deductible=ded,
        deductible_amount=c(ded, ded.amount) if ded else None,
        deductible_when=c(ded, ded.when) if ded and ded.when is not None else None,
        cost_caps=tuple((cap, c(cap, cap.amount)) for cap in fund.clause(n.Cap) if cap.what == "cost"),
        payment_caps=tuple((cap, c(cap, cap.amount)) for cap in fund.clause(n.Cap) if cap.what == "payments"),
        rate=c(rate, rate.expr) if rate else None,
        rate_node=rate,
        bands=tuple(BandPlan(b, ck.constants[b.lower] if b.lower is not None else ZERO,
                             ck.constants[b.upper] if b.upper is not None else None, c(b, b.rate))
                    for b in bands.bands) if bands else (),
        bands_node=bands,
        adjusts=tuple(AdjustPlan(a, ck.types[a.amount].unit, c(a, a.amount), c(a, a.when))
                      for a in fund.clause(n.Adjust)),
        flat=c(flat, flat.amount) if (flat := (fund.clause(n.Flat) or [None])[0]) else None,
    )
