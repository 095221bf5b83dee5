"""The right citation after an amendment (tests/rulebooks/amended): 2024 says 起付标准500元; 2025 restates
the deductible as 600 yuan citing 测〔2025〕2号 “起付标准调整为600元”, and inherits the clause that reads it.

A claim of 10,000 on 2025-03-01: deductible 600.00, then 9,400 × 60% = 5,640.00 (by hand). The step that
shows 600.00 cites the 2025 words, never the 2024 quote; the checker warns that the inherited clause
still quotes 500元."""
from __future__ import annotations

from decimal import Decimal

import medrules
from conftest import ROOT
from medrules.explain import explain

FOLDER = ROOT / "tests" / "rulebooks" / "amended"
FACTS = {"member": {"id": "M"}, "claims": [{"id": "C1", "date": "2025-03-01", "cost": "10000"}]}


def test_an_amended_value_is_shown_with_its_own_citation():
    program = medrules.load(FOLDER / "y2025.mr")
    s = medrules.settle(program, medrules.load_facts(FACTS, program), trace=True)
    assert s.claims[0].funds_paid == Decimal("5640.00")
    for lang in ("zh", "en"):
        e = explain(program, s, lang)
        line = next(x for x in e.claims[0].lines if x.kind == "deductible")
        assert "600.00" in line.text
        assert line.citation.quote == "起付标准调整为600元" and line.document == "测〔2025〕2号"
        assert all("500元" not in (x.citation.quote or "") for x in e.claims[0].lines
                   if x.citation is not None and "600.00" in x.text)


def test_the_2024_rulebook_keeps_its_own_quote():
    program = medrules.load(FOLDER / "y2024.mr")
    facts = medrules.load_facts({"member": {"id": "M"},
                                 "claims": [{"id": "C1", "date": "2024-03-01", "cost": "10000"}]}, program)
    e = explain(program, medrules.settle(program, facts, trace=True), "en")
    line = next(x for x in e.claims[0].lines if x.kind == "deductible")
    assert "500.00" in line.text and line.citation.quote == "起付标准500元"
    assert program.checked.warnings == ()


def test_the_checker_warns_about_the_stale_quote():
    (w,) = medrules.load(FOLDER / "y2025.mr").checked.warnings
    assert w.code == "amended-quote" and w.severity == "warning"
    assert w.span.file.endswith("y2024.mr") and w.span.line == 16  # the clause's citation, in the 2024 file
    assert "600.00" in w.message and "起付标准500元" in w.message
    assert w.related[0][1].file.endswith("y2025.mr")


def test_no_shipped_rulebook_has_a_stale_quote():
    for path in sorted((ROOT / "rulebooks").glob("*/*.mr")):
        assert medrules.load(path).checked.warnings == (), path
