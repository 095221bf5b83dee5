"""The ledger on membership rulebooks: each claim recorded under the scheme that settled it, with why (the
deciding 'insured' statement and its citation), the plan hashes of every rulebook involved and, under
'highest of', both amounts; re-settlement and its reversal when a history is corrected. SQLite, and
PostgreSQL where MEDRULES_TEST_POSTGRES_URL is set (as the other ledger tests).

Amounts worked by hand from the rulebooks' figures:
* Quzhou employee scheme (employee-2012.mr): 600 deductible per admission, then 84% (working member);
* Quzhou resident scheme (residents-2020.mr, ILLUSTRATIVE, declared assumed): inpatient 60%, no deductible;
* Qinhuangdao former schemes (ILLUSTRATIVE): urban residents 500 deductible then 60%; NCMS 300 then 55%.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.ledger import Ledger, load_rulebooks

QUZHOU = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
QHD = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"
D = Decimal


@pytest.fixture
def ledger(ledger_url):
    with Ledger.open(ledger_url) as led:
        yield led


def write(tmp_path: Path, name: str, doc: dict) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def inpatient(cid: str, date: str, cost: str) -> dict:
    return {"id": cid, "date": date, "kind": "inpatient", "compliant_cost": cost}


def periods(last_month: str) -> list[dict]:
    return [{"scheme": "employee", "first_month": "2015-03-01", "last_month": last_month}]


STOPPED = {"member": {"id": "M1", "category": "working"}, "periods": periods("2020-04-01"),
           "claims": [inpatient("C1", "2020-03-12", "10600.00"), inpatient("C2", "2020-05-10", "10000.00")]}


def test_each_claim_is_recorded_under_the_scheme_of_its_date_with_why(ledger, tmp_path):
    rb = load_rulebooks(QUZHOU)
    hashes = {v.program.checked.id: (v.hash, v.plan_hash) for v in rb.versions}
    c1, c2 = ledger.settle_member(rb, write(tmp_path, "m1.json", STOPPED))
    # C1, employee scheme in March: (10,600 − 600) × 84% = 8,400.00; the member pays 600 + 1,600 = 2,200.00
    assert (c1.rulebook_id, c1.paid("inpatient_pool"), c1.member_pays) == ("quzhou/employee-2012", D("8400.00"),
                                                                           D("2200.00"))
    # C2, from May the resident scheme ("从停保次月起"): 10,000 × 60% = 6,000.00; the member pays 4,000.00
    assert (c2.rulebook_id, c2.paid("resident_pool"), c2.member_pays) == ("quzhou/residents-2020", D("6000.00"),
                                                                          D("4000.00"))
    # each decision carries the hashes of the scheme that settled it, and those of the membership rulebook
    assert (c1.rulebook_hash, c1.plan_hash) == hashes["quzhou/employee-2012"]
    assert (c2.rulebook_hash, c2.plan_hash) == hashes["quzhou/residents-2020"]
    m1, m2 = c1.membership, c2.membership
    assert m1["rulebook"] == {"id": "quzhou/membership-2020", "hash": hashes["quzhou/membership-2020"][0],
                              "plan_hash": hashes["quzhou/membership-2020"][1]}
    assert (m1["scheme"], m1["settled_by"], m2["scheme"], m2["settled_by"]) == (
        "employee", "quzhou/employee-2012", "stopped", "quzhou/residents-2020")
    # why: the deciding statement's reason, its condition and the text it cites
    assert m2["because"]["en"] == "employee insurance stopped: the resident scheme continues automatically from " \
                                  "the next month"
    assert m2["when"].startswith("claim.date > month_end(latest(period, period.last_month")
    assert m2["citation"]["document"] == "衢医保联发〔2020〕13号" and m2["citation"]["article"] == "二"
    assert "从停保次月起自动接续城乡居民基本医疗保险" in m2["citation"]["quote"]
    assert m1["citation"]["assumed"] is True and m1["citation"]["quote"] is None  # declared 'assumed' there
    assert m2["under"] == [{"id": "quzhou/residents-2020", "hash": hashes["quzhou/residents-2020"][0],
                            "plan_hash": hashes["quzhou/residents-2020"][1]}]
    # the stored explanation opens with the membership step
    doc = ledger.explanation(c2.id, "en")
    assert doc["rulebook"]["id"] == "quzhou/residents-2020"
    first = doc["claims"][0]["steps"][0]
    assert first["kind"] == "insured" and first["text"].startswith("On 2020-05-10 (claim.date) the member belonged "
                                                                   "to the resident medical insurance")
    # the same facts again: nothing recorded
    again = ledger.settle_member(rb, write(tmp_path, "m1.json", STOPPED))
    assert [d.recorded for d in again] == [False, False] and [d.id for d in again] == [c1.id, c2.id]


def test_a_corrected_history_moves_the_claim_and_back(ledger, tmp_path):
    rb = load_rulebooks(QUZHOU)
    c1, c2 = ledger.settle_member(rb, write(tmp_path, "m1.json", STOPPED))
    # the employee insurance in fact ran to May: C2 (2020-05-10) is the employee scheme's
    fixed = {"member": STOPPED["member"], "periods": periods("2020-05-01"), "claims": []}
    d1, d2 = ledger.settle_member(rb, write(tmp_path, "fix.json", fixed))
    assert not d1.recorded and d1.id == c1.id  # March is employee either way
    assert d2.recorded and d2.sequence == 2 and d2.supersedes == c2.id
    # under the employee scheme: (10,000 − 600) × 84% = 7,896.00; the member pays 2,104.00
    assert (d2.rulebook_id, d2.paid("inpatient_pool"), d2.member_pays) == ("quzhou/employee-2012", D("7896.00"),
                                                                           D("2104.00"))
    assert d2.membership["scheme"] == "employee"
    # the employee fund pays 7,896.00 (补付); the resident fund recovers the 6,000.00 it paid (追回)
    amounts = {a.fund: a.amount for a in d2.adjustments}
    assert amounts == {"inpatient_pool": D("7896.00"), "resident_pool": D("-6000.00")}
    for a in d2.adjustments:
        assert a.cause["membership"] == {
            "before": {"scheme": "stopped", "settled_by": "quzhou/residents-2020", "label": {
                "zh": "城乡居民基本医疗保险(职工医保停保次月起)",
                "en": "resident medical insurance (from the month after employee insurance stopped)"}},
            "after": {"scheme": "employee", "settled_by": "quzhou/employee-2012", "label": {
                "zh": "城镇职工基本医疗保险", "en": "employee medical insurance"}}}
        assert a.cause["rulebook"]["before"]["id"] == "quzhou/residents-2020"
        assert a.cause["rulebook"]["after"]["id"] == "quzhou/employee-2012"
        assert [x["fact"] for x in a.cause["facts"]] == ["periods"]
        assert a.cause["facts"][0]["after"][0]["last_month"] == "2020-05-01"
    # and back: the April stop was right after all — the reverse amounts
    _, d3 = ledger.settle_member(rb, write(tmp_path, "back.json", {**fixed, "periods": periods("2020-04-01")}))
    assert d3.sequence == 3 and d3.supersedes == d2.id and d3.rulebook_id == "quzhou/residents-2020"
    assert {a.fund: a.amount for a in d3.adjustments} == {"resident_pool": D("6000.00"),
                                                          "inpatient_pool": D("-7896.00")}
    # over the current decisions: employee 8,400.00 (C1), resident 6,000.00 (C2); the moves net to zero per fund
    totals = ledger.totals()
    assert {k: v for k, v in totals["funds"].items() if v} == {"inpatient_pool": D("8400.00"),
                                                               "resident_pool": D("6000.00")}
    assert totals["adjustments"] == {"inpatient_pool": D("0.00"), "resident_pool": D("0.00")}


QHD_FACTS = {"member": {"id": "QHD-1", "former_scheme": "ncms"},
             "claims": [inpatient("C1", "2017-03-02", "10000.00"), inpatient("C2", "2017-06-15", "1000.00")]}


def test_highest_of_records_both_amounts(ledger, tmp_path):
    rb = load_rulebooks(QHD)
    plan = {v.program.checked.id: v.plan_hash for v in rb.versions}
    c1, c2 = ledger.settle_member(rb, write(tmp_path, "q.json", QHD_FACTS))
    # C1, 10,000: urban (10,000 − 500) × 60% = 5,700.00; NCMS (10,000 − 300) × 55% = 5,335.00 → urban
    assert (c1.rulebook_id, c1.funds_paid) == ("qinhuangdao-integration/urban-residents-2016", D("5700.00"))
    # C2, 1,000: urban (1,000 − 500) × 60% = 300.00; NCMS (1,000 − 300) × 55% = 385.00 → NCMS
    assert (c2.rulebook_id, c2.funds_paid) == ("qinhuangdao-integration/ncms-2016", D("385.00"))
    for d, amounts in ((c1, ("5700.00", "5335.00")), (c2, ("300.00", "385.00"))):
        m = d.membership
        assert m["highest"] is True and m["scheme"] == "integrated" and m["settled_by"] == d.rulebook_id
        assert [(u["id"], u["funds_paid"], u["plan_hash"]) for u in m["under"]] == [
            ("qinhuangdao-integration/urban-residents-2016", amounts[0],
             plan["qinhuangdao-integration/urban-residents-2016"]),
            ("qinhuangdao-integration/ncms-2016", amounts[1], plan["qinhuangdao-integration/ncms-2016"])]
        assert m["citation"]["quote"] == "实现城乡居民医疗保险整合后,保障待遇实行“就高不就低”"
    # a corrected cost moves C2 to the other former scheme: 3,000 → urban (2,500 × 60% = 1,500.00) beats
    # NCMS (2,700 × 55% = 1,485.00): NCMS recovers 385.00, the urban fund pays 1,500.00
    fixed = {**QHD_FACTS, "claims": [inpatient("C2", "2017-06-15", "3000.00")]}
    _, d2 = ledger.settle_member(rb, write(tmp_path, "q2.json", fixed))
    assert d2.rulebook_id == "qinhuangdao-integration/urban-residents-2016"
    assert [u["funds_paid"] for u in d2.membership["under"]] == ["1500.00", "1485.00"]
    assert {a.fund: a.amount for a in d2.adjustments} == {"urban_pool": D("1500.00"), "ncms_pool": D("-385.00")}
    assert all(a.cause["membership"]["before"]["settled_by"] == "qinhuangdao-integration/ncms-2016"
               for a in d2.adjustments)
    assert all(a.cause["facts"][0]["fact"] == "claim.compliant_cost" for a in d2.adjustments)


def test_facts_errors_are_located_in_the_users_file(ledger, tmp_path):
    from medrules.diagnostics import MedrulesError
    # insured from June 2020 only: a February claim belongs to no scheme
    bad = write(tmp_path, "bad.json", {**STOPPED, "periods": [{"scheme": "employee", "first_month": "2020-06-01"}],
                                       "claims": [inpatient("C9", "2020-02-03", "100.00")]})
    with pytest.raises(MedrulesError) as exc:
        ledger.settle_member(load_rulebooks(QUZHOU), bad)
    d = exc.value.diagnostics[0]
    assert d.span.file.endswith("bad.json") and "insured in no scheme" in d.message


def test_ledger_cli_shows_the_scheme_and_why(ledger_url, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    facts = write(tmp_path, "m1.json", STOPPED)
    runner = CliRunner()
    r = runner.invoke(app, ["ledger", "settle", str(QUZHOU), str(facts), "--ledger", ledger_url, "--json"])
    assert r.exit_code == 0, r.output
    members = json.loads(r.output)["members"]
    assert [d["membership"]["scheme"] for d in members[0]] == ["employee", "stopped"]
    r = runner.invoke(app, ["ledger", "explain", "C2", "--member", "M1", "--ledger", ledger_url, "--lang", "en"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())  # as printed, lines wrapped at the terminal's width
    assert "membership (quzhou/membership-2020 #" in out
    assert "employee insurance stopped: the resident scheme continues automatically from the next month · " \
           "settled under 'quzhou/residents-2020'" in out
    assert "§ 衢医保联发〔2020〕13号 二: “对年中停止参加城镇职工基本医疗保险的" in out
    r = runner.invoke(app, ["ledger", "settle", str(QHD), str(write(tmp_path, "q.json", QHD_FACTS)),
                            "--ledger", ledger_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ledger", "explain", "C2", "--member", "QHD-1", "--ledger", ledger_url, "--lang", "en",
                            "--format", "markdown"])
    assert r.exit_code == 0, r.output
    # both amounts: urban 300.00, NCMS 385.00 (worked above)
    assert "the better of: qinhuangdao-integration/urban-residents-2016 300.00 yuan; " \
           "qinhuangdao-integration/ncms-2016 385.00 yuan" in " ".join(r.output.split())


# ---------------------------------------------------------------- invariant: corrections conserve the money
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

MONTHS = st.integers(min_value=1, max_value=12).map(lambda m: f"2020-{m:02d}-01")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(months=st.lists(MONTHS, min_size=1, max_size=3))
def test_any_sequence_of_history_corrections_conserves_each_fund(tmp_path_factory, months):
    """Whatever the order of corrections of the employee period's last month, (1) each fund's first payments plus
    every adjustment equal what the current decisions pay, and (2) the current decisions are exactly what
    settling the final facts afresh gives (settle_membership, no ledger)."""
    from medrules.membership import settle_membership
    from medrules.source import SourceFile
    folder = tmp_path_factory.mktemp("ledger")
    rb = load_rulebooks(QUZHOU)
    with Ledger.open(f"sqlite:///{folder / 'ledger.sqlite'}") as led:
        led.settle_member(rb, write(folder, "m.json", STOPPED))
        for i, month in enumerate(months):
            led.settle_member(rb, write(folder, f"fix{i}.json", {"member": STOPPED["member"],
                                                                 "periods": periods(month), "claims": []}))
        history = led.member_history("M1")
        current = {d.claim_id: d for d in history}  # oldest first: the last one stays
        for fund in {f.fund for d in history for f in d.funds}:
            first = sum((d.paid(fund) for d in history if d.sequence == 1 and any(f.fund == fund for f in d.funds)),
                        D("0.00"))
            moved = sum((a.amount for d in history for a in d.adjustments if a.fund == fund), D("0.00"))
            now = sum((d.paid(fund) for d in current.values() if any(f.fund == fund for f in d.funds)), D("0.00"))
            assert first + moved == now, fund
        final = dict(STOPPED, periods=periods(months[-1]))
        fresh, used = settle_membership(rb.membership, SourceFile("<final>", json.dumps(final)))
        for c in fresh.claims:
            d = current[c.id]
            assert (d.rulebook_id, d.funds_paid, d.member_pays) == (used[c.id].checked.id, c.funds_paid, c.member_pays)
