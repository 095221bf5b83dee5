"""Compile: the plan's expressions -> closures ``f(env)``, built once per rulebook.

The plan (:mod:`medrules.plan`) is plain data with every name resolved and every operation chosen
by unit; this module only turns each core expression into a Python closure. When an evaluation is
traced, reads of facts, parameters, accumulators and outputs are appended to ``env.reads``; when it
is not, the cost is one ``is None`` test per read.
"""
from __future__ import annotations

import functools
import operator
from decimal import Decimal

import attrs

from medrules.check.declarations import is_history
from medrules.diagnostics import MedrulesError, error
from medrules.plan import core, ops
from medrules.plan.arith import CALENDAR
from medrules.plan.fold import ARITH
from medrules.plan.lower import parameter_value  # noqa: F401 - public here since before the plan

HISTORY_FUNCTIONS = ("any", "every", "count", "sum", "latest", "earliest")

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}


class Env:
    """What an expression can read while one claim is settled under one layer."""

    __slots__ = ("member", "claim", "acc", "out", "below", "reads", "household", "histories", "item", "quotas")

    def __init__(self, member: dict, acc: dict, tracing: bool, histories: dict | None = None):
        self.member = member
        self.histories: dict[str, tuple] = histories or {}  # history name -> its records (dicts), in file order
        self.item: dict[str, dict] = {}  # history name -> the record in hand (inside any(NAME, …) and kin)
        self.claim: dict = {}
        self.acc = acc
        self.out: dict[str, dict[str, Decimal]] = {}  # this layer's funds' outputs, so far
        self.below: dict[str, Decimal] = {}  # the layer below's results (alias.total_cost, …)
        self.reads: list | None = [] if tracing else None
        self.household: dict = {}  # the member's household's facts (contributions: 'facts household')
        self.quotas = None  # the quotas kept per holder ('cap … per holder'): medrules.evaluate.quota.QuotaBook

    def take(self) -> tuple:
        """The reads since the last take (empty when not tracing)."""
        reads = self.reads
        if not reads:  # not tracing, or nothing read
            return ()
        self.reads = []
        return tuple(reads)


def compile_expr(e: core.Expr, traced: bool = True):  # noqa: C901 - one dispatch over the core
    """A closure ``f(env)``; ``traced=False`` leaves out the recording of reads (the batch path)."""
    if isinstance(e, core.Const):
        value = e.value
        return lambda env: value
    if isinstance(e, core.Param):
        value, node = e.value, e.node
        if not traced:
            return lambda env: value

        def param(env):  # one closure per read, recording it: the traced path's commonest calls
            if env.reads is not None:
                env.reads.append((node, value))
            return value
        return param
    if isinstance(e, core.Fact):
        if is_history(e.record):  # a field of the history record in hand
            return _item_fact(e)
        if traced and not e.optional:
            name, node = e.field, e.node
            if e.record == "claim":  # the commonest read of all: one closure per record, no test of it
                def fact(env):
                    value = env.claim[name]
                    reads = env.reads
                    if reads is not None:
                        reads.append((node, value))
                    return value
            elif e.record == "member":
                def fact(env):
                    value = env.member[name]
                    reads = env.reads
                    if reads is not None:
                        reads.append((node, value))
                    return value
            else:
                def fact(env):
                    value = env.household[name]
                    reads = env.reads
                    if reads is not None:
                        reads.append((node, value))
                    return value
            return fact
        return _recorded(e.node, _fact(e), traced)
    if isinstance(e, core.Acc):
        name, node = e.name, e.node
        if not traced:
            return lambda env: env.acc[name]

        def acc(env):
            value = env.acc[name]
            if env.reads is not None:
                env.reads.append((node, value))
            return value
        return acc
    if isinstance(e, core.FundOutput):
        fund, output, node = e.fund, e.output, e.node
        if not traced:
            return lambda env: env.out[fund][output]

        def fund_output(env):  # an earlier fund's output, recorded (one closure, not two)
            value = env.out[fund][output]
            if env.reads is not None:
                env.reads.append((node, value))
            return value
        return fund_output
    if isinstance(e, core.BaseOutput):
        key = e.key
        return _recorded(e.node, lambda env: env.below[key], traced)
    if isinstance(e, core.Neg):
        f = compile_expr(e.operand, traced)
        return lambda env: -f(env)
    if isinstance(e, core.Arith):
        return _arith(e, traced)
    if isinstance(e, core.Compare) and e.op in ("==", "!=") and isinstance(e.right, core.Const) \
            and isinstance(e.left, core.Fact) and not e.left.optional \
            and e.left.record in ("claim", "member"):  # claim.kind == inpatient: the commonest test
        return _fact_test(e.left, e.op, e.right.value, traced)
    if isinstance(e, core.In) and isinstance(e.operand, core.Fact) and not e.operand.optional \
            and e.operand.record in ("claim", "member"):  # household and history facts: the general path
        return _fact_test(e.operand, "not in" if e.negated else "in", e.names, traced)
    if isinstance(e, core.Compare):
        op, left = _COMPARE[e.op], compile_expr(e.left, traced)
        if isinstance(e.right, core.Const):  # claim.kind == inpatient: the common shape
            value = e.right.value
            if e.op == "==":
                return lambda env: left(env) == value
            if e.op == "!=":
                return lambda env: left(env) != value
            return lambda env: op(left(env), value)
        right = compile_expr(e.right, traced)
        return lambda env: op(left(env), right(env))
    if isinstance(e, core.In):
        f, names, negated = compile_expr(e.operand, traced), e.names, e.negated
        return lambda env: (f(env) in names) != negated
    if isinstance(e, core.And):  # (a and b) and c: one closure over a, b, c, in order
        return _all([compile_expr(x, traced) for x in _conjuncts(e)])
    if isinstance(e, core.Or):
        fs = [compile_expr(x, traced) for x in e.operands]
        return functools.reduce(_or, fs)
    if isinstance(e, core.Not):
        f = compile_expr(e.operand, traced)
        return lambda env: not f(env)
    if isinstance(e, core.Call):
        return _call(e, traced)
    if isinstance(e, core.Cases):
        return _cases(e, traced)
    if isinstance(e, core.Highest):
        return _highest(e, traced)
    raise AssertionError(f"cannot compile {e!r}")


def _fact_test(fact: core.Fact, op: str, against, traced: bool):
    """``claim.kind == inpatient`` / ``!=`` / ``in {…}`` / ``not in {…}`` as one closure: the fact read (and
    recorded when tracing) and tested in place, the same value and the same read as the fact's own closure."""
    name, node, claim = fact.field, fact.node, fact.record == "claim"
    if op == "==":
        def test(env):
            value = env.claim[name] if claim else env.member[name]
            reads = env.reads
            if reads is not None:
                reads.append((node, value))
            return value == against
    elif op == "!=":
        def test(env):
            value = env.claim[name] if claim else env.member[name]
            reads = env.reads
            if reads is not None:
                reads.append((node, value))
            return value != against
    elif op == "in":
        def test(env):
            value = env.claim[name] if claim else env.member[name]
            reads = env.reads
            if reads is not None:
                reads.append((node, value))
            return value in against
    else:
        def test(env):
            value = env.claim[name] if claim else env.member[name]
            reads = env.reads
            if reads is not None:
                reads.append((node, value))
            return value not in against
    if traced:
        return test
    if op == "==":
        return (lambda env: env.claim[name] == against) if claim else (lambda env: env.member[name] == against)
    if op == "!=":
        return (lambda env: env.claim[name] != against) if claim else (lambda env: env.member[name] != against)
    if op == "in":
        return (lambda env: env.claim[name] in against) if claim else (lambda env: env.member[name] in against)
    return (lambda env: env.claim[name] not in against) if claim else (lambda env: env.member[name] not in against)


def _all(fs: list):
    """``a and b and …`` as one closure (short-circuit, left to right, the first false value or the last)."""
    if len(fs) == 2:
        a, b = fs
        return lambda env: a(env) and b(env)
    if len(fs) == 3:
        a, b, c = fs
        return lambda env: a(env) and b(env) and c(env)
    if len(fs) == 4:
        a, b, c, d = fs
        return lambda env: a(env) and b(env) and c(env) and d(env)

    def all_of(env):
        for f in fs:
            value = f(env)
            if not value:
                return value
        return value
    return all_of


def _conjuncts(e: core.And) -> list:
    """The operands of nested ``and`` (as lowering writes ``a and b and c``: ``(a and b) and c``), in order."""
    out = []
    for x in e.operands:
        out += _conjuncts(x) if isinstance(x, core.And) else [x]
    return out


def _or(a, b):
    return lambda env: a(env) or b(env)


def _fact(e: core.Fact):
    record, name, ref = e.record, e.field, e.node
    if not e.optional:
        if record == "household":
            return lambda env: env.household[name]
        return (lambda env: env.claim[name]) if record == "claim" else (lambda env: env.member[name])

    def get(env):
        value = getattr(env, record)[name]
        if value is None:
            raise missing_fact(ref, record, name)
        return value
    return get


def missing_fact(ref, record: str, name: str) -> MedrulesError:
    """An optional fact read where the facts do not give it (the scalar backend's kernels raise it too)."""
    return MedrulesError(error("facts", f"'{ref.text}' is needed here but the facts do not give it", ref.span,
                               f"give {record}.{name} in the facts file, or test given({ref.text}) before using it"))


def _item_fact(e: core.Fact):
    record, name, ref = e.record, e.field, e.node

    def get(env):
        value = env.item[record][name]
        if value is None:
            raise MedrulesError(error("facts", f"'{ref.text}' is needed here but a {record} record does not give "
                                      "it", ref.span, f"give {name} in every record of the facts file's "
                                      f"'{record}s', or test given({ref.text}) before using it"))
        return value
    return get


def _over_history(e: core.Call, traced: bool):
    """any/every/count/sum/latest/earliest(NAME, …): each record of the history in hand in turn. What the
    records' fields were is not recorded one by one: the trace keeps the function's result, with its node."""
    name = e.args[0].value
    fs = tuple(compile_expr(x, False) for x in e.args[1:])
    func = e.func
    fields = _item_fields(e.args[1:], name)

    def each(env):  # the records that satisfy the condition, with the value of the first argument if any
        saved_reads, saved_item = env.reads, env.item.get(name)
        env.reads = None
        try:
            for record in env.histories.get(name, ()):
                env.item[name] = record
                if func in ("any", "every", "count"):
                    yield record, fs[0](env)
                elif fs[1](env):
                    yield record, fs[0](env)
        finally:
            env.reads = saved_reads
            if saved_item is None:
                env.item.pop(name, None)
            else:
                env.item[name] = saved_item

    def witness(env, record):
        """The record that decided the result (the first that held for any, the first that failed for every, the
        one chosen by latest/earliest): its fields, as reads of the rulebook's names for them."""
        if env.reads is not None and record is not None:
            env.reads.extend((node, record[field]) for node, field in fields if record[field] is not None)

    def found(env, want: bool):
        records = each(env)
        try:
            hit = next((record for record, held in records if bool(held) == want), None)
        finally:
            records.close()  # the reads are recorded again from here
        witness(env, hit)
        return hit is not None

    if func == "any":
        fn = lambda env: found(env, True)  # noqa: E731
    elif func == "every":
        fn = lambda env: not found(env, False)  # noqa: E731
    elif func == "count":
        fn = lambda env: Decimal(sum(1 for _, held in each(env) if held))  # noqa: E731
    elif func == "sum":
        def fn(env):
            values = [v for _, v in each(env)]
            return sum(values[1:], values[0]) if values else Decimal(0)
    else:  # latest / earliest
        pick, otherwise = (max if func == "latest" else min), fs[2]

        def fn(env):
            pairs = list(each(env))
            if not pairs:
                return otherwise(env)
            record, value = pick(pairs, key=lambda p: p[1])
            witness(env, record)
            return value
    return _recorded(e.node, fn, traced)


def _item_fields(exprs, name: str) -> tuple:
    """(node, field) of each field of history ``name`` the expressions read, once per field."""
    out, seen, todo = [], set(), list(exprs)
    while todo:
        x = todo.pop(0)
        if isinstance(x, core.Fact) and x.record == name and x.field not in seen:
            seen.add(x.field)
            out.append((x.node, x.field))
        todo.extend(core.children(x))
    return tuple(out)


def _arith(e: core.Arith, traced: bool):
    left, right = compile_expr(e.left, traced), compile_expr(e.right, traced)
    if e.op == "div":
        divide, node = ARITH["div"], e.node

        def div(env):
            divisor = right(env)
            if not divisor:
                raise division_by_zero(node)
            return divide(left(env), divisor)
        return div
    op = ARITH[e.op]
    return lambda env: op(left(env), right(env))


def division_by_zero(node) -> MedrulesError:
    """A divisor that is 0 on this claim (the scalar backend's kernels raise it too)."""
    return MedrulesError(error("evaluate", f"division by zero: '{source_text_of(node.right)}' is 0 here", node.span,
                               "guard it, e.g. '{ … when n > 0, otherwise 0 yuan }'"))


def source_text_of(e) -> str:
    return getattr(e, "text", None) or "the divisor"


def _call(e: core.Call, traced: bool):
    if e.func in HISTORY_FUNCTIONS:
        return _over_history(e, traced)
    fs = tuple(compile_expr(x, traced) for x in e.args)
    if e.func in ("min", "max"):
        fn = min if e.func == "min" else max
        return lambda env: fn(f(env) for f in fs)
    if e.func == "month_start":
        (f,) = fs
        return _recorded(e.node, lambda env: f(env).replace(day=1), traced)
    if e.func in CALENDAR:  # month_end, year_start, months_between
        fn = CALENDAR[e.func]
        return _recorded(e.node, lambda env: fn(*(f(env) for f in fs)), traced)
    if e.func == "day_number":
        start, day, first = fs[0], fs[1], e.first
        return _recorded(e.node, lambda env: Decimal((day(env) - start(env)).days + first), traced)
    if e.func == "given":  # whether the fact is given: not a read of its value
        fact = e.args[0]
        record, name = fact.record, fact.field
        if is_history(record):
            return lambda env: env.item[record][name] is not None
        return lambda env: getattr(env, record)[name] is not None
    if e.func == "has":  # any of the members
        group, members = fs[0], fs[1:]
        return lambda env: any(m(env) in group(env) for m in members)
    raise AssertionError(e.func)


def _cases(e: core.Cases, traced: bool):
    cases = tuple((compile_expr(w, traced), compile_expr(v, traced)) for w, v in e.cases)
    otherwise, node, last = compile_expr(e.otherwise, traced), e.node, len(e.cases)

    def cases_fn(env):
        for i, (when, value) in enumerate(cases):
            if when(env):
                if env.reads is not None:
                    env.reads.append((node, i))
                return value(env)
        if env.reads is not None:
            env.reads.append((node, last))
        return otherwise(env)
    return cases_fn


def _highest(e: core.Highest, traced: bool):
    cases = tuple((compile_expr(w, traced), compile_expr(v, traced)) for w, v in e.cases)
    otherwise, node = compile_expr(e.otherwise, traced), e.node

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


def _recorded(node, fn, traced: bool = True):
    """A value read or computed (a fact, parameter, accumulator, day number …): traced evaluations
    record it with its node, so explanations can show where each number came from."""
    if not traced:
        return fn

    def call(env):
        value = fn(env)
        if env.reads is not None:
            env.reads.append((node, value))
        return value
    return call


# ---------------------------------------------------------------- compiled operations
@attrs.frozen
class Compiled:
    """An operation of the plan with its expressions compiled: ``op`` (the plan's operation, with its
    node) and ``fns`` (one closure per expression, in the operation's field order)."""

    op: object
    fns: tuple
    fn: object  # the first closure (most operations have one expression)
    node: object

    def __call__(self, env):
        return self.fn(env)


def _compiled(op, *exprs, traced: bool = True) -> Compiled:
    fns = tuple(compile_expr(x, traced) if x is not None else None for x in exprs)
    return Compiled(op, fns, fns[0] if fns else None, op.node)


@attrs.frozen
class CompiledFund:
    """A fund of the plan with its generated kernel (:mod:`medrules.evaluate.kernel`): ``kernel(env, steps)``."""

    plan: ops.FundPlan
    name: str
    kernel: object

    @property
    def fund(self):  # the Fund node
        return self.plan.node


@attrs.frozen
class CompiledLayer:
    plan: ops.Layer
    funds: tuple[CompiledFund, ...]
    treatments: tuple[Compiled, ...]  # fns: value, when
    exclusions: tuple[Compiled, ...]
    total: Compiled | None  # None: a contributions-only rulebook
    recoveries: tuple[Compiled, ...] = ()  # paid first, recoverable from a third party
    source: str = ""  # the funds' kernels and the layer's function as generated (medrules.evaluate.kernel)
    settle: object = None  # settle(env, steps) -> (FundResults, total): exclusions, funds, total (generated)

    @property
    def checked(self):
        return self.plan.checked


def compile_layer(layer: ops.Layer, traced: bool = True) -> CompiledLayer:
    from medrules.evaluate.kernel import compile_kernels
    kernels, settle, source = compile_kernels(layer, traced)
    return CompiledLayer(layer, tuple(CompiledFund(f, f.name, k) for f, k in zip(layer.funds, kernels)),
                         tuple(_compiled(t, t.value, t.when, traced=traced) for t in layer.treatments),
                         tuple(_compiled(x, x.when, traced=traced) for x in layer.exclusions),
                         _compiled(layer.total, layer.total.expr, traced=traced) if layer.total else None,
                         tuple(_compiled(r, r.when, traced=traced) for r in layer.recoveries), source, settle)


# Program and compile_rulebook live in medrules.program (medrules.load needs them without the evaluator)
from medrules.program import Program, compile_rulebook  # noqa: E402,F401
