"""The clerk's and citizen's pages: sign-in, access, escaping, CSRF, rate limits, the letter."""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from medrules.service.access import RateLimit  # noqa: E402
from medrules.service.app import create_app  # noqa: E402

# argon2id with its cheapest parameters, so the tests do not spend seconds hashing (the service uses
# argon2-cffi's recommended ones)
CHEAP = __import__("argon2").PasswordHasher.from_parameters(__import__("argon2").profiles.CHEAPEST)

ROOT = Path(__file__).resolve().parent.parent
FACTS = json.loads((ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json").read_text("utf-8"))
PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"

SETTINGS = """
[office.default]
name = { zh = "示例市医疗保障局", en = "Example City Healthcare Security Bureau" }
phone = "0570-0000000"

[office."quzhou/employee-2012"]
name = { zh = "衢州市医疗保障局", en = "Quzhou Healthcare Security Bureau" }
address = { zh = "衢州市柯城区示例路1号", en = "1 Example Road, Kecheng, Quzhou" }
appeal = { zh = "如有异议,请于60日内申请复核。", en = "If you disagree, ask for a review within 60 days." }
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    (instance / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    app = create_app(instance, ROOT / "rulebooks", hasher=CHEAP)
    app.state.service.accounts.add_clerk("ana", PASSWORD)
    return app


def browser(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, follow_redirects=True)


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def clerk_session(app) -> TestClient:
    c = browser(app)
    token = csrf(c.get("/clerk/sign-in").text)
    r = c.post("/clerk/sign-in", data={"csrf": token, "name": "ana", "password": PASSWORD})
    assert r.status_code == 200 and r.url.path == "/clerk"
    return c


def settle_form(c: TestClient, doc: dict, rulebook="quzhou/employee-2012"):
    token = csrf(c.get("/clerk").text)
    return c.post("/clerk/settle", data={"csrf": token, "rulebook": rulebook,
                                         "facts": json.dumps(doc, ensure_ascii=False, indent=2)})


def member_doc(member: str, claim_prefix: str = "C") -> dict:
    doc = json.loads(json.dumps(FACTS))
    doc["member"]["id"] = member
    for claim in doc["claims"]:
        claim["id"] = claim_prefix + claim["id"][1:]
    return doc


def issue_code(c: TestClient, member: str) -> str:
    page = c.get("/clerk/member", params={"id": member}).text
    r = c.post("/clerk/member/access-code", data={"csrf": csrf(page), "member": member})
    return re.search(r'data-testid="access-code">([^<]+)<', r.text).group(1)


def citizen_session(app, member: str, code: str) -> TestClient:
    c = browser(app)
    r = c.post("/citizen/sign-in", data={"csrf": csrf(c.get("/citizen/sign-in").text), "member": member,
                                         "code": code})
    assert r.status_code == 200 and r.url.path == "/citizen", r.text
    return c


def decision_ids(app, member: str) -> list[int]:
    return [d.id for d in app.state.service.ledger.member_decisions(member)]


def test_a_clerk_settles_finds_the_member_and_opens_the_auditor_explanation(app):
    c = clerk_session(app)
    r = settle_form(c, member_doc("PG-1"))
    assert r.url.path == "/clerk/member" and r.url.params["id"] == "PG-1"
    assert "41,496.00" in r.text  # C1: (50,000 − 600) × 84%
    assert "PG-1" in c.get("/clerk", params={"q": "PG-"}).text
    c2 = decision_ids(app, "PG-1")[1]
    page = c.get(f"/clerk/decisions/{c2}", params={"lang": "en"}).text
    # C2 takes the year's cost 50,000 → 230,000 past the 160,000 cost limit (cap_axis = cost)
    assert "Cost cap: the fund pays on cost counted in the benefit year up to 160,000.00 yuan" in page
    assert "衢政发〔2011〕102号" in page
    assert "rulebooks/quzhou/employee-2012.mr:" in page


def test_a_clerk_tries_a_what_if_and_sees_resettlements(app):
    c = clerk_session(app)
    settle_form(c, member_doc("PG-2"))
    first = decision_ids(app, "PG-2")[0]
    page = c.get(f"/clerk/decisions/{first}", params={"lang": "en"}).text
    r = c.post(f"/clerk/decisions/{first}/what-if", data={"csrf": csrf(page), "changes": "claim.compliant_cost=40000"})
    assert r.status_code == 200 and "33,096.00" in r.text  # (40,000 − 600) × 84%
    doc = member_doc("PG-2")
    doc["claims"][0]["compliant_cost"] = "40000.00"
    r = settle_form(c, doc)
    # C1 recovers 41,496 − 33,096 = 8,400.00; C2 pays 8,400.00 more: its 84% part grows from
    # (60,000 − 50,600) = 9,400 to (60,000 − 40,600) = 19,400, 10,000 × 84% = 8,400.00
    assert r.text.count("to recover 8,400.00") == 1 and r.text.count("to pay 8,400.00") == 1
    assert "corrected" in r.text
    # the member's balance per fund: C1 recovers 8,400.00 and C2 pays 8,400.00 on the inpatient fund, whose
    # current decisions pay 33,096 + (16,296 + 87,000 = 103,296) = 136,392.00 after the correction
    row = r.text[r.text.index('class="balance"'):r.text.index("</table>")]
    inpatient = row[row.index("inpatient pooling fund"):]
    assert inpatient.split("</tr>")[0].count("8,400.00") == 2 and "136,392.00" in inpatient.split("</tr>")[0]
    redo = app.state.service.ledger.member_decisions("PG-2")
    c1_again = next(d for d in redo if d.claim == "C1" and d.seq == 2)
    page = c.get(f"/clerk/decisions/{c1_again.id}", params={"lang": "en"}).text
    # the cause the ledger recorded: the corrected cost, and the provisions whose result moved
    assert "claim.compliant_cost: 50000.00 → 40000.00" in page and "to recover 8,400.00 yuan" in page
    bad = c.post(f"/clerk/decisions/{first}/what-if", data={"csrf": csrf(page), "changes": "claim.colour=red"})
    assert bad.status_code == 422 and "not a declared claim fact" in bad.text


def test_settle_form_shows_located_errors(app):
    c = clerk_session(app)
    token = csrf(c.get("/clerk").text)
    r = c.post("/clerk/settle", data={"csrf": token, "rulebook": "quzhou/employee-2012", "facts": '{"member": {'})
    assert r.status_code == 400 and "facts:1:" in r.text and "facts-syntax" in r.text


def test_a_citizen_sees_only_their_own_letters(app):
    clerk = clerk_session(app)
    settle_form(clerk, member_doc("PG-A"))
    settle_form(clerk, member_doc("PG-B"))
    code = issue_code(clerk, "PG-A")
    citizen = citizen_session(app, "PG-A", code)
    mine, theirs = decision_ids(app, "PG-A"), decision_ids(app, "PG-B")
    home = citizen.get("/citizen").text
    assert all(f"/citizen/decisions/{i}" in home for i in mine)
    assert not any(f"/citizen/decisions/{i}\"" in home for i in theirs)
    assert citizen.get(f"/citizen/decisions/{mine[0]}").status_code == 200
    # asking for another member's decision, or guessing ids, is refused the same way as a missing one
    every = range(1, max(mine + theirs) + 20)
    for i in every:
        r = citizen.get(f"/citizen/decisions/{i}")
        assert (r.status_code == 200) == (i in mine), i
        if i not in mine:
            assert r.status_code == 404 and "PG-B" not in r.text
    # a citizen is not a clerk: no clerk page, no API
    assert citizen.get("/clerk").url.path == "/clerk/sign-in"
    assert citizen.get(f"/clerk/decisions/{theirs[0]}").url.path == "/clerk/sign-in"
    assert citizen.get(f"/api/decisions/{theirs[0]}").status_code == 401
    # a wrong code, or the code of one member for another, does not sign in
    stranger = browser(app)
    token = csrf(stranger.get("/citizen/sign-in").text)
    assert stranger.post("/citizen/sign-in", data={"csrf": token, "member": "PG-B", "code": code}).status_code == 401
    assert stranger.get(f"/citizen/decisions/{theirs[0]}").url.path == "/citizen/sign-in"


def test_a_new_code_revokes_the_old_one(app):
    clerk = clerk_session(app)
    settle_form(clerk, member_doc("PG-R"))
    old = issue_code(clerk, "PG-R")
    new = issue_code(clerk, "PG-R")
    c = browser(app)
    token = csrf(c.get("/citizen/sign-in").text)
    assert c.post("/citizen/sign-in", data={"csrf": token, "member": "PG-R", "code": old}).status_code == 401
    citizen_session(app, "PG-R", new.lower().replace("-", ""))  # read out over the phone: case and dashes free


def test_the_letter_has_summary_explanation_office_and_appeal(app):
    clerk = clerk_session(app)
    settle_form(clerk, member_doc("PG-L"))
    citizen = citizen_session(app, "PG-L", issue_code(clerk, "PG-L"))
    c2 = decision_ids(app, "PG-L")[1]
    zh = citizen.get(f"/citizen/decisions/{c2}", params={"lang": "zh"}).text
    assert "医保结算通知书" in zh and "衢州市医疗保障局" in zh and "衢州市柯城区示例路1号" in zh
    assert "如有异议,请于60日内申请复核。" in zh and "0570-0000000" in zh  # phone from [office.default]
    assert "住院统筹基金年度费用封顶线 160,000.00 元" in zh  # C2's year cost passed the 160,000 cost limit
    en = citizen.get(f"/citizen/decisions/{c2}", params={"lang": "en"}).text
    summary = en[en.index('class="summary"'):en.index("</table>")]
    # C2 (cap_axis = cost): total 180,000.00; inpatient (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% =
    # 7,896 + 87,000 = 94,896.00; critical illness (230,000 − 160,000) × 90% = 63,000.00;
    # member 180,000 − 157,896 = 22,104.00
    for amount in ("180,000.00", "94,896.00", "63,000.00", "22,104.00"):
        assert amount in summary
    assert "Quzhou Healthcare Security Bureau" in en and "within 60 days" in en
    assert "yearly cost limit of 160,000.00 yuan" in en
    c1 = decision_ids(app, "PG-L")[0]
    assert "No yearly limit was reached." in citizen.get(f"/citizen/decisions/{c1}").text


def test_facts_are_escaped_on_every_page(app):
    clerk = clerk_session(app)
    doc = member_doc("PG-X")
    doc["claims"][0]["id"] = XSS
    doc["member"]["id"] = "PG-X" + XSS
    r = settle_form(clerk, doc)
    assert r.status_code == 200
    member = doc["member"]["id"]
    pages = [r.text, clerk.get("/clerk", params={"q": "PG-X"}).text]
    ids = decision_ids(app, member)
    pages += [clerk.get(f"/clerk/decisions/{i}").text for i in ids]
    pages += [clerk.get(f"/clerk/decisions/{i}/letter").text for i in ids]
    citizen = citizen_session(app, member, issue_code(clerk, member))
    pages += [citizen.get("/citizen").text] + [citizen.get(f"/citizen/decisions/{i}").text for i in ids]
    for page in pages:
        assert XSS not in page
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in page for page in pages[2:])


def test_forms_without_the_csrf_token_are_refused(app):
    clerk = clerk_session(app)
    r = clerk.post("/clerk/settle", data={"rulebook": "quzhou/employee-2012", "facts": json.dumps(FACTS)})
    assert r.status_code == 403
    r = clerk.post("/clerk/settle", data={"csrf": "forged", "rulebook": "quzhou/employee-2012", "facts": "{}"})
    assert r.status_code == 403
    c = browser(app)
    assert c.post("/clerk/sign-in", data={"name": "ana", "password": PASSWORD}).status_code == 403


def test_sign_in_is_rate_limited(app, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(app.state.service, "sign_in_limit", RateLimit(attempts=5, window=300, clock=lambda: now[0]))
    c = browser(app)
    token = csrf(c.get("/clerk/sign-in").text)
    for _ in range(5):
        assert c.post("/clerk/sign-in", data={"csrf": token, "name": "ana", "password": "guess"}).status_code == 401
    # the sixth attempt is refused even with the right password, on the page and on the API
    r = c.post("/clerk/sign-in", data={"csrf": token, "name": "ana", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed sign-ins" in r.text
    r = c.post("/api/token", json={"name": "ana", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    now[0] += 301  # the window has passed
    assert c.post("/clerk/sign-in", data={"csrf": token, "name": "ana", "password": PASSWORD}).url.path == "/clerk"


def test_citizen_codes_are_rate_limited_too(app, monkeypatch):
    monkeypatch.setattr(app.state.service, "sign_in_limit", RateLimit(attempts=3, window=300))
    c = browser(app)
    token = csrf(c.get("/citizen/sign-in").text)
    codes = [c.post("/citizen/sign-in", data={"csrf": token, "member": "PG-A", "code": f"AAAA-BBBB-{i:04d}"})
             .status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_secret_key_is_generated_into_the_instance_and_kept_private(app, tmp_path):
    key = app.state.service.settings.instance / "secret_key"
    assert key.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert app.state.service.secret == key.read_text().strip() and len(app.state.service.secret) >= 40
    assert not list(ROOT.glob("**/secret_key"))  # nothing in the repository
    again = create_app(app.state.service.settings.instance, ROOT / "rulebooks")
    assert again.state.service.secret == app.state.service.secret  # sessions survive a restart


def test_a_bad_settings_file_is_reported_not_raised(tmp_path):
    from medrules.diagnostics import MedrulesError
    (tmp_path / "settings.toml").write_text("[office.default]\nname = \n", encoding="utf-8")
    with pytest.raises(MedrulesError) as e:
        create_app(tmp_path, ROOT / "rulebooks")
    assert e.value.diagnostics[0].code == "settings" and e.value.diagnostics[0].span.line == 2
    (tmp_path / "settings.toml").write_text("[office.default]\ncolour = 'red'\n", encoding="utf-8")
    with pytest.raises(MedrulesError) as e:
        create_app(tmp_path, ROOT / "rulebooks")
    assert "colour" in e.value.diagnostics[0].message


def test_pages_show_errors_as_pages(app):
    c = browser(app)
    r = c.get("/citizen/decisions/abc")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html") and "Traceback" not in r.text
    assert c.get("/no/such/page").status_code == 404


def test_serve_create_clerk_prompts_for_a_password(tmp_path):
    from typer.testing import CliRunner

    from medrules.cli import app as cli
    from medrules.service.access import Accounts
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--instance", str(tmp_path), "--create-clerk", "bea"],
                      input="a long password\na long password\n")
    assert r.exit_code == 0, r.output
    accounts = Accounts(tmp_path / "service.sqlite", CHEAP)
    assert accounts.check_clerk("bea", "a long password") and not accounts.check_clerk("bea", "a long passwore")
    r = runner.invoke(cli, ["serve", "--instance", str(tmp_path), "--create-clerk", "cy"], input="short\nshort\n")
    assert r.exit_code == 1 and "at least 8 characters" in r.output


def test_pages_forbid_inline_scripts_and_framing(app):
    c = browser(app)
    r = c.get("/citizen/sign-in")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split(
        "script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "set-cookie" in r.headers and "samesite=strict" in r.headers["set-cookie"].lower()
    assert "httponly" in r.headers["set-cookie"].lower()


def test_the_rate_limiter_forgets_and_stays_bounded():
    now = [0.0]
    limit = RateLimit(attempts=2, window=10, clock=lambda: now[0], max_keys=3)
    limit.failed("a")
    limit.failed("a")
    assert limit.blocked("a") == 10 and limit.blocked("b") == 0
    now[0] = 4
    assert limit.blocked("a") == 6  # 10 s after the first failure
    now[0] = 11
    assert limit.blocked("a") == 0 and "a" not in limit._failures  # nothing recent: forgotten
    for key in "wxyz":
        limit.failed(key)
    assert len(limit._failures) == 3 and "w" not in limit._failures  # bounded: the oldest key went first


def test_rulebook_texts_are_escaped_too(tmp_path):
    """A fund title with markup in a rulebook is shown as text on the clerk's page and in the letter."""
    folder = tmp_path / "rulebooks" / "x"
    folder.mkdir(parents=True)
    text = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text("utf-8")
    text = text.replace('fund inpatient_pool "住院统筹基金" | "inpatient pooling fund"',
                        f'fund inpatient_pool "住院<i>统筹</i>基金" | "inpatient {XSS} fund"')
    (folder / "employee.mr").write_text(text, encoding="utf-8")
    app = create_app(tmp_path / "instance", tmp_path / "rulebooks", hasher=CHEAP)
    app.state.service.accounts.add_clerk("ana", PASSWORD)
    clerk = clerk_session(app)
    r = settle_form(clerk, member_doc("RB-X"), rulebook="x/employee")
    assert r.status_code == 200, r.text
    c2 = decision_ids(app, "RB-X")[1]
    pages = [clerk.get(f"/clerk/decisions/{c2}", params={"lang": lang}).text for lang in ("zh", "en")]
    pages += [clerk.get(f"/clerk/decisions/{c2}/letter", params={"lang": lang}).text for lang in ("zh", "en")]
    pages.append(clerk.get("/clerk/member", params={"id": "RB-X"}).text)
    for page in pages:
        assert XSS not in page and "<i>统筹</i>" not in page
    assert all("&lt;i&gt;统筹&lt;/i&gt;" in p for p in pages[0::2][:2])  # zh decision and zh letter
    assert "inpatient &lt;script&gt;alert(1)&lt;/script&gt; fund" in pages[1]
