"""`medrules test`: expected outcomes in YAML beside a rulebook, failures with expected vs got and the
explanation's steps, JUnit XML, and coverage (which provisions fired)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.diagnostics import MedrulesError
from medrules.outcomes.coverage import coverage
from medrules.outcomes.report import coverage_html, coverages
from medrules.outcomes.run import Runner
from medrules.outcomes.spec import read_tests
from medrules.source import SourceFile

RULEBOOK = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").as_posix()
ENROLMENT = ROOT / "rulebooks" / "quzhou" / "tests" / "first-enrolment-outpatient.yaml"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _file(tmp_path, text: str, name="case.yaml"):
    path = tmp_path / name
    path.write_text(text.replace("RULEBOOK", RULEBOOK), encoding="utf-8")
    return path


ONE_CLAIM = """\
rulebook: RULEBOOK
facts:
  member: {id: M1, category: retired}
  claims:
    - {id: C1, date: 2012-05-02, kind: outpatient, institution: grassroots_zero_markup, compliant_cost: 1250.63}
expected:
  - claim: C1
    # 1250.63 - 300 deductible = 950.63 x (55% + 5 points) = 570.378 -> 570.38
    funds: {outpatient_pool: PAID}
    member_pays: MEMBER
"""


def test_a_hand_computed_expectation_passes(tmp_path):
    # 1250.63 − 300 = 950.63; 950.63 × 60% = 570.378 → 570.38 (half up); member 1250.63 − 570.38 = 680.25
    path = _file(tmp_path, ONE_CLAIM.replace("PAID", "570.38").replace("MEMBER", "680.25"))
    r = invoke("test", path)
    assert r.exit_code == 0, r.output
    assert "1 passed, 0 failed, 0 errors" in r.output


def test_amounts_are_read_exactly_never_as_floats(tmp_path):
    [case] = read_tests(SourceFile.read(_file(tmp_path, ONE_CLAIM.replace("PAID", "570.38").replace(
        "MEMBER", "680.25"))))
    assert case.expected[0].funds["outpatient_pool"].value == Decimal("570.38")
    claim = case.facts.value["claims"].value[0].value
    assert claim["compliant_cost"].value == Decimal("1250.63") and claim["date"].value == "2012-05-02"


def test_a_failure_shows_expected_got_where_and_the_steps(tmp_path):
    path = _file(tmp_path, ONE_CLAIM.replace("PAID", "570.37").replace("MEMBER", "680.25"))
    r = invoke("test", path, "--lang", "en")
    assert r.exit_code == 1
    # the expectation '570.37' is on line 9, at column 30 of '    funds: {outpatient_pool: 570.37}'
    assert f"{path}:9:30: claim C1, outpatient_pool: expected 570.37, got 570.38" in r.output
    assert "950.63 × 60% = 570.378" in r.output  # the explanation's rate step
    assert "0 passed, 1 failed" in r.output
    # member_pays too: 680.25 was right, so only one mismatch
    assert r.output.count("expected ") == 1


def test_junit_xml_reports_the_failure(tmp_path):
    path = _file(tmp_path, ONE_CLAIM.replace("PAID", "570.37").replace("MEMBER", "680.26"))
    junit = tmp_path / "out.xml"
    r = invoke("test", path, "--junit-xml", junit)
    assert r.exit_code == 1
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "1", "0")
    failure = root.find("./testsuite/testcase/failure")
    assert failure.get("message") == "claim C1, outpatient_pool: expected 570.37, got 570.38"
    assert "member_pays: expected 680.26, got 680.25" in failure.text


def test_expected_exclusion_reasons(tmp_path):
    text = ENROLMENT.read_text(encoding="utf-8").replace("../employee-2012.mr", RULEBOOK)
    ok = invoke("test", _file(tmp_path, text, "ok.yaml"))
    assert ok.exit_code == 0, ok.output
    # C2 (April) is paid: expecting it excluded fails with the reason missing
    bad = text.replace("  - claim: C2\n", "  - claim: C2\n    excluded: {outpatient_pool: 首次参保}\n")
    r = invoke("test", _file(tmp_path, bad, "bad.yaml"))
    assert r.exit_code == 1
    assert "claim C2, excluded outpatient_pool: expected 首次参保, got not excluded" in r.output


def test_several_tests_in_one_file_share_the_rulebook(tmp_path):
    text = "rulebook: RULEBOOK\ntests:\n" + "".join(
        "  - " + block.replace("\n", "\n    ").rstrip() + "\n" for block in (
            ONE_CLAIM.replace("rulebook: RULEBOOK\n", "").replace("PAID", "570.38").replace("MEMBER", "680.25"),
            ONE_CLAIM.replace("rulebook: RULEBOOK\n", "").replace("PAID", "1.00").replace("MEMBER", "680.25")))
    r = invoke("test", _file(tmp_path, text))
    assert r.exit_code == 1
    assert "PASS case[1]" in r.output and "FAIL case[2]" in r.output and "1 passed, 1 failed" in r.output


def test_bad_facts_point_into_the_test_file(tmp_path):
    path = _file(tmp_path, ONE_CLAIM.replace("PAID", "1.00").replace("MEMBER", "1.00").replace(
        "kind: outpatient", "kind: outpatiant"))
    r = invoke("test", path)
    assert r.exit_code == 1
    assert f"{path}:5:" in r.output and "'outpatiant' is not one of the visit_kind values" in r.output
    assert "did you mean 'outpatient'" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("text, code, line", [
    ("rulebook: x.mr\nfacts: [\n", "test-syntax", 3),
    ("rulebook: RULEBOOK\nfacts: {}\nexpect: []\n", "test", 3),  # 'expect' is not a key; 'expected' is missing
    ("", "test", 1),
    ("rulebook: RULEBOOK\nfacts: {}\nexpected:\n  - claim: C1\n    funds: {}\n", "test", 4),  # checks nothing
])
def test_malformed_test_files_are_located(tmp_path, text, code, line):
    path = _file(tmp_path, text)
    with pytest.raises(MedrulesError) as exc:
        read_tests(SourceFile.read(path))
    assert exc.value.diagnostics[0].code == code and exc.value.diagnostics[0].span.line == line
    r = invoke("test", path)
    assert r.exit_code == 1 and "Traceback" not in r.output and "1 error" in r.output


def test_no_test_files_is_an_error(tmp_path):
    r = invoke("test", tmp_path)
    assert r.exit_code == 1 and "no test files found" in r.output


def test_coverage_of_the_first_enrolment_case_by_hand():
    """first-enrolment-outpatient.yaml: C1 (outpatient, March) excluded by the first-enrolment rule,
    C3 (inpatient, 10,000) in band 1 only, C2 (outpatient, other institution) at the 'otherwise 50%' case."""
    runner = Runner()
    result = runner.run_file(ENROLMENT)
    [case] = result.cases
    assert case.passed, case.mismatches
    cov = coverage(case.program.checked.rulebook, [case.settlement])
    hits = {(i.kind, i.label): i.hits for i in cov.items}
    assert hits[("exclude", "exclude: 首次参保,缴费次月起才享受门诊统筹待遇")] == 1  # C1
    assert hits[("exclude", "exclude: 欠费或中断缴费,次月起暂停享受门诊统筹待遇")] == 0
    assert hits[("band", "band 0 – 60_000 yuan: 84%")] == 1  # C3
    assert hits[("band", "band 60_000 yuan – …: 87%")] == 0
    assert hits[("case", "otherwise 50%")] == 1  # C2 at other_designated
    assert hits[("case", "55% when claim.institution == grassroots_zero_markup")] == 0
    assert hits[("deductible", "deductible 300 yuan per year")] == 1  # C2 takes 300
    assert hits[("cap", "cap cost at 3_000 yuan")] == 0  # 500 counted, far below 3,000
    assert hits[("adjust", "adjust 5 points when member.category == retired")] == 0  # a working member
    assert hits[("fund", "大病补充医疗保险")] == 0  # nothing above the inpatient limit
    # the rulebook's reading (cap_axis = cost) keeps the critical-illness layer's cost-axis condition
    assert hits[("applies", "applies when inpatient_pool.above_ceiling > 0 yuan")] == 0
    assert ("applies", "applies when inpatient_pool.above_cap > 0 yuan") not in hits  # the payments reading's


def test_coverage_table_and_html(tmp_path):
    html = tmp_path / "coverage.html"
    r = invoke("test", ENROLMENT, "--coverage", "--coverage-html", html)
    assert r.exit_code == 0, r.output
    assert "coverage of quzhou/employee-2012" in r.output and "never" in r.output
    page = html.read_text(encoding="utf-8")
    assert page.count('class="never"') == sum(1 for i in coverages(
        [Runner().run_file(ENROLMENT)])[0].items if not i.hits)
    assert "inpatient_pool.above_ceiling &gt; 0 yuan" in page  # autoescaped: '>' in a condition is not markup
    assert "claim.kind in {inpatient, family_ward, special_outpatient}" in page


def test_the_shipped_cases_exercise_every_fund_and_band():
    runner = Runner()
    files = [runner.run_file(p) for p in sorted((ROOT / "rulebooks" / "quzhou" / "tests").glob("*.yaml"))]
    # two programs: the rulebook under its own reading (cap_axis = cost) and under cap_axis = payments, which
    # reaches-cap-into-critical.yaml and cap-exact-then-critical-cap.yaml choose; every provision of either
    # (the 'under' clauses of both readings included) fires under at least one of them
    covs = coverages(files)
    assert len(covs) == 2 and {c.rulebook for c in covs} == {"quzhou/employee-2012"}
    provisions = {(i.kind, i.label) for c in covs for i in c.items}
    fired = {(i.kind, i.label) for c in covs for i in c.items if i.hits}
    never = provisions - fired
    assert ("cap", "cap payments at 160_000 yuan") in fired and ("cap", "cap cost at 160_000 yuan") in fired
    assert not {kind for kind, _ in never} & {"fund", "band", "rate", "cap", "deductible", "adjust"}, never
