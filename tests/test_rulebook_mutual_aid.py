"""D: Quzhou working employees' mutual aid, layered on the employee scheme of 2012.

Tiers on each admission's compliant own share after basic insurance (claim form):
0–10,000 at 40%, 10,000–20,000 at 50%, 20,000–50,000 at 60%, nothing above 50,000.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.explain import explain
from medrules.explain.text import render_explanation, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-mutual-aid-2012.mr"


@pytest.fixture(scope="module")
def program():
    def read(path):
        return SourceFile(path.resolve().relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    # the tiers below were worked by hand under the payments reading of the basic scheme's 160,000
    # (reading cap_axis of rulebooks/quzhou/employee-2012.mr): pinned, so they stay a test of that reading
    return medrules.load(RULEBOOK, read=read, readings={"basic.cap_axis": "payments"})


def settle(program, *claims, category="working", trace=False):
    facts = {"member": {"id": "M", "category": category},
             "claims": [{"id": f"A{i}", "date": f"2012-0{i}-10", **c} for i, c in enumerate(claims, 1)]}
    return medrules.settle(program, facts_from_source(SourceFile("facts.json", json.dumps(facts)), program.checked),
                           trace=trace)


def test_the_reported_case_14000_gives_6000(program):
    """衢州市总工会: 政策范围内个人自负药费1.4万元 … 拿到了6000元保障金.

    Basic: deductible 600; (60,000 − 600) × 84% = 49,896; (89,969.23 − 60,000) × 87% = 26,073.2301;
    49,896 + 26,073.2301 = 75,969.2301 → 75,969.23. Own share 89,969.23 − 75,969.23 = 14,000.00.
    Mutual aid: 10,000 × 40% + 4,000 × 50% = 6,000.00.
    """
    c = settle(program, {"kind": "inpatient", "compliant_cost": "89969.23", "self_paid": "1200.00"}).claims[0]
    assert c.fund("basic.inpatient_pool").paid == Decimal("75969.23")
    assert c.fund("mutual_aid").base == Decimal("14000.00")
    assert c.fund("mutual_aid").paid == Decimal("6000.00")
    assert c.member_pays == Decimal("9200.00")  # 14,000 − 6,000 + 1,200 self-paid


def test_third_tier(program):
    """180,000 in one admission: basic 49,896 + 120,000 × 87% = 154,296 (under the 160,000 cap).
    Own share 25,704: 4,000 + 5,000 + 5,704 × 60% = 12,422.40."""
    c = settle(program, {"kind": "inpatient", "compliant_cost": "180000.00"}).claims[0]
    assert c.fund("basic.inpatient_pool").paid == Decimal("154296.00")
    assert c.fund("mutual_aid").paid == Decimal("12422.40")


def test_nothing_above_50000_of_own_share(program):
    """700,000: basic pays its 160,000 cap; 49,896 of it in band 1 leaves 110,104 for band 2,
    covering 110,104 / 0.87 = 126,556.32… of cost; 640,000 − 126,556.32… = 513,443.68 above the cap,
    90% = 462,099.31, limited to the critical-illness cap of 250,000. Own share 700,000 − 410,000
    = 290,000: 4,000 + 5,000 + 30,000 × 60% = 27,000.00, the most the tiers give."""
    c = settle(program, {"kind": "inpatient", "compliant_cost": "700000.00"}).claims[0]
    assert c.fund("basic.critical_illness").paid == Decimal("250000.00")
    assert c.fund("mutual_aid").base == Decimal("290000.00")
    assert c.fund("mutual_aid").paid == Decimal("27000.00")


def test_retirees_and_outpatient_care_are_not_covered(program):
    retired = settle(program, {"kind": "inpatient", "compliant_cost": "89969.23"}, category="retired").claims[0]
    assert retired.fund("mutual_aid").paid == 0 and not retired.fund("mutual_aid").applied
    outpatient = settle(program, {"kind": "outpatient", "compliant_cost": "1000.00"}).claims[0]
    assert outpatient.fund("mutual_aid").paid == 0
    assert outpatient.fund("basic.outpatient_pool").paid == Decimal("350.00")  # (1,000 − 300) × 50%


def test_accumulators_of_both_layers_are_kept_apart(program):
    s = settle(program, {"kind": "inpatient", "compliant_cost": "50000.00"},
               {"kind": "inpatient", "compliant_cost": "20000.00"})
    assert s.claims[-1].accumulators["basic.inpatient_cost"] == Decimal("70000.00")
    # C1: 49,400 × 84% = 41,496; C2: 600 deductible, 9,400 × 84% + 10,000 × 87% = 7,896 + 8,700 = 16,596
    assert s.claims[-1].accumulators["basic.inpatient_paid"] == Decimal("58092.00")


def test_explanation_shows_the_hand_off(program, snapshot):
    s = settle(program, {"kind": "inpatient", "compliant_cost": "89969.23", "self_paid": "1200.00"}, trace=True)
    e = explain(program, s, "en")
    kinds = [line.kind for line in e.claims[0].lines]
    assert kinds.index("handoff") > kinds.index("paid")  # the base scheme settles first
    handoff = next(line for line in e.claims[0].lines if line.kind == "handoff")
    assert handoff.formula == "91,169.23 − 75,969.23 = 15,200.00"
    base_lines = [line for line in e.claims[0].lines if line.layer == "basic" and line.citation is not None
                  and line.citation.source is not None]
    assert base_lines and all(line.document == "衢政发〔2011〕102号" for line in base_lines)
    assert to_text(render_explanation(e), width=120) == snapshot


def test_opening_values_may_name_the_base_schemes_accumulators(program):
    facts = {"member": {"id": "M", "category": "working"},
             "opening": {"basic.inpatient_paid": "160000.00", "basic.inpatient_cost": "200000.00"},
             "claims": [{"id": "A1", "date": "2012-09-01", "kind": "inpatient", "compliant_cost": "10600.00"}]}
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(facts)), program.checked))
    c = s.claims[0]
    # the pool's cap is already reached: the 10,000 after the deductible is above it; 90% = 9,000
    assert c.fund("basic.inpatient_pool").paid == 0 and c.fund("basic.critical_illness").paid == Decimal("9000.00")
    # own share 10,600 − 9,000 = 1,600 × 40% = 640
    assert c.fund("mutual_aid").paid == Decimal("640.00")
