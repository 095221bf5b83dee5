"""What the ledger returns: decisions, their fund amounts, and re-settlement adjustments (plain records)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

FEN = Decimal("0.01")


def to_fen(amount: Decimal) -> int:
    """Yuan → integer fen, refusing anything that is not a whole number of fen (never rounds silently)."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} yuan is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


@attrs.frozen
class FundAmount:
    fund: str  # as the top rulebook names it: 'critical_illness', 'basic.inpatient_pool'
    applied: bool
    paid: Decimal
    amounts: dict[str, Decimal]  # base, deductible, payable, above_cap, above_ceiling, remaining
    excluded: dict | None = None  # {"zh": …, "en": …}: why no fund paid


@attrs.frozen
class Adjustment:
    """A re-settlement's difference for one fund: > 0 the fund pays the member more (补付), < 0 it recovers (追回)."""

    id: int
    decision_id: int  # the new decision
    previous_decision_id: int  # the decision it replaces
    member_id: str
    claim_id: str
    fund: str
    amount: Decimal
    cause: dict  # {"facts": [...], "rulebook": {...} | None, "after_claims": [...], "steps": [...]}
    recorded_at: dt.datetime

    @property
    def kind(self) -> str:
        return "pay" if self.amount > 0 else "recover"

    def label(self, lang: str = "zh") -> str:
        if lang == "zh":
            return "补付" if self.amount > 0 else "追回"
        return "to pay" if self.amount > 0 else "to recover"

    @property
    def provision(self) -> dict | None:
        """The provision that moved the amount: the first step with a citation that was lifted (an exclusion
        no longer applying) or that moves money and changed; else the first cited step that changed."""
        steps = self.cause.get("steps", ())
        return next((s for s in steps if s.get("citation") and (s.get("moves_money") or s["change"] == "removed")),
                    next((s for s in steps if s.get("citation")), None))


@attrs.frozen
class Decision:
    id: int
    member_id: str
    claim_id: str
    sequence: int  # 1: the first decision on this claim; 2, 3 …: re-settlements
    supersedes: int | None  # the decision this one replaces
    claim_date: dt.date
    benefit_year: str
    rulebook_id: str
    rulebook_hash: str  # the source texts (provenance)
    plan_hash: str | None  # the rules that settle a claim (None: recorded before migration 0003)
    effective_from: dt.date | None
    effective_to: dt.date | None
    facts_hash: str  # the member's whole facts document as settled (Ledger.facts_document)
    claim_facts: dict  # this claim's record, as given
    member_facts: dict  # the member record, as given
    total_cost: Decimal
    funds_paid: Decimal
    member_pays: Decimal
    accumulators: dict[str, Decimal]  # after this claim
    funds: tuple[FundAmount, ...]
    adjustments: tuple[Adjustment, ...]  # what this decision changed against the one it supersedes
    recorded_at: dt.datetime
    recorded: bool = False  # True when the call that returned it recorded it (settle_member)
    membership: dict | None = None  # settled under a membership rulebook: the scheme and why (ledger.routing)

    def fund(self, name: str) -> FundAmount:
        return next(f for f in self.funds if f.fund == name)

    def paid(self, name: str) -> Decimal:
        return self.fund(name).paid
