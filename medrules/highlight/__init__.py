"""Syntax highlighting: a Pygments lexer (:mod:`lexer`, entry point ``pygments.lexers``) and the
TextMate grammar for VS Code and most editors (:mod:`textmate`, written to ``editors/``).

Both take the reserved words from the grammar itself (:func:`keyword_words`), so a keyword set
added to ``grammar/medrules.lark`` (the Chinese one) is highlighted without further change; the
TextMate file is regenerated with ``python -m medrules.highlight.textmate > editors/medrules.tmLanguage.json``
(a test fails while it is stale).
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def keyword_words() -> tuple[str, ...]:
    """Every reserved word of the grammar (string terminals made of letters), longest first."""
    from lark.lexer import PatternStr

    from medrules.parse import parser
    words = {t.pattern.value for t in parser().terminals
             if isinstance(t.pattern, PatternStr) and t.pattern.value.isalpha()}
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


CONSTANT_WORDS = ("true", "false", "none")
BUILTINS = ("min", "max", "given", "has", "day_number", "month_start")
# The unit words that follow a number (see the literal terminals in the grammar).
MONEY_UNITS = ("yuan", "元")
POINT_UNITS = ("points", "point", "个百分点")
DAY_UNITS = ("days", "day", "天", "日")
MONTH_UNITS = ("months", "month", "个月")
