"""The command line as a user meets it: output, JSON, exit codes, and errors without tracebacks."""
from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

RULEBOOK = "rulebooks/quzhou/employee-2012"
OUTPATIENT = "examples/quzhou-employee-2012-retiree-outpatient.json"
INPATIENT = "examples/quzhou-employee-2012-inpatient-year.json"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_check_accepts_the_shipped_rulebook():
    r = invoke("check", RULEBOOK)
    assert r.exit_code == 0, r.output
    assert "quzhou/employee-2012" in r.output and "consistent" in r.output


def test_run_prints_a_table_per_claim_and_fund():
    r = invoke("run", RULEBOOK, OUTPATIENT, "--lang", "en")
    assert r.exit_code == 0, r.output
    for figure in ("678.38", "863.15", "1,541.53"):  # hand-computed, see rulebooks/quzhou/tests
        assert figure in r.output


def test_run_json_has_amounts_as_decimal_strings():
    r = invoke("run", RULEBOOK, INPATIENT, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["schema"] == "medrules.settlement/1"
    c2 = doc["claims"][1]
    paid = {f["fund"]: f["paid"] for f in c2["funds"]}
    # reading cap_axis = cost: C2 lies on [50,000, 230,000] of the year's inpatient cost; deductible 600;
    # (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% = 7,896 + 87,000 = 94,896.00;
    # above 160,000: 70,000 × 90% = 63,000.00. In the year the inpatient fund pays 41,496 + 94,896 = 136,392.00
    assert paid == {"outpatient_pool": "0.00", "inpatient_pool": "94896.00", "critical_illness": "63000.00"}
    assert doc["totals"]["funds"]["inpatient_pool"] == "136392.00"
    total = Decimal(doc["totals"]["total_cost"])
    assert total == sum(Decimal(x) for x in doc["totals"]["funds"].values()) + Decimal(doc["totals"]["member_pays"])


def test_explain_one_claim_in_english():
    r = invoke("explain", RULEBOOK, OUTPATIENT, "--claim", "C2", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "Claim C2" in r.output and "Claim C1" not in r.output
    assert "1,130.63 × 60% = 678.378" in r.output
    assert "衢政发〔2011〕102号" in r.output


def test_explain_json():
    r = invoke("explain", RULEBOOK, OUTPATIENT, "--json", "--claim", "C3")
    doc = json.loads(r.output)
    assert doc["schema"] == "medrules.explanation/1" and [c["id"] for c in doc["claims"]] == ["C3"]
    kinds = [s["kind"] for s in doc["claims"][0]["steps"]]
    assert kinds[:4] == ["applies", "base", "deductible", "cap"]


def test_explain_unknown_claim_is_a_user_error():
    r = invoke("explain", RULEBOOK, OUTPATIENT, "--claim", "C9")
    assert r.exit_code == 1
    assert "there is no claim 'C9'" in r.output and "C1, C2, C3" in r.output
    assert "Traceback" not in r.output


def test_a_bad_rulebook_shows_file_line_column_and_caret(tmp_path):
    bad = tmp_path / "bad.mr"
    text = (ROOT / f"{RULEBOOK}.mr").read_text(encoding="utf-8").replace(
        "deductible 300 yuan per year", "deductible 300 per year")
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "deductible 300 per year" in s)
    r = invoke("check", str(bad))
    assert r.exit_code == 1
    assert f"bad.mr:{line}:14" in r.output
    assert "deductible 300 per year" in r.output and "^" in r.output
    assert "300 yuan" in r.output  # the hint says how to write it
    assert "Traceback" not in r.output


def test_several_errors_are_reported_at_once(tmp_path):
    bad = tmp_path / "bad.mr"
    text = (ROOT / f"{RULEBOOK}.mr").read_text(encoding="utf-8")
    text = text.replace("rate 90%", "rate 90% + 5%").replace("claim.kind == outpatient", "claim.knd == outpatient")
    bad.write_text(text, encoding="utf-8")
    r = invoke("check", str(bad))
    assert r.exit_code == 1
    assert "cannot add rate and rate" in r.output
    assert "'claim.knd' is not a declared claim fact" in r.output and "did you mean 'kind'?" in r.output
    assert "2 errors" in r.output


def test_bad_facts_point_into_the_facts_file(tmp_path):
    facts = json.loads((ROOT / OUTPATIENT).read_text(encoding="utf-8"))
    facts["claims"][1]["compliant_cost"] = "1,250.63"
    facts["claims"][2]["kind"] = "outpatent"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False, indent=2), encoding="utf-8")
    r = invoke("run", RULEBOOK, str(path))
    assert r.exit_code == 1
    assert "claims[1].compliant_cost: '1,250.63' is not an amount of yuan" in r.output
    assert "claims[2].kind: 'outpatent' is not one of the visit_kind values" in r.output
    assert "did you mean 'outpatient'?" in r.output
    text = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, s in enumerate(text, 1) if '"1,250.63"' in s)
    assert f"facts.json:{line}:" in r.output
    assert "Traceback" not in r.output


def test_facts_that_are_not_json(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text('{"member": {"id": "M1", "category": "retired"}\n "claims": []}', encoding="utf-8")
    r = invoke("run", RULEBOOK, str(path))
    assert r.exit_code == 1
    assert "facts.json:2:2" in r.output and "not valid JSON" in r.output


def test_missing_files_are_reported_plainly():
    r = invoke("run", RULEBOOK, "examples/nope.json")
    assert r.exit_code == 1 and "no such facts file: examples/nope.json" in r.output
    r = invoke("check", "rulebooks/nope")
    assert r.exit_code == 1 and "no such rulebook file" in r.output


def test_a_claim_before_the_rulebook_takes_effect(tmp_path):
    facts = json.loads((ROOT / OUTPATIENT).read_text(encoding="utf-8"))
    facts["claims"][0]["date"] = "2011-12-30"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, indent=2), encoding="utf-8")
    r = invoke("run", RULEBOOK, str(path))
    assert r.exit_code == 1
    assert "dated 2011-12-30, before rulebook 'quzhou/employee-2012' takes effect (2012-01-01)" in r.output


def test_the_console_script_is_installed():
    assert shutil.which("medrules"), "pip install should put 'medrules' on PATH"


def test_explain_json_totals_cover_only_the_claims_shown():
    doc = json.loads(invoke("explain", RULEBOOK, INPATIENT, "--json", "--claim", "C2").output)
    assert [c["id"] for c in doc["claims"]] == ["C2"]
    assert doc["totals"]["total_cost"] == "180000.00"  # C2 alone, not the year


def test_a_closed_pipe_is_not_an_internal_error():
    import subprocess
    exe = shutil.which("medrules")
    if exe is None:
        pytest.skip("medrules is not installed as a command")
    r = subprocess.run(f"'{exe}' explain {RULEBOOK} {INPATIENT} --json | head -c 100", shell=True, cwd=ROOT,
                       capture_output=True, text=True)
    assert "internal error" not in r.stderr


@pytest.mark.parametrize("field, value, fragment", [
    ("date", "20120210", "is not a date"),
    ("kind", "clinic", "hint: expected outpatient"),
])
def test_facts_values_are_strict(tmp_path, field, value, fragment):
    facts = json.loads((ROOT / OUTPATIENT).read_text(encoding="utf-8"))
    facts["claims"][0][field] = value
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    r = invoke("run", RULEBOOK, str(path))
    assert r.exit_code == 1 and fragment in r.output and "hint:  " not in r.output
