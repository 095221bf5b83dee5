"""Funds: each fund's clauses fit together, and layers only look at earlier layers.

* one base, at most one rate or one set of bands (one of the two is required);
* accumulators named in 'accumulate' exist, and every clause that needs one has it
  (a yearly deductible, a cost cap, a payment cap, bands on a running total);
* a fund may use another fund's outputs only if that fund comes earlier.
"""
from __future__ import annotations

import bisect
from decimal import ROUND_DOWN, Decimal

from medrules import nodes as n
from medrules.check.bands import _fold, _uses_cyclic
from medrules.check.context import Context, did_you_mean

ROLES = {
    "cost": "the running total of cost the fund counts (bands and cost caps read it)",
    "payments": "the running total of the fund's payments (payment caps read it)",
    "deductible": "the running total of deductible taken (a yearly deductible reads it)",
}
DEDUCTIBLE_SCOPES = ("year", "admission", "claim")
CAP_KINDS = ("payments", "cost")


def check(ctx: Context) -> None:
    order = {f.name: i for i, f in enumerate(ctx.rulebook.funds)}
    uses = _fund_output_refs(ctx)
    for fund in ctx.rulebook.funds:
        check_fund(ctx, fund, order, uses.get(id(fund), ()))


def _fund_output_refs(ctx: Context) -> dict[int, list]:
    """The references to fund outputs inside each fund (by the fund node's id), found in one pass:
    each reference is placed in the fund whose span contains it by a binary search over the funds'
    spans (checking each fund against every reference was quadratic: 3,000 funds took 37 s)."""
    by_file: dict[str, list] = {}
    for fund in ctx.rulebook.funds:
        by_file.setdefault(fund.span.file, []).append(((fund.span.line, fund.span.col), fund))
    for funds in by_file.values():
        funds.sort(key=lambda x: x[0])
    starts = {file: [start for start, _ in funds] for file, funds in by_file.items()}
    found: dict[int, list] = {}
    for ref, res in ctx.resolved.items():
        if res.kind != "fund_output" or ref.span.file not in by_file:
            continue
        funds = by_file[ref.span.file]
        i = bisect.bisect_right(starts[ref.span.file], (ref.span.line, ref.span.col)) - 1
        if i >= 0 and _inside(ref.span, funds[i][1].span):
            found.setdefault(id(funds[i][1]), []).append((ref, res))
    return found


def accumulators_of(fund: n.Fund) -> dict[str, str]:
    return {c.role: c.accumulator for c in fund.clause(n.Accumulate)}


def check_fund(ctx: Context, fund: n.Fund, order: dict[str, int], uses=None) -> None:
    for kind, what in ((n.Base, "base"), (n.Rate, "rate"), (n.Bands, "bands"), (n.Applies, "applies when")):
        clauses = fund.clause(kind)
        for extra in clauses[1:]:
            ctx.error("duplicate", f"fund '{fund.name}' states '{what}' twice", extra.span,
                      related=(("first stated here", clauses[0].span),))
    if not fund.clause(n.Base):
        ctx.error("missing", f"fund '{fund.name}' does not say what it pays on", fund.span,
                  "add e.g. 'base claim.compliant_cost'")
    rules = fund.clause(n.Rate) + fund.clause(n.Bands) + fund.clause(n.Flat)
    if not rules:
        ctx.error("missing", f"fund '{fund.name}' says neither a rate, bands nor a flat amount", fund.span,
                  "add e.g. 'rate 50%', 'bands on ACC { up to 60_000 yuan: 84%, above 60_000 yuan: 87% }' "
                  "or 'flat 800 yuan'")
    for extra in rules[1:]:
        ctx.error("duplicate", f"fund '{fund.name}' says how much it pays twice", extra.span,
                  "a fund pays by one rate, one set of bands or one flat amount",
                  related=(("first said here", rules[0].span),))
    if fund.clause(n.Flat) and fund.clause(n.Adjust):
        ctx.error("flat", "a flat amount has no rate to adjust", fund.clause(n.Adjust)[0].span,
                  "remove the adjustment, or pay by a rate")
    if fund.clause(n.Flat) and fund.clause(n.Deductible):
        ctx.error("flat", "a flat amount replaces the percentage rule, so it takes no deductible",
                  fund.clause(n.Deductible)[0].span, "remove the deductible, or pay by a rate")
    check_accumulate(ctx, fund)
    roles = accumulators_of(fund)
    for d in fund.clause(n.Deductible):
        check_deductible(ctx, fund, d, roles)
    caps = {}
    for c in fund.clause(n.Cap):
        check_cap(ctx, fund, c, roles, caps)
    for b in fund.clause(n.Bands):
        if b.on is not None and roles.get("cost") != b.on:
            ctx.error("accumulator", f"bands on '{b.on}' need the fund to count its cost there",
                      b.on_span or b.span, f"add 'accumulate cost in {b.on}'")
    check_layering(ctx, fund, order, uses)
    check_amounts(ctx, fund)


def check_accumulate(ctx: Context, fund: n.Fund) -> None:
    seen: dict[str, n.Accumulate] = {}
    for a in fund.clause(n.Accumulate):
        if a.role not in ROLES:
            ctx.error("unknown-name", f"a fund accumulates 'cost', 'payments' or 'deductible', not '{a.role}'",
                      a.role_span, did_you_mean(a.role, ROLES))
        elif a.role in seen:
            ctx.error("duplicate", f"fund '{fund.name}' accumulates {a.role} twice", a.span,
                      related=(("first stated here", seen[a.role].span),))
        seen[a.role] = a
        if a.accumulator not in ctx.accumulators:
            ctx.error("unknown-name", f"unknown accumulator '{a.accumulator}'", a.accumulator_span,
                      did_you_mean(a.accumulator, ctx.accumulators)
                      or f"declare it: 'accumulator {a.accumulator}: money per year'")


def check_deductible(ctx: Context, fund: n.Fund, d: n.Deductible, roles: dict[str, str]) -> None:
    if d.per not in DEDUCTIBLE_SCOPES:
        ctx.error("unknown-name", f"a deductible is 'per year', 'per admission' or 'per claim', not 'per {d.per}'",
                  d.per_span, did_you_mean(d.per, DEDUCTIBLE_SCOPES))
    elif d.per == "year" and "deductible" not in roles:
        ctx.error("accumulator", "a yearly deductible needs a running total of the deductible used",
                  d.span, "add 'accumulate deductible in ACC' to the fund")
    if len(fund.clause(n.Deductible)) > 1:
        first = fund.clause(n.Deductible)[0]
        if d is not first:
            ctx.error("duplicate", f"fund '{fund.name}' states its deductible twice", d.span,
                      "use one deductible with a '{ … when …, otherwise … }' amount",
                      related=(("first stated here", first.span),))


def check_cap(ctx: Context, fund: n.Fund, c: n.Cap, roles: dict[str, str], caps: dict) -> None:
    if c.what not in CAP_KINDS:
        ctx.error("unknown-name", f"a cap limits 'payments' (what the fund pays) or 'cost' (the cost it "
                  f"pays on), not '{c.what}'", c.what_span, did_you_mean(c.what, CAP_KINDS))
        return
    if c.per == "holder" and c.what != "payments":
        ctx.error("quota", "a quota of each holder limits what the fund pays: write 'cap payments at … per holder "
                  "of …'", c.what_span)
    elif c.per == "holder" and not c.holders:
        ctx.error("quota", "a quota of each holder needs the facts that name whose quota pays", c.per_span or c.span,
                  "write e.g. '… per holder of claim.quota_from' (not given: the patient's own quota)")
    elif c.holders and c.per != "holder":
        ctx.error("quota", "only a cap 'per holder' names holders", c.per_span or c.span,
                  f"write '… per holder of {', '.join(r.text for r in c.holders)}'")
    elif c.per not in (None, "claim", "holder"):
        ctx.error("unknown-name", f"a cap is 'per year' (the default, through its accumulator), 'per claim' or "
                  f"'per holder of …' (a quota), not 'per {c.per}'", c.per_span or c.span,
                  did_you_mean(c.per, ("year", "claim", "holder")))
    if c.per is None and c.what not in roles:
        ctx.error("accumulator", f"a yearly cap on {c.what} needs a running total of the fund's {c.what}",
                  c.span, f"add 'accumulate {c.what} in ACC' to the fund, or write '… per claim'")
    key = (c.what, c.per)
    if key in caps:
        ctx.error("duplicate", f"fund '{fund.name}' states the same cap twice", c.span,
                  related=(("first stated here", caps[key].span),))
    caps[key] = c


def check_layering(ctx: Context, fund: n.Fund, order: dict[str, int], uses=None) -> None:
    here = order[fund.name]
    if uses is None:
        uses = _fund_output_refs(ctx).get(id(fund), ())
    for ref, res in uses:
        if order.get(res.target, here) >= here:
            ctx.error("layering", f"fund '{fund.name}' uses '{ref.text}', but '{res.target}' "
                      f"{'is this fund' if res.target == fund.name else 'comes later'}", ref.span,
                      "a fund can only use what earlier funds produced; move it below "
                      f"'{res.target}'")


def _inside(span, outer) -> bool:
    return span.file == outer.file and (outer.line, outer.col) <= (span.line, span.col) and (
        (span.line, span.col) <= (outer.end_line, outer.end_col))


FEN = Decimal("0.01")


def check_amounts(ctx: Context, fund: n.Fund) -> None:
    """Fixed amounts of flats, caps and deductibles lie on the money grid: not negative, whole fen.

    A negative flat would make the fund take money from the member; a cap of 123.465 yuan cannot
    be paid to the fen without paying above it. Amounts that depend on facts are kept on the grid
    by the settlement (it never pays more than a cap after rounding)."""
    for clause in fund.clause(n.Flat) + fund.clause(n.Cap) + fund.clause(n.Deductible):
        value = _fixed(ctx, clause.amount)
        for case in _cases(clause.amount) if value is None else ():
            _on_grid(ctx, clause, case, _fixed(ctx, case))
        if value is not None:
            _on_grid(ctx, clause, clause.amount, value)


def _on_grid(ctx: Context, clause, expr: n.Expr, value: Decimal | None) -> None:
    what = {n.Flat: "a flat amount", n.Cap: "a cap", n.Deductible: "a deductible"}[type(clause)]
    if value is None:
        return
    if value < 0:
        ctx.error("amount", f"{what} cannot be negative ({format(value, 'f')} yuan)", expr.span,
                  "amounts a fund pays, caps and deductibles are zero or more")
    elif value != value.quantize(FEN, rounding=ROUND_DOWN):
        ctx.error("amount", f"{what} of {format(value.normalize(), 'f')} yuan is not a whole number of fen",
                  expr.span, "write it to the fen (two decimals), as the policy pays it")


def _fixed(ctx: Context, e: n.Expr) -> Decimal | None:
    if isinstance(e, n.Unary) and e.op == "-":
        inner = _fixed(ctx, e.operand)
        return -inner if inner is not None else None
    if _uses_cyclic(ctx, e):  # a cycle or an over-long chain: reported by the types pass
        return None
    value = _fold(ctx, e)
    return value if isinstance(value, Decimal) else None


def _cases(e: n.Expr):
    """The values of a choice '{ a when …, otherwise b }', each a fixed amount or not."""
    if isinstance(e, n.Cases):
        return tuple(c.value for c in e.cases) + (e.otherwise,)
    return ()
