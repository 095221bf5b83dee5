"""Highlighting: the Pygments lexer and the TextMate grammar, on every shipped rulebook."""
from __future__ import annotations

import json
import re

import pytest
from pygments.token import Error, Keyword, Name, Number, String

from conftest import ROOT
from medrules.highlight import keyword_words
from medrules.highlight.lexer import MedrulesLexer
from medrules.highlight.textmate import text as textmate_text
from medrules.parse import parser

RULEBOOKS = sorted((ROOT / "rulebooks").glob("*/*.mr")) + sorted((ROOT / "tests" / "rulebooks").glob("*.mr"))
# every rulebook, those written with Chinese keywords (rulebooks/zh/…) included
EVERY_RULEBOOK = sorted((ROOT / "rulebooks").rglob("*.mr")) + sorted((ROOT / "tests" / "rulebooks").glob("*.mr"))
GRAMMAR = ROOT / "editors" / "medrules.tmLanguage.json"


def _lark_tokens(text: str):
    """The rulebook's tokens as the real parser's lexer sees them (positions 0-based)."""
    return [(tok.type, tok.start_pos, tok.end_pos) for tok in parser().lex(text)]


# ---------------------------------------------------------------- Pygments
@pytest.mark.parametrize("path", EVERY_RULEBOOK, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pygments_lexes_every_shipped_rulebook_without_errors(path):
    tokens = list(MedrulesLexer().get_tokens(path.read_text("utf-8")))
    assert [v for t, v in tokens if t is Error] == []
    assert "".join(v for _, v in tokens).rstrip("\n") == path.read_text("utf-8").rstrip("\n")


def test_pygments_marks_what_it_does_not_know():
    assert Error in {t for t, _ in MedrulesLexer().get_tokens("rate 55% @ 3")}


def test_pygments_token_kinds():
    tokens = [(t, v) for t, v in MedrulesLexer().get_tokens(
        'fund pool "统筹" {\n  deductible 600 yuan per year\n  rate 55% cites T at "一" "支付55%"\n}\n') if v.strip()]
    assert tokens[:3] == [(Keyword.Declaration, "fund"), (Name.Class, "pool"), (String.Double, '"统筹"')]
    assert (Number, "600 yuan") in tokens and (Number, "55%") in tokens and (Keyword, "deductible") in tokens
    assert (Keyword, "cites") in tokens and (Name, "T") in tokens


def test_the_lexer_is_registered_with_pygments():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    assert type(get_lexer_by_name("medrules")).__name__ == "MedrulesLexer"
    assert type(get_lexer_for_filename("employee-2012.mr")).__name__ == "MedrulesLexer"


# ---------------------------------------------------------------- TextMate
class TextMate:
    """A small TextMate matcher: at each point, the leftmost match among the patterns (the first listed
    on a tie) wins; begin/end rules run to their end on the same line. Enough for this grammar."""

    def __init__(self, grammar: dict):
        self.rules = [grammar["repository"][p["include"][1:]] for p in grammar["patterns"]]
        self.compiled = [(r, re.compile(r.get("match") or r["begin"]), re.compile(r["end"]) if "end" in r else None)
                         for r in self.rules]

    def scopes(self, line: str) -> list[str]:
        out = [""] * len(line)
        pos = 0
        while pos < len(line):
            best = None
            for rule, rx, end in self.compiled:
                m = rx.search(line, pos)
                if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                    best = (rule, m, end)
            if best is None:
                break
            rule, m, end = best
            stop = m.end()
            if end is not None:
                e = end.search(line, m.end())
                stop = e.end() if e else len(line)
            if "captures" in rule:
                for group, capture in rule["captures"].items():
                    if m.group(int(group)) is not None:
                        for i in range(m.start(int(group)), m.end(int(group))):
                            out[i] = capture["name"]
            else:
                for i in range(m.start(), stop):
                    out[i] = rule["name"]
            pos = stop
        return out


@pytest.fixture(scope="module")
def textmate():
    return TextMate(json.loads(GRAMMAR.read_text("utf-8")))


def test_the_textmate_file_is_generated_from_the_grammar_keywords():
    assert GRAMMAR.read_text("utf-8") == textmate_text(), \
        "regenerate: python -m medrules.highlight.textmate > editors/medrules.tmLanguage.json"
    doc = json.loads(GRAMMAR.read_text("utf-8"))
    assert doc["scopeName"] == "source.medrules"
    for word in keyword_words():  # every reserved word, a Chinese keyword set included once in the grammar
        assert word in json.dumps(doc, ensure_ascii=False)


EXPECTED_SCOPES = {  # lark terminal -> the scope prefix its characters get
    "STRING": "string.", "MONEY": "constant.numeric", "PERCENT": "constant.numeric", "POINTS": "constant.numeric",
    "REL_PERCENT": "constant.numeric", "DAYS": "constant.numeric", "MONTHS": "constant.numeric",
    "DATE": "constant.numeric", "NUMBER": "constant.numeric", "CMP": "keyword.operator",
}


@pytest.mark.parametrize("path", RULEBOOKS, ids=lambda p: p.stem)
def test_textmate_scopes_agree_with_the_parser_lexer(path, textmate):
    text = path.read_text("utf-8")
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    scopes = [s for line in text.split("\n") for s in textmate.scopes(line) + ["\n"]]
    keywords = set(keyword_words())
    checked = 0
    for kind, start, end in _lark_tokens(text):
        word = text[start:end]
        if kind in EXPECTED_SCOPES:
            want = (EXPECTED_SCOPES[kind],)
        elif kind.startswith("_") and word in keywords and text[start - 1] != ".":  # 'claim.cost' is a name
            want = ("keyword.control", "storage.type")
        else:
            continue
        got = {scopes[i] for i in range(start, end) if not text[i].isspace()}
        assert len(got) == 1 and next(iter(got)).startswith(want), (path.name, word, got)
        checked += 1
    assert checked > 20  # the shortest shipped rulebook (jiang/contributions-2020.mr) has 28 such tokens


# ---------------------------------------------------------------- Chinese keywords
ZH_SNIPPET = '''\
规则书 "quzhou/employee-2012-zh" {
  年度起始 01-01 按 claim.date
  四舍五入 至 0.01元 每笔支付
}
基金 outpatient_pool "门诊统筹基金" | "outpatient pooling fund"
    引用 QZ2011_102 条款 "一" "调整门诊统筹待遇标准" {
  适用条件 claim.kind == outpatient
  起付标准300元每年度
    引用 QZ2011_102 条款 "一" "1个自然年度内起付标准下调至300元"
  支付比例 { 55% 当 claim.institution == grassroots_zero_markup, 否则 50% }
  调整 +5个百分点 当 member.category == retired 时
}
'''


def test_chinese_keywords_are_keywords_in_pygments():
    tokens = [(t, v) for t, v in MedrulesLexer().get_tokens(ZH_SNIPPET) if v.strip()]
    assert [v for t, v in tokens if t is Error] == []
    for word in ("规则书", "年度起始", "基金", "适用条件", "起付标准", "每年度", "支付比例", "当", "否则", "调整", "时"):
        assert (Keyword, word) in tokens, word
    assert (Number, "300元") in tokens and (Number, "5个百分点") in tokens and (Number, "0.01元") in tokens
    assert (String.Double, '"1个自然年度内起付标准下调至300元"') in tokens


def test_chinese_keywords_are_keywords_in_textmate(textmate):
    lines = ZH_SNIPPET.split("\n")
    line = lines[7]  # '  起付标准300元每年度'
    scopes = textmate.scopes(line)
    at = {word: scopes[line.index(word)] for word in ("起付标准", "300元", "每年度")}
    assert at["起付标准"].startswith("keyword.control") and at["每年度"].startswith("keyword.control")
    assert at["300元"].startswith("constant.numeric")
    date_line = lines[1]
    assert textmate.scopes(date_line)[date_line.index("01-01")].startswith("constant.numeric")
    quoted = lines[8]
    assert textmate.scopes(quoted)[quoted.index("1个自然")].startswith("string.")
