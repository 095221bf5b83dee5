"""The settlement ledger: decisions recorded once, re-settlements with the amounts to pay or recover.

Every amount below is worked out by hand from rulebooks/quzhou/employee-2012.mr (衢政发〔2011〕102号):
inpatient deductible 600 yuan per admission (the rulebook's assumption), bands on the year's cumulative
inpatient cost (deductibles included): up to 60,000 at 84%, above at 87%; outpatient deductible 300 a
year, 50% at other designated institutions. Each test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa

from medrules.diagnostics import MedrulesError
from medrules.ledger import Ledger
from medrules.ledger.schema import metadata

ROOT = Path(__file__).resolve().parent.parent
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
D = Decimal


def facts(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def inpatient(claim_id: str, date: str, cost: str) -> dict:
    return {"id": claim_id, "date": date, "kind": "inpatient", "institution": "other_designated",
            "compliant_cost": cost, "self_paid": "0.00"}


MEMBER = {"id": "QZ-T-0001", "category": "working"}
TWO_ADMISSIONS = {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", "50000.00"),
                                               inpatient("C2", "2012-05-10", "30000.00")]}


def row_counts(ledger: Ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}


@pytest.fixture
def ledger(ledger_url):
    with Ledger.open(ledger_url) as led:
        yield led


def test_each_claim_is_recorded_once_with_its_amounts(ledger, tmp_path):
    decisions = ledger.settle_member(QUZHOU, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    c1, c2 = decisions
    # C1: (50,000 − 600) × 84% = 49,400 × 0.84 = 41,496.00; member pays 50,000 − 41,496 = 8,504.00
    assert (c1.claim_id, c1.sequence, c1.recorded) == ("C1", 1, True)
    assert c1.paid("inpatient_pool") == D("41496.00") and c1.member_pays == D("8504.00")
    # C2: cumulative 50,000 → 80,000; the deductible takes 50,000 → 50,600; 50,600 → 60,000 at 84%:
    # 9,400 × 0.84 = 7,896; 60,000 → 80,000 at 87%: 20,000 × 0.87 = 17,400; 7,896 + 17,400 = 25,296.00
    assert c2.paid("inpatient_pool") == D("25296.00") and c2.member_pays == D("4704.00")
    assert c2.accumulators["inpatient_cost"] == D("80000.00")
    assert c2.accumulators["inpatient_paid"] == D("66792.00")  # 41,496 + 25,296
    assert c1.rulebook_id == "quzhou/employee-2012" and len(c1.rulebook_hash) == 64
    assert str(c1.effective_from) == "2012-01-01" and c1.effective_to is None
    assert c1.claim_facts["compliant_cost"] == "50000.00" and c1.member_facts == MEMBER  # as given
    assert ledger.facts_document(c1.facts_hash)["claims"][1]["id"] == "C2"
    assert ledger.decision(c2.id).paid("inpatient_pool") == D("25296.00")


def test_the_same_facts_again_record_nothing(ledger, tmp_path):
    path = facts(tmp_path, "m.json", TWO_ADMISSIONS)
    first = ledger.settle_member(QUZHOU, path)
    counts = row_counts(ledger)
    again = ledger.settle_member(QUZHOU, path)
    assert row_counts(ledger) == counts
    assert [d.id for d in again] == [d.id for d in first] and not any(d.recorded for d in again)
    # the same facts written differently (keys reordered, spacing) are the same facts
    shuffled = {"claims": [dict(reversed(list(c.items()))) for c in TWO_ADMISSIONS["claims"]], "member": MEMBER}
    ledger.settle_member(QUZHOU, facts(tmp_path, "m2.json", shuffled))
    assert row_counts(ledger) == counts


def test_a_corrected_cost_resettles_the_claim_and_the_later_claim_it_moves(ledger, tmp_path):
    ledger.settle_member(QUZHOU, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    # the hospital corrects C1's compliant cost from 50,000 to 40,000; only C1 is sent again
    corrected = {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", "40000.00")]}
    c1, c2 = ledger.settle_member(QUZHOU, facts(tmp_path, "correction.json", corrected))
    # C1 now: (40,000 − 600) × 84% = 39,400 × 0.84 = 33,096.00; X = 33,096 − 41,496 = −8,400.00 (10,000 × 84%)
    assert (c1.sequence, c1.recorded) == (2, True) and c1.paid("inpatient_pool") == D("33096.00")
    # C2 now: cumulative 40,000 → 70,000; deductible 40,000 → 40,600; 40,600 → 60,000: 19,400 × 0.84 = 16,296;
    # 60,000 → 70,000: 10,000 × 0.87 = 8,700; 16,296 + 8,700 = 24,996.00; Y = 24,996 − 25,296 = −300.00
    # (the 10,000 that moved from the 87% band into the 84% band: 10,000 × 3% = 300)
    assert (c2.sequence, c2.recorded) == (2, True) and c2.paid("inpatient_pool") == D("24996.00")
    [x] = c1.adjustments
    [y] = c2.adjustments
    assert (x.fund, x.amount, x.kind, x.label("zh")) == ("inpatient_pool", D("-8400.00"), "recover", "追回")
    assert (y.fund, y.amount, y.kind, y.label("zh")) == ("inpatient_pool", D("-300.00"), "recover", "追回")
    assert x.previous_decision_id == c1.supersedes and x.decision_id == c1.id
    assert x.cause["facts"] == [{"fact": "claim.compliant_cost", "before": "50000.00", "after": "40000.00"}]
    assert y.cause["facts"] == [] and y.cause["after_claims"] == ["C1"] and x.cause["rulebook"] is None
    # the provision that moved C2's amount: the bands (6万元 84% / 87%), with their place in the rulebook
    assert y.provision["kind"] == "band" and "6万元" in y.provision["citation"]["quote"]
    assert y.provision["source"]["file"].endswith("employee-2012.mr")
    assert ledger.adjustments(member_id=MEMBER["id"]) == [x, y]
    # history keeps both decisions on each claim; nothing was changed in place
    assert [d.paid("inpatient_pool") for d in ledger.claim_history("C2")] == [D("25296.00"), D("24996.00")]
    assert ledger.totals()["adjustments"] == {"inpatient_pool": D("-8700.00")}  # 8,400 + 300 recovered
    assert ledger.totals()["funds"]["inpatient_pool"] == D("58092.00")  # 33,096 + 24,996


def test_a_late_contribution_payment_date_pays_what_the_suspension_held_back(ledger, tmp_path):
    member = {"id": "QZ-T-0002", "category": "working", "arrears_from": "2012-02-10"}
    claim = {"id": "O1", "date": "2012-04-05", "kind": "outpatient", "institution": "other_designated",
             "compliant_cost": "1000.00", "self_paid": "0.00"}
    # arrears from 2012-02-10 suspend outpatient benefits from 2012-03-01 (第九条: 次月即暂停); paid 05-20,
    # benefits return on 05-01: the claim of 04-05 pays nothing
    [before] = ledger.settle_member(QUZHOU, facts(tmp_path, "a.json", {
        "member": member | {"arrears_paid_on": "2012-05-20"}, "claims": [claim]}))
    assert before.funds_paid == D("0.00")
    # the payment was in fact made on 04-02: benefits return from 04-01 (补缴欠费的当月即恢复);
    # the claim pays (1,000 − 300 deductible) × 50% = 350.00, to be paid to the member (补付)
    [after] = ledger.settle_member(QUZHOU, facts(tmp_path, "b.json", {
        "member": member | {"arrears_paid_on": "2012-04-02"}, "claims": [claim]}))
    assert after.paid("outpatient_pool") == D("350.00")
    [adj] = after.adjustments
    assert (adj.fund, adj.amount, adj.label("zh"), adj.label("en")) == ("outpatient_pool", D("350.00"), "补付", "to pay")
    assert adj.cause["facts"] == [{"fact": "member.arrears_paid_on", "before": "2012-05-20", "after": "2012-04-02"}]
    lifted = adj.cause["steps"][0]  # the suspension no longer applies
    assert (lifted["change"], lifted["kind"]) == ("removed", "exclude") and lifted["citation"]["article"] == "第九条"


def test_a_retroactive_amendment_is_a_new_rulebook_version(ledger, tmp_path):
    rulebook = tmp_path / "employee-2012.mr"
    shutil.copy(QUZHOU, rulebook)
    first = ledger.settle_member(rulebook, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    # the 84% band is raised to 85%, retroactively for 2012
    rulebook.write_text(QUZHOU.read_text(encoding="utf-8").replace("up to 60_000 yuan: 84%", "up to 60_000 yuan: 85%"),
                        encoding="utf-8")
    c1, c2 = ledger.settle_member(rulebook, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    assert c1.rulebook_hash != first[0].rulebook_hash and c1.rulebook_id == first[0].rulebook_id
    # C1: 49,400 × 0.85 = 41,990.00 (+494 = 49,400 × 1%); C2: 9,400 × 0.85 + 17,400 = 7,990 + 17,400 = 25,390 (+94)
    assert [(a.fund, a.amount, a.label("zh")) for a in c1.adjustments] == [("inpatient_pool", D("494.00"), "补付")]
    assert [(a.fund, a.amount) for a in c2.adjustments] == [("inpatient_pool", D("94.00"))]
    cause = c1.adjustments[0].cause
    assert cause["facts"] == [] and cause["rulebook"]["before"]["hash"] == first[0].rulebook_hash
    assert cause["rulebook"]["after"]["hash"] == c1.rulebook_hash
    assert cause["rulebook"]["before"]["plan_hash"] != cause["rulebook"]["after"]["plan_hash"] == c1.plan_hash


def test_a_reformatted_rulebook_is_the_same_rules(ledger, tmp_path):
    rulebook = tmp_path / "employee-2012.mr"
    shutil.copy(QUZHOU, rulebook)
    path = facts(tmp_path, "m.json", TWO_ADMISSIONS)
    first = ledger.settle_member(rulebook, path)
    counts = row_counts(ledger)
    # a comment, blank lines and a citation with a full stop added: new source texts, the same rules
    text = QUZHOU.read_text(encoding="utf-8").replace('"1个自然年度内起付标准下调至300元"', '"1个自然年度内起付标准下调至300元。"')
    rulebook.write_text("# reviewed 2013\n\n" + text, encoding="utf-8")
    again = ledger.settle_member(rulebook, path)
    assert not any(d.recorded for d in again) and row_counts(ledger) == counts
    assert again[0].plan_hash == first[0].plan_hash and len(first[0].plan_hash) == 64


def test_a_stored_decision_is_explained_from_the_ledger_alone(ledger, tmp_path):
    from medrules import load
    from medrules.evaluate import settle
    from medrules.explain import explain
    from medrules.explain.json import explanation_json
    from medrules.facts import load_facts
    rulebook = tmp_path / "employee-2012.mr"
    shutil.copy(QUZHOU, rulebook)
    path = facts(tmp_path, "m.json", TWO_ADMISSIONS)
    c1, c2 = ledger.settle_member(rulebook, path)
    program = load(rulebook)
    live = explanation_json(explain(program, settle(program, load_facts(path, program.checked), trace=True), "en",
                                    ["C2"]))
    rulebook.unlink()  # nothing is evaluated again: the rulebook is not needed to explain a stored decision
    stored = ledger.explanation(c2.id, "en")
    schema = json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))
    jsonschema.validate(stored, schema)
    assert stored["claims"] == live["claims"]  # every step, its text, arithmetic and citation
    assert stored["totals"] == {"total_cost": "30000.00", "member_pays": "4704.00",
                                "funds": {"outpatient_pool": "0.00", "inpatient_pool": "25296.00",
                                          "critical_illness": "0.00"}}
    assert ledger.explanation(c1.id, "zh")["lang"] == "zh"


def test_histories_and_member_search(ledger, tmp_path):
    ledger.settle_member(QUZHOU, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    other = {"member": {"id": "QZ-X-0009", "category": "retired"}, "claims": [inpatient("C1", "2012-03-01", "1000.00")]}
    ledger.settle_member(QUZHOU, facts(tmp_path, "o.json", other))
    assert [(d.member_id, d.claim_id) for d in ledger.member_history("QZ-T-0001")] == [("QZ-T-0001", "C1"),
                                                                                      ("QZ-T-0001", "C2")]
    assert {d.member_id for d in ledger.claim_history("C1")} == {"QZ-T-0001", "QZ-X-0009"}
    assert [d.member_id for d in ledger.claim_history("C1", member_id="QZ-X-0009")] == ["QZ-X-0009"]
    assert [m["member_id"] for m in ledger.members("X-0")] == ["QZ-X-0009"]
    assert [(m["member_id"], m["claims"]) for m in ledger.members()] == [("QZ-T-0001", 2), ("QZ-X-0009", 1)]
    with pytest.raises(MedrulesError, match="no decision 999"):
        ledger.decision(999)


def test_the_database_refuses_updates_and_deletes(ledger, tmp_path):
    ledger.settle_member(QUZHOU, facts(tmp_path, "m.json", TWO_ADMISSIONS))
    for statement in ("UPDATE decisions SET total_cost = '1.00'", "DELETE FROM decision_funds",
                      "DELETE FROM facts_documents", "UPDATE rulebook_versions SET rulebook_id = 'x'"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with ledger.engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert ledger.totals()["funds"]["inpatient_pool"] == D("66792.00")


def test_the_ledger_code_never_updates_or_deletes(ledger, tmp_path):
    import re
    for path in (ROOT / "medrules" / "ledger").rglob("*.py"):
        if "migrations" in path.parts:
            continue  # the triggers that refuse UPDATE and DELETE are written there
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(sa|t\.\w+|table)\.(update|delete)\(", text), path.name
        assert not re.search(r"text\([^)]*\b(UPDATE|DELETE|TRUNCATE)\b", text), path.name
    statements = []
    sa.event.listen(ledger.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    ledger.settle_member(QUZHOU, facts(tmp_path, "m.json", TWO_ADMISSIONS))  # settle, re-settle, read back
    corrected = {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", "40000.00")]}
    ledger.settle_member(QUZHOU, facts(tmp_path, "c.json", corrected))
    ledger.member_history(MEMBER["id"]), ledger.totals()
    written = [s.split()[0].upper() for s in statements if not s.lstrip().upper().startswith(("SELECT", "BEGIN", "WITH"))]
    assert written and set(written) == {"INSERT"}, set(written)


def test_the_tables_are_what_the_migrations_build(ledger):
    inspector = sa.inspect(ledger.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for c in columns.values():  # money is never a float
            assert not isinstance(c["type"], (sa.Float, sa.REAL)), (table.name, c["name"])


def test_errors_are_located_in_the_users_file(ledger, tmp_path):
    bad = {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", "fifty")]}
    path = facts(tmp_path, "bad.json", bad)
    with pytest.raises(MedrulesError) as info:
        ledger.settle_member(QUZHOU, path)
    d = info.value.diagnostics[0]
    assert d.span.file == str(path) and d.span.line == 12
    assert row_counts(ledger)["decisions"] == 0
    ledger.settle_member(QUZHOU, facts(tmp_path, "good.json", TWO_ADMISSIONS))
    counts = row_counts(ledger)
    with pytest.raises(MedrulesError) as info:  # a bad correction too is reported in its own file
        ledger.settle_member(QUZHOU, path)
    assert info.value.diagnostics[0].span.file == str(path) and row_counts(ledger) == counts
    with pytest.raises(MedrulesError, match="member's id"):
        ledger.settle_member(QUZHOU, facts(tmp_path, "nomember.json", {"claims": []}))


def test_a_request_settled_once_is_not_applied_again(ledger, tmp_path):
    first = facts(tmp_path, "a.json", TWO_ADMISSIONS)
    corrected = facts(tmp_path, "b.json", {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", "40000.00")]})
    ledger.record_batch(QUZHOU, [first, corrected])
    counts = row_counts(ledger)
    # the same batch again (a resumed run): the first file must not undo the correction that followed it
    ledger.record_batch(QUZHOU, [first, corrected])
    assert row_counts(ledger) == counts
    assert ledger.current(MEMBER["id"])[0].paid("inpatient_pool") == D("33096.00")  # 39,400 × 84%
    # without 'once', sending the first file again is a correction back to 50,000: 41,496.00 again, +8,400 补付
    [c1, _] = ledger.settle_member(QUZHOU, first)
    assert c1.sequence == 3 and c1.paid("inpatient_pool") == D("41496.00")
    assert [(a.amount, a.label("zh")) for a in c1.adjustments] == [(D("8400.00"), "补付")]


def test_an_older_ledger_is_upgraded_when_opened(ledger_url):
    from alembic import command
    from medrules.ledger.store import _alembic_config, _engine, _url
    engine = _engine(_url(ledger_url))
    with engine.begin() as conn:  # a ledger made by the first release: no 'requests' table yet
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert not sa.inspect(engine).has_table("requests")
    engine.dispose()
    with Ledger.open(ledger_url) as led:
        assert sa.inspect(led.engine).has_table("requests")
        with led.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0004"


def test_policy_years_record_the_version_in_force_with_its_amended_base(ledger, tmp_path):
    doc = {"member": {"id": "PY-T-1", "birth_date": "1971-10-02"},
           "claims": [{"id": "A", "date": "2018-06-01", "kind": "outpatient", "institution": "township",
                       "compliant_cost": "186.50"},
                      {"id": "B", "date": "2019-01-08", "kind": "outpatient", "institution": "township",
                       "compliant_cost": "186.50"}]}
    a, b = ledger.settle_member(ROOT / "rulebooks" / "pingyang", facts(tmp_path, "p.json", doc))
    assert (a.rulebook_id, b.rulebook_id) == ("pingyang/residents-earlier", "pingyang/residents-2019")
    assert a.rulebook_hash != b.rulebook_hash
    assert (str(b.effective_from), str(b.effective_to)) == ("2019-01-01", "2019-12-31")
    with ledger.engine.connect() as conn:
        files = json.loads(conn.execute(sa.text("SELECT files FROM rulebook_versions WHERE hash = :h"),
                                        {"h": b.rulebook_hash}).scalar())
    # 2019 is written as an amendment of the earlier year: both texts make the version
    assert [Path(f).name for f in files] == ["residents-2019.mr", "residents-earlier.mr"]
    assert ledger.explanation(b.id, "en")["claims"][0]["steps"][0]["kind"] == "version"


def test_concurrent_settlements_of_one_member_are_serialised(ledger, tmp_path):
    """Clerks (threads of a service) settling the same member at once: every request is recorded once, in
    some order, with sequences 1, 2, 3 … and no decision numbered twice."""
    import threading
    files = [facts(tmp_path, f"f{i}.json", {"member": MEMBER, "claims": [inpatient("C1", "2012-01-15", f"{cost}.00")]})
             for i, cost in enumerate((50000, 40000, 45000, 41000))]
    errors = []

    def settle(path):
        try:
            ledger.settle_member(QUZHOU, path, once=True)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=settle, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    history = ledger.claim_history("C1", MEMBER["id"])
    assert [d.sequence for d in history] == [1, 2, 3, 4]
    assert [d.supersedes for d in history] == [None] + [d.id for d in history[:-1]]
    # whatever the order, the adjustments add up to the last decision's payment: (cost − 600) × 84%
    last = history[-1]
    paid = sum((a.amount for a in ledger.adjustments(MEMBER["id"])), history[0].paid("inpatient_pool"))
    assert paid == last.paid("inpatient_pool") == (D(last.claim_facts["compliant_cost"]) - 600) * D("0.84")
