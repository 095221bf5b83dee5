"""Syntax highlighting: a Pygments lexer (:mod:`lexer`, entry point ``pygments.lexers``) and the
TextMate grammar for VS Code and most editors (:mod:`textmate`, written to ``editors/``).

Both take the reserved words from the grammar itself (:func:`keyword_words`); the TextMate file is
regenerated with ``python -m medrules.highlight.textmate > editors/medrules.tmLanguage.json`` (a test
fails while it is stale). Chinese keywords: outside quotes a run of Chinese characters is always
keywords (names are ASCII, Chinese text is quoted), so both highlight such a run as a keyword
(:data:`CJK_RUN`) and need no word list; units inside literals (``300元``, ``5个百分点``) are read first.
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


CJK_RUN = "[\u3400-\u9fff\uf900-\ufaff]+"  # the characters themselves (TextMate engines differ on escapes)


def zh_keyword_words() -> tuple[str, ...]:
    """The Chinese keyword set, when the project has one (``medrules.lexicon``), longest first."""
    try:
        from medrules.lexicon import EXPANSION  # the Chinese keyword set (branch zh)
    except ImportError:
        return ()
    return tuple(sorted(EXPANSION, key=lambda w: (-len(w), w)))




def unit_words(units) -> str:
    """An alternation of unit words: an English one must end there, a Chinese one may touch what follows
    (``300元每年度``), as in the grammar's literals."""
    import re
    return "(?:" + "|".join(re.escape(u) + ("(?!\\w)" if u.isascii() else "")
                            for u in sorted(units, key=len, reverse=True)) + ")"


CONSTANT_WORDS = ("true", "false", "none")
BUILTINS = ("min", "max", "given", "has", "day_number", "month_start",
            "any", "every", "count", "sum", "latest", "earliest")  # the last six: over a history
# The unit words that follow a number (see the literal terminals in the grammar).
MONEY_UNITS = ("yuan", "元")
POINT_UNITS = ("points", "point", "个百分点")
DAY_UNITS = ("days", "day", "天", "日")
MONTH_UNITS = ("months", "month", "个月")
