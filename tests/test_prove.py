"""medrules prove: properties for all inputs, decided by z3 on the plan; counterexamples that explain runs."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.prove import prove

SHIPPED = sorted((ROOT / "rulebooks").rglob("*.mr"))
CASES = ROOT / "tests" / "prove"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_no_fund_of_a_shipped_rulebook_breaks_its_bounds_caps_or_grid(path):
    report = prove(medrules.load(path), properties=("bounds", "caps", "grid"), timeout_ms=2000)
    assert report.ok, [f for f in report.findings if f.status == "failed"]
    assert sum(f.status == "proved" for f in report.findings) >= len(report.findings) - 1  # at most one undecided


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_property_of_every_shipped_rulebook(path):
    report = prove(medrules.load(path), timeout_ms=20_000)
    assert report.ok, [f for f in report.findings if f.status == "failed"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_funds_paying_more_than_the_total_is_found_with_a_counterexample(tmp_path):
    # base = cost + extra, total = cost: any claim with extra > 0 makes the fund pay more than the total
    # (cost 0.00, extra 0.01: 0.01 × 100% = 0.01 > 0.00)
    report = prove(medrules.load(CASES / "over.mr"), timeout_ms=5000)
    failed = {f.prop: f for f in report.findings if f.status == "failed"}
    assert set(failed) == {"member"}
    claim = failed["member"].facts["claims"][0]
    assert Decimal(claim["extra"]) > 0
    # the counterexample is a facts file explain runs: the settlement refuses it at the total (line 13)
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(failed["member"].facts), "utf-8")
    r = invoke("explain", CASES / "over.mr", facts)
    assert r.exit_code == 1 and "over.mr:13:" in r.output and "error[evaluate]" in r.output, r.output


def test_a_cliff_is_found_and_the_counterexample_explains(tmp_path):
    # 'applies when claim.cost <= 1000': 0.01 pays 0.01 × 50% = 0.005 → 0.01; 1000.01 pays nothing
    r = invoke("prove", CASES / "cliff.mr", "--json", "--timeout", "5")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    mono = next(f for f in doc["findings"] if f["property"] == "monotone")
    assert mono["status"] == "failed"
    cost = Decimal(mono["counterexample"]["claims"][0]["cost"])
    assert cost > 1000  # the claim that costs more is beyond the ceiling
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(mono["counterexample"]), "utf-8")
    r = invoke("run", CASES / "cliff.mr", facts, "--json")
    assert r.exit_code == 0 and Decimal(json.loads(r.stdout)["claims"][0]["funds"][0]["paid"]) == 0
    others = {f["property"]: f["status"] for f in doc["findings"] if f["property"] != "monotone"}
    assert others == {"bounds": "proved", "grid": "proved", "member": "proved"}


def test_prove_on_a_shipped_rulebook_through_the_cli():
    r = invoke("prove", ROOT / "rulebooks/cangzhou/yanshan-residents-2017", "--timeout", "5")
    assert r.exit_code == 0 and "every property holds for all inputs" in r.output, r.output


def test_a_contributions_only_rulebook_is_reported_as_nothing_to_prove():
    # pingyang/contributions-2019.mr declares contributions only: no fund pays a claim and there is no
    # total, so no property of a fund applies; prove says so (exit 0) instead of failing on the total
    path = ROOT / "rulebooks/pingyang/contributions-2019.mr"
    r = invoke("prove", path, "--json", "--timeout", "5")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["findings"] == []
    assert len(doc["notes"]) == 1 and "contributions-only" in doc["notes"][0]
    r = invoke("prove", path, "--timeout", "5")
    assert r.exit_code == 0 and "nothing to prove" in r.output.splitlines()[0], r.output
