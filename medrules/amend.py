"""Amendments: a policy year written as the changes to the year before.

``amends "residents-earlier.mr"`` in a rulebook's header makes it that rulebook with:

* the amendment's header (its id, title, effective period; anything it leaves out — scheme,
  jurisdiction, benefit year, day count, rounding, layering — is inherited);
* every parameter and fund the amendment states replacing the one of the same name, in place;
* everything else it states (sources, enumerations, facts, accumulators, exclusions,
  treatments, funds, the total cost) added.

Nodes keep the file and line they were written at, so every explanation and ``medrules
show`` say which year's rulebook (and document) each provision comes from. Resolution
happens before checking: the checker sees one rulebook.
"""
from __future__ import annotations

import attrs

from medrules import nodes as n
from medrules.diagnostics import MedrulesError, error


def apply(base: n.Rulebook, amendment: n.Rulebook, at=None) -> n.Rulebook:
    """``at``: the span of the ``amends`` clause, where a base without a header is reported."""
    if base.header is None:
        raise MedrulesError(error("amendment", "the rulebook this one amends has no 'rulebook \"id\" { … }' header",
                                  at or amendment.span, "amend a complete rulebook"))
    problems = []
    header = merge_header(base.header, amendment.header)
    for kind, old, new in (("source", base.sources, amendment.sources), ("enumeration", base.enums, amendment.enums),
                           ("accumulator", base.accumulators, amendment.accumulators)):
        known = {x.name: x for x in old}
        for x in new:
            if x.name in known:
                problems.append(error("amendment", f"{kind} '{x.name}' is already declared by the rulebook this one "
                                      "amends", x.span, "an amendment restates parameters and funds; declare only "
                                      "what is new", related=(("declared here", known[x.name].span),)))
    if problems:
        raise MedrulesError(problems)
    return attrs.evolve(
        base,
        file=amendment.file,
        header=header,
        sources=base.sources + amendment.sources,
        enums=base.enums + amendment.enums,
        records=merge_records(base.records, amendment.records),
        parameters=replace_by_name(base.parameters, amendment.parameters),
        accumulators=base.accumulators + amendment.accumulators,
        funds=replace_by_name(base.funds, amendment.funds),
        total=amendment.total or base.total,
        span=amendment.span,
        exclusions=base.exclusions + amendment.exclusions,
        treatments=base.treatments + amendment.treatments,
        readings=replace_by_name(base.readings, amendment.readings),
        actionable=base.actionable + amendment.actionable,
        contributions=replace_by_name(base.contributions, amendment.contributions),
    )


def merge_header(base: n.Header, new: n.Header) -> n.Header:
    """The amendment's header; what it does not state is the amended rulebook's."""
    def pick(field, missing=None):
        value = getattr(new, field)
        return getattr(base, field) if value is missing else value

    dated = new.dated_by is not None
    return attrs.evolve(
        new,
        title=pick("title"), scheme=pick("scheme"), jurisdiction=pick("jurisdiction"),
        year_starts=new.year_starts if dated else base.year_starts,
        dated_by=new.dated_by if dated else base.dated_by,
        rounding=pick("rounding"),
        day_count=new.day_count if new.day_count_span is not None else base.day_count,
        day_count_span=new.day_count_span or base.day_count_span,
        day_count_citation=new.day_count_citation or base.day_count_citation,
        layers_on=pick("layers_on"),
        amends=new.amends,
        office=pick("office"), appeal=pick("appeal"),
    )


def merge_records(base: tuple[n.Record, ...], new: tuple[n.Record, ...]) -> tuple[n.Record, ...]:
    """An amendment's 'facts claim { … }' adds fields to the claim facts."""
    out = {r.kind: r for r in base}
    for r in new:
        out[r.kind] = attrs.evolve(out[r.kind], fields=out[r.kind].fields + r.fields) if r.kind in out else r
    return tuple(out.values())


def replace_by_name(old: tuple, new: tuple) -> tuple:
    restated = {x.name: x for x in new}
    kept = tuple(restated.pop(x.name, x) for x in old)
    return kept + tuple(restated.values())
