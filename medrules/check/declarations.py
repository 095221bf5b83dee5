"""Declarations: the header, sources, enumerations, facts, parameters, accumulators and funds.

Finds duplicate definitions and unknown type names, and fills the context's
name tables that the later passes resolve against.
"""
from __future__ import annotations

from decimal import Decimal

from medrules import nodes as n
from medrules.check.context import Context, did_you_mean
from medrules.units import TYPE_NAMES, Type

ROUNDING_MODES = {"half_up": "ROUND_HALF_UP", "half_even": "ROUND_HALF_EVEN", "down": "ROUND_DOWN",
                  "up": "ROUND_UP"}
ROUNDING_SCOPES = {"payment"}
RECORD_KINDS = ("member", "claim", "household")  # household: facts of a member's household (contributions only)
# Any other 'facts NAME { … }' declares a history: a list of records (contribution periods, interruptions),
# given in the facts file under the plural key (history_key), read with any/every/count/sum/latest(NAME, …).
RESERVED_KINDS = ("opening", "claims", "members", "history", "households")


def is_history(kind: str) -> bool:
    """Whether 'facts KIND { … }' declares a history (a list of records) rather than a record kind of its own."""
    return kind not in RECORD_KINDS


def history_key(kind: str) -> str:
    """The facts-file key of a history: 'period' -> 'periods', 'interruption' -> 'interruptions'."""
    return kind + "s"
ACCUMULATOR_PERIODS = ("year",)
DAY_COUNTS = ("inclusive", "exclusive")
MIN_QUANTUM, MAX_QUANTUM = Decimal("0.01"), Decimal(10000)  # the fen is the smallest unit of the yuan


def check(ctx: Context) -> None:
    rb = ctx.rulebook
    check_header(ctx, rb.header, rb)
    check_layers(ctx, rb.header)
    _declare(ctx, ctx.sources, rb.sources, "source")
    if ctx.base is not None:  # a supplement shares the base scheme's enumerations and facts
        ctx.enums.update(ctx.base.enums)
        ctx.field_types.update(ctx.base.field_types)
    _declare(ctx, ctx.enums, rb.enums, "enumeration")
    for enum in rb.enums:
        _declare(ctx, {}, enum.members, "member", f" in enumeration '{enum.name}'")
    check_records(ctx, rb.records)
    _declare(ctx, ctx.parameters, rb.parameters, "parameter")
    _declare(ctx, ctx.accumulators, rb.accumulators, "accumulator")
    _declare(ctx, ctx.funds, rb.funds, "fund")
    check_bare_names(ctx)
    for p in rb.parameters:
        resolve_type(ctx, p.type_name, p.type_span)
    for acc in rb.accumulators:
        t = resolve_type(ctx, acc.type_name, acc.type_span)
        if t is not None and t.unit != "money":
            ctx.error("unit", f"accumulator '{acc.name}' must count money, not {t}", acc.type_span,
                      "declare it as 'accumulator NAME: money per year'")
        if acc.period not in ACCUMULATOR_PERIODS:
            ctx.error("unknown-period", f"unknown accumulator period '{acc.period}'", acc.period_span,
                      "accumulators are kept 'per year' (the benefit year declared in the header)")
    if rb.total is None and (rb.funds or not rb.contributions) and not rb.memberships:  # routes settle no claims
        ctx.error("missing", "the rulebook does not say what a claim's total cost is", rb.span,
                  "add e.g. 'total cost is claim.compliant_cost + claim.self_paid'")


def check_header(ctx: Context, header: n.Header | None, rb: n.Rulebook) -> None:
    if header is None:
        ctx.error("missing", "the rulebook has no 'rulebook \"id\" { … }' header", rb.span,
                  "start the file with a header naming the rulebook, its effective date and rounding")
        return
    if header.rounding is None:
        ctx.error("missing", "the rulebook does not declare its rounding", header.span,
                  "add e.g. 'rounding half_up to 0.01 yuan per payment'")
    else:
        r = header.rounding
        if r.mode not in ROUNDING_MODES:
            ctx.error("unknown-name", f"unknown rounding mode '{r.mode}'", r.mode_span or r.span,
                      did_you_mean(r.mode, ROUNDING_MODES) or "expected one of " + ", ".join(ROUNDING_MODES))
        if r.scope not in ROUNDING_SCOPES:
            ctx.error("unknown-name", f"unknown rounding scope '{r.scope}'", r.scope_span or r.span,
                      "rounding applies 'per payment' (each fund's payment on each claim)")
        q = r.quantum.normalize()
        if q <= 0 or q.as_tuple().digits != (1,) or not MIN_QUANTUM <= q <= MAX_QUANTUM:
            ctx.error("unit", f"rounding is to a power of ten of a yuan from 0.01 (the fen) to 10,000, "
                      f"not {format(q, 'f')}", r.span,
                      "write e.g. 'rounding half_up to 0.01 yuan per payment' (to the fen)")
    if header.day_count not in DAY_COUNTS:
        ctx.error("unknown-name", f"days are counted 'inclusive' or 'exclusive', not '{header.day_count}'",
                  header.day_count_span or header.span,
                  "inclusive: the first day (e.g. the payment day) is day 1; exclusive: the day after it is day 1")
    if header.effective_from is None:
        ctx.error("missing", "the rulebook does not say when it takes effect", header.span,
                  "add e.g. 'effective from 2012-01-01'")
    elif header.effective_to and header.effective_to < header.effective_from:
        ctx.error("bad-date", "the rulebook's effective period ends before it starts", header.span)
    if header.dated_by is None and (rb.funds or not rb.contributions):
        ctx.error("missing", "the rulebook does not say which date places a claim in a benefit year",
                  header.span, "add e.g. 'year starts 01-01 by claim.date'")


def check_layers(ctx: Context, header: n.Header | None) -> None:
    layers = header.layers_on if header else None
    if layers is None:
        return
    if ctx.base is None:
        ctx.error("layering", f"this rulebook layers on '{layers.path}', which was not loaded with it", layers.span,
                  "load it with medrules.load(path) or the medrules command, which load the base first")
        return
    base = ctx.base.rulebook.header
    if (base.year_starts, base.dated_by.text if base.dated_by else None) != (
            header.year_starts, header.dated_by.text if header.dated_by else None):
        ctx.error("layering", f"a supplement must keep the benefit year of the scheme it layers on "
                  f"('{ctx.base.id}')", header.span,
                  "state the same 'year starts MM-DD by claim.FIELD' as the base rulebook")
    if layers.alias in RECORD_KINDS:
        ctx.error("layering", f"'{layers.alias}' cannot name the base scheme: it names facts", layers.span)


def check_records(ctx: Context, records: tuple[n.Record, ...]) -> None:
    seen: dict[str, n.Record] = {}
    if ctx.base is not None:
        for kind, fields in ctx.base.records.items():
            ctx.records[kind] = dict(fields)
    for rec in records:
        if rec.kind not in RECORD_KINDS and (did_you_mean(rec.kind, RECORD_KINDS) or rec.kind in RESERVED_KINDS):
            ctx.error("unknown-name", f"facts are declared for 'member', 'claim', 'household' or a history, not "
                      f"'{rec.kind}'", rec.span, did_you_mean(rec.kind, RECORD_KINDS)
                      or f"'{rec.kind}' names something else in the facts file; call the history another name")
            continue
        if rec.kind in seen:
            ctx.error("duplicate", f"'facts {rec.kind}' is declared twice", rec.span,
                      related=(("first declared here", seen[rec.kind].span),))
            continue
        seen[rec.kind] = rec
        fields: dict[str, n.Field] = {}
        _declare(ctx, fields, rec.fields, f"{rec.kind} field")
        inherited = ctx.records.get(rec.kind, {})
        for f in rec.fields:
            if f.name in inherited:
                ctx.error("duplicate", f"{rec.kind} fact '{f.name}' is already declared by the rulebook this one "
                          f"layers on", f.span, "use it as it is declared there, or give this one another name",
                          related=(("declared here", inherited[f.name].span),))
        ctx.records[rec.kind] = inherited | fields
        for f in rec.fields:
            t = resolve_type(ctx, f.type_name, f.type_span)
            if t is not None and f.is_set:
                if t.unit != "enum":
                    ctx.error("unknown-type", f"'set of' takes an enumeration, not {t}", f.type_span,
                              "declare the members with 'enum NAME { … }'")
                    continue
                t = Type("set", t.enum)
            if t is not None:
                ctx.field_types[f] = t
    for kind in RECORD_KINDS:
        ctx.records.setdefault(kind, {})


def resolve_type(ctx: Context, name: str, span) -> Type | None:
    if name in TYPE_NAMES:
        return TYPE_NAMES[name]
    if name in ctx.enums:
        return Type("enum", name)
    ctx.error("unknown-type", f"unknown type '{name}'", span,
              did_you_mean(name, list(TYPE_NAMES) + list(ctx.enums))
              or "types are money, rate, points, relpct, days, months, date, count, bool, text, "
                 "or a declared enumeration")
    return None


def type_of_name(ctx: Context, name: str) -> Type | None:
    if name in TYPE_NAMES:
        return TYPE_NAMES[name]
    if name in ctx.enums:
        return Type("enum", name)
    return None


def check_bare_names(ctx: Context) -> None:
    """Parameters, accumulators, funds and enumeration members are all written as bare
    names in expressions, so one name may mean only one of them."""
    owners: dict[str, tuple[str, object]] = {}
    kinds = [("parameter", ctx.parameters.values()), ("accumulator", ctx.accumulators.values()),
             ("fund", ctx.funds.values()),
             ("enumeration member", [m for e in ctx.enums.values() for m in e.members])]
    for kind, items in kinds:
        for item in items:
            if item.name in owners and owners[item.name][0] != kind:
                first_kind, first = owners[item.name]
                ctx.error("duplicate", f"'{item.name}' names both a {first_kind} and a {kind}", item.span,
                          "give each its own name: in formulas a bare name must mean one thing",
                          related=((f"the {first_kind}", first.span),))
            else:
                owners.setdefault(item.name, (kind, item))


def _declare(ctx: Context, table: dict, items, what: str, where: str = "") -> None:
    for item in items:
        if item.name in table:
            ctx.error("duplicate", f"{what} '{item.name}' is defined twice{where}", item.span,
                      "give each definition its own name",
                      related=(("first defined here", table[item.name].span),))
        else:
            table[item.name] = item
