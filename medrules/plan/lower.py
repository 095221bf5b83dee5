"""Lowering: a checked rulebook (and the ones it layers on) -> :class:`~medrules.plan.ops.Plan`.

Names are resolved to slots from the checker's tables, binary operations chosen by unit, parameters
folded to their values (``overrides`` first replaces some), and band edges folded with them, so an
override of a parameter that a band edge is written with moves the band.
"""
from __future__ import annotations

from decimal import Decimal

from medrules import nodes as n
from medrules.diagnostics import MedrulesError, error
from medrules.plan import core as c
from medrules.plan import ops
from medrules.plan.contribution import lower_contributions
from medrules.plan.fold import NotConstant, value

ZERO = Decimal(0)


def lower(checked, overrides: dict | None = None) -> ops.Plan:
    """Lower a checked rulebook. ``overrides`` maps a parameter name to a value; a name of a layer
    below is written as the top rulebook writes it (``basic.inpatient_deductible``)."""
    overrides = dict(overrides or {})
    chain, ck, prefix = [], checked, ""
    while ck is not None:
        chain.append((ck, prefix))
        if ck.base is not None:
            prefix = f"{prefix}.{ck.alias}" if prefix else ck.alias
        ck = ck.base
    mine = {name for ck, p in chain for name in ([f"{p}.{x}" if p else x for x in ck.parameters])}
    unknown = sorted(set(overrides) - mine)
    if unknown:
        raise MedrulesError(error("plan", f"no parameter named '{unknown[0]}' in rulebook '{checked.id}'", None,
                                  "parameters of a scheme this one layers on are named 'alias.NAME'"))
    layers = []
    for ck, p in reversed(chain):
        own = {k[len(p) + 1:] if p else k: v for k, v in overrides.items()
               if (k.startswith(p + ".") if p else True) and "." not in (k[len(p) + 1:] if p else k)}
        layers.append(_Lowerer(ck, own).layer(p))
    return ops.Plan(tuple(layers), overrides)


def parameter_value(checked, name: str, overrides: dict | None = None):
    """A parameter's folded value (after ``overrides`` of this rulebook's own parameters)."""
    return _Lowerer(checked, dict(overrides or {})).parameter(name)


class _Lowerer:
    def __init__(self, ck, overrides: dict):
        self.ck = ck
        self.overrides = overrides
        self.params: dict[str, object] = {}
        self.first = 1 if ck.rulebook.header.day_count == "inclusive" else 0

    # -- parameters, folded in dependency order (the checker refused cycles)
    def parameter(self, name: str):
        if name not in self.params:
            if name in self.overrides:
                self.params[name] = self.overrides[name]
            else:
                self.params[name] = self.constant(self.ck.parameters[name].value)
        return self.params[name]

    def constant(self, e: n.Expr):
        try:
            return value(self.expr(e))
        except ZeroDivisionError:
            raise MedrulesError(error("evaluate", "division by zero in a constant", e.span)) from None
        except NotConstant:
            raise MedrulesError(error("plan", "this value must be a constant (parameters and literals only)",
                                      e.span)) from None

    # -- expressions
    def expr(self, e: n.Expr):  # noqa: C901 - one dispatch over expression kinds
        if isinstance(e, n.Literal):
            return c.Const(e.value, e)
        if isinstance(e, n.Ref):
            return self.ref(e)
        if isinstance(e, n.Unary):
            return c.Neg(self.expr(e.operand), e)
        if isinstance(e, n.Binary):
            return c.Arith(self.arith_op(e), self.expr(e.left), self.expr(e.right), e)
        if isinstance(e, n.Comparison):
            return c.Compare(e.op, self.expr(e.left), self.expr(e.right), e)
        if isinstance(e, n.Membership):
            return c.In(self.expr(e.operand), frozenset(e.names), e.negated, e)
        if isinstance(e, n.Logic):
            operands = tuple(self.expr(x) for x in e.operands)
            if e.op == "not":
                return c.Not(operands[0], e)
            return (c.And if e.op == "and" else c.Or)(operands, e)
        if isinstance(e, n.Call):
            return c.Call(e.func, tuple(self.expr(x) for x in e.args), e, self.first)
        if isinstance(e, (n.Cases, n.Highest)):
            cases = tuple((self.expr(x.when), self.expr(x.value)) for x in e.cases)
            return (c.Cases if isinstance(e, n.Cases) else c.Highest)(cases, self.expr(e.otherwise), e)
        raise AssertionError(f"cannot lower {e!r}")

    def ref(self, e: n.Ref):
        res = self.ck.resolved[e]
        if res.kind == "enum_member":
            return c.Const(res.detail, e)
        if res.kind == "history":  # the first argument of any(NAME, …) and kin: which list to go through
            return c.Const(res.target, e)
        if res.kind == "param":
            return c.Param(res.target, self.parameter(res.target), e)
        if res.kind == "fact":
            field = self.ck.records[res.detail][res.target]
            return c.Fact(res.detail, res.target, field in self.ck.optional, e)
        if res.kind == "accumulator":
            return c.Acc(res.target, e)
        if res.kind == "fund_output":
            return c.FundOutput(res.target, res.detail, e)
        return c.BaseOutput(res.detail, e)  # base_output: the layer below's results

    def arith_op(self, e: n.Binary) -> str:
        lt, rt = self.ck.types[e.left].unit, self.ck.types[e.right].unit
        if lt == "date" and e.op == "+":
            return "date_add_days" if rt == "days" else "date_add_months"
        if lt == "date" and e.op == "-":
            return "date_sub_days" if rt == "days" else "date_diff"
        if e.op == "*" and "relpct" in (lt, rt):
            return "mul_relpct"
        return {"+": "add", "-": "sub", "*": "mul", "/": "div"}[e.op]

    # -- provisions
    def layer(self, prefix: str) -> ops.Layer:
        ck = self.ck
        rb, h = ck.rulebook, ck.rulebook.header
        rounding = ops.Rounding(h.rounding.mode, h.rounding.quantum, h.rounding)
        for name in ck.parameters:
            self.parameter(name)
        return ops.Layer(
            id=ck.id, prefix=prefix, alias=ck.alias, checked=ck,
            accumulators=tuple(ops.AccumulatorSlot(a.name, a.period, a) for a in ck.accumulators.values()),
            treatments=tuple(ops.Treat(t.target.parts[0], t.target.parts[1], self.expr(t.value), self.expr(t.when),
                                       t) for t in rb.treatments),
            exclusions=tuple(ops.Exclude(self.expr(x.when), True, x) for x in rb.exclusions),
            funds=tuple(self.fund(f, rounding) for f in rb.funds),
            total=ops.Total(self.expr(rb.total.expr), rb.total) if rb.total is not None else None,
            dated_by=h.dated_by.parts[-1] if h.dated_by is not None else None, year_starts=h.year_starts,
            day_count=h.day_count,
            rounding=rounding, effective_from=h.effective_from, effective_to=h.effective_to,
            parameters=dict(self.params), contributions=lower_contributions(self, rb),
            memberships=tuple(ops.Insured(m.name, self.expr(m.when), m.paths, m.highest, m)
                              for m in rb.memberships),
            recoveries=tuple(ops.Recover(self.expr(r.when), r) for r in rb.recoveries))

    def fund(self, fund: n.Fund, rounding: ops.Rounding) -> ops.FundPlan:
        applies = fund.clause(n.Applies)
        ded = fund.clause(n.Deductible)
        caps = fund.clause(n.Cap)
        return ops.FundPlan(
            name=fund.name, node=fund,
            applies=ops.Applies(self.expr(applies[0].when), applies[0]) if applies else None,
            excludes=tuple(ops.Exclude(self.expr(x.when), False, x) for x in fund.clause(n.Exclude)),
            base=ops.Base(self.expr(fund.clause(n.Base)[0].expr), fund.clause(n.Base)[0]),
            deductible=ops.Deductible(self.expr(ded[0].amount), ded[0].per,
                                      self.expr(ded[0].when) if ded[0].when is not None else None,
                                      ded[0]) if ded else None,
            cost_caps=tuple(ops.CostCap(self.expr(x.amount), x.per or "year", x) for x in caps if x.what == "cost"),
            pay=self.pay(fund),
            adjusts=tuple(ops.Adjust(self.ck.types[a.amount].unit, self.expr(a.amount), self.expr(a.when), a)
                          for a in fund.clause(n.Adjust)),
            payment_caps=tuple(ops.PaymentCap(self.expr(x.amount), x.per or "year", x,
                                              tuple(self.expr(h) for h in x.holders))
                               for x in caps if x.what == "payments"),
            rounding=rounding,
            accumulates=tuple(ops.Accumulate(a.role, a.accumulator, a) for a in  # cost, deductible, payments
                              sorted(fund.clause(n.Accumulate), key=lambda a: ops.ROLES.index(a.role))),
            cliffs=tuple(ops.Cliff(self.expr(x.when), x) for x in fund.clause(n.Cliff)),
        )

    def pay(self, fund: n.Fund):
        flat = fund.clause(n.Flat)
        if flat:
            return ops.Flat(self.expr(flat[0].amount), flat[0])
        bands = fund.clause(n.Bands)
        if bands:
            b = bands[0]
            return ops.Bands(b.on, tuple(ops.Band(self.constant(x.lower) if x.lower is not None else ZERO,
                                                  self.constant(x.upper) if x.upper is not None else None,
                                                  self.expr(x.rate), x) for x in b.bands), b)
        rate = fund.clause(n.Rate)[0]
        return ops.Rate(self.expr(rate.expr), rate)
