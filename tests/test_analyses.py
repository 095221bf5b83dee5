"""Analyses through overrides on the plan: a band edge written as a parameter, changed in a new year,
is attributed to that parameter (it used to land under "other changes", because band edges were
folded at check time and a parameter patch did not move them).
"""
from __future__ import annotations

import json
from decimal import Decimal as D

import medrules
from conftest import ROOT
from medrules.analyses import diff
from medrules.facts import facts_from_source
from medrules.source import SourceFile

QUZHOU = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")
PARAM = ('parameter band_edge: money = {} yuan "分段点" | "band edge"\n'
         '  cites QZ2011_102 at "二" "起付标准以上至6万元(含6万元)部分"\n\naccumulator outpatient_cost:')


def quzhou_with_edge(edge: str, name: str):
    text = QUZHOU.replace("accumulator outpatient_cost:", PARAM.format(edge), 1)
    text = text.replace("up to 60_000 yuan: 84%", "up to band_edge: 84%").replace(
        "above 60_000 yuan: 87%", "above band_edge: 87%")
    assert "band_edge: 84%" in text
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile(name, text))))


def test_a_band_edge_parameter_is_attributed_to_that_parameter():
    old, new = quzhou_with_edge("60_000", "old.mr"), quzhou_with_edge("30_000", "new.mr")
    facts = {"member": {"id": "M", "category": "working"},
             "claims": [{"id": "C1", "date": "2012-03-01", "kind": "inpatient", "compliant_cost": "100000.00"}]}
    f = facts_from_source(SourceFile("f.json", json.dumps(facts)), old.checked)
    d = diff(old, new, [f], "en")
    c = d.claims[0]
    # old: deductible 600; (60,000 − 600) × 84% = 49,896.00; (100,000 − 60,000) × 87% = 34,800.00: 84,696.00
    # new: (30,000 − 600) × 84% = 24,696.00; (100,000 − 30,000) × 87% = 60,900.00: 85,596.00
    # the difference, 900.00 = 30,000 × (87% − 84%), belongs to band_edge
    assert (c.before["inpatient_pool"], c.after["inpatient_pool"]) == (D("84696.00"), D("85596.00"))
    assert [(a.change.name if a.change else None, a.funds) for a in c.attributions] == [
        ("band_edge", {"inpatient_pool": D("900.00")})]


def test_overrides_leave_the_program_they_come_from_alone():
    program = quzhou_with_edge("60_000", "old.mr")
    moved = program.with_overrides({"band_edge": D(30_000)})
    assert [b.upper for b in program.plan.top.funds[1].pay.bands] == [D(60_000), None]
    assert [b.upper for b in moved.plan.top.funds[1].pay.bands] == [D(30_000), None]
