"""Warnings for provisions that can never take effect: decided exactly over enumerations, yes/no facts
and comparisons with constants; never given for a provision that can take effect."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.check.reachability import warnings
from medrules.cli import app
from medrules.source import SourceFile

TEMPLATE = """\
rulebook "test/reach" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
source T { number "T1" }
enum kind { outpatient inpatient childbirth }
enum cat { working retired }
facts member { id: text  category: cat }
facts claim { id: text  date: date  kind: kind  cost: money  referred: bool = false }
parameter threshold: money = 1000 yuan cites T at "1" "q"
TOP
fund pool "p" cites T at "0" "q" {
  applies when APPLIES
  base claim.cost
  rate RATE cites T at "2" "q"
  CLAUSES
}
total cost is claim.cost
"""


def found(applies="claim.kind == inpatient", rate="60%", clauses="", top="") -> list[tuple[str, int]]:
    text = (TEMPLATE.replace("APPLIES", applies).replace("RATE", rate).replace("CLAUSES", clauses)
            .replace("TOP", top))
    ck = medrules.check(medrules.parse(SourceFile("reach.mr", text)))
    return [(w.code, w.span.line) for w in warnings(ck)]


FUND, RATE_LINE, CLAUSE, TOP = 14, 16, 17, 12  # lines of 'applies', 'rate', the extra clause, a top statement


@pytest.mark.parametrize("applies", [
    "claim.kind == inpatient and claim.kind == outpatient",       # one fact, two members
    "claim.kind in {inpatient} and claim.kind not in {inpatient, childbirth}",
    "claim.cost > 100 yuan and claim.cost < 50 yuan",             # an empty interval
    "claim.cost < 0 yuan",                                        # amounts from facts are never negative
    "claim.cost > threshold and claim.cost <= 1000 yuan",         # a parameter is its constant
    "claim.referred and not claim.referred",
    "claim.date >= 2021-01-01 and claim.date < 2020-06-01",       # dates are intervals too
    "not (claim.kind == inpatient or claim.kind != inpatient)",   # negation pushed inside
    "claim.cost == 10 yuan and claim.cost != 10 yuan",
])
def test_a_fund_that_can_never_apply(applies):
    assert found(applies) == [("never-applies", FUND)]


@pytest.mark.parametrize("applies", [
    "claim.kind == inpatient or claim.kind == outpatient",
    "claim.cost >= 100 yuan and claim.cost <= 100 yuan",          # exactly 100 yuan
    "claim.cost > threshold and claim.cost < 1000.01 yuan",
    "claim.kind != inpatient and claim.kind != outpatient",       # childbirth
    "claim.cost > claim.cost",                                    # two facts: not decided, no warning
    "day_number(claim.date, claim.date) > 5 and day_number(claim.date, claim.date) < 3",  # computed: not decided
])
def test_no_warning_when_the_condition_can_hold_or_is_not_decided(applies):
    assert found(applies) == []


def test_a_rate_case_shadowed_by_an_earlier_one():
    rate = "{ 70% when claim.kind in {inpatient, childbirth}, 60% when claim.kind == inpatient, otherwise 50% }"
    assert found("claim.kind != outpatient", rate) == [("shadowed-case", RATE_LINE)]


def test_a_rate_case_that_cannot_hold_with_the_fund_condition():
    rate = "{ 70% when claim.kind == outpatient, otherwise 50% }"
    assert found("claim.kind == inpatient", rate) == [("dead-case", RATE_LINE)]


def test_an_amount_threshold_shadowing():
    # cost > 1,000 first; then cost > 2,000 can only hold when cost > 1,000 already did
    rate = "{ 70% when claim.cost > threshold, 80% when claim.cost > 2000 yuan, otherwise 50% }"
    assert found("claim.kind == inpatient", rate) == [("shadowed-case", RATE_LINE)]
    ordered = "{ 80% when claim.cost > 2000 yuan, 70% when claim.cost > threshold, otherwise 50% }"
    assert found("claim.kind == inpatient", ordered) == []


def test_highest_cases_are_not_first_match():
    rate = "highest { 70% when claim.kind in {inpatient, childbirth}, 60% when claim.kind == inpatient, otherwise 0% }"
    assert found("claim.kind != outpatient", rate) == []


def test_an_adjustment_that_never_holds_with_the_fund():
    clauses = 'adjust +5 points when claim.kind == outpatient cites T at "3" "q"'
    assert found("claim.kind == inpatient", clauses=clauses) == [("never-adjusts", CLAUSE)]
    fine = 'adjust +5 points when member.category == retired cites T at "3" "q"'
    assert found("claim.kind == inpatient", clauses=fine) == []


def test_an_exclusion_that_can_never_fire():
    clauses = 'exclude when claim.kind == childbirth because "x" cites T at "3" "q"'
    assert found("claim.kind == inpatient", clauses=clauses) == [("never-excludes", CLAUSE)]
    top = 'exclude when claim.cost < 0 yuan because "x" cites T at "3" "q"'
    assert found(top=top) == [("never-excludes", TOP)]
    assert found(top='exclude when claim.cost < 5 yuan because "x" cites T at "3" "q"') == []


def test_a_dead_fund_is_one_warning_not_one_per_clause():
    clauses = 'adjust +5 points when claim.kind == outpatient cites T at "3" "q"'
    assert found("claim.kind == inpatient and claim.referred and not claim.referred", clauses=clauses) == [
        ("never-applies", FUND)]


def test_warnings_do_not_stop_the_rulebook_and_are_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = (TEMPLATE.replace("APPLIES", "claim.kind == inpatient").replace("RATE", "60%")
            .replace("CLAUSES", 'adjust +5 points when claim.kind == outpatient cites T at "3" "q"').replace("TOP", ""))
    path = tmp_path / "reach.mr"
    path.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["check", str(path)])
    assert r.exit_code == 0, r.output
    assert "warning[never-adjusts]" in r.output and "1 warning" in r.output
    r = CliRunner().invoke(app, ["check", str(path), "--sarif"])
    assert r.exit_code == 0
    import json
    [result] = json.loads(r.stdout)["runs"][0]["results"]
    assert result["level"] == "warning" and result["ruleId"] == "never-adjusts"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == CLAUSE


@pytest.mark.parametrize("path", sorted((ROOT / "rulebooks").rglob("*.mr")), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_shipped_rulebooks_have_no_warnings(path):
    program = medrules.load(path)
    assert warnings(program.checked) == []
