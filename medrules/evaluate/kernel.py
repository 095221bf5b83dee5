"""The fund kernel of the scalar backend, generated: one Python function per fund, written from the plan.

A fund settles a claim by its operations in the plan's order (:meth:`medrules.plan.ops.FundPlan.operations`).
For each fund this module writes the source of one function doing exactly those operations, inline and in
order, with the plan's constants as names bound once, and compiles it once per program (``compile()``):
no closure per operation, no dispatch per claim. **Each operation kind has one emitter here, and the
emitter is the scalar backend's meaning of that kind** (there is no other copy):

=====================  ====================================================================
``emit_applies``       if the condition is false the fund pays nothing
``emit_exclude``       a fund exclusion that holds: the fund pays nothing, with the reason
``emit_base``          the amount the fund applies to (never negative)
``emit_deductible``    the first part of the claim's segment stays with the member
``emit_cost_cap``      the fund pays only on the axis up to its cost cap
``emit_adjust``        rate adjustments (points, relative percent), evaluated once
``emit_rate``          the payable part times the (adjusted) rate
``emit_bands``         the part of the payable segment in each band, at its rate
``emit_flat``          a flat amount, never more than the payable part
``emit_payment_cap``   payments stop at the tightest payment cap; the cost beyond is ``above_cap``
``emit_rounding``      the declared rounding, never above a payment cap's room or the base
``emit_accumulate``    cost, deductible and payments are added to the accumulators
=====================  ====================================================================

On the fund's cost axis (its year-to-date cost accumulator, or the claim's own amount from zero when it
keeps none) the claim occupies ``[a0, a0 + base]``. Two functions are written per fund: the traced one
records each step as a tuple, ``(StepClass, fund, node, reads, layer, *the class's own fields in order)``
(the classes in :mod:`medrules.evaluate.trace`; ``tests/test_trace_records.py`` checks every arity), with
the reads of its expressions (``(node, value)`` pairs, in evaluation order) built in place when they do not
depend on a condition, or collected in ``env.reads`` when they do; the untraced one leaves all recording
out. The arithmetic is the same text in both. The settlement's invariants (0 ≤ paid ≤ base, paid within
every payment cap's room) are checked on every claim and fail closed with a located :class:`MedrulesError`.

Expressions are written inline for the core's common shapes (constants, parameters, facts, accumulators,
outputs, + − ×, comparisons, ``in``, ``and``/``or``/``not``, ``min``/``max``, cases); any other shape
(division, calendar functions, optional facts, histories, ``highest``) calls the closure
:func:`medrules.evaluate.compile.compile_expr` builds for it, which keeps its located errors.

Safety: nothing from a rulebook or facts file is written into the source as code. Names of facts, funds and
accumulators are written as string literals (``repr``), values (``Decimal``, dates, sets) and nodes are bound
as names ``K…`` / ``N…`` in the function's namespace, and every identifier in the source is the generator's
own. :func:`kernel_source` returns a program's source for reading (``medrules plan RULEBOOK --source``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import trace
from medrules.evaluate.compile import HISTORY_FUNCTIONS, compile_expr, division_by_zero, missing_fact
from medrules.plan import core, ops
from medrules.plan.arith import CALENDAR, MODES, ONE, ZERO, _grid, divide, round_to
from medrules.plan.fold import ARITH

_INLINE_ARITH = {"add": "+", "sub": "-", "mul": "*"}
_DATE_ARITH = ("date_add_days", "date_sub_days", "date_add_months", "date_diff")  # helpers, by these names
_RECORDED_CALLS = ("month_start", "day_number") + tuple(CALENDAR)  # calls whose value a trace records
_FACT_RECORDS = {"claim": "claim", "member": "member", "household": "env.household"}


# ---------------------------------------------------------------- the fund's outputs
_EMPTY = {"applied": False, "paid": ZERO, "base": ZERO, "deductible": ZERO, "payable": ZERO, "above_cap": ZERO,
          "above_ceiling": ZERO, "remaining": ZERO, "excluded": None}  # FundResult's field order
NOT_APPLIED = _EMPTY.copy()  # shared by every fund that does not apply: never changed


def empty_outputs() -> dict:
    """A fund's outputs on a claim it does not pay: all zero."""
    return _EMPTY.copy()


# ---------------------------------------------------------------- run-time helpers the kernels call
def negative_base(name: str, base, node) -> MedrulesError:
    return MedrulesError(error("evaluate", f"fund '{name}' would apply to a negative amount ({base} yuan)", node.span))


def rate_outside(name: str, rate, node) -> MedrulesError:
    return MedrulesError(error("evaluate", f"fund '{name}' would pay at {rate * 100}%, outside 0%–100%", node.span,
                               "check the adjustments that apply to this rate"))


def payment_outside(name: str, rounded, room, base, node) -> MedrulesError:
    limit_words = f"its payment cap's room of {room} yuan" if room is not None and rounded > room else \
        f"the {base} yuan it applies to"
    return MedrulesError(error("evaluate", f"fund '{name}' would pay {rounded} yuan, outside 0 to {limit_words}",
                               node.span, "a flat amount, deductible or cap that is negative makes a payment negative"))


def cost_beyond(pieces: list, room) -> tuple:
    """The cost, walking the pieces in order, beyond the point where payments reach ``room`` (exact:
    room ÷ rate is a rational, rounded only by the caller).

    Also returns how the piece in which the room ran out was split (for the explanation):
    the room left when that piece began, its rate, its cost, the cost the room covered
    (room / rate) and the cost of later pieces, all of which lies above the cap.
    """
    beyond, split = ZERO, None
    for part, rate in pieces:
        if room <= 0:
            beyond += part
            if split is not None:
                split["later"] += part
            continue
        amount = part * rate
        if amount <= room:
            room -= amount
            continue
        covered = divide(room, rate)
        split = {"room": room, "rate": rate, "part": part, "covered": covered, "later": ZERO}
        beyond += part - covered
        room = ZERO
    return beyond, split


# ---------------------------------------------------------------- the writer
class Module:
    """The source of one layer's kernels and the objects its names stand for."""

    def __init__(self, title: str):
        self.title = title
        self.names: dict[str, object] = {"Decimal": Decimal, "ZERO": ZERO, "ONE": ONE, "NOT_APPLIED": NOT_APPLIED,
                                         "_EMPTY": _EMPTY, "round_to": round_to, "cost_beyond": cost_beyond,
                                         "negative_base": negative_base, "rate_outside": rate_outside,
                                         "payment_outside": payment_outside, "missing_fact": missing_fact,
                                         "division_by_zero": division_by_zero, "divide": divide}
        self.names |= {op: ARITH[op] for op in _DATE_ARITH} | dict(CALENDAR)
        self.names |= {c.__name__: c for c in trace.STEP_CLASSES}
        self.header: list[str] = []  # comments: what each bound name K… (constant), N… (node), F… (closure) is
        self.functions: list[str] = []
        self._consts: dict = {}
        self._nodes: dict[int, str] = {}
        self._fallbacks = 0

    def const(self, value) -> str:
        """A constant as source: a literal for True/False/None and small ints, else a name bound once."""
        if value is None or type(value) is bool:
            return repr(value)
        # by type and written form: Decimal('600') and Decimal('600.00') are equal but print differently
        key = (type(value), tuple(sorted(map(repr, value))) if isinstance(value, frozenset) else
               str(value) if isinstance(value, Decimal) else value)
        if key in self._consts:
            return self._consts[key]
        name = f"K{len(self._consts)}"
        self._consts[key] = name
        self.names[name] = value
        self.header.append(f"# {name} = {_literal(value)}")
        return name

    def node(self, node) -> str:
        if node is None:
            return "None"
        name = self._nodes.get(id(node))
        if name is None:
            name = self._nodes[id(node)] = f"N{len(self._nodes)}"
            self.names[name] = node
            span = getattr(node, "span", None)
            where = f"line {span.line}:{span.col}" if span is not None else "built in"
            self.header.append(f"# {name}: {type(node).__name__} at {where}")
        return name

    def fallback(self, e, traced: bool) -> str:
        name = f"F{self._fallbacks}"
        self._fallbacks += 1
        self.names[name] = compile_expr(e, traced)
        span = getattr(e.node, "span", None)
        self.header.append(f"# {name}: {core.show(e)!r} (a closure of medrules.evaluate.compile"
                           + (f", line {span.line}:{span.col})" if span is not None else ")"))
        return name

    def source(self) -> str:
        return "\n".join([f"# {self.title}", "# generated by medrules.evaluate.kernel: read it, never edit it", ""]
                         + self.header + [""] + self.functions) + "\n"

    def build(self) -> dict:
        namespace = dict(self.names)  # the header is comments: the names are bound here, not by the source
        exec(compile(self.source(), "<medrules kernel>", "exec"), namespace)  # noqa: S102 - the generator's own text
        return namespace


def _literal(value) -> str:
    """How a bound constant reads in the header's comments (it is bound as the object itself; every piece of
    text in it is a repr, so a comment never ends early)."""
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, dt.date):
        return f"date({value.year}, {value.month}, {value.day})"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(sorted(map(repr, value))) + "})"
    if isinstance(value, (int, str)):
        return repr(value)
    return f"<{type(value).__name__}>"


class _Reads:
    """Where the reads of a step's expressions go: ``static`` builds their tuple in place (the reads happen
    unconditionally), ``dynamic`` appends them to ``rd`` (env.reads) as they happen, ``off`` drops them."""

    def __init__(self, mode: str):
        self.mode = mode
        self.pairs: list[str] = []

    def tuple(self, w: Writer) -> str:
        if self.mode == "static":
            return "(" + "".join(f"{p}, " for p in self.pairs) + ")" if self.pairs else "()"
        if self.mode == "dynamic":
            v = w.tmp()
            w.line(f"{v} = tuple(rd)")
            w.line("rd.clear()")
            return v
        return "()"

    def drop(self, w: Writer) -> None:
        if self.mode == "dynamic":
            w.line("rd.clear()")


class Writer:
    """Writes one function: lines, temporaries, and the expressions of the core."""

    def __init__(self, module: Module, traced: bool):
        self.m, self.traced = module, traced
        self.lines: list[str] = []
        self.depth = 1
        self._tmp = 0

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def tmp(self) -> str:
        self._tmp += 1
        return f"v{self._tmp}"

    def reads(self, *exprs) -> _Reads:
        """The recording for a step that evaluates ``exprs`` (in that order)."""
        if not self.traced:
            return _Reads("off")
        return _Reads("dynamic" if any(_dynamic(e) for e in exprs if e is not None) else "static")

    def read(self, rec: _Reads, node, value: str) -> None:
        if rec.mode == "static":
            rec.pairs.append(f"({self.m.node(node)}, {value})")
        elif rec.mode == "dynamic":
            self.line(f"rd.append(({self.m.node(node)}, {value}))")

    # ------------------------------------------------------------ expressions
    def expr(self, e, rec: _Reads) -> str:  # noqa: C901 - one dispatch over the core
        """Python source for ``e``'s value; statements it needs (and the recording of its reads) are written
        before, in evaluation order. The source returned has no effects: it may be evaluated later."""
        m = self.m
        if isinstance(e, core.Const):
            return m.const(e.value)
        if isinstance(e, core.Param):
            k = m.const(e.value)
            self.read(rec, e.node, k)
            return k
        if _fallback(e):
            f = m.fallback(e, self.traced)
            if not self.traced:
                return f"{f}(env)"
            v = self.tmp()
            self.line(f"{v} = {f}(env)")  # records its reads in env.reads (rd): a dynamic step
            return v
        if isinstance(e, core.Fact):
            source = f"{_FACT_RECORDS[e.record]}[{e.field!r}]"
            if not e.optional:
                return self._value(source, e.node, rec)
            v = self.tmp()  # declared '= none': reading it when absent is a located error
            self.line(f"{v} = {source}")
            self.line(f"if {v} is None:")
            self.line(f"    raise missing_fact({m.node(e.node)}, {e.record!r}, {e.field!r})")
            self.read(rec, e.node, v)
            return v
        if isinstance(e, core.Acc):
            return self._value(f"acc[{e.name!r}]", e.node, rec)
        if isinstance(e, core.FundOutput):
            return self._value(f"out[{e.fund!r}][{e.output!r}]", e.node, rec)
        if isinstance(e, core.BaseOutput):
            return self._value(f"env.below[{e.key!r}]", e.node, rec)
        if isinstance(e, core.Neg):
            return f"(-{self.expr(e.operand, rec)})"
        if isinstance(e, core.Arith):
            if e.op == "div":  # the divisor first (and checked), then the dividend; exact (arith.divide)
                divisor = self.tmp()
                self.line(f"{divisor} = {self.expr(e.right, rec)}")
                self.line(f"if not {divisor}:")
                self.line(f"    raise division_by_zero({m.node(e.node)})")
                v = self.tmp()
                self.line(f"{v} = divide({self.expr(e.left, rec)}, {divisor})")
                return v
            left = self.expr(e.left, rec)
            right = self.expr(e.right, rec)
            if e.op == "mul_relpct":
                return f"({left} * (ONE + {right}))"
            if e.op in _DATE_ARITH:
                return f"{e.op}({left}, {right})"
            return f"({left} {_INLINE_ARITH[e.op]} {right})"
        if isinstance(e, core.Compare):
            left = self.expr(e.left, rec)
            return f"({left} {e.op} {self.expr(e.right, rec)})"
        if isinstance(e, core.In):
            return f"({self.expr(e.operand, rec)} {'not in' if e.negated else 'in'} {m.const(e.names)})"
        if isinstance(e, core.Not):
            return f"(not {self.expr(e.operand, rec)})"
        if isinstance(e, core.Call):
            return self._call(e, rec)
        if isinstance(e, (core.And, core.Or)):
            return self._logic(e, rec)
        if isinstance(e, core.Cases):
            return self._cases(e, rec)
        raise AssertionError(f"cannot write {e!r}")

    def _call(self, e: core.Call, rec: _Reads) -> str:
        if e.func == "given":  # whether the fact is given: not a read of its value
            fact = e.args[0]
            return f"({_FACT_RECORDS[fact.record]}[{fact.field!r}] is not None)"
        if e.func == "day_number":  # the day first, then the start (as the closure reads them)
            day = self.expr(e.args[1], rec)
            start = self.expr(e.args[0], rec)
            return self._value(f"Decimal(({day} - {start}).days + {int(e.first)})", e.node, rec)
        args = [self.expr(x, rec) for x in e.args]
        if e.func == "month_start":
            return self._value(f"{args[0]}.replace(day=1)", e.node, rec)
        if e.func in CALENDAR:
            return self._value(f"{e.func}({', '.join(args)})", e.node, rec)
        assert e.func in ("min", "max"), e.func
        return args[0] if len(args) == 1 else f"{e.func}({', '.join(args)})"

    def _value(self, source: str, node, rec: _Reads) -> str:
        if rec.mode == "off":
            return source
        v = self.tmp()
        self.line(f"{v} = {source}")
        self.read(rec, node, v)
        return v

    def _logic(self, e, rec: _Reads) -> str:
        """``a and b and …`` / ``or``: short-circuit, left to right, the deciding operand's value."""
        operands = _flat(e)
        word = "and" if isinstance(e, core.And) else "or"
        if not self.traced and all(_inline(x) for x in operands):
            return "(" + f" {word} ".join(self.expr(x, rec) for x in operands) + ")"
        v = self.tmp()
        self.line(f"{v} = {self.expr(operands[0], rec)}")
        for x in operands[1:]:
            self.line(f"if {v}:" if word == "and" else f"if not {v}:")
            self.depth += 1
            self.line(f"{v} = {self.expr(x, rec)}")
            self.depth -= 1
        return v

    def _cases(self, e: core.Cases, rec: _Reads) -> str:
        """The first case that holds, else otherwise; traced, ``(node, index)`` of the case is read after its
        condition and before its value."""
        if not self.traced and all(_inline(x) for x in core.children(e)):
            out = self.expr(e.otherwise, rec)
            for when, value in reversed(e.cases):
                out = f"({self.expr(value, rec)} if {self.expr(when, rec)} else {out})"
            return out
        v, depth = self.tmp(), self.depth
        for i, (when, value) in enumerate(e.cases):
            self.line(f"if {self.expr(when, rec)}:")
            self.depth += 1
            self.read(rec, e.node, str(i))
            self.line(f"{v} = {self.expr(value, rec)}")
            self.depth -= 1
            self.line("else:")
            self.depth += 1
        self.read(rec, e.node, str(len(e.cases)))
        self.line(f"{v} = {self.expr(e.otherwise, rec)}")
        self.depth = depth
        return v

    def assign(self, name: str, e, rec: _Reads) -> str:
        self.line(f"{name} = {self.expr(e, rec)}")
        return name


def _flat(e) -> list:
    """The operands of nested and/or of one kind (lowering writes ``a and b and c`` as ``(a and b) and c``)."""
    out = []
    for x in e.operands:
        out += _flat(x) if type(x) is type(e) else [x]
    return out


_WRITTEN = (core.Const, core.Param, core.Fact, core.Acc, core.FundOutput, core.BaseOutput, core.Neg, core.Arith,
            core.Compare, core.In, core.Not, core.Call, core.And, core.Or, core.Cases)
_WRITTEN_CALLS = ("min", "max", "given", "day_number") + _RECORDED_CALLS


def _fallback(e) -> bool:
    """Shapes written as a call of their closure: histories, ``has``, ``highest``, and any shape of the core the
    writer does not know (a new one is right at once through its closure, and fast once it has a writer)."""
    if not isinstance(e, _WRITTEN):
        return True
    if isinstance(e, core.Fact):
        return e.record not in _FACT_RECORDS  # a field of the history record in hand
    if isinstance(e, core.Arith):
        return e.op not in _INLINE_ARITH and e.op not in _DATE_ARITH and e.op not in ("div", "mul_relpct")
    if isinstance(e, core.Call):
        return e.func not in _WRITTEN_CALLS or (e.func == "given" and e.args[0].record not in _FACT_RECORDS)
    return False


def _inline(e) -> bool:
    """Untraced, ``e`` can be written as one expression with no statements before it."""
    if isinstance(e, core.Fact) and e.optional or isinstance(e, core.Arith) and e.op == "div":
        return False
    return all(_inline(x) for x in core.children(e))


def _has_reads(e) -> bool:
    if isinstance(e, (core.Param, core.Fact, core.Acc, core.FundOutput, core.BaseOutput, core.Cases)) \
            or _fallback(e) or isinstance(e, core.Call) and e.func in _RECORDED_CALLS:
        return True
    if isinstance(e, core.Call) and e.func == "given":
        return False
    return any(_has_reads(x) for x in core.children(e))


def _dynamic(e) -> bool:
    """Whether which reads ``e`` records depends on values (so they are collected as they happen)."""
    if isinstance(e, core.Cases) or _fallback(e):
        return True
    if isinstance(e, (core.And, core.Or)):
        operands = _flat(e)
        return _dynamic(operands[0]) or any(_has_reads(x) for x in operands[1:])
    return any(_dynamic(x) for x in core.children(e))


# ---------------------------------------------------------------- one emitter per operation kind
class FundWriter(Writer):
    """Writes one fund's kernel; the local names of the kernel are: ``base`` ``a0`` ``taken`` ``start`` ``end``
    ``full_end`` ``payable`` ``pieces`` ``raw`` ``paid`` ``room`` ``above_cap`` ``rounded``."""

    def __init__(self, module: Module, fund: ops.FundPlan, rounding: ops.Rounding, traced: bool):
        super().__init__(module, traced)
        self.fund, self.rounding = fund, rounding
        self.name = repr(fund.name)
        self.keep_pieces = bool(fund.payment_caps)  # cost_beyond walks them

    def step(self, cls, node, reads: str, *values: str) -> None:
        if self.traced:
            self.line(f"steps.append(({cls.__name__}, {self.name}, {self.m.node(node)}, {reads}, ''"
                      + "".join(f", {v}" for v in values) + "))")


def emit_applies(w: FundWriter, op: ops.Applies) -> None:
    rec = w.reads(op.when)
    w.assign("applies", op.when, rec)
    w.step(trace.AppliesStep, op.node, rec.tuple(w), "applies")
    w.line("if not applies:")
    w.line(f"    out[{w.name}] = NOT_APPLIED")
    w.line("    return NOT_APPLIED")


def emit_exclude(w: Writer, op: ops.Exclude, fund: str = "None") -> None:
    """An exclusion: of one fund (``fund``: its name's literal; the fund pays nothing when it holds) or of the
    whole layer (``fund`` "None": the layer sets ``excluded`` to it, and no fund pays)."""
    rec = w.reads(op.when)
    w.line(f"if {w.expr(op.when, rec)}:")
    w.depth += 1
    if w.traced:
        w.line(f"steps.append((ExcludeStep, {fund}, {w.m.node(op.node)}, {rec.tuple(w)}, '', {fund == 'None'}))")
    if fund == "None":
        w.line(f"excluded = {w.m.node(op.node)}")
    else:
        w.line(f"result = out[{fund}] = _EMPTY.copy()")
        w.line(f"result['excluded'] = {w.m.node(op.node)}")
        w.line("return result")
    w.depth -= 1
    if rec.mode == "dynamic":  # what a test that did not hold read is no step's
        w.line("else:")
        w.line("    rd.clear()")


def emit_base(w: FundWriter, op: ops.Base) -> None:
    rec = w.reads(op.expr)
    w.assign("base", op.expr, rec)
    w.line("if base < 0:")
    w.line(f"    raise negative_base({w.name}, base, {w.m.node(op.node)})")
    w.step(trace.BaseStep, op.node, rec.tuple(w), "base")
    acc = w.fund.cost_acc
    w.line(f"a0 = acc[{acc!r}]" if acc else "a0 = ZERO")


def emit_deductible(w: FundWriter, op: ops.Deductible) -> None:
    rec = w.reads(op.when, op.amount)
    w.line(f"d_applies = {w.expr(op.when, rec) if op.when is not None else 'True'}")
    w.assign("d_amount", op.amount, rec)
    w.line(f"d_used = acc[{w.fund.deductible_acc!r}]" if op.per == "year" else "d_used = ZERO")
    w.line("d_remaining = max(ZERO, d_amount - d_used)")
    w.line("taken = min(base, d_remaining) if d_applies else ZERO")
    w.step(trace.DeductibleStep, op.node, rec.tuple(w), "d_amount", repr(op.per), "d_applies", "base", "d_used",
           "d_remaining", "taken")


def emit_cost_cap(w: FundWriter, op: ops.CostCap) -> None:
    """Where the payable part ends once this cost cap applies."""
    rec = w.reads(op.amount)
    amount = w.expr(op.amount, rec)
    point = w.tmp()
    w.line(f"{point} = a0 + {amount}" if op.per == "claim" else f"{point} = {amount}")
    if w.traced:
        w.step(trace.CostCapStep, op.node, rec.tuple(w), "'cost'", amount, repr(op.per), "a0", "start", "full_end",
               point, f"max(ZERO, full_end - max(start, {point}))")
    w.line(f"end = max(start, min(end, {point}))")


def emit_adjust(w: FundWriter, fund: ops.FundPlan) -> list:
    """Evaluate the fund's adjustments once, in order; returns (kind, on, amount) names for :func:`_adjusted`."""
    active = []
    for a in fund.adjusts:
        rec = w.reads(a.when, a.amount)
        on, amount = w.tmp(), w.tmp()
        w.assign(on, a.when, rec)
        w.assign(amount, a.amount, rec)
        active.append((a.kind, on, amount))
        w.step(trace.AdjustStep, a.node, rec.tuple(w), on, repr(a.kind), amount)
    return active


def _adjusted(w: FundWriter, written: str, active: list, node) -> str:
    """A rate with the fund's active adjustments applied, in order (points add, relpct multiplies), checked
    to lie in 0–100%."""
    rate = w.tmp()
    w.line(f"{rate} = {written}")
    for kind, on, amount in active:
        w.line(f"if {on}:")
        w.line(f"    {rate} = {rate} + {amount}" if kind == "points" else f"    {rate} = {rate} * (ONE + {amount})")
    w.line(f"if not ZERO <= {rate} <= ONE:")
    w.line(f"    raise rate_outside({w.name}, {rate}, {w.m.node(node)})")
    return rate


def emit_rate(w: FundWriter, op: ops.Rate, active: list) -> None:
    rec = w.reads(op.expr)
    written = w.tmp()
    w.assign(written, op.expr, rec)
    rate = _adjusted(w, written, active, op.node)
    w.step(trace.RateStep, op.node, rec.tuple(w), "payable", written, rate, f"payable * {rate}")
    if w.keep_pieces:
        w.line(f"pieces = [(payable, {rate})]")
    w.line(f"raw = ZERO + payable * {rate}")  # exact (an Exact rational mixes in)


def emit_bands(w: FundWriter, op: ops.Bands, active: list) -> None:
    """The part of the claim's payable segment in each band, at that band's (adjusted) rate."""
    shift = "ZERO" if op.on else "a0"  # bands without 'on' start at the claim's own zero
    m = w.m
    if w.keep_pieces:
        w.line("pieces = []")
    w.line("raw = ZERO")
    for band in op.bands:
        if op.on:  # the edges are constants on the year's axis
            lo = m.const(band.lower + ZERO)
            hi = None if band.upper is None else m.const(band.upper + ZERO)
        else:
            lo, hi = w.tmp(), None if band.upper is None else w.tmp()
            w.line(f"{lo} = {m.const(band.lower)} + a0")
            if hi is not None:
                w.line(f"{hi} = {m.const(band.upper)} + a0")
        w.line("top = end" if hi is None else f"top = min(end, {hi})")
        w.line(f"part = max(ZERO, top - max(start, {lo}))")
        w.line("if part != 0:")
        w.depth += 1
        rec = w.reads(band.rate)
        written = w.tmp()
        w.assign(written, band.rate, rec)
        rate = _adjusted(w, written, active, band.node)
        if w.keep_pieces:
            w.line(f"pieces.append((part, {rate}))")
        # from/to: positions on the bands' own axis (the year's total, or this claim's amount from zero)
        w.step(trace.BandStep, band.node, rec.tuple(w), m.const(band.lower), m.const(band.upper),
               repr(op.on is not None), f"max(start, {lo}) - {shift}", f"top - {shift}", "part", written, rate,
               f"part * {rate}")
        w.line(f"raw = raw + part * {rate}")
        w.depth -= 1


def emit_flat(w: FundWriter, op: ops.Flat) -> None:
    """A flat amount per claim (定额包干), never more than the cost it is paid on."""
    rec = w.reads(op.amount)
    amount = w.tmp()
    w.assign(amount, op.amount, rec)
    w.line(f"flat = min({amount}, payable)")
    w.step(trace.FlatStep, op.node, rec.tuple(w), amount, "payable", "flat")
    if w.keep_pieces:
        w.line("pieces = [(flat, ONE)]")
    w.line("raw = ZERO + flat * ONE")


def emit_payment_cap(w: FundWriter, caps: tuple) -> None:
    """The fund pays up to the tightest of its payment caps: ``paid``, ``room`` and ``above_cap``."""
    rooms = []
    for cap in caps:
        if cap.per == "holder":  # a quota of each holder the claim names (定额包干): medrules.evaluate.quota
            rooms.append(emit_quota_room(w, cap))
            continue
        rec = w.reads(cap.amount)
        amount, before, own = w.tmp(), w.tmp(), w.tmp()
        w.assign(amount, cap.amount, rec)
        w.line(f"{before} = acc[{w.fund.payments_acc!r}]" if cap.per == "year" else f"{before} = ZERO")
        w.line(f"{own} = max(ZERO, {amount} - {before})")
        rooms.append((cap, amount, before, own, rec.tuple(w) if w.traced else None))
    w.line(f"room = {rooms[0][3]}" if len(rooms) == 1 else f"room = min({', '.join(r[3] for r in rooms)})")
    w.line("paid, above_cap, split = raw, ZERO, None")
    w.line("if raw > room:")
    w.line("    paid = room")
    w.line("    beyond, split = cost_beyond(pieces, room)")
    w.line(f"    above_cap = round_to(beyond, {w.m.const(w.rounding.quantum)}, {w.rounding.mode!r})")
    if not w.traced:
        return
    # the binding cap: the first whose own room is the room
    binding = " else ".join(f"{i} if {r[3]} == room" for i, r in enumerate(rooms[:-1])) + \
        (" else " if len(rooms) > 1 else "") + str(len(rooms) - 1)
    w.line(f"binding = {binding}")
    for i, (cap, amount, before, own, reads) in enumerate(rooms):
        limited = w.tmp()
        w.line(f"{limited} = raw > room and binding == {i}")
        w.step(trace.PaymentCapStep, cap.node, reads, "'payments'", amount, repr(cap.node.per or "year"), before, own,
               "raw", limited, f"above_cap if {limited} else ZERO", f"split if {limited} else None")


def emit_quota_room(w: FundWriter, cap: ops.PaymentCap) -> tuple:
    """A cap ``per holder``: the room is the named holders' balances (:func:`medrules.evaluate.quota.quota_room`
    evaluates the amount on each holder's facts, so it stays a closure); what was read is the step's reads."""
    from types import SimpleNamespace
    from medrules.evaluate.quota import quota_room
    q = f"Q{len(w.m.names)}"
    w.m.names[q] = SimpleNamespace(op=cap, fn=compile_expr(cap.amount, w.traced), node=cap.node)
    w.m.names["quota_room"] = quota_room
    w.m.header.append(f"# {q}: the quota kept per holder at line {cap.node.span.line}:{cap.node.span.col}"
                      if getattr(cap.node, "span", None) is not None else f"# {q}: a quota kept per holder")
    amount, before, own = w.tmp(), w.tmp(), w.tmp()
    w.line(f"{amount}, {before}, {own} = quota_room(None, {q}, env)")
    if not w.traced:
        return cap, amount, before, own, None
    reads = w.tmp()
    w.line(f"{reads} = env.take()")  # quota_room leaves its reads in a fresh env.reads: take them, restore rd
    w.line("rd.clear()")
    w.line("env.reads = rd")
    return cap, amount, before, own, reads


def emit_quota_draw(w: FundWriter) -> None:
    """The rounded payment drawn on the holders' quotas, in order (:func:`medrules.evaluate.quota.draw_quota`)."""
    from types import SimpleNamespace
    from medrules.evaluate.quota import draw_quota
    f = f"Q{len(w.m.names)}"
    w.m.names[f] = SimpleNamespace(name=w.fund.name, fund=w.fund.node)
    w.m.names["draw_quota"] = draw_quota
    w.m.header.append(f"# {f}: fund {w.fund.name!r}, drawing its payment on the holders' quotas")
    w.line("if env.quotas is not None and env.quotas.pending is not None:")
    w.line(f"    draw_quota({f}, env, rounded, {'steps' if w.traced else 'None'})")


def emit_rounding(w: FundWriter, op: ops.Rounding, capped: bool) -> None:
    """The declared rounding of the payment. Where rounding would carry it above what the fund may pay (a payment
    cap's room, or the base), it pays the largest amount on the grid within that limit."""
    paid = "paid" if capped else "raw"
    q = w.m.const(op.quantum)
    _, power, exponent = _grid(op.quantum)
    if power is not None:  # a power of ten: Decimal's quantize, as round_to does for a Decimal
        p, mode = w.m.const(power), w.m.const(MODES[op.mode])
        w.line(f"if type({paid}) is Decimal:")
        w.line(f"    rounded = {paid}.quantize({p}, rounding={mode})" + (".quantize(ONE)" if exponent > 0 else ""))
        w.line("else:")
        w.line(f"    rounded = round_to({paid}, {q}, {op.mode!r})")
    else:
        w.line(f"rounded = round_to({paid}, {q}, {op.mode!r})")
    w.line("limit = min(room, base)" if capped else "limit = base")
    w.line("within = None")
    w.line("if rounded > limit:")
    w.line(f"    rounded = within = round_to(limit, {q}, 'down')")
    w.step(trace.RoundingStep, op.node, "()", paid, "rounded", "limit if within is not None else None")
    w.line("if not ZERO <= rounded <= base" + (" or rounded > room:" if capped else ":"))
    w.line(f"    raise payment_outside({w.name}, rounded, {'room' if capped else 'None'}, base, "
           f"{w.m.node(w.fund.node)})")


def emit_accumulate(w: FundWriter, op: ops.Accumulate) -> None:
    delta = {"cost": "base", "deductible": "taken", "payments": "rounded"}[op.role]
    if not w.traced:
        w.line(f"acc[{op.accumulator!r}] += {delta}")  # before + delta, as the traced kernel adds
        return
    before, after = w.tmp(), w.tmp()
    w.line(f"{before} = acc[{op.accumulator!r}]")
    w.line(f"acc[{op.accumulator!r}] = {after} = {before} + {delta}")
    w.line(f"steps.append((AccumulateStep, {w.name}, None, (), '', {op.accumulator!r}, {op.role!r}, {before}, "
           f"{delta}, {after}))")


# ---------------------------------------------------------------- a fund, a layer
def write_fund(module: Module, fund: ops.FundPlan, rounding: ops.Rounding, index: int, traced: bool) -> str:
    """One fund's kernel, ``def fund_I(env, steps)`` (untraced: ``steps`` is not used), returning its outputs
    in :class:`medrules.evaluate.FundResult`'s field order (also left in ``env.out``)."""
    w = FundWriter(module, fund, rounding, traced)
    w.line("acc, claim, member, out = env.acc, env.claim, env.member, env.out")
    if traced:
        w.line("rd = env.reads")
    if fund.applies is not None:
        emit_applies(w, fund.applies)
    for x in fund.excludes:
        emit_exclude(w, x, w.name)
    emit_base(w, fund.base)
    if fund.deductible is not None:
        emit_deductible(w, fund.deductible)
    else:
        w.line("taken = ZERO")
    w.line("start = a0 + taken")
    w.line("end = full_end = a0 + base")
    for cap in fund.cost_caps:  # each cost cap ends the payable part at its point
        emit_cost_cap(w, cap)
    w.line("above_ceiling = full_end - end" if fund.cost_caps else "above_ceiling = ZERO")
    w.line("payable = end - start")
    pay = fund.pay
    if isinstance(pay, ops.Rate):
        emit_rate(w, pay, emit_adjust(w, fund))
    elif isinstance(pay, ops.Bands):
        emit_bands(w, pay, emit_adjust(w, fund))
    else:  # a flat amount has no rate to adjust: its adjustments are not evaluated
        emit_flat(w, pay)
    if fund.payment_caps:
        emit_payment_cap(w, fund.payment_caps)
    else:
        w.line("above_cap = ZERO")
    emit_rounding(w, rounding, bool(fund.payment_caps))
    if any(cap.per == "holder" for cap in fund.payment_caps):
        emit_quota_draw(w)
    for a in fund.accumulates:
        emit_accumulate(w, a)
    if traced:
        w.line(f"steps.append((PaidStep, {w.name}, {module.node(fund.node)}, (), '', rounded))")
    w.line(f"result = out[{w.name}] = {{'applied': True, 'paid': rounded, 'base': base, 'deductible': taken, "
           "'payable': payable, 'above_cap': above_cap, 'above_ceiling': above_ceiling, 'remaining': base - rounded, "
           "'excluded': None}")
    w.line("return result")
    name = f"fund_{index}"
    module.functions.append(f"def {name}(env, steps):  # fund {fund.name!r}" + (" (traced)" if traced else "")
                            + "\n" + "\n".join(w.lines) + "\n")
    return name


def write_layer(module: Module, layer: ops.Layer, funds: list[str], traced: bool) -> str:
    """``def settle_layer(env, steps)``: one claim under the layer, after its treatments: the rulebook-wide
    exclusions (the first that holds: no fund pays), each fund's kernel in order, the claim's total cost.
    Returns (the funds' :class:`medrules.evaluate.FundResult` list, the total)."""
    from medrules.evaluate import FundResult
    module.names["FundResult"] = FundResult
    w = Writer(module, traced)
    w.line("acc, claim, member, out = env.acc, env.claim, env.member, env.out")
    if traced:
        w.line("rd = env.reads")
    w.line("excluded = None")
    for i, x in enumerate(layer.exclusions):
        if i:
            w.line("if excluded is None:")
            w.depth += 1
        emit_exclude(w, x)
        w.depth = 1
    results = []
    w.line("if excluded is None:")
    for fund, kernel in zip(layer.funds, funds):
        unpaid = f"NA_{kernel}"
        module.names[unpaid] = FundResult(fund.name, *NOT_APPLIED.values())  # all zero: the same object each time
        r = f"r_{kernel}"
        results.append(r)
        w.line(f"    {r} = {kernel}(env, steps)")
        w.line(f"    {r} = {unpaid} if {r} is NOT_APPLIED else FundResult({fund.name!r}, *{r}.values())")
    if layer.funds:
        w.line("else:")
        for fund, r in zip(layer.funds, results):
            w.line(f"    {r} = out[{fund.name!r}] = _EMPTY.copy()")
            w.line(f"    {r}['excluded'] = excluded")
            w.line(f"    {r} = FundResult({fund.name!r}, *{r}.values())")
    else:
        w.line("    pass")
    rec = w.reads(layer.total.expr)
    w.assign("total", layer.total.expr, rec)
    if traced:
        w.line(f"steps.append((TotalStep, None, {module.node(layer.total.node)}, {rec.tuple(w)}, '', total))")
    w.line(f"return [{', '.join(results)}], total")
    module.functions.append("def settle_layer(env, steps):  # the layer's exclusions, funds and total"
                            + (" (traced)" if traced else "") + "\n" + "\n".join(w.lines) + "\n")
    return "settle_layer"


def compile_kernels(layer: ops.Layer, traced: bool) -> tuple:
    """The layer's fund kernels (in order), its ``settle_layer`` (None for a layer that settles no claims), and
    the source they were compiled from."""
    module = Module(f"layer {layer.id!r}" + (f" (as {layer.prefix!r})" if layer.prefix else "")
                    + (", traced" if traced else ", untraced"))
    names = [write_fund(module, f, layer.rounding, i, traced) for i, f in enumerate(layer.funds)]
    settle = write_layer(module, layer, names, traced) if layer.total is not None else None
    namespace = module.build()
    return tuple(namespace[n] for n in names), namespace.get(settle), module.source()


def kernel_source(program, traced: bool = True) -> str:
    """The generated source of every layer's kernels (what ``medrules plan RULEBOOK --source`` prints)."""
    layers = program.layers if traced else program.untraced
    return "\n\n".join(layer.source for layer in layers)
