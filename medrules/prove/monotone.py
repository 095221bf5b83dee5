"""Deciding ``monotone`` (more cost never pays less) by structure first, the solver only for the rest.

Asked whole, "the same claim with every money fact at least as large pays the funds together at
least as much" is a hard question for the solver (two settlements, each rounding on its grid, so mixed
integer/real): it timed out on most shipped rulebooks. Yet most of it follows from the shape of the
plan, so this module decides it in three steps and says which one decided it (``Finding.method``):

1. **structural** — an abstract interpretation of the layer marks every expression with its direction
   in the claim's money facts, the other facts and the year-to-date state held fixed (as the twin claim
   of ``monotone`` holds them): ``const`` (does not read them), ``up`` (never smaller on the claim that
   costs more), ``down``, or ``any``. Money facts of the claim are ``up``; ``+``, ``min``, ``max``, a
   product of non-negative ``up`` factors, ``x > c``, ``and``/``or`` keep directions; ``−`` and ``not``
   flip them; a choice among values whose conditions are ``const`` joins them; anything else is ``any``.
   The fund kernel (``medrules.plan``'s docstring, steps a–j) is non-decreasing, with its state fixed,
   in: its applies condition (an inactive fund pays 0, an active one ≥ 0), the base, every cost cap,
   every rate (rates are ≥ 0), a flat amount, every payment cap; and non-increasing in the deductible
   amount and its condition. Why (the kernel lemma): with B the base, rem the deductible left, the pay
   is the integral of a non-negative rate over [a0 + min(B, rem), max(start, min(a0 + B, P))] (P: the
   cost caps' lowest point), which is empty while B ≤ rem and then has a fixed start and a
   non-decreasing end; the payment cap takes a min, the rounding is non-decreasing, and the final
   ``never above the room or the base`` is a min with a non-decreasing grid floor. So a fund whose
   inputs point the right way (and whose state reads — cost axis, deductible used, paid before — are
   ``const``: no earlier fund of the same claim adds to them, or none that applies together with it) pays
   ``up``; a sum of ``up`` payments is ``up``: proved, no solver. ``cost − what a fund paid`` is settled
   by the *moves* of the amounts (claim costing more − claim) as linear terms with what the kernel
   guarantees of them (0 ≤ Δpaid ≤ Δpayable, Δpayable + Δabove_ceiling + Δdeductible = Δbase,
   Δpaid + Δabove_cap ≤ Δpayable on the fen grid; a fund paying its whole base pays Δbase; funds that
   never apply together move one at a time): a linear question, no rounding in it (docs/prove.md).
2. **solver, per fund** — the funds step 1 cannot settle (``cost − what another fund paid``, a fund
   reading an earlier fund's accumulation, a condition on an amount) are the *residual*. The payments of
   the structural funds are ``up``, so it is enough that the residual funds' payments never drop
   together; the solver is asked that, first fund by fund (small questions), then for the residual sum,
   then with the earlier funds they read or share a running total with; each question is split by the
   enumeration facts that choose which funds apply (``claim.kind``…), every case a smaller question with
   its own share of half the time. All unsatisfiable: proved; a model of a question about every fund of
   the layer is a counterexample.
3. **solver, whole** — otherwise the original question (both claims' total), whose model is a
   counterexample the real evaluator replays (``medrules.prove._counterexample``).

A structural verdict is sound only if the rules above are; ``tests/test_prove_monotone.py`` checks
them against deliberately non-monotone rulebooks (each must NOT be marked structural and must fail with
a counterexample) and, with hypothesis, random pairs of claims on every structurally proved rulebook.
"""
from __future__ import annotations

import time
from decimal import Decimal

import attrs

from medrules.plan import core, ops

CONST, UP, DOWN, ANY = "const", "up", "down", "any"
_FLIP = {CONST: CONST, UP: DOWN, DOWN: UP, ANY: ANY}


def join(*signs: str) -> str:
    """The direction of a value that moves as all of ``signs`` together (a sum, a min, an and…)."""
    out = CONST
    for s in signs:
        if s == CONST:
            continue
        if out == CONST:
            out = s
        elif s != out:
            return ANY
    return out


def flip(s: str) -> str:
    return _FLIP[s]


def _within(s: str, *allowed: str) -> bool:
    return s == CONST or s in allowed


@attrs.frozen
class FundSigns:
    name: str
    paid: str
    outputs: dict  # output name -> direction
    why: str = ""  # why the payment is not 'up' (empty when it is)


@attrs.frozen
class LayerSigns:
    layer: str
    funds: tuple[FundSigns, ...]
    total: str  # the direction of the layer's total cost
    total_fen: bool = False  # the total cost is always whole fen

    @property
    def paid(self) -> str:
        return join(*(f.paid for f in self.funds))

    @property
    def residual(self) -> tuple[str, ...]:
        """The funds whose payment is not structurally non-decreasing."""
        return tuple(f.name for f in self.funds if not _within(f.paid, UP))


class _Analysis:
    """Directions of the expressions of one layer, funds in order (a later fund reads what an earlier
    one accumulated on the same claim)."""

    def __init__(self, layer: ops.Layer, below: _Analysis | None, fen_grid: bool = False):
        import z3
        self.z3 = z3
        self.layer, self.below_analysis, self.fen_grid = layer, below, fen_grid
        self.below = below.result if below is not None else None
        # the moves (claim costing more − claim) as linear real terms, and what is known of them
        self.lp: list = below.lp if below is not None else []
        self.d: dict[str, dict] = {}  # fund -> output -> its move
        self.act: dict[str, object] = {}  # fund -> whether it applies (a yes/no the same for both claims)
        self.fresh = below.fresh if below is not None else [0]
        self.active_sign: dict[str, str] = {}
        self.ck = layer.checked
        self.acc = {a.name: CONST for a in layer.accumulators}  # the state: the same for both claims
        self.adds: dict[str, list] = {a.name: [] for a in layer.accumulators}  # (fund, direction) added
        self.active: dict[str, object] = {}  # fund -> the condition under which it applies
        self.current: ops.FundPlan | None = None  # the fund whose kernel is read (see _acc)
        self.outputs: dict[str, dict] = {}
        self.treated: dict[tuple, str] = {}
        for t in layer.treatments:  # read as the value when the condition holds, else as before
            key = (t.record, t.field)
            before = self.treated.get(key, self._fact(t.record, t.field))
            when = self.sign(t.when)
            self.treated[key] = join(self.sign(t.value), before) if when == CONST else ANY
        excluded = join(*(self.sign(x.when) for x in layer.exclusions))
        funds = []
        for f in layer.funds:
            signs = self.fund(f, excluded)
            funds.append(signs)
            self.outputs[f.name] = signs.outputs
            for a in f.accumulates:  # step (i)
                self.acc[a.accumulator] = join(self.acc[a.accumulator], signs.outputs[_ROLE[a.role]])
                self.adds[a.accumulator].append((f.name, signs.outputs[_ROLE[a.role]]))
        total = self.sign(layer.total.expr) if layer.total is not None else CONST
        self.result = LayerSigns(layer.id, tuple(funds), total, layer.total is not None and self.fen(layer.total.expr))

    # -- expressions
    def _fact(self, record: str, field: str) -> str:
        f = self.ck.records.get(record, {}).get(field)
        t = self.ck.field_types.get(f) if f is not None else None
        return UP if record == "claim" and t is not None and t.unit == "money" else CONST

    def sign(self, e) -> str:  # noqa: C901 - one branch per expression kind of medrules.plan.core
        if isinstance(e, (core.Const, core.Param)):
            return CONST
        if isinstance(e, core.Fact):
            return self.treated.get((e.record, e.field), self._fact(e.record, e.field))
        if isinstance(e, core.Acc):
            return self._acc(e.name)
        if isinstance(e, core.FundOutput):
            return self.outputs.get(e.fund, {}).get(e.output, ANY)
        if isinstance(e, core.BaseOutput):
            return self._below(e.key)
        if isinstance(e, core.Neg):
            return flip(self.sign(e.operand))
        if isinstance(e, core.Arith):
            return self._arith(e)
        if isinstance(e, core.Compare):
            a, b = self.sign(e.left), self.sign(e.right)
            if e.op in ("<", "<="):
                a, b = b, a
            if a == CONST and b == CONST:
                return CONST
            if e.op in ("==", "!="):
                return ANY
            if _within(a, UP) and _within(b, DOWN):
                return UP  # left − right never smaller: once it holds, it holds on the claim costing more
            if _within(a, DOWN) and _within(b, UP):
                return DOWN
            return ANY
        if isinstance(e, core.In):
            return CONST if self.sign(e.operand) == CONST else ANY
        if isinstance(e, (core.And, core.Or)):
            return join(*(self.sign(x) for x in e.operands))
        if isinstance(e, core.Not):
            return flip(self.sign(e.operand))
        if isinstance(e, (core.Cases, core.Highest)):
            whens = [self.sign(w) for w, _ in e.cases]
            values = [self.sign(v) for _, v in e.cases] + [self.sign(e.otherwise)]
            if all(w == CONST for w in whens):  # both claims take the same case
                return join(*values)
            return CONST if all(v == CONST for v in values + whens) else ANY
        if isinstance(e, core.Call):
            if e.func in ("min", "max"):
                return join(*(self.sign(x) for x in e.args))
            if e.func == "given":  # whether a fact is there: the same claim
                return CONST
            return CONST if all(self.sign(x) == CONST for x in e.args) else ANY
        return ANY

    def _arith(self, e: core.Arith) -> str:
        a, b = self.sign(e.left), self.sign(e.right)
        if a == CONST and b == CONST:
            return CONST
        if e.op in ("add", "date_add_days"):
            return join(a, b)
        if e.op in ("sub", "date_sub_days", "date_diff"):
            if join(a, flip(b)) == ANY and e.op == "sub":  # 'cost − what a fund paid of it': by the moves
                if self.never_negative(self.delta(e)):
                    return UP
            return join(a, flip(b))
        if e.op == "mul":
            for k, other, s in ((_number(e.left), e.right, b), (_number(e.right), e.left, a)):
                if k is not None:
                    return s if k >= 0 else flip(s)
            if self.nonneg(e.left) and self.nonneg(e.right):
                return join(a, b) if join(a, b) in (UP, DOWN) else ANY
            return ANY
        if e.op == "mul_relpct":
            k = _number(e.right)
            return a if k is not None and k >= -1 else ANY
        if e.op == "div":
            k = _number(e.right)
            return ANY if k is None or k == 0 else (a if k > 0 else flip(a))
        return ANY

    # -- moves as linear terms: the relations that directions lose (what one fund pays of a
    # cost increase plus what the next pays of the rest never exceeds the increase)
    def never_negative(self, move) -> bool:
        """No moves allowed by what is known of them make ``move`` negative (a linear question)."""
        z3 = self.z3
        s = z3.Solver()
        s.set("timeout", 5000)
        s.add(*self.lp, move < 0)
        return s.check() == z3.unsat

    def _var(self, sign: str, name: str | None = None):
        z3 = self.z3
        if name is None:
            self.fresh[0] += 1
            name = f"Δ#{self.fresh[0]}"
        v = z3.Real(name)
        self.lp += {UP: [v >= 0], DOWN: [v <= 0], CONST: [v == 0], ANY: []}[sign]
        return v

    def delta(self, e):  # noqa: C901 - one branch per expression kind
        """The move of ``e`` (a linear term over the moves of the claim's money facts and of the funds'
        outputs), or a fresh move of its direction."""
        z3 = self.z3
        s = self.sign(e) if not (isinstance(e, core.Arith) and e.op == "sub") else None
        if s == CONST:
            return z3.RealVal(0)
        if isinstance(e, core.Fact) and (e.record, e.field) not in self.treated and s == UP:
            return z3.Real(f"Δ{e.record}.{e.field}")  # ≥ 0: _fund_moves asserts it once per fact
        if isinstance(e, core.Arith) and e.op in ("add", "sub") or isinstance(e, core.Neg):
            return z3.Sum([k * self.delta(x) for k, x in _terms(e, 1)])
        if isinstance(e, core.Arith) and e.op == "mul":
            for k, other in ((_number(e.left), e.right), (_number(e.right), e.left)):
                if k is not None:
                    return z3.RealVal(str(k)) * self.delta(other)
        if isinstance(e, core.Call) and e.func in ("min", "max") or \
                isinstance(e, core.Highest) and all(self.sign(w) == CONST for w, _ in e.cases):
            moves = [self.delta(x) for x in (e.args if isinstance(e, core.Call) else
                                             [v for _, v in e.cases] + [e.otherwise])]
            v = self._var(s or ANY)  # the min (max) of values moves between the least and the largest move
            self.lp += [z3.Or([v >= m for m in moves]), z3.Or([v <= m for m in moves])]
            return v
        if isinstance(e, core.Cases) and all(self.sign(w) == CONST for w, _ in e.cases):
            moves = [self.delta(v) for _, v in e.cases] + [self.delta(e.otherwise)]
            v = self._var(s or ANY)  # both claims take the same case
            self.lp.append(z3.Or([v == m for m in moves]))
            return v
        if isinstance(e, core.FundOutput) and e.fund in self.d:
            return self.d[e.fund][e.output]
        if isinstance(e, core.BaseOutput) and self.below_analysis is not None:
            b = self.below_analysis
            paid = z3.Sum([b.d[f.name]["paid"] for f in b.layer.funds]) if b.layer.funds else z3.RealVal(0)
            if e.key == "paid":
                return paid
            if e.key in ("total_cost", "member_pays") and b.layer.total is not None:
                total = b.delta(b.layer.total.expr)
                return total if e.key == "total_cost" else total - paid
            if "." in e.key:
                fund, output = e.key.rsplit(".", 1)
                if fund in b.d:
                    return b.d[fund][output]
        return self._var(s if s is not None else self.sign(e))

    def _fund_moves(self, f: ops.FundPlan, signs: FundSigns, active: str, kind: str):
        """What is known of the moves of a fund's outputs (``kind``: 'identity' — it pays its whole base;
        'lipschitz' — the kernel lemma with 0 ≤ Δpaid ≤ Δpayable, Δpayable + Δabove_ceiling +
        Δdeductible = Δbase, each ≥ 0; '' — only their directions)."""
        z3 = self.z3
        prefix = self.layer.prefix or self.layer.id
        for record, fields in self.ck.records.items():  # every money fact of the claim moves up
            for name, fld in fields.items():
                t = self.ck.field_types.get(fld)
                if record == "claim" and t is not None and t.unit == "money":
                    self.lp.append(z3.Real(f"Δ{record}.{name}") >= 0)
        d = {o: z3.Real(f"Δ{prefix}.{f.name}.{o}") for o in _OUTPUTS}
        self.d[f.name] = d
        zeros = z3.And([v == 0 for v in d.values()])
        if active == CONST:
            act = self.act[f.name] = z3.Bool(f"applies:{prefix}.{f.name}")
            mine = _literals(self.active[f.name])
            for g, other in self.act.items():  # funds that never apply together
                if g != f.name and _eval3(self.active[g], mine) is False:
                    self.lp.append(z3.Not(z3.And(act, other)))
        else:
            act = None
        if kind:
            db = self.delta(f.base.expr)
            if kind == "identity":
                body = [d["paid"] == db, d["payable"] == db, d["remaining"] == 0, d["deductible"] == 0,
                        d["above_ceiling"] == 0, d["above_cap"] == 0]
            else:
                body = [d["payable"] + d["above_ceiling"] + d["deductible"] == db, d["payable"] >= 0,
                        d["above_ceiling"] >= 0, d["deductible"] >= 0, d["paid"] >= 0, d["paid"] <= d["payable"],
                        d["remaining"] == db - d["paid"]]
                body += [d["above_ceiling"] == 0] if not f.cost_caps else []
                # the cost beyond a payment cap: u the point where the pay reaches the room R, p ≤ u ≤ p'
                # the payable costs: R + round(p' − u) − round(raw(p)) < R + (p' − u) − raw(p) + q
                # (two roundings, half_even excepted, err by less than q together) ≤ p' − p + q, as
                # R − raw(p) ≤ u − p (rates ≤ 1); whole quanta both sides: Δpaid + Δabove_cap ≤ Δpayable
                body += [d["above_cap"] >= 0, d["paid"] + d["above_cap"] <= d["payable"]] if f.payment_caps \
                    else [d["above_cap"] == 0]
                body += [d["deductible"] == 0] if f.deductible is None else []
            body.append(d["base"] == db)
            self.lp.append(z3.If(act, z3.And(body), zeros))
            return
        self.lp += [x for o, v in d.items() for x in
                    {UP: [v >= 0], DOWN: [v <= 0], CONST: [v == 0], ANY: []}[signs.outputs.get(o, ANY)]]
        if act is not None:
            self.lp.append(z3.If(act, d["base"] == self.delta(f.base.expr), d["base"] == 0))

    def fen(self, e) -> bool:
        """Whether ``e`` is always a whole number of fen (money facts are; payments on a grid of fen)."""
        k = _number(e)
        if k is not None:
            return (k * 100) % 1 == 0
        if isinstance(e, core.Fact):
            f = self.ck.records.get(e.record, {}).get(e.field)
            t = self.ck.field_types.get(f) if f is not None else None
            return t is not None and t.unit == "money" and (e.record, e.field) not in self.treated
        if isinstance(e, (core.FundOutput, core.Acc)):
            return self.fen_grid
        if isinstance(e, core.BaseOutput):
            return self.fen_grid and (e.key != "total_cost" or self.below is not None and self.below.total_fen)
        if isinstance(e, core.Arith) and e.op in ("add", "sub") or isinstance(e, core.Neg):
            return all(self.fen(x) for _, x in _terms(e, 1))
        if isinstance(e, core.Call) and e.func in ("min", "max"):
            return all(self.fen(x) for x in e.args)
        if isinstance(e, (core.Cases, core.Highest)):
            return all(self.fen(v) for _, v in e.cases) and self.fen(e.otherwise)
        return False

    def nonneg(self, e) -> bool:
        """Whether ``e`` is never negative (the encoding's ranges: money, rates, counts, the state)."""
        k = _number(e)
        if k is not None:
            return k >= 0
        if isinstance(e, core.Fact):
            f = self.ck.records.get(e.record, {}).get(e.field)
            t = self.ck.field_types.get(f) if f is not None else None
            return t is not None and t.unit in ("money", "rate", "count", "days", "months")
        if isinstance(e, (core.Acc, core.FundOutput)):
            return True
        if isinstance(e, core.Arith) and e.op in ("add", "mul"):
            return self.nonneg(e.left) and self.nonneg(e.right)
        if isinstance(e, core.Call) and e.func in ("min", "max"):
            return all(self.nonneg(x) for x in e.args)
        if isinstance(e, (core.Cases, core.Highest)):
            return all(self.nonneg(v) for _, v in e.cases) and self.nonneg(e.otherwise)
        return False

    def _acc(self, name: str) -> str:
        """An accumulator as the fund being read sees it: the state, plus what earlier funds of the same
        claim added — except funds that never apply together with it (their conditions on the same
        enumeration or yes/no facts exclude each other: while this fund applies they added 0)."""
        if name not in self.acc:
            return ANY
        if self.current is None:
            return self.acc[name]
        mine = _literals(self.active[self.current.name])
        return join(*(s for g, s in self.adds[name] if _eval3(self.active[g], mine) is not False))

    def _below(self, key: str) -> str:
        b = self.below
        if b is None:
            return ANY
        if key == "total_cost":
            return b.total
        if key == "paid":
            return b.paid
        if key == "member_pays":
            return join(b.total, flip(b.paid))
        fund, output = key.rsplit(".", 1)
        f = next((x for x in b.funds if x.name == fund), None)
        return f.outputs.get(output, ANY) if f is not None else ANY

    # -- the fund kernel (steps a–j), with the lemma in the module docstring
    def fund(self, f: ops.FundPlan, excluded: str) -> FundSigns:
        # 'applies when X > 0' with X its own base (never negative): while it does not apply, the base is
        # 0 and the kernel pays 0 on it anyway, so the fund reads as one that always applies
        applies = [] if f.applies is None or self._positive_base(f) else [self.sign(f.applies.when)]
        active = join(flip(excluded), *applies, *(flip(self.sign(x.when)) for x in f.excludes))
        self.active[f.name] = core.And(tuple([f.applies.when] if f.applies else []) +
                                       tuple(core.Not(x.when, None) for x in f.excludes), None)
        self.active_sign[f.name] = active
        self.current = f  # from here on, its kernel: accumulators as this fund sees them
        try:
            signs, kind = self._kernel(f, active)
            self._fund_moves(f, signs, active, kind)
            return signs
        finally:
            self.current = None

    def _positive_base(self, f: ops.FundPlan) -> bool:
        w, b = f.applies.when, f.base.expr
        if not (isinstance(w, core.Compare) and w.op == ">" and _number(w.right) == 0 and self.nonneg(b)):
            return False
        x = w.left
        if isinstance(x, core.FundOutput) and isinstance(b, core.FundOutput):
            return (x.fund, x.output) == (b.fund, b.output)
        if isinstance(x, core.Fact) and isinstance(b, core.Fact):
            return (x.record, x.field) == (b.record, b.field)
        if isinstance(x, core.BaseOutput) and isinstance(b, core.BaseOutput):
            return x.key == b.key
        return False

    def _kernel(self, f: ops.FundPlan, active: str) -> FundSigns:
        base = self.sign(f.base.expr)
        state = [self._acc(f.cost_acc)] if f.cost_acc else []
        d_amount = d_when = CONST
        if f.deductible is not None:
            d_amount = self.sign(f.deductible.amount)
            d_when = self.sign(f.deductible.when) if f.deductible.when is not None else CONST
            if f.deductible.per == "year" and f.deductible_acc:
                state.append(self._acc(f.deductible_acc))
        ceilings = [self.sign(c.amount) for c in f.cost_caps]
        rates = []
        pay = f.pay
        if isinstance(pay, ops.Rate):
            rates.append(self.sign(pay.expr))
        elif isinstance(pay, ops.Bands):
            rates += [self.sign(b.rate) for b in pay.bands]
        else:
            rates.append(self.sign(pay.amount))  # a flat amount: min(amount, payable)
        for a in f.adjusts:
            when, amount = self.sign(a.when), self.sign(a.amount)
            rates.append(amount if when == CONST and (a.kind == "points" or amount == CONST) else ANY)
        caps = [self.sign(c.amount) for c in f.payment_caps]
        state += [self._acc(f.payments_acc) for c in f.payment_caps if c.per == "year" and f.payments_acc]
        everything = [active, base, d_amount, d_when, *ceilings, *rates, *caps, *state]
        if all(s == CONST for s in everything):
            return FundSigns(f.name, CONST, dict.fromkeys(_OUTPUTS, CONST)), ""
        why = []
        if not all(s == CONST for s in state):
            why.append("it reads a running total an earlier fund adds to on the same claim")
        if not _within(active, UP):
            why.append("whether it applies depends on an amount the other way")
        if not _within(base, UP):
            why.append("its base can be smaller on a claim costing more")
        if not (_within(d_amount, DOWN) and _within(d_when, DOWN)):
            why.append("its deductible can grow with the cost")
        if not all(_within(s, UP) for s in ceilings):
            why.append("a cost cap can shrink with the cost")
        if not all(_within(s, UP) for s in rates):
            why.append("a rate or amount can shrink with the cost")
        if not all(_within(s, UP) for s in caps):
            why.append("a payment cap can shrink with the cost")
        fixed = all(s == CONST for s in state) and _within(active, UP)
        payable = fixed and _within(base, UP) and _within(d_amount, DOWN) and _within(d_when, DOWN) and \
            all(_within(s, UP) for s in ceilings)
        outputs = dict.fromkeys(_OUTPUTS, ANY)
        outputs["base"] = UP if _within(active, UP) and _within(base, UP) else ANY
        outputs["payable"] = UP if payable else ANY
        outputs["paid"] = UP if not why else ANY
        outputs["deductible"] = UP if fixed and all(_within(s, UP) for s in (base, d_amount, d_when)) else ANY
        if not f.cost_caps:
            outputs["above_ceiling"] = CONST
        elif fixed and _within(base, UP) and all(_within(s, DOWN) for s in (d_amount, d_when, *ceilings)):
            outputs["above_ceiling"] = UP
        # the kernel pays at most what its base grows by (Δpaid ≤ ΔB: rates ≤ 1, a payment cap and the
        # base are mins, and rounding x + k·q = round(x) + k·q when the base moves on the grid q, which
        # half_even does not keep) when only the base moves: then 0 ≤ Δ ≤ ΔB for the payment, what
        # remains, the payable cost, the cost above the ceiling and the deductible taken
        q = f.rounding.quantum
        amounts = [f.base.expr] + ([f.deductible.amount] if f.deductible else []) + \
            [c.amount for c in f.cost_caps + f.payment_caps]
        on_grid = Decimal("0.01") % q == 0 and all(self.fen(x) for x in amounts)
        lipschitz = not why and active == CONST and all(x == CONST for x in everything[2:]) and \
            f.rounding.mode != "half_even" and on_grid
        # a fund that pays its whole base (rate 1, nothing taken or capped) on the grid: paid = base
        identity = active == CONST and on_grid and isinstance(f.pay, ops.Rate) and _number(f.pay.expr) == 1 and \
            not (f.deductible or f.cost_caps or f.payment_caps or f.adjusts) and all(x == CONST for x in state)
        if lipschitz:
            outputs["remaining"] = UP  # Δremaining = Δbase − Δpaid ≥ 0
        kind = "identity" if identity else "lipschitz" if lipschitz else ""
        return FundSigns(f.name, outputs["paid"], outputs, "; ".join(why)), kind


_ROLE = {"cost": "base", "deductible": "deductible", "payments": "paid"}
_OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")


def _terms(e, k):
    """A sum as (coefficient ±1, term) pairs."""
    if isinstance(e, core.Arith) and e.op in ("add", "sub"):
        yield from _terms(e.left, k)
        yield from _terms(e.right, k if e.op == "add" else -k)
    elif isinstance(e, core.Neg):
        yield from _terms(e.operand, -k)
    else:
        yield k, e


def _number(e):
    """The value of a constant or parameter that is a number, else None."""
    if isinstance(e, (core.Const, core.Param)) and not isinstance(e.value, bool):
        try:
            from decimal import Decimal
            return Decimal(e.value) if isinstance(e.value, (int, Decimal)) else None
        except (TypeError, ValueError, ArithmeticError):
            return None
    return None


def _literals(cond, positive: bool = True) -> dict:
    """What a condition says of enumeration and yes/no facts when it holds (``positive``) or fails:
    (record, field) -> ('in' | 'out', a set of values). Only what a conjunction forces; the rest is
    left out (nothing is known of it)."""
    out: dict = {}

    def add(key, kind, values):
        if key in out:  # keep the first: enough to exclude, never wrong
            return
        out[key] = (kind, frozenset(values))

    def walk(e, pos):
        if isinstance(e, core.And) and pos or isinstance(e, core.Or) and not pos:
            for x in e.operands:
                walk(x, pos)
        elif isinstance(e, core.Not):
            walk(e.operand, not pos)
        elif isinstance(e, core.Fact):  # a yes/no fact
            add((e.record, e.field), "in", {pos})
        elif isinstance(e, core.Compare) and e.op in ("==", "!=") and isinstance(e.left, core.Fact) \
                and isinstance(e.right, core.Const):
            add((e.left.record, e.left.field), "in" if (e.op == "==") == pos else "out", {e.right.value})
        elif isinstance(e, core.In) and isinstance(e.operand, core.Fact):
            add((e.operand.record, e.operand.field), "in" if (not e.negated) == pos else "out", e.names)

    walk(cond, positive)
    return out


def _eval3(cond, known: dict):
    """``cond`` given what ``known`` (from :func:`_literals`) says: True, False, or None (not decided)."""
    def fact_in(fact, values):
        k = known.get((fact.record, fact.field))
        if k is None:
            return None
        kind, s = k
        if kind == "in":
            return True if s <= values else False if not (s & values) else None
        return False if values <= s else None

    if isinstance(cond, core.And):
        vals = [_eval3(x, known) for x in cond.operands]
        return False if False in vals else True if all(v is True for v in vals) else None
    if isinstance(cond, core.Or):
        vals = [_eval3(x, known) for x in cond.operands]
        return True if True in vals else False if all(v is False for v in vals) else None
    if isinstance(cond, core.Not):
        v = _eval3(cond.operand, known)
        return None if v is None else not v
    if isinstance(cond, core.Fact):
        return fact_in(cond, frozenset({True}))
    if isinstance(cond, core.Compare) and cond.op in ("==", "!=") and isinstance(cond.left, core.Fact) \
            and isinstance(cond.right, core.Const):
        v = fact_in(cond.left, frozenset({cond.right.value}))
        return v if v is None or cond.op == "==" else not v
    if isinstance(cond, core.In) and isinstance(cond.operand, core.Fact):
        v = fact_in(cond.operand, frozenset(cond.names))
        return v if v is None or not cond.negated else not v
    return None


def analyse(program, layer: ops.Layer) -> LayerSigns:
    """The directions of ``layer``'s fund outputs (a supplementary layer reads the layer below's)."""
    return _analysis(program, layer).result


def _analysis(program, layer: ops.Layer) -> _Analysis:
    layers = program.plan.layers
    i = next(j for j, x in enumerate(layers) if x is layer)
    below = _analysis(program, layers[i - 1]) if i > 0 and layer.alias is not None else None
    fen_grid = all(f.rounding.quantum % Decimal("0.01") == 0 for x in layers for f in x.funds)
    return _Analysis(layer, below, fen_grid)


# ---------------------------------------------------------------- deciding
def decide_monotone(program, layer, enc, twin, crossing, timeout_ms: int, counterexample):
    """The ``monotone`` finding of ``layer`` (``enc``/``twin``: the claim and the one costing more;
    ``crossing``: a condition per declared cliff, true when the two claims lie on either side of it;
    ``counterexample(model)``: the finding a solver model makes)."""
    import z3

    from medrules.prove import Finding, decide
    analysis = _analysis(program, layer)
    signs = analysis.result
    residual = signs.residual
    if not residual:
        ups = [f.name for f in signs.funds if f.paid == UP]
        return Finding(layer.id, None, "monotone", "proved",
                       "structural: every fund's payment is non-decreasing in the claim's money facts"
                       + (f" ({', '.join(ups)})" if ups else " (none reads them)"), method="structural")
    if analysis.never_negative(z3.Sum([analysis.d[f.name]["paid"] for f in layer.funds])):
        return Finding(layer.id, None, "monotone", "proved",
                       f"structural: what {', '.join(residual)} pay moves with what the funds before them "
                       "left, and the moves of all the payments together are never negative (a linear question)",
                       method="structural")
    start = time.monotonic()
    deadline = start + timeout_ms / 2000  # half the time for the residual questions, the rest for the whole
    base = [*enc.pre, *twin.pre, *[z3.Not(x) for x in crossing]]
    drop = {name: twin.funds[name]["paid"] < enc.funds[name]["paid"] for name in residual}
    why = "; ".join(f"{f.name}: {f.why}" for f in signs.funds if f.name in residual)
    structural = [f.name for f in signs.funds if f.name not in residual]
    splits = _splits(enc, layer, residual)
    everything = {f.name for f in layer.funds}
    found = []  # a model of the whole question (a residual question that reads every fund of the layer)

    def holds(goal, funds) -> bool:
        """No model in any case, each case within its share of the time."""
        for case in splits:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                return False
            s, result = decide([*base, *case, goal], min(left, max(2000, timeout_ms // 4)))
            if result == z3.sat and set(funds) == everything:
                found.append(s)
            if result != z3.unsat:
                return False
        return True

    how = None  # 2a. fund by fund (the smallest questions), 2b. the residual funds together
    if len(residual) > 1 and all(holds(drop[name], [name]) for name in residual):
        how = "fund by fund"
    elif holds(_drop(z3, enc, twin, residual), residual):
        how = "fund by fund" if len(residual) == 1 else "the residual funds together"
    elif not found:  # 2c. with the funds they read: 'what the others left' is paid in full only with them
        closure = _closure(layer, residual)
        if len(closure) > len(residual) and holds(_drop(z3, enc, twin, closure), closure):
            how = f"together with {', '.join(n for n in closure if n not in residual)}, whose payments they read"
    if how is not None:
        cases = f"{len(splits)} case" + ("s" if len(splits) != 1 else "")
        return Finding(layer.id, None, "monotone", "proved",
                       (f"structural for {', '.join(structural)}; " if structural else "")
                       + f"solver for {', '.join(residual)} ({how}, {cases}; not structural: {why})",
                       method="structural+solver" if structural else "solver")
    if found:  # the funds asked about are all the layer's: their drop is the claim's
        return attrs.evolve(counterexample(found[0].model()), method="solver")
    # 3. the whole question, with the time left: a model is a counterexample the evaluator replays
    left = max(1000, int((start + timeout_ms / 1000 - time.monotonic()) * 1000))
    goal = z3.And(twin.paid < enc.paid, *[z3.Not(x) for x in crossing])
    s, result = decide([*enc.pre, *twin.pre, goal], left)
    if result == z3.unsat:
        return Finding(layer.id, None, "monotone", "proved", f"solver (whole question; not structural: {why})",
                       method="solver")
    if result == z3.sat:
        return attrs.evolve(counterexample(s.model()), method="solver")
    return Finding(layer.id, None, "monotone", "unknown", f"{s.reason_unknown()} (not structural: {why})",
                   method="solver")


def _drop(z3, enc, twin, funds):
    """The funds together pay less on the claim that costs more."""
    return z3.Sum([twin.funds[n]["paid"] for n in funds]) < z3.Sum([enc.funds[n]["paid"] for n in funds])


def _closure(layer: ops.Layer, names) -> list[str]:
    """The funds ``names`` and every earlier fund of the layer whose outputs they read or that adds to a
    running total they read, in plan order."""
    reads = {}
    for i, f in enumerate(layer.funds):
        accs = _read(f, core.Acc, "name") | {a.accumulator for a in f.accumulates}
        if isinstance(f.pay, ops.Bands) and f.pay.on:
            accs.add(f.pay.on)
        reads[f.name] = _read(f, core.FundOutput, "fund") | \
            {g.name for g in layer.funds[:i] if any(a.accumulator in accs for a in g.accumulates)}
    out, todo = set(names), list(names)
    while todo:
        for g in reads.get(todo.pop(), ()):
            if g not in out:
                out.add(g)
                todo.append(g)
    return [f.name for f in layer.funds if f.name in out]


def _read(x, kind, field: str) -> set[str]:
    """The ``field`` of every ``kind`` expression inside ``x`` (a fund plan)."""
    found = set()

    def walk(y):
        if isinstance(y, kind):
            found.add(getattr(y, field))
        elif isinstance(y, core.EXPRESSIONS):
            for child in core.children(y):
                walk(child)
        elif isinstance(y, (tuple, list)):
            for z in y:
                walk(z)
        elif attrs.has(type(y)) and type(y).__module__ == ops.__name__:
            for a in attrs.fields(type(y)):
                if a.name not in ("node", "checked"):
                    walk(getattr(y, a.name))

    walk(x)
    return found


def _splits(enc, layer: ops.Layer, residual) -> list[list]:
    """Cases of the enumeration facts that decide which residual funds apply (each a list of assertions
    for the solver); one case with no assertion when there is nothing to split on."""
    import itertools
    keys = []
    for f in layer.funds:
        if f.name not in residual:
            continue
        for w in ([f.applies.when] if f.applies else []) + [x.when for x in f.excludes]:
            for fact in _facts(w):
                fld = enc.ck.records.get(fact.record, {}).get(fact.field)
                t = enc.ck.field_types.get(fld) if fld is not None else None
                if t is not None and t.unit == "enum" and (fact.record, fact.field) not in keys:
                    keys.append((fact.record, fact.field))
    cases = [[]]
    for record, field in keys[:2]:  # at most two facts: a few dozen small questions
        v = enc.fact(record, field)  # the treated value when a treatment applies
        t = enc.ck.field_types[enc.ck.records[record][field]]
        members = [enc.codes[m.name] for m in enc.ck.enums[t.enum].members]
        cases = [c + [v == code] for c, code in itertools.product(cases, members)]
    return cases


def _facts(e):
    if isinstance(e, core.Fact):
        yield e
    for child in core.children(e):
        yield from _facts(child)
