"""Membership rulebooks in `medrules explain --what-if`, `--format markdown` and `--format html`.

Amounts are worked by hand from the rulebooks' figures:
* Quzhou employee scheme (employee-2012.mr): 600 deductible per admission, then 84% (working member);
* Quzhou resident scheme (residents-2020.mr, ILLUSTRATIVE, declared assumed): inpatient 60%, no deductible;
* Quzhou membership (membership-2020.mr): arrears_months = 6 months (衢医保联发〔2020〕13号 二, "连续欠缴…六个月");
* Qinhuangdao former schemes (ILLUSTRATIVE): urban residents 500 deductible then 60%; NCMS 300 then 55%.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = "rulebooks/quzhou/membership-2020.mr"
QHD = "rulebooks/qinhuangdao-integration/integration-2017.mr"
QHD_FACTS = "examples/membership/qinhuangdao-integration-2017.json"


def inpatient(cid: str, date: str, cost: str) -> dict:
    return {"id": cid, "date": date, "kind": "inpatient", "compliant_cost": cost}


STOPPED = {"member": {"id": "M1", "category": "working"},
           "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-04-01"}],
           "claims": [inpatient("C1", "2020-03-12", "10600.00"), inpatient("C2", "2020-05-10", "10000.00")]}
# a flexible worker in arrears from January 2020
ARREARS = {"member": {"id": "F1", "category": "working", "employment": "flexible"},
           "periods": [{"scheme": "employee", "first_month": "2018-01-01", "last_month": "2019-12-01"},
                       {"scheme": "employee", "first_month": "2020-01-01", "arrears": True}],
           "claims": [inpatient("C1", "2020-04-10", "5000.00")]}


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)

    def invoke(rulebook: str, doc: dict | str, *args: str, ok: bool = True):
        facts = doc if isinstance(doc, str) else str(_write(tmp_path, doc))
        r = CliRunner().invoke(app, ["explain", rulebook, facts, *args])
        assert (r.exit_code == 0) == ok, r.output
        return r.output
    return invoke


def _write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "facts.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- --what-if
def test_what_if_a_scheme_parameter(run):
    w = json.loads(run(QUZHOU, STOPPED, "--what-if", "residents-2020.inpatient_rate=70%", "--json", "--lang", "en"))
    assert w["changes"] == [{"parameter": "residents-2020.inpatient_rate", "value": "0.70"}]
    c1, c2 = w["claims"]
    # C1 is the employee scheme's: nothing moves
    assert c1["funds"] == [] and c1["member_pays"] == {"before": "2200.00", "after": "2200.00"}
    # C2, the resident scheme's: 10,000 × 60% = 6,000.00 → 10,000 × 70% = 7,000.00; the member 4,000.00 → 3,000.00
    assert c2["funds"] == [{"fund": "residents-2020.resident_pool", "before": "6000.00", "after": "7000.00",
                            "change": "1000.00"}]
    assert c2["member_pays"] == {"before": "4000.00", "after": "3000.00"}
    assert c2["scheme"]["before"] == c2["scheme"]["after"] == {"scheme": "stopped", "rulebook": "quzhou/residents-2020"}
    # in all: 8,400.00 + 6,000.00 = 14,400.00 → 8,400.00 + 7,000.00 = 15,400.00
    assert w["funds"] == {"before": "14400.00", "after": "15400.00", "change": "1000.00"}


def test_what_if_a_fact_moves_the_claim_to_another_scheme(run):
    # an employer's arrears keep an employee in the employee scheme; as a flexible worker, the same arrears
    # put the member in the resident scheme ("视作资助参加")
    doc = {**ARREARS, "member": {"id": "E1", "category": "working"}}
    w = json.loads(run(QUZHOU, doc, "--what-if", "member.employment=flexible", "--json", "--lang", "en"))
    c = w["claims"][0]
    assert c["scheme"] == {"before": {"scheme": "employee", "rulebook": "quzhou/employee-2012"},
                           "after": {"scheme": "arrears_resident", "rulebook": "quzhou/residents-2020"}}
    # employee: (5,000 − 600) × 84% = 3,696.00; resident: 5,000 × 60% = 3,000.00
    assert {f["fund"]: (f["before"], f["after"]) for f in c["funds"]} == {
        "employee-2012.inpatient_pool": ("3696.00", "0.00"), "residents-2020.resident_pool": ("0.00", "3000.00")}
    assert c["member_pays"] == {"before": "1304.00", "after": "2000.00"}
    insured = c["steps"][0]
    assert insured["before"]["kind"] == insured["after"]["kind"] == "insured"
    assert "settled under 'quzhou/residents-2020'" in insured["after"]["text"]
    # the citizen's view says it with the schemes' names
    text = flat(run(QUZHOU, doc, "--what-if", "member.employment=flexible", "--view", "citizen", "--lang", "en"))
    assert "inpatient pooling fund (employee medical insurance): 3,696.00 → 0.00 (−3,696.00)" in text
    assert "(resident medical insurance (employee insurance in arrears)): 0.00 → 3,000.00 (+3,000.00)" in text


def test_what_if_a_membership_parameter_changes_the_deciding_statement(run):
    # 2020-04-10 is in the 4th month of arrears: with six months, still "视作资助参加" (arrears_resident); with
    # arrears_months = 3 months the employee insurance ended on 2020-04-01 (arrears_ended). Both settle under
    # the resident scheme: 5,000 × 60% = 3,000.00 either way.
    w = json.loads(run(QUZHOU, ARREARS, "--what-if", "arrears_months=3 months", "--json", "--lang", "en"))
    c = w["claims"][0]
    assert w["changes"] == [{"parameter": "arrears_months", "value": 3}]
    assert (c["scheme"]["before"]["scheme"], c["scheme"]["after"]["scheme"]) == ("arrears_resident", "arrears_ended")
    assert c["funds"] == [] and c["member_pays"] == {"before": "2000.00", "after": "2000.00"}
    # only the membership step changed (the scheme's own steps are the same provisions, unchanged)
    assert [s["before"]["kind"] for s in c["steps"]] == ["insured"]
    # the citizen's view says the scheme moved, not "Nothing changes." (the money is the same)
    text = flat(run(QUZHOU, ARREARS, "--what-if", "arrears_months=3 months", "--view", "citizen", "--lang", "en"))
    assert "Nothing changes." not in text and "→ " in text and "six months of arrears ended" in text, text
    # 2020-03-31 stays within three months: nothing changes
    early = {**ARREARS, "claims": [inpatient("C1", "2020-03-31", "5000.00")]}
    assert "Nothing changes." in flat(run(QUZHOU, early, "--what-if", "arrears_months=3 months", "--view", "citizen",
                                          "--lang", "en"))
    c = json.loads(run(QUZHOU, early, "--what-if", "arrears_months=3 months", "--json"))["claims"][0]
    assert c["scheme"]["before"] == c["scheme"]["after"] and c["steps"] == []


def test_what_if_moves_a_claim_between_former_schemes_under_highest_of(run):
    out = run(QHD, QHD_FACTS, "--what-if", "ncms-2016.inpatient_rate=65%", "--format", "markdown", "--lang", "en")
    # C1, 10,000: urban (10,000 − 500) × 60% = 5,700.00 beat NCMS (9,700 × 55% = 5,335.00); at 65% NCMS pays
    # 9,700 × 65% = 6,305.00 and wins: the urban fund 5,700.00 → 0, NCMS 0 → 6,305.00
    assert "urban residents' pooling fund (resident medical insurance (integration transition)): 5,700.00 → 0.00 " \
           "(−5,700.00)" in out
    assert "rural cooperative pooling fund (resident medical insurance (integration transition)): 0.00 → 6,305.00 " \
           "(+6,305.00)" in out
    assert "settled under the higher, 'qinhuangdao-integration/ncms-2016'" in out
    # C2, 1,000: NCMS (700 × 55% = 385.00 → 700 × 65% = 455.00) stays the better; in all 6,085.00 → 6,760.00
    assert "385.00 → 455.00 (+70.00)" in out
    assert "**In all, the funds pay 6,085.00 → 6,760.00 (+675.00)**" in out


@pytest.mark.parametrize("change, message", [
    ("arrears_months=3", "'arrears_months' is months, and '3' is count"),
    ("arrears_months=3 yuan", "'arrears_months' is months, and '3 yuan' is money"),
    ("rate=1%", "'rate' is not a parameter of 'quzhou/membership-2020'"),
    ("employees.rate=1%", "no scheme rulebook 'employees.mr'"),
    ("residents-2020.nope=1%", "'nope' is not a parameter of 'quzhou/residents-2020'"),
    ("employee-2012.inpatient_deductible=abc", "'abc' is not a value"),
    ("claim.colour=red", "'claim.colour' is not a claim fact of any rulebook involved"),
    ("member.employment=alien", "'alien' is not one of the employment values"),
    ("nothing", "'nothing' is not NAME=VALUE"),
])
def test_bad_what_ifs_are_located_errors(run, change, message):
    out = run(QUZHOU, STOPPED, "--what-if", change, "--lang", "en", ok=False)
    assert out.startswith("--what-if:1:1: error[") and message in out and "Traceback" not in out


def test_what_if_on_a_scheme_deductible_in_html(run):
    # C1 under the employee scheme with a 1,000 deductible: (10,600 − 1,000) × 84% = 8,064.00 (was 8,400.00)
    out = run(QUZHOU, STOPPED, "--what-if", "employee-2012.inpatient_deductible=1000 yuan", "--format", "html",
              "--lang", "en")
    assert out.startswith("<!DOCTYPE html>") and "8,400.00 → 8,064.00 (−336.00)" in out


# ---------------------------------------------------------------- markdown and html
def test_markdown_has_the_membership_step_for_every_claim(run):
    out = run(QUZHOU, STOPPED, "--format", "markdown", "--view", "auditor", "--lang", "en")
    assert out.count("# How your claim was settled") == 1
    assert "(`quzhou/membership-2020`) · Member: M1" in out
    assert out.index("## Claim C1 · 2020-03-12") < out.index("## Claim C2 · 2020-05-10")
    c2 = out[out.index("## Claim C2"):]
    assert c2.startswith("## Claim C2 · 2020-05-10 · 2020\n\n1. On 2020-05-10 (claim.date) the member belonged to the "
                         "resident medical insurance (from the month after employee insurance stopped)")
    assert "   - § 衢医保联发〔2020〕13号 二: “对年中停止参加城镇职工基本医疗保险的,从停保次月起自动接续城乡居民基本医疗保险”" in c2
    # C1: (10,600 − 600) × 84% = 8,400.00; C2: 10,000 × 60% = 6,000.00
    assert "**funds pay 8,400.00 yuan; member pays 2,200.00 yuan**" in out
    assert "**funds pay 6,000.00 yuan; member pays 4,000.00 yuan**" in out
    citizen = run(QUZHOU, STOPPED, "--format", "markdown", "--view", "citizen", "--lang", "en")
    # the summary over both schemes: 20,600.00 in all, the funds 14,400.00, the member 6,200.00
    assert "- Total cost: 20,600.00 yuan" in citizen and "- Paid by the funds: **14,400.00 yuan**" in citizen
    assert "- Yours to pay: **6,200.00 yuan**" in citizen
    assert "- On 2020-05-10 you were insured in the resident medical insurance (from the month after employee " \
           "insurance stopped)" in citizen


def test_markdown_shows_both_amounts_under_highest_of(run):
    # C1: urban (10,000 − 500) × 60% = 5,700.00 vs NCMS (10,000 − 300) × 55% = 5,335.00;
    # C2: urban (1,000 − 500) × 60% = 300.00 vs NCMS (1,000 − 300) × 55% = 385.00
    citizen = run(QHD, QHD_FACTS, "--format", "markdown", "--view", "citizen", "--lang", "en")
    assert "Settled under each earlier scheme (qinhuangdao-integration/urban-residents-2016 5,700.00 yuan; " \
           "qinhuangdao-integration/ncms-2016 5,335.00 yuan): the better one applies." in citizen
    assert "(qinhuangdao-integration/urban-residents-2016 300.00 yuan; qinhuangdao-integration/ncms-2016 " \
           "385.00 yuan)" in citizen
    assert "Paid by the funds: **6,085.00 yuan**" in citizen  # 5,700.00 + 385.00
    auditor = run(QHD, QHD_FACTS, "--format", "markdown", "--view", "auditor", "--lang", "en")
    assert "the funds pay 'qinhuangdao-integration/urban-residents-2016' 5,700.00 yuan; " \
           "'qinhuangdao-integration/ncms-2016' 5,335.00 yuan; settled under the higher, " \
           "'qinhuangdao-integration/urban-residents-2016'" in auditor


HOSTILE = "<script>alert(1)</script>"


def test_facts_text_is_escaped_in_markdown_and_html(run):
    doc = {**STOPPED, "member": {"id": HOSTILE + "*x*", "category": "working"},
           "claims": [inpatient("C1 " + HOSTILE, "2020-05-10", "10000.00")]}
    for view in ("citizen", "auditor"):
        md = run(QUZHOU, doc, "--format", "markdown", "--view", view, "--lang", "en")
        assert "<script>" not in md and r"\<script\>alert(1)\</script\>" in md
        page = run(QUZHOU, doc, "--format", "html", "--view", view, "--lang", "en")
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    what = run(QUZHOU, doc, "--what-if", "residents-2020.inpatient_rate=70%", "--format", "html", "--lang", "en")
    assert "<script>" not in what and "&lt;script&gt;" in what
    what = run(QUZHOU, doc, "--what-if", "residents-2020.inpatient_rate=70%", "--format", "markdown", "--lang", "en")
    assert "<script>" not in what


def test_html_citizen_letter_zh(run):
    page = run(QUZHOU, STOPPED, "--format", "html", "--view", "citizen", "--lang", "zh")
    assert re.search(r"<html lang=\"zh-CN\"", page)
    assert "2020-05-10,您参保于城乡居民基本医疗保险(职工医保停保次月起)" in page
    assert "(依据:衢医保联发〔2020〕13号 二)" in page
