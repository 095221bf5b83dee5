"""Assessments snapshotted through the shipped pytest plugin (medrules.testing: ``medrules_assessment``).

tests/premiums_corpus/jiang-2021/: five members of Jiang 2021 (seed 003), their figures by hand:
  A  tier 2, low income, 65:          380 − 280 × 60% = 380 − 168 = 212
  C  tier 1, hardship (list 1):       280 − min(380, 280) = 0
  D  tier 2, registered poor + grade 3 disability: highest of 280 (list 2) and 168 (list 3) → 380 − 280 = 100
  E  new out-of-city student:         basic 280 × 4/12 = 93.33 → 93; supplementary 31.50 × 4/12 = 10.50 → 11; 104
  F  adult, supplementary:            280; 76.50 − 3.50 = 73.00; 353
"""
from __future__ import annotations

import re

import pytest

from conftest import ROOT

CORPUS = "tests/premiums_corpus/jiang-2021"
RULEBOOK = "rulebooks/jiang/contributions-2021.mr"
OWES = {"A": "212.00", "C": "0.00", "D": "100.00", "E": "104.00", "F": "353.00"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_jiang_2021_assessments(medrules_assessment, snapshot, monkeypatch, lang):
    monkeypatch.chdir(ROOT)
    text = medrules_assessment(RULEBOOK, CORPUS, lang)
    assert {m: t for m, t in re.findall(r"^member (\S+) .*?member owes in all\s+(\S+)$", text, re.M | re.S)} == OWES
    assert text == snapshot


def test_a_household_file(medrules_assessment, snapshot, monkeypatch):
    # county I: 120 + 120 + (120 − 30) = 330, the member offsetting the outpatient allowance listed first
    monkeypatch.chdir(ROOT)
    text = medrules_assessment("rulebooks/county-i/contributions.mr",
                               "examples/contributions/county-i-household-of-three.json", "en")
    assert text.endswith("household H-7 · 3 members · owes 90.00 + 120.00 + 120.00 = 330.00\n")
    assert text == snapshot
