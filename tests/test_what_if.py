"""What if a fact were different? Counterfactuals explained step by step (issue 4's first slice).

Each expected difference is worked out by hand from the rulebook's provisions.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.explain.text import render_what_if, to_text
from medrules.analyses.whatif import sensitivity, what_if
from medrules.facts import facts_from_source, parse_change
from medrules.source import SourceFile


def load(path):
    def read(p):
        return SourceFile(p.resolve().relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    return medrules.load(ROOT / path, read=read)


def facts(program, doc):
    return facts_from_source(SourceFile("facts.json", json.dumps(doc)), program.checked)


@pytest.fixture(scope="module")
def pingyang():
    return load("rulebooks/pingyang/residents-2019.mr")


def test_missing_referral_costs_five_points(pingyang):
    """Pingyang 2019, an admission outside the city, 15,400 compliant: deductible 1,300;
    without a referral 40% − 5 points = 35%: 14,100 × 35% = 4,935.00; with one 40%: 5,640.00 (+705.00)."""
    f = facts(pingyang, {"member": {"id": "M", "birth_date": "1960-01-01"},
                         "claims": [{"id": "C1", "date": "2019-05-01", "kind": "inpatient",
                                     "institution": "outside_city", "compliant_cost": "15400.00"}]})
    w = what_if(pingyang, f, [parse_change("claim.referred=true", pingyang.checked)], "en")
    d = w.claims[0]
    assert d.funds == (("inpatient_pool", "inpatient fund", Decimal("4935.00"), Decimal("5640.00")),)
    assert d.delta == Decimal("705.00")
    texts = [(c.before.text if c.before else "", c.after.text if c.after else "") for c in d.steps]
    assert any("−5 points" in before or "-5 points" in before for before, _ in texts), texts
    ranked = sensitivity(pingyang, f)
    assert any(s.change.text == "claim.referred=true" and s.delta == Decimal("705.00") for s in ranked)


def test_newborn_registered_on_day_89_instead_of_91():
    """Yanshan 2017, days counted exclusive: born 2017-02-10, paid 2017-05-12 = day 91, so covered only from
    2017-06-01 (the month after payment); paid 2017-05-10 = day 89, covered from birth. The claim of
    2017-02-15 (1,000 compliant, the assumed 50%) then pays 500.00 instead of 0."""
    program = load("rulebooks/cangzhou/yanshan-residents-2017.mr")
    f = facts(program, json.loads((ROOT / "examples/cangzhou-yanshan-residents-2017-newborn.json").read_text()))
    w = what_if(program, f, [parse_change("member.paid_on=2017-05-10", program.checked)], "en", ["C1"])
    d = w.claims[0]
    assert (d.member_before, d.member_after) == (Decimal("1000.00"), Decimal("500.00"))
    gone = [c.before.text for c in d.steps if c.before is not None and c.before.kind == "exclude"]
    assert gone and "day_number(member.born_on, member.paid_on) = 91" in gone[0]


def test_third_party_liability_excluded_and_what_would_change_it():
    """The feature rulebook: a third party is liable → nothing paid; without it 1,000 × 60% = 600.00."""
    program = load("tests/rulebooks/features.mr")
    f = facts(program, {"member": {"id": "M", "paid_on": "2016-01-01"},
                        "claims": [{"id": "C1", "date": "2017-06-01", "kind": "inpatient", "third_party": True,
                                    "cost": "1000.00"}]})
    ranked = sensitivity(program, f)
    assert ranked[0].change.text == "claim.third_party=false" and ranked[0].delta == Decimal("600.00")
    w = what_if(program, f, [ranked[0].change], "zh")
    text = to_text(render_what_if(w, ranked), width=200)
    assert "基金多付 600.00 元" in text and "不予支付:应当由第三人负担的医疗费用" in text


def test_nothing_changes():
    program = load("rulebooks/quzhou/employee-2012.mr")
    f = facts(program, json.loads((ROOT / "examples/quzhou-employee-2012-retiree-outpatient.json").read_text()))
    w = what_if(program, f, [parse_change("claim.self_paid=0", program.checked)], "en", ["C1"])
    assert w.claims[0].funds == () and w.claims[0].steps == ()


@pytest.mark.parametrize("text, fragment", [
    ("claim.referred", "is not FACT=VALUE"),
    ("claim.kindd=inpatient", "did you mean 'kind'?"),
    ("claim.kind=inpatent", "'inpatent' is not one of the visit_kind values"),
    ("claim.compliant_cost=1,200", "is not an amount of yuan"),
])
def test_bad_what_if_values_are_explained(pingyang, text, fragment):
    with pytest.raises(medrules.MedrulesError) as err:
        parse_change(text, pingyang.checked)
    assert fragment in str(err.value) or any(fragment in (d.hint or "") for d in err.value.diagnostics)


def test_cli_what_if_text_and_json(monkeypatch):
    """Quzhou 2012, retiree C3: 1,569.37 payable; at a grassroots institution 60% instead of 55%:
    941.622 → 941.62 instead of 863.1535 → 863.15, +78.47."""
    monkeypatch.chdir(ROOT)
    args = ["explain", "rulebooks/quzhou/employee-2012", "examples/quzhou-employee-2012-retiree-outpatient.json",
            "--claim", "C3", "--what-if", "claim.institution=grassroots_zero_markup", "--lang", "en"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "the funds pay more by 78.47 yuan" in r.output and "863.15 → 941.62" in r.output
    r = CliRunner().invoke(app, args + ["--json"])
    doc = json.loads(r.output)
    assert doc["schema"] == "medrules.whatif/1"
    assert doc["claims"][0]["funds"] == [{"fund": "outpatient_pool", "before": "863.15", "after": "941.62",
                                         "change": "78.47"}]
    r = CliRunner().invoke(app, args[:-2] + ["--what-if", "claim.nope=1"])
    assert r.exit_code == 1 and "is not a declared claim fact" in r.output and "Traceback" not in r.output


def test_a_capped_claim_says_which_provision_limited_it():
    """Quzhou 2012, C2 of the capped year: the rates give 155,796.00 but only 118,504.00 was left of the
    160,000 limit (衢政发〔2011〕102号 二, '住院统筹基金最高支付限额上调至16万元')."""
    from medrules.explain import explain
    from medrules.explain.citizen import citizen_view
    program = medrules.load(ROOT / "rulebooks/quzhou/employee-2012.mr", readings={"cap_axis": "payments"})
    f = facts(program, json.loads((ROOT / "examples/quzhou-employee-2012-inpatient-year.json").read_text()))
    e = explain(program, medrules.settle(program, f, trace=True), "zh", ["C2"])
    cap = next(line for line in e.claims[0].lines if line.kind == "cap" and line.fund == "inpatient_pool")
    assert cap.citation.quote == "住院统筹基金最高支付限额上调至16万元。" and cap.document == "衢政发〔2011〕102号"
    assert "按比例应付 155,796.00 元,限额内只付 118,504.00 元" in cap.text
    assert "但最高支付限额 160,000.00 元 只剩 118,504.00 元" in citizen_view(e)[0].sentences[0]


def test_explain_says_what_would_have_made_a_claim_pay(monkeypatch, tmp_path):
    """A third party is liable, so nothing is paid; without it 1,000 × 60% = 600.00."""
    monkeypatch.chdir(ROOT)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"member": {"id": "M", "paid_on": "2016-01-01"},
                                "claims": [{"id": "C1", "date": "2017-06-01", "kind": "inpatient",
                                            "third_party": True, "cost": "1000.00"}]}), encoding="utf-8")
    r = CliRunner().invoke(app, ["explain", "tests/rulebooks/features.mr", str(path), "--view", "citizen",
                                 "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Not paid: a third party is liable (claim.third_party: yes)." in r.output
    assert "Claim C1 paid nothing; it would have been paid if:" in r.output
    assert "claim.third_party: no: +600.00 yuan" in r.output  # the citizen's view: label (none declared) and value


def test_the_nearest_registration_date_that_would_have_paid():
    """Born 2017-02-10, paid 2017-05-12 (day 91, the birth day not counted). Paid on 2017-05-11 — day 90 —
    the newborn would have been covered from birth: the claim of 2017-02-15 pays 1,000 × 50% = 500.00."""
    from medrules.analyses.whatif import date_sensitivity
    program = load("rulebooks/cangzhou/yanshan-residents-2017.mr")
    f = facts(program, json.loads((ROOT / "examples/cangzhou-yanshan-residents-2017-newborn.json").read_text()))
    found = {s.change.text: s.delta for s in date_sensitivity(program, f, ["C1"])}
    assert found["member.paid_on=2017-05-11"] == Decimal("500.00")
