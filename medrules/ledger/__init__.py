"""The settlement ledger: every decision recorded, append-only, re-asked without re-evaluation.

    ledger = Ledger.open("sqlite:///medrules-ledger.sqlite")      # or postgresql://…; created/migrated
    decisions = ledger.settle_member("rulebooks/quzhou/employee-2012", "facts.json")
    ledger.explanation(decisions[0].id, "en")                        # the stored medrules.explanation/1

See docs/ledger.md.
"""
from __future__ import annotations

from medrules.ledger.model import Adjustment, Decision, FundAmount
from medrules.ledger.sources import Rulebooks, Version, load_rulebooks
from medrules.ledger.store import DEFAULT_URL, Ledger

__all__ = ["Adjustment", "DEFAULT_URL", "Decision", "FundAmount", "Ledger", "Rulebooks", "Version", "load_rulebooks"]
