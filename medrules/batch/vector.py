"""The vector backend: settle columns of claims at once, exact to the fen.

Claims are sorted by member and date once. A member's claims depend on each other only
through the year-to-date accumulators, so the k-th claim of every member is settled
together ("a wave"): every expression and every fund operation below works on whole
numpy columns, one element per member, and the accumulators are one column per
accumulator, indexed by member. A year of 10^6 claims of 2×10^5 members is a handful
of waves of ~10^5 rows each.

Arithmetic is exact integer arithmetic (int64): every number is an integer together with
a decimal scale known when the rulebook is compiled (money in fen is ``(1234, 2)``; a rate
``84%`` is ``(84, 2)``); sums align scales, products add them. The declared rounding is
applied where the scalar backend applies it, by integer division with the declared mode,
so the results are the scalar backend's bit for bit. An amount that would not fit in
int64 is refused (the member goes to the rejects file), never wrapped.

It reads the lowered plan (:mod:`medrules.plan`: the operations of each fund, the expression
core, the arithmetic of docs/arithmetic.md), never the rulebook's syntax tree. One function per
plan operation, the column-wise twin of the scalar kernel (:mod:`medrules.evaluate.fund`):
``settle_applies``, ``settle_exclude``, ``settle_base``, ``settle_deductible``, ``settle_cost_cap``,
``settle_rate`` / ``settle_bands`` / ``settle_flat`` with ``settle_adjust``, ``settle_payment_cap``,
``settle_rounding``, ``settle_accumulate``. A construct it cannot settle exactly is refused when
the rulebook is compiled for it (:func:`compile_vector`), with the construct's position.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

from medrules.batch.columns import SCALES, Table, day_number, enum_members
from medrules.check import CheckedRulebook
from medrules.diagnostics import MedrulesError, error
from medrules.plan import core as c
from medrules.plan import ops

NUMERIC = ("money", "rate", "points", "relpct", "count", "days", "months")
LIMIT = 2 ** 62  # any intermediate beyond this is refused (int64 holds 2^63)
MAX_SCALE = 12


def _refuse(node, what: str, hint: str | None = None) -> MedrulesError:
    return MedrulesError(error("vector", f"the vector backend cannot settle {what}", getattr(node, "span", None),
                               hint or "settle this rulebook with the scalar backend (medrules run)"))


# ---------------------------------------------------------------- a wave
class Wave:
    """What an expression reads while the k-th claim of every member is settled (``n`` rows)."""

    __slots__ = ("n", "claim", "member", "given", "acc", "out", "below", "error", "messages")

    def __init__(self, n_rows: int, claim: Table, member: Table, acc: dict, messages: list):
        self.n = n_rows
        self.claim = dict(claim.values)
        self.member = member.values
        self.given = {("claim", k): v for k, v in claim.given.items()} | {
            ("member", k): v for k, v in member.given.items()}
        self.acc = acc
        self.out: dict[str, dict[str, np.ndarray]] = {}  # this layer's funds settled so far
        self.below: dict[str, np.ndarray] = {}  # the layer below's results (BaseOutput)
        self.error = np.zeros(n_rows, np.int32)  # 0: fine; else an index into messages (+1)
        self.messages = messages

    def fail(self, rows: np.ndarray, message: str) -> None:
        """Rows (a mask) that cannot be settled: their members go to the rejects file."""
        rows = rows & (self.error == 0)
        if rows.any():
            if message not in self.messages:
                self.messages.append(message)
            self.error[rows] = self.messages.index(message) + 1

    def record(self, name: str) -> dict:
        return self.claim if name == "claim" else self.member

    def subset(self, rows: np.ndarray) -> Wave:
        """The same wave on some of its rows (a fund that applies to few claims is settled on those only)."""
        w = Wave.__new__(Wave)
        w.n = len(rows)
        w.claim = {k: v[rows] for k, v in self.claim.items()}
        w.member = {k: v[rows] for k, v in self.member.items()}
        w.given = {k: v[rows] for k, v in self.given.items()}
        w.acc = {k: v[rows] for k, v in self.acc.items()}
        w.out = {f: {k: v[rows] for k, v in o.items()} for f, o in self.out.items()}
        w.below = {k: v[rows] for k, v in self.below.items()}
        w.error = np.zeros(len(rows), np.int32)
        w.messages = self.messages
        return w


def _check_range(w: Wave, mask: np.ndarray, values: np.ndarray, node) -> None:
    bad = mask & (np.abs(values) > LIMIT)
    if bad.any():
        w.fail(bad, f"an amount is too large for exact arithmetic at {_where(node)}")


def _largest(a) -> int:
    if not np.ndim(a):
        return abs(int(a))
    return max(int(a.max()), -int(a.min())) if len(a) else 0


def _where(node) -> str:
    span = getattr(node, "span", None)
    return f"{span.file}:{span.line}" if span else "the rulebook"


def rescale(values: np.ndarray, by: int, w: Wave | None = None, mask=None, node=None) -> np.ndarray:
    if by == 0:
        return values
    if w is not None and mask is not None and _largest(values) * 10 ** by > LIMIT:  # rarely: check row by row
        _check_range(w, mask, values.astype(np.float64) * 10.0 ** by, node)
    return values * (10 ** by)


def multiply(w: Wave, mask, a: np.ndarray, b: np.ndarray, node) -> np.ndarray:
    """a × b, refusing (the rows of) products beyond int64's safe range instead of wrapping."""
    if _largest(a) * _largest(b) > LIMIT:  # rarely: check row by row
        _check_range(w, mask, np.asarray(a, np.float64) * np.asarray(b, np.float64), node)
    return a * b


def round_div(num: np.ndarray, den, mode: str) -> np.ndarray:
    """num / den rounded to an integer the way Decimal's quantize rounds (den > 0)."""
    negative = num < 0
    mag = np.abs(num) if negative.any() else num
    if mode == "half_up":  # ties away from zero
        q = (2 * mag + den) // (2 * den)
    elif mode == "down":
        q = mag // den
    elif mode == "up":
        q = -(-mag // den)
    else:  # half_even
        q, r = np.divmod(mag, den)
        q = q + ((2 * r > den) | ((2 * r == den) & (q % 2 == 1)))
    return np.where(negative, -q, q) if mag is not num else q


# ---------------------------------------------------------------- expressions
@attrs.frozen
class V:
    """A compiled expression: ``fn(wave, mask) -> column``; numbers carry a static decimal scale."""

    fn: object
    scale: int | None = None
    node: object = None

    def __call__(self, w: Wave, mask: np.ndarray) -> np.ndarray:
        return self.fn(w, mask)


def constant(value, t, node) -> V:
    """A value known when compiling, as a column of the wave's length."""
    if t.unit in NUMERIC:
        d = Decimal(value)
        scale = min(max(0, -d.as_tuple().exponent), MAX_SCALE)
        iv = int(d.scaleb(scale))
        if Decimal(iv).scaleb(-scale) != d:
            raise _refuse(node, f"the number {value}")
        return V(lambda w, m: np.full(w.n, iv, np.int64), scale, node)
    if t.unit == "date":
        dn = day_number(value)
        return V(lambda w, m: np.full(w.n, dn, np.int64), None, node)
    if t.unit == "bool":
        b = bool(value)
        return V(lambda w, m: np.full(w.n, b), None, node)
    return V(lambda w, m: np.full(w.n, value, object), None, node)


class Compiler:
    """The plan's core expressions (:mod:`medrules.plan.core`) of one layer → column functions.

    Units come from the checker's table of the node each expression keeps (``ck.types[e.node]``):
    a number's scale, an enumeration's member codes."""

    def __init__(self, ck: CheckedRulebook, money_scale: int, reads: set | None = None):
        self.ck = ck
        self.M = money_scale
        self.reads = reads if reads is not None else set()  # (record, field) of every fact the plan reads

    def type(self, e):
        return self.ck.types[e.node]

    def enum_code(self, e, name: str) -> int:
        return enum_members(self.ck, self.type(e).enum).index(name)

    def expr(self, e) -> V:  # noqa: C901 - one dispatch over the core's expression kinds
        if isinstance(e, (c.Const, c.Param)):
            t = self.type(e)
            if t.unit == "enum":
                code = self.enum_code(e, e.value)
                return V(lambda w, m: np.full(w.n, code, np.int64), None, e.node)
            if t.unit == "set":
                raise _refuse(e.node, "a constant set")
            return constant(e.value, t, e.node)
        if isinstance(e, c.Fact):
            return self.fact(e)
        if isinstance(e, c.Acc):
            name = e.name
            return V(lambda w, m: w.acc[name], self.M, e.node)
        if isinstance(e, c.FundOutput):
            fund, output = e.fund, e.output
            return V(lambda w, m: w.out[fund][output], self.M, e.node)
        if isinstance(e, c.BaseOutput):
            key = e.key
            return V(lambda w, m: w.below[key], self.M, e.node)
        if isinstance(e, c.Neg):
            f = self.expr(e.operand)
            return V(lambda w, m: -f(w, m), f.scale, e.node)
        if isinstance(e, c.Arith):
            return self.arith(e)
        if isinstance(e, c.Compare):
            return self.compare(e)
        if isinstance(e, c.In):
            f = self.expr(e.operand)
            members = enum_members(self.ck, self.type(e.operand).enum)
            table = np.zeros(len(members), bool)  # member code -> in the set (a lookup, not a search)
            table[[members.index(x) for x in e.names]] = True
            if e.negated:
                table = ~table
            return V(lambda w, m: table[f(w, m)], None, e.node)
        if isinstance(e, c.Not):
            f = self.expr(e.operand)
            return V(lambda w, m: ~f(w, m), None, e.node)
        if isinstance(e, c.And):
            fs = [self.expr(x) for x in e.operands]

            def and_fn(w, m):
                result = np.ones(w.n, bool)
                for f in fs:  # each operand is evaluated only where the ones before it held
                    sub = m & result
                    if not sub.any():  # false wherever it matters: the rest is not evaluated
                        return sub
                    result &= f(w, sub)
                return result
            return V(and_fn, None, e.node)
        if isinstance(e, c.Or):
            fs = [self.expr(x) for x in e.operands]

            def or_fn(w, m):
                result = np.zeros(w.n, bool)
                for f in fs:
                    sub = m & ~result
                    if not sub.any():
                        return result
                    result |= f(w, sub)
                return result
            return V(or_fn, None, e.node)
        if isinstance(e, c.Call):
            return self.call(e)
        if isinstance(e, c.Cases):
            return self.cases(e)
        if isinstance(e, c.Highest):
            return self.highest(e)
        raise _refuse(getattr(e, "node", None), f"the expression '{type(e).__name__}'")

    # numbers of different scales, aligned to the larger
    def aligned(self, fs: list[V]) -> tuple[list[V], int]:
        scale = max(f.scale for f in fs)
        out = []
        for f in fs:
            if f.scale == scale:
                out.append(f)
            else:
                by, g = scale - f.scale, f
                out.append(V(lambda w, m, g=g, by=by: rescale(g(w, m), by, w, m, g.node), scale, f.node))
        return out, scale

    def fact(self, e: c.Fact) -> V:
        t = self.type(e)
        scale = SCALES.get(t.unit) if t.unit in NUMERIC else None
        record, name = e.record, e.field
        self.reads.add((record, name))
        if e.optional:
            text = getattr(e.node, "text", f"{record}.{name}")
            message = (f"'{text}' is needed at {_where(e.node)} but the facts do not give it "
                       f"(give {record}.{name}, or test given({text}) before using it)")

            def get_optional(w, m):
                missing = m & ~w.given[(record, name)]
                if missing.any():
                    w.fail(missing, message)
                return w.record(record)[name]
            return V(get_optional, scale, e.node)
        return V(lambda w, m: w.record(record)[name], scale, e.node)

    def arith(self, e: c.Arith) -> V:
        left, right = self.expr(e.left), self.expr(e.right)
        op = e.op
        if op in ("date_add_days", "date_sub_days"):
            sign = 1 if op == "date_add_days" else -1
            return V(lambda w, m: left(w, m) + sign * right(w, m), None, e.node)
        if op == "date_add_months":
            return V(lambda w, m: add_months(left(w, m), right(w, m)), None, e.node)
        if op == "date_diff":
            return V(lambda w, m: left(w, m) - right(w, m), 0, e.node)
        if op == "div":
            raise _refuse(e.node, "a division", "the vector backend keeps amounts as scaled integers; write the "
                          "rulebook without '/' (multiply by a rate), or settle it with medrules run")
        if op == "mul_relpct":  # a × (1 + b)
            one = 10 ** right.scale
            return V(lambda w, m: multiply(w, m, left(w, m), one + right(w, m), e.node), left.scale + right.scale,
                     e.node)
        if op == "mul":
            if left.scale + right.scale > MAX_SCALE:
                raise _refuse(e.node, "a product this precise")
            return V(lambda w, m: multiply(w, m, left(w, m), right(w, m), e.node), left.scale + right.scale, e.node)
        (a, b), scale = self.aligned([left, right])
        if op == "add":
            return V(lambda w, m: a(w, m) + b(w, m), scale, e.node)
        if op == "sub":
            return V(lambda w, m: a(w, m) - b(w, m), scale, e.node)
        raise _refuse(e.node, f"the operation '{op}'")

    def compare(self, e: c.Compare) -> V:
        left, right = self.expr(e.left), self.expr(e.right)
        if left.scale is not None and right.scale is not None:
            (left, right), _ = self.aligned([left, right])
        op = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
              ">=": np.greater_equal}[e.op]
        return V(lambda w, m: np.asarray(op(left(w, m), right(w, m)), bool), None, e.node)

    def call(self, e: c.Call) -> V:
        if e.func in ("min", "max"):
            fs, scale = self.aligned([self.expr(x) for x in e.args])
            fold = np.minimum if e.func == "min" else np.maximum

            def minmax(w, m):
                result = fs[0](w, m)
                for f in fs[1:]:
                    result = fold(result, f(w, m))
                return result
            return V(minmax, scale, e.node)
        if e.func == "month_start":
            f = self.expr(e.args[0])
            return V(lambda w, m: month_start(f(w, m)), None, e.node)
        if e.func == "month_end":
            f = self.expr(e.args[0])
            return V(lambda w, m: month_end(f(w, m)), None, e.node)
        if e.func == "year_start":
            f = self.expr(e.args[0])
            return V(lambda w, m: f(w, m).astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
                     .astype(np.int64), None, e.node)
        if e.func == "months_between":
            a, b = self.expr(e.args[0]), self.expr(e.args[1])
            return V(lambda w, m: (b(w, m).astype("datetime64[D]").astype("datetime64[M]")
                                   - a(w, m).astype("datetime64[D]").astype("datetime64[M]")).astype(np.int64),
                     0, e.node)
        if e.func == "day_number":
            start, day = self.expr(e.args[0]), self.expr(e.args[1])
            first = e.first
            return V(lambda w, m: day(w, m) - start(w, m) + first, 0, e.node)
        if e.func == "given":
            fact = e.args[0]
            if not getattr(fact, "optional", False):
                return V(lambda w, m: np.ones(w.n, bool), None, e.node)
            key = (fact.record, fact.field)
            self.reads.add(key)
            return V(lambda w, m: w.given[key].copy(), None, e.node)
        if e.func == "has":
            group = self.expr(e.args[0])
            members = enum_members(self.ck, self.type(e.args[0]).enum)
            bits = 0
            for x in e.args[1:]:
                if not isinstance(x, c.Const):
                    raise _refuse(x.node, "has(…) with a member that is not written out")
                bits |= 1 << members.index(x.value)
            return V(lambda w, m: (group(w, m) & bits) != 0, None, e.node)
        raise _refuse(e.node, f"the function '{e.func}'")

    def cases(self, e: c.Cases) -> V:
        whens = [self.expr(when) for when, _ in e.cases]
        values = [self.expr(value) for _, value in e.cases] + [self.expr(e.otherwise)]
        scale = None
        if values[0].scale is not None:
            values, scale = self.aligned(values)

        def cases_fn(w, m):
            remaining = m.copy()
            result = None
            for when, value in zip(whens, values):
                holds = when(w, remaining) & remaining
                v = value(w, holds)
                result = v.copy() if result is None else np.where(holds, v, result)
                remaining &= ~holds
            v = values[-1](w, remaining)
            return np.where(remaining, v, result) if result is not None else v
        return V(cases_fn, scale, e.node)

    def highest(self, e: c.Highest) -> V:
        whens = [self.expr(when) for when, _ in e.cases]
        values, scale = self.aligned([self.expr(value) for _, value in e.cases] + [self.expr(e.otherwise)])

        def highest_fn(w, m):
            best = np.zeros(w.n, np.int64)
            found = np.zeros(w.n, bool)
            for when, value in zip(whens, values):
                holds = when(w, m) & m
                v = value(w, holds)
                better = holds & (~found | (v > best))  # ties: the first
                best = np.where(better, v, best)
                found |= holds
            other = m & ~found
            return np.where(other, values[-1](w, other), best)
        return V(highest_fn, scale, e.node)


def month_start(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return d.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return ((d.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype(np.int64)


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """The same day of the month ``months`` later, or the month's last day (runtime.add_months)."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    target = month + months.astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, length - 1)


# ---------------------------------------------------------------- fund operations
@attrs.frozen
class VFund:
    """One fund of the plan (:class:`medrules.plan.ops.FundPlan`), its expressions compiled for columns."""

    plan: ops.FundPlan
    applies: V | None
    exclusions: tuple[V, ...]
    base: V
    deductible_amount: V | None
    deductible_when: V | None
    cost_caps: tuple[tuple[ops.CostCap, V], ...]
    payment_caps: tuple[tuple[ops.PaymentCap, V], ...]
    rate: V | None  # Rate: the written rate; Flat: the amount
    bands: tuple[tuple[int, int | None, V, ops.Band], ...]  # lower, upper (money scale), rate
    adjusts: tuple[tuple[str, V, V, ops.Adjust], ...]  # kind, amount, when

    @property
    def name(self) -> str:
        return self.plan.name


def compile_fund(comp: Compiler, fund: ops.FundPlan) -> VFund:
    M = comp.M

    def money(expr):
        v = comp.expr(expr)
        if v.scale > M:
            raise _NeedScale(v.scale, expr.node)
        by = M - v.scale
        return V(lambda w, m: rescale(v(w, m), by, w, m, expr.node), M, expr.node) if by else v

    def edge(x):
        if x is None:
            return None
        d = Decimal(x)
        if -d.as_tuple().exponent > M:
            raise _NeedScale(-d.as_tuple().exponent, fund.pay.node)
        return int(d.scaleb(M))

    pay = fund.pay
    ded = fund.deductible
    return VFund(
        plan=fund,
        applies=comp.expr(fund.applies.when) if fund.applies else None,
        exclusions=tuple(comp.expr(x.when) for x in fund.excludes),
        base=money(fund.base.expr),
        deductible_amount=money(ded.amount) if ded else None,
        deductible_when=comp.expr(ded.when) if ded is not None and ded.when is not None else None,
        cost_caps=tuple((cap, money(cap.amount)) for cap in fund.cost_caps),
        payment_caps=tuple((cap, money(cap.amount)) for cap in fund.payment_caps),
        rate=comp.expr(pay.expr) if isinstance(pay, ops.Rate) else money(pay.amount) if isinstance(pay, ops.Flat)
        else None,
        bands=tuple((edge(b.lower) or 0, edge(b.upper), comp.expr(b.rate), b) for b in pay.bands)
        if isinstance(pay, ops.Bands) else (),
        adjusts=tuple((a.kind, comp.expr(a.amount), comp.expr(a.when), a) for a in fund.adjusts),
    )


def zero_outputs(n_rows: int) -> dict[str, np.ndarray]:
    z = np.zeros(n_rows, np.int64)
    return {"paid": z, "base": z, "deductible": z, "payable": z, "above_cap": z, "above_ceiling": z,
            "remaining": z, "applied": np.zeros(n_rows, bool)}


def settle_applies(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    return active & f.applies(w, active) if f.applies is not None else active


def settle_exclude(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    for exclusion in f.exclusions:  # the first that holds stops the fund
        active = active & ~(exclusion(w, active) & active)
    return active


def settle_base(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    base = f.base(w, active)
    negative = active & (base < 0)
    if negative.any():
        w.fail(negative, f"fund '{f.name}' would apply to a negative amount ({_where(f.base.node)})")
    return base


def settle_deductible(f: VFund, w: Wave, active: np.ndarray, base: np.ndarray) -> np.ndarray:
    ded = f.plan.deductible
    if ded is None:
        return np.zeros(w.n, np.int64)
    applies = f.deductible_when(w, active) if f.deductible_when is not None else np.ones(w.n, bool)
    amount = f.deductible_amount(w, active)
    used = w.acc[f.plan.deductible_acc] if ded.per == "year" else 0
    remaining = np.maximum(0, amount - used)
    return np.where(applies, np.minimum(base, remaining), 0)


def settle_cost_cap(f: VFund, w: Wave, active, a0, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Each cost cap ends the payable part at its point; returns (end, above_ceiling)."""
    full_end = end
    for cap, amount in f.cost_caps:
        value = amount(w, active)
        point = a0 + value if cap.per == "claim" else value
        end = np.maximum(start, np.minimum(end, point))
    return end, (full_end - end) if f.cost_caps else np.zeros(w.n, np.int64)


def settle_adjust(f: VFund, w: Wave, active) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    out = []
    for kind, amount, when, _op in f.adjusts:
        on = when(w, active) & active
        out.append((kind, on, amount(w, active), amount.scale))
    return out


def adjusted(f: VFund, w: Wave, active, rate: np.ndarray, scale: int, adjust, node) -> tuple[np.ndarray, int]:
    """A written rate with the adjustments that hold, applied in order; refuses rates outside 0–100%."""
    for kind, on, amount, ascale in adjust:
        if kind == "points":
            target = max(scale, ascale)
            rate = rescale(rate, target - scale) + np.where(on, rescale(amount, target - ascale), 0)
            scale = target
        else:  # relative: rate × (1 + amount), on the rows where it holds
            one = 10 ** ascale
            rate = multiply(w, active, rate, np.where(on, one + amount, one), node)
            scale += ascale
    outside = active & ((rate < 0) | (rate > 10 ** scale))
    if outside.any():
        w.fail(outside, f"fund '{f.name}' would pay at a rate outside 0%–100% ({_where(node)})")
    return rate, scale


def settle_rate(f: VFund, w: Wave, active, payable) -> list:
    adjust = settle_adjust(f, w, active)
    rate, scale = adjusted(f, w, active, f.rate(w, active), f.rate.scale, adjust, f.plan.pay.node)
    return [(payable, rate, scale)]


def settle_bands(f: VFund, w: Wave, active, a0, start, end) -> list:
    adjust = settle_adjust(f, w, active)
    shift = 0 if f.plan.pay.on else a0  # bands without 'on' start at the claim's own zero
    pieces = []
    for lower, upper, rate_expr, band in f.bands:
        lo = lower + shift
        top = end if upper is None else np.minimum(end, upper + shift)
        part = np.maximum(0, top - np.maximum(start, lo))
        inside = active & (part > 0)
        rate, scale = adjusted(f, w, inside, rate_expr(w, inside), rate_expr.scale, adjust, band.node)
        pieces.append((np.where(inside, part, 0), np.where(inside, rate, 0), scale))
    return pieces


def settle_flat(f: VFund, w: Wave, active, payable) -> list:
    amount = f.rate(w, active)
    return [(np.minimum(amount, payable), np.ones(w.n, np.int64), 0)]


def settle_payment_cap(f: VFund, w: Wave, active, pieces, R: int, raw, rounding):
    """Payments stop at the tightest payment cap. Returns (payment at scale M+R, room at scale M or None,
    above_cap at scale M)."""
    if not f.payment_caps:
        return raw, None, np.zeros(w.n, np.int64)
    room = None
    for cap, amount in f.payment_caps:
        value = amount(w, active)
        before = w.acc[f.plan.payments_acc] if cap.per == "year" else 0
        own = np.maximum(0, value - before)
        room = own if room is None else np.minimum(room, own)
    room_r = rescale(room, R, w, active, f.plan.node)
    limited = active & (raw > room_r)
    paid = np.where(limited, room_r, raw)
    above = np.zeros(w.n, np.int64)
    rows = np.flatnonzero(limited)
    if len(rows):  # the cost beyond the point where payments reach the room, walking the pieces in order
        left = room_r[rows]
        beyond = np.zeros(len(rows), np.int64)  # whole pieces above the cap (scale M)
        num = np.zeros(len(rows), np.int64)  # the split piece: (part × rate − room) / rate, at scale M+R over R
        den = np.ones(len(rows), np.int64)
        some = limited[rows]
        for part, rate, _scale in pieces:
            part, rate = part[rows], rate[rows]
            exhausted = left <= 0
            beyond += np.where(exhausted, part, 0)
            amount = multiply(w, some, part, rate, f.plan.node)
            splits = ~exhausted & (amount > left)
            num = np.where(splits, amount - left, num)
            den = np.where(splits, np.maximum(rate, 1), den)
            left = np.where(exhausted, left, np.where(splits, 0, left - amount))
        total = multiply(w, some, beyond, den, f.plan.node) + num
        above[rows] = rounding(total, den, 0)  # total / den is already in units of the money scale
    return paid, room, above


def settle_rounding(f: VFund, w: Wave, active, paid_raw, R: int, room, base, rounding) -> np.ndarray:
    """The declared rounding; where it would carry the payment above a payment cap's room or the base,
    the largest amount on the grid within that limit (docs/arithmetic.md)."""
    rounded = rounding(paid_raw, 1, R)
    limit = base if room is None else np.minimum(room, base)
    over = rounded > limit
    if over.any():
        rounded = np.where(over, rounding.within(limit), rounded)
    bad = active & ((rounded < 0) | (rounded > base) | ((rounded > room) if room is not None else False))
    if bad.any():
        w.fail(bad, f"fund '{f.name}' would pay outside 0 to what it may pay ({_where(f.plan.node)})")
    return rounded


def settle_accumulate(f: VFund, w: Wave, active, base, taken, paid) -> None:
    deltas = {"cost": base, "deductible": taken, "payments": paid}
    for acc in f.plan.accumulates:  # cost, deductible, payments
        w.acc[acc.accumulator] = w.acc[acc.accumulator] + np.where(active, deltas[acc.role], 0)


@attrs.frozen
class Rounding:
    """A declared rounding (by the quantum's value) on exact fractions ``num / (den × 10^R)`` of the money
    scale (plan.arith.round_to, column-wise)."""

    mode: str
    quantum: int  # in units of the money scale
    node: object

    def __call__(self, num: np.ndarray, den, R: int) -> np.ndarray:
        return round_div(num, den * (10 ** R) * self.quantum, self.mode) * self.quantum

    def within(self, limit: np.ndarray) -> np.ndarray:
        """The largest amount on the grid not above ``limit`` (toward zero)."""
        return round_div(limit, self.quantum, "down") * self.quantum


def settle_fund(f: VFund, w: Wave, active: np.ndarray, rounding: Rounding) -> dict[str, np.ndarray]:
    out = zero_outputs(w.n)
    w.out[f.name] = out
    active = settle_applies(f, w, active)
    active = settle_exclude(f, w, active)
    count = int(active.sum())
    if not count:
        return out
    if count * 2 >= w.n:
        out.update(settle_payment(f, w, active, rounding))
        return out
    rows = np.flatnonzero(active)  # a fund that applies to few of the wave's claims: settle those only
    part = w.subset(rows)
    paid = settle_payment(f, part, np.ones(len(rows), bool), rounding)
    for k, v in paid.items():
        column = np.zeros(w.n, v.dtype)
        column[rows] = v
        out[k] = column
    for acc in f.plan.accumulates:
        after = w.acc[acc.accumulator].copy()
        after[rows] = part.acc[acc.accumulator]
        w.acc[acc.accumulator] = after
    w.error[rows] = np.where(w.error[rows] == 0, part.error, w.error[rows])
    return out


def settle_payment(f: VFund, w: Wave, active: np.ndarray, rounding: Rounding) -> dict[str, np.ndarray]:
    """From the base to the accumulators, on the rows where the fund applies: the fund's outputs."""
    base = settle_base(f, w, active)
    a0 = w.acc[f.plan.cost_acc] if f.plan.cost_acc else np.zeros(w.n, np.int64)
    taken = settle_deductible(f, w, active, base)
    start, end = a0 + taken, a0 + base
    end, above_ceiling = settle_cost_cap(f, w, active, a0, start, end)
    payable = end - start
    pay = f.plan.pay
    if isinstance(pay, ops.Flat):
        pieces = settle_flat(f, w, active, payable)
    elif isinstance(pay, ops.Bands):
        pieces = settle_bands(f, w, active, a0, start, end)
    else:
        pieces = settle_rate(f, w, active, payable)
    R = max(p[2] for p in pieces)
    raw = np.zeros(w.n, np.int64)
    aligned = []
    for part, rate, scale in pieces:
        rate = rescale(rate, R - scale)
        aligned.append((part, rate, R))
        raw = raw + multiply(w, active, part, rate, f.plan.node)
    paid_raw, room, above_cap = settle_payment_cap(f, w, active, aligned, R, raw, rounding)
    paid = settle_rounding(f, w, active, paid_raw, R, room, base, rounding)
    settle_accumulate(f, w, active, base, taken, paid)

    everyone = active.all()

    def on(x):
        return x if everyone else np.where(active, x, 0)
    return dict(paid=on(paid), base=on(base), deductible=on(taken), payable=on(payable), above_cap=on(above_cap),
                above_ceiling=on(above_ceiling), remaining=on(base - paid), applied=active)


# ---------------------------------------------------------------- a plan, layered
@attrs.frozen
class VLayer:
    """One layer of the plan (:class:`medrules.plan.ops.Layer`), compiled for columns."""

    plan: ops.Layer
    treatments: tuple  # (record, field, value V, when V)
    exclusions: tuple[V, ...]
    funds: tuple[VFund, ...]
    total: V
    rounding: Rounding

    @property
    def prefix(self) -> str:
        return self.plan.prefix

    @property
    def accumulators(self) -> list[str]:
        return [a.name for a in self.plan.accumulators]


@attrs.frozen
class VectorProgram:
    program: object  # the scalar Program (its plan, checked rulebook and explanations)
    plan: ops.Plan
    layers: tuple[VLayer, ...]  # the base scheme first
    money_scale: int
    reads: frozenset = frozenset()  # (record, field): the facts the plan reads

    @property
    def dated_by(self) -> str:
        return self.plan.dated_by

    @property
    def year_starts(self) -> tuple[int, int]:
        return self.plan.top.year_starts

    def fund_names(self) -> list[str]:
        return [f"{y.prefix}.{f.name}" if y.prefix else f.name for y in self.layers for f in y.funds]

    def accumulator_names(self) -> list[str]:
        return [f"{y.prefix}.{a}" if y.prefix else a for y in self.layers for a in y.accumulators]


class _NeedScale(Exception):
    """An amount in the fund kernel has more decimals than the money scale tried: try a finer one."""

    def __init__(self, scale: int, node):
        super().__init__(scale)
        self.scale, self.node = scale, node


MAX_MONEY_SCALE = 8


def compile_vector(program) -> VectorProgram:
    """A loaded rulebook's plan compiled for the vector backend, or a MedrulesError naming the construct it
    cannot settle exactly (at load: never a silent slow path).

    Money in the fund kernel (bases, deductibles, caps, accumulators) is held at one decimal scale: fen,
    or finer when an amount has more decimals (``10% × pension`` is exact at 10^-3 yuan)."""
    plan = program.plan
    for layer in plan.layers:  # the premium side is settled per member by the scalar backend only
        if layer.contributions:
            raise _refuse(layer.contributions[0].node, "contributions (what a member owes)",
                          "assess each member with 'medrules assess RULEBOOK FACTS' (the scalar backend)")
        if layer.memberships:  # routing by membership over time reads each member's histories
            raise _refuse(layer.memberships[0].node, "membership routing (the scheme of each claim by its date)",
                          "settle each member with 'medrules run MEMBERSHIP-RULEBOOK FACTS' (the scalar backend)")
        if layer.recoveries:
            raise _refuse(layer.recoveries[0].node, "'recover' (paid first, recoverable from a third party)",
                          "settle with 'medrules run' (the scalar backend), which records what is recoverable")
        from medrules.check.declarations import is_history
        histories = [r.kind for r in layer.checked.rulebook.records if is_history(r.kind)]
        if histories:  # a list of records per member: the batch's columns hold one value per member and claim
            record = next(r for r in layer.checked.rulebook.records if r.kind == histories[0])
            raise _refuse(record, f"a history of records ('facts {histories[0]}', a list per member)",
                          "settle each member with 'medrules run RULEBOOK FACTS' (the scalar backend), which reads "
                          f"the facts file's '{histories[0]}s'")
    M = max([2] + [max(0, -y.rounding.quantum.as_tuple().exponent) for y in plan.layers])
    while True:
        try:
            return _compile_vector(program, plan, M)
        except _NeedScale as need:
            if need.scale > MAX_MONEY_SCALE or need.scale <= M:
                raise _refuse(need.node, f"an amount with {need.scale} decimals",
                              f"amounts of at most {MAX_MONEY_SCALE} decimals are exact in int64") from None
            M = need.scale


def _compile_vector(program, plan: ops.Plan, M: int) -> VectorProgram:
    layers = []
    reads: set = set()
    for layer in plan.layers:
        comp = Compiler(layer.checked, M, reads)
        q = layer.rounding.quantum
        quantum = int(q.scaleb(M))
        if Decimal(quantum).scaleb(-M) != q or quantum <= 0:
            raise _refuse(layer.rounding.node, f"rounding to {q}")
        treatments = tuple((t.record, t.field, comp.expr(t.value), comp.expr(t.when)) for t in layer.treatments)
        exclusions = tuple(comp.expr(x.when) for x in layer.exclusions)
        funds = tuple(compile_fund(comp, f) for f in layer.funds)
        total = comp.expr(layer.total.expr)
        if total.scale > M:
            raise _NeedScale(total.scale, layer.total.node)
        if total.scale < M:
            t0, by = total, M - total.scale
            total = V(lambda w, m, t0=t0, by=by: rescale(t0(w, m), by), M, layer.total.node)
        layers.append(VLayer(layer, treatments, exclusions, funds, total,
                             Rounding(layer.rounding.mode, quantum, layer.rounding.node)))
    for layer in plan.layers:  # a treatment writes the fact it treats
        reads |= {(t.record, t.field) for t in layer.treatments}
    return VectorProgram(program, plan, tuple(layers), M, frozenset(reads))


# ---------------------------------------------------------------- settling columns
@attrs.frozen
class Result:
    """Per-claim results, in the order of the claims given (scale: the program's money scale)."""

    order: np.ndarray  # claims sorted by member and date: positions in the input
    year_start: np.ndarray  # day number of the benefit year's first day, per claim
    funds: dict[str, np.ndarray]  # qualified fund name -> paid
    total: np.ndarray
    member_pays: np.ndarray
    accumulators: dict[str, np.ndarray]  # after each claim
    error: np.ndarray  # per claim: '' or why its member could not be settled
    scale: int


def benefit_year_start(days: np.ndarray, starts: tuple[int, int]) -> np.ndarray:
    """The first day of the benefit year containing each day (runtime.benefit_year)."""
    if not len(days):
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    if hi - lo < 100_000:  # a table over the days in range: no sort
        unique, inverse = np.arange(lo, hi + 1), days - lo
    else:
        unique, inverse = np.unique(days, return_inverse=True)
    month, dom = starts
    d = unique.astype("datetime64[D]")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970

    def start_in(y):
        return ((y - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]") + (dom - 1)
    this, prev = start_in(years), start_in(years - 1)
    return np.where(d < this, prev, this).astype(np.int64)[inverse.reshape(-1)]


def settle_columns(vp: VectorProgram, member_of: np.ndarray, claims: Table, members: Table,
                   opening: dict[str, np.ndarray] | None = None) -> Result:
    """Settle every claim. ``member_of[i]`` is claim i's member (a row of ``members``); claims of a member
    are settled in date order, ties in input order. ``opening`` gives year-to-date values (money scale) of
    accumulators, per member, for the year of the member's first claim.

    Layout: members are ordered by their number of claims, most first; wave k holds the k-th claim of
    the first c_k members (those with more than k claims), in that order. So a wave's members, their
    facts and their accumulators are a prefix of the previous wave's: slices, not gathers."""
    n_claims = len(member_of)
    M = vp.money_scale
    member_of = np.asarray(member_of, np.int64)
    dates = claims.values[vp.dated_by]
    if n_claims and dates.max() - dates.min() < 2 ** 31 and member_of.max() < 2 ** 31:  # one key: faster
        order = np.argsort(member_of << 32 | (dates - dates.min()), kind="stable")
    else:
        order = np.lexsort((np.arange(n_claims), dates, member_of))
    n_members = len(members)
    counts = np.bincount(member_of, minlength=n_members)
    by_count = np.argsort(-counts, kind="stable")  # members, most claims first
    position = np.empty(n_members, np.int64)
    position[by_count] = np.arange(n_members)
    sorted_member = member_of[order]
    first = np.r_[0, np.cumsum(counts)[:-1]]  # where each member's claims start in ``order``
    rank = np.arange(n_claims) - first[sorted_member]  # the claim's wave
    waves = int(counts.max()) if n_claims else 0
    width = np.array([(counts > k).sum() for k in range(waves)], np.int64)  # members in each wave
    offset = np.r_[0, np.cumsum(width)]
    layout = np.empty(n_claims, np.int64)  # wave-major position -> input row
    layout[offset[rank] + position[sorted_member]] = order
    year = benefit_year_start(dates, vp.year_starts)
    claim_cols = _only(claims, "claim", vp.reads).take(layout)
    member_cols = _only(members, "member", vp.reads).take(by_count)
    wave_year = year[layout]
    state = [{a: np.zeros(n_members, np.int64) for a in layer.accumulators} for layer in vp.layers]
    opening = {k: v[by_count] for k, v in (opening or {}).items()}
    last_year = np.full(n_members, np.iinfo(np.int64).min, np.int64)
    paid_out = {name: np.zeros(n_claims, np.int64) for name in vp.fund_names()}
    acc_out = {name: np.zeros(n_claims, np.int64) for name in vp.accumulator_names()}
    total_out = np.zeros(n_claims, np.int64)
    member_out = np.zeros(n_claims, np.int64)
    error_out = np.zeros(n_claims, np.int32)
    messages: list[str] = []
    for k in range(waves):
        c, at = int(width[k]), slice(offset[k], offset[k + 1])
        this_year = wave_year[at]
        new_year = this_year != last_year[:c]
        last_year[:c] = this_year
        fresh = new_year.all()
        accs = []
        for layer, st in zip(vp.layers, state):
            acc = {}
            for a, col in st.items():
                values = np.zeros(c, np.int64) if fresh else np.where(new_year, 0, col[:c])
                key = f"{layer.prefix}.{a}" if layer.prefix else a
                if k == 0 and key in opening:
                    values = values + opening[key]
                acc[a] = values
            accs.append(acc)
        w_error, total, paid_sum, outs = settle_wave(vp, claim_cols.slice(at), member_cols.slice(slice(0, c)), accs,
                                                     messages, c)
        for layer, st, acc in zip(vp.layers, state, accs):
            for a in st:
                st[a][:c] = acc[a]
                acc_out[f"{layer.prefix}.{a}" if layer.prefix else a][at] = acc[a]
        for name, paid in outs.items():
            paid_out[name][at] = paid
        total_out[at] = total
        member_out[at] = total - paid_sum
        error_out[at] = w_error
    # back to the order of the input
    back = np.empty(n_claims, np.int64)
    back[layout] = np.arange(n_claims)

    def unlayout(x):
        return x[back]
    codes = unlayout(error_out)
    errors = np.full(n_claims, "", object)
    if messages:
        failed = codes > 0
        errors[failed] = np.array(messages, dtype=object)[codes[failed] - 1]
        held = np.isin(member_of, np.unique(member_of[failed])) & ~failed
        errors[held] = "held back: another claim of this member could not be settled"  # the member whole
    return Result(order, year, {k: unlayout(v) for k, v in paid_out.items()}, unlayout(total_out),
                  unlayout(member_out), {k: unlayout(v) for k, v in acc_out.items()}, errors, M)


def _only(table: Table, record: str, reads) -> Table:
    keep = {f for r, f in reads if r == record}
    return Table({k: v for k, v in table.values.items() if k in keep},
                 {k: v for k, v in table.given.items() if k in keep})


def settle_wave(vp: VectorProgram, claim_cols: Table, member_cols: Table, accs, messages, n_rows):
    outs: dict[str, np.ndarray] = {}
    below = None
    total = None
    paid_sum = np.zeros(n_rows, np.int64)
    error = np.zeros(n_rows, np.int32)
    everyone = np.ones(n_rows, bool)
    for layer, acc in zip(vp.layers, accs):
        w = Wave(n_rows, claim_cols, member_cols, acc, messages)
        if below is not None:
            w.below = below
        for record, field, value, when in layer.treatments:
            holds = when(w, everyone)
            facts = w.record(record)
            replaced = np.where(holds, value(w, holds), facts[field])
            if record == "claim":
                w.claim = w.claim | {field: replaced}
            else:
                w.member = w.member | {field: replaced}
        active = everyone.copy()
        for exclusion in layer.exclusions:
            active &= ~(exclusion(w, active) & active)
        layer_paid = np.zeros(n_rows, np.int64)
        for f in layer.funds:
            out = settle_fund(f, w, active, layer.rounding)
            name = f"{layer.prefix}.{f.name}" if layer.prefix else f.name
            outs[name] = out["paid"]
            layer_paid += out["paid"]
        total = layer.total(w, everyone)
        paid_sum += layer_paid
        below = {"total_cost": total, "paid": layer_paid, "member_pays": total - layer_paid}
        for fname, o in w.out.items():
            below |= {f"{fname}.{k}": v for k, v in o.items() if k != "applied"}
        error = np.where(error == 0, w.error, error)
    negative = (total - paid_sum) < 0
    if negative.any():
        message = "the funds would pay more than the claim's total cost"
        if message not in messages:
            messages.append(message)
        error = np.where((error == 0) & negative, messages.index(message) + 1, error)
    return error, total, paid_sum, outs
