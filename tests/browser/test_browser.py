"""The service in a real browser: Debian's chromium driven by Playwright (nothing is downloaded).

A server is started on a free localhost port; a clerk signs in, settles a member's claims, opens
the auditor's explanation, tries a what-if and issues an access code; the citizen signs in with it
and opens a letter, in Chinese and English. Screenshots go to a temporary folder (printed), or to
$MEDRULES_SCREENSHOTS. Without chromium or Playwright the tests skip with the reason, except under
CI, where they fail (.ci/run installs chromium).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "browser-test-password"
FACTS = json.loads((ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json").read_text("utf-8"))


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}: .ci/run installs chromium (apt-get install -y chromium)")
    pytest.skip(f"browser tests: {reason} (apt-get install -y chromium; pip install playwright)")


@pytest.fixture(scope="module")
def playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    env = os.environ | {"MEDRULES_CLERK_PASSWORD": PASSWORD}
    cmd = [sys.executable, "-m", "medrules", "serve", "--instance", str(instance), "--rulebooks", str(ROOT / "rulebooks")]
    from argon2 import PasswordHasher, profiles
    from medrules.service.access import Accounts
    # the clerk is added in-process with argon2id's cheapest parameters (verifying reads them from the hash):
    # 'serve --create-clerk' itself is tested in tests/test_service_pages.py
    Accounts(instance / "service.sqlite", PasswordHasher.from_parameters(profiles.CHEAPEST)).add_clerk("ana", PASSWORD)
    port = _free_port()
    log = open(instance / "server.log", "w")
    proc = subprocess.Popen(cmd + ["--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/api/rulebooks", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the server stopped: {(instance / 'server.log').read_text()}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("MEDRULES_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def settled(browser, server, shots):
    """A clerk signs in, settles a member, and issues the member an access code; returns the code."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server + "/?lang=en")
    page.get_by_role("link", name="Clerks").click()
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/clerk")
    doc = json.loads(json.dumps(FACTS))
    doc["member"]["id"] = "BR-1"
    doc["claims"][3]["id"] = "<script>alert(1)</script>"
    page.get_by_label("Rulebook").select_option("quzhou/employee-2012")
    page.get_by_label("Facts (JSON)").fill(json.dumps(doc, ensure_ascii=False, indent=2))
    page.screenshot(path=shots / "01-clerk-settle.png", full_page=True)
    page.get_by_role("button", name="Settle").click()
    page.wait_for_url("**/clerk/member?id=BR-1")
    assert page.locator("table.decisions tbody tr").count() == 4
    assert page.get_by_text("<script>alert(1)</script>", exact=True).count() == 1  # shown as text
    page.screenshot(path=shots / "02-clerk-member.png", full_page=True)
    page.get_by_role("button", name="Issue an access code").click()
    code = page.get_by_test_id("access-code").inner_text().strip()
    page.screenshot(path=shots / "03-access-code.png")
    assert not dialogs
    yield page, code
    page.close()


def test_clerk_opens_the_auditor_explanation_and_tries_a_what_if(settled, server, shots):
    page, _ = settled
    page.goto(server + "/clerk/member?id=BR-1")
    page.locator("table.decisions tbody tr").nth(1).get_by_role("link", name="Auditor's explanation").click()
    # C2 takes the year's cost 50,000 → 230,000 past the 160,000 cost limit (the rulebook's cap_axis = cost)
    assert page.get_by_text("Cost cap: the fund pays on cost counted in the benefit year up to 160,000.00 yuan",
                            exact=False).count() == 1
    page.screenshot(path=shots / "04-auditor-explanation.png", full_page=True)
    page.get_by_label("Changed facts").fill("member.category=retired")
    page.get_by_role("button", name="Try").click()
    # retired: +5 points on the inpatient bands, 9,400 × 89% + 100,000 × 92% = 8,366 + 92,000 = 100,366.00
    # instead of 94,896.00 (+5,470.00); the layer above 160,000 pays 63,000.00 either way, so the table shows the
    # one fund that moves and the member: 180,000 − 100,366 − 63,000 = 16,634.00
    rows = page.locator(".what-if table tbody tr")
    assert rows.count() == 2
    moved = rows.nth(0).inner_text()
    assert "94,896.00" in moved and "100,366.00" in moved and "5,470.00" in moved
    assert "22,104.00" in rows.nth(1).inner_text() and "16,634.00" in rows.nth(1).inner_text()
    page.screenshot(path=shots / "05-what-if.png", full_page=True)


def test_citizen_signs_in_and_prints_a_letter(browser, settled, server, shots):
    _, code = settled
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text))
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server + "/citizen/sign-in?lang=zh")
    page.get_by_label("参保人编号").fill("BR-1")
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/citizen")
    letters = page.locator("table.letters tbody a")
    assert letters.count() == 4
    page.screenshot(path=shots / "06-citizen-home.png", full_page=True)
    letters.nth(1).click()
    # the C2 letter (cap_axis = cost): funds (60,000 − 50,600) × 84% + (160,000 − 60,000) × 87% = 94,896.00 and
    # (230,000 − 160,000) × 90% = 63,000.00, the member 180,000 − 157,896 = 22,104.00, and the cost limit reached
    summary = page.locator("table.summary").inner_text()
    assert "94,896.00" in summary and "63,000.00" in summary and "22,104.00" in summary
    assert "住院统筹基金年度费用封顶线 160,000.00 元" in page.locator(".limits").inner_text()
    page.screenshot(path=shots / "07-letter-zh.png", full_page=True)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Medical insurance settlement letter").count() == 1
    page.screenshot(path=shots / "08-letter-en.png", full_page=True)
    page.evaluate("window.print = () => { window.__printed = true; }")  # the dialog itself cannot be driven
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") is True
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()  # the print layout drops the navigation
    page.screenshot(path=shots / "09-letter-print.png", full_page=True)
    page.pdf(path=str(shots / "letter.pdf"))
    # the last letter's claim id is the script: shown as text, never run
    page.emulate_media(media="screen")
    page.goto(server + "/citizen")
    letters.nth(3).click()
    assert page.get_by_text("<script>alert(1)</script>").count() >= 1
    assert not dialogs
    assert not [m for m in console if "Content Security Policy" in m]  # the pages need nothing the CSP refuses
    # another member's decision, by id guessing: refused
    for i in range(1, 12):
        r = page.request.get(f"{server}/citizen/decisions/{i}")
        assert r.status in (200, 404)
    assert page.request.get(f"{server}/citizen/decisions/999").status == 404
    context.close()
