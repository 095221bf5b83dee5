"""Policy years: a folder of versions, each claim settled under the version in force on its date."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.source import SourceFile
from medrules.versions import load_set, settle_set

TWO_YEARS = ROOT / "tests/corpus/pingyang/two-years.json"


@pytest.fixture(scope="module")
def pingyang():
    return load_set(ROOT / "rulebooks/pingyang")


def test_each_claim_under_its_own_year(pingyang):
    """A, 2018-11-20, county hospital, 10,600: the earlier values, (10,600 − 600) × 80% = 8,000.00.
    B, 2019-02-14, county hospital, 10,900: the 2019 values, (10,900 − 900) × 70% = 7,000.00."""
    s, used = settle_set(pingyang, SourceFile.read(TWO_YEARS), trace=True)
    assert [(c.id, used[c.id].checked.id, c.fund("inpatient_pool").paid) for c in s.claims] == [
        ("A", "pingyang/residents-earlier", Decimal("8000.00")), ("B", "pingyang/residents-2019", Decimal("7000.00"))]
    version = s.claims[1].steps[0]
    assert version.kind == "version" and version.values["rulebook"] == "pingyang/residents-2019"


def test_a_claim_no_version_covers(pingyang, tmp_path):
    doc = json.loads(TWO_YEARS.read_text(encoding="utf-8"))
    doc["claims"][0]["date"] = "2017-06-01"
    path = tmp_path / "f.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    with pytest.raises(medrules.MedrulesError) as err:
        settle_set(pingyang, SourceFile.read(path))
    d = err.value.diagnostics[0]
    assert "no version of" in d.message and "2017-06-01" in d.message and d.span.file == str(path)


def test_overlapping_versions_are_refused(tmp_path):
    for name in ("residents-earlier.mr", "residents-2019.mr"):
        (tmp_path / name).write_text((ROOT / "rulebooks/pingyang" / name).read_text("utf-8"), "utf-8")
    text = (tmp_path / "residents-earlier.mr").read_text("utf-8").replace(
        "effective from 2018-01-01 to 2018-12-31", "effective from 2018-01-01 to 2019-03-31")
    (tmp_path / "residents-earlier.mr").write_text(text, "utf-8")
    with pytest.raises(medrules.MedrulesError) as err:
        load_set(tmp_path)
    assert "are both in force on 2019-01-01" in err.value.diagnostics[0].message


def test_cli_run_and_explain_a_folder(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, ["run", "rulebooks/pingyang", "tests/corpus/pingyang/two-years.json", "--json"])
    doc = json.loads(r.output)
    assert set(doc["versions"]) == {"pingyang/residents-earlier", "pingyang/residents-2019"}
    r = CliRunner().invoke(app, ["explain", "rulebooks/pingyang", "tests/corpus/pingyang/two-years.json",
                                 "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Settled under 'pingyang/residents-2019': in force 2019-01-01 to 2019-12-31" in r.output


@pytest.mark.parametrize("options", [["--format", "markdown"], ["--format", "html"],
                                     ["--what-if", "claim.compliant_cost=100"]])
def test_explain_on_a_folder_refuses_what_it_cannot_do_there(options):
    # a folder's claims are explained under each year's rulebook as text or JSON; a what-if or a page is
    # for one rulebook: said with a hint, never silently replaced by the text view
    r = CliRunner().invoke(app, ["explain", str(ROOT / "rulebooks" / "pingyang"),
                                 str(ROOT / "examples" / "pingyang-2019-cataract.json"), *options])
    assert r.exit_code == 1
    assert "error[explain]" in r.output and "folder of policy years" in r.output
    assert "hint: name the year's rulebook file" in r.output
