"""diff attributes changes of numbers written inside clauses to the clause that changed (issue 12, item 3).

tests/rulebooks/clauses: a.mr (deductible 500 per admission, 60%) → b.mr (600, 70%). A claim of 10,000, by hand:
  before (10,000 − 500) × 60% = 5,700.00; the deductible clause first: (10,000 − 600) × 60% = 5,640.00 → −60.00;
  then the rate clause: 9,400 × 70% = 6,580.00 → +940.00; nothing left to 'other changes'.
"""
from __future__ import annotations

from decimal import Decimal as D

import medrules
from conftest import ROOT
from medrules.analyses.diff import diff

FOLDER = ROOT / "tests" / "rulebooks" / "clauses"
FACTS = {"member": {"id": "M"}, "claims": [{"id": "C1", "date": "2024-03-01", "cost": "10000"}]}


def test_clause_changes_are_attributed_to_their_clauses():
    old, new = medrules.load(FOLDER / "a.mr"), medrules.load(FOLDER / "b.mr")
    d = diff(old, new, [medrules.load_facts(FACTS, old)], "en")
    (c,) = d.claims
    assert (c.before["pool"], c.after["pool"]) == (D("5700.00"), D("6580.00"))
    got = {a.change.name if a.change else None: a.funds["pool"] for a in c.attributions}
    assert got == {"pool.deductible": D("-60.00"), "pool.rate": D("940.00")}
    assert sum(got.values()) == c.after["pool"] - c.before["pool"]


def test_the_readme_style_numbers_in_clauses_of_a_shipped_pair():
    """Pingyang earlier → 2019 names its numbers as parameters: no clause changes, nothing attributed to one."""
    old = medrules.load(ROOT / "rulebooks/pingyang/residents-earlier.mr")
    new = medrules.load(ROOT / "rulebooks/pingyang/residents-2019.mr")
    facts = medrules.load_facts(ROOT / "examples/pingyang-2019-inpatient-year.json", old)
    d = diff(old, new, [facts], "en")
    assert not any(a.change is not None and a.change.kind == "clause" for c in d.claims for a in c.attributions)
    assert all(a.change is not None for c in d.claims for a in c.attributions)  # all named: no 'other changes'
