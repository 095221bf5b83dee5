"""A household's claims settled together: quotas kept per holder shared between its members (定额包干).

Chongqing 2017: "定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付费用". A household facts file
gives the household, its members (the relatives) and the persons a member designated, each as a facts
document of their own (``{"member": {…}, "claims": […]}``; a bare member record has no claims)::

    {"household": {"id": "H-1"},
     "members": [{"member": {"id": "I-1", …}, "claims": […]}, {"member": {"id": "I-2", …}}],
     "designated": [{"member": {"id": "D-1", …}, "claims": […]}]}

Every person's claims are settled in one date order (ties: the order of the file), each member's
accumulators their own, the quotas (:mod:`medrules.evaluate.quota`) shared: a claim draws on the holders
it names. :func:`settle_household` returns each person's settlement and the draws; :func:`household_text`
and :func:`household_json` are the household's view for ``medrules run`` (zh/en, citizen/auditor).
"""
from __future__ import annotations

import decimal
import heapq
from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.facts import Facts, _record, read_json, validate
from medrules.jsonfile import Located
from medrules.source import SourceFile

ZERO = Decimal(0)
KEYS = ("household", "members", "designated")


@attrs.frozen
class HouseholdClaims:
    household_id: str
    values: dict  # the household's facts (when the rulebook declares them)
    members: tuple[Facts, ...]  # the relatives, in the file's order
    designated: tuple[Facts, ...]  # persons a member designated
    # a group of households rebuilt from a batch's rows (medrules.batch.hexplain), settled as the batch settled it:
    ties: dict = attrs.field(factory=dict)  # claim id -> its input row: date ties broken by it, whoever's claim
    houses: dict = attrs.field(factory=dict)  # person -> household: a draw is a relative's when both share one

    @property
    def people(self) -> tuple[Facts, ...]:
        return self.members + self.designated


def is_household_file(source: SourceFile) -> bool:
    """Whether a facts file is a household's (a JSON object with 'members')."""
    top = read_json(source).value
    return isinstance(top, dict) and "members" in top


def load_household_claims(source: SourceFile, checked) -> HouseholdClaims:
    """A household facts file, each person checked as a facts file of their own (located errors)."""
    doc = read_json(source)
    top = doc.value
    problems = []
    if not isinstance(top, dict) or "members" not in top:
        raise MedrulesError(error("facts", "a household's facts file holds 'members'", doc.span,
                                  'write {"household": {…}, "members": [{"member": {…}, "claims": […]}, …]}'))
    for key in top:
        if key not in KEYS:
            problems.append(error("facts", f"'{key}' is not part of a household's facts file", doc.keys[key],
                                  "a household file holds 'household', 'members' (relatives) and 'designated' "
                                  "(persons a member let use their quota)"))
    values = {}
    if top.get("household") is not None:
        if checked.records.get("household"):
            values = _record(top["household"], checked, "household", "household", problems)
        elif not isinstance(top["household"].value, dict) or set(top["household"].value) - {"id"}:
            problems.append(error("facts", "this rulebook declares no household facts: 'household' may give its "
                                  "'id' only", top["household"].span, 'write "household": {"id": "H-1"}'))
        else:  # only its id is read (the rulebook declares no others)
            hid = top["household"].value.get("id")
            values = {"id": str(hid.value)} if hid is not None and isinstance(hid.value, (str, Decimal)) else {}
    groups, spans = {}, []
    for key in ("members", "designated"):
        item = top.get(key)
        people = []
        if item is None:
            groups[key] = ()
            continue
        if not isinstance(item.value, list) or (key == "members" and not item.value):
            problems.append(error("facts", f"'{key}' must be a list of persons' facts", item.span,
                                  f'write "{key}": [{{"member": {{"id": "A", …}}, "claims": […]}}, …]'))
            groups[key] = ()
            continue
        for i, entry in enumerate(item.value):
            if not isinstance(entry.value, dict):
                problems.append(error("facts", f"{key}[{i}] must be a JSON object", entry.span))
                continue
            if "member" not in entry.value:  # a bare member record: a person with no claims
                entry = Located({"member": entry}, entry.span, {"member": entry.span})
            if "claims" not in entry.value:  # a person with no claims of their own (a holder only)
                entry = Located(entry.value | {"claims": Located([], entry.span)}, entry.span,
                                (entry.keys or {}) | {"claims": entry.span})
            try:
                people.append(validate(entry, checked, source.name))
                spans.append(entry.span)
            except MedrulesError as exc:
                problems += exc.diagnostics
        groups[key] = tuple(people)
    if problems:
        raise MedrulesError(problems[:50])
    seen: dict[str, int] = {}
    for i, person in enumerate(groups["members"] + groups["designated"]):
        if person.member_id in seen:
            raise MedrulesError(error("facts", f"person '{person.member_id}' is listed twice in the household file",
                                      spans[i], "list each person once, in 'members' or in 'designated'",
                                      related=(("first listed here", spans[seen[person.member_id]]),)))
        seen[person.member_id] = i
    first: dict[str, tuple[str, object]] = {}  # claim id -> (its person, its claim): one id per claim in a household
    for person in groups["members"] + groups["designated"]:
        for c in person.claims:
            if c.id in first and first[c.id][0] != person.member_id:
                raise MedrulesError(error("facts", f"claim '{c.id}' of person '{person.member_id}' has the id of a "
                                          f"claim of person '{first[c.id][0]}'", c.span,
                                          "give every claim of a household its own id (the household's claims are "
                                          "settled, explained and compared by their ids)",
                                          related=(("the other claim", first[c.id][1].span),)))
            first.setdefault(c.id, (person.member_id, c))
    return HouseholdClaims(str(values.get("id", "") or ""), values, groups["members"], groups["designated"])


@attrs.frozen
class HouseholdSettlement:
    household: HouseholdClaims
    settlements: tuple  # a Settlement per person, members then designated
    book: object  # the QuotaBook: balances and draws

    @property
    def total_cost(self) -> Decimal:
        return sum((c.total_cost for s in self.settlements for c in s.claims), ZERO)

    @property
    def funds_paid(self) -> Decimal:
        return sum((c.funds_paid for s in self.settlements for c in s.claims), ZERO)

    @property
    def member_pays(self) -> Decimal:
        return sum((c.member_pays for s in self.settlements for c in s.claims), ZERO)


def settle_household(program, hc: HouseholdClaims, trace: bool = False,
                     in_force_only: bool = True) -> HouseholdSettlement:
    """Every person's claims, settled in one date order (ties: the file's order), the quotas shared
    (``in_force_only=False``: also claims dated outside the rulebook's years, as ``medrules diff`` settles them)."""
    from medrules.evaluate import Settlement, out_of_range, settle_claims
    from medrules.evaluate.quota import QuotaBook
    from medrules.evaluate.runtime import CONTEXT
    people = hc.people
    book = QuotaBook.of(program, {p.member_id: p for p in people},
                        hc.houses or frozenset(m.member_id for m in hc.members))
    dated_by = program.plan.dated_by
    with decimal.localcontext(CONTEXT):
        try:
            queues = []
            for person in people:
                order = sorted(person.claims, key=lambda c: (c.values[dated_by], c.index))
                queues.append([iter(settle_claims(program, person, trace, in_force_only, book)), order, []])
            ties = hc.ties  # (empty for a household file: ties in the file's order)
            ready = [(q[1][0].values[dated_by], ties.get(q[1][0].id, 0), i) for i, q in enumerate(queues) if q[1]]
            heapq.heapify(ready)
            while ready:  # the person whose next claim is earliest settles it (its draws come first; ties: file order)
                *_, i = heapq.heappop(ready)
                q = queues[i]
                q[2].append(next(q[0]))
                if len(q[2]) < len(q[1]):
                    c = q[1][len(q[2])]
                    heapq.heappush(ready, (c.values[dated_by], ties.get(c.id, 0), i))
        except (ArithmeticError, ValueError, RecursionError) as exc:
            raise out_of_range(exc, people[0]) from None
    settlements = tuple(Settlement(program.checked.id, p.member_id, tuple(q[2])) for p, q in zip(people, queues))
    return HouseholdSettlement(hc, settlements, book)


# ---------------------------------------------------------------- the household's view
def household_summary(hs: HouseholdSettlement) -> dict:
    """Per person: total cost, funds paid, own share, quota drawn for them (and from whom); per holder: the
    quota, drawn by whom, left; the household's totals. Plain values (Decimals), for both views."""
    designated = {p.member_id for p in hs.household.designated}
    people = []
    for s in hs.settlements:
        drawn_for = [d for d in hs.book.draws if d.patient == s.member_id]
        people.append({"id": s.member_id, "designated": s.member_id in designated, "claims": len(s.claims),
                       "total_cost": sum((c.total_cost for c in s.claims), ZERO),
                       "funds_paid": sum((c.funds_paid for c in s.claims), ZERO),
                       "member_pays": sum((c.member_pays for c in s.claims), ZERO),
                       "quota_drawn": sum((d.amount for d in drawn_for), ZERO),
                       "from": _by_holder(drawn_for)})
    holders = []
    for year, holder, cap, quota, drawn, left in sorted(hs.book.balances(), key=lambda r: (r[0], r[1])):
        by = {}
        for d in hs.book.draws:
            if d.holder == holder and d.year == year:
                by[d.patient] = by.get(d.patient, ZERO) + d.amount
        opening = hs.book.opened.get((cap, holder, year), ZERO)  # used before the run: the holder's opening value
        holders.append({"holder": holder, "year": year, "quota": quota, "drawn": drawn, "left": left, "by": by}
                       | ({"opening": opening} if opening else {}))
    return {"household": hs.household.household_id, "people": people, "quotas": holders,
            "totals": {"total_cost": hs.total_cost, "funds_paid": hs.funds_paid, "member_pays": hs.member_pays,
                       "quota_drawn": sum((d.amount for d in hs.book.draws), ZERO)}}


def _by_holder(draws) -> dict:
    out: dict = {}
    for d in draws:
        out[d.holder] = out.get(d.holder, ZERO) + d.amount
    return out


def household_json(program, hs: HouseholdSettlement) -> dict:
    from medrules.explain.json import plain, settlement_json
    return {"schema": "medrules.household-settlement/1",
            "settlements": [settlement_json(program, s) for s in hs.settlements],
            "draws": [{"fund": d.fund, "claim": d.claim, "patient": d.patient, "holder": d.holder, "year": d.year,
                       "amount": plain(d.amount), "left": plain(d.left), "relation": d.relation}
                      for d in hs.book.draws],
            "household": plain(household_summary(hs))}


def household_lines(hs: HouseholdSettlement, lang: str, view: str) -> list[str]:
    """The household's view in words: the auditor's a line per person and per quota, the citizen's sentences."""
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    _, f = gettext_for(lang), Formatter(lang)
    s = household_summary(hs)
    hid = s["household"] or "-"
    n = len(s["people"])
    t = s["totals"]
    if view == "citizen":
        out = [_("Your household ({household}) of {n}: total cost {total}, the funds pay {funds}, you pay {pays} in "
                 "all.").format(household=hid, n=n, total=f.money(t["total_cost"]), funds=f.money(t["funds_paid"]),
                                pays=f.money(t["member_pays"]))]
        for q in s["quotas"]:
            if q["drawn"]:
                users = _("; ").join(_carried(q, f.money, _) + [f"{who} {f.money(amount)}"
                                                               for who, amount in q["by"].items()])
                out.append(_("The outpatient quota of {holder} ({year}): {quota}, used {drawn} ({users}), "
                             "{left} left.").format(holder=q["holder"], year=q["year"], quota=f.money(q["quota"]),
                                                    drawn=f.money(q["drawn"]), users=users, left=f.money(q["left"])))
        return out
    out = [_("Household {household}: {n} persons settled together, in date order, sharing the quotas kept per "
             "holder.").format(household=hid, n=n)]
    for p in s["people"]:
        frm = _("; ").join(f"{h} {f.number(a)}" for h, a in p["from"].items()) or "—"
        who = _("{id} (designated)").format(id=p["id"]) if p["designated"] else p["id"]
        out.append(_("{who}: {claims} claims, total cost {total}, funds {funds}, own share {pays}; drawn on quotas "
                     "{drawn} (from: {frm}).").format(
            who=who, claims=p["claims"], total=f.money(p["total_cost"]), funds=f.money(p["funds_paid"]),
            pays=f.money(p["member_pays"]), drawn=f.money(p["quota_drawn"]), frm=frm))
    for q in s["quotas"]:
        users = _("; ").join(_carried(q, f.number, _) + [f"{who} {f.number(amount)}"
                                                        for who, amount in q["by"].items()]) or "—"
        out.append(_("Quota of {holder} ({year}): {quota} − drawn {drawn} (by: {users}) = {left} left.").format(
            holder=q["holder"], year=q["year"], quota=f.money(q["quota"]), drawn=f.money(q["drawn"]), users=users,
            left=f.money(q["left"])))
    out.append(_("Household totals: total cost {total}, funds {funds}, own share {pays}, of which quotas "
                 "{quota}.").format(total=f.money(t["total_cost"]), funds=f.money(t["funds_paid"]),
                                    pays=f.money(t["member_pays"]), quota=f.money(t["quota_drawn"])))
    return out


def _carried(q: dict, amount, _) -> list[str]:
    """What was used of a quota before the run (the holder's opening value), first among its users."""
    return [_("carried in {amount}").format(amount=amount(q["opening"]))] if q.get("opening") else []


def run_household(s, program, source: SourceFile, as_json: bool, lang: str, view: str, out) -> None:
    """``medrules run RULEBOOK HOUSEHOLD.json``: each person's table, then the household's view."""
    import json
    import sys

    from medrules.explain.text import render_settlement
    hs = settle_household(program, load_household_claims(source, program.checked))
    if as_json:
        sys.stdout.write(json.dumps(household_json(program, hs), ensure_ascii=False, indent=2) + "\n")
        return
    from medrules.runcmd import print_table
    for settlement in hs.settlements:
        if settlement.claims:
            print_table(out, render_settlement(program, settlement, lang))
    for line in household_lines(hs, lang, view):
        out.print(line, highlight=False, markup=False)


def explain_household(program, source: SourceFile, claim_ids, what_if, view: str, format_: str, lang: str,
                      template_dir=None):
    """``medrules explain RULEBOOK HOUSEHOLD.json``: each person's claims explained (the quota steps say whose
    quota paid), then the household's view. Text (citizen or auditor) or JSON; ``--what-if`` and Markdown/HTML
    documents are :mod:`medrules.household_analyses`'."""
    import json

    from rich.console import Group
    from rich.text import Text

    from medrules.explain import explain as explain_settlement
    from medrules.explain.json import EXPLANATION_SCHEMA, explanation_json
    from medrules.explain.text import render_citizen, render_explanation
    if what_if or format_ in ("markdown", "html"):
        from medrules import household_analyses
        return household_analyses.explain(program, source, claim_ids, what_if, view, format_, lang, template_dir)
    hs = settle_household(program, load_household_claims(source, program.checked), trace=True)
    known = {c.id for s in hs.settlements for c in s.claims}
    for cid in claim_ids or []:
        if cid not in known:
            raise MedrulesError(error("facts", f"there is no claim '{cid}' in {source.name}",
                                      hint="claims in the file: " + ", ".join(sorted(known))))
    docs = []
    for s in hs.settlements:
        mine = [c.id for c in s.claims if not claim_ids or c.id in claim_ids]
        if mine:
            docs.append(explain_settlement(program, s, lang, mine))
    if format_ == "json":
        return json.dumps({"schema": EXPLANATION_SCHEMA, "explanations": [explanation_json(e) for e in docs],
                           "household": household_json(program, hs)["household"]}, ensure_ascii=False, indent=2)
    lines = [Text(line) for line in household_lines(hs, lang, view)]
    return Group(*(render_citizen(e) if view == "citizen" else render_explanation(e) for e in docs), *lines)
