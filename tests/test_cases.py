"""Worked examples computed by hand from the policy text, settled to the fen.

Each case file in rulebooks/quzhou/tests/ (a ``medrules test`` file, YAML) holds the facts,
the expected payment of every fund on every claim, what the member pays, the accumulators
after the last claim, and the hand arithmetic (``working``) that produced them from the
quoted provisions. The suite checks them both here and through ``medrules test``.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

import medrules
from conftest import case_files, load_case

CASES = case_files()


def test_there_are_cases():
    assert len(CASES) >= 8


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_settles_to_the_fen(path):
    program, case, facts = load_case(path)
    settlement = medrules.settle(program, facts)
    assert [c.id for c in settlement.claims] == [e["claim"] for e in case["expected"]], "claims in date order"
    for expected in case["expected"]:
        claim = settlement.claim(expected["claim"])
        got = {name: claim.fund(name).paid for name in expected["funds"]}
        assert got == {k: Decimal(v) for k, v in expected["funds"].items()}, expected["working"]
        assert claim.member_pays == Decimal(expected["member_pays"]), expected["working"]
    after = settlement.claims[-1].accumulators
    assert {k: after[k] for k in case["accumulators_after"]} == {
        k: Decimal(v) for k, v in case["accumulators_after"].items()}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_case_shows_its_arithmetic(path):
    _, case, _ = load_case(path)
    for expected in case["expected"]:
        assert expected["working"], f"{path.name} {expected['claim']} has no hand arithmetic"


def test_the_issue_worked_examples_are_present():
    names = {p.stem for p in CASES}
    assert {"retiree-outpatient-year", "working-inpatient-band1", "working-crosses-60000",
            "retiree-crosses-60000", "reaches-cap-into-critical"} <= names


def test_retiree_outpatient_year_by_hand(quzhou):
    """A1 worked in the test itself: 300 deductible per year, cost counted up to 3,000, retiree +5 points.

    C1 180.00 at an other institution: all of it is deductible (180 of 300)           -> fund 0
    C2 1,250.63 at grassroots: 120.00 deductible left; 1,130.63 × (55% + 5) = 678.378  -> 678.38
    C3 2,069.85 other: counted 1,430.63 → 3,500.48, payable to 3,000: 1,569.37 × (50% + 5)
       = 863.1535                                                                       -> 863.15
    """
    path = next(p for p in CASES if p.stem == "retiree-outpatient-year")
    _, _, facts = load_case(path)
    s = medrules.settle(quzhou, facts)
    assert [c.fund("outpatient_pool").paid for c in s.claims] == [
        Decimal("0.00"), Decimal("678.38"), Decimal("863.15")]
    assert s.claims[-1].accumulators["outpatient_cost"] == Decimal("3500.48")


def test_retiree_gets_five_more_points_than_a_working_member_on_the_same_claims():
    """A2: 84%/87% for working members, 89%/92% for retirees, on the same admissions."""
    work = medrules.settle(*_program_and_facts("working-crosses-60000"))
    retired = medrules.settle(*_program_and_facts("retiree-crosses-60000"))
    # C1: 45,000 − 600 = 44,400 in band 1 → 44,400 × 5 points = 2,220.00 more
    assert retired.claims[0].fund("inpatient_pool").paid - work.claims[0].fund("inpatient_pool").paid == \
        Decimal("2220.00")
    # C2: (28,351.50 − 600) = 27,751.50 across both bands → × 5 points = 1,387.575, rounding gives 1,387.57
    assert retired.claims[1].fund("inpatient_pool").paid - work.claims[1].fund("inpatient_pool").paid == \
        Decimal("1387.57")


def _program_and_facts(stem):
    program, _, facts = load_case(next(p for p in CASES if p.stem == stem))
    return program, facts


def test_medrules_test_passes_every_case(tmp_path, monkeypatch):
    """The same files through the command a drafter runs, with JUnit XML as CI reads it."""
    import xml.etree.ElementTree as ET

    from typer.testing import CliRunner

    from conftest import CASES, ROOT
    from medrules.cli import app
    monkeypatch.chdir(ROOT)
    junit = tmp_path / "junit.xml"
    r = CliRunner().invoke(app, ["test", str(CASES.relative_to(ROOT)), "--junit-xml", str(junit)])
    assert r.exit_code == 0, r.output
    assert f"{len(CASES_FOUND)} passed, 0 failed, 0 errors" in r.output
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(len(CASES_FOUND)), "0", "0")


CASES_FOUND = CASES
