"""The facts that would change the outcome most, for a membership rulebook (``medrules explain MEMBERSHIP FACTS
--what-if …``), as :func:`medrules.analyses.whatif.sensitivity` ranks them for an ordinary rulebook.

The candidates are the facts of every rulebook involved — the membership rulebook's (what routes a claim: the
member's histories, e.g. the months of a period of insurance and whether they are in arrears; its member and
claim facts) and the schemes' the claims are settled under — each written as a ``--what-if`` change, so that
a suggestion can be tried as it is shown (``period[1].last_month=2020-05-01``):

* an enumeration or yes/no fact (member, claim, or a field of one history record): each other value; the
  fact is ranked at the value that changes the funds' payment most;
* a date (a member's date, or a date field of a history record): not every day, but the boundaries the
  claims suggest — for each selected claim's date, the day before and after it, the first and last day of
  its month and of the month before and after, and those months moved back by each ``months`` parameter of
  the membership rulebook and one month either side (``arrears_months``: the month that completes the
  arrears); for a ``days`` parameter, the claim's date moved back by it and one day either side. The fact is
  ranked at the candidate nearest its current value that changes the outcome (the boundary that flips a
  route, or a scheme's own date rule), ties to the larger change; at most :data:`MAX_CANDIDATES` tried each;
* a count (``number``, ``days`` or ``months`` fact of the membership rulebook or of its histories): one
  more and one less, and each parameter of the same unit and one either side; ranked like a date.

The change is what all funds of all schemes pay more (or less) over the selected claims; a candidate that
moves a claim to another scheme (or, under ``highest of``, makes another scheme's settlement win) says so:
"C2 would be settled under employee-2012, not residents-2020". A candidate the rulebooks cannot settle
(e.g. a date on which the member is insured in no scheme) is left out, as the ordinary ranking does.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError
from medrules.source import SourceFile

MAX_CANDIDATES = 40  # other values tried per date or count fact: each costs one settlement of the member
ZERO = Decimal(0)
_COUNTS = ("number", "days", "months")


@attrs.frozen
class MembershipSensitivity:
    change: object  # medrules.membership_whatif.FactChange / HistoryChange (record, field, value, text)
    delta: Decimal  # what the funds would pay more (negative: less), over the selected claims
    moves: tuple[tuple[str, str, str], ...] = ()  # (claim id, scheme before, scheme after): file stems


def _stem(program) -> str:
    return Path(program.checked.file).stem


def _default(field):
    d = getattr(field, "default", None)
    if d is None:
        return None
    parts = getattr(d, "parts", None)
    return parts[0] if parts else getattr(d, "value", None)


def _plain(value):
    """A facts-file value as --what-if writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _date(value):
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _count(value):
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return int(number) if number == number.to_integral_value() else None


def sensitivity(ms, source: SourceFile, claim_ids=None, most: int = 5) -> tuple[MembershipSensitivity, ...]:
    """The facts of a membership rulebook and its schemes that, set to another value, change what the funds
    pay most, each once (see the module's docstring for the values tried)."""
    from medrules.check.declarations import history_key
    from medrules.check.types import histories
    from medrules.membership import settle_membership
    from medrules.membership_whatif import changed_source, parse_changes
    try:
        doc = json.loads(source.text, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        return ()
    if not isinstance(doc, dict):
        return ()
    source = _upto(ms, source, doc, claim_ids)
    doc = json.loads(source.text, parse_float=Decimal, parse_int=Decimal)

    def outcome(src):
        result, used = settle_membership(ms, src)
        picked = [c for c in result.claims if not claim_ids or c.id in claim_ids]
        return sum((c.funds_paid for c in picked), ZERO), {c.id: _stem(used[c.id]) for c in picked}
    base, schemes = outcome(source)

    def tried(text: str):
        """(change, delta, moves) for one --what-if text, or None when it changes nothing or cannot settle."""
        try:
            facts, _ = parse_changes([text], ms)
            paid, after = outcome(changed_source(source, facts, claim_ids))
        except MedrulesError:
            return None
        moves = tuple((cid, schemes[cid], after[cid]) for cid in schemes if cid in after and after[cid] != schemes[cid])
        if paid == base and not moves:
            return None
        return MembershipSensitivity(facts[0], paid - base, moves)

    programs = (ms.router, *ms.programs)
    claims = [c for c in doc.get("claims", []) if isinstance(c, dict)
              and (not claim_ids or c.get("id") in claim_ids)]
    dates = sorted({d for c in claims if (d := _date(c.get(ms.dated_by))) is not None})
    params = {}  # unit -> values of the membership rulebook's parameters (counts and durations)
    ck = ms.router.checked
    for p in ck.parameters.values():
        t = ck.types.get(p.value)
        value = getattr(p.value, "value", None)
        if t is not None and t.unit in _COUNTS and isinstance(value, (int, Decimal)):
            params.setdefault(t.unit, set()).add(int(value))
    found: list[MembershipSensitivity] = []
    seen: set = set()
    for program in programs:
        pk = program.checked
        places = [("member", doc.get("member") if isinstance(doc.get("member"), dict) else {}, "member", None)]
        places.append(("claim", None, "claim", None))
        for kind in histories(pk.records):
            for i, record in enumerate(doc.get(history_key(kind)) or [], 1):
                if isinstance(record, dict):
                    places.append((kind, record, f"{kind}[{i}]", kind))
        for record_kind, values, prefix, history in places:
            for name, field in pk.records.get(record_kind, {}).items():
                if (prefix, name) in seen or (record_kind == "claim" and name == ms.dated_by):
                    continue
                t = pk.field_types.get(field)
                if t is None:
                    continue
                seen.add((prefix, name))
                if record_kind == "claim":
                    current = {c.get(name, _default(field)) for c in claims}
                else:
                    current = {values.get(name, _default(field))}
                if t.unit in ("bool", "enum"):
                    options = [True, False] if t.unit == "bool" else [m.name for m in pk.enums[t.enum].members]
                    ranked = [s for v in options if {v} != current
                              and (s := tried(f"{prefix}.{name}={_plain(v)}")) is not None]
                    if ranked:
                        found.append(min(ranked, key=lambda s: (-abs(s.delta), s.change.text)))
                    continue
                if record_kind == "claim" or len(current) != 1:
                    continue
                value = next(iter(current))
                own = program is ms.router  # counts: the membership rulebook's and its histories' only
                if t.unit == "date" and (day := _date(value)) is not None:
                    options = sorted(_date_candidates(dates, params) - {day}, key=lambda d: (abs((d - day).days), d))
                    best = _nearest(options, lambda d: abs((d - day).days),
                                    lambda d: tried(f"{prefix}.{name}={d.isoformat()}"))
                elif t.unit in _COUNTS and own and (n := _count(value)) is not None:
                    options = {n - 1, n + 1} | {v + k for v in params.get(t.unit, ()) for k in (-1, 0, 1)}
                    options = sorted((v for v in options if v >= 0 and v != n), key=lambda v: (abs(v - n), v))
                    best = _nearest(options, lambda v: abs(v - n), lambda v: tried(f"{prefix}.{name}={v}"))
                else:
                    continue
                if best is not None:
                    found.append(best)
    allowed = set()
    for program in programs:
        allowed |= set(program.checked.rulebook.actionable_facts())
    if allowed:  # the rulebooks say which facts a member can change: suggest only those (and the histories')
        found = [s for s in found if f"{s.change.record}.{s.change.field}" in allowed or "[" in s.change.record]
    found.sort(key=lambda s: (-abs(s.delta), s.change.text))
    return tuple(found[:most])


def _nearest(options, distance, attempt):
    """The option nearest the current value that changes the outcome (ties: the larger change)."""
    best = None
    for option in options[:MAX_CANDIDATES]:
        if best is not None and distance(option) > best[0]:
            break
        s = attempt(option)
        if s is not None and (best is None or abs(s.delta) > abs(best[1].delta)):
            best = (distance(option), s)
    return best[1] if best else None


def _date_candidates(dates, params) -> set:
    from medrules.plan.arith import add_months, month_end
    out = set()
    for day in dates:
        start = day.replace(day=1)
        out |= {day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)}
        shifts = {-1, 0, 1} | {-(p + k) for p in params.get("months", ()) for k in (-1, 0, 1)}
        for k in shifts:
            first = add_months(start, k)
            out |= {first, month_end(first)}
        for p in params.get("days", ()):
            out |= {day - dt.timedelta(days=p + k) for k in (-1, 0, 1)}
    return out


def _upto(ms, source: SourceFile, doc: dict, claim_ids) -> SourceFile:
    """Only the claims that can affect the selected ones (as medrules.analyses.whatif.upto): year-to-date totals
    flow forward, so claims dated after the last selected one are left out."""
    if not claim_ids or not isinstance(doc.get("claims"), list):
        return source
    claims = doc["claims"]
    key = {}
    for i, c in enumerate(claims):
        day = _date(c.get(ms.dated_by)) if isinstance(c, dict) else None
        if day is None:
            return source
        key[i] = (day, i)
    chosen = [key[i] for i, c in enumerate(claims) if c.get("id") in claim_ids]
    if not chosen:
        return source
    last = max(chosen)
    doc = dict(doc, claims=[c for i, c in enumerate(claims) if key[i] <= last])
    return SourceFile(source.name, json.dumps(doc, ensure_ascii=False, default=str))


WHY_NOTHING_BUDGET = 10  # unpaid claims analysed (as medrules.cli.why_nothing): each costs settlements


def why_nothing(ms, source: SourceFile, result, claim_ids, lang: str, citizen: bool = False) -> list:
    """``medrules explain MEMBERSHIP FACTS`` (text): for each claim that paid nothing, the facts that would have
    made it pay, as :func:`medrules.cli.why_nothing` says them for one rulebook (the citizen's view names them
    by their labels), with the scheme a claim would move to. Returns rich Text lines."""
    from rich.text import Text

    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    from medrules.explain.text import moved_sentences
    from medrules.explain.words import Vocabulary
    f, _ = Formatter(lang), gettext_for(lang)
    out = []
    unpaid = [c for c in result.claims if not (claim_ids and c.id not in claim_ids) and not c.funds_paid]
    if len(unpaid) > WHY_NOTHING_BUDGET:
        rest = ", ".join(c.id for c in unpaid[WHY_NOTHING_BUDGET:][:20])
        out.append(Text(f"({len(unpaid) - WHY_NOTHING_BUDGET} more unpaid claims not analysed: {rest}"
                        f"{' …' if len(unpaid) > WHY_NOTHING_BUDGET + 20 else ''}; use --claim ID)"))
    for c in unpaid[:WHY_NOTHING_BUDGET]:
        found = [s for s in sensitivity(ms, source, [c.id], most=3) if s.delta > 0]
        if not found:
            continue
        out.append(Text(_("Claim {id} paid nothing; it would have been paid if:").format(id=c.id), style="bold"))
        for s in found:
            said = s.change.text
            if citizen:  # by the labels of the rulebook that declares the fact: '末月(…):2020-05-01'
                kind = getattr(s.change, "kind", s.change.record)  # a history record: its history
                program = next(p for p in (ms.router, *ms.programs)
                               if s.change.field in p.checked.records.get(kind, {}))
                said = Vocabulary(program.checked, lang).fact(f"{kind}.{s.change.field}", s.change.value)
                if kind != s.change.record:  # which record: '参保期间 1 · 末月(…):2020-05-01'
                    said = f"{_record_label(program, kind, lang)} {s.change.index} · {said}"
            moved = "; ".join(moved_sentences(s, lang))
            out.append(Text(f"  • {said}: +{f.money(s.delta)}" + (f" ({moved})" if moved else "")))
    return out


def _record_label(program, kind: str, lang: str) -> str:
    record = next((r for r in program.checked.rulebook.records if r.kind == kind), None)
    return record.label.best(lang) if record is not None and record.label else kind
