"""medrules diff: Pingyang earlier → 2019 on the same claims, attributed to the provisions that changed.

examples/pingyang-2019-inpatient-year.json, worked by hand (deductible per admission; the 120,000
cost limit; the layer above it pays 60%):
C1 county hospital, compliant 38,600: before (38,600 − 600) × 80% = 30,400.00; after (38,600 − 900) × 70%
   = 26,390.00. Deductible 600 → 900 at 80%: −300 × 80% = −240.00; rate 80% → 70% on 37,700: −3,770.00.
C3 outside the city, not referred (−5 points), compliant 52,480: before (52,480 − 1,000) × 55% = 28,314.00;
   after (52,480 − 1,300) × 35% = 17,913.00. Deductible: −300 × 55% = −165.00; rate 55% → 35% on 51,180:
   −10,236.00.
C5 township, 4,000, wholly above 120,000: under reading deductible_above_limit = charged (pinned here; the
   rulebooks choose 'waived', under which C5 pays 4,000 × 60% = 2,400.00 in both years and does not move) the
   deductible stays with the member, the layer pays 60% of the rest: before (4,000 − 300) × 60% = 2,220.00; after (4,000 − 600) × 60% = 2,040.00: −180.00, all of it
   the township deductible 300 → 600.
"""
from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.analyses.diff import diff, provision_changes
from medrules.facts import facts_from_source
from medrules.source import SourceFile

CHARGED = {"deductible_above_limit": "charged"}
OLD = medrules.load(ROOT / "rulebooks/pingyang/residents-earlier.mr", readings=CHARGED)
NEW = medrules.load(ROOT / "rulebooks/pingyang/residents-2019.mr", readings=CHARGED)
FACTS = ROOT / "examples/pingyang-2019-inpatient-year.json"


@pytest.fixture(scope="module")
def d():
    facts = facts_from_source(SourceFile.read(FACTS), OLD.checked)
    return diff(OLD, NEW, [facts], "en")


def attributed(claim):
    return {(a.change.name if a.change else None): a.funds for a in claim.attributions}


def test_county_hospital(d):
    c1 = d.claims[0]
    assert (c1.before["inpatient_pool"], c1.after["inpatient_pool"]) == (D("30400.00"), D("26390.00"))
    assert attributed(c1) == {"county_deductible": {"inpatient_pool": D("-240.00")},
                              "county_rate": {"inpatient_pool": D("-3770.00")}}


def test_outside_the_city(d):
    c3 = d.claims[2]
    assert (c3.before["inpatient_pool"], c3.after["inpatient_pool"]) == (D("28314.00"), D("17913.00"))
    assert attributed(c3) == {"outside_city_deductible": {"inpatient_pool": D("-165.00")},
                              "outside_city_rate": {"inpatient_pool": D("-10236.00")}}


def test_township_above_the_limit(d):
    c5 = d.claims[4]
    assert attributed(c5) == {"township_deductible": {"above_limit": D("-180.00")}}


def test_attributions_add_up_and_totals(d):
    for c in d.claims:
        for fund in c.after:
            moved = sum((a.funds.get(fund, D(0)) for a in c.attributions), D(0))
            assert moved == c.after[fund] - c.before[fund]
    t = d.totals()
    assert d.affected == 5 and t["funds_before"] - t["funds_after"] == t["member_after"] - t["member_before"]


def test_provision_changes_without_facts():
    changes = {c.name: (c.before, c.after) for c in provision_changes(OLD, NEW, "en")}
    assert changes["county_deductible"] == ("600 yuan", "900 yuan")
    assert changes["city_rate"] == ("75%", "50%")
    assert not any(c.kind == "clause" for c in provision_changes(OLD, NEW))  # only numbers changed in 2019


def test_cli_markdown_memo_and_json(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["diff", "rulebooks/pingyang/residents-earlier", "rulebooks/pingyang/residents-2019", str(FACTS),
            "--reading", "deductible_above_limit=charged"]
    r = CliRunner().invoke(app, args + ["--format", "markdown", "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert "| C1 | inpatient_pool | 30,400.00 | 26,390.00 | −4,010.00 |" in r.output
    assert "县内县级医院起付线 600 元 → 900 元: −240.00" in r.output  # the Chinese memo says 元, not yuan
    doc = json.loads(CliRunner().invoke(app, args + ["--json"]).output)
    assert doc["totals"]["claims_affected"] == 5
    r = CliRunner().invoke(app, args[:3] + args[4:])
    assert r.exit_code == 0 and "县内县级医院起付线" in r.output and "600 元" in r.output
