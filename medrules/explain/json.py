"""JSON documents: settlements (``medrules run --json``) and explanations (``explain --json``).

Amounts are decimal strings ("19199.70"); rates are decimal fractions as strings
("0.84"). The shapes are documented in docs/json.md and versioned by ``schema``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from medrules import nodes as n
from medrules.evaluate import SCHEMA_VERSION, ClaimResult, Program, Settlement
from medrules.explain import Explanation
from medrules.explain.format import money_text

SETTLEMENT_SCHEMA = f"medrules.settlement/{SCHEMA_VERSION}"
EXPLANATION_SCHEMA = f"medrules.explanation/{SCHEMA_VERSION}"


def plain(v):
    if isinstance(v, Decimal) or hasattr(v, "denominator") and hasattr(v, "decimal"):  # an exact quotient too
        return money_text(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (set, frozenset)):  # a set-valued fact: sorted, so output is stable
        return sorted(plain(x) for x in v)
    return v


def rulebook_json(program: Program) -> dict:
    h = program.checked.rulebook.header
    return {"id": h.id, "file": program.checked.file,
            "title": {"zh": h.title.zh, "en": h.title.en} if h.title else None,
            "effective_from": plain(h.effective_from), "effective_to": plain(h.effective_to),
            "rounding": {"mode": h.rounding.mode, "quantum": plain(h.rounding.quantum),
                         "per": h.rounding.scope}}


def claim_json(c: ClaimResult) -> dict:
    return {
        "id": c.id, "date": plain(c.date), "benefit_year": c.year,
        "total_cost": plain(c.total_cost), "member_pays": plain(c.member_pays),
        "funds": [{"fund": f.fund, "applied": f.applied, "paid": plain(f.paid), "base": plain(f.base),
                   "deductible": plain(f.deductible), "payable": plain(f.payable),
                   "above_cap": plain(f.above_cap), "above_ceiling": plain(f.above_ceiling),
                   "remaining": plain(f.remaining)}
                  | ({"excluded": {"zh": f.excluded_by.reason.zh, "en": f.excluded_by.reason.en}}
                     if f.excluded_by is not None else {})
                  for f in c.funds],
        "accumulators_after": plain(c.accumulators),
    } | ({"recoverable": {"amount": plain(c.recoverable),  # paid first, recoverable from a third party
                          "because": label_json(c.recovered_by.because)}} if c.recovered_by is not None else {})


def settlement_json(program: Program, s: Settlement, claim_ids=None) -> dict:
    funds = [name for name, _ in program.all_funds()]
    claims = [c for c in s.claims if not claim_ids or c.id in claim_ids]
    totals = {name: sum((c.fund(name).paid for c in claims), Decimal(0)) for name in funds}
    return {
        "schema": SETTLEMENT_SCHEMA,
        "rulebook": rulebook_json(program),
        "member": s.member_id,
        "claims": [claim_json(c) for c in claims],
        "totals": {"total_cost": plain(sum((c.total_cost for c in claims), Decimal(0))),
                   "funds": plain(totals),
                   "member_pays": plain(sum((c.member_pays for c in claims), Decimal(0)))},
    }


def citation_json(c: n.Citation | None, document: str | None) -> dict | None:
    if c is None:
        return None
    return {"source": c.source, "document": document if c.source else None, "article": c.article,
            "quote": c.quote, "note": label_json(c.note), "assumed": c.assumed,
            "assumption": label_json(c.assumption)}


def label_json(label: n.Label | None) -> dict | None:
    return {"zh": label.zh, "en": label.en} if label is not None else None


def explanation_json(e: Explanation) -> dict:
    doc = settlement_json(e.program, e.settlement, [c.result.id for c in e.claims])
    doc["schema"] = EXPLANATION_SCHEMA
    doc["lang"] = e.lang
    by_id = {c.result.id: c for c in e.claims}
    claims = []
    for c in doc["claims"]:
        if c["id"] not in by_id:
            continue
        ce = by_id[c["id"]]
        c["steps"] = [{
            "kind": line.kind, "fund": line.fund, "text": line.text, "formula": line.formula,
            "moves_money": line.moves_money,
            "values": plain(step.values),
            "inputs": [{"name": name, "value": plain(value), "from": origin} for name, value, origin in line.inputs],
            "citation": citation_json(line.citation, line.document),
            "layer": line.layer or None,
            "assumptions": [{"parameter": name, "why": label_json(why)} for name, why in line.assumptions],
            "source": line.span.to_json() if line.span else None,
        } for line, step in zip(ce.lines, ce.result.steps)]
        claims.append(c)
    from medrules.explain.citizen import citizen_view
    citizen = {c.claim_id: list(c.sentences) for c in citizen_view(e)}
    titles = {name: fund.title(e.lang) for name, fund in e.program.all_funds()}
    for c in claims:
        c["citizen"] = citizen[c["id"]]
        r = by_id[c["id"]].result
        if e.readings is not None:  # worked out (the command line always does): [] says no other reading differs
            c["readings"] = [reading_note_json(note, r, e.lang, titles) for note in e.reading_notes(c["id"])]
    doc["claims"] = claims
    return doc


def reading_note_json(note, settled: ClaimResult, lang: str, titles: dict[str, str]) -> dict:
    """What another reading of the text would have paid on one claim (medrules.analyses.readings.ReadingNote):
    every fund under it, and the difference from this settlement (the sentence is the text view's)."""
    from medrules.explain.format import Formatter
    from medrules.explain.words import reading_sentence
    here = {x.fund: x.paid for x in settled.funds}
    there = dict(note.paid) or {**here, **{fund: after for fund, _, after in note.funds}}
    r, alt = note.reading, note.alternative
    return {
        "reading": note.name or r.name, "title": {"zh": r.title("zh"), "en": r.title("en")},
        "chosen": note.chosen or r.chosen, "declared": r.declared, "alternative": alt.name,
        "alternative_label": label_json(alt.label),
        "would_pay": {"funds": plain(there), "funds_paid": plain(note.funds_paid),
                      "member_pays": plain(note.member_pays)},
        "difference": {"funds": {fund: plain(after - before) for fund, before, after in note.funds},
                       "funds_paid": plain(note.funds_paid - settled.funds_paid),
                       "member_pays": plain(note.member_pays - settled.member_pays)},
        "text": reading_sentence(note, Formatter(lang), titles, settled.funds_paid, settled.member_pays),
    }


WHATIF_SCHEMA = f"medrules.whatif/{SCHEMA_VERSION}"


def what_if_json(w, sensitivity=()) -> dict:
    def line(x):
        return None if x is None else {"kind": x.kind, "fund": x.fund, "text": x.text, "formula": x.formula}

    return {
        "schema": WHATIF_SCHEMA, "lang": w.lang,
        "changes": [{"fact": f"{c.record}.{c.field}", "value": plain(c.value)} for c in w.changes],
        "claims": [{"id": d.claim_id, "member_pays": {"before": plain(d.member_before), "after": plain(d.member_after)},
                    "funds": [{"fund": fund, "before": plain(b), "after": plain(a), "change": plain(a - b)}
                              for fund, _, b, a in d.funds],
                    "steps": [{"before": line(s.before), "after": line(s.after)} for s in d.steps],
                    "readings": {"before": [reading_note_json(r, w.before.claim(d.claim_id), w.lang, w.titles)
                                            for r in w.readings_before if r.claim_id == d.claim_id],
                                 "after": [reading_note_json(r, w.after.claim(d.claim_id), w.lang, w.titles)
                                           for r in w.readings_after if r.claim_id == d.claim_id]}}
                   for d in w.claims],
        "funds": {"before": plain(w.funds_before), "after": plain(w.funds_after),
                  "change": plain(w.funds_after - w.funds_before)},
        "most_sensitive": [{"fact": f"{s.change.record}.{s.change.field}", "value": plain(s.change.value),
                            "change": plain(s.delta)}
                           # a membership rulebook: the claims another scheme would settle (file stems)
                           | ({"moves": [{"claim": c, "before": b, "after": a} for c, b, a in s.moves]}
                              if getattr(s, "moves", ()) else {}) for s in sensitivity],
    }


def stake_json(stake) -> dict:
    """``medrules readings --json``: the money at stake per combination of readings (amounts as decimal strings)."""
    def outcome(o):
        return {"readings": o.choice, "funds": {k: money_text(v) for k, v in o.funds.items()},
                "funds_paid": money_text(o.funds_paid), "member_pays": money_text(o.member_pays)}
    return {
        "schema": "medrules.readings/1",
        "readings": {name: {"title": r.title("zh"), "title_en": r.title("en"), "chosen": r.declared,
                            "alternatives": [a.name for a in r.alternatives]} for name, r in stake.readings.items()},
        "chosen": outcome(stake.chosen),
        "others": [{**outcome(o), "difference": {
            "funds_paid": money_text(o.funds_paid - stake.chosen.funds_paid),
            "member_pays": money_text(o.member_pays - stake.chosen.member_pays),
            "funds": {k: money_text(v - stake.chosen.funds.get(k, 0)) for k, v in o.funds.items()}},
            "claims": [{"file": c.file, "claim": c.claim_id, "difference": money_text(c.delta),
                        "funds": {fund: {"chosen": money_text(a), "this": money_text(b)} for fund, a, b in c.funds}}
                       # a membership rulebook: the scheme (file stem) that settles the claim each way
                       | ({"scheme": {"chosen": c.schemes[0], "this": c.schemes[1]}} if hasattr(c, "schemes") else {})
                       for c in changes]} for o, changes in stake.others],
    }


def stake_by_year_json(stake, top: int = 5) -> dict:
    """``medrules readings FOLDER … --json``: the money at stake per combination of readings, per policy year and
    over all of them (amounts as decimal strings; differences against the rulebooks' own choice)."""
    def money(d):
        return {k: money_text(v) for k, v in d.items()}

    def amounts(o, base):
        return {"funds": money(o.funds), "funds_paid": money_text(o.funds_paid),
                "member_pays": money_text(o.member_pays),
                "difference": {"funds": {k: money_text(v - base.funds.get(k, 0)) for k, v in o.funds.items()},
                               "funds_paid": money_text(o.funds_paid - base.funds_paid),
                               "member_pays": money_text(o.member_pays - base.member_pays)}}
    chosen = stake.total(0)
    return {
        "schema": "medrules.readings-set/1",
        "folder": stake.folder,
        "readings": {name: {"title": r.title("zh"), "title_en": r.title("en"), "chosen": r.declared or r.chosen,
                            "alternatives": [a.name for a in r.alternatives], "years": list(stake.years_of[name]),
                            "moves_together": len(stake.years_of[name]) > 1 and name not in stake.pinned}
                     for name, r in stake.readings.items()},
        "pinned": stake.pinned,
        "combinations": [{
            "readings": combo, "chosen": index == 0,
            "years": [{"version": y.version, "readings": list(y.readings), **amounts(y.outcomes[index], y.outcomes[0])}
                      for y in stake.years],
            "all_years": amounts(stake.total(index), chosen),
            "claims": [{"version": version, "file": c.file, "claim": c.claim_id, "difference": money_text(c.delta),
                        "funds": {fund: {"chosen": money_text(a), "this": money_text(b)} for fund, a, b in c.funds}}
                       for version, c in stake.differ_most(index, top)]}
            for index, combo in enumerate(stake.combinations)],
    }
