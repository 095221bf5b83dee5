"""A membership rulebook's HTML pages (`medrules explain MEMBERSHIP FACTS --format html`, and its --what-if) in
Debian's chromium: facts text that looks like markup is shown as text and runs nothing. Skips as
test_browser.py does without chromium or Playwright (fails under CI)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medrules.cli import app
from browser.test_browser import ARGS, CHROMIUM, playwright  # noqa: F401 - the Debian chromium fixture

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "<script>alert(1)</script>"
FACTS = {"member": {"id": "M-" + HOSTILE, "category": "working"},
         "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-04-01"}],
         "claims": [{"id": "C1", "date": "2020-03-12", "kind": "inpatient", "compliant_cost": "10600.00"},
                    {"id": "C2" + HOSTILE, "date": "2020-05-10", "kind": "inpatient", "compliant_cost": "10000.00"}]}


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()


@pytest.mark.parametrize("extra, shown", [
    (["--view", "citizen"], "On 2020-05-10 you were insured in the resident medical insurance"),
    (["--view", "auditor"], "settled under 'quzhou/residents-2020'"),
    # C2 under the resident scheme: 10,000 × 60% = 6,000.00 → 10,000 × 70% = 7,000.00
    (["--what-if", "residents-2020.inpatient_rate=70%"], "6,000.00 → 7,000.00 (+1,000.00)"),
])
def test_membership_pages_show_markup_as_text(browser, tmp_path, monkeypatch, extra, shown):
    monkeypatch.chdir(ROOT)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(app, ["explain", "rulebooks/quzhou/membership-2020.mr", str(facts), "--format", "html",
                                 "--lang", "en", *extra])
    assert r.exit_code == 0, r.output
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_content(r.output)
    text = " ".join(page.inner_text("body").split())
    assert shown in text
    assert HOSTILE in text  # the claim id (or member id), as text
    assert page.locator("script").count() == 0 and not dialogs
    page.close()
