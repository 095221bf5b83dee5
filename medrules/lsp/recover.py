"""Parse while the drafter types: more than the first syntax error, and a tree for what parses.

:func:`parse_recovering` resynchronises at statements. After a syntax error, the top-level
statement that holds it (from the line where it starts, at a statement keyword in the first
column, to the next such line) is blanked — replaced by spaces, newlines kept, so every other
position stays where it was — and the text is parsed again. Each broken statement gives one
diagnostic; the rest of the rulebook is still a tree (for the outline, hover and go to
definition). :func:`medrules.parse.parse` is untouched.
"""
from __future__ import annotations

import re

from medrules import nodes as n
from medrules.diagnostics import Diagnostic, MedrulesError
from medrules.parse import parse
from medrules.source import SourceFile

STATEMENT_WORDS = ("rulebook", "source", "enum", "facts", "parameter", "accumulator", "exclude", "treat",
                   "fund", "total")


def _zh_statement_words() -> list[str]:
    """Chinese keywords that open a statement, when the project has the Chinese keyword set (medrules.lexicon)."""
    try:
        from medrules.lexicon import EXPANSION
    except ImportError:
        return []
    return sorted((w for w, en in EXPANSION.items() if en and en[0] in STATEMENT_WORDS), key=len, reverse=True)


_STATEMENT = re.compile(r"^(?:(?:%s)\b|%s)" % ("|".join(STATEMENT_WORDS),
                                               "|".join(map(re.escape, _zh_statement_words())) or "(?!)"))
MAX_ROUNDS = 50


def _statement_starts(lines: list[str]) -> list[int]:
    """0-based indexes of the lines that start a top-level statement."""
    return [i for i, line in enumerate(lines) if _STATEMENT.match(line)]


_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]')


def _balance(lines: list[str], first: int, last: int) -> int:
    """Opened minus closed braces in these lines (strings and comments skipped)."""
    depth = 0
    for m in _TOKENS.finditer("\n".join(lines[first:last])):
        depth += {"{": 1, "}": -1}.get(m.group(0), 0)
    return depth


def _blank(lines: list[str], first: int, last: int) -> None:
    for i in range(first, last):
        lines[i] = " " * len(lines[i])


def parse_recovering(source: SourceFile) -> tuple[n.Rulebook | None, list[Diagnostic]]:
    """The rulebook with its broken statements left out (None if nothing parses), and every
    syntax diagnostic (one per broken statement, in order)."""
    lines = source.text.split("\n")
    diagnostics: list[Diagnostic] = []
    for _ in range(MAX_ROUNDS):
        text = "\n".join(lines)
        try:
            return parse(SourceFile(source.name, text)), diagnostics
        except MedrulesError as exc:
            syntax = [d for d in exc.diagnostics if d.code == "syntax"]
            if not syntax or syntax[0].span is None:  # not a syntax error (e.g. a bad date): keep them all
                return None, diagnostics + exc.diagnostics
            d = syntax[0]
            diagnostics.append(d)
            line = min(max(d.span.line - 1, 0), len(lines) - 1)
            starts = _statement_starts(lines)
            before = [s for s in starts if s <= line]
            after = [s for s in starts if s > line]
            first = before[-1] if before else 0
            last = after[0] if after else len(lines)
            if before and line == first and d.span.col == 1:
                # a statement keyword is always welcome at the top level: the statement before it is unfinished
                first, last = (before[-2] if len(before) > 1 else 0), line
            else:
                # an earlier statement left a brace open: the error is its consequence, remove that one
                chunks = list(zip(before[:-1], before[1:]))
                open_ = [(a, b) for a, b in chunks if _balance(lines, a, b) > 0]
                if open_:
                    first, last = open_[0]
            if all(not lines[i].strip() for i in range(first, last)):
                return None, diagnostics  # nothing left to remove: give up quietly
            _blank(lines, first, last)
    return None, diagnostics
