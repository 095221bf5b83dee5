"""Chinese authoring at the lexical level: the Chinese keyword set in the lexer, full-width
punctuation, the keyword language of a rulebook, and the comments it contains.

The parser (:mod:`medrules.parse`) calls these; they know characters and tokens, not
provisions. The vocabulary itself is :mod:`medrules.lexicon`.
"""
from __future__ import annotations

import functools
import unicodedata

import attrs
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex as _LarkPostLex

from medrules import lexicon
from medrules import nodes as n
from medrules.diagnostics import Diagnostic, error
from medrules.source import SourceFile, Span

ZH_TYPE = "ZH_WORD"  # a Chinese keyword as lexed, before it is read as English tokens
FILLER_TYPE = "ZH_FILLER"  # 时: kept for the formatter, never fed to the parser


# Names in a rulebook written with Chinese keywords: ASCII identifiers, or any name quoted 「…」.
ZH_NAME = r"/[A-Za-z_][A-Za-z0-9_]*|「[^\W\d]\w*」/"


def grammar(english: str) -> str:
    """The grammar for Chinese keywords: names as above, plus the Chinese keywords as one terminal."""
    lines = [f"NAME: {ZH_NAME}" if line.startswith("NAME:") else line for line in english.splitlines()]
    return "\n".join(lines) + f"\n{ZH_TYPE}: /{lexicon.word_pattern()}/\n"


def language(text: str) -> str:
    """``zh`` when the first thing after comments and blank space is a Chinese keyword."""
    for kind, start, end in _segments(text):
        if kind == "code":
            code = text[start:end].lstrip(" \t\r\n\ufeff")
            if code:
                return "zh" if lexicon.is_cjk(code[0]) else "en"
        elif kind == "string":
            return "en"
    return "en"


@functools.lru_cache(maxsize=None)
def _keyword_types() -> dict[str, str]:
    from lark.lexer import PatternStr

    from medrules.parse import parser
    # the Chinese-keyword parser has the English parser's terminals (its words reach it through PostLex): read
    # them there, so that a Chinese rulebook does not load the English parser too (~70 ms of 'medrules check')
    return {t.pattern.value: t.name for t in parser("zh").terminals
            if isinstance(t.pattern, PatternStr) and t.pattern.value.isalpha()}


def token_type(word: str) -> str:
    """The terminal an English word lexes as: its keyword's, or NAME."""
    return _keyword_types().get(word, "NAME")


class PostLex(_LarkPostLex):
    """Each Chinese keyword becomes the English tokens it stands for, at its own position."""

    always_accept = (ZH_TYPE,)

    def process(self, stream):
        for tok in stream:
            if tok.type == "NAME" and tok.startswith("「"):
                yield Token.new_borrow_pos("NAME", tok[1:-1], tok)
                continue
            if tok.type != ZH_TYPE:
                yield tok
                continue
            words = lexicon.EXPANSION[str(tok)]
            if not words:
                yield Token.new_borrow_pos(FILLER_TYPE, str(tok), tok)
            for word in words:
                yield Token.new_borrow_pos(token_type(word), word, tok)


@functools.lru_cache(maxsize=None)
def _basic_lexer(lang: str):
    from medrules.parse import parser
    return parser(lang)._build_lexer()


def lex(text: str, lang: str = "zh"):
    """Tokens of a text without parsing it (Chinese words as the English tokens they stand for)."""
    from lark.lexer import LexerThread
    stream = LexerThread.from_text(_basic_lexer(lang), text).lex(None)
    return PostLex().process(stream) if lang == "zh" else stream


# ---------------------------------------------------------------- full-width punctuation
# What a Chinese input method types -> the ASCII character it can only mean, outside quotes
# and comments. One character for one, so every position stays where it was.
FULL_WIDTH = {
    "：": ":", "，": ",", "、": ",", "（": "(", "）": ")", "＋": "+", "－": "-", "％": "%",
    "＝": "=", "｜": "|", "｛": "{", "｝": "}", "＜": "<", "＞": ">", "．": ".", "＿": "_",
    "＃": "#", "\u3000": " ", "＊": "*", "／": "/", "！": "!",
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # ０…９
    **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},  # Ａ…Ｚ
    **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},  # ａ…ｚ
}


def _segments(text: str):
    """(kind, start, end) for each stretch of ``text``: code, string or comment."""
    i, size, start = 0, len(text), 0
    while i < size:
        ch = FULL_WIDTH.get(text[i], text[i])
        if ch == "#" or ch in "\"“":
            if start < i:
                yield "code", start, i
            j = i + 1
            if ch == "#":
                while j < size and text[j] != "\n":
                    j += 1
                yield "comment", i, j
            else:
                close = '"' if ch == '"' else "”"
                while j < size and text[j] not in (close, "\n"):
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, size) if j < size and text[j] == close else j
                yield "string", i, j
            i = start = j
        else:
            i += 1
    if start < size:
        yield "code", start, size


def normalise(text: str) -> str:
    """Full-width punctuation and digits outside quotes and comments, as ASCII."""
    if text.isascii():
        return text
    out = []
    for kind, start, end in _segments(text):
        part = text[start:end]
        if kind == "code" or (kind == "comment" and part[0] == "＃"):
            part = part[0].translate(_TABLE) + (part[1:].translate(_TABLE) if kind == "code" else part[1:])
        out.append(part)
    return "".join(out)


_TABLE = str.maketrans(FULL_WIDTH)


def comments(text: str, file: str) -> tuple[n.Comment, ...]:
    """The comments of a (normalised) text, with their positions."""
    found = []
    for kind, start, end in _segments(text):
        if kind != "comment":
            continue
        line_start = text.rfind("\n", 0, start) + 1
        line = text.count("\n", 0, start) + 1
        col = start - line_start + 1
        trailing = bool(text[line_start:start].strip())
        found.append(n.Comment(text[start:end].rstrip(), trailing,
                               Span(file, line, col, line, col + len(text[start:end].rstrip()))))
    return tuple(found)


# ---------------------------------------------------------------- the keyword language
def is_zh_token(tok: Token, text: str) -> bool:
    return tok.start_pos is not None and tok.start_pos < len(text) and lexicon.is_cjk(text[tok.start_pos])


def mixed_keywords(tokens: list[Token], text: str, file: str) -> list[Diagnostic]:
    """In a rulebook written with Chinese keywords, each English keyword (a word the parser
    took as a keyword, not as a name)."""
    kws = set(_keyword_types().values())
    first = next((t for t in tokens if t.type in kws), None)
    problems = []
    for tok in tokens:
        if tok.type in kws and not is_zh_token(tok, text) and len(problems) < 10:
            other = lexicon.by_english().get((str(tok),), "?")
            problems.append(error(
                "mixed-keywords",
                f"'{tok}' is an English keyword, but this rulebook is written with Chinese keywords",
                Span(file, tok.line, tok.column, tok.end_line, tok.end_column),
                f"write '{other}' (the first keyword of a rulebook sets its language: "
                f"'{text[first.start_pos:first.end_pos]}' here)"))
    return problems


# ---------------------------------------------------------------- characters the lexer refuses
def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '').lower()}".strip()


def syntax_diagnostic(exc: UnexpectedInput, source: SourceFile, text: str, lang: str = "en",
                      generic: Diagnostic | None = None) -> Diagnostic | None:
    """A better message for a character the lexer refuses: a quote closed with the other kind
    of quote mark, full-width punctuation, Chinese words that are not keywords. None: the
    parser's generic message fits."""
    if isinstance(exc, UnexpectedToken) and lang == "en" and exc.token.type == "NAME" and any(
            str(exc.token).startswith(w) for w in lexicon.EXPANSION):
        tok = exc.token
        word = next(w for w in sorted(lexicon.EXPANSION, key=len, reverse=True) if str(tok).startswith(w))
        english = " ".join(lexicon.EXPANSION[word])
        return error("mixed-keywords",
                     f"unexpected name '{tok}': '{word}' is a Chinese keyword ('{english}'), but this rulebook "
                     "is written with English keywords",
                     Span(source.name, tok.line, tok.column, tok.end_line, tok.end_column),
                     f"write '{english}'; the first keyword of a rulebook sets its language")
    if isinstance(exc, UnexpectedToken) and generic is not None and is_zh_token(exc.token, text):
        # a Chinese word stands for several English tokens: name the word as written
        word = text[exc.token.start_pos:exc.token.end_pos]
        return attrs.evolve(generic, message=f"unexpected '{word}'")
    if not isinstance(exc, UnexpectedCharacters):
        return None
    pos = exc.pos_in_stream
    if pos >= len(text):
        return None
    ch = text[pos]
    line_end = text.find("\n", pos)
    rest = text[pos + 1: len(text) if line_end < 0 else line_end]

    def at(offset: int, width: int = 1) -> Span:
        line_start = text.rfind("\n", 0, offset) + 1
        line = text.count("\n", 0, offset) + 1
        return Span(source.name, line, offset - line_start + 1, line, offset - line_start + 1 + width)

    here = at(pos)
    if ch == '"':
        if "”" in rest:
            where = pos + 1 + rest.index("”")
            return error("full-width", "this quote is opened with '\"' but closed with a full-width '”' (U+201D)",
                         at(where), "close it with '\"' as well, or open it with '“'",
                         related=(("the quote opens here", here),))
        return error("syntax", "this quote is not closed on its line", here,
                     "quoted text ends with '\"' on the same line")
    if ch == "“":
        if '"' in rest:
            where = pos + 1 + rest.index('"')
            return error("full-width", "this quote is opened with a full-width '“' (U+201C) but closed with '\"'",
                         at(where), "close it with '”', or open it with '\"'",
                         related=(("the quote opens here", here),))
        return error("syntax", "this quote is not closed on its line", here,
                     "quoted text that opens with '“' ends with '”' on the same line")
    if ch == "”":
        return error("full-width", "a full-width closing quote '”' (U+201D) without its opening quote", here,
                     "quoted text is written \"…\" or “…”")
    if lexicon.is_cjk(ch):
        end = pos
        while end < len(text) and lexicon.is_cjk(text[end]):
            end += 1
        word = text[pos:end]
        return error("syntax", f"'{word}' is not a keyword", at(pos, end - pos),
                     "with Chinese keywords, a name is ASCII (outpatient_pool) or quoted 「门诊统筹」; "
                     "text is quoted \"门诊统筹基金\"; the keywords are listed in docs/language.md §15")
    if unicodedata.east_asian_width(ch) in ("F", "W") or unicodedata.category(ch).startswith("P") and not ch.isascii():
        return error("full-width", f"unexpected full-width character '{ch}' ({_char_name(ch)})", here,
                     "outside quotes, the full-width punctuation accepted is "
                     + " ".join(k for k in FULL_WIDTH if not k.isalnum() and k != "\u3000")
                     + "; other characters must be ASCII")
    return None
