"""Every diagnostic kind, one small bad rulebook each: tests/diagnostics/*.mr.

Each file opens with comment lines that say what the checker must report::

    # expect: CODE LINE:COL message-fragment     one line per expected diagnostic
    # hint: LINE:COL hint-fragment               the diagnostic there has this in its hint
    # related: LINE:COL LINE:COL                 the diagnostic at the first place points
                                                 ("related") at the second
    # xfail: reason                              a known problem in medrules itself

The expectations are worked out from the file, not copied from the program's
output. A file marked ``xfail`` keeps the *correct* expectation; the mark is
strict, so once medrules is fixed the test fails as XPASS and the mark must go.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medrules.check import check
from medrules.diagnostics import Diagnostic, MedrulesError
from medrules.parse import parse
from medrules.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "tests" / "diagnostics"
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"

_DIRECTIVE = re.compile(r"#\s*(expect|hint|related|xfail)\s*:\s*(.*?)\s*$")
_EXPECT = re.compile(r"(?P<code>[a-z][a-z-]*)\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<fragment>\S.*)")
_HINT = re.compile(r"(?P<line>\d+):(?P<col>\d+)\s+(?P<fragment>\S.*)")
_RELATED = re.compile(r"(\d+):(\d+)\s+(\d+):(\d+)")


@dataclass
class Expected:
    code: str
    line: int
    col: int
    fragment: str

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.code, self.line, self.col)


@dataclass
class Case:
    path: Path
    expects: list[Expected] = field(default_factory=list)
    hints: list[tuple[int, int, str]] = field(default_factory=list)
    related: list[tuple[int, int, int, int]] = field(default_factory=list)
    xfail: str | None = None


def read_case(path: Path) -> Case:
    """The directives in the comment block that opens ``path``."""
    case = Case(path)
    # utf-8-sig: one case deliberately starts with a byte-order mark.
    for text in path.read_text(encoding="utf-8-sig").splitlines():
        if not text.startswith("#"):
            break
        m = _DIRECTIVE.match(text)
        if m is None:
            continue  # a plain comment describing the case
        kind, rest = m.groups()
        if kind == "expect":
            e = _EXPECT.fullmatch(rest)
            if e is None:
                raise ValueError(f"{path.name}: malformed '# expect:' line: {text!r}")
            case.expects.append(Expected(e["code"], int(e["line"]), int(e["col"]), e["fragment"]))
        elif kind == "hint":
            h = _HINT.fullmatch(rest)
            if h is None:
                raise ValueError(f"{path.name}: malformed '# hint:' line: {text!r}")
            case.hints.append((int(h["line"]), int(h["col"]), h["fragment"]))
        elif kind == "related":
            r = _RELATED.fullmatch(rest)
            if r is None:
                raise ValueError(f"{path.name}: malformed '# related:' line: {text!r}")
            case.related.append(tuple(int(x) for x in r.groups()))
        else:
            case.xfail = rest
    if not case.expects:
        raise ValueError(f"{path.name}: no '# expect:' lines")
    return case


CASE_FILES = sorted(CASES_DIR.glob("*.mr"))


def _params():
    for path in CASE_FILES:
        case = read_case(path)
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=path.stem, marks=marks)


def diagnose(path: Path) -> list[Diagnostic]:
    """Parse and check ``path`` as the CLI does; the diagnostics it stops with."""
    source = SourceFile.read(path)
    try:
        check(parse(source))
    except MedrulesError as exc:
        return exc.diagnostics
    except Exception as exc:  # noqa: BLE001 - the point is to report it as a failure
        pytest.fail(f"{path.name}: crashed with {type(exc).__name__}: {exc} (expected diagnostics)")
    return []


def _show(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(f"  {d.code} {d.span.line}:{d.span.col} {d.message} [hint: {d.hint}]"
                     if d.span else f"  {d.code} <no span> {d.message}" for d in diagnostics) or "  (none)"


def _at(diagnostics: list[Diagnostic], line: int, col: int) -> list[Diagnostic]:
    return [d for d in diagnostics if d.span and (d.span.line, d.span.col) == (line, col)]


def test_there_are_cases():
    assert len(CASE_FILES) >= 30


@pytest.mark.parametrize("case", list(_params()))
def test_diagnostics(case: Case):
    diagnostics = diagnose(case.path)
    shown = f"{case.path.name} reported:\n{_show(diagnostics)}"

    # Every diagnostic is located in this file and says something.
    for d in diagnostics:
        assert d.span is not None, f"a diagnostic without a location\n{shown}"
        assert d.span.file == str(case.path), shown
        assert d.span.line >= 1 and d.span.col >= 1, f"spans are 1-based\n{shown}"
        assert d.severity == "error", shown
        assert (d.message or "").strip() or (d.hint or "").strip(), f"an empty diagnostic\n{shown}"

    # Exactly the expected (code, line, col), no more and no fewer.
    got = Counter((d.code, d.span.line, d.span.col) for d in diagnostics)
    want = Counter(e.key for e in case.expects)
    assert got == want, shown

    # Each expectation's fragment is in the message of a diagnostic at that place.
    unused = list(diagnostics)
    for e in case.expects:
        match = next((d for d in unused if (d.code, d.span.line, d.span.col) == e.key
                      and e.fragment in d.message), None)
        assert match is not None, f"no {e.code} at {e.line}:{e.col} saying {e.fragment!r}\n{shown}"
        unused.remove(match)

    for line, col, fragment in case.hints:
        assert any(fragment in (d.hint or "") for d in _at(diagnostics, line, col)), (
            f"no hint containing {fragment!r} at {line}:{col}\n{shown}")

    for line, col, rline, rcol in case.related:
        spans = [(s.line, s.col) for d in _at(diagnostics, line, col) for _, s in d.related]
        assert (rline, rcol) in spans, f"the diagnostic at {line}:{col} should point at {rline}:{rcol}; " \
                                       f"it points at {spans}\n{shown}"
        for d in _at(diagnostics, line, col):
            for _, s in d.related:
                assert s.file == str(case.path)


def test_several_errors_are_reported_at_once():
    """One run reports every checker error, not just the first."""
    case = read_case(CASES_DIR / "several-errors.mr")
    assert len(case.expects) >= 5
    assert len(diagnose(case.path)) == len(case.expects)


def test_quzhou_rulebook_checks_without_errors():
    checked = check(parse(SourceFile.read(QUZHOU)))
    assert checked.id == "quzhou/employee-2012"
    assert [f.name for f in checked.rulebook.funds] == ["outpatient_pool", "inpatient_pool", "critical_illness"]


def _quzhou_variant(*replacements: tuple[str, str]) -> SourceFile:
    text = QUZHOU.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return SourceFile("quzhou-variant.mr", text)


_RETIRED_ADJUST = "  adjust +5 points when member.category == retired\n    cites QZ2011_102 at \"一\""


def test_enum_member_may_be_written_on_the_left():
    check(parse(_quzhou_variant(
        (_RETIRED_ADJUST, "  adjust +5 points when retired == member.category\n    cites QZ2011_102 at \"一\""))))


def test_shared_enum_member_on_the_left_is_resolved_from_the_other_side():
    check(parse(_quzhou_variant(
        ('  retired "退休人员" | "retired"\n', '  retired "退休人员" | "retired"\n  other "其他人员" | "other"\n'),
        ('  special_outpatient "特殊病种门诊" | "special-disease outpatient"\n',
         '  special_outpatient "特殊病种门诊" | "special-disease outpatient"\n  other "其他" | "other"\n'),
        (_RETIRED_ADJUST, "  adjust +5 points when other == member.category\n    cites QZ2011_102 at \"一\""))))
