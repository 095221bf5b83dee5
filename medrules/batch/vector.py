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

import logging

import attrs
import numpy as np

from medrules.batch.columns import SCALES, Table, day_number, enum_members
from medrules.check import CheckedRulebook
from medrules.diagnostics import MedrulesError, error
from medrules.plan import core as c
from medrules.plan import ops

HISTORY_FUNCTIONS = ("any", "every", "count", "sum", "latest", "earliest")

NUMERIC = ("money", "rate", "points", "relpct", "count", "days", "months")
LIMIT = 2 ** 62  # any intermediate beyond this is refused (int64 holds 2^63)
MAX_SCALE = 12
log = logging.getLogger(__name__)


def _refuse(node, what: str, hint: str | None = None) -> MedrulesError:
    return MedrulesError(error("vector", f"the vector backend cannot settle {what}", getattr(node, "span", None),
                               hint or "settle this rulebook with the scalar backend (medrules run)"))


# ---------------------------------------------------------------- a wave
class Gathered(dict):
    """Columns in another row order, gathered when first read (``index`` None: the same rows; a slice: those
    rows, as views): a rulebook reads few of the facts a wave holds, and most claims never reach the
    expressions that read the rest."""

    __slots__ = ("source", "index", "own")

    def __init__(self, source: dict, index: np.ndarray | None = None, own: dict | None = None):
        super().__init__(own or {})
        self.source, self.index, self.own = source, index, set(own or ())

    def __missing__(self, key):
        column = self.source[key]
        column = column if self.index is None or not np.ndim(column) else column[self.index]
        dict.__setitem__(self, key, column)
        return column

    def __setitem__(self, key, value):  # a column written here (not the source's)
        dict.__setitem__(self, key, value)
        self.own.add(key)

    def __iter__(self):
        return iter(set(self.source) | set(dict.keys(self)))

    def items(self):
        return [(k, self[k]) for k in self]

    def __or__(self, other: dict) -> Gathered:
        """With ``other``'s columns in place of the source's (a treatment)."""
        return Gathered(self.source, self.index, {k: self[k] for k in self.own} | dict(other))

    def take(self, rows: np.ndarray) -> Gathered:
        index = rows if self.index is None else rows + self.index.start if isinstance(self.index, slice) \
            else self.index[rows]
        return Gathered(self.source, index, {k: self[k][rows] if np.ndim(self[k]) else self[k] for k in self.own})


def _lazy(values) -> Gathered:
    return values if isinstance(values, Gathered) else Gathered(values)


class Wave:
    """What an expression reads while the k-th claim of every member is settled (``n`` rows)."""

    __slots__ = ("n", "claim", "member", "given", "acc", "out", "below", "error", "messages", "grp", "_starts",
                 "memo", "hist", "item", "quota", "all", "failed", "anys", "sink")

    def __init__(self, n_rows: int, claim: Table, member: Table, acc: dict, messages: list):
        self.n = n_rows
        self.claim = _lazy(claim.values)
        self.member = _lazy(member.values)
        self.given = {"claim": _lazy(claim.given), "member": _lazy(member.given)}  # record -> field -> mask
        self.acc = acc
        self.out: dict[str, dict[str, np.ndarray]] = {}  # this layer's funds settled so far
        self.below: dict[str, np.ndarray] = {}  # the layer below's results (BaseOutput)
        self.error = np.zeros(n_rows, np.int32)  # 0: fine; else an index into messages (+1)
        self.messages = messages
        self.memo: dict = {}  # comparisons of facts with constants, made once per wave (see Compiler.memo)
        self.grp = None  # rows in (member, date) order: the (member, benefit year) group of each row, or a
        self._starts = None  # function giving it; (where each group starts, each row's group 0, 1, …), or a
        # function giving them (made when first needed)
        self.hist = {}  # history name -> its records (medrules.batch.vhistory.History), the members' lists
        self.item = {}  # history name -> the fields of the record in hand (inside any(NAME, …) and kin)
        self.quota = None  # quotas shared in a household (medrules.batch.vquota.QuotaWave), or None: the own
        self.all = np.ones(n_rows, bool)  # the mask of every row (``m is w.all``: no row to leave out, no ``&``)
        self.failed = False  # some row was refused (``error`` is not all 0)
        self.anys = {}  # id(a memoised mask) -> [the mask, whether it holds anywhere] (see any_of)
        self.sink = None  # (what, name) -> where a result column of this chunk goes in the whole, or None

    def groups(self) -> np.ndarray:
        if callable(self.grp):
            self.grp = self.grp()
        return self.grp

    def running(self, x: np.ndarray, inclusive: bool = False, mask=None, node=None, nonneg: bool = False,
                bound: int | None = None, into=None) -> np.ndarray:
        """Running sums of ``x`` within each (member, benefit year) group, the rows in date order: the sum of
        the rows before (``inclusive``: up to and including) each row: one ``cumsum`` (from 0, one longer) less
        its value at each row's group's first row (int64 wraps of the whole column's sum cancel in the
        difference); a group's sum beyond the exact range is refused row by row. ``bound``: |x| ≤ bound on every row not refused, known
        (no reduction)."""
        if callable(self._starts):
            self._starts = self._starts()
        if self._starts is None:
            g = self.groups()
            first = np.empty(len(g), bool)
            first[:1] = True
            np.not_equal(g[1:], g[:-1], out=first[1:])
            self._starts = group_index(np.flatnonzero(first), len(g))
        starts, first_row = self._starts  # where each group starts; each row's group's first row
        if not (np.ndim(x) and len(x) == self.n):
            x = np.broadcast_to(x, (self.n,))
        if len(starts) > 1:
            total = np.empty(self.n + 1, np.int64)  # total[i]: the sum of the rows before row i
            total[0] = 0
            np.cumsum(x, dtype=np.int64, out=total[1:])
            before = np.take(total, first_row)  # the sum before each row's group
            out = np.subtract(total[1:] if inclusive else total[:-1], before, out=before if into is None else into)
        else:
            out = np.cumsum(x, dtype=np.int64, out=into)
            if not inclusive:
                out -= x
        if bound is not None and bound * len(x) <= LIMIT:
            pass  # no group's sum can leave the exact range
        elif (int(x.max()) if nonneg and np.ndim(x) and len(x) else _largest(x)) * len(x) > LIMIT:  # rarely: a sum
            # could leave the exact range (``nonneg``: x ≥ 0 on every row not refused)
            f = x.astype(np.float64)
            if len(starts) > 1:
                f[starts[1:]] -= np.add.reduceat(x.astype(np.float64), starts)[:-1]
            _check_range(self, mask if mask is not None else np.ones(self.n, bool), np.cumsum(f), node)
        return out

    def fail(self, rows: np.ndarray, message: str) -> None:
        """Rows (a mask) that cannot be settled: their members go to the rejects file."""
        rows = rows & (self.error == 0)
        if rows.any():
            if message not in self.messages:
                self.messages.append(message)
            self.error[rows] = self.messages.index(message) + 1
            self.failed = True

    def merge(self, rows, part: Wave) -> None:
        """The refusals of a wave on the rows ``rows`` of this one (the first refusal of a row stays)."""
        if part.failed:
            self.error[rows] = np.where(self.error[rows] == 0, part.error, self.error[rows])
            self.failed = True

    def any_of(self, mask) -> bool:
        """Some row of ``mask`` holds: asked once per wave for a memoised comparison (``claim.kind ==
        outpatient`` opens three exclusions and a fund's ``applies``)."""
        seen = self.anys.get(id(mask))
        if seen is None or seen[0] is not mask:
            return bool(mask.any())
        if seen[1] is None:
            seen[1] = bool(mask.any())
        return seen[1]

    def into(self, what: str, name: str):
        """Where the result column (``what``: "funds" or "accs") ``name`` of these rows is to be written (a slice
        of the whole result column: the chunk's result is computed there, not copied), or None (a new array)."""
        return None if self.sink is None else self.sink(what, name)

    def record(self, name: str) -> dict:
        return self.claim if name == "claim" else self.member if name == "member" else self.item[name]

    def subset(self, rows: np.ndarray) -> Wave:
        """The same wave on some of its rows (a fund that applies to few claims is settled on those only)."""
        w = Wave.__new__(Wave)
        w.n = len(rows)
        w.claim = self.claim.take(rows)
        w.member = self.member.take(rows)
        w.given = {k: v.take(rows) for k, v in self.given.items()}
        w.acc = _lazy(self.acc).take(rows)  # (the columns a fund reads: gathered when read)
        w.out = {f: _lazy(o).take(rows) for f, o in self.out.items()}
        w.below = _lazy(self.below).take(rows)
        w.error = np.zeros(len(rows), np.int32)
        w.all, w.failed, w.anys, w.sink = np.ones(len(rows), bool), False, {}, None
        w.messages = self.messages
        w.memo = {}
        w.grp = (lambda: self.groups()[rows]) if self.grp is not None else None
        w._starts = None
        w.hist, w.item = self.hist, {k: v.take(rows) for k, v in self.item.items()}
        w.quota = self.quota and self.quota.take(rows)
        return w


def group_index(starts: np.ndarray, n: int) -> tuple:
    """(starts, each row's group's first row) of ``n`` rows whose groups start at ``starts`` (a repeat: a
    cumulative sum of a mask is several times slower)."""
    return starts, np.repeat(starts, np.diff(np.r_[starts, n]))


def everywhere(value, n: int) -> np.ndarray:
    """``value`` on each of ``n`` rows, as a read-only view of one element (what ``np.broadcast_to`` gives, made
    without its argument handling: it is called for every chunk)."""
    one = np.array(value)
    out = np.ndarray((n,), one.dtype, one, 0, (0,))
    out.flags.writeable = False
    return out


def _check_range(w: Wave, mask: np.ndarray, values: np.ndarray, node) -> None:
    bad = mask & (np.abs(values) > LIMIT)
    if bad.any():
        w.fail(bad, f"an amount is too large for exact arithmetic at {_where(node)}")


def _below(a, bound) -> bool:
    """Some value is below ``bound`` (a reduction, not a mask)."""
    return bool(np.min(a) < bound) if np.size(a) else False


def _above(a, bound) -> bool:
    return bool(np.max(a) > bound) if np.size(a) else False


NONE = np.int64(0)  # an accumulator's opening value when none is given (0 for every member)
NOWHERE = np.bool_(False)  # a condition that holds on no row (it broadcasts; testing it reads no column)


def _plus(opening, running: np.ndarray) -> np.ndarray:
    """An accumulator's opening value plus a running sum (no addition when there is no opening)."""
    return running if opening is NONE else opening + running


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


def round_div(num: np.ndarray, den, mode: str, nonneg: bool = False) -> np.ndarray:
    """num / den rounded to an integer the way Decimal's quantize rounds (den > 0); ``nonneg``: num ≥ 0 is
    known (no test)."""
    if not nonneg and _below(num, 0):
        negative = num < 0
        mag = np.abs(num)
    else:
        negative, mag = None, num
    if mode == "half_up" and isinstance(den, int) and den % 2 == 0:  # ties away from zero; half of den is whole
        q = (mag + den // 2) // den
    elif mode == "half_up":
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
    const: bool = False  # reads nothing: the same value on every row, whatever the mask

    def __call__(self, w: Wave, mask: np.ndarray) -> np.ndarray:
        return self.fn(w, mask)


def constant(value, t, node) -> V:
    """A value known when compiling, as a numpy scalar (it broadcasts: no column of the wave's length)."""
    if t.unit in NUMERIC:
        d = Decimal(value)
        scale = min(max(0, -d.as_tuple().exponent), MAX_SCALE)
        iv = int(d.scaleb(scale))
        if Decimal(iv).scaleb(-scale) != d:
            raise _refuse(node, f"the number {value}")
        if abs(iv) > LIMIT:
            raise _refuse(node, f"the number {value}", "amounts beyond 2^62 at their scale are not exact in int64")
        iv = np.int64(iv)
        return V(lambda w, m: iv, scale, node, True)
    if t.unit == "date":
        dn = np.int64(day_number(value))
        return V(lambda w, m: dn, None, node, True)
    if t.unit == "bool":
        b = np.bool_(value)
        return V(lambda w, m: b, None, node, True)
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
                code = np.int64(self.enum_code(e, e.value))
                return V(lambda w, m: code, None, e.node, True)
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
            key = self.memo_key(e.operand) and ("in", self.memo_key(e.operand), tuple(table))
            if table.sum() == 1:  # one member: a comparison is cheaper than a lookup
                code = np.int64(np.flatnonzero(table)[0])
                return V(self.memo(key, lambda w, m: f(w, m) == code), None, e.node)
            return V(self.memo(key, lambda w, m: np.take(table, f(w, m))), None, e.node)
        if isinstance(e, c.Not):
            f = self.expr(e.operand)
            return V(lambda w, m: ~f(w, m), None, e.node)
        if isinstance(e, c.And):
            fs = [self.expr(x) for x in _operands(e, c.And)]  # (a and b) and c: one closure over a, b, c

            def and_fn(w, m):  # true only inside the mask
                result = m
                for f in fs:  # each operand is evaluated only where the ones before it held
                    if result is not w.all and not w.any_of(result):  # false wherever it matters: the rest is
                        return NOWHERE  # not evaluated
                    got = f(w, result)
                    if result is w.all and np.ndim(got):  # (every row: the operand is the conjunction so far)
                        result = got
                    else:
                        result = result & got
                return result
            return V(and_fn, None, e.node)
        if isinstance(e, c.Or):
            fs = [self.expr(x) for x in _operands(e, c.Or)]

            def or_fn(w, m):  # true only inside the mask
                result = np.zeros(w.n, bool)
                sub = m
                for f in fs:
                    if not sub.any():
                        return result
                    result = result | (f(w, sub) & sub)
                    sub = m & ~result
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
                missing = m & ~w.given[record][name]
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
        key = self.memo_key(e.left) and self.memo_key(e.right) and ("cmp", e.op, self.memo_key(e.left),
                                                                    self.memo_key(e.right))
        return V(self.memo(key, lambda w, m: np.asarray(op(left(w, m), right(w, m)), bool)), None, e.node)

    def memo_key(self, e):
        """A key for a fact that is always given, or a constant (None for anything else)."""
        if isinstance(e, c.Fact) and not e.optional:
            return ("fact", e.record, e.field)
        if isinstance(e, (c.Const, c.Param)):
            return ("const", str(e.value), str(self.type(e)))
        return None

    @staticmethod
    def memo(key, fn):
        """A comparison of facts with constants reads no mask: computed once per wave (``claim.kind ==
        outpatient`` in three exclusions and a fund's ``applies``), never changed by its readers."""
        if not key:
            return fn

        def once(w, m):
            found = w.memo.get(key)
            if found is None:
                found = w.memo[key] = fn(w, m)
                if np.ndim(found):
                    w.anys[id(found)] = [found, None]  # (kept alive by the memo: its id is not reused)
            return found
        return once

    def call(self, e: c.Call) -> V:
        if e.func in HISTORY_FUNCTIONS:  # any/every/count/sum/latest/earliest(NAME, …): the member's records
            from medrules.batch.vhistory import over_history
            return over_history(self, e)
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
            return V(lambda w, m: w.given[key[0]][key[1]].copy(), None, e.node)
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


def _operands(e, kind) -> list:
    """The operands of nested ``and`` (or ``or``), in order: lowering writes ``a and b and c`` as
    ``(a and b) and c``; evaluated as one, each operand's mask test is made once."""
    out = []
    for x in e.operands:
        out.extend(_operands(x, kind) if isinstance(x, kind) else [x])
    return out


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
OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")


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
    path: str = "waves"  # running sums (all claims at once) | waves (the k-th claim of every member together)
    why: str = ""  # why this path (shown by VectorProgram.describe)
    year_cap: int | None = None  # running sums: the tightest yearly payment cap (money scale, on the grid)
    outputs: tuple = OUTPUTS  # the outputs computed (those read by a later fund, a layer above or an accumulator)

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def running(self) -> bool:
        return self.path == "running sums"


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
    if f.applies is None:
        return active
    holds = f.applies(w, active)
    return holds if active is w.all and np.ndim(holds) else active & holds


def settle_exclude(f: VFund, w: Wave, active: np.ndarray) -> np.ndarray:
    for exclusion in f.exclusions:  # the first that holds stops the fund
        hit = exclusion(w, active)
        if w.any_of(hit):
            active = active & ~hit
    return active


def settle_base(f: VFund, w: Wave, active: np.ndarray) -> tuple[np.ndarray, int | None]:
    """The base, refused where it is negative; and a bound: 0 ≤ base ≤ bound on every row (None: not known).
    One reduction: the largest base read as unsigned (a negative one reads as beyond 2^63) gives both."""
    base = f.base(w, active)
    if not np.ndim(base):
        if base >= 0:
            return base, int(base)
    elif base.dtype == np.int64 and len(base):
        top = int(base.view(np.uint64).max())
        if top <= LIMIT:
            return base, top
    if _below(base, 0):
        negative = active & (base < 0)
        w.fail(negative, f"fund '{f.name}' would apply to a negative amount ({_where(f.base.node)})")
    return base, None


def settle_deductible(f: VFund, w: Wave, active: np.ndarray, base: np.ndarray, running: bool = False) -> np.ndarray:
    ded = f.plan.deductible
    if ded is None:
        return np.zeros(w.n, np.int64)
    applies = f.deductible_when(w, active) if f.deductible_when is not None else np.ones(w.n, bool)
    amount = f.deductible_amount(w, active)
    if ded.per == "year" and running:  # used = the bases it applied to, clipped at the (group-constant) amount
        used = w.acc[f.plan.deductible_acc]  # the opening value here
        x = base * (applies & active)
        w.acc[f.plan.deductible_acc] = np.minimum(_plus(used, w.running(x, mask=active, node=ded.node)),
                                                  np.maximum(used, amount))
    used = w.acc[f.plan.deductible_acc] if ded.per == "year" else 0
    remaining = np.maximum(0, amount - used)
    return np.minimum(base, remaining) * applies


def settle_cost_cap(f: VFund, w: Wave, active, a0, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Each cost cap ends the payable part at its point; returns (end, above_ceiling)."""
    full_end = end
    for cap, amount in f.cost_caps:
        value = amount(w, active)
        point = a0 + value if cap.per == "claim" else value
        end = np.maximum(start, np.minimum(end, point))
    return end, (full_end - end) if f.cost_caps else NONE


def settle_adjust(f: VFund, w: Wave, active) -> list[tuple[str, np.ndarray, np.ndarray, int, tuple | None]]:
    """(kind, where it holds, amount, its scale, the range of the amount where it holds or None)."""
    out = []
    for kind, amount, when, _op in f.adjusts:
        on = when(w, active)
        on = on if active is w.all and np.ndim(on) else on & active
        out.append((kind, on, amount(w, active), amount.scale, None))
    if out and all(kind == "points" for kind, *_ in out):  # points add: their sum, once for every rate
        scale = max(a[3] for a in out)
        bonus, low, high = None, 0, 0
        for _, on, amount, ascale, _r in out:
            term = rescale(amount, scale - ascale) * on
            bonus = term if bonus is None else bonus + term
            if low is not None and not np.ndim(amount):  # a constant amount: the bonus is within [0, it] (or
                a = int(amount) * 10 ** (scale - ascale)  # [it, 0]) on every row, known without a reduction
                low, high = low + min(0, a), high + max(0, a)
            else:
                low = high = None
        out = [("points", True, bonus, scale, None if low is None else (low, high))]
    return out


def adjusted(f: VFund, w: Wave, active, rate: np.ndarray, scale: int, adjust, node) -> tuple[np.ndarray, int]:
    """A written rate with the adjustments that hold, applied in order; refuses rates outside 0–100%.
    ``active`` may be a function giving the rows (made only when they are needed)."""
    def rows():
        return active() if callable(active) else active
    known = None if np.ndim(rate) else (int(rate), int(rate))  # the rate's range when known without a reduction
    for kind, on, amount, ascale, bounds in adjust:
        if kind == "points":
            target = max(scale, ascale)
            rate = rescale(rate, target - scale) + (rescale(amount, target - ascale) if on is True else
                                                    rescale(amount, target - ascale) * on)
            if known is not None and bounds is not None and on is True:
                up, by = 10 ** (target - scale), 10 ** (target - ascale)
                known = (known[0] * up + bounds[0] * by, known[1] * up + bounds[1] * by)
            else:
                known = None
            scale = target
        else:  # relative: rate × (1 + amount), on the rows where it holds
            one = 10 ** ascale
            rate = multiply(w, rows(), rate, np.where(on, one + amount, one), node)
            scale += ascale
            known = None
    if known is not None and 0 <= known[0] and known[1] <= 10 ** scale:  # a constant rate ± constant points
        return rate, scale
    if _below(rate, 0) or _above(rate, 10 ** scale):  # two reductions; the rows only when some is outside
        outside = rows() & ((rate < 0) | (rate > 10 ** scale))
        w.fail(outside, f"fund '{f.name}' would pay at a rate outside 0%–100% ({_where(node)})")
    return rate, scale


def settle_rate(f: VFund, w: Wave, active, payable) -> list:
    adjust = settle_adjust(f, w, active)
    rate, scale = adjusted(f, w, active, f.rate(w, active), f.rate.scale, adjust, f.plan.pay.node)
    return [(payable, rate, scale)]


def settle_bands(f: VFund, w: Wave, active, a0, start, end, nonneg: bool = False) -> list:
    """The pieces (part, rate, scale) of the claim in each band. ``nonneg``: start and end are known to be ≥ 0 on
    every row not refused (a band from 0 is then clipped at its upper edge only)."""
    adjust = settle_adjust(f, w, active)
    shift = 0 if f.plan.pay.on else a0  # bands without 'on' start at the claim's own zero
    pieces = []
    for lower, upper, rate_expr, band in f.bands:
        # the part of [start, end] inside [lo, hi]: both ends clipped to the band, one pass each (equal to
        # max(0, min(end, hi) − max(start, lo)) as start ≤ end; rows where it is not are refused or inactive)
        lo = lower + shift
        if upper is None:
            part = np.maximum(end, lo) - np.maximum(start, lo)
        elif nonneg and not np.ndim(lo) and lo <= 0:  # (the clip at lo changes nothing)
            hi = upper + shift
            part = np.minimum(end, hi) - np.minimum(start, hi)
        else:
            hi = upper + shift
            part = np.clip(end, lo, hi) - np.clip(start, lo, hi)
        # the rate is asked for where the band holds part of the claim (a part outside it is 0: its rate there
        # is never used); a constant rate needs no mask
        if rate_expr.const:
            rate, scale = adjusted(f, w, lambda part=part: active & (part > 0), rate_expr(w, active),
                                   rate_expr.scale, adjust, band.node)
        else:
            inside = active & (part > 0)
            rate, scale = adjusted(f, w, inside, rate_expr(w, inside), rate_expr.scale, adjust, band.node)
        pieces.append((part, rate, scale))
    return pieces


def settle_flat(f: VFund, w: Wave, active, payable) -> list:
    amount = f.rate(w, active)
    return [(np.minimum(amount, payable), np.ones(w.n, np.int64), 0)]


def settle_payment_cap(f: VFund, w: Wave, active, pieces, R: int, raw, rounding, years: bool = True):
    """Payments stop at the tightest payment cap. Returns (payment at scale M+R, room at scale M or None,
    above_cap at scale M). ``years=False``: as if the fund had no yearly cap (what it would pay)."""
    caps = f.payment_caps if years else tuple(c for c in f.payment_caps if c[0].per not in ("year", "holder"))
    if not caps:
        return raw, None, NONE
    room = None
    for cap, amount in caps:
        if cap.per == "holder" and w.quota is not None:  # the named holders' balances (medrules.batch.vquota)
            own = w.quota.room(cap, amount, w, active)
            room = own if room is None else np.minimum(room, own)
            continue
        value = amount(w, active)
        before = w.acc[f.plan.payments_acc] if cap.per in ("year", "holder") else 0  # holder: the patient's own
        own = np.maximum(0, value - before)
        room = own if room is None else np.minimum(room, own)
    if not np.ndim(room):
        room = np.full(w.n, room, np.int64)
    room_r = rescale(room, R, w, active, f.plan.node)
    limited = active & (raw > room_r)
    paid = np.where(limited, room_r, raw)
    above = above_cap(f, w, limited, room_r, pieces, rounding) if years else NONE
    return paid, room, above


def above_cap(f: VFund, w: Wave, limited, room_r, pieces, rounding, proven: bool = False) -> np.ndarray:
    """The cost beyond the point where payments reach the room (scale M+R), walking the pieces in order,
    on the rows where the room limits the payment. ``proven``: every part × rate (and the whole parts × a
    rate) is known to be within int64's safe range (parts within a known bound, rates within 0–100%)."""
    above = np.zeros(w.n, np.int64)
    rows = np.flatnonzero(limited)
    if len(rows):
        left = room_r[rows]
        beyond = np.zeros(len(rows), np.int64)  # whole pieces above the cap (scale M)
        num = np.zeros(len(rows), np.int64)  # the split piece: (part × rate − room) / rate, at scale M+R over R
        den = np.ones(len(rows), np.int64)
        for part, rate, _scale in pieces:
            part, rate = part[rows], (rate[rows] if np.ndim(rate) else rate)
            exhausted = left <= 0
            beyond += np.where(exhausted, part, 0)
            amount = part * rate if proven else _multiply_rows(w, rows, part, rate, f.plan.node)
            splits = ~exhausted & (amount > left)
            num = np.where(splits, amount - left, num)
            den = np.where(splits, np.maximum(rate, 1), den)
            left = np.where(exhausted, left, np.where(splits, 0, left - amount))
        total = (beyond * den if proven else _multiply_rows(w, rows, beyond, den, f.plan.node)) + num
        above[rows] = rounding(total, den, 0, True)  # total / den is already in units of the money scale (≥ 0)
    return above


def _multiply_rows(w: Wave, rows: np.ndarray, a: np.ndarray, b, node) -> np.ndarray:
    """a × b for the wave's rows ``rows`` (a and b: those rows' values), refusing those rows' products beyond
    int64's safe range."""
    if _largest(a) * _largest(b) > LIMIT:  # rarely: check row by row
        bad = np.abs(np.asarray(a, np.float64) * np.asarray(b, np.float64)) > LIMIT
        if bad.any():
            mask = np.zeros(w.n, bool)
            mask[rows[bad]] = True
            w.fail(mask, f"an amount is too large for exact arithmetic at {_where(node)}")
    return a * b


def settle_rounding(f: VFund, w: Wave, active, paid_raw, R: int, room, base, rounding,
                    nonneg: bool = False, within_base: bool = False) -> np.ndarray:
    """The declared rounding; where it would carry the payment above a payment cap's room or the base,
    the largest amount on the grid within that limit (docs/arithmetic.md). ``nonneg``: the raw payment is
    known to be ≥ 0 on the rows that are not refused (parts ≥ 0 at rates checked to be within 0–100%).
    ``within_base``: the raw payment is known to be at most the base × 10^R and the grid is the money scale's
    unit, so the rounded payment is within the base, and within the room where the room limited it: no test
    (on a row outside ``active`` it is not clamped to the room; such rows are not read)."""
    rounded = rounding(paid_raw, 1, R, nonneg)
    if within_base:
        return rounded
    limit = base if room is None else np.minimum(room, base)
    over = rounded > limit
    if over.any():
        rounded = np.where(over, rounding.within(limit), rounded)
    if not nonneg and _below(rounded, 0):  # (the clamp above keeps it within the room and the base)
        bad = active & (rounded < 0)
        w.fail(bad, f"fund '{f.name}' would pay outside 0 to what it may pay ({_where(f.plan.node)})")
    return rounded


def settle_accumulate(f: VFund, w: Wave, active, base, taken, paid) -> None:
    deltas = {"cost": base, "deductible": taken, "payments": paid}
    for acc in f.plan.accumulates:  # cost, deductible, payments
        w.acc[acc.accumulator] = w.acc[acc.accumulator] + deltas[acc.role] * active


@attrs.frozen
class Rounding:
    """A declared rounding (by the quantum's value) on exact fractions ``num / (den × 10^R)`` of the money
    scale (plan.arith.round_to, column-wise)."""

    mode: str
    quantum: int  # in units of the money scale
    node: object

    def __call__(self, num: np.ndarray, den, R: int, nonneg: bool = False) -> np.ndarray:
        q = round_div(num, den * (10 ** R) * self.quantum, self.mode, nonneg)
        return q * self.quantum if self.quantum != 1 else q

    def within(self, limit: np.ndarray) -> np.ndarray:
        """The largest amount on the grid not above ``limit`` (toward zero)."""
        return round_div(limit, self.quantum, "down") * self.quantum


ROLE_OUTPUT = {"cost": "base", "deductible": "deductible", "payments": "paid"}  # what each role accumulates


def settle_fund(f: VFund, w: Wave, active: np.ndarray, rounding: Rounding, running: bool = False) -> dict:
    """The fund on the wave's rows. ``running``: the rows are all claims in (member, date) order and
    ``w.acc`` holds the opening values of the fund's accumulators; they are settled as running sums
    (exact for this fund: :func:`choose_paths`) and left as the values after each claim."""
    out = zero_outputs(w.n)
    w.out[f.name] = out
    active = settle_applies(f, w, active)
    active = settle_exclude(f, w, active)
    count = int(np.count_nonzero(active)) if w.any_of(active) else 0  # (several times faster than a sum)
    if not count:
        return out
    opening = {a.accumulator: w.acc[a.accumulator] for a in f.plan.accumulates} if running else None
    if count * 2 >= w.n:
        got, done = settle_payment(f, w, active, rounding, running, everyone=count == w.n)
        out.update(got)
        if running:
            for acc in f.plan.accumulates:
                if acc.accumulator not in done:
                    w.acc[acc.accumulator] = _plus(opening[acc.accumulator], w.running(out[ROLE_OUTPUT[acc.role]], True))
        return out
    else:
        rows = np.flatnonzero(active)  # a fund that applies to few of the wave's claims: settle those only
        part = w.subset(rows)
        paid, _ = settle_payment(f, part, part.all, rounding, running, everyone=True)
        for k, v in paid.items():
            if k == "applied":  # (the rows it applies to: ``active``)
                out[k] = active
                continue
            column = w.into("funds", f.name) if k == "paid" else None
            if column is None:
                column = np.zeros(w.n, v.dtype)
            else:
                column[:] = 0
            column[rows] = v
            out[k] = column
        if not running:
            for acc in f.plan.accumulates:
                after = w.acc[acc.accumulator].copy()
                after[rows] = part.acc[acc.accumulator]
                w.acc[acc.accumulator] = after
        w.merge(rows, part)
    if running:  # the value after each claim: the opening plus the running sum of what the fund added
        for acc in f.plan.accumulates:
            into = w.into("accs", acc.accumulator) if opening[acc.accumulator] is NONE else None
            w.acc[acc.accumulator] = _plus(opening[acc.accumulator], w.running(
                out[ROLE_OUTPUT[acc.role]], True, nonneg=acc.role != "cost", into=into))
    return out


def settle_payment(f: VFund, w: Wave, active: np.ndarray, rounding: Rounding, running: bool = False,
                   everyone: bool | None = None):
    """From the base to the accumulators, on the rows where the fund applies: the fund's outputs (those
    read: ``f.outputs``), and (``running``) the accumulators it has brought to their values after each claim.

    ``running``: each accumulator the fund reads is first turned from its opening value into its value
    before each claim: the cost axis a0 as the running sum of bases; the deductible used and the payments
    under a yearly cap as clipped running sums (``min(opening + Σ before, max(opening, cap))``: exact
    because what the fund would take or pay without the cap does not depend on the running total, and
    the room is on the rounding grid).

    Amounts known to be ≥ 0 on every row not refused (a base, once the negative ones are refused; a band's
    part; a rate checked to be within 0–100%) are not tested again: the range checks that refuse int64
    overflow read one bound (``part.max()``, not ``max`` and ``min`` of both factors)."""
    base, top = settle_base(f, w, active)  # top: 0 ≤ base ≤ top on every row (None: not known)
    if everyone is None:
        everyone = bool(active.all())
    counted = base if everyone else base * active  # what the cost accumulator adds
    opening_cost = w.acc[f.plan.cost_acc] if f.plan.cost_acc else None
    if running and f.plan.cost_acc:
        cost = f.plan.cost_acc
        w.acc[cost] = _plus(w.acc[cost], w.running(counted, mask=active, node=f.plan.base.node, nonneg=True,
                                                   bound=top))
    a0 = w.acc[f.plan.cost_acc] if f.plan.cost_acc else np.int64(0)
    taken = settle_deductible(f, w, active, base, running)
    start, end = a0 + taken, a0 + base
    end, above_ceiling = settle_cost_cap(f, w, active, a0, start, end)
    pay = f.plan.pay
    payable = None if isinstance(pay, ops.Bands) and "payable" not in f.outputs else end - start
    if isinstance(pay, ops.Flat):
        pieces = settle_flat(f, w, active, payable)
    elif isinstance(pay, ops.Bands):
        # start and end are ≥ 0 when the base is (0 ≤ taken ≤ base) and the cost axis starts at 0 (no opening)
        axis_from_0 = not f.plan.cost_acc or (running and opening_cost is NONE)
        pieces = settle_bands(f, w, active, a0, start, end, nonneg=top is not None and axis_from_0)
    else:
        pieces = settle_rate(f, w, active, payable)
    R = max(p[2] for p in pieces)
    raw = None
    aligned = []
    flat = isinstance(pay, ops.Flat)  # (a flat amount may be negative: it is refused after rounding)
    # 0 ≤ taken ≤ base, so each part is within 0 and base − taken ≤ base; bands one after the other share it
    # out (their parts add up to at most base − taken): with rates within 0–100%, the payment before rounding
    # is at most base × 10^R, and rounded to the fen it stays within the base (no test of it)
    disjoint = not flat and all(a[1] is not None and a[1] <= b[0] for a, b in zip(f.bands, f.bands[1:]))
    within_base = disjoint and rounding.quantum == 1
    within_peak = disjoint and top is not None and top * 10 ** R <= LIMIT  # parts (and their sum) × rates
    for part, rate, scale in pieces:
        rate = rescale(rate, R - scale)
        aligned.append((part, rate, R))
        if flat or not np.ndim(part):
            product = multiply(w, active, part, rate, f.plan.node)
        else:  # the rate is within 0–10^R (checked by adjusted) and the part ≥ 0: one bound of one factor
            peak = top if top is not None else int(part.max()) if len(part) else 0
            product = multiply(w, active, part, rate, f.plan.node) if peak * 10 ** R > LIMIT else part * rate
        raw = product if raw is None else raw + product
    if running and f.year_cap is not None:
        # what the fund would pay without its yearly caps; the payments before each claim as a clipped running
        # sum of it; and the payment min(would, cap − paid before), which is the kernel's (the room is on the grid)
        would_raw, would_room, _ = settle_payment_cap(f, w, active, aligned, R, raw, rounding, years=False)
        would = settle_rounding(f, w, active, would_raw, R, would_room, base, rounding, not flat, within_base)
        if not everyone:
            would = would * active
        acc = f.plan.payments_acc
        opening = w.acc[acc]
        before = np.minimum(_plus(opening, w.running(would, mask=active, node=f.plan.node, nonneg=not flat,
                                                     bound=None if flat else top)),  # (0 ≤ would ≤ base)
                            np.maximum(opening, f.year_cap))
        w.acc[acc] = before
        room = np.maximum(0, f.year_cap - before)
        paid = np.minimum(would, room, out=w.into("funds", f.name) if everyone else None)
        if would_room is not None:
            room = np.minimum(room, would_room)
        # 0 ≤ room ≤ the yearly cap: × 10^R cannot leave the exact range when the cap × 10^R does not
        room_r = room * 10 ** R if f.year_cap * 10 ** R <= LIMIT else rescale(room, R, w, active, f.plan.node)
        above = above_cap(f, w, (raw > room_r) if everyone else active & (raw > room_r), room_r, aligned,
                          rounding, within_peak) if "above_cap" in f.outputs \
            else None
        w.acc[acc] = np.add(before, paid, out=w.into("accs", acc))
        accumulated = {acc}
    else:
        paid_raw, room, above = settle_payment_cap(f, w, active, aligned, R, raw, rounding)
        paid = settle_rounding(f, w, active, paid_raw, R, room, base, rounding, not flat, within_base)
        if w.quota is not None:
            w.quota.draw(paid * active)
        accumulated = set()
    if not running:
        settle_accumulate(f, w, active, base, taken, paid)
    else:  # the accumulators whose value before each claim was computed: now after it
        for a in f.plan.accumulates:
            if a.role == "cost":
                w.acc[a.accumulator] = np.add(w.acc[a.accumulator], counted, out=w.into("accs", a.accumulator))
            elif a.role == "deductible" and f.plan.deductible.per == "year":
                w.acc[a.accumulator] = w.acc[a.accumulator] + taken * active
            else:
                continue
            accumulated.add(a.accumulator)

    def on(x):
        if everyone:
            return x if np.ndim(x) else np.full(w.n, x, np.int64)
        return x * active  # (× a mask: faster than np.where, exact in int64)
    values = dict(paid=lambda: paid, base=lambda: counted, deductible=lambda: taken, payable=lambda: payable,
                  above_cap=lambda: above, above_ceiling=lambda: above_ceiling, remaining=lambda: base - paid)
    return {k: on(values[k]()) for k in f.outputs} | {"applied": active}, accumulated


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
    waves: str | None = None  # why the whole layer is settled in waves (None: each fund takes its own path)
    recoveries: tuple[V, ...] = ()  # 'recover when …' conditions, in order (the rulebook's own layer reads them)

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

    def describe(self) -> str:
        """How each fund is settled, and why (``medrules settle --explain-plan``; logged at load)."""
        out = []
        for y in self.layers:
            out.append(f"layer {y.plan.id}" + (f" (as {y.prefix})" if y.prefix else "") +
                       (f": waves for every fund, because {y.waves}" if y.waves else ""))
            for f in y.funds:
                out.append(f"  fund {f.name}: " + ("waves" if y.waves else f"{f.path}: {f.why}"))
        from medrules.batch.vquota import plan_note
        out += plan_note(self)
        return "\n".join(out)


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
            raise _refuse(layer.memberships[0].node, "membership routing as one program",
                          "a membership is settled by its routes: medrules settle (or "
                          "medrules.batch.vmember.compile_membership) compiles each scheme's rulebook")
        for f in layer.funds:  # a quota kept per holder: settled here when each claim draws on the patient's own
            for cap in f.payment_caps:
                if cap.per == "holder" and not own_quota_only(layer, f, cap):
                    raise _refuse(cap.node, "this quota kept per holder ('cap … per holder of …', drawn on by a "
                                  "household's claims in date order)", "settle each household with 'medrules run "
                                  "RULEBOOK HOUSEHOLD.json' (the scalar backend; docs/language.md §22.2)")
    M = max([2] + [max(0, -y.rounding.quantum.as_tuple().exponent) for y in plan.layers])
    while True:
        try:
            return _compile_vector(program, plan, M)
        except _NeedScale as need:
            if need.scale > MAX_MONEY_SCALE or need.scale <= M:
                raise _refuse(need.node, f"an amount with {need.scale} decimals",
                              f"amounts of at most {MAX_MONEY_SCALE} decimals are exact in int64") from None
            M = need.scale


def own_quota_only(layer: ops.Layer, f: ops.FundPlan, cap: ops.PaymentCap) -> bool:
    """A cap ``per holder`` whose rows each draw on the patient's own quota (a row naming another holder is
    rejected, :func:`medrules.batch.run.settle_partition`) is the fund's yearly payment cap on the patient's own
    facts, when the fund counts its payments in an accumulator no other fund adds to and the holders are named
    by claim facts."""
    acc = f.payments_acc
    writers = [g for g in layer.funds if any(a.accumulator == acc for a in g.accumulates)]
    return acc is not None and len(writers) == 1 and all(h.record == "claim" for h in cap.holders)


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
        waves, funds = choose_paths(layer, funds, quantum)
        if layer is plan.top:  # no layer above reads its outputs: compute those a fund or an accumulator reads
            read = {(e.fund, e.output) for e in _walk((layer.treatments, layer.exclusions, layer.funds, layer.total), [])
                    if isinstance(e, c.FundOutput)}
            funds = tuple(attrs.evolve(f, outputs=tuple(o for o in OUTPUTS if o == "paid" or (f.name, o) in read or
                                                        o in {ROLE_OUTPUT[a.role] for a in f.plan.accumulates}))
                          for f in funds)
        recoveries = tuple(comp.expr(r.when) for r in layer.recoveries)
        layers.append(VLayer(layer, treatments, exclusions, funds, total,
                             Rounding(layer.rounding.mode, quantum, layer.rounding.node), waves, recoveries))
    for layer in plan.layers:  # a treatment writes the fact it treats
        reads |= {(t.record, t.field) for t in layer.treatments}
    vp = VectorProgram(program, plan, tuple(layers), M, frozenset(reads))
    log.debug("vector backend, %s:\n%s", plan.top.id, vp.describe())
    return vp


# ---------------------------------------------------------------- running sums or waves, per fund, at load
def _walk(x, found: list) -> list:
    """Every core expression node inside an operation (or a tuple of them)."""
    if isinstance(x, c.EXPRESSIONS):
        found.append(x)
        for child in c.children(x):
            _walk(child, found)
    elif isinstance(x, (tuple, list)):
        for y in x:
            _walk(y, found)
    elif attrs.has(type(x)) and type(x).__module__ == ops.__name__:
        for a in attrs.fields(type(x)):
            if a.name not in ("node", "checked"):
                _walk(getattr(x, a.name), found)
    return found


def _accs_read(x) -> set[str]:
    return {e.name for e in _walk(x, []) if isinstance(e, c.Acc)}


def _per_member(x, treated: set) -> bool:
    """The expression has one value for all of a member's claims (constants, parameters, member facts that
    no treatment rewrites per claim)."""
    return all(not isinstance(e, (c.Acc, c.FundOutput, c.BaseOutput)) and
               not (isinstance(e, c.Fact) and (e.record != "member" or e.field in treated)) for e in _walk(x, []))


def _constant(v: V) -> int | None:
    """The value of a compiled expression that reads nothing (None when it reads something)."""
    w = Wave.__new__(Wave)
    w.n, w.claim, w.member, w.given, w.acc, w.out, w.below = 1, {}, {}, {"claim": {}, "member": {}}, {}, {}, {}
    w.error, w.messages, w.grp, w._starts, w.memo = np.zeros(1, np.int32), [], None, None, {}
    w.all, w.failed, w.anys, w.sink = np.ones(1, bool), False, {}, None
    w.hist, w.item = {}, {}
    try:
        return int(np.reshape(v(w, np.ones(1, bool)), -1)[0])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def choose_paths(layer: ops.Layer, funds: tuple[VFund, ...], quantum: int) -> tuple[str | None, tuple[VFund, ...]]:
    """Decide, from the plan, how each fund of a layer is settled (docs/performance.md):

    * **running sums**: all claims at once, in (member, date) order; each accumulator the fund reads becomes
      a grouped cumulative sum (per member and benefit year): the cost axis a0 as a running sum of bases,
      a per-year deductible and the payments under yearly caps as clipped running sums. Exact when nothing
      the fund computes reads its own running totals except through these (its expressions read none of
      its accumulators), the deductible amount is the same for all of a member's claims, and every yearly
      payment cap is a constant on the rounding grid (so rounding never crosses the room);
    * **waves** otherwise: the k-th claim of every member together, the fund's accumulators carried from
      wave to wave.

    The whole layer is settled in waves when a running total is not one fund's alone: an accumulator fed
    by two funds, or read by a rulebook-wide treatment or exclusion or by a fund before the fund that feeds
    it. Returns (why the layer waves or None, the funds with their paths)."""
    writers: dict[str, list[str]] = {}
    for f in layer.funds:
        for a in f.accumulates:
            writers.setdefault(a.accumulator, []).append(f.name)
    shared = sorted(a for a, names in writers.items() if len(names) > 1)
    if shared:
        return f"accumulator '{shared[0]}' is fed by more than one fund or role", funds
    for x in layer.treatments + layer.exclusions:
        fed = sorted(a for a in _accs_read(x) if a in writers)
        if fed:
            what = "treatment" if isinstance(x, ops.Treat) else "exclusion"
            return f"a rulebook-wide {what} ({_where(x.node)}) reads '{fed[0]}', which a fund feeds", funds
    position = {f.name: i for i, f in enumerate(layer.funds)}
    treated = {t.field for t in layer.treatments if t.record == "member"}
    out = []
    for i, f in enumerate(funds):
        plan = f.plan
        reads = _accs_read(plan.operations())
        later = sorted(a for a in reads if a in writers and position[writers[a][0]] > i)
        if later:
            return (f"fund '{f.name}' reads '{later[0]}' before fund '{writers[later[0]][0]}' feeds it "
                    f"({_where(plan.node)})"), funds
        own = sorted(a for a in reads if a in writers and writers[a][0] == f.name)
        why = None
        if own:
            why = f"its expressions read its own running total '{own[0]}'"
        elif plan.deductible is not None and plan.deductible.per == "year" and \
                not _per_member(plan.deductible.amount, treated):
            why = f"its yearly deductible ({_where(plan.deductible.node)}) may differ between a member's claims"
        year_cap = None
        for cap, amount in f.payment_caps:
            if cap.per not in ("year", "holder") or why:
                continue
            value = _constant(amount) if not _walk(cap.amount, []) or all(
                isinstance(e, (c.Const, c.Param, c.Arith, c.Neg, c.Call)) for e in _walk(cap.amount, [])) else None
            if value is None:
                why = f"its yearly payment cap ({_where(cap.node)}) is not a constant"
            elif value < 0 or value % quantum:
                why = f"its yearly payment cap ({_where(cap.node)}) is not on the rounding grid"
            else:
                year_cap = value if year_cap is None else min(year_cap, value)
        if why:
            out.append(attrs.evolve(f, path="waves", why=why))
            continue
        state = [x for x in (plan.cost_acc and "a0 as a running sum of bases",
                             plan.deductible is not None and plan.deductible.per == "year" and
                             "the yearly deductible as a clipped running sum",
                             year_cap is not None and "the yearly payment cap as a clipped running sum") if x]
        out.append(attrs.evolve(f, path="running sums", year_cap=year_cap,
                                why="; ".join(state) if state else "reads no running total"))
    return None, tuple(out)



def with_paths(vp: VectorProgram, path: str) -> VectorProgram:
    """The same program with every fund in waves (``"waves"``) or every layer in waves (``"layer waves"``):
    the paths the backend falls back to, forced, for the differential tests and the benchmark."""
    def layer(y: VLayer) -> VLayer:
        if path == "layer waves":
            return attrs.evolve(y, waves=y.waves or "forced (with_paths)")
        return attrs.evolve(y, funds=tuple(attrs.evolve(f, path="waves", why="forced (with_paths)")
                                           for f in y.funds))
    return attrs.evolve(vp, layers=tuple(layer(y) for y in vp.layers))

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
    recoverable: np.ndarray | None = None  # 'recover': what the funds paid first, recoverable (None: no such clause)


def benefit_year_start(days: np.ndarray, starts: tuple[int, int], bounds: tuple[int, int] | None = None) -> np.ndarray:
    """The first day of the benefit year containing each day (runtime.benefit_year). ``bounds``: the first and
    the last day, when the caller has them."""
    if not len(days):
        return days.copy()
    lo, hi = bounds if bounds is not None else (int(days.min()), int(days.max()))
    if hi - lo < 100_000:  # a table over the days in range: no sort
        table = _year_table(np.arange(lo, hi + 1), starts)
        if table[0] == table[-1]:  # every claim in one benefit year: one value (a view), no column to compare
            return np.broadcast_to(np.int64(table[0]), days.shape)
        return table[days - lo]
    unique, inverse = np.unique(days, return_inverse=True)
    return _year_table(unique, starts)[inverse.reshape(-1)]


def _year_table(days: np.ndarray, starts: tuple[int, int]) -> np.ndarray:
    """The first day of the benefit year of each of these (few, distinct, increasing) days."""
    month, dom = starts
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970

    def start_in(y):
        return ((y - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]") + (dom - 1)
    this, prev = start_in(years), start_in(years - 1)
    return np.where(d < this, prev, this).astype(np.int64)


CHUNK = 1 << 15  # claims settled together: whole members, ~32k claims (a column 256 KB: the work stays in cache)
AUTO = "auto"  # chunks of CHUNK claims when every fund takes running sums; else all at once (waves: a Python
# loop over each member's k-th claim, repeated in every chunk, costs more than the cache saves)


def settle_columns(vp: VectorProgram, member_of: np.ndarray, claims: Table, members: Table,
                   opening: dict[str, np.ndarray] | None = None, histories: dict | None = None,
                   chunk: int | None | str = AUTO) -> Result:
    """Settle every claim. ``member_of[i]`` is claim i's member (a row of ``members``); claims of a member
    are settled in date order, ties in input order. ``opening`` gives year-to-date values (money scale) of
    accumulators, per member, for the year of the member's first claim.

    The claims are sorted by (member, date) once and every column is in that order. A fund on the
    running-sums path (:func:`choose_paths`) is settled on all claims at once; a fund (or a layer) on the
    waves path is settled wave by wave: wave k is the k-th claim of every member that has one.

    A member's claims depend on no other member's, so the sorted claims are settled in chunks of about
    ``chunk`` claims cut between members (None: all at once; ``"auto"``: :data:`CHUNK` when no fund or layer
    of the program takes waves, else all at once): each column of a chunk is small enough to stay in the
    processor's cache from one array operation to the next, where a column of 10^6 claims goes to memory and
    back on every operation (docs/performance.md). The results are the same."""
    if chunk == AUTO:
        chunk = chunk_for(vp)
    n_claims = len(member_of)
    member_of = np.asarray(member_of, np.int64)
    dates = claims.values[vp.dated_by]
    order = None  # None: the claims come in (member, date) order already (checked: no sort, no gathers)
    first_day = dates.min() if n_claims else 0
    last_day = dates.max() if n_claims else 0
    if n_claims and last_day - first_day < 2 ** 31 and member_of.max() < 2 ** 31:  # one key: faster
        if not _in_order(member_of, dates, first_day):
            order = np.argsort(member_of << 32 | (dates - first_day), kind="stable")
    elif n_claims > 1 and not ((member_of[1:] > member_of[:-1]) |
                               ((member_of[1:] == member_of[:-1]) & (dates[1:] >= dates[:-1]))).all():
        order = np.lexsort((np.arange(n_claims), dates, member_of))
    year = benefit_year_start(dates, vp.year_starts, (int(first_day), int(last_day)) if n_claims else None)
    who = member_of if order is None else member_of[order]
    year_sorted = year if order is None or year.strides == (0,) else year[order]
    claim_cols = _only(claims, "claim", vp.reads)
    member_cols = _only(members, "member", vp.reads)
    if histories:  # each row's member, to find its records (medrules.batch.vhistory); one chunk: the records
        from medrules.batch.vhistory import MEMBER  # are read by member row, not cut with the claims
        member_cols.values[MEMBER] = np.arange(len(members), dtype=np.int64)
        chunk = None
    messages: list[str] = []
    cuts = _cuts(who, chunk)
    if len(cuts) == 2:  # one chunk
        funds, total, member_pays, accs, error, recoverable = _settle_chunk(
            vp, slice(0, n_claims), order, who, year_sorted, len(members), claim_cols, member_cols, opening, messages,
            histories)
    else:
        joined: dict = {}  # (what, name) -> the whole column, written chunk by chunk (or the value of all)
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            handed: dict = {}  # (what, name) -> the slice of the whole column given to the chunk to write in
            got = _settle_chunk(vp, slice(a, b), order, who, year_sorted, len(members), claim_cols, member_cols,
                                opening, messages, histories, _sink(joined, handed, a, b, n_claims))
            for what, columns in (("funds", got[0]), ("accs", got[3]),
                                  ("", {"total": got[1], "member_pays": got[2], "error": got[4], "rec": got[5]})):
                for name, column in columns.items():
                    if column is not None and handed.get((what, name)) is not column:  # (else: written there)
                        _put(joined, (what, name), column, a, b, n_claims)
        whole = {k: v if isinstance(v, np.ndarray) else np.broadcast_to(np.array(v[0], v[1]), (n_claims,)) for k, v in joined.items()}
        funds = {name: v for (what, name), v in whole.items() if what == "funds"}
        accs = {name: v for (what, name), v in whole.items() if what == "accs"}
        total, member_pays, error = whole["", "total"], whole["", "member_pays"], whole["", "error"]
        recoverable = whole.get(("", "rec"))
    if order is None:
        order = np.arange(n_claims)
        back = slice(None)
    else:
        back = np.empty(n_claims, np.int64)  # back to the order of the input
        back[order] = np.arange(n_claims)
    codes = error[back]
    errors = np.zeros(n_claims, "U1")  # '' everywhere: nothing failed
    if messages:
        errors = np.full(n_claims, "", object)
        failed = codes > 0
        errors[failed] = np.array(messages, dtype=object)[codes[failed] - 1]
        held = np.isin(member_of, np.unique(member_of[failed])) & ~failed
        errors[held] = "held back: another claim of this member could not be settled"  # the member whole
    return Result(order, year, {k: v[back] for k, v in funds.items()}, total[back], member_pays[back],
                  {k: v[back] for k, v in accs.items()}, errors, vp.money_scale,
                  None if recoverable is None else recoverable[back])


def chunk_for(vp: VectorProgram) -> int | None:
    """The chunk size ``settle_columns`` takes by default: :data:`CHUNK` claims when every fund of every layer
    settles by running sums, else None (all claims at once)."""
    return CHUNK if all(not y.waves and all(f.running for f in y.funds) for y in vp.layers) else None


def _in_order(member_of: np.ndarray, dates: np.ndarray, first_day, step: int = 1 << 16) -> bool:
    """The claims come sorted by (member, date) (members and days below 2^31): the key member·2^32 + day does
    not decrease; tested a slice at a time (overlapping by one row), so that no key column is written."""
    for i in range(0, len(member_of), step):
        j = min(i + step + 1, len(member_of))
        key = member_of[i:j] << 32
        key |= dates[i:j] - first_day
        if not (key[1:] >= key[:-1]).all():
            return False
    return True


def _cuts(who: np.ndarray, chunk: int | None) -> np.ndarray:
    """Where the chunks of about ``chunk`` claims start (and the end): at a member's first claim."""
    n = len(who)
    if chunk is None or n <= chunk:
        return np.array([0, n])
    wanted = np.arange(chunk, n, chunk)
    # members are in order (``who`` does not decrease): the first claim of the member holding each wanted row
    return np.unique(np.r_[0, np.searchsorted(who, who[wanted]), n])


def _sink(joined: dict, handed: dict, a: int, b: int, n: int):
    """Where the chunk of rows a:b writes a result column (int64) as it computes it: rows a:b of the whole
    column (made when first asked for; the rows before hold the value they had so far), so that the chunk's
    column is not copied there afterwards (see ``_put``)."""
    def sink(what: str, name: str) -> np.ndarray:
        key = (what, name)
        have = joined.get(key)
        if not isinstance(have, np.ndarray) or have.dtype != np.int64:
            whole = np.empty(n, np.int64)
            whole[:a] = 0 if have is None else have[0] if not isinstance(have, np.ndarray) else have[:a]
            joined[key] = have = whole
        handed[key] = view = have[a:b]
        return view
    return sink


def _put(joined: dict, key, column: np.ndarray, a: int, b: int, n: int) -> None:
    """A chunk's column into the whole (rows a:b). A column the same value on every row so far is kept as that
    value (most rulebooks leave some accumulators and the error codes untouched): no column is written."""
    have = joined.get(key)
    if not isinstance(have, np.ndarray):
        value = column[0] if column.strides == (0,) else 0 if not column.any() else None
        if value is not None and (have is None or have[0] == value):
            joined[key] = (value, column.dtype)
            return
        whole = np.empty(n, column.dtype)  # (every later chunk writes its rows: only the rows before are filled)
        whole[:a] = 0 if have is None else have[0]
        joined[key] = have = whole
    have[a:b] = column


def _settle_chunk(vp: VectorProgram, part: slice, order, who, year, n_members: int, claim_cols: Table,
                  member_cols: Table, opening, messages: list, histories: dict | None = None, sink=None):
    """The claims ``part`` of the sorted claims (whole members): :func:`settle_rows` on them."""
    index = part if order is None else order[part]
    who = who[part]
    rows = Rows(who, year[part], n_members)
    claim_cols = Table(Gathered(claim_cols.values, index), Gathered(claim_cols.given, index))
    member_cols = Table(Gathered(member_cols.values, who), Gathered(member_cols.given, who))
    starts = {}  # accumulator -> its value before the member's first claim (0 outside the first year)
    for key, values in (opening or {}).items():
        values = np.asarray(values, np.int64)[who]
        starts[key] = np.where(rows.first_year(), values, 0)
    return settle_rows(vp, rows, claim_cols, member_cols, starts, messages, histories or {}, sink=sink)


class Rows:
    """All claims in (member, date) order: where each member's claims and benefit years start, and the
    waves (the k-th claim of every member that has one), made when a fund needs them."""

    def __init__(self, who: np.ndarray, year: np.ndarray, n_members: int):
        n = len(who)
        self.n, self.who, self.n_members = n, who, n_members
        self.new_member = np.empty(n, bool)
        self.new_member[:1] = True
        np.not_equal(who[1:], who[:-1], out=self.new_member[1:])
        self.new_group = self.new_member  # a new member or a new benefit year: accumulators restart
        if year.strides != (0,):  # (one benefit year for all claims: a new member only)
            self.new_group = self.new_member.copy()
            self.new_group[1:] |= year[1:] != year[:-1]
        self.starts = np.flatnonzero(self.new_group)  # where each (member, benefit year) group starts
        self._waves = self._gid = None

    def group_ids(self) -> np.ndarray:
        """Each claim's (member, benefit year) group, numbered in order from 1."""
        if self._gid is None:
            groups = np.arange(1, len(self.starts) + 1, dtype=np.intp)
            self._gid = np.repeat(groups, np.diff(np.r_[self.starts, self.n]))
        return self._gid

    def group_key(self) -> np.ndarray:
        """A number for each claim's (member, benefit year) group, the same on a group's claims and different on
        the next group's: the members' numbers with one benefit year for all claims (no column to compute)."""
        return self.who if self.new_group is self.new_member else self.group_ids()

    def index(self) -> tuple:
        """For :meth:`Wave.running`: (where each group starts, each row's group's first row). With one benefit
        year for all claims a group is a member: the first rows are looked up by the member's number (a table
        as long as the members' numbers span, no repeat)."""
        who = self.who
        if self.new_group is self.new_member and self.n and int(who[-1]) - int(who[0]) < 2 * self.n + 64:
            first = who[0]
            table = np.empty(int(who[-1] - first) + 1, np.intp)
            table[who[self.starts] - first] = self.starts
            return self.starts, np.take(table, who - first)
        return group_index(self.starts, self.n)

    def first_year(self) -> np.ndarray:
        """The claims in their member's first benefit year (where opening values count)."""
        first = np.flatnonzero(self.new_member)
        grp = self.group_ids()
        return grp == np.repeat(grp[first], np.diff(np.r_[first, self.n])) if self.n else self.new_member

    def waves(self) -> list[np.ndarray]:
        """The rows of each wave, its members in the same order from wave to wave (most claims first)."""
        if self._waves is None:
            first = np.flatnonzero(self.new_member)
            counts = np.diff(np.r_[first, self.n])
            by_count = np.argsort(-counts, kind="stable")
            ordered, first = -counts[by_count], first[by_count]
            self._waves = [first[:np.searchsorted(ordered, -k)] + k for k in range(int(counts.max()) if self.n else 0)]
        return self._waves

    def before(self, rows: np.ndarray, opening: np.ndarray, after: np.ndarray) -> np.ndarray:
        """An accumulator before each of a wave's claims: its opening value on a group's first claim, else its
        value after the member's previous claim (the row before, settled in the wave before)."""
        return np.where(self.new_group[rows], opening[rows] if np.ndim(opening) else opening, after[rows - 1])


def settle_rows(vp: VectorProgram, rows: Rows, claim_cols: Table, member_cols: Table, starts: dict, messages,
                histories: dict | None = None, quota=None, sink=None):
    """Every layer on all claims (in (member, date) order): (paid per fund, total, member pays, accumulators
    after each claim, error codes). ``sink(what, name)``: where a result column of these rows may be written
    (``what``: "funds", "accs" or ""; a slice of the whole result column), or None."""
    n = rows.n
    outs: dict[str, np.ndarray] = {}
    accs: dict[str, np.ndarray] = {}
    below = None
    total = np.zeros(n, np.int64)
    paid_sum = None
    error = np.zeros(n, np.int32)
    zero = NONE  # an accumulator without opening values starts at 0 (a scalar: no column to add)
    for layer in vp.layers:
        def key(a, layer=layer):
            return f"{layer.prefix}.{a}" if layer.prefix else a
        w = Wave(n, claim_cols, member_cols, {a: starts.get(key(a), zero) for a in layer.accumulators}, messages)
        w.grp, w._starts = getattr(rows, "group_key", rows.group_ids), rows.index  # (households: their own rows)
        w.hist = histories or {}
        w.quota = quota
        if sink is not None:
            w.sink = lambda what, name, key=key: sink(what, key(name))
        if below is not None:
            w.below = below
        waves = layer.waves or (_off_grid(layer, w.acc) if starts else None)
        if waves:
            log.debug("layer %s in waves: %s", layer.plan.id, waves)
            paid, layer_paid, total = settle_layer_in_waves(layer, w, rows)
        else:
            paid, layer_paid, total = settle_layer(layer, w, rows)
        for f in layer.funds:
            outs[key(f.name)] = paid[f.name]
        for a in layer.accumulators:
            accs[key(a)] = w.acc[a] if np.ndim(w.acc[a]) else everywhere(w.acc[a], n)  # (a view: no column)
        paid_sum = layer_paid if paid_sum is None else paid_sum + layer_paid
        if layer is not vp.layers[-1]:
            below = {"total_cost": total, "paid": layer_paid, "member_pays": total - layer_paid}
            for fname, o in w.out.items():
                below |= {f"{fname}.{k}": v for k, v in o.items() if k != "applied"}
        if w.failed or w.error.any():  # (the flag; the codes too, for a module writing them directly)
            error = np.where(error == 0, w.error, error)
    member_pays = np.subtract(total, paid_sum, out=None if sink is None else sink("", "member_pays"))
    recoverable = None
    if vp.layers[-1].recoveries:  # after the claim is settled, on the rulebook's own layer (settle_recover)
        everyone = np.ones(n, bool)
        held = np.zeros(n, bool)
        for when in vp.layers[-1].recoveries:
            held |= when(w, everyone)
        recoverable = np.where(held, paid_sum, 0)
    if _below(member_pays, 0):
        message = "the funds would pay more than the claim's total cost"
        if message not in messages:
            messages.append(message)
        error = np.where((error == 0) & (member_pays < 0), messages.index(message) + 1, error)
    return outs, total, member_pays, accs, error, recoverable


def _off_grid(layer: VLayer, opening: dict) -> str | None:
    """Opening payments not on the rounding grid make a yearly cap's room leave it: the clipped running sum
    would not be exact, so this run settles the layer in waves."""
    for f in layer.funds:
        if f.running and f.year_cap is not None:
            values = opening[f.plan.payments_acc]
            if (values % layer.rounding.quantum).any():
                return f"the opening '{f.plan.payments_acc}' of some member is not on the rounding grid"
    return None


def _treat_and_exclude(layer: VLayer, w: Wave) -> np.ndarray:
    everyone = w.all
    for record, field, value, when in layer.treatments:
        holds = when(w, everyone)
        if holds.any():
            replaced = np.where(holds, value(w, holds), w.record(record)[field])
            w.memo = {}  # a fact changed: comparisons of it are made again
            if record == "claim":
                w.claim = w.claim | {field: replaced}
            else:
                w.member = w.member | {field: replaced}
    active = everyone
    for exclusion in layer.exclusions:
        hit = exclusion(w, active)
        if w.any_of(hit):  # (most claims meet no exclusion: one reduction, no new mask)
            active = active & ~hit
    return active


def settle_layer(layer: VLayer, w: Wave, rows: Rows):
    """One layer on all claims: each fund on its path. Returns (paid per fund, the layer's paid, total)."""
    active = _treat_and_exclude(layer, w)
    paid = {}
    layer_paid = None
    for f in layer.funds:
        if f.running:
            out = settle_fund(f, w, active, layer.rounding, running=True)
        else:
            out = _fund_in_waves(f, w, active, layer.rounding, rows)
        paid[f.name] = out["paid"]
        if out["paid"] is not out["base"]:  # (zero_outputs: a fund that applied to none of these claims)
            layer_paid = out["paid"] if layer_paid is None else layer_paid + out["paid"]
    if layer_paid is None:
        layer_paid = np.zeros(w.n, np.int64)
    return paid, layer_paid, layer.total(w, w.all)


def _fund_in_waves(f: VFund, w: Wave, active: np.ndarray, rounding: Rounding, rows: Rows) -> dict:
    """One fund wave by wave, on all claims: its accumulators carried from a member's claim to the next."""
    names = [a.accumulator for a in f.plan.accumulates]
    opening = {a: w.acc[a] for a in names}
    after = {a: np.broadcast_to(w.acc[a], (w.n,)).copy() for a in names}
    out = {k: np.zeros(w.n, v.dtype) for k, v in zero_outputs(0).items()}
    for at in rows.waves():
        part = w.subset(at)
        for a in names:
            part.acc[a] = rows.before(at, opening[a], after[a])
        got = settle_fund(f, part, active[at], rounding)
        for k, v in got.items():
            out[k][at] = v
        for a in names:
            after[a][at] = part.acc[a]
        w.merge(at, part)
    w.out[f.name] = out
    w.acc.update(after)
    return out


def settle_layer_in_waves(layer: VLayer, w: Wave, rows: Rows):
    """The whole layer wave by wave (its running totals are not one fund's alone)."""
    opening = dict(w.acc)
    after = {a: np.broadcast_to(v, (w.n,)).copy() for a, v in w.acc.items()}
    outs: dict[str, dict[str, np.ndarray]] = {}
    paid = {f.name: np.zeros(w.n, np.int64) for f in layer.funds}
    layer_paid = np.zeros(w.n, np.int64)
    total = np.zeros(w.n, np.int64)
    for at in rows.waves():
        part = w.subset(at)
        for a in after:
            part.acc[a] = rows.before(at, opening[a], after[a])
        active = _treat_and_exclude(layer, part)
        for f in layer.funds:
            got = settle_fund(f, part, active, layer.rounding)
            paid[f.name][at] = got["paid"]
            layer_paid[at] += got["paid"]
        total[at] = layer.total(part, part.all)
        for fname, o in part.out.items():
            target = outs.setdefault(fname, {k: np.zeros(w.n, v.dtype) for k, v in o.items()})
            for k, v in o.items():
                target[k][at] = v
        for a in after:
            after[a][at] = part.acc[a]
        w.merge(at, part)
    w.out.update(outs)
    w.acc.update(after)
    return paid, layer_paid, total


def _only(table: Table, record: str, reads) -> Table:
    keep = {f for r, f in reads if r == record}
    return Table({k: v for k, v in table.values.items() if k in keep},
                 {k: v for k, v in table.given.items() if k in keep})
