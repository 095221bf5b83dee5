"""`medrules check` for machines and pipelines: --json, --sarif (SARIF 2.1.0), '-' as standard input,
a folder of policy years, --version."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def invoke(*args, input=None):
    return CliRunner().invoke(app, list(args), input=input)


def _broken_text() -> str:
    """Two errors: a deductible without its unit (line of 'deductible 300'), and an unknown fact."""
    return RULEBOOK.read_text(encoding="utf-8").replace(
        "deductible 300 yuan per year", "deductible 300 per year").replace(
        "base claim.compliant_cost\n  accumulate cost in outpatient_cost", "base claim.compliant_costs\n"
        "  accumulate cost in outpatient_cost")


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and r.output.strip() == f"medrules {medrules.__version__}"


def test_json_of_a_good_rulebook_lists_it_with_its_counts():
    r = invoke("check", "rulebooks/quzhou/employee-2012", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["ok"] is True and doc["errors"] == 0 and doc["diagnostics"] == []
    # the rulebook declares outpatient_pool, inpatient_pool, critical_illness; 1 parameter; 6 accumulators
    assert doc["files"][0]["summary"] | {} == {"rulebook": "quzhou/employee-2012", "funds": 3, "clauses": 22,
                                               "parameters": 1, "accumulators": 6, "sources": 2}


def test_json_from_standard_input_locates_every_error():
    text = _broken_text()
    r = invoke("check", "-", "--json", input=text)
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["files"][0]["file"] == "<stdin>"
    found = {(d["code"], d["location"]["line"], d["location"]["col"]) for d in doc["diagnostics"]}
    deductible = _line_of(text, "deductible 300 per year")
    assert ("unit", deductible, 14) in found  # '300' starts at column 14 of '  deductible 300 per year'
    assert any(line == _line_of(text, "compliant_costs") for _, line, _ in found)


def test_sarif_has_the_required_fields():
    r = invoke("check", "-", "--sarif", input=_broken_text())
    assert r.exit_code == 1
    log = json.loads(r.stdout)
    # SARIF 2.1.0 §3.13: version and runs are required; §3.14: a run needs tool.driver.name
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "medrules"
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(run["results"]) == 2
    for result in run["results"]:
        # §3.27: a result needs a message with text; ruleIndex points at its rule
        assert result["message"]["text"] and result["level"] == "error"
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "<stdin>"


def test_human_output_from_standard_input_quotes_the_line():
    r = invoke("check", "-", input=_broken_text())
    assert r.exit_code == 1
    assert "<stdin>:" in r.output and "deductible 300 per year" in r.output and "2 errors" in r.output


def test_a_folder_checks_every_version_and_the_set():
    r = invoke("check", "rulebooks/pingyang", "--json")
    assert r.exit_code == 0, r.output
    files = [f["file"] for f in json.loads(r.output)["files"]]
    # every file is checked, the contributions-only one too; the set (policy years that settle claims)
    # is the two residents' rulebooks, which do not overlap
    assert [f.rsplit("/", 1)[-1] for f in files] == ["contributions-2019.mr", "residents-2019.mr", "residents-earlier.mr"]


def test_a_folder_whose_versions_overlap_is_an_error(tmp_path):
    for name in ("residents-2019.mr", "residents-earlier.mr"):
        (tmp_path / name).write_text((ROOT / "rulebooks" / "pingyang" / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    earlier = tmp_path / "residents-earlier.mr"
    text = earlier.read_text(encoding="utf-8")
    import re
    text = re.sub(r"(effective from \d{4}-\d{2}-\d{2}) to \d{4}-\d{2}-\d{2}", r"\1", text, count=1)
    earlier.write_text(text, encoding="utf-8")
    r = invoke("check", str(tmp_path), "--json")
    assert r.exit_code == 1
    assert [d["code"] for d in json.loads(r.stdout)["diagnostics"]] == ["versions"]


def test_a_missing_file_is_a_json_error_too():
    r = invoke("check", "rulebooks/nowhere.mr", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["diagnostics"][0]["code"] == "io" and "nowhere" in doc["diagnostics"][0]["message"]
