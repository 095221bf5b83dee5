"""`medrules diff` on membership rulebooks (`medrules readings`: tests/test_membership_readings.py).

diff: two versions of the Quzhou membership rulebook (the 2021 one is made here from the shipped 2020 one:
arrears_months 6 → 3 months, and an employer's arrears no longer keep the employee in the employee scheme),
over the same schemes' rulebooks. Amounts worked by hand: employee scheme 600 deductible then 84% (working
member); resident scheme (ILLUSTRATIVE, assumed) 60% inpatient.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

QUZHOU = ROOT / "rulebooks" / "quzhou"
EMPLOYER_ARREARS = {"member": {"id": "E1", "category": "working"},
                    "periods": [{"scheme": "employee", "first_month": "2018-01-01", "last_month": "2019-12-01"},
                                {"scheme": "employee", "first_month": "2020-01-01", "arrears": True}],
                    "claims": [{"id": "C1", "date": "2020-07-01", "kind": "inpatient", "compliant_cost": "5600.00"}]}
FLEXIBLE_ARREARS = {"member": {"id": "F1", "category": "working", "employment": "flexible"},
                    "periods": EMPLOYER_ARREARS["periods"],
                    "claims": [{"id": "C2", "date": "2020-04-10", "kind": "inpatient", "compliant_cost": "5000.00"}]}


@pytest.fixture
def versions(tmp_path):
    folder = tmp_path / "quzhou"
    folder.mkdir()
    for name in ("membership-2020.mr", "employee-2012.mr", "residents-2020.mr"):
        shutil.copy(QUZHOU / name, folder / name)
    text = (folder / "membership-2020.mr").read_text(encoding="utf-8")
    for a, b in (('rulebook "quzhou/membership-2020"', 'rulebook "quzhou/membership-2021"'),
                 ("parameter arrears_months: months = 6 months", "parameter arrears_months: months = 3 months"),
                 ("period.scheme == employee and (not period.arrears or member.employment == employed)",
                  "period.scheme == employee and not period.arrears")):
        assert a in text
        text = text.replace(a, b)
    (folder / "membership-2021.mr").write_text(text, encoding="utf-8")
    facts = []
    for i, doc in enumerate((EMPLOYER_ARREARS, FLEXIBLE_ARREARS)):
        facts.append(tmp_path / f"f{i}.json")
        facts[-1].write_text(json.dumps(doc), encoding="utf-8")
    return folder / "membership-2020.mr", folder / "membership-2021.mr", facts


def nonzero(funds: dict) -> dict:
    return {k: v for k, v in funds.items() if v != "0.00"}


def test_diff_of_two_membership_rulebooks(versions):
    old, new, facts = versions
    r = CliRunner().invoke(app, ["diff", str(old), str(new), *map(str, facts), "--json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["old"], d["new"]) == ("quzhou/membership-2020", "quzhou/membership-2021")
    changes = {c["name"]: c for c in d["changes"]}
    assert set(changes) == {"arrears_months", "employee"}
    assert (changes["arrears_months"]["before"], changes["arrears_months"]["after"]) == ("6 months", "3 months")
    assert changes["employee"]["kind"] == "insured" and "member.employment == employed" in changes["employee"]["before"]
    c1, c2 = d["claims"]
    # C1 (employer in arrears, 2020-07-01): 2020 keeps the employee scheme, (5,600 − 600) × 84% = 4,200.00;
    # 2021 does not: the stop rule applies (latest paid employee month 2019-12), resident scheme 5,600 × 60% = 3,360.00
    assert nonzero(c1["before"]) == {"inpatient_pool": "4200.00"} and c1["before"]["resident_pool"] == "0.00"
    assert nonzero(c1["after"]) == {"resident_pool": "3360.00"} and c1["after"]["inpatient_pool"] == "0.00"
    assert (c1["member_before"], c1["member_after"]) == ("1400.00", "2240.00")
    # attributed to the changed 'insured employee' statement (arrears_months, tried first, moves nothing here)
    assert [(a["change"], a["funds"]) for a in c1["attributions"]] == [
        ("employee", {"inpatient_pool": "-4200.00", "resident_pool": "3360.00"})]
    # C2 (flexible worker, 4th month of arrears): resident scheme either way, 5,000 × 60% = 3,000.00
    assert nonzero(c2["before"]) == nonzero(c2["after"]) == {"resident_pool": "3000.00"} and c2["attributions"] == []
    assert d["totals"]["claims_affected"] == 1
    assert d["totals"]["funds_before"] == "7200.00" and d["totals"]["funds_after"] == "6360.00"


def test_diff_memo_and_refusals(versions):
    old, new, facts = versions
    r = CliRunner().invoke(app, ["diff", str(old), str(new), str(facts[0]), "--format", "markdown", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "| consecutive months of arrears that end the employee insurance | 6 months | 3 months |" in r.output
    assert "| C1 | inpatient_pool | 4,200.00 | 0.00 | −4,200.00 | insured employee (employee medical insurance)" \
        in r.output
    # a membership rulebook against a scheme's: refused, at the first 'insured' statement
    r = CliRunner().invoke(app, ["diff", str(old.parent / "employee-2012.mr"), str(new), str(facts[0])])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "membership-2021.mr:73:1: error[membership]" in r.output and "compares two rulebooks of the same kind" \
        in r.output
