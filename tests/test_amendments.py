"""Amendments (issue 5): Pingyang 2019 written as the changes to the earlier year settles every claim
exactly as the 2019 rulebook written out in full (tests/rulebooks/pingyang-2019-full.mr)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT
from medrules.facts import facts_from_source
from medrules.source import SourceFile

AMENDED = medrules.load(ROOT / "rulebooks" / "pingyang" / "residents-2019.mr")
FULL = medrules.load(ROOT / "tests" / "rulebooks" / "pingyang-2019-full.mr")
EARLIER = medrules.load(ROOT / "rulebooks" / "pingyang" / "residents-earlier.mr")


def amounts(program, doc):
    s = medrules.settle(program, facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked))
    return [(c.id, [(f.fund, f.paid) for f in c.funds], c.member_pays) for c in s.claims]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("pingyang-2019-*.json")), ids=lambda p: p.stem)
def test_examples_settle_the_same(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert amounts(AMENDED, doc) == amounts(FULL, doc)


KINDS = ["inpatient", "outpatient", "special_outpatient", "childbirth", "child_major_disease", "cataract_surgery"]
INSTITUTIONS = ["township", "county_hospital", "city_hospital", "wenyi_fuer", "outside_city"]
claim = st.fixed_dictionaries({
    "day": st.integers(0, 364), "kind": st.sampled_from(KINDS), "institution": st.sampled_from(INSTITUTIONS),
    "referred": st.booleans(), "card_settled": st.booleans(), "high_risk": st.booleans(),
    "designated": st.booleans(), "special_disease": st.sampled_from(["not_listed", "dialysis"]),
    "cataract_eyes": st.integers(0, 2),
    "compliant_cost": st.decimals(0, 150_000, places=2),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims=st.lists(claim, min_size=1, max_size=6), relocated=st.booleans(), age=st.integers(1, 90))
def test_any_year_settles_the_same(claims, relocated, age):
    import datetime as dt
    doc = {"member": {"id": "M", "birth_date": f"{2019 - age}-06-01", "relocated": relocated},
           "claims": [{"id": f"C{i}", "date": (dt.date(2019, 1, 1) + dt.timedelta(days=c["day"])).isoformat(),
                       **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in c.items() if k != "day"}}
                      for i, c in enumerate(claims)]}
    for c in doc["claims"]:
        if c["kind"] == "special_outpatient" and c["special_disease"] == "not_listed":
            c["special_disease"] = "dialysis"
    assert amounts(AMENDED, doc) == amounts(FULL, doc)


def test_only_the_restated_provisions_come_from_the_amendment():
    rb = AMENDED.checked.rulebook
    from_2019 = {p.name for p in rb.parameters if p.span.file.endswith("residents-2019.mr")}
    assert from_2019 == {"policy_from", "policy_to", "township_deductible", "township_rate", "county_deductible",
                         "county_rate", "city_deductible", "city_rate", "outside_city_deductible", "outside_city_rate"}
    assert all(f.span.file.endswith("residents-earlier.mr") for f in rb.funds)
    assert rb.header.id == "pingyang/residents-2019" and rb.header.scheme == EARLIER.checked.rulebook.header.scheme


def test_an_amendment_may_not_redeclare_what_it_inherits(tmp_path):
    (tmp_path / "base.mr").write_text((ROOT / "rulebooks/pingyang/residents-earlier.mr").read_text("utf-8"), "utf-8")
    (tmp_path / "new.mr").write_text('rulebook "x" {\n  effective from 2019-01-01\n  amends "base.mr"\n}\n'
                                     'accumulator inpatient_cost: money per year\n', "utf-8")
    with pytest.raises(medrules.MedrulesError) as err:
        medrules.load(tmp_path / "new.mr")
    d = err.value.diagnostics[0]
    assert d.code == "amendment" and "already declared by the rulebook this one amends" in d.message
    assert d.span.file.endswith("new.mr") and d.span.line == 5


def test_cataract_shares_add_up_to_the_amount():
    """Found by hypothesis: 766.45 × 80% = 613.16; 766.45 × 10% = 76.645 → 76.65 twice would make
    766.46, a fen more than the cost. The charity pays what is left: 766.45 − 613.16 − 76.65 = 76.64."""
    doc = {"member": {"id": "M", "birth_date": "1950-06-01"},
           "claims": [{"id": "C1", "date": "2019-03-01", "kind": "inpatient", "institution": "township",
                       "designated": True, "cataract_eyes": 1, "compliant_cost": "766.45"}]}
    for program in (AMENDED, FULL):
        [(_, funds, member)] = amounts(program, doc)
        paid = dict(funds)
        assert (paid["cataract_fund"], paid["cataract_federation"], paid["cataract_charity"]) == (
            Decimal("613.16"), Decimal("76.65"), Decimal("76.64"))
        assert member == Decimal("0.00")


def test_show_says_where_each_provision_comes_from(monkeypatch):
    from typer.testing import CliRunner

    from medrules.cli import app
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, ["show", "rulebooks/pingyang/residents-2019"])
    assert r.exit_code == 0, r.output
    assert "amends `residents-earlier.mr`" in r.output
    county = next(line for line in r.output.splitlines() if line.startswith("- parameter `county_rate`"))
    assert "= `70%`" in county and "[rulebooks/pingyang/residents-2019.mr:" in county
    outpatient = next(line for line in r.output.splitlines() if "未从基层转诊的为15%" in line and "rate" in line)
    assert "[rulebooks/pingyang/residents-earlier.mr:" in outpatient
