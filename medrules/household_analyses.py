"""What-if, diff and documents on a household file: quotas kept per holder, shared (docs/language.md §22.2).

A household's persons are settled together (:func:`medrules.household.settle_household`), so a fact of one
person can change what another is paid: I-1's visit that drew 70 on I-2's quota draws less when I-2's quota
shrinks. Every analysis here settles the whole household, before and after, and compares person by person
with the single member's machinery (:func:`medrules.analyses.whatif.differences`, the diff's attribution and
table, the explanation templates):

* **what-if** (``medrules explain RULEBOOK HOUSEHOLD.json --what-if …``): ``PERSON.member.FIELD=VALUE``
  changes one person's fact, ``PERSON.claim.FIELD=VALUE`` that person's claims (or those of them named with
  ``--claim``); without a person, ``member.FIELD=VALUE`` changes every person's fact and ``claim.FIELD=VALUE``
  every claim (or the ``--claim`` ones), as on one member's file. The result is a
  :class:`medrules.analyses.whatif.WhatIf` over the household's claims (each with its person), so its text,
  JSON, Markdown and HTML renderers show it, followed by the household's changed quotas and totals;
* **the facts that matter most**: every enumeration and yes/no fact of every person (member facts; claim facts
  on that person's selected claims), each tried at its other values, and each person's member dates (the
  nearest that pays more), the whole household settled each time;
* **diff** (``medrules diff OLD NEW HOUSEHOLD.json``): both rulebooks settle the household; the diff's claims
  table gains a person column, and each household file its quotas and totals before and after;
* **documents** (``--format markdown|html``): each person's explanation in one document, the household's view
  at the end (``household.md.j2`` / ``household.html.j2``, included by the shipped templates).
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.check.context import did_you_mean
from medrules.diagnostics import MedrulesError, error
from medrules.facts import Change, WrapsChange, parse_change, with_changes
from medrules.household import (HouseholdClaims, HouseholdSettlement, household_lines, household_summary,
                                load_household_claims, settle_household)
from medrules.source import Span

ZERO = Decimal(0)
WHAT_IF_SCHEMA = "medrules.household-what-if/1"


# ---------------------------------------------------------------- changes
@attrs.frozen
class PersonChange(WrapsChange):
    """A fact changed for one person of the household (``person`` None: for every person)."""

    person: str | None
    change: Change

    @property
    def text(self) -> str:
        return self.change.text


_HINT = ("PERSON.member.FIELD=VALUE (one person's fact), PERSON.claim.FIELD=VALUE (that person's claims), "
         "member.FIELD=VALUE or claim.FIELD=VALUE (every person, every claim)")


def parse_changes(texts: list[str], hc: HouseholdClaims, checked) -> list[PersonChange]:
    """``--what-if`` on a household file: each change located (``--what-if``), a person who is not in the file
    refused with the persons it holds."""
    from medrules.facts import MAX_TEXT, unsafe_text
    ids = [p.member_id for p in hc.people]
    out = []
    for text in texts:
        name = text.partition("=")[0].strip()
        span = Span("--what-if", 1, 1, 1, len(text) + 1)
        why = unsafe_text(text)
        if why is not None or len(text) > MAX_TEXT:
            raise MedrulesError(error("what-if", f"the change is too long or contains {why or 'too much'}", span,
                                      "write e.g. --what-if I-2.member.continuous=false"))
        person = None
        if not name.startswith(("member.", "claim.")):
            m = re.fullmatch(r"(.+)\.((?:member|claim)\..*)", name, re.S)
            if m is None:
                raise MedrulesError(error("what-if", f"'{text}' is not FACT=VALUE", span, _HINT))
            person = m.group(1)
            if person not in ids:
                hint = " ".join(filter(None, (did_you_mean(person, ids), "persons: " + ", ".join(ids))))
                raise MedrulesError(error("what-if", f"'{person}' is not a person of this household file", span, hint))
            text_rest = text.strip()[len(person) + 1:]
        else:
            text_rest = text
        change = parse_change(text_rest, checked)
        if change.field == "id":
            raise MedrulesError(error("what-if", f"'{change.record}.id' names the {change.record} in the household "
                                      "file: it cannot be changed", span, _HINT))
        out.append(PersonChange(person, attrs.evolve(change, text=text.strip())))
    return out


def with_person_changes(hc: HouseholdClaims, changes: list[PersonChange], claim_ids=None) -> HouseholdClaims:
    """The household with each change applied to its person (or to everyone)."""
    people = []
    for p in hc.people:
        mine = [c.change for c in changes if c.person in (None, p.member_id)]
        people.append(with_changes(p, mine, claim_ids) if mine else p)
    n = len(hc.members)
    return attrs.evolve(hc, members=tuple(people[:n]), designated=tuple(people[n:]))


# ---------------------------------------------------------------- what if?
@attrs.frozen
class HouseholdWhatIf:
    what_if: object  # a WhatIf over the household's selected claims, person by person (``persons``)
    before: HouseholdSettlement
    after: HouseholdSettlement

    def quotas(self) -> list[dict]:
        return quotas(self.before, self.after)


def quotas(before: HouseholdSettlement, after: HouseholdSettlement) -> list[dict]:
    """Every quota of the household (holder, year), before and after: quota, drawn, left."""
    def by(hs):
        return {(q["holder"], q["year"]): q for q in household_summary(hs)["quotas"]}
    b, a = by(before), by(after)
    empty = {"quota": ZERO, "drawn": ZERO, "left": ZERO}
    return [{"holder": key[0], "year": key[1],
             "before": {k: b.get(key, empty)[k] for k in empty}, "after": {k: a.get(key, empty)[k] for k in empty}}
            for key in list(b) + [k for k in a if k not in b]]


def _combined(program, hs: HouseholdSettlement):
    from medrules.evaluate import Settlement
    return Settlement(program.checked.id, hs.household.household_id, tuple(c for s in hs.settlements for c in s.claims))


def what_if(program, hc: HouseholdClaims, changes: list[PersonChange], lang: str = "zh",
            claim_ids: list[str] | None = None) -> HouseholdWhatIf:
    """Settle the household as given and with the changes (traced); each person's claims compared step by step."""
    from medrules.analyses.whatif import WhatIf, differences
    from medrules.explain import explain
    before = settle_household(program, hc, trace=True)
    try:
        after = settle_household(program, with_person_changes(hc, changes, claim_ids), trace=True)
    except MedrulesError as exc:  # the file settles as given: the change is what is wrong, said at --what-if
        raise MedrulesError([_at_change(d, changes) for d in exc.diagnostics]) from None
    diffs, persons = [], []
    for sb, sa in zip(before.settlements, after.settlements):
        mine = [c.id for c in sb.claims if not claim_ids or c.id in claim_ids]
        if not mine:  # explain() reads no claim ids as all of them
            continue
        found = differences(program, explain(program, sb, lang, mine), explain(program, sa, lang, mine), lang)
        diffs += found
        persons += [sb.member_id] * len(found)
    w = WhatIf(tuple(changes), lang, _combined(program, before), _combined(program, after), tuple(diffs), (), (),
               {name: fund.title(lang) for name, fund in program.all_funds()}, tuple(persons))
    return HouseholdWhatIf(w, before, after)


def _at_change(d, changes):
    """A problem the changes make (e.g. a holder who is not in the file), located at the change that names its
    value (else the first), with where the file's own value was as related."""
    text = next((c.text for c in changes if str(c.value) in d.message), changes[0].text)
    related = d.related + (("the file's value is here", d.span),) if d.span is not None else d.related
    return attrs.evolve(d, message=f"with --what-if {text}: {d.message}",
                        span=Span("--what-if", 1, 1, 1, len(text) + 1), related=related)


def sensitivity(program, hc: HouseholdClaims, claim_ids: list[str] | None = None, most: int = 5) -> tuple:
    """The enumeration and yes/no facts of every person that, set to another value, change what the funds pay on
    the household's (selected) claims most — each fact of each person once, at its most consequential value.
    Each candidate settles the whole household once (a household of n persons with m such facts each: about
    n × m × values settlements); so does each date tried for each member date fact of each person (the nearest
    date that pays more, as :func:`medrules.analyses.whatif.date_sensitivity` finds it for one member)."""
    from medrules.analyses.whatif import Sensitivity, candidates, date_sensitivity

    def paid(h):
        return sum((c.funds_paid for s in settle_household(program, h).settlements for c in s.claims
                    if not claim_ids or c.id in claim_ids), ZERO)
    base = paid(hc)
    found = []
    for person in hc.people:
        for change in candidates(program, person, claim_ids, prefix=f"{person.member_id}."):
            pc = PersonChange(person.member_id, change)
            try:
                delta = paid(with_person_changes(hc, [pc], claim_ids)) - base
            except MedrulesError:  # a value this rulebook cannot settle
                continue
            if delta:
                found.append(Sensitivity(pc, delta))
    found.sort(key=lambda s: (-abs(s.delta), s.change.text))
    best: dict = {}
    for s in found:
        best.setdefault((s.change.person, s.change.record, s.change.field), s)
    dated = []
    for person in hc.people:  # each member date fact of each person: the nearest date that pays more
        def with_change(change, pid=person.member_id):
            return paid(with_person_changes(hc, [PersonChange(pid, change)], claim_ids))
        for s in date_sensitivity(program, person, claim_ids, base, paid_with=with_change):
            pc = PersonChange(person.member_id, attrs.evolve(s.change, text=f"{person.member_id}.{s.change.text}"))
            dated.append(Sensitivity(pc, s.delta))
    ranked = sorted(list(best.values()) + dated, key=lambda s: (-abs(s.delta), s.change.text))
    allowed = program.checked.rulebook.actionable_facts()
    if allowed:
        ranked = [s for s in ranked if f"{s.change.record}.{s.change.field}" in allowed]
    return tuple(ranked[:most])


def what_if_lines(hw: HouseholdWhatIf, view: str) -> list[str]:
    """The household's part of a what-if: the totals, and each quota whose balance changes."""
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    lang = hw.what_if.lang
    _, f = gettext_for(lang), Formatter(lang, grid=view == "citizen")
    b, a = hw.before, hw.after
    out = [_("Household {household}: the funds pay {before} → {after}; the persons pay {member_before} → "
             "{member_after}.").format(household=b.household.household_id or "-", before=f.money(b.funds_paid),
                                       after=f.money(a.funds_paid), member_before=f.money(b.member_pays),
                                       member_after=f.money(a.member_pays))]
    changed = [q for q in hw.quotas() if q["before"] != q["after"]]
    for q in changed:
        qb, qa = q["before"], q["after"]
        if view == "citizen":
            out.append(_("The outpatient quota of {holder} ({year}): {quota_before}, {left_before} left → "
                         "{quota_after}, {left_after} left.").format(
                holder=q["holder"], year=q["year"], quota_before=f.money(qb["quota"]), left_before=f.money(qb["left"]),
                quota_after=f.money(qa["quota"]), left_after=f.money(qa["left"])))
        else:
            out.append(_("Quota of {holder} ({year}): {quota_before} − drawn {drawn_before} = {left_before} left → "
                         "{quota_after} − drawn {drawn_after} = {left_after} left.").format(
                holder=q["holder"], year=q["year"], quota_before=f.money(qb["quota"]),
                drawn_before=f.money(qb["drawn"]), left_before=f.money(qb["left"]),
                quota_after=f.money(qa["quota"]), drawn_after=f.money(qa["drawn"]), left_after=f.money(qa["left"])))
    if not changed:
        out.append(_("No quota's balance changes."))
    return out


def render_what_if(hw: HouseholdWhatIf, most=(), citizen: bool = False):
    from rich.console import Group
    from rich.text import Text

    from medrules.explain.i18n import gettext_for
    from medrules.explain.text import render_what_if as render
    _ = gettext_for(hw.what_if.lang)
    lines = what_if_lines(hw, "citizen" if citizen else "auditor")
    return Group(render(hw.what_if, most, citizen=citizen), Text(""), Text(_("The household"), style="bold"),
                 *(Text("  " + line) for line in lines))


def what_if_json(hw: HouseholdWhatIf, most=()) -> dict:
    """``medrules.household-what-if/1``: the what-if's document (its claims each with their person), the changes
    and the ranked facts with their person, and the household's quotas and totals before and after."""
    from medrules.explain.json import plain, what_if_json as base
    w = hw.what_if
    doc = base(w, most)
    doc["schema"] = WHAT_IF_SCHEMA
    doc["household"] = hw.before.household.household_id
    doc["changes"] = [{"person": c.person, **x} for c, x in zip(w.changes, doc["changes"])]
    doc["most_sensitive"] = [{"person": s.change.person, **x} for s, x in zip(most, doc["most_sensitive"])]
    for claim, person in zip(doc["claims"], w.persons):
        claim["person"] = person
    doc["quotas"] = plain(hw.quotas())
    doc["totals"] = {side: {"funds_paid": plain(hs.funds_paid), "member_pays": plain(hs.member_pays)}
                     for side, hs in (("before", hw.before), ("after", hw.after))}
    return doc


def what_if_document(hw: HouseholdWhatIf, most=(), view: str = "auditor", html: bool = False,
                     template_dir: str | Path | None = None) -> str:
    from medrules.explain.document import environment, what_if_context
    from medrules.explain.i18n import gettext_for
    ctx = what_if_context(hw.what_if, most, view)
    ctx["household"] = {"heading": gettext_for(hw.what_if.lang)("The household"), "lines": what_if_lines(hw, view)}
    return environment(template_dir).get_template("whatif.html.j2" if html else "whatif.md.j2").render(ctx)


# ---------------------------------------------------------------- the explanation as a document
def document_context(program, hs: HouseholdSettlement, docs: list, view: str, lang: str) -> dict:
    """One context over the persons' explanations (``docs``, one per person with claims): the claims in the
    order they were settled, each with its person, one summary, and the household's view at the end."""
    import datetime as dt

    from medrules.explain.document import Letter, context
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    h = program.checked.rulebook.header
    letter = Letter(office=h.office.best(lang) if h.office else None, appeal=h.appeal.best(lang) if h.appeal else None,
                    date=dt.date.today())
    parts = [(e, context(e, view, letter)) for e in docs]
    out = dict(parts[0][1])
    people = [p.member_id for p in hs.household.people]
    out["member_id"] = f"{hs.household.household_id or '-'} ({', '.join(people)})"
    out["member_name"] = None
    order = {}  # the order of settlement: date, then the file's order of persons and claims
    for i, s in enumerate(hs.settlements):
        for j, c in enumerate(s.claims):
            order[s.member_id, c.id] = (c.date, i, j)
    claims = []
    for e, ctx in parts:
        pid = e.settlement.member_id
        for c, item in zip(e.claims, ctx["claims"]):
            item = dict(item)
            if view == "citizen":
                item["heading"] = f"{pid} · {item['heading']}"
            else:
                item["id"] = f"{item['id']} ({pid})"
            claims.append((order[pid, c.result.id], item))
    out["claims"] = [item for _, item in sorted(claims, key=lambda x: x[0])]
    f = Formatter(lang, grid=view == "citizen")
    titles = {name: fund.title(lang) for name, fund in program.all_funds()}
    paid: dict = {}
    for e, _ctx in parts:
        for c in e.claims:
            for x in c.result.funds:
                paid[x.fund] = paid.get(x.fund, ZERO) + x.paid
    out["summary"] = {"total": f.money(hs.total_cost), "funds_paid": f.money(hs.funds_paid),
                      "yours": f.money(hs.member_pays),
                      "limits": [x for _, ctx in parts for x in ctx["summary"]["limits"]],
                      "funds": [{"fund": titles.get(k, k), "paid": f.money(v)} for k, v in paid.items() if v]}
    out["household"] = {"heading": gettext_for(lang)("The household"), "lines": household_lines(hs, lang, view)}
    return out


def explanation_document(program, hs: HouseholdSettlement, docs: list, view: str, lang: str, html: bool,
                         template_dir: str | Path | None = None) -> str:
    from medrules.explain.document import environment
    template = "letter.html.j2" if html else "explanation.md.j2"
    return environment(template_dir).get_template(template).render(document_context(program, hs, docs, view, lang))


# ---------------------------------------------------------------- medrules explain on a household file
def explain(program, source, claim_ids, what_if_texts, view: str, format_: str, lang: str, template_dir=None):
    """``medrules explain RULEBOOK HOUSEHOLD.json`` with ``--what-if`` or ``--format markdown|html``: the
    document as a string (JSON, Markdown, HTML) or a rich renderable (text)."""
    import json

    from medrules.explain import explain as explain_settlement
    hc = load_household_claims(source, program.checked)
    known = {c.id for p in hc.people for c in p.claims}
    for cid in claim_ids or []:
        if cid not in known:
            raise MedrulesError(error("facts", f"there is no claim '{cid}' in {source.name}",
                                      hint="claims in the file: " + ", ".join(sorted(known))))
    if what_if_texts:
        changes = parse_changes(list(what_if_texts), hc, program.checked)
        hw = what_if(program, hc, changes, lang, claim_ids)
        most = sensitivity(program, hc, claim_ids)
        if format_ == "json":
            return json.dumps(what_if_json(hw, most), ensure_ascii=False, indent=2)
        if format_ in ("markdown", "html"):
            return what_if_document(hw, most, view, format_ == "html", template_dir)
        return render_what_if(hw, most, citizen=view == "citizen")
    hs = settle_household(program, hc, trace=True)
    docs = []
    for s in hs.settlements:
        mine = [c.id for c in s.claims if not claim_ids or c.id in claim_ids]
        if mine:
            docs.append(explain_settlement(program, s, lang, mine))
    if not docs:
        raise MedrulesError(error("facts", f"no person of {source.name} has a claim to explain", None,
                                  "settle the household with 'medrules run RULEBOOK HOUSEHOLD.json'"))
    return explanation_document(program, hs, docs, view, lang, format_ == "html", template_dir)


# ---------------------------------------------------------------- medrules diff OLD NEW HOUSEHOLD.json
@attrs.frozen
class Flat:
    """A household's settlement as one list of claims (person by person), for the diff's stages."""

    member_id: str
    claims: tuple
    persons: tuple  # whose each claim is


def settle_any(program, facts) -> object:
    """One stage of the diff: a household's persons together (every claim, in force or not), else one member."""
    from medrules.evaluate import settle
    if not isinstance(facts, HouseholdClaims):
        return settle(program, facts, in_force_only=False)
    hs = settle_household(program, facts, in_force_only=False)
    return Flat(facts.household_id, tuple(c for s in hs.settlements for c in s.claims),
                tuple(s.member_id for s in hs.settlements for _ in s.claims))


def household_for_both(source, old, new) -> HouseholdClaims:
    """A household file checked against both rulebooks: each person's facts as :func:`medrules.facts.facts_for_both`
    reads one member's (a fact only one rulebook declares is read, or defaulted, too)."""
    a, b = load_household_claims(source, old.checked), load_household_claims(source, new.checked)

    def both(x, y):
        claims = tuple(attrs.evolve(cy, values=cx.values | cy.values, spans=cx.spans | cy.spans)
                       for cx, cy in zip(x.claims, y.claims))
        return attrs.evolve(x, member=y.member | x.member, claims=claims)
    return attrs.evolve(a, values=b.values | a.values, members=tuple(map(both, a.members, b.members)),
                        designated=tuple(map(both, a.designated, b.designated)))


@attrs.frozen
class HouseholdDiff:
    household: str
    before: HouseholdSettlement  # under the old rulebook
    after: HouseholdSettlement  # under the new one


def diff(read, old, new, paths, lang: str):
    """``medrules diff OLD NEW FACTS…`` for rulebooks that keep quotas per holder: a household file's persons
    settled together under each stage (their claims each with its person in the table), and each household's
    quotas and totals under both rulebooks; a member's facts file as for any rulebook."""
    from medrules.analyses.diff import diff as compare
    from medrules.analyses.diff_contrib import diff_facts
    from medrules.household import is_household_file
    facts_list = []
    for path in paths:
        source = read(path)
        facts_list.append(household_for_both(source, old, new) if is_household_file(source)
                          else diff_facts(source, old, new))
    d = compare(old, new, facts_list, lang, settle_with=settle_any)
    households = tuple(HouseholdDiff(hc.household_id, settle_household(old, hc, in_force_only=False),
                                     settle_household(new, hc, in_force_only=False))
                       for hc in facts_list if isinstance(hc, HouseholdClaims))
    return attrs.evolve(d, households=households)


def households_json(d, lang: str) -> list[dict]:
    from medrules.explain.json import plain
    return [{"id": h.household, "quotas": plain(quotas(h.before, h.after)),
             "totals": {side: {"funds_paid": plain(hs.funds_paid), "member_pays": plain(hs.member_pays)}
                        for side, hs in (("before", h.before), ("after", h.after))}} for h in d.households]


def households_markdown(d, lang: str) -> list[str]:
    """Per household file: its quotas under both rulebooks (quota, drawn, left: before → after) and its totals."""
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    _, f = gettext_for(lang), Formatter(lang)
    out = []
    for h in d.households:
        out += ["", "## " + _("The household") + f" {h.household or '-'}", "",
                "| " + " | ".join((_("holder"), _("year"), _("quota"), _("drawn"), _("left"))) + " |",
                "|---|---|---:|---:|---:|"]
        for q in quotas(h.before, h.after):
            qb, qa = q["before"], q["after"]
            out.append(f"| {q['holder']} | {q['year']} | " + " | ".join(
                f"{f.number(qb[k])} → {f.number(qa[k])}" if qb[k] != qa[k] else f.number(qb[k])
                for k in ("quota", "drawn", "left")) + " |")
        out += ["", _("Household {household}: the funds pay {before} → {after}; the persons pay {member_before} → "
                      "{member_after}.").format(household=h.household or "-", before=f.money(h.before.funds_paid),
                                                after=f.money(h.after.funds_paid),
                                                member_before=f.money(h.before.member_pays),
                                                member_after=f.money(h.after.member_pays))]
    return out
