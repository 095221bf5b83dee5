"""Types and units: resolve every name and give every expression its type.

Each place an expression stands requires a type (a deductible is money, a rate
is a rate, an adjustment is points or relative percent, a condition is bool);
arithmetic follows the unit algebra in :mod:`medrules.units`.
"""
from __future__ import annotations

from medrules import nodes as n
from medrules import units
from medrules.check.context import BASE_OUTPUTS, FUND_OUTPUTS, Context, Resolved, did_you_mean
from medrules.check.declarations import is_history, type_of_name
from medrules.units import Type

# name -> (what it takes, what it gives); "ordered" means: any one ordered unit, the result in it.
FUNCTIONS = {
    "min": "ordered", "max": "ordered",
    "month_start": ((units.DATE,), units.DATE),          # the first day of the date's month
    "month_end": ((units.DATE,), units.DATE),            # the last day of the date's month
    "year_start": ((units.DATE,), units.DATE),           # 1 January of the date's year
    "months_between": ((units.DATE, units.DATE), units.COUNT),  # calendar months from the first's month to the second's
    "day_number": ((units.DATE, units.DATE), units.COUNT),  # day N of a period, per the declared day count
    "has": ("set", units.BOOL),                           # has(member.categories, disabled_in_war)
    "given": ("fact", units.BOOL),                        # given(member.arrears_from): an optional fact is there
    # over a history (a list of records declared 'facts NAME { … }'); inside, NAME.field is the item's field
    "any": "history", "every": "history", "count": "history", "sum": "history", "latest": "history",
    "earliest": "history",
}

# what each function over a history takes after the history's name: (role, …)
HISTORY_ARGS = {
    "any": ("condition",),                          # any(period, COND): some record satisfies COND
    "every": ("condition",),                        # every(period, COND): each record does (true when none)
    "count": ("condition",),                        # count(period, COND): how many do, a count
    "sum": ("value", "condition"),                  # sum(period, VALUE, COND): the total of VALUE over those
    "latest": ("value", "condition", "otherwise"),  # latest(period, VALUE, COND, OTHERWISE): the largest
    "earliest": ("value", "condition", "otherwise"),  # earliest(…): the smallest; OTHERWISE when none does
}


def check(ctx: Context) -> None:
    rb = ctx.rulebook
    if ctx.base is not None:
        ctx.optional |= ctx.base.optional
    for rec in rb.records:
        for f in rec.fields:
            if isinstance(f.default, n.Literal) and f.default.type == units.NONE:
                ctx.optional.add(f)  # may be left out
            elif f.default is not None and f in ctx.field_types:
                expect(ctx, f.default, ctx.field_types[f], f"the default of '{f.name}'", fund=None)
                res = ctx.resolved.get(f.default) if isinstance(f.default, n.Ref) else None
                if not isinstance(f.default, n.Literal) and (res is None or res.kind not in ("param", "enum_member")):
                    ctx.error("default", f"the default of '{f.name}' must be a value, a parameter or an "
                              "enumeration member", f.default.span, "write the value itself, e.g. '= 0 yuan'")
    for p in rb.parameters:
        t = type_of_name(ctx, p.type_name)
        if t is not None:
            expect(ctx, p.value, t, f"parameter '{p.name}'", fund=None)
    check_parameters(ctx)
    if rb.header and rb.header.dated_by is not None:
        expect(ctx, rb.header.dated_by, units.DATE, "the date that places a claim in a benefit year", fund=None)
        res = ctx.resolved.get(rb.header.dated_by)
        if res is not None and (res.kind != "fact" or res.detail != "claim"):
            ctx.error("unit", f"a claim is placed in a benefit year by one of its own dates, not "
                      f"'{rb.header.dated_by.text}'", rb.header.dated_by.span,
                      "write e.g. 'year starts 01-01 by claim.date' or '… by claim.discharge_date'")
    for t in rb.treatments:
        check_treat(ctx, None, t)
    for x in rb.exclusions:
        check_exclude(ctx, None, x)
    for fund in rb.funds:
        check_fund_expressions(ctx, fund)
    if rb.total is not None:
        expect(ctx, rb.total.expr, units.MONEY, "the total cost", fund=None)


def check_parameters(ctx: Context) -> None:
    """A parameter is a fixed value: literals, enumeration members and other parameters, with no cycles."""
    uses: dict[str, list[tuple[str, n.Ref]]] = {}
    for p in ctx.rulebook.parameters:
        uses[p.name] = []
        for ref in _refs(p.value):
            res = ctx.resolved.get(ref)
            if res is None:
                continue
            if res.kind == "param":
                uses[p.name].append((res.target, ref))
            elif res.kind != "enum_member":
                ctx.error("parameter", f"parameter '{p.name}' must be a fixed value, but it reads "
                          f"'{ref.text}'", ref.span,
                          "a value that depends on a member or a claim belongs in a fund clause, "
                          "e.g. '{ 600 yuan when …, otherwise 900 yuan }'")

    depths = _chain_depths(uses)
    too_deep = [p for p in ctx.rulebook.parameters if depths.get(p.name, 0) > MAX_PARAMETER_CHAIN]
    if too_deep:  # refused before the recursive passes below (and the compiler) follow the chain
        p = min(too_deep, key=lambda p: depths[p.name])
        ctx.error("too-deep", f"parameter '{p.name}' is defined through a chain of more than "
                  f"{MAX_PARAMETER_CHAIN} parameters", p.span, "define it from fewer intermediate parameters")
        ctx.cyclic.update(uses)
        return

    def visit(name: str, path: list[str]) -> None:
        for target, ref in uses.get(name, ()):
            if target in path:
                cycle = path[path.index(target):] + [target]
                if not ctx.cyclic & set(cycle):
                    ctx.error("cycle", f"parameter '{target}' is defined in terms of itself: " + " → ".join(cycle),
                              ref.span,
                              f"'{target}' is used in its own definition; give one of them a fixed value")
                ctx.cyclic.update(cycle)
            elif target not in done:
                visit(target, path + [target])
        done.add(name)

    done: set[str] = set()
    for name in uses:
        if name not in done:
            visit(name, [name])


MAX_PARAMETER_CHAIN = 64  # parameters defined through parameters: the shipped rulebooks chain at most 3


def _chain_depths(uses: dict[str, list[tuple[str, n.Ref]]]) -> dict[str, int]:
    """How many parameters each parameter is defined through (itself included), without recursion;
    a cycle (reported elsewhere) counts as ending."""
    depth: dict[str, int] = {}
    for root in uses:
        if root in depth:
            continue
        on_stack, stack = {root}, [(root, iter(uses[root]))]
        while stack:
            name, targets = stack[-1]
            nxt = next(targets, None)
            if nxt is None:
                stack.pop()
                on_stack.discard(name)
                depth[name] = 1 + max((depth.get(t, 0) for t, _ in uses.get(name, ()) if t not in on_stack),
                                      default=0)
            elif nxt[0] not in depth and nxt[0] not in on_stack and nxt[0] in uses:
                on_stack.add(nxt[0])
                stack.append((nxt[0], iter(uses[nxt[0]])))
    return depth


def _refs(e):
    if isinstance(e, n.Ref):
        yield e
        return
    for child in attrs_children(e):
        yield from _refs(child)


def attrs_children(e):
    import attrs
    for f in attrs.fields(type(e)):
        v = getattr(e, f.name)
        if isinstance(v, tuple):
            yield from (x for x in v if attrs.has(type(x)) and not isinstance(x, n.Label))
        elif attrs.has(type(v)) and not isinstance(v, (n.Label,)) and f.name != "span":
            yield v


def check_fund_expressions(ctx: Context, fund: n.Fund) -> None:
    for clause in fund.clauses:
        check = CLAUSE_CHECKS.get(type(clause))
        if check is not None:
            check(ctx, fund, clause)


def check_applies(ctx: Context, fund: n.Fund, c: n.Applies) -> None:
    expect(ctx, c.when, units.BOOL, "'applies when'", fund)


def check_exclude(ctx: Context, fund: n.Fund | None, c: n.Exclude) -> None:
    expect(ctx, c.when, units.BOOL, "an exclusion's condition", fund)


def check_treat(ctx: Context, fund: n.Fund | None, c: n.Treat) -> None:
    target = infer(ctx, c.target, fund, None)
    res = ctx.resolved.get(c.target)
    if res is not None and res.kind != "fact":
        ctx.error("treat", f"only a claim or member fact can be treated as something else, not '{c.target.text}'",
                  c.target.span, "write e.g. 'treat claim.kind as inpatient when …'")
    elif target is not None:
        expect(ctx, c.value, target, f"the value '{c.target.text}' is treated as", fund)
    expect(ctx, c.when, units.BOOL, "the condition of 'treat'", fund)


def check_cliff(ctx: Context, fund: n.Fund, c: n.Cliff) -> None:
    """A declared cliff: its condition is a yes/no; its citation is required and must quote a source
    (checked with the other citations, medrules.check.citations)."""
    expect(ctx, c.when, units.BOOL, "a cliff's condition", fund)


def check_flat(ctx: Context, fund: n.Fund, c: n.Flat) -> None:
    expect(ctx, c.amount, units.MONEY, "a flat amount", fund)


def check_base(ctx: Context, fund: n.Fund, c: n.Base) -> None:
    expect(ctx, c.expr, units.MONEY, "a fund's base", fund)


def check_deductible(ctx: Context, fund: n.Fund, c: n.Deductible) -> None:
    expect(ctx, c.amount, units.MONEY, "a deductible", fund)
    if c.when is not None:
        expect(ctx, c.when, units.BOOL, "the deductible's condition", fund)


def check_cap(ctx: Context, fund: n.Fund, c: n.Cap) -> None:
    if c.per != "holder":
        expect(ctx, c.amount, units.MONEY, "a cap", fund)
        return
    # a quota of each holder (定额包干): its amount reads the holder's facts as 'holder.FIELD'
    ctx.bound.append(HOLDER)
    try:
        expect(ctx, c.amount, units.MONEY, "a quota", fund)
    finally:
        ctx.bound.remove(HOLDER)
    for ref in c.holders:
        t = infer(ctx, ref, fund, units.TEXT)
        res = ctx.resolved.get(ref)
        if t is not None and (t != units.TEXT or res is None or res.kind != "fact"
                              or res.detail not in ("claim", "member")):
            ctx.error("quota", f"'{ref.text}' must be a text fact of the claim or the member: the id of an insured "
                      "person whose quota pays", ref.span,
                      "declare e.g. 'quota_from: text = none \"使用谁的定额包干资金\" | \"whose quota pays\"' in "
                      "'facts claim { … }'")


HOLDER = "holder"  # 'holder.FIELD': a fact of the insured person whose quota pays (inside 'cap … per holder')


def check_rate(ctx: Context, fund: n.Fund, c: n.Rate) -> None:
    expect(ctx, c.expr, units.RATE, "a rate", fund)


def check_bands(ctx: Context, fund: n.Fund, c: n.Bands) -> None:
    for b in c.bands:
        for bound in (b.lower, b.upper):
            if bound is not None:
                expect(ctx, bound, units.MONEY, "a band edge", fund)
        expect(ctx, b.rate, units.RATE, "a band's rate", fund)


def check_adjust(ctx: Context, fund: n.Fund, c: n.Adjust) -> None:
    t = infer(ctx, c.amount, fund, None)
    if t is not None and t.unit not in ("points", "relpct"):
        hint = ("write '+5 points' for percentage points (added to the rate) or "
                "'5% relative' to multiply the rate by 1.05")
        ctx.error("unit", f"an adjustment to a rate must be percentage points or relative percent, "
                          f"not {t}", c.amount.span, hint)
    expect(ctx, c.when, units.BOOL, "the adjustment's condition", fund)


CLAUSE_CHECKS = {n.Applies: check_applies, n.Exclude: check_exclude, n.Base: check_base,
                 n.Deductible: check_deductible, n.Cap: check_cap, n.Rate: check_rate, n.Bands: check_bands,
                 n.Flat: check_flat, n.Adjust: check_adjust, n.Cliff: check_cliff}


def expect(ctx: Context, expr: n.Expr, want: Type, what: str, fund: n.Fund | None) -> None:
    got = infer(ctx, expr, fund, want)
    if got is None or got == want:
        return
    hint = None
    if want.unit == "money" and got.unit == "count":
        hint = "amounts carry their unit: write e.g. '300 yuan'"
    elif want.unit == "rate" and got.unit == "points":
        hint = "a rate is written with '%', e.g. '55%'; points adjust a rate ('adjust +5 points when …')"
    elif want.unit == "rate" and got.unit == "count":
        hint = "write the rate with '%', e.g. '55%'"
    ctx.error("unit", f"{what} must be {_a(want)}, but this is {_a(got)}", expr.span, hint)


def _a(t: Type) -> str:
    """'a rate', 'an amount of money', 'a date', 'a member of enumeration visit_kind'."""
    words = {"money": "an amount of money", "rate": "a rate (%)", "points": "percentage points",
             "relpct": "a relative percent", "days": "a number of days", "months": "a number of months",
             "date": "a date", "count": "a plain number", "bool": "a yes/no condition", "text": "text"}
    if t.unit == "enum":
        return f"a member of enumeration '{t.enum}'"
    if t.unit == "set":
        return f"a set of '{t.enum}'"
    return words.get(t.unit, str(t))


def infer(ctx: Context, e: n.Expr, fund: n.Fund | None, want: Type | None) -> Type | None:
    t = _infer(ctx, e, fund, want)
    if t is not None:
        ctx.types[e] = t
    return t


def _infer(ctx: Context, e, fund, want):  # noqa: C901 - one dispatch over expression kinds
    if isinstance(e, n.Literal):
        if e.type == units.NONE:
            ctx.error("unit", "'none' is only a fact's default: it says the fact may be left out", e.span,
                      "declare e.g. 'arrears_from: date = none', then test it with given(member.arrears_from)")
            return None
        return e.type
    if isinstance(e, n.Ref):
        return resolve_ref(ctx, e, fund, want)
    if isinstance(e, n.Unary):
        t = infer(ctx, e.operand, fund, want)
        if t is not None and t.unit not in units.ORDERED - {"date"}:
            ctx.error("unit", f"cannot negate {t}", e.span)
            return None
        return t
    if isinstance(e, n.Binary):
        left = infer(ctx, e.left, fund, None)
        right = infer(ctx, e.right, fund, None)
        if left is None or right is None:
            return None
        result = units.arith(left, e.op, right)
        if result is None:
            ctx.error("unit", f"cannot {_verb(e.op)} {left} {_prep(e.op)} {right}", e.span,
                      units.arith_hint(left, e.op, right))
        return result
    if isinstance(e, n.Comparison):
        if _maybe_enum_member(ctx, e.left):  # 'retired == member.category': type the right side first
            right = infer(ctx, e.right, fund, None)
            left = infer(ctx, e.left, fund, right if right and right.unit == "enum" else None)
        else:
            left = infer(ctx, e.left, fund, None)
            right = infer(ctx, e.right, fund, left if left and left.unit == "enum" else None)
        if left is not None and left.unit != "enum" and right is not None and right.unit == "enum":
            left = infer(ctx, e.left, fund, right)
        if left is None or right is None:
            return units.BOOL
        if left != right:
            hint = "write the amount with its unit, e.g. '0 yuan'" if {left.unit, right.unit} == {
                "money", "count"} else None
            ctx.error("unit", f"cannot compare {left} with {right}", e.span, hint)
        elif e.op not in ("==", "!=") and left.unit not in units.ORDERED:
            ctx.error("unit", f"'{e.op}' needs an ordered quantity, not {left}", e.span)
        return units.BOOL
    if isinstance(e, n.Membership):
        t = infer(ctx, e.operand, fund, None)
        if t is not None:
            if t.unit != "enum":
                ctx.error("unit", f"'in {{…}}' tests an enumeration, not {t}", e.operand.span)
            else:
                members = {m.name for m in ctx.enums[t.enum].members}
                for name, span in zip(e.names, e.name_spans or (e.span,) * len(e.names)):
                    if name not in members:
                        ctx.error("unknown-name", f"'{name}' is not a member of enumeration '{t.enum}'",
                                  span, did_you_mean(name, members))
        return units.BOOL
    if isinstance(e, n.Logic):
        for operand in e.operands:
            expect(ctx, operand, units.BOOL, f"an operand of '{e.op}'", fund)
        return units.BOOL
    if isinstance(e, n.Call):
        return check_call(ctx, e, fund, want)
    if isinstance(e, (n.Cases, n.Highest)):
        for case in e.cases:
            expect(ctx, case.when, units.BOOL, "a 'when' condition", fund)
        t = infer(ctx, e.otherwise, fund, want)
        for case in e.cases:
            ct = infer(ctx, case.value, fund, want or t)
            if t is not None and ct is not None and ct != t:
                ctx.error("unit", f"all cases must have one unit: this is {ct}, 'otherwise' is {t}",
                          case.value.span)
        if isinstance(e, n.Highest) and t is not None and t.unit not in units.ORDERED:
            ctx.error("unit", f"'highest' compares its cases, so they must be an ordered quantity, not {t}", e.span)
        return t
    raise AssertionError(f"unknown expression {e!r}")


def check_call(ctx: Context, e: n.Call, fund, want):
    sig = FUNCTIONS.get(e.func)
    if sig is None:
        ctx.error("unknown-name", f"unknown function '{e.func}'", e.span,
                  did_you_mean(e.func, FUNCTIONS) or "functions are " + ", ".join(f"{f}(…)" for f in FUNCTIONS))
        return None
    if sig == "ordered":
        ts = [infer(ctx, a, fund, want) for a in e.args]
        if None in ts:
            return None
        if len(set(ts)) > 1 or ts[0].unit not in units.ORDERED:
            ctx.error("unit", f"{e.func}(…) needs arguments of one ordered unit, got "
                      + ", ".join(map(str, ts)), e.span)
            return None
        return ts[0]
    if sig == "history":
        return check_history_call(ctx, e, fund, want)
    takes, gives = sig
    if takes == "fact":  # given(FACT)
        arg = e.args[0] if len(e.args) == 1 else None
        if arg is not None:
            infer(ctx, arg, fund, None)
        res = ctx.resolved.get(arg) if isinstance(arg, n.Ref) else None
        if res is None or res.kind != "fact":
            ctx.error("arguments", "given(…) takes one member or claim fact: given(member.arrears_from)", e.span)
        elif ctx.records[res.detail][res.target] not in ctx.optional:
            ctx.error("arguments", f"'{arg.text}' is always given: only facts declared '= none' may be left out",
                      e.span, f"declare it as '{res.target}: … = none' to make it optional")
        return gives
    if takes == "set":  # has(SET, MEMBER, …): any of the members is in the set
        if len(e.args) < 2:
            ctx.error("arguments", "has(…) takes a set and one or more members: has(member.categories, retired)",
                      e.span)
            return gives
        st = infer(ctx, e.args[0], fund, None)
        if st is not None and st.unit != "set":
            ctx.error("unit", f"the first argument of has(…) must be a set, not {st}", e.args[0].span)
        elif st is not None:
            for arg in e.args[1:]:
                expect(ctx, arg, Type("enum", st.enum), "a member tested by has(…)", fund)
        return gives
    if len(e.args) != len(takes):
        ctx.error("arguments", f"{e.func}(…) takes {len(takes)} argument{'s' if len(takes) > 1 else ''}, "
                  f"not {len(e.args)}", e.span)
        return gives
    for arg, t in zip(e.args, takes):
        expect(ctx, arg, t, f"an argument of {e.func}(…)", fund)
    return gives


_ADDITIVE = {"money", "count", "days", "months"}


def histories(records) -> list[str]:
    """The history kinds among a rulebook's facts (every record that is not 'member' or 'claim')."""
    return [k for k in records if is_history(k)]


def check_history_call(ctx: Context, e: n.Call, fund, want):
    """any/every/count/sum/latest/earliest(HISTORY, …): the history's records are bound to its name while
    the other arguments are checked, so 'interruption.paid_on' means the field of the record in hand."""
    roles = HISTORY_ARGS[e.func]
    usage = f"{e.func}(HISTORY, " + ", ".join(r.upper() for r in roles) + ")"
    head = e.args[0] if e.args else None
    names = histories(ctx.records)
    if not isinstance(head, n.Ref) or len(head.parts) != 1 or head.parts[0] not in names:
        ctx.error("arguments", f"the first argument of {e.func}(…) names a history declared 'facts NAME {{ … }}'",
                  (head or e).span, (did_you_mean(head.text, names) if isinstance(head, n.Ref) else None)
                  or ("histories here: " + ", ".join(names) if names else
                      "declare one, e.g. 'facts period { first_month: date, last_month: date }'") + f"; write {usage}")
        return None
    if len(e.args) != 1 + len(roles):
        ctx.error("arguments", f"{e.func}(…) takes {1 + len(roles)} arguments: {usage}", e.span)
        return None
    name = head.parts[0]
    ctx.resolved[head] = Resolved("history", name)
    if name in ctx.bound:
        ctx.error("arguments", f"'{name}' is already the record in hand here: {e.func}(…) over the same history "
                  "inside another would hide it", head.span, "compare the records with facts outside, or with "
                  "member/claim facts")
        return None
    ctx.bound.append(name)
    try:
        gives = units.BOOL if e.func in ("any", "every") else units.COUNT if e.func == "count" else None
        value_type = None
        for arg, role in zip(e.args[1:], roles):
            if role == "condition":
                expect(ctx, arg, units.BOOL, f"the condition of {e.func}(…)", fund)
            elif role == "value":
                value_type = infer(ctx, arg, fund, want)
                if value_type is not None and e.func == "sum" and value_type.unit not in _ADDITIVE:
                    ctx.error("unit", f"sum(…) adds amounts, numbers, days or months, not {value_type}", arg.span)
                elif value_type is not None and value_type.unit not in units.ORDERED:
                    ctx.error("unit", f"{e.func}(…) compares its values, so they must be an ordered quantity, "
                              f"not {value_type}", arg.span)
            else:  # otherwise: outside the records (when no record satisfies the condition)
                ctx.bound.remove(name)
                try:
                    if value_type is not None:
                        expect(ctx, arg, value_type, f"what {e.func}(…) gives when no record qualifies", fund)
                    else:
                        infer(ctx, arg, fund, None)
                finally:
                    ctx.bound.append(name)
        return gives or value_type
    finally:
        ctx.bound.remove(name)


def _maybe_enum_member(ctx: Context, e) -> bool:
    if not isinstance(e, n.Ref) or len(e.parts) != 1:
        return False
    name = e.parts[0]
    return name not in ctx.parameters and name not in ctx.accumulators and name not in ctx.funds and any(
        m.name == name for enum in ctx.enums.values() for m in enum.members)


def _verb(op: str) -> str:
    return {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]


def _prep(op: str) -> str:
    return {"+": "and", "-": "from", "*": "by", "/": "by"}[op] if op != "-" else "and"


def resolve_ref(ctx: Context, ref: n.Ref, fund: n.Fund | None, want: Type | None) -> Type | None:
    res = _resolve(ctx, ref, fund, want)
    if res is None:
        return None
    ctx.resolved[ref] = res
    if res.kind == "fact":
        field = ctx.records[res.detail][res.target]
        return ctx.field_types.get(field)
    if res.kind == "param":
        return type_of_name(ctx, ctx.parameters[res.target].type_name)
    if res.kind in ("accumulator", "fund_output", "base_output"):
        return units.MONEY
    if res.kind == "enum_member":
        return Type("enum", res.target)
    raise AssertionError(res)


def _resolve_base(ctx: Context, ref: n.Ref) -> Resolved | None:
    rest = ref.parts[1:]
    base = ctx.base
    if len(rest) == 1 and rest[0] in BASE_OUTPUTS:
        return Resolved("base_output", ctx.alias, rest[0])
    if len(rest) == 2 and rest[0] in base.funds and rest[1] in FUND_OUTPUTS:
        return Resolved("base_output", ctx.alias, ".".join(rest))
    options = [f"{ctx.alias}.{o}" for o in BASE_OUTPUTS] + [f"{ctx.alias}.FUND.{o}" for o in FUND_OUTPUTS]
    ctx.error("unknown-name", f"'{ref.text}' is not something '{base.id}' provides", ref.span,
              did_you_mean(".".join(rest), list(BASE_OUTPUTS) + [f"{f}.{o}" for f in base.funds
                                                                   for o in FUND_OUTPUTS])
              or "it provides " + ", ".join(options[:4]) + ", … (funds: " + ", ".join(base.funds) + ")")
    return None


def _resolve(ctx: Context, ref: n.Ref, fund: n.Fund | None, want: Type | None) -> Resolved | None:
    parts = ref.parts
    head = parts[0]
    if head in ctx.records and is_history(head):  # a history: NAME.field is the record in hand
        fields = ctx.records[head]
        if len(parts) != 2 or parts[1] not in fields:
            name = parts[1] if len(parts) > 1 else ""
            ctx.error("unknown-fact", f"'{ref.text}' is not a declared {head} fact", ref.span,
                      did_you_mean(name, fields) or f"declare it in 'facts {head} {{ … }}'")
            return None
        if head not in ctx.bound:
            ctx.error("history", f"'{ref.text}' is a field of each {head} record: read it inside "
                      f"any({head}, …), every, count, sum, latest or earliest", ref.span,
                      f"e.g. any({head}, {ref.text} <= claim.date)")
            return None
        return Resolved("fact", parts[1], head)
    if head == HOLDER and head not in ctx.records:  # the quota holder: one of the insured persons, a member
        fields = ctx.records.get("member", {})
        if len(parts) != 2 or parts[1] not in fields:
            name = parts[1] if len(parts) > 1 else ""
            ctx.error("unknown-fact", f"'{ref.text}' is not a declared member fact (a holder is an insured person)",
                      ref.span, did_you_mean(name, fields) or "declare it in 'facts member { … }'")
            return None
        if HOLDER not in ctx.bound:
            ctx.error("quota", f"'{ref.text}' is a fact of the holder of a quota: read it in the amount of a "
                      "'cap payments at … per holder of …'", ref.span,
                      f"read the patient's own fact as 'member.{parts[1]}'")
            return None
        return Resolved("fact", parts[1], "member")
    if head in ("member", "claim", "household"):
        fields = ctx.records.get(head, {})
        if len(parts) != 2 or parts[1] not in fields:
            name = parts[1] if len(parts) > 1 else ""
            ctx.error("unknown-fact", f"'{ref.text}' is not a declared {head} fact", ref.span,
                      did_you_mean(name, fields) or f"declare it in 'facts {head} {{ … }}'")
            return None
        return Resolved("fact", parts[1], head)
    if ctx.alias is not None and head == ctx.alias and ctx.base is not None:
        return _resolve_base(ctx, ref)
    if head in ctx.funds:
        if len(parts) != 2 or parts[1] not in FUND_OUTPUTS:
            ctx.error("unknown-name", f"'{ref.text}' is not something a fund provides", ref.span,
                      "a fund provides " + ", ".join(f"'.{o}'" for o in FUND_OUTPUTS))
            return None
        return Resolved("fund_output", head, parts[1])
    if len(parts) == 1:
        if head in ctx.parameters:
            return Resolved("param", head)
        if head in ctx.accumulators:
            return Resolved("accumulator", head)
        if want is not None and want.unit == "enum":
            members = {m.name for m in ctx.enums[want.enum].members}
            if head in members:
                return Resolved("enum_member", want.enum, head)
        owners = [e.name for e in ctx.enums.values() if any(m.name == head for m in e.members)]
        if len(owners) == 1 and (want is None or want.unit == "enum"):
            if want is None or want.enum == owners[0]:
                return Resolved("enum_member", owners[0], head)
    everything = (list(ctx.parameters) + list(ctx.accumulators) + list(ctx.funds)
                  + [m.name for e in ctx.enums.values() for m in e.members])
    ctx.error("unknown-name", f"unknown name '{ref.text}'", ref.span,
              did_you_mean(head, everything) or "facts are written 'member.x' or 'claim.x'; "
              "parameters, accumulators and funds by their declared names")
    return None
