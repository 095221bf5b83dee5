"""``medrules fmt``: one layout for every rulebook, in either keyword set.

The formatter keeps the drafter's line breaks (a provision's citation on its own line, a long
label continued), puts each statement, header item, member and clause on a line of its own
(with the braces around them), and decides everything within lines, like gofmt:

* indentation: two spaces per block; a line that continues a statement two more (four while
  the statement's own ``{`` is still to come, and for a line that starts with an operator or
  ``when``), and two more for each parenthesis still open;
* one space between words, none inside ``( )``, before ``, : )``, around ``.``, after a sign,
  or inside the braces of ``in {a, b}``;
* comments stay on their lines: a comment line takes the indentation of the code that follows
  it, a comment after code is put two spaces after it;
* at most one blank line in a row, none at the start and end, no blank space at line ends.

Only layout changes: the formatted rulebook parses to the same tree (tested), and formatting
twice gives what formatting once gave. Full-width punctuation outside quotes is written in
ASCII.
"""
from __future__ import annotations

import re

import attrs

from medrules import zh
from medrules.parse import keywords, parse_tokens
from medrules.source import SourceFile

INDENT = "  "
_LITERALS = ("MONEY", "POINTS", "DAYS", "MONTHS", "REL_PERCENT")

TOP = {"rulebook", "source", "enum", "facts", "parameter", "accumulator", "exclude", "treat", "fund", "total",
       "reading", "actionable", "contribution", "insured", "recover"}
HEADER_ITEMS = {"title", "scheme", "jurisdiction", "effective", "year", "rounding", "days", "layers", "amends",
                "number", "issued", "office", "appeal"}
CLAUSES = {"applies", "exclude", "base", "accumulate", "deductible", "cap", "rate", "bands", "flat", "adjust",
           "under", "cliff", "premium", "subsidy", "prorate"}
BLOCKS = {"rulebook": "items", "source": "items", "enum": "members", "facts": "members", "fund": "clauses",
          "reading": "members", "contribution": "clauses"}
OPERATORS = {"and", "or", "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">="}
_UNARY_AFTER = OPERATORS | {None, "(", ",", ":", "=", "{", "|", "not", "when", "otherwise", "to", "at", "is",
                            "above", "base", "rate", "flat", "adjust", "deductible", "applies", "as"}


@attrs.define
class _Word:
    start: int
    end: int
    line: int
    text: str
    first: str  # the (first) English word or the punctuation it is: 'cap', '{', 'NAME', …
    last: str  # the last English word it stands for ('in' for 不属于)
    keyword: bool


@attrs.define
class _Block:
    kind: str  # items | members | clauses | list
    base: str  # the indentation of the items inside
    item: tuple  # the (indent, first word, pending) of the statement that opened it


def format_source(text: str, name: str = "<rulebook>") -> str:
    """The formatted rulebook. Raises :class:`medrules.MedrulesError` if it does not parse."""
    rulebook, tokens = parse_tokens(SourceFile(name, text))
    normal = zh.normalise(text)
    words = _words(normal, tokens)
    comments = {c.span.line: c.text for c in rulebook.comments}
    return _layout(normal, words, comments)


def _words(text: str, tokens) -> list[_Word]:
    kws = keywords()
    out: list[_Word] = []
    for tok in tokens:
        if out and out[-1].start == tok.start_pos:  # one Chinese word, several English tokens
            out[-1].last = str(tok)
            continue
        written = text[tok.start_pos:tok.end_pos]
        if tok.type in _LITERALS:  # '600   yuan' -> '600 yuan'
            written = re.sub(r"[ \t]+", " ", written)
        is_kw = tok.type in kws or tok.type == zh.FILLER_TYPE
        first = str(tok) if is_kw or tok.type not in ("NAME", "STRING") and not tok.type[0].isupper() \
            else ("NAME" if tok.type == "NAME" else tok.type)
        if tok.type in ("LBRACE", "RBRACE", "LPAR", "RPAR", "COMMA", "COLON", "DOT", "VBAR", "EQUAL",
                        "PLUS", "MINUS", "STAR", "SLASH", "CMP"):
            first = written
        out.append(_Word(tok.start_pos, tok.end_pos, tok.line, written, first, first, is_kw))
    return out


def _join(line: list[_Word], before: _Word | None, tight: list[bool]) -> str:
    """One line's words with the spacing rules; ``tight`` is the stack of open braces (shared
    across lines)."""
    parts: list[str] = []
    prev, prev_prev = before, None
    for i, w in enumerate(line):
        if i > 0:
            parts.append("" if _glued(prev, w, prev_prev, tight) else " ")
        if w.first == "{":
            tight.append(prev is not None and prev.last == "in")
        elif w.first == "}" and tight:
            tight.pop()
        parts.append(w.text)
        prev_prev, prev = prev, w
    return "".join(parts)


def _glued(a: _Word, b: _Word, before_a: _Word | None, tight: list[bool]) -> bool:
    if b.first in (",", ")", ":", ".") or a.first in ("(", "."):
        return True
    if b.first == "(" and a.first == "NAME":  # min(a, b)
        return True
    if a.first in ("-", "+") and (before_a is None or before_a.first in _UNARY_AFTER or before_a.keyword):
        return True  # a sign: +5 points
    if a.first == "{" and tight and tight[-1]:
        return True
    if b.first == "}" and tight and tight[-1]:
        return True
    return False


def _layout(text: str, words: list[_Word], comments: dict[int, str]) -> str:
    by_line: dict[int, list[_Word]] = {}
    for w in words:
        by_line.setdefault(w.line, []).append(w)
    out: list[tuple[str, str | None]] = []  # (indent, content); content None: a blank line
    waiting: list[int] = []  # comment lines (indices in out) that take the next code line's indent
    blocks: list[_Block] = []
    item = ("", None, False)  # the statement being written: indent, first word, its '{' to come
    tight: list[bool] = []
    parens = 0  # parentheses open at the start of a line: two more spaces each
    prev: _Word | None = None  # the word before the current one
    row: list[_Word] = []  # the words of the output line being built
    row_start: tuple = (None, "")  # (the word before the row, its indent)

    def flush(comment: str | None = None) -> None:
        content = _join(row, row_start[0], tight)
        if comment is not None:
            content += "  " + comment
        out.append((row_start[1], content))
        row.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        code = by_line.get(number)
        if not code:
            if number in comments:
                waiting.append(len(out))
                out.append(("", comments[number]))
            elif not raw.strip() and out and out[-1][1] is not None:
                out.append(("", None))
            continue
        for w in code:
            block = blocks[-1] if blocks else None
            if row and _splits(w, block, prev) and not _under_clause(row, w):
                flush()
            if not row:
                if w.first == "}":
                    indent = block.item[0] if block else ""
                    comment_indent = block.base if block else ""
                elif _starts(w, block, prev):
                    indent = comment_indent = block.base if block else ""
                    item = (indent, w.first, w.first in BLOCKS)
                else:
                    extra = 2 if item[2] or w.first in OPERATORS or w.first == "when" else 1
                    indent = comment_indent = item[0] + INDENT * (extra + parens)
                for i in waiting:
                    out[i] = (comment_indent, out[i][1])
                waiting = []
                row_start = (prev, indent)
            row.append(w)
            if w.first == "{":
                kind = BLOCKS[item[1]] if item[2] and item[1] in BLOCKS else "list"
                item = (item[0], item[1], False)
                blocks.append(_Block(kind, item[0] + INDENT, item))
            elif w.first == "}" and blocks:
                item = blocks.pop().item
            elif w.first in ("(", ")"):
                parens = max(parens + (1 if w.first == "(" else -1), 0)
            prev = w
        flush(comments.get(number))
    while out and out[-1][1] is None:
        out.pop()
    return "\n".join(f"{indent}{content}" if content is not None else "" for indent, content in out) + "\n"


def _splits(w: _Word, block: _Block | None, prev: _Word | None) -> bool:
    """Does ``w`` begin a new line though written after other words on its line? Statements,
    header items, members and clauses each go on a line of their own, and so do the braces
    around them; entries of a list (bands, cases) stay where the drafter put them."""
    if block is not None and block.kind == "list":
        return False
    if w.first == "}":
        return block is not None
    if prev is not None and prev.first == "{":
        return block is not None  # (block is the one '{' opened)
    return _starts(w, block, prev)


def _under_clause(row: list[_Word], w: _Word) -> bool:
    """Is ``w`` the clause that ``under READING.ALTERNATIVE`` at the start of the row holds? It stays
    on that line: ``under cap_axis.cost cap cost at …``."""
    return row[0].first == "under" and w.first != "under" and all(
        x.first in ("under", "NAME", ".") for x in row)


def _starts(w: _Word, block: _Block | None, prev: _Word | None) -> bool:
    """Does this line start a new statement, header item, member, clause or list entry?"""
    if block is None:
        return w.first in TOP
    if block.kind == "items":
        return w.first in HEADER_ITEMS
    if block.kind == "clauses":
        return w.first in CLAUSES
    if block.kind == "members":
        return w.first == "NAME" and (prev is None or prev.first not in OPERATORS | {"=", ":", ",", "(", "."}) \
            and not (prev.keyword and prev.last not in ("true", "false", "none"))
    return prev is not None and prev.first in (",", "{")


# ---------------------------------------------------------------- the command
def command(session, paths, check: bool) -> tuple[list[str], str | None]:
    """The body of ``medrules fmt``: (the files that are not formatted, the text to print for
    '-'). Files are rewritten in place unless ``check``."""
    from pathlib import Path

    from medrules.translate import read_source
    changed, printed = [], None
    for path in paths:
        source = read_source(session, path)
        formatted = format_source(source.text, source.name)
        if str(path) == "-":
            printed = formatted
            if formatted != source.text:
                changed.append(source.name)
            continue
        if formatted != source.text:
            changed.append(source.name)
            if not check:
                Path(source.name).write_text(formatted, encoding="utf-8")
    return changed, printed


__all__ = ["command", "format_source"]
