"""Contributions: what a member owes for a year's cover (the premium side), checked.

* each ``contribution`` has one ``premium`` (money), at most one ``applies when`` and one ``prorate``;
  subsidies (money, each with an optional condition) have distinct names;
* a contribution reads member facts, parameters and enumeration members only (it settles no claim,
  so there are no claim facts, accumulators or fund outputs to read);
* ``prorate from MM-DD to MM-DD`` covers whole calendar months (from a 1st to a month's last day),
  with a declared rounding mode and a power-of-ten quantum;
* every clause that decides money (applies, premium, subsidy, prorate) cites a source or is
  ``assumed``, itself or through its contribution's citation.

One name per clause kind: grammar rule ``premium``, node :class:`~medrules.nodes.Premium`,
``check_premium`` here, plan operation ``Premium`` and scalar ``settle_premium``, trace step ``premium``.
"""
from __future__ import annotations

import calendar

from medrules import nodes as n
from medrules import units
from medrules.check.citations import _cites, check_citation
from medrules.check.context import Context, did_you_mean
from medrules.check.declarations import ROUNDING_MODES
from medrules.check.types import _refs, expect

READABLE = ("param", "enum_member")


def check(ctx: Context) -> None:
    seen: dict[str, n.Contribution] = {}
    for c in ctx.rulebook.contributions:
        if c.name in seen:
            ctx.error("duplicate", f"contribution '{c.name}' is defined twice", c.span,
                      "give each contribution its own name", related=(("first defined here", seen[c.name].span),))
        seen.setdefault(c.name, c)
        check_contribution(ctx, c)
    check_household_reads(ctx)


def check_household_reads(ctx: Context) -> None:
    """Household facts (``facts household { … }``) are read by contributions only: a claim is settled for one
    member, and its facts file has no household."""
    if not ctx.records.get("household"):
        return
    allowed = set()
    for c in ctx.rulebook.contributions:
        for clause in c.clauses:
            for e in (getattr(clause, "amount", None), getattr(clause, "when", None)):
                if e is not None:
                    allowed |= {id(r) for r in _refs(e)}
    for ref, res in list(ctx.resolved.items()):
        if res is not None and res.kind == "fact" and res.detail == "household" and id(ref) not in allowed:
            ctx.error("contribution", f"'{ref.text}' is a household fact: only a contribution can read it", ref.span,
                      "a claim is settled for one member: declare the fact in 'facts member { … }' to read it here")


def check_contribution(ctx: Context, c: n.Contribution) -> None:
    for kind, what in ((n.Premium, "premium"), (n.Applies, "applies when"), (n.Prorate, "prorate")):
        clauses = c.clause(kind)
        for extra in clauses[1:]:
            ctx.error("duplicate", f"contribution '{c.name}' states '{what}' twice", extra.span,
                      related=(("first stated here", clauses[0].span),))
    if not c.clause(n.Premium):
        ctx.error("missing", f"contribution '{c.name}' does not say what the premium is", c.span,
                  "add e.g. 'premium { 380 yuan when member.tier == tier2, otherwise 280 yuan }'")
    names: dict[str, n.Subsidy] = {}
    for s in c.clause(n.Subsidy):
        if s.name in names:
            ctx.error("duplicate", f"subsidy '{s.name}' is stated twice in contribution '{c.name}'", s.name_span,
                      "give each subsidy its own name", related=(("first stated here", names[s.name].span),))
        names.setdefault(s.name, s)
    if c.citation is not None:
        check_citation(ctx, c.citation, c.span, f"contribution '{c.name}'")
    for clause in c.clauses:
        CLAUSE_CHECKS[type(clause)](ctx, c, clause)
        own = clause.citation
        if own is not None and (own.source or own.assumed):
            check_citation(ctx, own, clause.span, "this provision")
        elif not _cites(c.citation):
            ctx.error("citation", "this provision does not cite its source", clause.span,
                      "add 'cites SOURCE at \"article\" \"quoted text\"' (or 'assumed \"why\"' "
                      "for a value the documents do not state)")


def check_applies(ctx: Context, c: n.Contribution, clause: n.Applies) -> None:
    _expect(ctx, clause.when, units.BOOL, "'applies when'")


def check_premium(ctx: Context, c: n.Contribution, clause: n.Premium) -> None:
    _expect(ctx, clause.amount, units.MONEY, "a premium")


def check_subsidy(ctx: Context, c: n.Contribution, clause: n.Subsidy) -> None:
    _expect(ctx, clause.amount, units.MONEY, f"subsidy '{clause.name}'")
    if clause.when is not None:
        _expect(ctx, clause.when, units.BOOL, "a subsidy's condition")


def check_prorate(ctx: Context, c: n.Contribution, clause: n.Prorate) -> None:
    if clause.when is not None:
        _expect(ctx, clause.when, units.BOOL, "the condition of 'prorate'")
    if clause.mode not in ROUNDING_MODES:
        ctx.error("unknown-name", f"unknown rounding mode '{clause.mode}'", clause.mode_span,
                  did_you_mean(clause.mode, ROUNDING_MODES) or "expected one of " + ", ".join(ROUNDING_MODES))
    q = clause.quantum
    if q <= 0 or q.normalize().as_tuple().digits != (1,):
        ctx.error("unit", f"rounding is to a power of ten of a yuan (0.01, 0.1, 1, 10 …), not {q}", clause.span,
                  "write e.g. 'rounding half_up to 1 yuan' (to the yuan)")
    (m1, d1), (m2, d2) = clause.start, clause.end
    if d1 != 1:
        ctx.error("prorate", "a part-year period starts on the 1st of a month", clause.start_span,
                  "the premium is shared by whole calendar months: write e.g. 'from 09-01'")
    if d2 != calendar.monthrange(2001, m2)[1]:  # a common year: a period ending 02-28 ends February
        ctx.error("prorate", "a part-year period ends on the last day of a month", clause.end_span,
                  f"write e.g. 'to {m2:02}-{calendar.monthrange(2001, m2)[1]:02}'")
    if (m2, d2) < (m1, d1):
        ctx.error("prorate", "the part-year period ends before it starts", clause.span,
                  "both days are in the contribution year: 'from 09-01 to 12-31'")


CLAUSE_CHECKS = {n.Applies: check_applies, n.Premium: check_premium, n.Subsidy: check_subsidy,
                 n.Prorate: check_prorate}


def _expect(ctx: Context, expr: n.Expr, want, what: str) -> None:
    expect(ctx, expr, want, what, fund=None)
    for ref in _refs(expr):
        res = ctx.resolved.get(ref)
        if res is None:
            continue
        if res.kind == "fact" and res.detail == "claim":
            ctx.error("contribution", f"a contribution cannot read the claim fact '{ref.text}'", ref.span,
                      "what a member owes depends on the member: use a 'member.…' fact")
        elif res.kind != "fact" and res.kind not in READABLE:
            ctx.error("contribution", f"a contribution cannot read '{ref.text}' (a {res.kind.replace('_', ' ')})",
                      ref.span, "use member facts, parameters and enumeration members")
