"""The settlement ledger: every decision recorded, append-only, re-asked without re-evaluation.

    ledger = Ledger.open("sqlite:///medrules-ledger.sqlite")      # or postgresql://…; created/migrated
    decisions = ledger.settle_member("rulebooks/quzhou/employee-2012", "facts.json")
    ledger.explanation(decisions[0].id, "en")                        # the stored medrules.explanation/1

See docs/ledger.md. Names are imported on first use, so that ``medrules --help`` does not load the
database libraries.
"""
from __future__ import annotations

__all__ = ["Adjustment", "DEFAULT_URL", "Decision", "FundAmount", "Ledger", "Rulebooks", "Version", "load_rulebooks"]

_WHERE = {"Adjustment": "model", "Decision": "model", "FundAmount": "model", "Rulebooks": "sources",
          "Version": "sources", "load_rulebooks": "sources", "DEFAULT_URL": "store", "Ledger": "store"}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module(f"medrules.ledger.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'medrules.ledger' has no attribute '{name}'")
