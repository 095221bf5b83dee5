"""Membership over time (seed 002, 衢医保联发〔2020〕13号 二 and 三): each claim settled under the scheme the
person belonged to on its date, from their history of insurance periods; and what a liable third party
owes back. Every amount below is worked out by hand from the rulebooks' figures:

* employee scheme (rulebooks/quzhou/employee-2012.mr): inpatient deductible 600 per admission (assumed
  there), then 84% of the cost up to 60,000 in the year;
* resident scheme (rulebooks/quzhou/residents-2020.mr): ILLUSTRATIVE 60% inpatient, 50% outpatient, no
  deductible (the seeds give no Quzhou resident figures; declared 'assumed').
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.membership import load_membership, settle_membership
from medrules.source import SourceFile

ROUTER = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
STOPPED = ROOT / "examples" / "membership" / "quzhou-employee-stopped-in-april.json"


def _read(path):
    p = ROOT / path if not str(path).startswith("/") else path
    return SourceFile(p.resolve().relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ms():
    return load_membership(medrules.load(ROUTER, read=_read), read=_read)


def settle(ms, doc: dict, trace: bool = True):
    return settle_membership(ms, SourceFile("<facts>", json.dumps(doc)), trace=trace)


def claim(cid: str, date: str, cost: str, kind: str = "inpatient", **more) -> dict:
    return {"id": cid, "date": date, "kind": kind, "compliant_cost": cost} | more


def insured(c):
    return next(s for s in c.steps if s.kind == "insured")


# ---------------------------------------------------------------- employee insurance stops in April 2020
STOPS = {"member": {"id": "M1", "category": "working"},
         "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-04-01"}]}


@pytest.mark.parametrize("date, scheme, rulebook", [
    ("2020-03-12", "employee", "quzhou/employee-2012"),   # inside the employee period
    ("2020-04-30", "employee", "quzhou/employee-2012"),   # the last day of its last month
    ("2020-05-01", "stopped", "quzhou/residents-2020"),   # "从停保次月起": the 1st of the next month
    ("2020-12-31", "stopped", "quzhou/residents-2020"),
])
def test_a_claim_is_settled_under_the_scheme_of_its_date(ms, date, scheme, rulebook):
    result, used = settle(ms, STOPS | {"claims": [claim("C", date, "10000.00")]})
    c = result.claims[0]
    assert (insured(c).scheme, used["C"].checked.id, insured(c).rulebook) == (scheme, rulebook, rulebook)


def test_employee_coverage_stops_mid_year_amounts(ms):
    doc = STOPS | {"claims": [claim("C1", "2020-03-12", "10600.00"), claim("C2", "2020-05-10", "10000.00")]}
    result, used = settle(ms, doc)
    c1, c2 = result.claims
    # C1, employee scheme: (10,600 − 600 deductible) × 84% = 8,400; the member pays 600 + 1,600 = 2,200
    assert c1.fund("inpatient_pool").paid == Decimal("8400.00") and c1.member_pays == Decimal("2200.00")
    # C2, resident scheme from May: 10,000 × 60% = 6,000; the member pays 4,000
    assert c2.fund("resident_pool").paid == Decimal("6000.00") and c2.member_pays == Decimal("4000.00")
    # the same without a trace
    plain, _ = settle(ms, doc, trace=False)
    assert [c.funds_paid for c in plain.claims] == [Decimal("8400.00"), Decimal("6000.00")]


def test_the_explanation_says_why(ms):
    from medrules.explain import explain
    result, used = settle(ms, STOPS | {"claims": [claim("C2", "2020-05-10", "10000.00")]})
    e = explain(used["C2"], result, "en")
    first = e.claims[0].lines[0]
    assert first.kind == "insured"
    assert first.text.startswith("On 2020-05-10 (claim.date) the member belonged to the resident medical insurance "
                                 "(from the month after employee insurance stopped): employee insurance stopped")
    # the stop month is derived from the history: the latest employee month, April, ends 2020-04-30
    assert "period.last_month = 2020-04-01" in first.text and "month_end(latest(period, …)) = 2020-04-30" in first.text
    assert first.citation.article == "二" and "从停保次月起自动接续城乡居民基本医疗保险" in first.citation.quote
    assert first.document == "衢医保联发〔2020〕13号"
    zh = explain(used["C2"], result, "zh").claims[0].lines[0].text
    assert zh.startswith("2020-05-10(claim.date)参保于城乡居民基本医疗保险(职工医保停保次月起)")


# ---------------------------------------------------------------- a flexible worker in arrears from January 2020
ARREARS = {"member": {"id": "F1", "category": "working", "employment": "flexible"},
           "periods": [{"scheme": "employee", "first_month": "2018-01-01", "last_month": "2019-12-01"},
                       {"scheme": "employee", "first_month": "2020-01-01", "arrears": True}]}


@pytest.mark.parametrize("date, scheme", [
    ("2020-01-02", "arrears_resident"),  # arrears: treated as a subsidised resident member ("视作资助参加")
    ("2020-06-30", "arrears_resident"),  # January–June: still within the six months
    ("2020-07-01", "arrears_ended"),     # six months complete: employee insurance interrupted, resident continues
    ("2020-11-20", "arrears_ended"),
])
def test_flexible_worker_six_consecutive_months_of_arrears(ms, date, scheme):
    result, used = settle(ms, ARREARS | {"claims": [claim("C", date, "5000.00")]})
    c = result.claims[0]
    assert insured(c).scheme == scheme and used["C"].checked.id == "quzhou/residents-2020"
    assert c.fund("resident_pool").paid == Decimal("3000.00")  # 5,000 × 60%


def test_an_employers_arrears_keep_the_employee_in_the_employee_scheme(ms):
    doc = ARREARS | {"member": {"id": "E1", "category": "working"}, "claims": [claim("C", "2020-07-01", "5600.00")]}
    result, used = settle(ms, doc)
    assert insured(result.claims[0]).scheme == "employee"
    assert result.claims[0].fund("inpatient_pool").paid == Decimal("4200.00")  # (5,600 − 600) × 84%


def test_arrears_shorter_than_six_months_then_stopped(ms):
    # arrears January–March 2020 only, then nothing: from April the rule for a stopped employee period applies
    doc = {"member": {"id": "F2", "category": "working", "employment": "flexible"},
           "periods": [{"scheme": "employee", "first_month": "2019-01-01", "last_month": "2019-12-01"},
                       {"scheme": "employee", "first_month": "2020-01-01", "last_month": "2020-03-01", "arrears": True}],
           "claims": [claim("C1", "2020-03-31", "1000.00"), claim("C2", "2020-08-01", "1000.00")]}
    result, _ = settle(ms, doc)
    assert [insured(c).scheme for c in result.claims] == ["arrears_resident", "stopped"]


# ---------------------------------------------------------------- third parties (13号 三)
@pytest.mark.parametrize("third_party, paid, recoverable", [
    ("no_third_party", "3000.00", "0"),          # 5,000 × 60%, nothing to recover
    ("third_party_refuses", "3000.00", "3000.00"),  # paid first; the 3,000 paid is recoverable
    ("third_party_unknown", "3000.00", "3000.00"),
    ("third_party_paid", "0", "0"),              # the third party paid: the fund does not
])
def test_third_party(ms, third_party, paid, recoverable):
    result, _ = settle(ms, ARREARS | {"claims": [claim("C", "2020-03-01", "5000.00", third_party=third_party)]})
    c = result.claims[0]
    assert (c.funds_paid, c.recoverable) == (Decimal(paid), Decimal(recoverable))
    assert (c.recovered_by is not None) == (recoverable != "0")
    assert [s.kind for s in c.steps].count("recover") == (1 if recoverable != "0" else 0)


def test_recoverable_in_run_json_and_explain_json(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(ARREARS | {"claims": [claim("C", "2020-03-01", "5000.00",
                                                             third_party="third_party_refuses")]}), encoding="utf-8")
    r = CliRunner().invoke(app, ["run", "rulebooks/quzhou/membership-2020.mr", str(facts), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["claims"] == [{"id": "C", "date": "2020-03-01", "insured": "arrears_resident",
                              "rulebook": "quzhou/residents-2020"}]
    settled = doc["schemes"]["quzhou/residents-2020"]["claims"][0]
    assert settled["recoverable"]["amount"] == "3000.00"
    assert settled["recoverable"]["because"]["zh"].startswith("应由第三人负担,第三人不支付或无法确定第三人")
    r = CliRunner().invoke(app, ["explain", "rulebooks/quzhou/membership-2020.mr", str(facts), "--json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    steps = json.loads(r.output)["explanations"][0]["claims"][0]["steps"]
    assert [s["kind"] for s in steps][0] == "insured" and "recover" in [s["kind"] for s in steps]
    r = CliRunner().invoke(app, ["run", "rulebooks/quzhou/membership-2020.mr", str(facts), "--lang", "en"])
    assert "recoverable from a third party" in r.output and "3,000.00" in r.output
    r = CliRunner().invoke(app, ["explain", "rulebooks/quzhou/membership-2020.mr", str(facts), "--view", "citizen"])
    assert "您参保于城乡居民基本医疗保险(职工医保欠费期间)" in r.output and "可向第三人追偿" in r.output


# ---------------------------------------------------------------- errors are located
def test_a_fact_no_rulebook_declares_is_refused_at_its_place(ms):
    doc = STOPS | {"claims": [claim("C", "2020-05-10", "100.00", thrid_party="third_party_paid")]}
    with pytest.raises(medrules.MedrulesError) as e:
        settle(ms, doc)
    [d] = e.value.diagnostics
    assert d.message == "'thrid_party' is not part of the declared claim facts" and d.hint == "did you mean 'third_party'?"


def test_a_claim_in_no_scheme_is_refused_at_its_date(ms):
    doc = {"member": {"id": "M", "category": "working"},
           "periods": [{"scheme": "resident", "first_month": "2021-01-01"}],
           "claims": [claim("C", "2020-05-10", "100.00")]}
    with pytest.raises(medrules.MedrulesError) as e:
        settle(ms, doc)
    [d] = e.value.diagnostics
    assert d.message == "on 2020-05-10 claim 'C' is insured in no scheme of 'quzhou/membership-2020'"
    assert d.span.end_col - d.span.col == len('"2020-05-10"') and "employee, arrears_resident" in d.hint


def _check(text: str, tmp_path):
    path = tmp_path / "r.mr"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(medrules.MedrulesError) as e:
        program = medrules.load(path)
        load_membership(program)
    return e.value.diagnostics


HEAD = '''rulebook "t" { effective from 2020-01-01 year starts 01-01 by claim.date rounding half_up to 0.01 yuan per payment }
facts claim { id: text  date: date }
'''


def test_membership_rulebook_errors(tmp_path):
    d = _check(HEAD + '''insured a "A" under "missing.mr" when claim.date > 2020-01-01 because "x" assumed "y"
''', tmp_path)
    assert (d[0].code, d[0].span.line, d[0].span.col) == ("io", 3, 21)  # the quoted path
    d = _check(HEAD + '''insured a "A" under "b.txt" when claim.date because "x"
fund f { base 1 yuan rate 10% }
''', tmp_path)
    found = {(x.code, x.span.line) for x in d}
    assert {("membership", 3), ("unit", 3), ("citation", 3), ("membership", 4)} <= found


def test_the_batch_settles_what_is_recoverable(tmp_path):
    # residents-2020, no deductible, 60% inpatient and 50% outpatient (illustrative rates, declared assumed):
    #   C1 inpatient 5,000, no third party: 3,000.00 paid, nothing recoverable;
    #   C2 inpatient 5,000, the third party refuses: 3,000.00 paid first, 3,000.00 recoverable;
    #   C3 outpatient 1,000.50, the third party unknown: 500.25 paid first, 500.25 recoverable;
    #   C4 inpatient 5,000, the third party paid: excluded, 0 paid, nothing recoverable
    import pyarrow.parquet as pq
    claims = tmp_path / "claims.csv"
    claims.write_text("member_id,claim_id,date,kind,compliant_cost,third_party\n"
                      "M1,C1,2020-03-01,inpatient,5000,no_third_party\n"
                      "M1,C2,2020-04-01,inpatient,5000,third_party_refuses\n"
                      "M1,C3,2020-05-01,outpatient,1000.50,third_party_unknown\n"
                      "M2,C4,2020-03-01,inpatient,5000,third_party_paid\n", encoding="utf-8")
    out = tmp_path / "results.parquet"
    r = CliRunner().invoke(app, ["settle", str(ROOT / "rulebooks" / "quzhou" / "residents-2020.mr"), str(claims),
                                 "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = {row["claim_id"]: row for row in pq.read_table(out).to_pylist()}
    assert {k: (str(v["paid.resident_pool"]), str(v["recoverable"])) for k, v in rows.items()} == {
        "C1": ("3000.00", "0.00"), "C2": ("3000.00", "3000.00"), "C3": ("500.25", "500.25"), "C4": ("0.00", "0.00")}


def test_the_vector_backend_refuses_memberships_at_load():
    from medrules.batch.vector import compile_vector
    for path, what in ((ROUTER, "membership routing"),):  # (settled by its routes: tests/test_batch_routed.py)
        with pytest.raises(medrules.MedrulesError) as e:
            compile_vector(medrules.load(path))
        [d] = e.value.diagnostics
        assert d.code == "vector" and what in d.message and "compile_membership" in d.hint


# ---------------------------------------------------------------- integration: 待遇就高不就低 (seed 003, Qinhuangdao 2017)
# Former schemes (ILLUSTRATIVE, assumed figures): urban residents 500 deductible per admission, 60%;
# new rural cooperative (新农合) 300 deductible, 55%.
INTEGRATION = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"


@pytest.fixture(scope="module")
def integration():
    return load_membership(medrules.load(INTEGRATION, read=_read), read=_read)


@pytest.mark.parametrize("cost, urban, ncms, chosen", [
    # (10,000 − 500) × 60% = 5,700 against (10,000 − 300) × 55% = 5,335: the urban residents' scheme
    ("10000.00", "5700.00", "5335.00", "qinhuangdao-integration/urban-residents-2016"),
    # (1,000 − 500) × 60% = 300 against (1,000 − 300) × 55% = 385: the rural cooperative scheme
    ("1000.00", "300.00", "385.00", "qinhuangdao-integration/ncms-2016"),
    # 2,700: (2,200) × 60% = 1,320 against (2,400) × 55% = 1,320: a tie goes to the first named
    ("2700.00", "1320.00", "1320.00", "qinhuangdao-integration/urban-residents-2016"),
])
def test_integration_pays_the_better_of_the_former_schemes(integration, cost, urban, ncms, chosen):
    doc = {"member": {"id": "Q", "former_scheme": "ncms"}, "claims": [claim("C", "2017-03-02", cost)]}
    result, used = settle(integration, doc)
    c = result.claims[0]
    assert used["C"].checked.id == chosen and c.funds_paid == max(Decimal(urban), Decimal(ncms))
    assert insured(c).compared == {"qinhuangdao-integration/urban-residents-2016": Decimal(urban),
                                   "qinhuangdao-integration/ncms-2016": Decimal(ncms)}


def test_integration_explanation_shows_both_amounts(integration):
    from medrules.explain import explain
    doc = {"member": {"id": "Q", "former_scheme": "urban_resident"}, "claims": [claim("C", "2017-06-15", "1000.00")]}
    result, used = settle(integration, doc)
    text = explain(used["C"], result, "en").claims[0].lines[0].text
    assert ("settled under each scheme, the funds pay 'qinhuangdao-integration/urban-residents-2016' 300.00 yuan; "
            "'qinhuangdao-integration/ncms-2016' 385.00 yuan; settled under the higher, "
            "'qinhuangdao-integration/ncms-2016'") in text


# ---------------------------------------------------------------- the explanations, as read (syrupy)
@pytest.mark.parametrize("example, view, lang", [
    ("quzhou-employee-stopped-in-april.json", "citizen", "zh"),
    ("quzhou-employee-stopped-in-april.json", "citizen", "en"),
    ("quzhou-employee-stopped-in-april.json", "auditor", "en"),
    ("qinhuangdao-integration-2017.json", "citizen", "zh"),
    ("qinhuangdao-integration-2017.json", "auditor", "zh"),
])
def test_membership_explanations(example, view, lang, snapshot):
    from medrules.explain import explain
    from medrules.explain.text import render_citizen, render_explanation, to_text
    from medrules.membership import routes_of
    router = ROUTER if example.startswith("quzhou") else INTEGRATION
    ms = load_membership(medrules.load(router, read=_read), read=_read)
    result, used = settle_membership(ms, _read(ROOT / "examples" / "membership" / example), trace=True)
    texts = []
    for program, ids in routes_of(ms, result, used):
        e = explain(program, result, lang, ids)
        texts.append(to_text(render_citizen(e) if view == "citizen" else render_explanation(e), width=120))
    assert "\n".join(texts) == snapshot


def test_other_commands_on_a_membership_rulebook_say_what_it_is(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["rulebooks/quzhou/membership-2020.mr", "examples/membership/quzhou-employee-stopped-in-april.json"]
    # (explain --what-if, markdown and html work on it: tests/test_membership_documents.py)
    for command in (["test", args[0]], ["settle", args[0], "claims.csv", "--out", "x.parquet"]):
        r = CliRunner().invoke(app, command)
        assert r.exit_code != 0 and "Traceback" not in r.output and "internal error" not in r.output, (command, r.output)
    with pytest.raises(medrules.MedrulesError) as e:
        program = medrules.load(ROUTER)
        medrules.settle(program, medrules.load_facts({"member": {"id": "M"}, "claims": []}, program))
    assert "routes each claim to the rulebook of the scheme" in e.value.diagnostics[0].message


def test_a_scheme_keeps_one_year_total_over_every_route_into_it(tmp_path):
    """Two 'insured' statements send claims to the same scheme: its yearly deductible is charged once in
    the year, over the claims of both routes (a scheme's year-to-date totals are the scheme's, not the
    statement's). Both backends. By hand: deductible 500 a year, 50%:
    C1 (route a, 2020-02-01, 800): (800 − 500) × 50% = 150.00, deductible used 500;
    C2 (route b, 2020-03-01, 800): no deductible left, 800 × 50% = 400.00.
    Kept per route, C2 would have paid (800 − 500) × 50% = 150.00 again."""
    head = ('rulebook "t/%s" { effective from 2020-01-01 year starts 01-01 by claim.date '
            'rounding half_up to 0.01 yuan per payment }\n')
    (tmp_path / "s.mr").write_text(head % "s" + '''facts member { id: text }
facts claim { id: text  date: date  cost: money  door: text }
total cost is claim.cost
accumulator used: money per year "used"
fund f "F" assumed "test" {
  base claim.cost
  accumulate deductible in used
  deductible 500 yuan per year assumed "test"
  rate 50% assumed "test"
}
''', encoding="utf-8")
    (tmp_path / "m.mr").write_text(head % "m" + '''facts member { id: text }
facts claim { id: text  date: date  door: text }
insured a "A" under "s.mr" when claim.door == "a" because "a" assumed "test"
insured b "B" under "s.mr" when claim.door == "b" because "b" assumed "test"
''', encoding="utf-8")
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps({"member": {"id": "M"}, "claims": [
        {"id": "C1", "date": "2020-02-01", "cost": "800.00", "door": "a"},
        {"id": "C2", "date": "2020-03-01", "cost": "800.00", "door": "b"}]}), encoding="utf-8")
    ms = load_membership(medrules.load(tmp_path / "m.mr"))
    result, used = settle_membership(ms, SourceFile.read(facts))
    assert [str(c.funds_paid) for c in result.claims] == ["150.00", "400.00"]
    claims = tmp_path / "claims.csv"
    claims.write_text("member_id,claim_id,date,cost,door\nM,C1,2020-02-01,800.00,a\nM,C2,2020-03-01,800.00,b\n",
                      encoding="utf-8")
    from medrules.batch.run import settle_files
    out = tmp_path / "out.csv"
    settle_files(tmp_path / "m.mr", [claims], out)
    import csv
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["claim_id"], r["paid.f"], r["scheme"]) for r in rows] == [("C1", "150.00", "a"), ("C2", "400.00", "b")]
