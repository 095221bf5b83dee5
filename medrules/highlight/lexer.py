"""A Pygments lexer for rulebooks (``.mr``), registered as the ``pygments.lexers`` entry point
``medrules``: ``pygmentize -l medrules rulebooks/quzhou/employee-2012.mr``."""
from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from medrules.highlight import (BUILTINS, CJK_RUN, CONSTANT_WORDS, DAY_UNITS, MONEY_UNITS, MONTH_UNITS,
                                POINT_UNITS, keyword_words, unit_words)

_NUM = r"\d[\d_]*(?:\.\d+)?"
_IDENT = r"[^\W\d]\w*"


def _units(units) -> str:
    return unit_words(units)


def _declaring(word: str):
    """'fund NAME', 'parameter NAME', …: the keyword, then the declared name."""
    return (rf"({word})(\s+)({_IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Class))


class MedrulesLexer(RegexLexer):
    name = "medrules"
    aliases = ["medrules", "mr"]
    filenames = ["*.mr"]
    mimetypes = ["text/x-medrules"]
    flags = re.UNICODE

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            _declaring("fund"), _declaring("parameter"), _declaring("accumulator"), _declaring("source"),
            _declaring("enum"),
            (r"\d{4}-\d{2}-\d{2}", Number.Other),  # a date
            (r"\d{2}-\d{2}(?!\d)", Number.Other),  # a month and day
            (rf"{_NUM}%[ \t]*(?:relative|相对)", Number),
            (rf"{_NUM}%", Number),
            (rf"{_NUM}[ \t]*{_units(MONEY_UNITS)}", Number),
            (rf"{_NUM}[ \t]*{_units(POINT_UNITS)}", Number),
            (rf"\d[\d_]*[ \t]*{_units(DAY_UNITS)}", Number),
            (rf"\d[\d_]*[ \t]*{_units(MONTH_UNITS)}", Number),
            (_NUM, Number),
            (words(CONSTANT_WORDS, suffix=r"(?!\w)"), Keyword.Constant),
            (words(BUILTINS, suffix=r"(?=\s*\()"), Name.Builtin),
            (words(tuple(w for w in keyword_words() if w not in CONSTANT_WORDS), prefix=r"(?<!\w)(?<!\.)",
                   suffix=r"(?!\w)"), Keyword),
            (CJK_RUN, Keyword),  # Chinese keywords: outside quotes, Chinese is always keywords
            (r"(claim|member)(\.)", bygroups(Name.Builtin.Pseudo, Punctuation)),
            (_IDENT, Name),
            (r"==|!=|<=|>=|<|>|\+|-|\*|/|=", Operator),
            (r"[{}(),:.|]", Punctuation),
            (r"[^\S\n]+", Text),
        ],
    }
