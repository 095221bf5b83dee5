"""Parse: rulebook text -> :class:`medrules.nodes.Rulebook`.

The lark parser is built once (LALR, positions on). A Transformer turns lark
trees into our own nodes, so lark types stop here. Syntax errors become
diagnostics with the drafter's vocabulary, never lark's terminal names.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import attrs
from lark import Lark, Token, Transformer, Tree, v_args
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from medrules import nodes as n
from medrules import units
from medrules import zh
from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.source import SourceFile, Span, unsafe_char

GRAMMAR_FILE = "medrules.lark"


def grammar_text() -> str:
    """The grammar shipped in the wheel (``medrules/grammar``), or the repository's ``grammar/``."""
    packaged = resources.files("medrules") / "grammar" / GRAMMAR_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).parent.parent / "grammar" / GRAMMAR_FILE).read_text(encoding="utf-8")


def parser(lang: str = "en") -> Lark:
    """The parser for rulebooks written with English (``en``) or Chinese (``zh``) keywords."""
    return _parser(lang)  # one cache entry per language: parser() and parser("en") are the same parser


@functools.lru_cache(maxsize=None)
def _parser(lang: str) -> Lark:
    return build_parser(lang)


def build_parser(lang: str, ordered_lexer: bool = True) -> Lark:
    """A new parser (read from the cache file when there is one). ``ordered_lexer``: lark's lexer with
    :mod:`medrules.lexing`'s scanners (the same tokens, fewer regular expressions compiled per process)."""
    from medrules.lexing import plugins
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False,
                   cache=parser_cache_file(lang) or False, _plugins=plugins() if ordered_lexer else {})
    if lang == "zh":
        return Lark(zh.grammar(grammar_text()), postlex=zh.PostLex(), **options)
    return Lark(grammar_text(), **options)


def parser_cache_file(lang: str = "en") -> str | None:
    """Where the built parser is cached between runs (building it takes ~0.4 s): a file in the user's
    cache directory (``$MEDRULES_CACHE_DIR``, else ``$XDG_CACHE_HOME/medrules`` or ``~/.cache/medrules``),
    or None when that directory cannot be written (then the parser is built each run). lark checks the
    grammar's hash stored in the file and rebuilds it when the grammar changed."""
    import os
    import sys

    import lark

    from medrules.startup import cache_dir
    root = cache_dir()
    if root is None:
        return None
    name = "parser" if lang == "en" else f"parser-{lang}"  # one file per keyword language
    return os.path.join(root, f"{name}-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.cache")


@functools.lru_cache(maxsize=None)
def keywords(lang: str = "en") -> frozenset[str]:
    """Terminal names of the words the grammar reserves (``_RATE`` for 'rate', …). Both keyword languages
    have the same terminals (the Chinese words reach the parser through :class:`medrules.zh.PostLex`), so a
    Chinese rulebook reads them from its own parser and does not load the English one."""
    return frozenset(t.name for t in parser(lang).terminals
                     if isinstance(t.pattern, PatternStr) and t.pattern.value.isalpha())


def _parse_tree(text: str, tokens: list | None = None, lang: str = "en"):
    """Parse, letting a keyword stand as a name wherever the parser cannot take it as a keyword.

    LALR merges look-aheads, so after e.g. ``x: money = 0 yuan`` the lexer may offer the
    keyword ``rate`` where only a field name fits. Each keyword is first tried on a copy
    of the parser state; if only a name fits there, it is fed as a name.

    ``tokens``, if given, receives every token as fed (and the Chinese filler words, which
    are not fed): the formatter and the translator work on them.
    """
    ip = parser(lang).parse_interactive(text)
    state, kws, last = ip.parser_state, keywords(lang), None
    for tok in ip.lexer_thread.lex(state):
        if tok.type == zh.FILLER_TYPE:
            if tokens is not None:
                tokens.append(tok)
            continue
        if tok.type in kws and not _accepts(state, tok):
            as_name = Token.new_borrow_pos("NAME", str(tok), tok)
            if _accepts(state, as_name):
                tok = as_name
        state.feed_token(tok)
        if tokens is not None:
            tokens.append(tok)
        last = tok
    return ip.feed_eof(last)


def _accepts(state, tok: Token) -> bool:
    """Would the parser shift ``tok`` here? Runs the LALR actions on a copy of the state stack
    only (no values are built, so nothing shared is touched)."""
    states, stack = state.parse_conf.states, list(state.state_stack)
    while True:
        action = states[stack[-1]].get(tok.type)
        if action is None:
            return False
        kind, arg = action
        if kind is Shift:
            return True
        size = len(arg.expansion)
        if size:
            del stack[-size:]
        stack.append(states[stack[-1]][arg.origin.name][1])


MAX_DEPTH = 100  # nesting of the syntax tree; the shipped rulebooks reach 15


def parse(source: SourceFile) -> n.Rulebook:
    """Parse one rulebook. Raises :class:`MedrulesError` with every problem found."""
    return parse_tokens(source)[0]


def parse_tokens(source: SourceFile) -> tuple[n.Rulebook, list[Token]]:
    """The rulebook and the tokens it was read from (see :func:`_parse_tree`)."""
    _check_characters(source)
    text = zh.normalise(source.text)  # full-width punctuation -> ASCII, one character for one
    lang = zh.language(text)  # the first keyword decides
    tokens: list[Token] = []
    try:
        tree = _parse_tree(text, tokens, lang)
    except UnexpectedInput as exc:
        generic = _syntax_diagnostic(exc, source)
        raise MedrulesError(zh.syntax_diagnostic(exc, source, text, lang, generic) or generic) from None
    mixed = zh.mixed_keywords(tokens, text, source.name) if lang == "zh" else []
    if mixed:
        raise MedrulesError(mixed)
    _check_depth(tree, source)
    builder = _Builder(source.name)
    rulebook = builder.transform(tree)
    if builder.diagnostics:
        raise MedrulesError(builder.diagnostics)
    return attrs.evolve(rulebook, lang=lang, comments=zh.comments(text, source.name)), tokens


def _check_characters(source: SourceFile) -> None:
    """A rulebook is text: no control characters (except tab and line ends) that could reach a terminal."""
    found = unsafe_char(source.text, "\t\n\r")
    if found is not None:
        at, why = found
        line = source.text.count("\n", 0, at) + 1
        col = at - (source.text.rfind("\n", 0, at) + 1) + 1
        raise MedrulesError(error("syntax", f"the rulebook contains {why}", Span(source.name, line, col),
                                  "a rulebook is plain text; remove the character"))


def _check_depth(tree, source: SourceFile) -> None:
    """Refuse expressions nested deeper than MAX_DEPTH (a 500-term 'or', 490 nested 'not'), before
    any recursive pass sees them: walks the tree with an explicit stack."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            line, col = (meta.line, meta.column) if not getattr(meta, "empty", True) else (1, 1)
            raise MedrulesError(error("too-deep", f"this expression is nested more than {MAX_DEPTH} levels deep",
                                      Span(source.name, line, col),
                                      "split it into parameters, or write a long 'or' as 'in [ … ]'"))
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


def parse_file(path: str | Path) -> n.Rulebook:
    return parse(SourceFile.read(path))


# ---------------------------------------------------------------- syntax errors
# Terminal names -> what a drafter would call them.
_WORDS = {
    "NAME": "a name", "STRING": "a quoted text", "MONEY": "an amount such as '300 yuan'",
    "PERCENT": "a rate such as '55%'", "POINTS": "percentage points such as '5 points'",
    "REL_PERCENT": "a relative change such as '20% relative'", "NUMBER": "a number",
    "DATE": "a date such as 2012-01-01", "MONTH_DAY": "a month and day such as 01-01",
    "DAYS": "a number of days such as '90 days'", "MONTHS": "a number of months",
    "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "COLON": "':'",
    "COMMA": "','", "EQUAL": "'='", "CMP": "a comparison such as '=='", "VBAR": "'|'",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "TRUE": "'true'",
    "FALSE": "'false'", "DOT": "'.'", "$END": "the end of the file",
}


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    if terminal.startswith("_"):  # keyword terminals: _DEDUCTIBLE -> 'deductible'
        return f"'{terminal[1:].lower()}'"
    return terminal.lower()


_CLOSERS = ("RBRACE", "RPAR")


def _expected(names: set[str] | frozenset[str]) -> str:
    """The expected tokens in drafter words; closing brackets always make the (shortened) list."""
    closers = [_word(t) for t in _CLOSERS if t in names]
    words = sorted({_word(t) for t in names if t not in _CLOSERS})
    if len(words) + len(closers) > 8:
        words = words[: 8 - len(closers)] + ["…"]
    return ", ".join(words + closers)


def _syntax_diagnostic(exc: UnexpectedInput, source: SourceFile) -> Diagnostic:
    line, col = max(getattr(exc, "line", 1), 1), max(getattr(exc, "column", 1), 1)
    span = Span(source.name, line, col, line, col + 1)
    if isinstance(exc, UnexpectedCharacters):
        char = source.text[exc.pos_in_stream] if exc.pos_in_stream < len(source.text) else ""
        hint = None
        if char == "%":
            hint = "a rate is written with its digits, e.g. '55%'"
        return error("syntax", f"unexpected character {char!r}", span,
                     hint or (f"expected {_expected(exc.allowed)}" if exc.allowed else None))
    if isinstance(exc, UnexpectedEOF):
        last = source.text.rstrip().splitlines() or [""]
        span = Span(source.name, len(last), len(last[-1]) + 1)
        return error("syntax", "the rulebook ends too early", span,
                     f"expected {_expected(exc.expected)}; is a '}}' missing?")
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    if tok.type == "$END":
        last = source.text.rstrip().splitlines() or [""]
        span = Span(source.name, len(last), len(last[-1]) + 1)
        return error("syntax", "the rulebook ends too early", span,
                     f"expected {_expected(exc.expected)}; is a '}}' missing?")
    span = Span(source.name, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + len(tok))
    what = f"name '{tok}'" if tok.type == "NAME" else (
        f"'{tok}'" if tok.type.startswith("_") or tok.type not in _WORDS else f"'{tok}' ({_word(tok.type)})")
    hint = f"expected {_expected(exc.expected)}"
    if "RBRACE" in exc.expected and tok.type.startswith("_"):
        hint += "; is a '}' missing before it?"
    if tok.type == "NAME" and {"MONEY", "NUMBER"} & set(exc.expected):
        hint += "; units are written right after the number: '300 yuan', '5 points', '90 days'"
    if tok.type == "NUMBER" and "MONEY" in exc.expected:
        hint = "an amount needs its unit: write e.g. '300 yuan'"
    return error("syntax", f"unexpected {what}", span, hint)


# ---------------------------------------------------------------- tree -> nodes
_UNESCAPE = re.compile(r"\\(.)")


def _string(tok: Token) -> str:
    return _UNESCAPE.sub(r"\1", str(tok)[1:-1])


def _digits(text: str) -> str:
    return re.match(r"[\d_]+(\.\d+)?", text).group(0).replace("_", "")


@v_args(meta=True)
class _Builder(Transformer):
    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    # -- positions
    def span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, tok: Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def _date(self, tok: Token) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            self.diagnostics.append(error("bad-date", f"'{tok}' is not a calendar date", self.tspan(tok),
                                          "dates are written YYYY-MM-DD"))
            return None

    # -- literals
    def _lit(self, meta, children, value, t):
        tok = children[0]
        return n.Literal(value, t, str(tok), self.tspan(tok))

    def _bounded(self, tok: Token, whole: int, places: int, what: str) -> Decimal:
        """The literal's number, if it has at most ``whole`` digits before the point and ``places``
        after it (amounts below 10^12 yuan, days below 10^5, …): far beyond any policy, and keeps
        arithmetic exact and dates on the calendar. Otherwise a diagnostic, and 0."""
        text = _digits(str(tok))
        integer, _, fraction = text.partition(".")
        if len(integer.lstrip("0")) > whole or len(fraction) > places:
            limit = f"fewer than {whole} digits" + (f" and at most {places} decimals" if places else ", whole")
            self.diagnostics.append(error("bounds", f"'{tok}' is out of range for {what}", self.tspan(tok),
                                          f"{what} are written with {limit}"))
            return Decimal(0)
        return Decimal(text)

    def money(self, meta, c):
        return self._lit(meta, c, self._bounded(c[0], 12, 6, "amounts"), units.MONEY)

    def percent(self, meta, c):
        return self._lit(meta, c, self._bounded(c[0], 4, 6, "rates") / 100, units.RATE)

    def rel_percent(self, meta, c):
        return self._lit(meta, c, self._bounded(c[0], 4, 6, "rates") / 100, units.RELPCT)

    def points(self, meta, c):
        return self._lit(meta, c, self._bounded(c[0], 4, 6, "percentage points") / 100, units.POINTS)

    def days(self, meta, c):
        return self._lit(meta, c, int(self._bounded(c[0], 5, 0, "days")), units.DAYS)

    def months(self, meta, c):
        return self._lit(meta, c, int(self._bounded(c[0], 4, 0, "months")), units.MONTHS)

    def date(self, meta, c):
        return self._lit(meta, c, self._date(c[0]), units.DATE)

    def number(self, meta, c):
        return self._lit(meta, c, self._bounded(c[0], 9, 6, "numbers"), units.COUNT)

    def boolean(self, meta, c):
        return self._lit(meta, c, c[0].type == "TRUE", units.BOOL)

    def nothing(self, meta, c):
        return self._lit(meta, c, None, units.NONE)

    def text(self, meta, c):
        return self._lit(meta, c, _string(c[0]), units.TEXT)

    # -- expressions
    def ref(self, meta, c):
        return n.Ref(tuple(str(t) for t in c), self.span(meta))

    def neg(self, meta, c):
        return n.Unary("-", c[0], self.span(meta))

    def _bin(op):
        def build(self, meta, c):
            return n.Binary(op, c[0], c[1], self.span(meta))
        return build

    add, sub, mul, div = _bin("+"), _bin("-"), _bin("*"), _bin("/")

    def comparison(self, meta, c):
        return n.Comparison(str(c[1]), c[0], c[2], self.span(meta))

    def membership(self, meta, c):
        return n.Membership(c[0], tuple(str(t) for t in c[1:]), False, self.span(meta),
                            tuple(self.tspan(t) for t in c[1:]))

    def non_membership(self, meta, c):
        return n.Membership(c[0], tuple(str(t) for t in c[1:]), True, self.span(meta),
                            tuple(self.tspan(t) for t in c[1:]))

    def and_op(self, meta, c):
        return n.Logic("and", tuple(c), self.span(meta))

    def or_op(self, meta, c):
        return n.Logic("or", tuple(c), self.span(meta))

    def not_op(self, meta, c):
        return n.Logic("not", tuple(c), self.span(meta))

    def call(self, meta, c):
        return n.Call(str(c[0]), tuple(c[1:]), self.span(meta))

    def case(self, meta, c):
        return n.Case(c[0], c[1], self.span(meta))

    def cases(self, meta, c):
        return n.Cases(tuple(c[:-1]), c[-1], self.span(meta))

    def highest(self, meta, c):
        return n.Highest(tuple(c[:-1]), c[-1], self.span(meta))

    # -- citations and labels
    def label(self, meta, c):
        return n.Label(_string(c[0]), _string(c[1]) if len(c) > 1 else None, self.span(meta))

    def note(self, meta, c):
        return ("note", c[0])

    def cites(self, meta, c):
        note = c[-1][1] if isinstance(c[-1], tuple) else None
        c = [x for x in c if not isinstance(x, tuple)]
        article = _string(c[1]) if len(c) == 3 else None
        return n.Citation(str(c[0]), article, _string(c[-1]), note, False, self.span(meta), self.tspan(c[0]))

    def assumed(self, meta, c):
        note = c[-1][1] if isinstance(c[-1], tuple) else None
        return n.Citation(None, None, None, note, True, self.span(meta), assumption=c[0])

    def note_only(self, meta, c):
        return n.Citation(None, None, None, c[0][1], False, self.span(meta))

    # -- header and sources (items are tagged tuples, gathered by their owner)
    def title(self, meta, c):
        return ("title", c[0], self.span(meta))

    def scheme(self, meta, c):
        return ("scheme", _string(c[0]), self.span(meta))

    def jurisdiction(self, meta, c):
        return ("jurisdiction", _string(c[0]), self.span(meta))

    def effective(self, meta, c):
        cit = c.pop() if c and isinstance(c[-1], n.Citation) else None
        return ("effective", (self._date(c[0]), self._date(c[1]) if len(c) > 1 else None, cit), self.span(meta))

    def benefit_year(self, meta, c):
        month, day = (int(x) for x in str(c[0]).split("-"))
        try:
            dt.date(2001, month, day)  # not a leap year: a year that starts on 02-29 has no start in three of four
        except ValueError:
            self.diagnostics.append(error("bad-date", f"'{c[0]}' is not a month and day of every year",
                                          self.tspan(c[0]),
                                          "write the first day of the benefit year as MM-DD, e.g. 01-01"))
            month, day = 1, 1
        return ("benefit_year", ((month, day), c[1]), self.span(meta))

    def rounding(self, meta, c):
        # by its value: 'to 0.010 yuan' is 'to 0.01 yuan', 'to 1.0 yuan' is 'to 1 yuan', '10' stays 10
        quantum = self._bounded(c[1], 9, 9, "rounding quanta").normalize()
        if quantum == quantum.to_integral_value():
            quantum = quantum.quantize(Decimal(1))
        return ("rounding", n.Rounding(str(c[0]), quantum, str(c[2]),
                                       self.span(meta),
                                       self.tspan(c[0]), self.tspan(c[2])), self.span(meta))

    def day_count(self, meta, c):
        cit = c[1] if len(c) > 1 else None
        return ("day_count", (str(c[0]), self.tspan(c[0]), cit), self.span(meta))

    def amends(self, meta, c):
        return ("amends", n.Amends(_string(c[0]), self.span(meta)), self.span(meta))

    def office(self, meta, c):
        return ("office", c[0], self.span(meta))

    def appeal(self, meta, c):
        return ("appeal", c[0], self.span(meta))

    def layers(self, meta, c):
        return ("layers", n.Layers(_string(c[0]), str(c[1]), self.span(meta)), self.span(meta))

    def source_number(self, meta, c):
        return ("number", _string(c[0]), self.span(meta))

    def issued(self, meta, c):
        return ("issued", self._date(c[0]), self.span(meta))

    def _items(self, items: list, what: str) -> dict:
        """Header / source lines by name; a line given twice is reported, the first one kept."""
        seen: dict = {}
        spans: dict = {}
        for key, value, span in items:
            if key in seen:
                self.diagnostics.append(error("duplicate", f"the {what} states '{key.replace('_', ' ')}' twice",
                                              span, "keep one of them", related=(("first stated here", spans[key]),)))
                continue
            seen[key], spans[key] = value, span
        return seen

    def header(self, meta, c):
        items = self._items(c[1:], "rulebook header")
        eff_from, eff_to, eff_cit = items.get("effective", (None, None, None))
        year_starts, dated_by = items.get("benefit_year", ((1, 1), None))
        day_count, day_count_span, day_count_cit = items.get("day_count", ("inclusive", None, None))
        return n.Header(_string(c[0]), items.get("title"), items.get("scheme"), items.get("jurisdiction"),
                        eff_from, eff_to, year_starts, dated_by, items.get("rounding"), self.span(meta),
                        eff_cit, day_count, day_count_span, items.get("layers"), day_count_cit,
                        items.get("amends"), items.get("office"), items.get("appeal"))

    def source(self, meta, c):
        items = self._items(c[1:], f"source '{c[0]}'")
        return n.Source(str(c[0]), items.get("number"), items.get("title"), items.get("issued"),
                        items.get("effective", (None, None, None))[0], self.span(meta))

    # -- declarations
    def enum_member(self, meta, c):
        return n.EnumMember(str(c[0]), c[1] if len(c) > 1 else None, self.span(meta))

    def enum_decl(self, meta, c):
        label = c[1] if isinstance(c[1], n.Label) else None
        members = tuple(x for x in c[1:] if isinstance(x, n.EnumMember))
        return n.EnumDecl(str(c[0]), label, members, self.span(meta))

    def set_of(self, meta, c):
        return ("set", c[0])

    def field(self, meta, c):
        name, type_tok, rest = c[0], c[1], list(c[2:])
        is_set = isinstance(type_tok, tuple)
        if is_set:
            type_tok = type_tok[1]
        label = rest.pop() if rest and isinstance(rest[-1], n.Label) else None
        default = rest[0] if rest else None
        return n.Field(str(name), str(type_tok), default, label, self.span(meta), self.tspan(type_tok), is_set)

    def record(self, meta, c):
        label = c[1] if len(c) > 1 and isinstance(c[1], n.Label) else None  # a history's name for people
        return n.Record(str(c[0]), tuple(x for x in c[1:] if not isinstance(x, n.Label)), self.span(meta), label)

    def parameter(self, meta, c):
        c, cit = self._split_citation(c)
        label = c[3] if len(c) == 4 else None
        return n.Parameter(str(c[0]), str(c[1]), c[2], label, cit, self.span(meta), self.tspan(c[1]))

    def accumulator(self, meta, c):
        label = c[3] if len(c) > 3 else None
        return n.Accumulator(str(c[0]), str(c[1]), str(c[2]), label, self.span(meta),
                             self.tspan(c[1]), self.tspan(c[2]))

    # -- fund clauses
    @staticmethod
    def _split_citation(c):
        if c and isinstance(c[-1], n.Citation):
            return list(c[:-1]), c[-1]
        return list(c), None

    def applies(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Applies(c[0], cit, self.span(meta))

    def base(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Base(c[0], cit, self.span(meta))

    def accumulate(self, meta, c):
        return n.Accumulate(str(c[0]), str(c[1]), self.span(meta), self.tspan(c[0]), self.tspan(c[1]))

    def deductible(self, meta, c):
        c, cit = self._split_citation(c)
        when = c[2] if len(c) > 2 else None
        return n.Deductible(c[0], str(c[1]), when, cit, self.span(meta), self.tspan(c[1]))

    def cap(self, meta, c):
        c, cit = self._split_citation(c)
        holders = tuple(c.pop()) if c and isinstance(c[-1], list) else ()  # 'per holder of …'
        per = str(c[2]) if len(c) > 2 else None
        if per == "year":  # 'per year' is what a cap without 'per' means: say it or not
            per = None
        return n.Cap(str(c[0]), c[1], per, cit, self.span(meta), self.tspan(c[0]),
                     self.tspan(c[2]) if len(c) > 2 else None, holders)

    def cap_holders(self, meta, c):
        return list(c)

    def rate(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Rate(c[0], cit, self.span(meta))

    def band_up_to(self, meta, c):
        return n.Band(None, c[0], c[1], self.span(meta))

    def band_between(self, meta, c):
        return n.Band(c[0], c[1], c[2], self.span(meta))

    def band_above(self, meta, c):
        return n.Band(c[0], None, c[1], self.span(meta))

    def bands(self, meta, c):
        c, cit = self._split_citation(c)
        on = c[0] if isinstance(c[0], Token) else None
        bands = tuple(x for x in c if isinstance(x, n.Band))
        return n.Bands(str(on) if on else None, bands, cit, self.span(meta), self.tspan(on) if on else None)

    def scheme_one(self, meta, c):
        return False, tuple(_string(t) for t in c), tuple(self.tspan(t) for t in c)

    def scheme_highest(self, meta, c):
        return True, tuple(_string(t) for t in c), tuple(self.tspan(t) for t in c)

    def insured(self, meta, c):
        c, cit = self._split_citation(c)
        name, rest = str(c[0]), list(c[1:])
        label = rest.pop(0) if isinstance(rest[0], n.Label) else None
        (highest, paths, spans), when, because = rest
        return n.Insured(name, label, paths, spans, highest, when, because, cit, self.span(meta))

    def recover(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Recover(c[0], c[1], cit, self.span(meta))

    def exclude(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Exclude(c[0], c[1], cit, self.span(meta))

    def treat(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Treat(c[0], c[1], c[2], cit, self.span(meta))

    def flat(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Flat(c[0], cit, self.span(meta))

    def adjust(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Adjust(c[0], c[1], cit, self.span(meta))

    def cliff(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Cliff(c[0], c[1], cit, self.span(meta))

    def fund(self, meta, c):
        name, rest = c[0], c[1:]
        label = rest.pop(0) if rest and isinstance(rest[0], n.Label) else None
        cit = rest.pop(0) if rest and isinstance(rest[0], n.Citation) else None
        return n.Fund(str(name), label, cit, tuple(rest), self.span(meta))

    def under(self, meta, c):
        ref, clause = c
        if len(ref.parts) != 2:
            self.diagnostics.append(error("syntax", "'under' names a reading and one of its alternatives: "
                                          "'under READING.ALTERNATIVE'", ref.span, "e.g. 'under cap_axis.cost'"))
        return n.Under(ref.parts[0], ".".join(ref.parts[1:]), clause, self.span(meta), ref.span)

    def actionable(self, meta, c):
        return n.Actionable(tuple(c), self.span(meta))

    def reading_alternative(self, meta, c):
        return n.ReadingAlternative(str(c[0]), c[1] if len(c) > 1 else None, self.span(meta))

    def reading(self, meta, c):
        name, rest = c[0], list(c[1:])
        label = rest.pop(0) if rest and isinstance(rest[0], n.Label) else None
        alternatives = tuple(x for x in rest if isinstance(x, n.ReadingAlternative))
        rest = [x for x in rest if not isinstance(x, n.ReadingAlternative)]
        chosen = rest.pop(0)
        cit = rest.pop(0) if rest and isinstance(rest[0], n.Citation) else None
        return n.Reading(str(name), label, alternatives, str(chosen), cit, self.span(meta), self.tspan(chosen),
                         str(chosen))

    def total(self, meta, c):
        return n.Total(c[0], self.span(meta))

    # -- contributions (premium side)
    def premium(self, meta, c):
        c, cit = self._split_citation(c)
        return n.Premium(c[0], cit, self.span(meta))

    def subsidy(self, meta, c):
        c, cit = self._split_citation(c)
        name, rest = c[0], c[1:]
        label = rest.pop(0) if isinstance(rest[0], n.Label) else None
        when = rest[1] if len(rest) > 1 else None
        return n.Subsidy(str(name), label, rest[0], when, cit, self.span(meta), self.tspan(name))

    def prorate(self, meta, c):
        c, cit = self._split_citation(c)
        start, end = c[0], c[1]
        when = c[2] if len(c) == 5 else None
        mode, quantum = c[-2], c[-1]

        def month_day(tok):
            month, day = (int(x) for x in str(tok).split("-"))
            try:
                dt.date(2000, month, day)
            except ValueError:
                self.diagnostics.append(error("bad-date", f"'{tok}' is not a day of the year", self.tspan(tok),
                                              "write MM-DD, e.g. 09-01"))
                return (1, 1)
            return (month, day)

        return n.Prorate(month_day(start), month_day(end), when, str(mode), Decimal(_digits(quantum)), cit,
                         self.span(meta), self.tspan(mode), self.tspan(start), self.tspan(end))

    def contribution(self, meta, c):
        name, rest = c[0], c[1:]
        label = rest.pop(0) if rest and isinstance(rest[0], n.Label) else None
        cit = rest.pop(0) if rest and isinstance(rest[0], n.Citation) else None
        return n.Contribution(str(name), label, cit, tuple(rest), self.span(meta))

    def start(self, meta, c):
        def of(kind):
            return tuple(x for x in c if isinstance(x, kind))

        headers = of(n.Header)
        for extra in headers[1:]:
            self.diagnostics.append(error("duplicate", "a rulebook has one 'rulebook' header", extra.span,
                                          related=(("first header here", headers[0].span),)))
        totals = of(n.Total)
        for extra in totals[1:]:
            self.diagnostics.append(error("duplicate", "'total cost' is stated twice", extra.span,
                                          related=(("first stated here", totals[0].span),)))
        return n.Rulebook(self.file, headers[0] if headers else None, of(n.Source), of(n.EnumDecl),
                          of(n.Record), of(n.Parameter), of(n.Accumulator), of(n.Fund),
                          totals[0] if totals else None, self.span(meta), of(n.Exclude), of(n.Treat),
                          readings=of(n.Reading), actionable=of(n.Actionable), contributions=of(n.Contribution),
                          memberships=of(n.Insured), recoveries=of(n.Recover))
