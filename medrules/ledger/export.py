"""Decisions and adjustments as plain JSON, and the ledger exported to CSV or JSON Lines."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from medrules.diagnostics import MedrulesError, error
from medrules.explain.json import plain
from medrules.ledger.model import Adjustment, Decision

EXPORT_SCHEMA = "medrules.ledger-decision/1"
CSV_COLUMNS = ("decision_id", "member_id", "claim_id", "sequence", "supersedes", "current", "claim_date",
               "benefit_year", "rulebook_id", "rulebook_hash", "fund", "paid", "adjustment", "total_cost",
               "member_pays", "recorded_at")


def adjustment_json(a: Adjustment) -> dict:
    return {"id": a.id, "decision": a.decision_id, "previous_decision": a.previous_decision_id,
            "member": a.member_id, "claim": a.claim_id, "fund": a.fund, "amount": plain(a.amount), "kind": a.kind,
            "label": {"zh": a.label("zh"), "en": a.label("en")}, "cause": a.cause,
            "recorded_at": a.recorded_at.isoformat()}


def decision_json(d: Decision) -> dict:
    return {
        "schema": EXPORT_SCHEMA, "id": d.id, "member": d.member_id, "claim": d.claim_id, "sequence": d.sequence,
        "supersedes": d.supersedes, "date": plain(d.claim_date), "benefit_year": d.benefit_year,
        "rulebook": {"id": d.rulebook_id, "hash": d.rulebook_hash, "plan_hash": d.plan_hash, "effective_from": plain(d.effective_from),
                     "effective_to": plain(d.effective_to)},
        "facts": {"hash": d.facts_hash, "claim": json.loads(_canonical(d.claim_facts)),
                  "member": json.loads(_canonical(d.member_facts))},
        "total_cost": plain(d.total_cost), "funds_paid": plain(d.funds_paid), "member_pays": plain(d.member_pays),
        "funds": [{"fund": f.fund, "applied": f.applied, "paid": plain(f.paid), **plain(f.amounts)}
                  | ({"excluded": f.excluded} if f.excluded else {}) for f in d.funds],
        "accumulators_after": plain(d.accumulators),
        "adjustments": [adjustment_json(a) for a in d.adjustments],
        "recorded_at": d.recorded_at.isoformat(), "recorded_now": d.recorded,
    } | ({"membership": d.membership} if d.membership else {})  # settled under a membership rulebook


def _canonical(value) -> str:
    from medrules.ledger.sources import canonical
    return canonical(value)


def export(ledger, out: Path, with_trace: bool = False) -> int:
    """Every decision, oldest claim first: CSV (one row per decision and fund) or JSON Lines (one decision a
    line, optionally with its stored explanations). Returns the number of decisions written."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise MedrulesError(error("usage", f"cannot export to '{out.name}'", hint="name a .csv or .jsonl file"))
    decisions = ledger.decisions()
    current = {d.id for d in ledger.current()}
    try:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            if suffix == ".csv":
                w = csv.writer(fh)
                w.writerow(CSV_COLUMNS)
                for d in decisions:
                    moved = {a.fund: a.amount for a in d.adjustments}
                    for f in d.funds:
                        w.writerow([d.id, d.member_id, d.claim_id, d.sequence, d.supersedes or "", d.id in current,
                                    d.claim_date, d.benefit_year, d.rulebook_id, d.rulebook_hash, f.fund,
                                    plain(f.paid), plain(moved[f.fund]) if f.fund in moved else "",
                                    plain(d.total_cost), plain(d.member_pays), d.recorded_at.isoformat()])
            else:
                for d in decisions:
                    doc = decision_json(d) | {"current": d.id in current}
                    doc.pop("recorded_now")
                    if with_trace:
                        doc["explanation"] = {lang: ledger.explanation(d.id, lang) for lang in ("zh", "en")}
                    fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise MedrulesError(error("io", f"cannot write {out}: {exc.strerror}")) from None
    return len(decisions)
