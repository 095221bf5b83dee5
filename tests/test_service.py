"""The service's JSON API: settle into the ledger, stored decisions, explanations, what-if, errors.

Amounts are worked out by hand from 衢政发〔2011〕102号 as the Quzhou rulebook reads it: inpatient
deductible 600 per admission (assumed), bands on the year's cumulative cost (deductible included)
84% up to 60,000 and 87% above, and 160,000 a point on the year's cumulative inpatient COST (the rulebook's
reading cap_axis = cost): the 87% band ends there and the critical-illness layer pays 90% of the cost above it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from medrules.service.app import create_app  # noqa: E402

# argon2id with its cheapest parameters, so the tests do not spend seconds hashing (the service uses
# argon2-cffi's recommended ones)
CHEAP = __import__("argon2").PasswordHasher.from_parameters(__import__("argon2").profiles.CHEAPEST)

ROOT = Path(__file__).resolve().parent.parent
QUZHOU = "quzhou/employee-2012"
FACTS = json.loads((ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json").read_text("utf-8"))
PASSWORD = "correct horse battery"


def facts_text(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


def with_member(member: str, **costs) -> dict:
    doc = json.loads(json.dumps(FACTS))
    doc["member"]["id"] = member
    for claim in doc["claims"]:
        if claim["id"] in costs:
            claim["compliant_cost"] = costs[claim["id"]]
    return doc


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(instance, ROOT / "rulebooks", hasher=CHEAP)
    app.state.service.accounts.add_clerk("ana", PASSWORD)
    return app


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def auth(client):
    r = client.post("/api/token", json={"name": "ana", "password": PASSWORD})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['token']}"}


def settle(client, auth, doc, rulebook=QUZHOU):
    return client.post(f"/api/rulebooks/{rulebook}/settle", content=facts_text(doc),
                       headers=auth | {"content-type": "application/json"})


def by_claim(decisions):
    return {d["claim"]: d for d in decisions}


def test_settle_records_one_decision_per_claim_with_hand_computed_amounts(client, auth):
    r = settle(client, auth, with_member("API-1"))
    assert r.status_code == 201
    got = by_claim(r.json()["decisions"])
    assert len(r.json()["recorded"]) == 4
    # C1: 50,000 − 600 deductible = 49,400, all under 60,000: × 84% = 41,496.00; member 50,000 − 41,496 = 8,504.00
    assert got["C1"]["funds"]["inpatient_pool"] == "41496.00"
    assert got["C1"]["member_pays"] == "8504.00"
    # C2: the year's cost 50,000 → 230,000, after the 600 deductible 50,600 → 230,000, limited at 160,000:
    # (60,000 − 50,600) × 84% = 7,896.00 + (160,000 − 60,000) × 87% = 87,000.00 → 94,896.00
    assert got["C2"]["funds"]["inpatient_pool"] == "94896.00"
    # the cost above 160,000: (230,000 − 160,000) × 90% = 63,000.00 from the critical-illness layer
    assert got["C2"]["funds"]["critical_illness"] == "63000.00"
    # C3: the year's cost 230,000 → 266,500 is wholly above 160,000; (36,500 − 600) × 90% = 32,310.00 from the
    # critical-illness layer
    assert got["C3"]["funds"] == {"outpatient_pool": "0.00", "inpatient_pool": "0.00", "critical_illness": "32310.00"}
    assert got["C1"]["rulebook_id"] == QUZHOU and len(got["C1"]["rulebook_digest"]) == 64


def test_settling_the_same_facts_again_records_nothing(client, auth, app):
    first = settle(client, auth, with_member("API-2")).json()
    before = app.state.service.ledger.counts()
    again = settle(client, auth, with_member("API-2"))
    assert again.status_code == 200
    assert again.json()["recorded"] == []
    assert [d["id"] for d in again.json()["decisions"]] == [d["id"] for d in first["decisions"]]
    assert app.state.service.ledger.counts() == before


def test_changed_facts_record_resettlements_with_amounts_to_pay_or_recover(client, auth):
    first = by_claim(settle(client, auth, with_member("API-3")).json()["decisions"])
    r = settle(client, auth, with_member("API-3", C1="40000.00"))
    assert r.status_code == 201
    now = by_claim(r.json()["decisions"])
    # C1 corrected to 40,000: (40,000 − 600) × 84% = 33,096.00, so 41,496 − 33,096 = 8,400.00 to recover
    assert now["C1"]["supersedes"] == first["C1"]["id"] and now["C1"]["seq"] == 2
    assert now["C1"]["adjustments"]["inpatient_pool"] == "-8400.00"
    # C2 moves with the accumulators: the year's cost 40,000 → 220,000, after the deductible 40,600 → 160,000:
    # (60,000 − 40,600) × 84% = 16,296.00 + 87,000.00 = 103,296.00, so 103,296 − 94,896 = 8,400.00 to pay;
    # above 160,000: (220,000 − 160,000) × 90% = 54,000.00 instead of 63,000.00, i.e. 9,000.00 to recover
    assert now["C2"]["supersedes"] == first["C2"]["id"]
    assert now["C2"]["adjustments"]["inpatient_pool"] == "8400.00"
    assert now["C2"]["adjustments"]["critical_illness"] == "-9000.00"
    # C3 and C4 pay the same (their cost is above 160,000 either way), but the year's cost counted after
    # them moves (C3: 50,000 + 180,000 + 36,500 = 266,500 → 256,500), so the ledger records them again with
    # nothing to pay or recover
    assert len(r.json()["recorded"]) == 4
    assert now["C3"]["seq"] == 2 and now["C3"]["adjustments"] == {} and now["C3"]["funds"] == first["C3"]["funds"]


def test_a_members_history_keeps_every_decision(client, auth):
    settle(client, auth, with_member("API-4"))
    settle(client, auth, with_member("API-4", C1="40000.00"))
    r = client.get("/api/members/API-4/decisions", headers=auth)
    history = r.json()["decisions"]
    assert [d["claim"] for d in history] == ["C1", "C1", "C2", "C2", "C3", "C3", "C4", "C4"]
    for first, again in zip(history[::2], history[1::2]):
        assert again["supersedes"] == first["id"] and (first["seq"], again["seq"]) == (1, 2)
    # a later file with only the corrected claim is merged into what the ledger holds: nothing changes again
    one = with_member("API-4", C1="40000.00")
    one["claims"] = one["claims"][:1]
    r = settle(client, auth, one)
    assert r.status_code == 200 and r.json()["recorded"] == [] and len(r.json()["decisions"]) == 4


def test_stored_explanation_in_each_view_language_and_format(client, auth):
    d = by_claim(settle(client, auth, with_member("API-5")).json()["decisions"])["C2"]
    url = f"/api/decisions/{d['id']}/explanation"
    doc = client.get(url, params={"lang": "en"}, headers=auth).json()
    assert doc["schema"] == "medrules.explanation/1" and doc["lang"] == "en"
    assert [c["id"] for c in doc["claims"]] == ["C2"]
    # C2: 7,896.00 + 87,000.00 = 94,896.00 (see the first test)
    assert doc["totals"]["funds"]["inpatient_pool"] == "94896.00"
    zh = client.get(url, params={"lang": "zh"}, headers=auth).json()
    assert zh["lang"] == "zh" and any("94,896.00" in s for s in zh["claims"][0]["citizen"])
    md = client.get(url, params={"format": "markdown", "lang": "en"}, headers=auth)
    assert md.headers["content-type"].startswith("text/markdown")
    assert "160,000.00" in md.text and "rulebooks/quzhou/employee-2012.mr:" in md.text
    page = client.get(url, params={"format": "html", "view": "citizen", "lang": "en"}, headers=auth)
    assert page.headers["content-type"].startswith("text/html")
    # the limit C2 reached: the year's cost 230,000 passes the 160,000 cost limit (cap_axis = cost)
    assert "yearly cost limit of 160,000.00 yuan" in page.text
    assert client.get(url, params={"view": "everyone"}, headers=auth).status_code == 422


def test_what_if_on_a_stored_decision_records_nothing(client, auth, app):
    d = by_claim(settle(client, auth, with_member("API-6")).json()["decisions"])["C1"]
    before = app.state.service.ledger.counts()
    r = client.post(f"/api/decisions/{d['id']}/what-if", json={"changes": ["claim.compliant_cost=40000"],
                                                               "lang": "en"}, headers=auth)
    assert r.status_code == 200, r.text
    funds = {f["fund"]: f for f in r.json()["claims"][0]["funds"]}
    # (40,000 − 600) × 84% = 33,096.00 instead of 41,496.00
    assert funds["inpatient_pool"]["after"] == "33096.00" and funds["inpatient_pool"]["change"] == "-8400.00"
    assert app.state.service.ledger.counts() == before
    bad = client.post(f"/api/decisions/{d['id']}/what-if", json={"changes": ["claim.colour=red"]}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "what-if"


def test_rulebooks_and_catalogue(client):
    r = client.get("/api/rulebooks").json()["rulebooks"]
    keys = {x["key"] for x in r}
    assert QUZHOU in keys and "pingyang/residents-2019" in keys
    one = client.get(f"/api/rulebooks/{QUZHOU}").json()
    assert one["effective_from"] == "2012-01-01" and {"inpatient_pool", "critical_illness"} <= {
        f["name"] for f in one["funds"]}
    md = client.get(f"/api/rulebooks/{QUZHOU}/catalog")
    assert md.status_code == 200 and "衢政发〔2011〕102号" in md.text
    assert client.get("/api/rulebooks/nowhere/catalog").status_code == 404


def test_openapi_is_published(client):
    spec = client.get("/openapi.json").json()
    assert "/api/rulebooks/{key}/settle" in spec["paths"]
    assert client.get("/docs").status_code == 200


# ------------------------------------------------------------------------------------ errors
def errors_of(r):
    body = r.json()
    assert "Traceback" not in r.text
    assert set(body) == {"errors"} and body["errors"]
    for e in body["errors"]:
        assert {"code", "message", "file", "line", "col", "hint"} <= set(e)
    return body["errors"]


def test_bad_json_is_located(client, auth):
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=b'{\n  "member": {"id": "X"},\n  "claims": [,]\n}',
                    headers=auth)
    assert r.status_code == 400
    e = errors_of(r)[0]
    assert (e["code"], e["file"], e["line"], e["col"]) == ("facts-syntax", "request body", 3, 14)
    assert "^" in e["excerpt"]


def test_a_wrong_type_in_the_facts_is_located(client, auth):
    doc = with_member("API-E")
    doc["claims"][1]["compliant_cost"] = "a lot"
    r = settle(client, auth, doc)
    assert r.status_code == 422
    e = errors_of(r)[0]
    # the indented dump puts claim 2's compliant_cost on line 20 (member block 4 lines, one claim 8)
    line = facts_text(doc).decode().splitlines().index('      "compliant_cost": "a lot",') + 1
    assert (e["code"], e["line"]) == ("facts", line)


@pytest.mark.parametrize("body", [b"\xff\xfe\x00", b"", b"[]", b"null", b'"text"', b"{}", b'{"member": 3}',
                                  b'{"member": {"id": "A"}, "claims": 5}', b"1e999999", b"[" * 5000])
def test_malformed_facts_never_give_a_500(client, auth, body):
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=body, headers=auth)
    assert 400 <= r.status_code < 500, r.text
    errors_of(r)


def test_huge_bodies_are_refused(client, auth, app):
    limit = app.state.service.settings.body_limit
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=b" " * (limit + 1), headers=auth)
    assert r.status_code == 413
    assert errors_of(r)[0]["code"] == "too-large"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=chunks(), headers=auth)
    assert r.status_code == 413


def test_requests_of_the_wrong_shape(client, auth):
    r = client.post("/api/decisions/1/what-if", json={"changes": "claim.referred=true"}, headers=auth)
    assert r.status_code == 422 and errors_of(r)[0]["code"] == "request"
    r = client.post("/api/decisions/1/what-if", content=b"{not json", headers=auth | {"content-type": "application/json"})
    assert r.status_code == 422 and errors_of(r)
    assert client.get("/api/decisions/abc", headers=auth).status_code == 422
    assert client.get("/api/decisions/999999", headers=auth).status_code == 404
    assert client.post("/api/token", json={"name": 3}).status_code == 422
    assert client.get("/api/nothing-here").status_code == 404
    assert errors_of(client.delete("/api/rulebooks"))[0]["code"] == "request"


def test_the_api_needs_a_clerks_token(client, auth):
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=facts_text(FACTS))
    assert r.status_code == 401 and errors_of(r)[0]["code"] == "auth"
    assert client.get("/api/decisions/1", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.get("/api/decisions/1", headers={"Authorization": "Basic YW5hOng="}).status_code == 401
    assert client.post("/api/token", json={"name": "ana", "password": "wrong"}).status_code == 401


# ------------------------------------------------------------------------------------ invariants
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["50000.00", "2012-05-10",
                                                                                       "inpatient", "-1", "1e9"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["member", "claims", "opening", "id", "date", "kind", "compliant_cost", "category",
                         "self_paid", "institution", "x"]), inner, max_size=5),
    max_leaves=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode())))
def test_no_body_gives_a_500_or_a_traceback(client, auth, body):
    """Whatever the body, the answer is a decision (2xx) or located errors (4xx), never a 500."""
    r = client.post(f"/api/rulebooks/{QUZHOU}/settle", content=body, headers=auth)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        errors_of(r)


def test_the_service_on_each_ledger_database(ledger_url, tmp_path):
    """The same service on a SQLite file and on PostgreSQL (CI starts one; see .ci/postgres)."""
    app = create_app(tmp_path / "instance", ROOT / "rulebooks", ledger=ledger_url, hasher=CHEAP)
    app.state.service.accounts.add_clerk("ana", PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as c:
        token = c.post("/api/token", json={"name": "ana", "password": PASSWORD}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        first = settle(c, h, with_member("DB-1"))
        assert first.status_code == 201
        assert settle(c, h, with_member("DB-1")).json()["recorded"] == []
        c2 = by_claim(first.json()["decisions"])["C2"]
        # (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% = 94,896.00 (see the first test)
        assert c.get(f"/api/decisions/{c2['id']}/explanation", headers=h).json()["totals"]["funds"][
            "inpatient_pool"] == "94896.00"
    app.state.service.ledger.ledger.close()


def test_a_folder_of_policy_years_settles_each_claim_under_its_year(client, auth):
    """Pingyang: A (2018-11-20, county hospital, 10,600) under the earlier values, (10,600 − 600) × 80% =
    8,000.00; B (2019-02-14, 10,900) under 2019's, (10,900 − 900) × 70% = 7,000.00."""
    keys = {r["key"]: r for r in client.get("/api/rulebooks").json()["rulebooks"]}
    assert keys["pingyang"]["years"] == ["pingyang/residents-earlier", "pingyang/residents-2019"]
    assert "quzhou" not in keys  # its two rulebooks are in force together: not a folder of years
    doc = json.loads((ROOT / "tests" / "corpus" / "pingyang" / "two-years.json").read_text("utf-8"))
    r = settle(client, auth, doc, rulebook="pingyang")
    assert r.status_code == 201, r.text
    got = by_claim(r.json()["decisions"])
    assert (got["A"]["rulebook_id"], got["A"]["funds"]["inpatient_pool"]) == ("pingyang/residents-earlier", "8000.00")
    assert (got["B"]["rulebook_id"], got["B"]["funds"]["inpatient_pool"]) == ("pingyang/residents-2019", "7000.00")
    # a what-if on the 2018 decision is settled under the 2018 version, on that year's claims:
    # (12,600 − 600) × 80% = 9,600.00
    w = client.post(f"/api/decisions/{got['A']['id']}/what-if", json={"changes": ["claim.compliant_cost=12600"]},
                    headers=auth)
    assert w.status_code == 200, w.text
    fund = next(f for f in w.json()["claims"][0]["funds"] if f["fund"] == "inpatient_pool")
    assert (fund["before"], fund["after"]) == ("8000.00", "9600.00")


def test_the_api_docs_are_served_from_this_machine(client):
    """/docs works with no network: the page's scripts and styles are this server's own files (no CDN), none
    inline, so the strict Content-Security-Policy that every page gets allows them."""
    page = client.get("/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    assert "<script>" not in page.text  # every script is a file
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["info"]["title"] == "medrules service"


# ---------------------------------------------------------------- a membership rulebook (each claim under its scheme)
# Amounts worked by hand: Quzhou employee scheme 600 deductible then 84% (working member); resident scheme
# (ILLUSTRATIVE, assumed) 60% inpatient.
MEMBERSHIP_FACTS = {"member": {"id": "SM-1", "category": "working"},
                    "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-04-01"}],
                    "claims": [{"id": "C1", "date": "2020-03-12", "kind": "inpatient", "compliant_cost": "10600.00"},
                               {"id": "C2", "date": "2020-05-10", "kind": "inpatient", "compliant_cost": "10000.00"}]}


def test_settle_and_what_if_on_a_membership_rulebook(client, auth):
    r = client.post("/api/rulebooks/quzhou/membership-2020/settle", content=json.dumps(MEMBERSHIP_FACTS).encode(),
                    headers=auth | {"content-type": "application/json"})
    assert r.status_code == 201, r.text
    c1, c2 = r.json()["decisions"]
    # C1: employee scheme, (10,600 − 600) × 84% = 8,400.00; C2: resident scheme from May, 10,000 × 60% = 6,000.00
    assert (c1["rulebook_id"], c1["funds_paid"]) == ("quzhou/employee-2012", "8400.00")
    assert (c2["rulebook_id"], c2["funds_paid"]) == ("quzhou/residents-2020", "6000.00")
    assert c1["rulebook"] == c2["rulebook"] == "quzhou/membership-2020"  # the rulebook the clerk settled with
    assert (c1["membership"]["scheme"], c2["membership"]["scheme"]) == ("employee", "stopped")
    assert c2["membership"]["citation"]["article"] == "二"
    # what if the resident rate were 70%: 10,000 × 70% = 7,000.00 (nothing is recorded)
    r = client.post(f"/api/decisions/{c2['id']}/what-if", json={"changes": ["residents-2020.inpatient_rate=70%"],
                                                                "lang": "en"}, headers=auth)
    assert r.status_code == 200, r.text
    claim = r.json()["claims"][0]
    assert claim["id"] == "C2" and claim["funds"] == [{"fund": "residents-2020.resident_pool", "before": "6000.00",
                                                       "after": "7000.00", "change": "1000.00"}]
    # the facts that matter most for C2 (medrules.membership_sensitivity): a third party paid, −6,000.00; the
    # employee period reaching May, (10,000 − 600) × 84% = 7,896.00, +1,896.00 (C2 moves scheme); as an
    # outpatient claim, 10,000 × 50% = 5,000.00, −1,000.00
    assert [(m["fact"], m["change"], m.get("moves")) for m in r.json()["most_sensitive"]] == [
        ("claim.third_party", "-6000.00", None),
        ("period[1].last_month", "1896.00", [{"claim": "C2", "before": "residents-2020", "after": "employee-2012"}]),
        ("claim.kind", "-1000.00", None)]
    bad = client.post(f"/api/decisions/{c2['id']}/what-if", json={"changes": ["residents-2020.nope=1%"]},
                      headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "what-if"
    # the clerk's page of the decision
    page = client.get(f"/api/decisions/{c2['id']}", headers=auth)
    assert page.status_code == 200 and page.json()["membership"]["settled_by"] == "quzhou/residents-2020"
