"""Citations: every provision says where it comes from.

A provision is a parameter or a fund clause that decides money (applies, deductible,
cap, rate, bands, adjust). It cites a declared source (or is marked ``assumed``),
itself or through its fund's citation.
"""
from __future__ import annotations

import attrs

from medrules import nodes as n
from medrules.check.context import Context, did_you_mean

PROVISIONS = (n.Applies, n.Exclude, n.Deductible, n.Cap, n.Rate, n.Bands, n.Flat, n.Adjust)


def check(ctx: Context) -> None:
    for p in ctx.rulebook.parameters:
        if p.citation is None:
            ctx.error("citation", f"parameter '{p.name}' does not cite its source", p.span,
                      "add 'cites SOURCE at \"article\" \"quoted text\"', or 'assumed \"why\"' for a value "
                      "the documents do not state")
        else:
            check_citation(ctx, p.citation, p.span, f"parameter '{p.name}'")
    header = ctx.rulebook.header
    if header is not None and header.effective_citation is not None:
        check_citation(ctx, header.effective_citation, header.span, "the effective period")
    if header is not None and header.day_count_citation is not None:
        check_citation(ctx, header.day_count_citation, header.span, "the day count")
    for top in ctx.rulebook.exclusions + ctx.rulebook.treatments:
        if top.citation is None or not _cites(top.citation):
            ctx.error("citation", "this provision does not cite its source", top.span,
                      "add 'cites SOURCE at \"article\" \"quoted text\"'")
        else:
            check_citation(ctx, top.citation, top.span, "this provision")
    for fund in ctx.rulebook.funds:
        if fund.citation is not None:
            check_citation(ctx, fund.citation, fund.span, f"fund '{fund.name}'")
        for clause in fund.clauses:
            if isinstance(clause, n.Cliff):
                check_cliff_citation(ctx, clause)
                continue
            if not isinstance(clause, PROVISIONS):
                if clause_citation(clause) is not None:
                    check_citation(ctx, clause.citation, clause.span, "this clause", required=False)
                continue
            own = clause.citation
            if own is not None and (own.source or own.assumed):
                check_citation(ctx, own, clause.span, "this provision")
            elif not _cites(fund.citation):
                ctx.error("citation", "this provision does not cite its source", clause.span,
                          "add 'cites SOURCE at \"article\" \"quoted text\"' (or 'assumed \"why\"' "
                          "for a value the documents do not state)")


def check_cliff_citation(ctx: Context, c: n.Cliff) -> None:
    """A declared cliff exempts a drop in payment from 'monotone': only the policy's own words can say
    so. It cites a source with the quoted text itself (the fund's citation, or 'assumed', is not enough)."""
    cit = c.citation
    if cit is None or cit.source is None or not cit.quote:
        ctx.error("citation", "a declared cliff must cite the policy text that makes the payout drop",
                  (cit.span if cit is not None else c.span),
                  "add 'cites SOURCE at \"article\" \"quoted text\"': a cliff is never an assumption")
        return
    check_citation(ctx, cit, c.span, "this cliff")


def clause_citation(clause) -> n.Citation | None:
    return getattr(clause, "citation", None)


def citation_of(fund: n.Fund, clause) -> n.Citation | None:
    """The citation that applies to a clause: its own, else its fund's (with the clause's own note)."""
    own = clause_citation(clause)
    if own is not None and (own.source or own.assumed):
        return own
    if own is not None and own.note and fund.citation is not None:
        return attrs.evolve(fund.citation, note=own.note)
    return fund.citation


def _cites(c: n.Citation | None) -> bool:
    return c is not None and (c.source is not None or c.assumed)


def check_citation(ctx: Context, c: n.Citation, span, what: str, required: bool = True) -> None:
    if c.source is None and not c.assumed:
        if required:
            ctx.error("citation", f"{what} has a note but no source", c.span,
                      "add 'cites SOURCE …' before the note")
        return
    if c.source is not None and c.source not in ctx.sources:
        ctx.error("unknown-source", f"'{c.source}' is not a declared source", c.source_span or c.span,
                  did_you_mean(c.source, ctx.sources) or f"declare it: 'source {c.source} {{ number \"…\" }}'")
