"""medrules.lexing: the scanners that try one terminal at a time give lark's tokens, exactly.

Each text is parsed twice through ``medrules.parse.parse_tokens``, once with lark's own contextual lexer
and once with medrules.lexing's, and everything observable must be equal: the rulebook (nodes and their
spans), every token (type, text, start, end, line and column of both ends), or the diagnostics of a
file that does not parse (lark's 'unexpected character' carries the terminals the scanner allowed).
The texts: every rulebook in the repository (English and Chinese keywords, the diagnostics corpus of bad
files included), then mutations of them drawn by hypothesis.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.lexer import LexerThread

from medrules import lexing, zh
from medrules.diagnostics import MedrulesError
from medrules.source import SourceFile

parse_module = importlib.import_module("medrules.parse")  # the module ('medrules.parse' is also a function)
ROOT = Path(__file__).resolve().parent.parent
TEXTS = sorted(p for folder in ("rulebooks", "tests") for p in (ROOT / folder).rglob("*.mr"))


def observed(text: str, lark_parsers: dict, monkeypatch) -> tuple:
    """What parsing ``text`` with these parsers gives: (rulebook, tokens) or the diagnostics."""
    monkeypatch.setattr(parse_module, "parser", lambda lang="en": lark_parsers[lang])
    source = SourceFile("r.mr", text)
    try:
        rulebook, tokens = parse_module.parse_tokens(source)
    except MedrulesError as exc:
        return "diagnostics", [d.to_json() for d in exc.diagnostics]  # nodes: compared by repr (some compare by identity)
    return repr(rulebook), [(t.type, str(t), t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column)
                      for t in tokens]


def plain_tokens(text: str, lark_parser) -> list:
    """The tokens of the basic lexer (what ``zh.lex`` reads for the formatter and the translator)."""
    try:
        return [(t.type, str(t), t.start_pos, t.line, t.column)
                for t in LexerThread.from_text(lark_parser._build_lexer(), text).lex(None)]
    except Exception as exc:  # noqa: BLE001 - the same failure, at the same place, is part of the comparison
        return [type(exc).__name__, getattr(exc, "pos_in_stream", None), sorted(getattr(exc, "allowed", ()) or ())]


@pytest.fixture(scope="module")
def reference():
    """lark's own lexer (the parse tables read from the same cache file)."""
    return {lang: parse_module.build_parser(lang, ordered_lexer=False) for lang in ("en", "zh")}


def test_every_rulebook_lexes_as_lark_does(reference, monkeypatch):
    # Never joined: every token of every file goes through the one-terminal-at-a-time scanners.
    monkeypatch.setattr(lexing, "JOIN_AFTER", 10**9)
    ordered = {lang: parse_module.build_parser(lang) for lang in ("en", "zh")}
    assert len(TEXTS) > 90
    kinds = set()
    for path in TEXTS:
        text = path.read_text("utf-8")
        got, want = observed(text, ordered, monkeypatch), observed(text, reference, monkeypatch)
        assert got == want, path
        kinds.add("diagnostics" if got[0] == "diagnostics" else zh.language(text))
        lang = zh.language(zh.normalise(text))
        assert plain_tokens(text, ordered[lang]) == plain_tokens(text, reference[lang]), path
    assert kinds == {"diagnostics", "en", "zh"}  # both keyword languages and bad files were compared
    # the scanners were built by medrules.lexing, and never joined
    scanners = [lx._scanner for lx in ordered["en"].parser.lexer.lexers.values() if lx._scanner is not None]
    assert scanners and all(isinstance(s, lexing.OrderedScanner) and "match" not in vars(s) for s in scanners)


def test_a_scanner_joins_its_terminals_after_many_tokens(reference, monkeypatch):
    monkeypatch.setattr(lexing, "JOIN_AFTER", 3)
    ordered = {lang: parse_module.build_parser(lang) for lang in ("en", "zh")}
    for path in (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr", ROOT / "rulebooks" / "zh" / "quzhou" /
                 "employee-2012.mr"):
        text = path.read_text("utf-8")
        assert observed(text, ordered, monkeypatch) == observed(text, reference, monkeypatch)
    joined = [lx._scanner for lx in ordered["en"].parser.lexer.lexers.values()
              if lx._scanner is not None and "match" in vars(lx._scanner)]
    assert joined  # some scanners switched to lark's joined expression part-way through the file


PIECES = ("rate", "yuan", "fund", "deductible", "cap", "per", "year", "points", "%", "300", "1_000.50", "2012-01-01",
          "01-01", "90 days", '"text"', '"', "「名字」", "「", "起付标准", "基金", "元", "％", "（", "：", "{", "}", "(", ")",
          ":", "=", "==", ">=", "!=", "->", ",", ".", "#", "\n", " ", "\t", "rate_x", "x1", "_", "-", "+", "*", "/",
          "in", "not", "and", "or", "true", "false", "\\", "\x07", "é", "𠀀")


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from([p for p in TEXTS if p.stat().st_size < 20_000])).read_text("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
    return text


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_rulebooks_lex_as_lark_does(reference, text):
    with pytest.MonkeyPatch.context() as monkeypatch:
        got = observed(text, {lang: parse_module.parser(lang) for lang in ("en", "zh")}, monkeypatch)
        want = observed(text, reference, monkeypatch)
    assert got == want
