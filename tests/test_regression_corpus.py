"""The project's own policy-year regression suite, through the shipped pytest plugin (medrules.testing).

Every facts file under tests/corpus/<scheme>/ is settled under rulebooks/<scheme>/ — each claim under the
version in force on its date — and snapshotted as text: when a rulebook changes, the diff shows exactly
which claims moved. See docs/regression.md.
"""
from __future__ import annotations

import re
import shutil

import pytest

from conftest import ROOT
from medrules.testing import settle_corpus

CORPUS = sorted((ROOT / "tests" / "corpus").glob("*/*.json"))


@pytest.mark.parametrize("facts", CORPUS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus(facts, medrules_corpus, snapshot, monkeypatch):
    monkeypatch.chdir(ROOT)
    rulebooks = f"rulebooks/{facts.parent.name}"
    assert medrules_corpus(rulebooks, facts.relative_to(ROOT).as_posix()) == snapshot


def _claims(text: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"^claim (\S+) .*?(?=^claim |\Z)", text, re.M | re.S)}


def test_changing_one_number_moves_exactly_the_affected_claims(tmp_path, monkeypatch):
    """Raise the 2019 county-hospital deductible 900 → 1,000: only 2019 stays at county hospitals move
    (2019-inpatient-year C1 and C2, two-years B), each by 100 × 70% = 70.00 less from the fund."""
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "pingyang"
    shutil.copytree(ROOT / "rulebooks" / "pingyang", folder)
    amended = folder / "residents-2019.mr"
    amended.write_text(amended.read_text("utf-8").replace("county_deductible: money = 900 yuan",
                                                          "county_deductible: money = 1_000 yuan"), "utf-8")
    moved = {}
    for facts in sorted((ROOT / "tests" / "corpus" / "pingyang").glob("*.json")):
        before = _claims(settle_corpus(ROOT / "rulebooks" / "pingyang", facts, "en"))
        after = _claims(settle_corpus(folder, facts, "en"))
        moved |= {f"{facts.stem}/{cid}": (before[cid], after[cid]) for cid in before if before[cid] != after[cid]}
    assert set(moved) == {"2019-inpatient-year/C1", "2019-inpatient-year/C2", "two-years/B"}
    before, after = moved["2019-inpatient-year/C1"]
    assert "26,390.00" in before and "26,320.00" in after  # (38,600 − 1,000) × 70%
