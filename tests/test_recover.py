"""Parsing past syntax errors for the language server: one diagnostic per broken statement, the rest a tree."""
from __future__ import annotations

from conftest import ROOT
from medrules.lsp.recover import parse_recovering
from medrules.source import SourceFile

TEXT = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if fragment in line)


def test_a_clean_rulebook_parses_whole():
    rb, diagnostics = parse_recovering(SourceFile("q.mr", TEXT))
    assert diagnostics == [] and [f.name for f in rb.funds] == ["outpatient_pool", "inpatient_pool", "critical_illness"]


def test_three_broken_statements_give_three_errors_and_the_rest_parses():
    bad = (TEXT.replace("parameter inpatient_deductible: money", "parameter inpatient_deductible money")
           .replace("  rate 90%\n", "  rate 90% %\n")
           .replace('enum category "人员类别" | "member category" {', 'enum category "人员类别" | "member category" ('))
    rb, diagnostics = parse_recovering(SourceFile("q.mr", bad))
    assert [(d.code, d.span.line) for d in diagnostics] == [
        ("syntax", _line(bad, "enum category")), ("syntax", _line(bad, "inpatient_deductible money")),
        ("syntax", _line(bad, "rate 90% %"))]
    assert [f.name for f in rb.funds] == ["outpatient_pool", "inpatient_pool"]  # critical_illness was broken
    assert [e.name for e in rb.enums] == ["visit_kind", "institution"] and rb.parameters == ()


def test_an_unclosed_brace_is_blamed_on_its_statement_not_on_everything_after():
    bad = TEXT.replace('  other_designated "其他定点医疗机构" | "other designated institution"\n}',
                       '  other_designated "其他定点医疗机构" | "other designated institution"\n')
    rb, diagnostics = parse_recovering(SourceFile("q.mr", bad))
    assert len(diagnostics) == 1
    assert [e.name for e in rb.enums] == ["category", "visit_kind"]  # 'institution' left out
    assert len(rb.funds) == 3 and [r.kind for r in rb.records] == ["member", "claim"]


def test_positions_after_a_removed_statement_do_not_move():
    bad = TEXT.replace("parameter inpatient_deductible: money", "parameter inpatient_deductible money")
    rb, _ = parse_recovering(SourceFile("q.mr", bad))
    fund = next(f for f in rb.funds if f.name == "critical_illness")
    assert fund.span.line == _line(TEXT, "fund critical_illness")


def test_text_with_no_statement_gives_one_error_and_an_empty_tree():
    rb, diagnostics = parse_recovering(SourceFile("q.mr", "}}} {{{ %%%"))
    assert [(d.code, d.span.line, d.span.col) for d in diagnostics] == [("syntax", 1, 1)]
    assert rb.funds == () and rb.header is None
