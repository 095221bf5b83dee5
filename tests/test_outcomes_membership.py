"""``medrules test`` on a membership rulebook: a test file's facts (the router's and every scheme's, histories
nested) settled claim by claim under the scheme of its date, as ``medrules run`` does; a failure explained by the
scheme's rulebook that settled the claim; a claim insured in no scheme located in the test file.

Amounts by hand (as tests/test_batch_routed.py): Quzhou employee scheme 600 deductible per admission then 84%
(working); resident scheme (residents-2020, ILLUSTRATIVE, assumed) inpatient 60%; Qinhuangdao former schemes
(ILLUSTRATIVE) urban residents 500 then 60%, NCMS 300 then 55%, the better one kept."""
from __future__ import annotations

from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
QHD = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"

P = f"""rulebook: {QUZHOU}
title: "a flexible worker: employee scheme, then in arrears"
facts:
  member: {{id: P, employment: flexible, category: working}}
  periods:
    - {{scheme: employee, first_month: 2019-01-01, last_month: 2020-05-01, arrears: false}}
    - {{scheme: employee, first_month: 2020-06-01, arrears: true}}
  claims:
    - {{id: P1, date: 2020-03-10, kind: inpatient, compliant_cost: 10000.00}}
    - {{id: P2, date: 2020-08-10, kind: inpatient, compliant_cost: 10000.00}}
expected:
  - claim: P1
    funds: {{inpatient_pool: P1_PAID}}
    member_pays: 2104.00
  - claim: P2
    funds: {{resident_pool: 6000.00}}
    member_pays: 4000.00
"""


def invoke(tmp_path, text: str, *args):
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return path, CliRunner().invoke(app, ["test", str(path), "--lang", "en", *args])


def test_a_membership_test_file_passes_by_hand(tmp_path):
    # P1 (2020-03-10), paid employee period: (10,000 − 600) × 84% = 7,896.00, member pays 600 + 1,504 = 2,104.00;
    # P2 (2020-08-10), in arrears: the resident scheme, 60% × 10,000 = 6,000.00, member pays 4,000.00
    _, r = invoke(tmp_path, P.replace("P1_PAID", "7896.00"), "--coverage")
    assert r.exit_code == 0, r.output
    assert "1 passed, 0 failed, 0 errors" in r.output
    # coverage: two of the five 'insured' statements routed a claim (employee for P1, arrears_resident for P2),
    # and each scheme's rulebook is covered by the claims it settled
    assert "coverage of quzhou/membership-2020: 2 of 5 provisions fired (40.0%)" in r.output
    assert "coverage of quzhou/employee-2012:" in r.output and "coverage of quzhou/residents-2020:" in r.output


def test_a_failure_is_explained_by_the_scheme_that_settled_the_claim(tmp_path):
    path, r = invoke(tmp_path, P.replace("P1_PAID", "7896.01"))
    assert r.exit_code == 1
    # the expectation "7896.01" is on line 13, column 29 (after "    funds: {inpatient_pool: ", 28 characters)
    assert f"{path}:13:29: claim P1, inpatient_pool: expected 7,896.01, got 7,896.00" in r.output, r.output
    assert "84%" in r.output  # the employee scheme's band step, not the membership rulebook's
    assert "0 passed, 1 failed" in r.output


def test_a_claim_insured_in_no_scheme_is_located_in_the_test_file(tmp_path):
    text = P.replace("P1_PAID", "7896.00").replace("2019-01-01, last_month: 2020-05-01", "2020-04-01, last_month: 2020-05-01")
    path, r = invoke(tmp_path, text)
    assert r.exit_code == 1 and "Traceback" not in r.output
    # P1's date (line 9) is before any period: insured in no scheme
    assert f"{path}:9:" in r.output and "insured in no scheme of 'quzhou/membership-2020'" in r.output
    assert "0 passed, 0 failed, 1 error" in r.output


def test_highest_of_by_hand(tmp_path):
    text = f"""rulebook: {QHD}
facts:
  member: {{id: U, former_scheme: urban_resident}}
  claims:
    - {{id: U1, date: 2017-03-01, kind: inpatient, compliant_cost: 10000.00}}
    - {{id: U2, date: 2017-05-01, kind: inpatient, compliant_cost: 1000.00}}
expected:
  - claim: U1
    funds: {{urban_pool: 5700.00}}
  - claim: U2
    funds: {{ncms_pool: 385.00}}
"""
    # U1: urban (10,000 − 500) × 60% = 5,700.00 > NCMS (10,000 − 300) × 55% = 5,335.00: urban;
    # U2: urban (1,000 − 500) × 60% = 300.00 < NCMS (1,000 − 300) × 55% = 385.00: NCMS
    _, r = invoke(tmp_path, text, "--coverage")
    assert r.exit_code == 0, r.output
    assert "1 passed, 0 failed, 0 errors" in r.output
