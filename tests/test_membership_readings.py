"""`medrules readings` on a membership rulebook, and `--reading STEM.NAME=ALT` in run/explain/settle.

Quzhou (membership-2020.mr routes to employee-2012.mr and residents-2020.mr). Employee-2012 declares one reading,
cap_axis (chosen 'cost'), named here employee-2012.cap_axis. The member's employee insurance stopped in April
2020, so C1 (2020-03-12, inpatient, compliant cost 200,600.00) is settled under employee-2012 and C2 (2020-05-10,
10,000.00) under residents-2020 (the resident scheme from the 1st of the next month). By hand, working member,
deductible 600 per admission, bands 84% to 60,000 and 87% above (on the cumulative cost, deductibles included):
  C1, cost reading:     (60,000 − 600) × 84% + (160,000 − 60,000) × 87% = 49,896 + 87,000 = 136,896.00 inpatient;
                        (200,600 − 160,000) × 90% = 36,540.00 critical illness; member 200,600 − 173,436 = 27,164.00.
  C1, payments reading: the bands give 49,896 + (200,600 − 60,000) × 87% = 172,218 > 160,000: the fund pays
                        160,000.00; its payments reach 160,000 at the cost 60,000 + 110,104 / 87% = 186,556.32…,
                        so (200,600 − 186,556.32…) × 90% = 14,043.68 × 90% = 12,639.31 critical illness;
                        member 200,600 − 172,639.31 = 27,960.69.
  C2 (residents-2020, ILLUSTRATIVE 60%, no deductible): 10,000 × 60% = 6,000.00 under both: the reading of
                        employee-2012 does not touch a claim the resident scheme settles.
  Funds: cost 136,896 + 36,540 + 6,000 = 179,436.00; payments 160,000 + 12,639.31 + 6,000 = 178,639.31;
         at stake −796.69 (members +796.69).

Qinhuangdao (integration-2017.mr: 'highest of' urban-residents-2016.mr, ncms-2016.mr), copied with a reading added
to ncms-2016 (rate_axis: 'printed' 55%, chosen; 'raised' 65%), examples/membership/qinhuangdao-integration-2017.json:
  C1 10,000: urban (10,000 − 500) × 60% = 5,700.00; ncms (10,000 − 300) × 55% = 5,335.00 → urban wins;
             raised: ncms 9,700 × 65% = 6,305.00 > 5,700 → ncms-2016 wins instead (+605.00).
  C2 1,000:  urban 500 × 60% = 300.00; ncms 700 × 55% = 385.00 → ncms; raised: 700 × 65% = 455.00 (+70.00).
  Funds: 5,700 + 385 = 6,085.00 chosen; 6,305 + 455 = 6,760.00 raised (+675.00).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = "rulebooks/quzhou/membership-2020.mr"
STOPPED_BIG = {"member": {"id": "M1", "category": "working"},
               "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-04-01"}],
               "claims": [{"id": "C1", "date": "2020-03-12", "kind": "inpatient", "compliant_cost": "200600.00"},
                          {"id": "C2", "date": "2020-05-10", "kind": "inpatient", "compliant_cost": "10000.00"}]}

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d\d$"}
AMOUNTS = {"type": "object", "additionalProperties": MONEY}
OUTCOME = {"type": "object", "required": ["readings", "funds", "funds_paid", "member_pays"],
           "properties": {"readings": {"type": "object", "additionalProperties": {"type": "string"}},
                          "funds": AMOUNTS, "funds_paid": MONEY, "member_pays": MONEY}}
READINGS_SCHEMA = {  # medrules.readings/1, as a membership rulebook fills it
    "type": "object", "required": ["schema", "readings", "chosen", "others"],
    "properties": {
        "schema": {"const": "medrules.readings/1"},
        "readings": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z_][A-Za-z0-9_.]*$"},
                     "additionalProperties": {"type": "object", "required": ["title", "chosen", "alternatives"]}},
        "chosen": OUTCOME,
        "others": {"type": "array", "items": {"allOf": [OUTCOME, {"type": "object", "required": ["difference", "claims"],
                   "properties": {"claims": {"type": "array", "items": {
                       "type": "object", "required": ["file", "claim", "difference", "funds"],
                       "properties": {"difference": MONEY,
                                      "scheme": {"type": "object", "required": ["chosen", "this"],
                                                 "additionalProperties": False,
                                                 "properties": {"chosen": {"type": "string"},
                                                                "this": {"type": "string"}}}}}}}}]}},
    }}


@pytest.fixture
def cli(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)

    def invoke(*args: str, ok: bool = True) -> str:
        r = CliRunner().invoke(app, [str(a) for a in args])
        assert (r.exit_code == 0) == ok, r.output
        assert "Traceback" not in r.output
        return r.output
    return invoke


@pytest.fixture
def big(tmp_path) -> Path:
    p = tmp_path / "stopped.json"
    p.write_text(json.dumps(STOPPED_BIG), encoding="utf-8")
    return p


def test_the_schemes_readings_with_the_money_at_stake(cli, big):
    doc = json.loads(cli("readings", QUZHOU, big, "--json"))
    jsonschema.Draft202012Validator(READINGS_SCHEMA).validate(doc)
    assert list(doc["readings"]) == ["employee-2012.cap_axis"]
    assert doc["readings"]["employee-2012.cap_axis"]["chosen"] == "cost"
    chosen = doc["chosen"]
    assert chosen["readings"] == {"employee-2012.cap_axis": "cost"}
    assert chosen["funds"] == {"employee-2012.outpatient_pool": "0.00", "employee-2012.inpatient_pool": "136896.00",
                               "employee-2012.critical_illness": "36540.00", "residents-2020.resident_pool": "6000.00"}
    assert (chosen["funds_paid"], chosen["member_pays"]) == ("179436.00", "31164.00")
    [other] = doc["others"]
    assert other["readings"] == {"employee-2012.cap_axis": "payments"}
    assert other["funds"]["employee-2012.inpatient_pool"] == "160000.00"
    assert other["funds"]["employee-2012.critical_illness"] == "12639.31"
    assert other["funds"]["residents-2020.resident_pool"] == "6000.00"
    assert other["difference"]["funds_paid"] == "-796.69" and other["difference"]["member_pays"] == "796.69"
    # only C1 differs (C2 is the resident scheme's), and it stays under employee-2012
    [c1] = other["claims"]
    assert (c1["claim"], c1["difference"]) == ("C1", "-796.69")
    assert c1["scheme"] == {"chosen": "employee-2012", "this": "employee-2012"}


def test_the_text_names_each_fund_with_its_scheme(big, snapshot):
    import medrules
    from medrules.explain.text import render_stake, to_text
    from medrules.membership import load_membership
    from medrules.membership_readings import money_at_stake
    from medrules.source import SourceFile
    router = medrules.load(ROOT / QUZHOU)
    facts = SourceFile("stopped.json", big.read_text(encoding="utf-8"))  # named as written, the same in every run
    stake = money_at_stake(lambda choice: load_membership(router, readings=choice), [facts], "en")
    out = to_text(render_stake(stake, "en"), width=110)
    flat = " ".join(out.split())
    assert "employee-2012.cap_axis: what the inpatient 最高支付限额 of 160,000 limits" in flat
    assert "resident pooling fund (residents-2020) 6,000.00 ±0.00" in flat
    assert "all funds 178,639.31 −796.69" in flat
    assert out == snapshot


def test_a_pinned_reading_holds_in_every_combination(cli, big):
    doc = json.loads(cli("readings", QUZHOU, big, "--json", "--reading", "employee-2012.cap_axis=payments"))
    assert doc["chosen"]["readings"] == {"employee-2012.cap_axis": "payments"}
    assert doc["chosen"]["funds_paid"] == "178639.31" and doc["others"] == []


@pytest.mark.parametrize("command", ["run", "explain"])
def test_run_and_explain_take_a_schemes_reading_by_its_stem(cli, big, command):
    args = [command, QUZHOU, big, "--json", "--lang", "en"]
    as_chosen = json.loads(cli(*args))
    other = json.loads(cli(*args, "--reading", "employee-2012.cap_axis=payments"))

    def c1_funds(doc):
        if command == "run":
            claims = doc["schemes"]["quzhou/employee-2012"]["claims"]
        else:
            claims = [c for e in doc["explanations"] for c in e["claims"]]
        c1 = next(c for c in claims if c["id"] == "C1")
        return {f["fund"]: f["paid"] for f in c1["funds"]}
    assert c1_funds(as_chosen)["inpatient_pool"] == "136896.00"
    assert c1_funds(other)["inpatient_pool"] == "160000.00"
    assert c1_funds(other)["critical_illness"] == "12639.31"


def test_settle_takes_a_schemes_reading_by_its_stem(cli, tmp_path):
    claims = tmp_path / "member.json"  # a facts file: the member, its periods and claims nested
    claims.write_text(json.dumps(STOPPED_BIG), encoding="utf-8")
    out = tmp_path / "out.csv"
    cli("settle", QUZHOU, claims, "--out", out, "--no-progress", "--reading", "employee-2012.cap_axis=payments")
    text = out.read_text(encoding="utf-8")
    assert "160000.00" in text and "12639.31" in text


@pytest.mark.parametrize("choice, message", [
    ("cap_axis=payments", "there is no reading 'cap_axis'"),
    ("employee-2012.cap_axs=payments", "there is no reading 'cap_axs'"),
    ("employee-2012.cap_axis=neither", "'neither' is not an alternative of reading 'cap_axis'"),
])
def test_a_reading_not_named_by_a_scheme_is_refused(cli, big, choice, message):
    out = " ".join(cli("run", QUZHOU, big, "--reading", choice, "--lang", "en", ok=False).split())
    assert message in out
    if choice.startswith("cap_axis"):
        assert "employee-2012.NAME, residents-2020.NAME" in out


def _qinhuangdao_with_a_reading(tmp_path: Path) -> Path:
    src = ROOT / "rulebooks" / "qinhuangdao-integration"
    folder = tmp_path / "rulebooks" / "qhd"
    shutil.copytree(src, folder)
    ncms = folder / "ncms-2016.mr"
    text = ncms.read_text(encoding="utf-8")
    text = text.replace("  rate inpatient_rate\n", "  under rate_axis.printed rate inpatient_rate\n"
                        "  under rate_axis.raised rate 65%\n")
    text += ('\nreading rate_axis "报销比例" | "the rate" {\n  printed "55%" | "55%"\n  raised "65%" | "65%"\n'
             '} chosen printed\n')
    ncms.write_text(text, encoding="utf-8")
    return folder / "integration-2017.mr"


def test_under_highest_of_a_reading_changes_which_scheme_wins(cli, tmp_path):
    router = _qinhuangdao_with_a_reading(tmp_path)
    facts = ROOT / "examples" / "membership" / "qinhuangdao-integration-2017.json"
    doc = json.loads(cli("readings", router, facts, "--json", "--root", tmp_path / "rulebooks"))
    jsonschema.Draft202012Validator(READINGS_SCHEMA).validate(doc)
    assert doc["chosen"]["funds"] == {"urban-residents-2016.urban_pool": "5700.00", "ncms-2016.ncms_pool": "385.00"}
    [other] = doc["others"]
    assert other["readings"] == {"ncms-2016.rate_axis": "raised"}
    assert other["funds"] == {"urban-residents-2016.urban_pool": "0.00", "ncms-2016.ncms_pool": "6760.00"}
    assert other["difference"]["funds_paid"] == "675.00"
    c1, c2 = other["claims"]
    assert (c1["claim"], c1["difference"], c1["scheme"]) == ("C1", "605.00", {"chosen": "urban-residents-2016",
                                                                               "this": "ncms-2016"})
    assert c1["funds"] == {"urban-residents-2016.urban_pool": {"chosen": "5700.00", "this": "0.00"},
                           "ncms-2016.ncms_pool": {"chosen": "0.00", "this": "6305.00"}}
    assert (c2["claim"], c2["difference"], c2["scheme"]["this"]) == ("C2", "70.00", "ncms-2016")
    text = " ".join(cli("readings", router, facts, "--lang", "en", "--root", tmp_path / "rulebooks").split())
    assert "C1: +605.00" in text and "settled under ncms-2016, not urban-residents-2016" in text
    zh = " ".join(cli("readings", router, facts, "--root", tmp_path / "rulebooks").split())
    assert "改按 ncms-2016 结算(原为 urban-residents-2016)" in zh


def test_readings_of_a_membership_rulebook_whose_schemes_declare_none(cli):
    out = " ".join(cli("readings", "rulebooks/qinhuangdao-integration/integration-2017.mr",
                       "examples/membership/qinhuangdao-integration-2017.json", "--lang", "en", ok=False).split())
    assert "error[reading]: no scheme that 'qinhuangdao-integration/integration-2017' routes claims to declares a " \
           "reading" in out
    assert out.startswith("rulebooks/qinhuangdao-integration/integration-2017.mr:")


def test_a_membership_test_file_settles_by_a_schemes_reading(tmp_path, cli):
    """``readings: {employee-2012.cap_axis: payments}`` in a test file of the membership rulebook: C1 is settled by
    the payments reading (160,000.00 and 12,639.31, as above); without it, by the cost reading (136,896.00)."""
    case = f"""rulebook: {ROOT / QUZHOU}
title: "the employee scheme by the payments reading"
readings: {{employee-2012.cap_axis: payments}}
facts:
  member: {{id: M1, category: working}}
  periods:
    - {{scheme: employee, first_month: 2015-03-01, last_month: 2020-04-01}}
  claims:
    - {{id: C1, date: 2020-03-12, kind: inpatient, compliant_cost: 200600.00}}
expected:
  - claim: C1
    funds: {{inpatient_pool: 160000.00, critical_illness: 12639.31}}
    member_pays: 27960.69
"""
    path = tmp_path / "case.yaml"
    path.write_text(case, encoding="utf-8")
    assert "1 passed, 0 failed, 0 errors" in cli("test", path, "--lang", "en")
    path.write_text(case.replace("readings: {employee-2012.cap_axis: payments}\n", ""), encoding="utf-8")
    out = cli("test", path, "--lang", "en", ok=False)
    assert "inpatient_pool: expected 160,000.00, got 136,896.00" in out


def test_explain_says_what_the_schemes_other_readings_would_have_paid(cli, big):
    """C1 (employee-2012, cost reading chosen): read as 'payments', the funds would pay 160,000.00 + 12,639.31 =
    172,639.31 (here 136,896.00 + 36,540.00 = 173,436.00), the member 27,960.69 (here 27,164.00). C2, settled under
    residents-2020, which declares no reading: none differs ([], worked out)."""
    doc = json.loads(cli("explain", QUZHOU, big, "--json", "--lang", "en"))
    claims = {c["id"]: c for e in doc["explanations"] for c in e["claims"]}
    [note] = claims["C1"]["readings"]
    assert (note["reading"], note["chosen"], note["alternative"]) == ("employee-2012.cap_axis", "cost", "payments")
    assert note["would_pay"]["funds_paid"] == "172639.31" and note["would_pay"]["member_pays"] == "27960.69"
    assert note["difference"] == {"funds": {"inpatient_pool": "23104.00", "critical_illness": "-23900.69"},
                                  "funds_paid": "-796.69", "member_pays": "796.69"}
    assert claims["C2"]["readings"] == []
    # chosen otherwise with --reading: the note is the cost reading's
    doc = json.loads(cli("explain", QUZHOU, big, "--json", "--reading", "employee-2012.cap_axis=payments"))
    [note] = [n for e in doc["explanations"] for c in e["claims"] if c["id"] == "C1" for n in c["readings"]]
    assert (note["chosen"], note["alternative"], note["would_pay"]["funds_paid"]) == ("payments", "cost", "173436.00")
    text = " ".join(cli("explain", QUZHOU, big, "--claim", "C1", "--lang", "en").split())
    assert ("read as “the inpatient fund's payments in a year”, the funds would pay 172,639.31 yuan (here "
            "173,436.00 yuan)") in text


def test_explain_under_highest_of_a_reading_that_moves_the_claim(cli, tmp_path):
    """Qinhuangdao with ncms-2016's rate_axis (as above): C1 is settled under urban-residents-2016 (5,700.00); read
    'raised', NCMS would win with 6,305.00: the note names the other scheme's fund by its stem."""
    router = _qinhuangdao_with_a_reading(tmp_path)
    facts = ROOT / "examples" / "membership" / "qinhuangdao-integration-2017.json"
    doc = json.loads(cli("explain", router, facts, "--json", "--root", tmp_path / "rulebooks"))
    claims = {c["id"]: c for e in doc["explanations"] for c in e["claims"]}
    [note] = claims["C1"]["readings"]
    assert note["reading"] == "ncms-2016.rate_axis" and note["would_pay"]["funds"] == {"ncms-2016.ncms_pool": "6305.00"}
    assert note["difference"]["funds"] == {"urban_pool": "-5700.00", "ncms-2016.ncms_pool": "6305.00"}
    assert note["difference"]["funds_paid"] == "605.00"
    [note] = claims["C2"]["readings"]  # C2 stays with NCMS: 700 × 65% = 455.00 (here 385.00)
    assert note["would_pay"]["funds"] == {"ncms_pool": "455.00"} and note["difference"]["funds_paid"] == "70.00"


def test_what_if_says_what_the_other_reading_would_pay_in_each_scenario(cli, big):
    """employee-2012.inpatient_deductible=1000 yuan on C1 (200,600.00):
    as the facts are, read 'payments': 172,639.31 (as above);
    with the change, cost reading (here): (60,000 − 1,000) × 84% + 100,000 × 87% = 49,560 + 87,000 = 136,560.00,
    critical illness 36,540.00, 173,100.00 in all; read 'payments': the fund 160,000.00, reached at the cost
    60,000 + 110,440 / 87% = 186,942.53…, so (200,600 − 186,942.53…) × 90% = 13,657.47… × 90% = 12,291.72:
    172,291.72, the member 200,600 − 172,291.72 = 28,308.28."""
    w = json.loads(cli("explain", QUZHOU, big, "--what-if", "employee-2012.inpatient_deductible=1000 yuan", "--json",
                       "--lang", "en"))
    c1 = next(c for c in w["claims"] if c["id"] == "C1")
    [before], [after] = c1["readings"]["before"], c1["readings"]["after"]
    assert before["reading"] == after["reading"] == "employee-2012.cap_axis"
    assert before["would_pay"]["funds_paid"] == "172639.31"
    assert (after["would_pay"]["funds_paid"], after["would_pay"]["member_pays"]) == ("172291.72", "28308.28")
    assert after["would_pay"]["funds"]["employee-2012.critical_illness"] == "12291.72"
    assert after["difference"]["funds_paid"] == "-808.28"  # 172,291.72 − 173,100.00
    text = " ".join(cli("explain", QUZHOU, big, "--what-if", "employee-2012.inpatient_deductible=1000 yuan",
                        "--lang", "en").split())
    assert "≠ With the change: The text can be read two ways" in text and "the funds would pay 172,291.72 yuan (here " \
           "173,100.00 yuan)" in text
