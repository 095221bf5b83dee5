"""Prove: properties of every fund for ALL inputs, decided by an SMT solver (z3) on the lowered plan.

``prove(program) -> Report``. Each layer of the plan is encoded once, as the settlement of ONE claim
from ANY year-to-date state: every fact of the member and the claim is a solver variable of its
type (money in whole fen, enumerations as their members, dates as day numbers, yes/no), every
accumulator starts at any amount ≥ 0 (the claims before it, whatever they were), a supplementary
layer reads the layer below settling the same claim. The fund kernel is written exactly as ``medrules.plan``'s
docstring states it — applies, exclusions, base, deductible, cost caps, adjustments, rate / bands /
flat, payment caps, the declared rounding by the quantum's value, never above a cap's room or the
base. It is piecewise linear in the amounts, so the solver decides:

* ``bounds``      0 ≤ paid ≤ base, for every fund;
* ``caps``        paid ≤ the room of every payment cap (amount − paid before);
* ``grid``        paid is on the rounding grid, less than one quantum from the unrounded payment
                  (or the largest grid amount within a cap's room or the base);
* ``member``      the funds together never pay more than the total cost (the member's share, total
                  − funds, is not negative: funds + member = total);
* ``monotone``    more cost never pays less: the same claim and state with every money fact of the
                  claim at least as large pays the funds together at least as much.

A property that fails comes with a counterexample: a facts file (one member, one claim, and the
year-to-date state as ``opening`` values) that ``medrules explain`` runs. The solver's model is
settled by the real evaluator to confirm it; a counterexample the evaluator does not reproduce
(the encoding over-approximates: functions of dates and text facts are free
variables) is reported as unconfirmed, not as a failure.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import attrs

from medrules.plan import core, ops

PROPERTIES = ("bounds", "caps", "grid", "member", "monotone")  # of one claim from any state
YEAR_PROPERTIES = ("year_caps", "year_ceiling", "year_deductible")  # over k claims of a year (prove.year)
CLAIMS_PER_YEAR = 2
MAX_YUAN = 10 ** 9  # amounts the solver may choose (in yuan): far above any cap, below the facts bound
TIMEOUT_MS = 20_000


@attrs.frozen
class Finding:
    layer: str
    fund: str | None  # None: a property of the whole claim (member, monotone)
    prop: str
    status: str  # proved | failed | unconfirmed | unknown; a declared cliff: exempt | warning
    detail: str = ""
    facts: dict | None = None  # a counterexample facts document
    method: str = ""  # monotone: structural | structural+solver | solver (medrules.prove.monotone)


@attrs.frozen
class Report:
    rulebook: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()  # what was not proved and why (a layer that settles no claims)

    @property
    def ok(self) -> bool:
        """No property fails (some may be undecided: 'unknown' or 'unconfirmed')."""
        return all(f.status != "failed" for f in self.findings)

    @property
    def proved(self) -> bool:
        """Every property proved (a drop across a declared cliff is exempt, not a failure)."""
        return all(f.status in ("proved", "exempt") for f in self.findings)


def prove(program, properties=PROPERTIES + YEAR_PROPERTIES, timeout_ms: int = TIMEOUT_MS,
          claims_per_year: int = CLAIMS_PER_YEAR) -> Report:
    """Decide each property of each fund of each layer; ``timeout_ms`` per question to the solver. The
    yearly properties are decided over ``claims_per_year`` claims of one benefit year (below 2: not at all)."""
    findings, notes = [], []
    for layer in program.plan.layers:
        if not layer.funds and layer.total is None:
            notes.append(f"{layer.id}: settles no claims (no fund, no total: a contributions-only rulebook); "
                         "nothing to prove — prove covers the funds that pay claims")
            continue
        if layer.total is None and "member" in properties:
            notes.append(f"{layer.id}: no total cost declared; the member property is not decided")
        findings += _prove_layer(program, layer, properties, timeout_ms)
        if claims_per_year >= 2 and any(p in properties for p in YEAR_PROPERTIES):
            from medrules.prove.year import prove_year
            findings += prove_year(program, layer, claims_per_year, properties, timeout_ms)
    return Report(program.plan.top.id, tuple(findings), tuple(notes))


# ---------------------------------------------------------------- encoding
ROLE_OUTPUT = {"cost": "base", "deductible": "deductible", "payments": "paid"}  # what step (i) adds
_CODES: dict[str, int] = {}  # enumeration member -> its number, the same in every layer's encoding


def _code(name: str) -> int:
    return _CODES.setdefault(name, len(_CODES))


class _Encoding:
    """One claim of one layer as solver terms. ``twin``: a second claim sharing the member, the state and
    every non-money fact, its money claim facts at least as large (for ``monotone``). ``state``: the
    accumulators before the claim (None: any amounts ≥ 0); ``separate``: the claim's facts (and the values
    the encoding does not follow) are its own, the member's are shared by name (a claim of a year,
    :mod:`medrules.prove.year`). ``acc`` is the accumulators as each fund reads them, and after the claim.
    ``below``: the same claim settled by the layer below (its facts are the same solver variables, by
    name), whose outputs this layer reads; None: they are any amounts ≥ 0."""

    def __init__(self, layer: ops.Layer, tag: str = "", twin: _Encoding | None = None, state: dict | None = None,
                 separate: bool = False, below: _Encoding | None = None):
        import z3
        self.z3, self.layer, self.tag, self.twin, self.separate, self.below = z3, layer, tag, twin, separate, below
        self.ck = layer.checked
        self.pre: list = list(below.pre) if below is not None else []  # what the evaluator guarantees or refuses
        self.vars: dict = {} if twin is None else twin.vars
        self.fen: dict = {} if twin is None else dict(twin.fen)
        self.codes = {m.name: _code(m.name) for e in self.ck.enums.values() for m in e.members}
        self.overlay: dict = {}
        self.outputs: dict[str, dict] = {}
        self.acc = dict(state) if state is not None else \
            {a.name: self._money(("acc", self.qualified(a.name))) for a in layer.accumulators}
        self.funds = {}
        excluded = z3.Or([self.bool(x.when) for x in layer.exclusions]) if layer.exclusions else z3.BoolVal(False)
        for t in layer.treatments:  # read as if the fact were the value, when the condition holds
            key = (t.record, t.field)
            self.overlay[key] = z3.If(self.bool(t.when), self.expr(t.value), self.fact(t.record, t.field))
        for fund in layer.funds:
            self.funds[fund.name] = self._fund(fund, excluded)
            out = self.outputs[fund.name]
            for a in fund.accumulates:  # step (i): a later fund reads what this one added
                self.acc[a.accumulator] = self.acc[a.accumulator] + out[ROLE_OUTPUT[a.role]]
        self.total = self.expr(layer.total.expr) if layer.total is not None else None
        self.paid = z3.Sum([f["paid"] for f in self.funds.values()]) if self.funds else z3.RealVal(0)

    def qualified(self, name: str) -> str:
        """An accumulator as the facts file's opening values name it ('basic.inpatient_cost' below)."""
        return f"{self.layer.prefix}.{name}" if self.layer.prefix else name

    def stack(self) -> list:
        """This encoding and the ones below it."""
        out, e = [], self
        while e is not None:
            out.append(e)
            e = e.below
        return out

    # -- variables
    def _money(self, key):
        """A money amount chosen by the solver: whole fen, 0 … MAX_YUAN."""
        z3 = self.z3
        if key in self.fen and not (self.twin is not None and key[0] == "claim"):
            return self.fen[key][1]
        shared = self.separate and key[0] == "member"  # the member's facts: one variable for every claim
        name = "|" + ("" if shared else self.tag) + ".".join(map(str, key)) + "|"
        fen = z3.Int(name)
        value = z3.ToReal(fen) / 100
        self.pre += [fen >= 0, fen <= MAX_YUAN * 100]
        if self.twin is not None and key[0] == "claim" and key in self.twin.fen:
            self.pre.append(fen >= self.twin.fen[key][0])  # more cost: at least as large
        self.fen[key] = (fen, value)
        return value

    def fact(self, record: str, field: str):
        key = (record, field)
        if key in self.overlay:
            return self.overlay[key]
        z3 = self.z3
        f = self.ck.records.get(record, {}).get(field)
        t = self.ck.field_types.get(f) if f is not None else None
        unit = t.unit if t is not None else "text"
        if unit == "money":
            return self._money(key)
        if key in self.vars:
            return self.vars[key]
        name = f"{self.tag}{record}.{field}" if self.separate and record == "claim" else f"{record}.{field}"
        if unit == "bool":
            v = z3.Bool(name)
        elif unit == "enum":
            v = z3.Int(name)
            self.pre.append(z3.Or([v == self.codes[m.name] for m in self.ck.enums[t.enum].members]))
        elif unit == "date":
            v = z3.Int(name)  # a day number (date.toordinal())
            self.pre += [v >= dt.date(1900, 1, 1).toordinal(), v <= dt.date(2100, 12, 31).toordinal()]
            if record == "claim" and field == self.layer.dated_by:
                lo = self.layer.effective_from or dt.date(1900, 1, 1)
                hi = self.layer.effective_to or dt.date(lo.year + 1, lo.month, 1) - dt.timedelta(days=1)
                self.pre += [v >= lo.toordinal(), v <= hi.toordinal()]
        elif unit in ("days", "months", "count"):
            v = z3.Int(name)
            self.pre += [v >= 0, v <= 10_000]
        elif unit in ("rate", "relpct", "points"):
            v = z3.Real(name)
            self.pre += [v >= 0, v <= 1]
        else:  # text, sets: compared only for equality, or read through has(): free
            v = z3.Int(name)
        self.vars[key] = v
        return v

    def member_of(self, record: str, field: str, member: str):
        """Whether the set fact ``record.field`` holds ``member`` (a yes/no of its own)."""
        key = (record, field, member)
        if key not in self.vars:
            tagged = self.separate and record == "claim"
            self.vars[key] = self.z3.Bool(f"{self.tag if tagged else ''}{record}.{field}∋{member}")
        return self.vars[key]

    # -- expressions
    def bool(self, e):
        return self.expr(e)

    def expr(self, e):  # noqa: C901 - one branch per expression kind of medrules.plan.core
        z3 = self.z3
        if isinstance(e, (core.Const, core.Param)):
            return self.value(e.value)
        if isinstance(e, core.Fact):
            return self.fact(e.record, e.field)
        if isinstance(e, core.Acc):
            return self.acc[e.name]
        if isinstance(e, core.FundOutput):
            return self.outputs[e.fund][e.output]
        if isinstance(e, core.BaseOutput):
            if self.below is not None:  # the layer below, settling the same claim
                b = self.below
                if e.key == "total_cost":
                    return b.total
                if e.key == "paid":
                    return b.paid
                if e.key == "member_pays":
                    return b.total - b.paid
                fund, output = e.key.rsplit(".", 1)
                return b.outputs[fund][output]
            return self._money(("below", self.tag, e.key))  # any amount ≥ 0 (its own funds are proved there)
        if isinstance(e, core.Neg):
            return -self.expr(e.operand)
        if isinstance(e, core.Arith):
            a, b = self.expr(e.left), self.expr(e.right)
            if e.op == "add" or e.op == "date_add_days":
                return a + b
            if e.op == "sub" or e.op == "date_sub_days":
                return a - b
            if e.op == "mul":
                return _mul(z3, a, b)
            if e.op == "mul_relpct":
                return _mul(z3, a, 1 + b)
            if e.op == "div":
                self.pre.append(b != 0)  # a division by zero is a located error
                return a / b
            return self.free(e)  # date + months: month lengths vary; over-approximated
        if isinstance(e, core.Compare):
            a, b = self.expr(e.left), self.expr(e.right)
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.op]
        if isinstance(e, core.In):
            x = self.expr(e.operand)
            if not z3.is_int(x) or any(n not in self.codes for n in e.names):
                return self.free(e, z3.BoolSort())
            inside = z3.Or([x == self.codes[n] for n in e.names])
            return z3.Not(inside) if e.negated else inside
        if isinstance(e, core.And):
            return z3.And([self.expr(x) for x in e.operands])
        if isinstance(e, core.Or):
            return z3.Or([self.expr(x) for x in e.operands])
        if isinstance(e, core.Not):
            return z3.Not(self.expr(e.operand))
        if isinstance(e, core.Cases):
            out = self.expr(e.otherwise)
            for when, value in reversed(e.cases):
                out = z3.If(self.expr(when), self.expr(value), out)
            return out
        if isinstance(e, core.Highest):  # the largest value among the cases that hold, else otherwise
            best, found = self.expr(e.otherwise), z3.BoolVal(False)
            for when, value in e.cases:
                w, v = self.expr(when), self.expr(value)
                take = z3.And(w, z3.Or(z3.Not(found), v > best))
                best, found = z3.If(take, v, best), z3.Or(found, w)
            return best
        if isinstance(e, core.Call):
            if e.func in ("min", "max"):  # exact: the arguments share one ordered unit
                pick = _min if e.func == "min" else _max
                args = [self.expr(x) for x in e.args]
                out = args[0]
                for x in args[1:]:
                    out = pick(z3, out, x)
                return out
            if e.func == "has" and isinstance(e.args[0], core.Fact) and \
                    all(isinstance(a, core.Const) and isinstance(a.value, str) for a in e.args[1:]):
                s = e.args[0]  # a set of an enumeration: one yes/no per member, exact
                return z3.Or([self.member_of(s.record, s.field, a.value) for a in e.args[1:]])
            return self.free(e, z3.BoolSort() if e.func in ("given", "has", "any", "every") else None)
        raise AssertionError(f"cannot encode {e!r}")

    def free(self, e, sort=None):
        """A value the encoding does not follow (a function of dates, a set): any value of its sort."""
        z3 = self.z3
        # the same in a twin (a function of the same facts has the same value); a claim's own in a year
        name = f"|{self.tag if self.separate else ''}free{id(e)}|"
        return z3.Const(name, sort) if sort is not None else z3.Real(name)

    def value(self, v):
        z3 = self.z3
        if isinstance(v, bool):
            return z3.BoolVal(v)
        if isinstance(v, (Decimal, int)):
            return z3.RealVal(str(v))
        if isinstance(v, dt.date):
            return z3.IntVal(v.toordinal())
        if isinstance(v, str) and v in self.codes:
            return z3.IntVal(self.codes[v])
        return z3.IntVal(hash(v) % 1_000_003)  # text: equal texts are equal

    # -- the fund kernel (medrules.plan's docstring, steps a–j)
    def _fund(self, f: ops.FundPlan, layer_excluded):
        z3 = self.z3
        zero = z3.RealVal(0)
        active = z3.Not(layer_excluded)
        if f.applies is not None:
            active = z3.And(active, self.bool(f.applies.when))
        for x in f.excludes:
            active = z3.And(active, z3.Not(self.bool(x.when)))
        base = self.expr(f.base.expr)
        self.pre.append(z3.Implies(active, base >= 0))  # a negative base is a located error
        a0 = self.acc[f.cost_acc] if f.cost_acc else zero
        taken = zero
        limits = []  # (role, accumulator, op, amount): the yearly limits, for medrules.prove.year
        if f.deductible is not None:
            d = f.deductible
            used = self.acc[f.deductible_acc] if d.per == "year" and f.deductible_acc else zero
            d_amount = self.expr(d.amount)
            if d.per == "year" and f.deductible_acc:
                limits.append(("deductible", f.deductible_acc, d, d_amount))
            remaining = _max(z3, zero, d_amount - used)
            taken = _min(z3, base, remaining)
            if d.when is not None:
                taken = z3.If(self.bool(d.when), taken, zero)
        start, end = a0 + taken, a0 + base
        full_end = end
        for cap in f.cost_caps:
            amount = self.expr(cap.amount)
            if cap.per == "year" and f.cost_acc:
                limits.append(("cost", f.cost_acc, cap, amount))
            point = a0 + amount if cap.per == "claim" else amount
            end = _max(z3, start, _min(z3, end, point))
        payable = end - start
        adjusts = [(self.bool(a.when), a.kind, self.expr(a.amount)) for a in f.adjusts]

        def adjust(rate):
            for on, kind, amount in adjusts:
                rate = z3.If(on, rate + amount if kind == "points" else _mul(z3, rate, 1 + amount), rate)
            self.pre.append(z3.Implies(active, z3.And(rate >= 0, rate <= 1)))  # else a located error
            return rate

        pay = f.pay
        pieces = []  # (part of the cost, rate): the cost beyond a payment cap walks them in order
        if isinstance(pay, ops.Flat):
            raw = _min(z3, self.expr(pay.amount), payable)
            pieces.append((raw, z3.RealVal(1)))
        elif isinstance(pay, ops.Bands):
            shift = zero if pay.on else a0
            raw = zero
            for band in pay.bands:
                lo = z3.RealVal(str(band.lower)) + shift
                top = end if band.upper is None else _min(z3, end, z3.RealVal(str(band.upper)) + shift)
                part = _max(z3, zero, top - _max(z3, start, lo))
                band_rate = adjust(self.expr(band.rate))
                raw = raw + _mul(z3, part, band_rate)
                pieces.append((part, band_rate))
        else:
            rate = adjust(self.expr(pay.expr))
            raw = _mul(z3, payable, rate)
            pieces.append((payable, rate))
        rooms = []
        for cap in f.payment_caps:
            # a quota per holder is read as the patient's own (the vector backend's reading): a yearly cap
            yearly = cap.per == "year" or cap.per == "holder"
            before = self.acc[f.payments_acc] if yearly and f.payments_acc else zero
            amount = self.expr(cap.amount)
            if yearly and f.payments_acc:
                limits.append(("payments", f.payments_acc, cap, amount))
            rooms.append(_max(z3, zero, amount - before))
        room = None
        capped = raw
        if rooms:
            room = rooms[0]
            for r in rooms[1:]:
                room = _min(z3, room, r)
            capped = z3.If(raw > room, room, raw)
        q = z3.RealVal(str(f.rounding.quantum))
        rounded = q * _round(z3, capped / q, f.rounding.mode)
        limit = base if room is None else _min(z3, room, base)
        within = q * z3.ToInt(limit / q)
        paid = z3.If(rounded > limit, within, rounded)
        out = {"paid": z3.If(active, paid, zero), "base": z3.If(active, base, zero),
               "deductible": z3.If(active, taken, zero), "payable": z3.If(active, payable, zero),
               "above_cap": z3.If(active, _above_cap(z3, f, pieces, raw, room), zero) if rooms else zero,
               "above_ceiling": z3.If(active, full_end - end, zero) if f.cost_caps else zero}
        out["remaining"] = out["base"] - out["paid"]
        self.outputs[f.name] = out
        return {"active": active, "paid": out["paid"], "base": base, "rooms": rooms, "capped": capped,
                "limit": limit, "q": q, "raw_paid": paid, "limits": limits}


def _above_cap(z3, f, pieces, raw, room):
    """The cost beyond a payment cap, exactly as the evaluator's ``cost_beyond``: walking the pieces in
    order, the room each leaves; where it runs out, the part beyond room ÷ rate; then every later
    piece. Rounded by the declared rounding. Zero when the cap does not bind."""
    zero = z3.RealVal(0)
    beyond, used = zero, zero
    for part, rate in pieces:
        left = room - used
        amount = _mul(z3, part, rate)
        beyond = beyond + z3.If(left <= 0, part, z3.If(amount <= left, zero, part - _div(z3, left, rate)))
        used = used + amount
    q = z3.RealVal(str(f.rounding.quantum))
    return z3.If(raw > room, q * _round(z3, beyond / q, f.rounding.mode), zero)


def _div(z3, a, b):
    """a ÷ b, distributing over choices of b (a rate chosen by cases)."""
    if z3.is_app_of(b, z3.Z3_OP_ITE):
        c, x, y = b.children()
        return z3.If(c, _div(z3, a, x), _div(z3, a, y))
    return a / b


def _mul(z3, a, b):
    """a × b, distributing over choices so that a rate chosen by cases stays linear."""
    if z3.is_app_of(a, z3.Z3_OP_ITE):
        c, x, y = a.children()
        return z3.If(c, _mul(z3, x, b), _mul(z3, y, b))
    if z3.is_app_of(b, z3.Z3_OP_ITE):
        c, x, y = b.children()
        return z3.If(c, _mul(z3, a, x), _mul(z3, a, y))
    return a * b


def _min(z3, a, b):
    return z3.If(a <= b, a, b)


def _max(z3, a, b):
    return z3.If(a >= b, a, b)


def _round(z3, x, mode: str):
    """x (≥ 0) rounded to a whole number by the declared mode."""
    if mode == "down":
        return z3.ToInt(x)
    if mode == "up":
        return -z3.ToInt(-x)
    if mode == "half_up":
        return z3.ToInt(x + z3.RealVal("0.5"))
    f = z3.ToInt(x)  # half_even
    frac = x - f
    return z3.If(frac > z3.RealVal("0.5"), f + 1, z3.If(frac < z3.RealVal("0.5"), f, z3.If(f % 2 == 0, f, f + 1)))


# ---------------------------------------------------------------- deciding
def _encode(program, layer: ops.Layer, tag: str = "", twin: _Encoding | None = None) -> _Encoding:
    """One claim of ``layer``, settled first by every layer below it (a supplementary rulebook reads the
    base scheme's results for the same claim)."""
    layers = program.plan.layers
    i = next(j for j, x in enumerate(layers) if x is layer)
    below = None
    if i > 0 and layer.alias is not None:
        below = _encode(program, layers[i - 1], tag, twin.below if twin is not None else None)
    return _Encoding(layer, tag=tag, twin=twin, below=below)


def _prove_layer(program, layer: ops.Layer, properties, timeout_ms: int) -> list[Finding]:
    import z3
    enc = _encode(program, layer)
    goals = []  # (fund, property, the negation: a counterexample satisfies it)
    for name, f in enc.funds.items():
        if "bounds" in properties:
            goals.append((name, "bounds", z3.And(f["active"], z3.Or(f["paid"] < 0, f["paid"] > f["base"]))))
        if "caps" in properties:
            for i, room in enumerate(f["rooms"]):
                goals.append((name, "caps", z3.And(f["active"], f["paid"] > room)))
        if "grid" in properties:
            off = z3.Or(f["raw_paid"] - f["capped"] >= f["q"], f["capped"] - f["raw_paid"] >= f["q"])
            grid_ok = z3.Or(f["raw_paid"] == f["q"] * z3.ToInt(f["limit"] / f["q"]), z3.Not(off))
            goals.append((name, "grid", z3.And(f["active"], z3.Not(grid_ok))))
    if "member" in properties and enc.total is not None:
        goals.append((None, "member", enc.paid > enc.total))
    twin = None
    cliffs = [(fund, c) for fund in layer.funds for c in fund.cliffs]
    if "monotone" in properties:
        twin = _encode(program, layer, tag="more.", twin=enc)
        crossing = [(fund, c, enc.bool(c.when) != twin.bool(c.when)) for fund, c in cliffs]
        # more cost never pays less, except across a declared cliff (the two claims on either side of it):
        # by structure first, the solver for the rest (medrules.prove.monotone)
        goals.append((None, "monotone", None))
        for fund, c, crossed in crossing:  # each declared cliff: is there a drop across it at all?
            goals.append((fund.name, "cliff", z3.And(twin.paid < enc.paid, crossed)))
    findings = []
    for fund, prop, negation in goals:
        if prop == "monotone":
            from medrules.prove.monotone import decide_monotone
            findings.append(decide_monotone(
                program, layer, enc, twin, [x for _, _, x in crossing], timeout_ms,
                lambda model: _counterexample(program, layer, enc, twin, model, None, "monotone")))
            continue
        extra = twin.pre if prop in ("monotone", "cliff") else []
        s, result = decide([*enc.pre, *extra, negation], timeout_ms)
        if prop == "cliff":
            findings.append(_cliff_finding(program, layer, enc, twin, s, result, fund, cliffs))
        elif result == z3.unsat:
            findings.append(Finding(layer.id, fund, prop, "proved"))
        elif result == z3.sat:
            findings.append(_counterexample(program, layer, enc, twin if prop == "monotone" else None, s.model(),
                                            fund, prop))
        else:
            findings.append(Finding(layer.id, fund, prop, "unknown", s.reason_unknown()))
    return findings


def decide(assertions, timeout_ms: int):
    """(solver, sat | unsat | unknown) for the assertions, within ``timeout_ms`` in all.

    The solver's time on these questions (rounding makes them mixed integer/real) is heavy-tailed:
    measured on tests/prove/declared-cliff.mr's monotone, 6 random seeds of 8 answer in 0.05–0.4 s and
    2 do not answer in 5 s. So the time is spent in two short restarts with fresh seeds (1 s, 2 s), then
    the rest in one run, alternating z3's default solver and a simplify / solve-eqs / smt pipeline."""
    import time

    import z3
    deadline = time.monotonic() + timeout_ms / 1000
    slice_ms, seed, last = 1000, 0, None
    while last is None or time.monotonic() < deadline:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        s = z3.Solver() if seed % 2 == 0 else z3.Then("simplify", "solve-eqs", "smt").solver()
        s.set("timeout", min(slice_ms, left))
        s.set("random_seed", seed)
        s.add(*assertions)
        result = s.check()
        if result != z3.unknown:
            return s, result
        # two short restarts, then the rest of the time in one run (a question that needs a long search
        # still gets it)
        last, seed, slice_ms = s, seed + 1, (slice_ms * 2 if seed < 1 else timeout_ms)
    return last, z3.unknown


def cliff_citation(layer: ops.Layer, cliff: ops.Cliff) -> str:
    """'§ 文号 article “quote”' of a declared cliff (the checker made its citation required)."""
    c = cliff.node.citation
    source = layer.checked.sources.get(c.source)
    doc = source.number if source is not None and source.number else c.source
    return f"§ {doc}" + (f" {c.article}" if c.article else "") + f" “{c.quote}”"


def _cliff_finding(program, layer, enc, twin, solver, result, fund, cliffs) -> Finding:
    """A declared cliff: 'exempt' when a claim costing more is paid less across it (the evaluator agrees),
    'warning' when prove finds no such drop (a cliff declared where there is none)."""
    import z3
    cliff = next(c for f, c in cliffs if f.name == fund)
    cites = cliff_citation(layer, cliff)
    where = f"{cliff.node.span.file}:{cliff.node.span.line}"
    if result == z3.unsat:
        return Finding(layer.id, fund, "cliff", "warning",
                       f"a cliff is declared at {where}, but more cost never pays less across it: "
                       "remove the declaration, or check its condition")
    if result != z3.sat:
        return Finding(layer.id, fund, "cliff", "unknown", solver.reason_unknown())
    found = _counterexample(program, layer, enc, twin, solver.model(), fund, "monotone")
    if found.status != "failed":  # the evaluator did not reproduce the drop
        return Finding(layer.id, fund, "cliff", "unconfirmed", f"declared cliff at {where}; {found.detail}",
                       found.facts)
    return Finding(layer.id, fund, "cliff", "exempt", f"declared cliff, exempt ({cites}): {found.detail}",
                   found.facts)


def _counterexample(program, layer, enc: _Encoding, twin, model, fund, prop) -> Finding:
    docs = [_facts_doc(program, layer, e, model) for e in ([enc] + ([twin] if twin else []))]
    confirmed, detail = _confirm(program, layer, docs, fund, prop)
    return Finding(layer.id, fund, prop, "failed" if confirmed else "unconfirmed", detail,
                   docs[-1] if prop == "monotone" else docs[0])


def _facts_doc(program, layer, enc: _Encoding, model) -> dict:
    """The solver's model as a facts file: one member, one claim, the state as opening values."""
    z3 = enc.z3
    ck = program.checked
    stack = enc.stack()  # a fact the layer below reads is the same solver variable there
    fens = {k: v for e in reversed(stack) for k, v in e.fen.items()}
    variables = {k: v for e in reversed(stack) for k, v in e.vars.items()}
    names = {c: m for m, c in _CODES.items()}
    doc = {"member": {}, "claims": [{}]}
    for record, target in (("member", doc["member"]), ("claim", doc["claims"][0])):
        for name, field in ck.records.get(record, {}).items():
            t = ck.field_types.get(field)
            key = (record, name)
            if name == "id":
                target[name] = "C1" if record == "claim" else "M1"
                continue
            unit = t.unit if t is not None else "text"
            if unit == "money":
                fen, _ = fens.get(key, (None, None))
                v = model.eval(fen, model_completion=True).as_long() if fen is not None else 0
                target[name] = str((Decimal(v) / 100).quantize(Decimal("0.01")))
                continue
            if unit == "set":  # the members the solver put in it
                members = [m.name for m in ck.enums[t.enum].members if (record, name, m.name) in variables
                           and z3.is_true(model.eval(variables[(record, name, m.name)], model_completion=True))]
                if members or field not in ck.optional:
                    target[name] = members
                continue
            var = variables.get(key)
            if var is None:
                if field in ck.optional:
                    continue
                if unit == "enum":
                    target[name] = ck.enums[t.enum].members[0].name
                    continue
                if unit == "date":
                    target[name] = (layer.effective_from or dt.date(2012, 1, 1)).isoformat()
                    continue
                target[name] = {"bool": False, "text": "x", "days": 0, "months": 0, "count": 0}.get(unit, "0")
                if unit in ("rate", "relpct"):
                    target[name] = "0%"
                elif unit == "points":
                    target[name] = "0 points"
                continue
            value = model.eval(var, model_completion=True)
            if unit == "bool":
                target[name] = z3.is_true(value)
            elif unit == "enum":
                code = value.as_long()
                target[name] = names[code]
            elif unit == "date":
                target[name] = dt.date.fromordinal(value.as_long()).isoformat()
            elif unit in ("days", "months", "count"):
                target[name] = value.as_long()
            elif unit in ("rate", "relpct"):
                target[name] = f"{_decimal(value) * 100}%"
            elif unit == "points":
                target[name] = f"{_decimal(value) * 100} points"
            else:
                target[name] = "x"
    opening = {}
    for e in stack:  # every layer's year-to-date state, named as the top rulebook names it
        for name in (e.qualified(a.name) for a in e.layer.accumulators):
            if ("acc", name) not in e.fen:  # a claim of a year: the state is what the claims before it left
                continue
            fen, _ = e.fen[("acc", name)]
            amount = Decimal(model.eval(fen, model_completion=True).as_long()) / 100
            if amount:
                opening[name] = str(amount.quantize(Decimal("0.01")))
    if opening:
        doc["opening"] = opening
    return doc


def _decimal(value) -> Decimal:
    frac = value.as_fraction()
    return (Decimal(frac.numerator) / Decimal(frac.denominator)).quantize(Decimal("0.000001")).normalize()


def _confirm(program, layer, docs, fund, prop) -> tuple[bool, str]:
    """Settle the counterexample with the real evaluator: does it show the property failing?"""
    from medrules.diagnostics import MedrulesError
    from medrules.evaluate import settle
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    results = []
    for i, doc in enumerate(docs):
        try:
            facts = facts_from_source(SourceFile(f"counterexample-{i + 1}.json", json.dumps(doc)), program.checked)
            results.append(settle(program, facts).claims[0])
        except MedrulesError as exc:
            d = exc.diagnostics[0]
            if d.code == "evaluate":  # the settlement failed closed on this input: a real finding
                return True, f"the settlement refuses it: {d.message}"
            return False, f"not reproduced: {d.code}: {d.message}"
    prefix = layer.prefix + "." if layer.prefix else ""
    c = results[0]
    if prop == "member":
        ok = c.member_pays >= 0
        return (not ok), f"funds {c.funds_paid} > total {c.total_cost}" if not ok else "not reproduced"
    if prop == "monotone":
        more = results[1]
        ok = more.funds_paid >= c.funds_paid
        return (not ok), (f"a claim costing more ({more.total_cost} ≥ {c.total_cost}) is paid {more.funds_paid} "
                          f"< {c.funds_paid}") if not ok else "not reproduced"
    f = next((x for x in c.funds if x.fund == prefix + fund), None)
    if f is None:
        return False, "not reproduced"
    if prop == "bounds":
        ok = 0 <= f.paid <= f.base
        return (not ok), f"paid {f.paid} on a base of {f.base}" if not ok else "not reproduced"
    return False, f"paid {f.paid} (the evaluator checks this property itself, and did not refuse it)"


# ---------------------------------------------------------------- rendering
def report_text(report: Report) -> str:
    counts = {k: sum(f.status == k for f in report.findings)
              for k in ("proved", "exempt", "failed", "unconfirmed", "unknown", "warning")}
    undecided = any(f.status in ("unconfirmed", "unknown") for f in report.findings)
    verdict = ("nothing to prove" if not report.findings else "every property holds for all inputs"
               if report.proved else "some properties FAIL" if not report.ok
               else "no property fails; some are undecided" if undecided else "no property fails; see the warnings")
    lines = [f"medrules prove {report.rulebook}: {verdict}"
             + (" — " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) if report.findings else "")]
    lines += [f"  · {note}" for note in report.notes]
    for f in report.findings:
        where = f"{f.layer} · {f.fund}" if f.fund else f"{f.layer} · every fund of the claim"
        mark = {"proved": "✓", "failed": "✗", "unconfirmed": "?", "unknown": "?", "exempt": "○", "warning": "!"}[f.status]
        lines.append(f"  {mark} {where}: {f.prop} — {f.status}" + (f" ({f.detail})" if f.detail else ""))
        if f.facts is not None and f.status in ("failed", "exempt"):
            lines.append("    counterexample (save as a facts file, then: medrules explain RULEBOOK FILE):")
            lines += ["    " + x for x in json.dumps(f.facts, ensure_ascii=False, indent=2).splitlines()]
    return "\n".join(lines)


def report_json(report: Report) -> dict:
    return {"schema": "medrules.proof/1", "rulebook": report.rulebook, "ok": report.ok, "notes": list(report.notes),
            "findings": [{"layer": f.layer, "fund": f.fund, "property": f.prop, "status": f.status,
                          "detail": f.detail, "counterexample": f.facts}
                         | ({"method": f.method} if f.method else {}) for f in report.findings]}
