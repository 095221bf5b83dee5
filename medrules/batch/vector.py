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

One function per fund operation, the column-wise twin of the scalar kernel
(:mod:`medrules.evaluate.fund`): ``settle_applies``, ``settle_exclude``, ``settle_base``,
``settle_deductible``, ``settle_cost_cap``, ``settle_rate`` / ``settle_bands`` /
``settle_flat`` with ``settle_adjust``, ``settle_payment_cap``, ``settle_rounding``,
``settle_accumulate``. A construct it cannot settle exactly is refused when the rulebook
is compiled for it (:func:`compile_vector`), with the construct's position.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

from medrules import nodes as n
from medrules.batch.columns import SCALES, Table, day_number, enum_members
from medrules.check import CheckedRulebook
from medrules.check.funds import accumulators_of
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.compile import Program, parameter_value

NUMERIC = ("money", "rate", "points", "relpct", "count", "days", "months")
LIMIT = 2 ** 62  # any intermediate beyond this is refused (int64 holds 2^63)
MAX_SCALE = 12


def _refuse(node, what: str, hint: str | None = None) -> MedrulesError:
    return MedrulesError(error("vector", f"the vector backend cannot settle {what}", getattr(node, "span", None),
                               hint or "settle this rulebook with the scalar backend (medrules run)"))


# ---------------------------------------------------------------- a wave
class Wave:
    """What an expression reads while the k-th claim of every member is settled (``n`` rows)."""

    __slots__ = ("n", "claim", "member", "given", "acc", "out", "error", "messages")

    def __init__(self, n_rows: int, claim: Table, member: Table, acc: dict, messages: list):
        self.n = n_rows
        self.claim = dict(claim.values)
        self.member = member.values
        self.given = {("claim", k): v for k, v in claim.given.items()} | {
            ("member", k): v for k, v in member.given.items()}
        self.acc = acc
        self.out: dict[str, dict[str, np.ndarray]] = {}
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


def _check_range(w: Wave, mask: np.ndarray, values: np.ndarray, node) -> None:
    bad = mask & (np.abs(values) > LIMIT)
    if bad.any():
        w.fail(bad, f"an amount is too large for exact arithmetic at {_where(node)}")


def _where(node) -> str:
    span = getattr(node, "span", None)
    return f"{span.file}:{span.line}" if span else "the rulebook"


def rescale(values: np.ndarray, by: int, w: Wave | None = None, mask=None, node=None) -> np.ndarray:
    if by == 0:
        return values
    if w is not None and mask is not None:
        _check_range(w, mask, values.astype(np.float64) * 10.0 ** by, node)
    return values * (10 ** by)


def multiply(w: Wave, mask, a: np.ndarray, b: np.ndarray, node) -> np.ndarray:
    _check_range(w, mask, a.astype(np.float64) * b.astype(np.float64), node)
    return a * b


def round_div(num: np.ndarray, den, mode: str) -> np.ndarray:
    """num / den rounded to an integer the way Decimal's quantize rounds (den > 0)."""
    sign = np.where(num < 0, -1, 1)
    mag = np.abs(num)
    q, r = np.divmod(mag, den)
    if mode == "down":
        pass
    elif mode == "up":
        q = q + (r > 0)
    elif mode == "half_up":
        q = q + (2 * r >= den)
    else:  # half_even
        q = q + ((2 * r > den) | ((2 * r == den) & (q % 2 == 1)))
    return sign * q


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
    """Expressions of one checked rulebook → column functions."""

    def __init__(self, ck: CheckedRulebook, money_scale: int):
        self.ck = ck
        self.M = money_scale

    def unit(self, e) -> str:
        return self.ck.types[e].unit

    def expr(self, e: n.Expr) -> V:  # noqa: C901 - one dispatch over expression kinds
        ck = self.ck
        if isinstance(e, n.Literal):
            t = ck.types[e]
            if t.unit == "enum":
                code = enum_members(ck, t.enum).index(e.value)
                return V(lambda w, m: np.full(w.n, code, np.int64), None, e)
            return constant(e.value, t, e)
        if isinstance(e, n.Ref):
            return self.ref(e)
        if isinstance(e, n.Unary):
            f = self.expr(e.operand)
            return V(lambda w, m: -f(w, m), f.scale, e)
        if isinstance(e, n.Binary):
            return self.binary(e)
        if isinstance(e, n.Comparison):
            return self.comparison(e)
        if isinstance(e, n.Membership):
            f = self.expr(e.operand)
            members = enum_members(ck, ck.types[e.operand].enum)
            codes = np.array([members.index(x) for x in e.names], np.int64)
            negated = e.negated
            return V(lambda w, m: np.isin(f(w, m), codes) != negated, None, e)
        if isinstance(e, n.Logic):
            fs = [self.expr(x) for x in e.operands]
            if e.op == "not":
                return V(lambda w, m: ~fs[0](w, m), None, e)
            if e.op == "and":
                def and_fn(w, m):
                    result = np.ones(w.n, bool)
                    for f in fs:  # each operand is evaluated only where the ones before it held
                        result &= f(w, m & result)
                    return result
                return V(and_fn, None, e)

            def or_fn(w, m):
                result = np.zeros(w.n, bool)
                for f in fs:
                    result |= f(w, m & ~result)
                return result
            return V(or_fn, None, e)
        if isinstance(e, n.Call):
            return self.call(e)
        if isinstance(e, n.Cases):
            return self.cases(e)
        if isinstance(e, n.Highest):
            return self.highest(e)
        raise _refuse(e, f"the expression '{type(e).__name__}'")

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

    def ref(self, e: n.Ref) -> V:
        ck = self.ck
        res = ck.resolved[e]
        t = ck.types[e]
        if res.kind == "enum_member":
            code = enum_members(ck, t.enum).index(res.detail)
            return V(lambda w, m: np.full(w.n, code, np.int64), None, e)
        if res.kind == "param":
            value = parameter_value(ck, res.target)
            if t.unit == "enum":
                code = enum_members(ck, t.enum).index(value)
                return V(lambda w, m: np.full(w.n, code, np.int64), None, e)
            if t.unit == "set":
                raise _refuse(e, "a parameter that is a set")
            return constant(value, t, e)
        scale = SCALES.get(t.unit) if t.unit in NUMERIC else None
        if res.kind == "fact":
            record, name = res.detail, res.target
            optional = ck.records[record][name] in ck.optional
            if optional:
                message = (f"'{e.text}' is needed at {_where(e)} but the facts do not give it "
                           f"(give {record}.{name}, or test given({e.text}) before using it)")

                def get_optional(w, m):
                    missing = m & ~w.given[(record, name)]
                    if missing.any():
                        w.fail(missing, message)
                    return w.record(record)[name]
                return V(get_optional, scale, e)
            return V(lambda w, m: w.record(record)[name], scale, e)
        if res.kind == "accumulator":
            name = res.target
            return V(lambda w, m: w.acc[name], self.M, e)
        fund, output = res.target, res.detail  # fund_output, base_output
        return V(lambda w, m: w.out[fund][output], self.M, e)

    def binary(self, e: n.Binary) -> V:
        left, right = self.expr(e.left), self.expr(e.right)
        lt, rt = self.unit(e.left), self.unit(e.right)
        if lt == "date" and e.op in "+-":
            if rt == "days":
                sign = 1 if e.op == "+" else -1
                return V(lambda w, m: left(w, m) + sign * right(w, m), None, e)
            if rt == "months":
                if e.op == "-":
                    raise _refuse(e, "a date minus months")
                return V(lambda w, m: add_months(left(w, m), right(w, m)), None, e)
            return V(lambda w, m: left(w, m) - right(w, m), 0, e)  # date - date: days
        if e.op == "/":
            raise _refuse(e, "a division", "write the rulebook without '/' (multiply by a rate), or settle it "
                          "with the scalar backend (medrules run)")
        if e.op == "*":
            if "relpct" in (lt, rt):  # x * (1 + pct)
                if rt != "relpct":
                    left, right = right, left
                one = 10 ** right.scale
                return V(lambda w, m: multiply(w, m, left(w, m), one + right(w, m), e), left.scale + right.scale, e)
            if left.scale + right.scale > MAX_SCALE:
                raise _refuse(e, "a product this precise")
            return V(lambda w, m: multiply(w, m, left(w, m), right(w, m), e), left.scale + right.scale, e)
        (a, b), scale = self.aligned([left, right])
        if e.op == "+":
            return V(lambda w, m: a(w, m) + b(w, m), scale, e)
        return V(lambda w, m: a(w, m) - b(w, m), scale, e)

    def comparison(self, e: n.Comparison) -> V:
        left, right = self.expr(e.left), self.expr(e.right)
        if left.scale is not None and right.scale is not None:
            (left, right), _ = self.aligned([left, right])
        op = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
              ">=": np.greater_equal}[e.op]
        return V(lambda w, m: np.asarray(op(left(w, m), right(w, m)), bool), None, e)

    def call(self, e: n.Call) -> V:
        ck = self.ck
        if e.func in ("min", "max"):
            fs, scale = self.aligned([self.expr(x) for x in e.args])
            fold = np.minimum if e.func == "min" else np.maximum

            def minmax(w, m):
                result = fs[0](w, m)
                for f in fs[1:]:
                    result = fold(result, f(w, m))
                return result
            return V(minmax, scale, e)
        if e.func == "month_start":
            f = self.expr(e.args[0])
            return V(lambda w, m: month_start(f(w, m)), None, e)
        if e.func == "day_number":
            start, day = self.expr(e.args[0]), self.expr(e.args[1])
            first = 1 if ck.rulebook.header.day_count == "inclusive" else 0
            return V(lambda w, m: day(w, m) - start(w, m) + first, 0, e)
        if e.func == "given":
            res = ck.resolved[e.args[0]]
            key = (res.detail, res.target)
            if ck.records[res.detail][res.target] not in ck.optional:
                return V(lambda w, m: np.ones(w.n, bool), None, e)
            return V(lambda w, m: w.given[key].copy(), None, e)
        if e.func == "has":
            group = self.expr(e.args[0])
            members = enum_members(ck, ck.types[e.args[0]].enum)
            bits = 0
            for x in e.args[1:]:
                res = ck.resolved.get(x)
                if res is None or res.kind != "enum_member":
                    raise _refuse(x, "has(…) with a member that is not written out")
                bits |= 1 << members.index(res.detail)
            return V(lambda w, m: (group(w, m) & bits) != 0, None, e)
        raise _refuse(e, f"the function '{e.func}'")

    def cases(self, e: n.Cases) -> V:
        whens = [self.expr(c.when) for c in e.cases]
        values = [self.expr(c.value) for c in e.cases] + [self.expr(e.otherwise)]
        numeric = values[0].scale is not None
        if numeric:
            values, scale = self.aligned(values)
        else:
            scale = None

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
        return V(cases_fn, scale, e)

    def highest(self, e: n.Highest) -> V:
        whens = [self.expr(c.when) for c in e.cases]
        values, scale = self.aligned([self.expr(c.value) for c in e.cases] + [self.expr(e.otherwise)])

        def highest_fn(w, m):
            best = np.zeros(w.n, np.int64)
            found = np.zeros(w.n, bool)
            for when, value in zip(whens, values):
                holds = when(w, m) & m
                v = value(w, holds)
                better = holds & (~found | (v > best))
                best = np.where(better, v, best)
                found |= holds
            other = m & ~found
            return np.where(other, values[-1](w, other), best)
        return V(highest_fn, scale, e)


def month_start(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return d.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


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
    """One fund's operations, compiled for columns (the twin of evaluate.compile.FundPlan)."""

    node: n.Fund
    applies: V | None
    exclusions: tuple[V, ...]
    base: V
    cost_acc: str | None
    payments_acc: str | None
    deductible_acc: str | None
    deductible: n.Deductible | None
    deductible_amount: V | None
    deductible_when: V | None
    cost_caps: tuple[tuple[n.Cap, V], ...]
    payment_caps: tuple[tuple[n.Cap, V], ...]
    rate: V | None
    bands: tuple[tuple[int, int | None, V, n.Band], ...]  # lower, upper (money scale), rate
    bands_on: str | None
    adjusts: tuple[tuple[str, V, V, n.Adjust], ...]  # kind, amount, when
    flat: V | None


def compile_fund(c: Compiler, fund: n.Fund) -> VFund:
    ck, M = c.ck, c.M
    roles = accumulators_of(fund)

    def first(kind):
        return (fund.clause(kind) or [None])[0]

    applies, base, ded, rate, bands, flat = (first(k) for k in (n.Applies, n.Base, n.Deductible, n.Rate, n.Bands,
                                                                n.Flat))

    def money(expr):
        v = c.expr(expr)
        if v.scale > M:
            raise _NeedScale(v.scale, expr)
        by = M - v.scale
        return V(lambda w, m: rescale(v(w, m), by, w, m, expr), M, expr) if by else v

    def edge(x):
        if x is None:
            return None
        d = ck.constants[x]
        return int(d.scaleb(M))

    return VFund(
        node=fund,
        applies=c.expr(applies.when) if applies else None,
        exclusions=tuple(attrs.evolve(c.expr(x.when), node=x) for x in fund.clause(n.Exclude)),
        base=money(base.expr),
        cost_acc=roles.get("cost"), payments_acc=roles.get("payments"), deductible_acc=roles.get("deductible"),
        deductible=ded,
        deductible_amount=money(ded.amount) if ded else None,
        deductible_when=c.expr(ded.when) if ded is not None and ded.when is not None else None,
        cost_caps=tuple((cap, money(cap.amount)) for cap in fund.clause(n.Cap) if cap.what == "cost"),
        payment_caps=tuple((cap, money(cap.amount)) for cap in fund.clause(n.Cap) if cap.what == "payments"),
        rate=c.expr(rate.expr) if rate else None,
        bands=tuple((edge(b.lower) or 0, edge(b.upper), c.expr(b.rate), b) for b in bands.bands) if bands else (),
        bands_on=bands.on if bands else None,
        adjusts=tuple((ck.types[a.amount].unit, c.expr(a.amount), c.expr(a.when), a) for a in fund.clause(n.Adjust)),
        flat=money(flat.amount) if flat else None,
    )


def zero_outputs(n_rows: int) -> dict[str, np.ndarray]:
    z = np.zeros(n_rows, np.int64)
    return {"paid": z, "base": z, "deductible": z, "payable": z, "above_cap": z, "above_ceiling": z,
            "remaining": z, "applied": np.zeros(n_rows, bool)}


def settle_applies(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    return active & f.applies(w, active) if f.applies is not None else active


def settle_exclude(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    for exclusion in f.exclusions:
        active = active & ~(exclusion(w, active) & active)
    return active


def settle_base(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    base = f.base(w, active)
    negative = active & (base < 0)
    if negative.any():
        w.fail(negative, f"fund '{f.node.name}' would apply to a negative amount ({_where(f.base.node)})")
    return base


def settle_deductible(f: VFund, w: Wave, active: np.ndarray, base: np.ndarray) -> np.ndarray:
    if f.deductible is None:
        return np.zeros(w.n, np.int64)
    applies = f.deductible_when(w, active) if f.deductible_when is not None else np.ones(w.n, bool)
    amount = f.deductible_amount(w, active)
    used = w.acc[f.deductible_acc] if f.deductible.per == "year" else 0
    remaining = np.maximum(0, amount - used)
    return np.where(applies, np.minimum(base, remaining), 0)


def settle_cost_cap(f: VFund, w: Wave, active, a0, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Each cost cap ends the payable part at its point; returns (end, above_ceiling)."""
    full_end = end
    for node, amount in f.cost_caps:
        cap = amount(w, active)
        point = cap if node.per is None else a0 + cap
        end = np.maximum(start, np.minimum(end, point))
    return end, (full_end - end) if f.cost_caps else np.zeros(w.n, np.int64)


def settle_adjust(f: VFund, w: Wave, active) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    out = []
    for kind, amount, when, _node in f.adjusts:
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
        w.fail(outside, f"fund '{f.node.name}' would pay at a rate outside 0%–100% ({_where(node)})")
    return rate, scale


def settle_rate(f: VFund, w: Wave, active, payable) -> list:
    adjust = settle_adjust(f, w, active)
    rate, scale = adjusted(f, w, active, f.rate(w, active), f.rate.scale, adjust, f.rate.node)
    return [(payable, rate, scale)]


def settle_bands(f: VFund, w: Wave, active, a0, start, end) -> list:
    adjust = settle_adjust(f, w, active)
    shift = 0 if f.bands_on else a0
    pieces = []
    for lower, upper, rate_expr, node in f.bands:
        lo = lower + shift
        top = end if upper is None else np.minimum(end, upper + shift)
        part = np.maximum(0, top - np.maximum(start, lo))
        inside = active & (part > 0)
        rate, scale = adjusted(f, w, inside, rate_expr(w, inside), rate_expr.scale, adjust, node)
        pieces.append((np.where(inside, part, 0), np.where(inside, rate, 0), scale))
    return pieces


def settle_flat(f: VFund, w: Wave, active, payable) -> list:
    amount = f.flat(w, active)
    return [(np.minimum(amount, payable), np.ones(w.n, np.int64), 0)]


def settle_payment_cap(f: VFund, w: Wave, active, pieces, R: int, raw, M: int, rounding):
    """Payments stop at the tightest payment cap. Returns (paid at scale M+R, above_cap at scale M)."""
    if not f.payment_caps:
        return raw, np.zeros(w.n, np.int64)
    room = None
    for node, amount in f.payment_caps:
        cap = amount(w, active)
        before = w.acc[f.payments_acc] if node.per is None else 0
        own = np.maximum(0, cap - before)
        room = own if room is None else np.minimum(room, own)
    room_r = rescale(room, R, w, active, f.node)
    limited = active & (raw > room_r)
    paid = np.where(limited, room_r, raw)
    # the cost beyond the point where payments reach the room, walking the pieces in order (cost_beyond)
    left = room_r.copy()
    beyond = np.zeros(w.n, np.int64)  # whole pieces above the cap (scale M)
    num = np.zeros(w.n, np.int64)  # the split piece: (part × rate − room) / rate, at scale M+R over R
    den = np.ones(w.n, np.int64)
    for part, rate, _scale in pieces:
        exhausted = left <= 0
        beyond += np.where(exhausted, part, 0)
        amount = multiply(w, active, part, rate, f.node)
        splits = ~exhausted & (amount > left)
        num = np.where(splits, amount - left, num)
        den = np.where(splits, np.maximum(rate, 1), den)
        left = np.where(exhausted, left, np.where(splits, 0, left - amount))
    total = multiply(w, limited, beyond, den, f.node) + num
    above = rounding(total, den, 0)  # total / den is already in units of the money scale
    return paid, np.where(limited, above, 0)


def settle_accumulate(f: VFund, w: Wave, active, base, taken, paid) -> None:
    for acc, delta in ((f.cost_acc, base), (f.deductible_acc, taken), (f.payments_acc, paid)):
        if acc is not None:
            w.acc[acc] = w.acc[acc] + np.where(active, delta, 0)


@attrs.frozen
class Rounding:
    """The rulebook's declared rounding on exact fractions ``num / (den × 10^R)`` of the money scale."""

    mode: str
    quantum: int  # in units of the money scale
    node: object

    def __call__(self, num: np.ndarray, den, R: int) -> np.ndarray:
        return round_div(num, den * (10 ** R) * self.quantum, self.mode) * self.quantum


def settle_fund(f: VFund, w: Wave, active: np.ndarray, M: int, rounding: Rounding) -> dict[str, np.ndarray]:
    out = zero_outputs(w.n)
    w.out[f.node.name] = out
    active = settle_applies(f, w, active)
    active = settle_exclude(f, w, active)
    if not active.any():
        return out
    base = settle_base(f, w, active)
    a0 = w.acc[f.cost_acc] if f.cost_acc else np.zeros(w.n, np.int64)
    taken = settle_deductible(f, w, active, base)
    start, end = a0 + taken, a0 + base
    end, above_ceiling = settle_cost_cap(f, w, active, a0, start, end)
    payable = end - start
    if f.flat is not None:
        pieces = settle_flat(f, w, active, payable)
    elif f.bands:
        pieces = settle_bands(f, w, active, a0, start, end)
    else:
        pieces = settle_rate(f, w, active, payable)
    R = max(p[2] for p in pieces)
    raw = np.zeros(w.n, np.int64)
    aligned = []
    for part, rate, scale in pieces:
        rate = rescale(rate, R - scale)
        aligned.append((part, rate, R))
        raw = raw + multiply(w, active, part, rate, f.node)
    paid_raw, above_cap = settle_payment_cap(f, w, active, aligned, R, raw, M, rounding)
    paid = rounding(paid_raw, 1, R)
    settle_accumulate(f, w, active, base, taken, paid)

    def on(x):
        return np.where(active, x, 0)
    out.update(paid=on(paid), base=on(base), deductible=on(taken), payable=on(payable), above_cap=on(above_cap),
               above_ceiling=on(above_ceiling), remaining=on(base - paid), applied=active)
    return out


# ---------------------------------------------------------------- a rulebook, layered
@attrs.frozen
class VLayer:
    """One rulebook of a layered scheme, compiled for columns."""

    checked: CheckedRulebook
    alias: str | None
    prefix: str  # how the top rulebook names this layer's funds and accumulators ('' for itself)
    treatments: tuple  # (record, field, value V, when V)
    exclusions: tuple[V, ...]
    funds: tuple[VFund, ...]
    total: V


@attrs.frozen
class VectorProgram:
    program: Program
    layers: tuple[VLayer, ...]  # the base scheme first
    money_scale: int
    rounding: Rounding
    dated_by: str
    year_starts: tuple[int, int]

    def fund_names(self) -> list[str]:
        return [f"{y.prefix}.{f.node.name}" if y.prefix else f.node.name for y in self.layers for f in y.funds]

    def accumulator_names(self) -> list[str]:
        return [f"{y.prefix}.{a}" if y.prefix else a for y in self.layers for a in y.checked.accumulators]


class _NeedScale(Exception):
    """An amount in the fund kernel has more decimals than the money scale tried: try a finer one."""

    def __init__(self, scale: int, node):
        super().__init__(scale)
        self.scale, self.node = scale, node


MAX_MONEY_SCALE = 8


def compile_vector(program: Program) -> VectorProgram:
    """A loaded rulebook compiled for the vector backend, or a MedrulesError naming what it cannot settle.

    Money in the fund kernel (bases, deductibles, caps, accumulators) is held at one decimal scale: fen,
    or finer when an amount has more decimals (``8% × pension`` is exact at 10^-4 yuan)."""
    header = program.checked.rulebook.header
    M = max(2, -header.rounding.quantum.as_tuple().exponent)
    while True:
        try:
            return _compile_vector(program, M)
        except _NeedScale as need:
            if need.scale > MAX_MONEY_SCALE:
                raise _refuse(need.node, f"an amount with {need.scale} decimals",
                              f"amounts of at most {MAX_MONEY_SCALE} decimals are exact in int64") from None
            M = need.scale


def _compile_vector(program: Program, M: int) -> VectorProgram:
    chain = []
    p = program
    while p is not None:
        chain.append(p)
        p = p.base
    chain.reverse()
    header = program.checked.rulebook.header
    quantum = header.rounding.quantum
    rounding_node = header.rounding
    if Decimal(int(quantum.scaleb(M))).scaleb(-M) != quantum:
        raise _refuse(rounding_node, f"rounding to {quantum}")
    layers = []
    for depth, p in enumerate(chain):
        ck = p.checked
        c = Compiler(ck, M)
        rb = ck.rulebook
        prefix = ".".join(q.alias for q in chain[depth + 1:][::-1])
        if p.rounder.node.quantum != quantum or p.rounder.node.mode != rounding_node.mode:
            raise _refuse(p.rounder.node, "layers with different roundings")
        treatments = tuple((t.target.parts[0], t.target.parts[1], c.expr(t.value), c.expr(t.when))
                           for t in rb.treatments)
        exclusions = tuple(c.expr(x.when) for x in rb.exclusions)
        funds = tuple(compile_fund(c, f) for f in rb.funds)
        total = c.expr(rb.total.expr)
        if total.scale > M:
            raise _NeedScale(total.scale, rb.total)
        if total.scale < M:
            t0, by = total, M - total.scale
            total = V(lambda w, m, t0=t0, by=by: rescale(t0(w, m), by), M, rb.total)
        layers.append(VLayer(ck, p.alias, prefix, treatments, exclusions, funds, total))
    rounding = Rounding(rounding_node.mode, int(quantum.scaleb(M)), rounding_node)
    return VectorProgram(program, tuple(layers), M, rounding, program.dated_by, header.year_starts)


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
    month, dom = starts
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970

    def start_in(y):
        return ((y - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]") + (dom - 1)
    this, prev = start_in(years), start_in(years - 1)
    return np.where(d < this, prev, this).astype(np.int64)


def settle_columns(vp: VectorProgram, member_of: np.ndarray, claims: Table, members: Table,
                   opening: dict[str, np.ndarray] | None = None) -> Result:
    """Settle every claim. ``member_of[i]`` is claim i's member (a row of ``members``); claims of a member
    are settled in date order, ties in input order. ``opening`` gives year-to-date values (money scale) of
    accumulators, per member, for the year of the member's first claim."""
    n_claims = len(member_of)
    M = vp.money_scale
    dates = claims.values[vp.dated_by]
    order = np.lexsort((np.arange(n_claims), dates, member_of))
    sorted_member = member_of[order]
    # the position of each claim among its member's claims: its wave
    starts = np.r_[0, np.flatnonzero(sorted_member[1:] != sorted_member[:-1]) + 1] if n_claims else np.array([], int)
    rank = np.arange(n_claims) - np.repeat(starts, np.diff(np.r_[starts, n_claims]))
    year = benefit_year_start(dates, vp.year_starts)
    n_members = len(members)
    state = [{a: np.zeros(n_members, np.int64) for a in layer.checked.accumulators} for layer in vp.layers]
    last_year = np.full(n_members, np.iinfo(np.int64).min, np.int64)
    opening = opening or {}
    fund_names = vp.fund_names()
    paid_out = {name: np.zeros(n_claims, np.int64) for name in fund_names}
    acc_out = {name: np.zeros(n_claims, np.int64) for name in vp.accumulator_names()}
    total_out = np.zeros(n_claims, np.int64)
    member_out = np.zeros(n_claims, np.int64)
    error_out = np.zeros(n_claims, np.int32)
    messages: list[str] = []
    by_wave = order[np.argsort(rank, kind="stable")]
    bounds = np.searchsorted(np.sort(rank), np.arange(rank.max() + 2 if n_claims else 1))
    for k in range(len(bounds) - 1):
        rows = by_wave[bounds[k]:bounds[k + 1]]
        if not len(rows):
            break
        who = member_of[rows]
        claim_cols = claims.take(rows)
        member_cols = members.take(who)
        new_year = year[rows] != last_year[who]
        last_year[who] = year[rows]
        accs = []
        for layer, st in zip(vp.layers, state):
            acc = {}
            for a, col in st.items():
                values = np.where(new_year, 0, col[who])
                key = f"{layer.prefix}.{a}" if layer.prefix else a
                if k == 0 and key in opening:
                    values = values + opening[key][who]
                acc[a] = values
            accs.append(acc)
        w_error, total, paid_sum, outs = settle_wave(vp, claim_cols, member_cols, accs, messages, len(rows))
        for layer, st, acc in zip(vp.layers, state, accs):
            for a in st:
                st[a][who] = acc[a]
                key = f"{layer.prefix}.{a}" if layer.prefix else a
                acc_out[key][rows] = acc[a]
        for name, paid in outs.items():
            paid_out[name][rows] = paid
        total_out[rows] = total
        member_out[rows] = total - paid_sum
        error_out[rows] = w_error
    # a member with any row that could not be settled is held back whole
    errors = np.array([""] + messages, dtype=object)[error_out]
    bad_members = np.unique(member_of[error_out > 0])
    held = np.isin(member_of, bad_members) & (error_out == 0)
    errors[held] = "held back: another claim of this member could not be settled"
    return Result(order, year, paid_out, total_out, member_out, acc_out, errors, M)


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
            w.out = {layer.alias: below}
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
            out = settle_fund(f, w, active, vp.money_scale, vp.rounding)
            name = f"{layer.prefix}.{f.node.name}" if layer.prefix else f.node.name
            outs[name] = out["paid"]
            layer_paid += out["paid"]
        total = layer.total(w, everyone)
        paid_sum += layer_paid
        below = {"total_cost": total, "paid": layer_paid, "member_pays": total - layer_paid}
        for fname, o in w.out.items():
            if fname in layer.checked.funds:
                below |= {f"{fname}.{k}": v for k, v in o.items() if k != "applied"}
        error = np.where(error == 0, w.error, error)
    negative = (total - paid_sum) < 0
    if negative.any():
        message = "the funds would pay more than the claim's total cost"
        if message not in messages:
            messages.append(message)
        error = np.where((error == 0) & negative, messages.index(message) + 1, error)
    return error, total, paid_sum, outs
