"""What the service reads from the ledger (:mod:`medrules.ledger`), shaped for its pages and API.

The ledger records one append-only decision per claim (idempotent; a changed outcome is a
re-settlement with per-fund amounts to pay, 补付, or recover, 追回, and their causes) and keeps
each decision's explanation (``medrules.explanation/1``) in Chinese and English, so that
explaining a stored decision never re-evaluates it. :class:`ServiceLedger` adds only what
the service needs on top: the service's rulebook key per decision, and lazy explanations.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError
from medrules.explain.json import plain
from medrules.ledger import Ledger
from medrules.ledger.sources import canonical
from medrules.service.rulebooks import Rulebook
from medrules.source import SourceFile


@attrs.frozen
class Change:
    """One fund's amount to pay (> 0, 补付) or recover (< 0, 追回) against the superseded decision."""

    fund: str
    amount: Decimal
    cause: dict  # the ledger's: facts that changed, rulebook change, earlier claims that moved, steps


@attrs.frozen(eq=False)
class Decision:
    id: int
    member: str
    claim: str
    seq: int  # 1 for the first decision on this claim, 2 for its first re-settlement, …
    rulebook: str  # the service's key (the rulebook id when the version is no longer loaded)
    rulebook_id: str
    rulebook_digest: str
    facts_hash: str
    claim_date: str
    total_cost: Decimal
    member_pays: Decimal
    funds_paid: Decimal
    funds: dict[str, Decimal]  # fund -> paid
    supersedes: int | None
    changes: tuple[Change, ...]
    created_at: str
    _explanation: object = attrs.field(repr=False)  # lang -> dict, read from the ledger when asked
    _cache: dict = attrs.field(factory=dict, repr=False)
    membership: dict | None = None  # settled under a membership rulebook: the scheme and why (ledger.routing)

    @property
    def adjustments(self) -> dict[str, Decimal]:
        return {c.fund: c.amount for c in self.changes}

    def explanation(self, lang: str) -> dict:
        if lang not in self._cache:
            self._cache[lang] = self._explanation(lang)
        return self._cache[lang]

    def summary(self) -> dict:
        return {"id": self.id, "member": self.member, "claim": self.claim, "seq": self.seq,
                "rulebook": self.rulebook, "rulebook_id": self.rulebook_id, "rulebook_digest": self.rulebook_digest,
                "date": self.claim_date, "total_cost": plain(self.total_cost), "member_pays": plain(self.member_pays),
                "funds": plain(self.funds), "funds_paid": plain(self.funds_paid), "supersedes": self.supersedes,
                "adjustments": plain(self.adjustments),
                "causes": [{"fund": c.fund, "amount": plain(c.amount), "cause": c.cause} for c in self.changes],
                "created_at": self.created_at} | ({"membership": self.membership} if self.membership else {})


@attrs.frozen
class Outcome:
    member: str
    decisions: tuple[Decision, ...]  # the current decision on each of the member's claims
    recorded: tuple[int, ...]  # ids of the decisions this call added (empty when nothing changed)


class ServiceLedger:
    def __init__(self, ledger: Ledger, rulebooks):
        self.ledger, self.rulebooks = ledger, rulebooks

    @classmethod
    def open(cls, url: str | Path, rulebooks) -> ServiceLedger:
        return cls(Ledger.open(url), rulebooks)

    def settle(self, rulebook: Rulebook, source: SourceFile) -> Outcome:
        decisions = self.ledger.settle_member(rulebook.loaded, source)
        return Outcome(decisions[0].member_id if decisions else "", tuple(self._shape(d) for d in decisions),
                       tuple(d.id for d in decisions if d.recorded))

    def decision(self, decision_id: int) -> Decision | None:
        try:
            return self._shape(self.ledger.decision(decision_id))
        except MedrulesError:
            return None

    def member_decisions(self, member: str) -> list[Decision]:
        return [self._shape(d) for d in self.ledger.member_history(member)]

    def members(self, search: str = "", limit: int = 50) -> list[str]:
        return [m["member_id"] for m in self.ledger.members(search, limit)]

    def facts(self, d: Decision, program=None) -> SourceFile:
        """The member's whole facts document the decision was settled on, as given; with ``program``,
        only the claims dated within that rulebook version's period (a member's other years are settled
        under other versions)."""
        doc = self.ledger.facts_document(d.facts_hash)
        if program is not None:
            h = program.checked.rulebook.header
            start, end = h.effective_from.isoformat(), h.effective_to.isoformat() if h.effective_to else None
            doc = doc | {"claims": [c for c in doc.get("claims", []) if isinstance(c.get(program.dated_by), str)
                                    and start <= c[program.dated_by] and (end is None or c[program.dated_by] <= end)]}
        return SourceFile(f"ledger facts {d.facts_hash[:12]}", canonical(doc, indent=2))

    def counts(self) -> dict:
        t = self.ledger.totals()
        return {"decisions": t["decisions"], "claims": t["claims"]}

    def _shape(self, d) -> Decision:
        rb = self.rulebooks.by_digest.get(d.membership["rulebook"]["hash"] if d.membership else d.rulebook_hash)
        ledger = self.ledger
        return Decision(
            id=d.id, member=d.member_id, claim=d.claim_id, seq=d.sequence, rulebook=rb.key if rb else d.rulebook_id,
            rulebook_id=d.rulebook_id, rulebook_digest=d.rulebook_hash, facts_hash=d.facts_hash,
            claim_date=d.claim_date.isoformat(), total_cost=d.total_cost, member_pays=d.member_pays,
            funds_paid=d.funds_paid, funds={f.fund: f.paid for f in d.funds}, supersedes=d.supersedes,
            changes=tuple(Change(a.fund, a.amount, a.cause) for a in d.adjustments),
            created_at=_iso(d.recorded_at), explanation=lambda lang, i=d.id: ledger.explanation(i, lang),
            membership=d.membership)


def _iso(t) -> str:
    if isinstance(t, dt.datetime):
        return t.isoformat(timespec="seconds")
    return str(t)
