"""A cheaper start for lark's contextual lexer, with the same tokens.

lark's contextual lexer keeps one scanner per set of terminals a parser state accepts, and builds it
on first use: one regular expression joining those terminals (``(?P<A>…)|(?P<B>…)|…``), plus, for
every pattern terminal that can spell a keyword (``NAME`` spells ``rate``), one more joining those
keywords. A rulebook meets ~60 such sets, so every process compiled ~60 large expressions (each
terminal's pattern once per set it is in, the Chinese keyword pattern in all of them) before its
first rulebook was read: the largest part of parsing one file (docs/performance.md).

Here a terminal's pattern is compiled once per process and shared by all the scanners, and a
scanner tries its terminals one after the other, in lark's order. That is the same rule as lark's:
Python's alternation takes, at the position, the first alternative that matches, and that
alternative's match is what its pattern alone would match there (nothing follows it in the
expression). Which keywords a pattern can spell is worked out once per pair, not once per state.
A scanner that keeps being used (a long rulebook) joins its terminals into lark's own expression
after :data:`JOIN_AFTER` tokens, as lark would have at the start, so long files lex at lark's speed.

Installed with lark's ``_plugins`` option (:func:`plugins`), which a parser loaded from lark's cache
also takes.
"""
from __future__ import annotations

import functools
import re

from lark.lexer import (BasicLexer, CallChain, ContextualLexer, PatternRE, PatternStr, Scanner,
                        UnlessCallback)

JOIN_AFTER = 48  # tokens a scanner matches one terminal at a time before it compiles lark's joined expression


@functools.lru_cache(maxsize=None)
def _compiled(regexp: str, flags: int) -> re.Pattern:
    return re.compile(regexp, flags)


@functools.lru_cache(maxsize=None)
def _spells(regexp: str, word: str, flags: int) -> bool:
    """Does the pattern, matched at the start of ``word``, match all of it? (lark's ``_get_match`` test)"""
    m = _compiled(regexp, flags).match(word)
    return m is not None and m.group(0) == word


class OrderedScanner:
    """lark's ``Scanner`` interface (``match``, ``fullmatch``, ``allowed_types``), trying one terminal at a time."""

    def __init__(self, terminals, g_regex_flags: int, re_, use_bytes: bool):
        self.terminals = terminals
        self.g_regex_flags, self.re_, self.use_bytes = g_regex_flags, re_, use_bytes
        self.allowed_types = {t.name for t in terminals}
        self._patterns = [(_compiled(t.pattern.to_regexp(), g_regex_flags), t.name) for t in terminals]
        self._uses = 0

    def match(self, text, pos):
        self._uses += 1
        if self._uses > JOIN_AFTER:
            joined = Scanner(self.terminals, self.g_regex_flags, self.re_, self.use_bytes)
            self.match = joined.match  # from now on, lark's joined expression
            return joined.match(text, pos)
        string, end = text.text, text.end
        for pattern, name in self._patterns:
            m = pattern.match(string, pos, end)
            if m:
                return m.group(0), name
        return None

    def fullmatch(self, text: str):
        for pattern, name in self._patterns:
            if pattern.fullmatch(text):
                return name
        return None


def _unless(terminals, g_regex_flags: int, re_, use_bytes: bool):
    """lark's ``_create_unless``: the keywords each pattern terminal can spell become a check on the
    tokens it matches, and a keyword spelled by a pattern with (at most) its flags leaves the scanner."""
    patterns = [t for t in terminals if isinstance(t.pattern, PatternRE)]
    words = [t for t in terminals if isinstance(t.pattern, PatternStr)]
    assert len(patterns) + len(words) == len(terminals), "a terminal is neither a string nor a pattern"
    embedded, callback = set(), {}
    for retok in patterns:
        regexp, unless = retok.pattern.to_regexp(), []
        for strtok in words:
            if strtok.priority != retok.priority:
                continue
            if _spells(regexp, strtok.pattern.value, g_regex_flags):
                unless.append(strtok)
                if strtok.pattern.flags <= retok.pattern.flags:
                    embedded.add(strtok)
        if unless:
            callback[retok.name] = UnlessCallback(OrderedScanner(unless, g_regex_flags, re_, use_bytes))
    return [t for t in terminals if t not in embedded], callback


class OrderedBasicLexer(BasicLexer):
    """lark's ``BasicLexer`` with an :class:`OrderedScanner` (one per parser state's set of terminals)."""

    def _build_scanner(self):
        if self.use_bytes or self.re is not re:  # not what medrules builds; lark's own scanner then
            return super()._build_scanner()
        terminals, self.callback = _unless(self.terminals, self.g_regex_flags, self.re, self.use_bytes)
        for type_, f in self.user_callbacks.items():  # as lark chains them
            if type_ in self.callback:
                self.callback[type_] = CallChain(self.callback[type_], f, lambda t: t.type == type_)
            else:
                self.callback[type_] = f
        return OrderedScanner(terminals, self.g_regex_flags, self.re, self.use_bytes)


class OrderedContextualLexer(ContextualLexer):
    BasicLexer = OrderedBasicLexer


def plugins() -> dict:
    """lark's ``_plugins`` option that installs these lexers."""
    return {"BasicLexer": OrderedBasicLexer, "ContextualLexer": OrderedContextualLexer}
