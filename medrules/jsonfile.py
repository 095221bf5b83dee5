"""JSON with positions: every value of a facts file as a ``Located`` (value, span), read in one pass.

A small iterative reader (no recursion, no parse tree): one regular expression finds the next token,
a stack builds the objects and arrays, and only the values and their spans are kept. It replaces a
lark parse of the whole file, whose tree held ~13 KB per claim while the file was read (issue 13).

It reads what the lark grammar it replaces read, with the same positions and messages: strings as
JSON (escapes checked by :func:`json.loads`, at the column of the bad escape), numbers as exact
``Decimal``s (``+1``, ``1.`` and ``.5`` too), ``true``/``false``/``null``; a syntax error is reported
at the token or character where reading stopped (at the last token when the file ends too soon).
"""
from __future__ import annotations

import bisect
import json
import re
from decimal import Decimal

import attrs

from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.source import SourceFile, Span, unsafe_char

MAX_DEPTH = 32  # nesting of JSON arrays and objects


@attrs.frozen
class Located:
    """A JSON value and where it stands in its file."""

    value: object  # dict[str, Located] | list[Located] | str | Decimal | bool | None
    span: Span
    keys: dict[str, Span] | None = None  # objects: where each key is written


# one token at a time; whitespace as lark's WS (space, tab, form feed, CR, LF)
_TOKEN = re.compile(r"""[ \t\f\r\n]*(?:
    (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<punct>[{}\[\]:,])
  | (?P<word>true|false|null)
  | (?P<end>\Z)
)""", re.VERBOSE)
_WORDS = {"true": True, "false": False, "null": None}


class _Syntax(Exception):
    def __init__(self, offset: int, at_end: bool = False):
        self.offset = offset
        self.at_end = at_end  # the text ended in the middle of a value: it may go on (one_value)


def read_located(source: SourceFile, max_depth: int = MAX_DEPTH, max_items: int | None = None,
                 too_many=None) -> Located:
    """The file's JSON value with the span of every value; MedrulesError for a syntax error, arrays and
    objects nested deeper than ``max_depth``, or strings that are not valid JSON or not safe to print.

    ``max_items``: an array holding more items is refused at the first item too many, before any more is read,
    with the diagnostic ``too_many(span)`` (so that memory stays bounded whatever the file holds)."""
    text = source.text
    newlines = [i for i, ch in enumerate(text) if ch == "\n"] if "\n" in text else []
    file = source.name
    first = getattr(source, "first_line", 1)  # a line of a JSON Lines file: its number in the file

    def place(offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(newlines, offset)  # newlines before the offset
        start = newlines[line - 1] + 1 if line else 0
        return line + first, offset - start + 1

    def span(start: int, end: int) -> Span:
        line, col = place(start)
        end_line, end_col = place(end)
        return Span(file, line, col, end_line, end_col)

    problems: list[Diagnostic] = []
    try:
        value = _read(text, span, problems, max_depth, file, place, max_items, too_many)
    except _Syntax as exc:
        line, col = place(exc.offset) if exc.offset >= 0 else (first, 1)
        raise MedrulesError(error("facts-syntax", "this is not valid JSON", Span(file, line, col),
                                  "check for a missing comma, quote or bracket just before here")) from None
    if problems:
        raise MedrulesError(problems[:50])
    return value


def _string(raw: str, at: Span, file: str, problems: list[Diagnostic]) -> str:
    if "\\" not in raw and raw.isprintable():
        text = raw[1:-1]
    else:
        try:
            text = json.loads(raw)
        except ValueError as exc:  # a bad escape (\q) or a raw control character in the quotes
            where = Span(file, at.line, at.col + getattr(exc, "colno", 1) - 1)
            problems.append(error("facts-syntax", f"this is not a valid JSON string: {exc.msg}", where,
                                  "inside quotes, write a backslash as \\\\ and a tab as \\t"))
            return ""
    found = unsafe_char(text)
    if found is not None:
        problems.append(error("facts", f"this text contains {found[1]}", at, "facts are plain printable text"))
        return ""
    return text


def _read(text: str, span, problems, max_depth: int, file: str, place, max_items, too_many,
          pos: int = 0, one_value: bool = False, outer: int = 0):
    """The iterative reader. The stack holds open containers: [start, '{' or '[', items, keys, key, key span].

    ``one_value``: read one value from ``pos`` and return it with the offset after it (the rest of the text is
    not read; :mod:`medrules.factstream` reads a file a value at a time), ``outer`` containers already open."""
    match = _TOKEN.match
    last = -1  # where the last token started (an early end is reported there)
    result: Located | None = None
    stack: list[list] = []
    expect = "value"  # value | value_or_close | key | key_or_close | colon | comma_or_close | end
    while True:
        m = match(text, pos)
        if m is None:  # no token starts here: the first character that is not whitespace
            at = len(text) - len(text[pos:].lstrip(" \t\f\r\n"))
            rest = text[at:at + 64] if one_value else ""  # a string, number or word the text cuts short?
            raise _Syntax(at, rest.startswith('"') and "\n" not in text[at:] or len(rest) < 16 and "\n" not in rest)
        kind = m.lastgroup
        start, pos = m.start(kind), m.end()
        if kind == "end":
            if expect == "end":
                return result
            raise _Syntax(last, True)
        tok = m.group(kind)
        if expect == "end":
            raise _Syntax(start)
        last = start
        if expect in ("key", "key_or_close"):
            if kind == "string":
                top = stack[-1]
                top[5] = span(start, pos)
                top[4] = _string(tok, top[5], file, problems)
                expect = "colon"
                continue
            if tok == "}" and expect == "key_or_close":
                done = _close(stack, span, pos)
            else:
                raise _Syntax(start)
        elif expect == "colon":
            if tok != ":":
                raise _Syntax(start)
            expect = "value"
            continue
        elif expect == "comma_or_close":
            top = stack[-1]
            if tok == ",":
                expect = "key" if top[1] == "{" else "value"
                continue
            if tok == ("}" if top[1] == "{" else "]"):
                done = _close(stack, span, pos)
            else:
                raise _Syntax(start)
        else:  # a value (or, first in an array, its closing bracket)
            if kind == "string":
                at = span(start, pos)
                done = Located(_string(tok, at, file, problems), at)
            elif kind == "number":
                done = Located(Decimal(tok), span(start, pos))
            elif kind == "word":
                done = Located(_WORDS[tok], span(start, pos))
            elif tok in "{[":
                if len(stack) + outer >= max_depth:
                    line, col = place(start)
                    raise MedrulesError(error(
                        "facts-depth", f"arrays and objects are nested more than {max_depth} deep",
                        Span(file, line, col), "a facts file is a member, an opening and a list of claims"))
                stack.append([start, tok, {} if tok == "{" else [], {} if tok == "{" else None, None, None])
                expect = "key_or_close" if tok == "{" else "value_or_close"
                continue
            elif tok == "]" and expect == "value_or_close":
                done = _close(stack, span, pos)
            else:
                raise _Syntax(start)
        # a whole value: into its container, or the result
        if not stack:
            if one_value:
                return done, pos
            result, expect = done, "end"
            continue
        top = stack[-1]
        if top[1] == "{":
            top[2][top[4]] = done
            top[3][top[4]] = top[5]
        else:
            top[2].append(done)
            if max_items is not None and len(top[2]) > max_items:
                at = done.span
                raise MedrulesError(too_many(at) if too_many else error(
                    "facts-size", f"a list holds more than {max_items:,} items", at))
        expect = "comma_or_close"


def _close(stack: list[list], span, end: int) -> Located:
    start, bracket, items, keys, _, _ = stack.pop()
    return Located(items, span(start, end), keys)
