"""``medrules translate``: a rulebook in the other keyword set.

Only keywords, the units inside literals and the quoting of Chinese names change;
names, quoted text, citations, comments and the layout stay as written. The result
parses to the same tree (spans aside), so it checks and settles the same.
"""
from __future__ import annotations

import re

import attrs

from medrules import lexicon, zh
from medrules import nodes as n
from medrules.parse import keywords, parse_tokens
from medrules.source import SourceFile

_LITERALS = ("MONEY", "POINTS", "DAYS", "MONTHS", "REL_PERCENT")
_UNIT = re.compile(r"^([\d_.]+%?)[ \t]*(\S+)$")
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def translate(text: str, to: str, name: str = "<rulebook>") -> str:
    """``text`` (a rulebook in either keyword set) written with the ``to`` keyword set (zh | en).

    Raises :class:`medrules.MedrulesError` if the rulebook does not parse."""
    if to not in ("zh", "en"):
        raise ValueError(f"translate to 'zh' or 'en', not {to!r}")
    rulebook, tokens = parse_tokens(SourceFile(name, text))
    if rulebook.lang == to:
        return text
    normal = zh.normalise(text)
    edits = _to_zh(normal, tokens) + _closing_shi(normal, rulebook) if to == "zh" else _to_en(normal, tokens)
    return _apply(normal, edits)


_WHEN_OWNERS = (n.Case, n.Adjust, n.Deductible, n.Exclude, n.Treat, n.Cliff)


def _closing_shi(text: str, rulebook: n.Rulebook) -> list[tuple[int, int, str]]:
    """当 … 时: a 时 after each condition that follows 'when' (not 'applies when': 适用条件)."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    edits = []

    def visit(node) -> None:
        if isinstance(node, _WHEN_OWNERS) and node.when is not None:
            span = node.when.span
            edits.append((starts[span.end_line - 1] + span.end_col - 1,) * 2 + (lexicon.FILLER,))
        if attrs.has(type(node)):
            for f in attrs.fields(type(node)):
                visit(getattr(node, f.name))
        elif isinstance(node, tuple):
            for item in node:
                visit(item)

    visit(rulebook)
    return edits


def _literal(tok, units: dict[str, str], sep: str) -> str | None:
    m = _UNIT.match(str(tok))
    if m and m.group(2) in units:
        return f"{m.group(1)}{sep}{units[m.group(2)]}"
    return None


def _to_zh(text: str, tokens) -> list[tuple[int, int, str]]:
    kws, edits, i = keywords(), [], 0
    longest = max(len(en) for en in lexicon.by_english())
    while i < len(tokens):
        tok = tokens[i]
        if tok.type in kws:
            for size in range(min(longest, len(tokens) - i), 0, -1):
                run = tokens[i:i + size]
                words = tuple(str(t) for t in run)
                joined = all(t.type in kws or t.type == "NAME" for t in run[1:]) and all(
                    not text[a.end_pos:b.start_pos].strip() for a, b in zip(run, run[1:]))
                if joined and words in lexicon.by_english():
                    edits.append((run[0].start_pos, run[-1].end_pos, lexicon.by_english()[words]))
                    i += size
                    break
            else:
                raise AssertionError(f"no Chinese keyword for {tok!r}")  # every keyword has one (tested)
            continue
        if tok.type == "NAME" and not _ASCII_NAME.match(str(tok)):
            edits.append((tok.start_pos, tok.end_pos, f"「{tok}」"))
        elif tok.type in _LITERALS:
            new = _literal(tok, lexicon.UNITS_ZH, "")
            if new is not None:
                edits.append((tok.start_pos, tok.end_pos, new))
        i += 1
    return edits


def _to_en(text: str, tokens) -> list[tuple[int, int, str]]:
    edits, seen = [], set()
    for tok in tokens:
        if tok.start_pos in seen:  # one Chinese word, several English tokens
            continue
        seen.add(tok.start_pos)
        written = text[tok.start_pos:tok.end_pos]
        if written in lexicon.EXPANSION and lexicon.is_cjk(written[0]):
            edits.append((tok.start_pos, tok.end_pos, " ".join(lexicon.EXPANSION[written])))
        elif tok.type == "NAME" and written.startswith("「"):
            edits.append((tok.start_pos, tok.end_pos, str(tok)))
        elif tok.type in _LITERALS:
            new = _literal(tok, lexicon.UNITS_EN, " ")
            if new is not None:
                edits.append((tok.start_pos, tok.end_pos, new))
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each (start, end) by its new text. Where a replaced word was written right next
    to something (Chinese keywords need no spaces), a space is put between them if English
    words would otherwise run together."""
    out: list[str] = []
    last_replaced = False

    def emit(chunk: str, replaced: bool) -> None:
        nonlocal last_replaced
        if not chunk:
            return
        if (replaced or last_replaced) and out and _needs_space(out[-1][-1], chunk[0]):
            out.append(" ")
        out.append(chunk)
        last_replaced = replaced

    pos = 0
    for start, end, new in sorted(edits):
        if not new:  # a filler word left out, with the blank space before it
            while start > pos and text[start - 1] in " \t":
                start -= 1
        emit(text[pos:start], False)
        emit(new, True)
        pos = end
    emit(text[pos:], False)
    return "".join(out)


def _needs_space(before: str, after: str) -> bool:
    return not (before.isspace() or after.isspace() or before in "([{.-+" or after in ")]},:.")


def read_source(session, path):
    """A rulebook named on the command line, or standard input for '-' (quoted in diagnostics)."""
    from pathlib import Path

    if str(path) == "-":
        from medrules.cmdline import read_stdin
        source = read_stdin("rulebook")  # bounded, UTF-8, without a byte-order mark
        session.sources[source.name] = source
        return source
    from medrules import resolve_rulebook_path
    return session.read(resolve_rulebook_path(Path(path)), "rulebook")


def command(session, path, to: str) -> str:
    """The body of ``medrules translate``: the translated text to print."""
    source = read_source(session, path)
    return translate(source.text, to, source.name)
