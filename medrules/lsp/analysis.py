"""What the language server knows about one open rulebook, and the answers it gives.

Plain functions over 1-based lines and columns (the protocol layer in :mod:`medrules.lsp.server`
converts): diagnostics (syntax errors with recovery, then the checker's errors and warnings),
hover, go to definition, completion and the outline.
"""
from __future__ import annotations

import re
from pathlib import Path

import attrs

import medrules
from medrules import nodes as n
from medrules.check.context import FUND_OUTPUTS
from medrules.check.reachability import expr_text
from medrules.diagnostics import Diagnostic, MedrulesError
from medrules.lsp.recover import STATEMENT_WORDS, parse_recovering
from medrules.source import SourceFile, Span


@attrs.frozen
class Analysis:
    name: str  # the file's path (or the editor's name for an unsaved buffer)
    text: str
    own: n.Rulebook | None  # this file as parsed (broken statements left out)
    resolved: n.Rulebook | None  # with its amendments applied, when it loads
    checked: object  # CheckedRulebook when the rulebook loads without errors
    diagnostics: tuple[Diagnostic, ...]

    @property
    def rulebooks(self) -> list[n.Rulebook]:
        """Where to look names up: the resolved rulebook (amended base included) first, then this file."""
        return [r for r in (self.resolved, self.own) if r is not None]


def analyse(name: str, text: str, read_other=SourceFile.read) -> Analysis:
    """Parse with recovery; if nothing is broken, load (amendments, layering) and check, with warnings.
    Never raises: an unexpected failure is one 'internal' diagnostic at the top of the file."""
    try:
        return _analyse(name, text, read_other)
    except Exception as exc:  # noqa: BLE001 - the editor shows a message, never a traceback
        from medrules.diagnostics import error
        return Analysis(name, text, None, None, None, (error(
            "internal", f"internal error: {type(exc).__name__}: {exc} (please report it)", Span(name, 1, 1)),))


def _analyse(name: str, text: str, read_other) -> Analysis:
    source = SourceFile(name, text)
    own, diagnostics = parse_recovering(source)
    if diagnostics or own is None:
        return Analysis(name, text, own, None, None, tuple(diagnostics))

    def read(path):
        if Path(path).resolve() == Path(name).resolve():
            return source
        return read_other(path)

    try:
        program = medrules.load(name, read=read)
    except MedrulesError as exc:
        return Analysis(name, text, own, _resolved_only(name, read), None, tuple(exc.diagnostics))
    except OSError:
        return Analysis(name, text, own, None, None, ())
    from medrules.check.reachability import warnings
    return Analysis(name, text, own, program.checked.rulebook, program.checked, tuple(warnings(program.checked)))


def _resolved_only(name: str, read) -> n.Rulebook | None:
    """The rulebook with its amendments applied, even when it does not check (for navigation)."""
    try:
        return medrules._resolve(Path(name), read, (), medrules.rulebook_root(name))
    except (MedrulesError, OSError):
        return None


# ---------------------------------------------------------------- words under the cursor
_WORD = re.compile(r"[^\W\d][\w]*(?:\.[^\W\d][\w]*)*")


def word_at(text: str, line: int, col: int) -> tuple[str, int, int] | None:
    """The dotted name under (line, col), 1-based: (name, start col, end col), or None.
    On ``claim.kind`` the whole name is returned when the cursor is on either part."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    for m in _WORD.finditer(lines[line - 1]):
        if m.start() + 1 <= col <= m.end() + 1 and not _in_string(lines[line - 1], m.start()):
            return m.group(0), m.start() + 1, m.end() + 1
    return None


def _in_string(line: str, index: int) -> bool:
    quotes = 0
    i = 0
    while i < index:
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == '"':
            quotes += 1
        elif line[i] == "#" and quotes % 2 == 0:
            return True  # a comment
        i += 1
    return quotes % 2 == 1


@attrs.frozen
class Target:
    kind: str  # parameter, fact, accumulator, fund, fund_output, source, enum, enum_member, record
    name: str
    node: object
    span: Span
    extra: object = None


def lookup(a: Analysis, word: str) -> Target | None:
    """What a name means in this rulebook (declarations in an amended base file included)."""
    parts = word.split(".")
    for rb in a.rulebooks:
        if len(parts) == 2 and any(r.kind == parts[0] for r in rb.records):  # member, claim, household or a history
            for rec in rb.records:
                if rec.kind == parts[0]:
                    for f in rec.fields:
                        if f.name == parts[1]:
                            return Target("fact", word, f, f.span, rec.kind)
        if len(parts) == 1:
            rec = next((r for r in rb.records if r.kind == parts[0]), None)
            if rec is not None:
                return Target("record", word, rec, rec.span)
        fund = next((f for f in rb.funds if f.name == parts[0]), None)
        if fund is not None:
            if len(parts) == 2 and parts[1] in FUND_OUTPUTS:
                return Target("fund_output", word, fund, fund.span, parts[1])
            return Target("fund", fund.name, fund, fund.span)
        if len(parts) != 1:
            continue
        name = parts[0]
        for kind, items in (("parameter", rb.parameters), ("accumulator", rb.accumulators),
                            ("source", rb.sources), ("enum", rb.enums)):
            for item in items:
                if item.name == name:
                    return Target(kind, name, item, item.span)
        for e in rb.enums:
            for m in e.members:
                if m.name == name:
                    return Target("enum_member", name, m, m.span, e)
    return None


# ---------------------------------------------------------------- hover
def _label(label: n.Label | None) -> str:
    if label is None:
        return ""
    return label.zh + (f" | {label.en}" if label.en else "")


def _citation(a: Analysis, cit: n.Citation | None) -> list[str]:
    if cit is None:
        return []
    out = []
    if cit.assumed:
        out.append(f"⚠ assumed: {_label(cit.assumption)}")
    elif cit.source:
        number = next((s.number for rb in a.rulebooks for s in rb.sources if s.name == cit.source and s.number),
                      cit.source)
        out.append(f"§ {number}" + (f" {cit.article}" if cit.article else "") +
                   (f": “{cit.quote}”" if cit.quote else ""))
    if cit.note:
        out.append(f"note: {_label(cit.note)}")
    return out


def _roles(a: Analysis, accumulator: str) -> list[str]:
    rb = a.resolved or a.own
    return [f"`{f.name}` accumulates its {c.role} in it" for f in rb.funds for c in f.clauses
            if isinstance(c, n.Accumulate) and c.accumulator == accumulator]


def hover(a: Analysis, line: int, col: int) -> tuple[str, Span] | None:
    """Markdown for the name under the cursor, and the span of that name."""
    found = word_at(a.text, line, col)
    if found is None:
        return None
    word, start, end = found
    t = lookup(a, word)
    if t is None:
        return None
    span = Span(a.name, line, start, line, end)
    node = t.node
    if t.kind == "parameter":
        lines = [f"**parameter** `{t.name}`: {node.type_name} = `{expr_text(node.value)}`"]
        if node.label:
            lines.append(_label(node.label))
        lines += _citation(a, node.citation)
    elif t.kind == "fact":
        kind = f"set of {node.type_name}" if node.is_set else node.type_name
        lines = [f"**fact** `{t.name}`: {kind}" + (f" = {expr_text(node.default)}" if node.default else "")]
        if node.label:
            lines.append(_label(node.label))
        enum = next((e for rb in a.rulebooks for e in rb.enums if e.name == node.type_name), None)
        if enum is not None:
            lines.append("one of: " + ", ".join(f"`{m.name}`" for m in enum.members))
    elif t.kind == "accumulator":
        lines = [f"**accumulator** `{t.name}`: {node.type_name} per {node.period}"]
        if node.label:
            lines.append(_label(node.label))
        lines += _roles(a, t.name) or ["no fund accumulates in it"]
    elif t.kind == "fund":
        lines = [f"**fund** `{t.name}`" + (f" — {_label(node.label)}" if node.label else "")]
        lines += _citation(a, node.citation)
    elif t.kind == "fund_output":
        lines = [f"**{t.extra}** of fund `{node.name}`: {FUND_OUTPUTS[t.extra]}"]
    elif t.kind == "source":
        lines = [f"**source** `{t.name}`" + (f": {node.number}" if node.number else "")]
        if node.title:
            lines.append(_label(node.title))
        if node.issued:
            lines.append(f"issued {node.issued}")
    elif t.kind == "enum":
        lines = [f"**enum** `{t.name}`" + (f" — {_label(node.label)}" if node.label else ""),
                 ", ".join(f"`{m.name}`" for m in node.members)]
    elif t.kind == "enum_member":
        lines = [f"`{t.name}`: member of enum `{t.extra.name}`" + (f" — {_label(node.label)}" if node.label else "")]
    else:
        lines = [f"**{t.kind}** `{t.name}`"]
    return "\n\n".join(lines), span


# ---------------------------------------------------------------- go to definition
_PATH_STATEMENT = re.compile(r'^\s*(?:amends|layers\s+on)\s+"([^"]+)"')


def definition(a: Analysis, line: int, col: int) -> Span | None:
    lines = a.text.split("\n")
    if 1 <= line <= len(lines):
        m = _PATH_STATEMENT.match(lines[line - 1])
        if m and m.start(1) <= col - 1 <= m.end(1):
            target = medrules.resolve_rulebook_path(Path(a.name).parent / m.group(1))
            return Span(str(target), 1, 1, 1, 1)
    found = word_at(a.text, line, col)
    if found is None:
        return None
    t = lookup(a, found[0])
    if t is None:
        return None
    return t.span


# ---------------------------------------------------------------- completion
def keyword_words(text: str = "") -> list[str]:
    """The reserved words in the file's language: Chinese ones (medrules.lexicon, when the project has
    the Chinese keyword set) for a file written with them, else the grammar's English words."""
    from medrules.highlight import CJK_RUN, keyword_words as english, zh_keyword_words
    zh = zh_keyword_words()
    if zh and re.search(CJK_RUN, re.sub(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*', "", text)):
        return sorted(zh)
    return sorted(set(english()) | set(STATEMENT_WORDS))


def completions(a: Analysis, line: int, col: int) -> list[tuple[str, str, str]]:
    """(label, kind, detail) for what may be written at the cursor."""
    lines = a.text.split("\n")
    before = lines[line - 1][: col - 1] if 1 <= line <= len(lines) else ""
    rbs = a.rulebooks
    m = re.search(r"\b(claim|member|household)\.(\w*)$", before)
    if m:
        seen, out = set(), []
        for rb in rbs:
            for rec in rb.records:
                if rec.kind == m.group(1):
                    for f in rec.fields:
                        if f.name not in seen:
                            seen.add(f.name)
                            out.append((f.name, "fact", f"{f.type_name} {_label(f.label)}".strip()))
        return out
    m = re.search(r"\b([^\W\d]\w*)\.(\w*)$", before)
    if m and any(f.name == m.group(1) for rb in rbs for f in rb.funds):
        return [(k, "fund_output", v) for k, v in FUND_OUTPUTS.items()]
    out, seen = [], set()

    def add(label, kind, detail=""):
        if label not in seen:
            seen.add(label)
            out.append((label, kind, detail))

    for rb in rbs:
        for rec in rb.records:
            for f in rec.fields:
                add(f"{rec.kind}.{f.name}", "fact", f"{f.type_name} {_label(f.label)}".strip())
        for e in rb.enums:
            for mem in e.members:
                add(mem.name, "enum_member", f"{e.name} {_label(mem.label)}".strip())
        for p in rb.parameters:
            add(p.name, "parameter", f"{p.type_name} = {expr_text(p.value)}")
        for acc in rb.accumulators:
            add(acc.name, "accumulator", f"{acc.type_name} per {acc.period}")
        for f in rb.funds:
            add(f.name, "fund", _label(f.label))
        for s in rb.sources:
            add(s.name, "source", s.number or "")
    for word in keyword_words(a.text):
        add(word, "keyword")
    return out


# ---------------------------------------------------------------- outline
@attrs.frozen
class Symbol:
    name: str
    kind: str  # source, enum, enum_member, record, field, parameter, accumulator, fund, clause, exclude, treat
    detail: str
    span: Span
    children: tuple = ()


def _clause_name(c) -> str:
    words = {n.Applies: "applies", n.Exclude: "exclude", n.Base: "base", n.Accumulate: "accumulate",
             n.Deductible: "deductible", n.Cap: "cap", n.Rate: "rate", n.Bands: "bands", n.Flat: "flat",
             n.Adjust: "adjust", n.Cliff: "cliff"}
    return words.get(type(c), type(c).__name__.lower())


def symbols(a: Analysis) -> list[Symbol]:
    """The outline of this file (its own statements, not the amended base's)."""
    rb = a.own
    if rb is None:
        return []
    out = []
    if rb.header is not None:
        out.append(Symbol(rb.header.id, "rulebook", _label(rb.header.title), rb.header.span))
    out += [Symbol(s.name, "source", s.number or "", s.span) for s in rb.sources]
    out += [Symbol(e.name, "enum", _label(e.label), e.span,
                   tuple(Symbol(m.name, "enum_member", _label(m.label), m.span) for m in e.members)) for e in rb.enums]
    out += [Symbol(r.kind, "record", "facts", r.span,
                   tuple(Symbol(f.name, "field", f.type_name, f.span) for f in r.fields)) for r in rb.records]
    out += [Symbol(p.name, "parameter", f"{p.type_name} = {expr_text(p.value)}", p.span) for p in rb.parameters]
    out += [Symbol(x.name, "accumulator", f"{x.type_name} per {x.period}", x.span) for x in rb.accumulators]
    out += [Symbol(f"treat {t.target.text}", "treat", expr_text(t.value), t.span) for t in rb.treatments]
    out += [Symbol("exclude", "exclude", x.reason.best("zh"), x.span) for x in rb.exclusions]
    out += [Symbol(f.name, "fund", _label(f.label), f.span,
                   tuple(Symbol(_clause_name(c), "clause", "", c.span) for c in f.clauses)) for f in rb.funds]
    out += [Symbol(f"insured {m.name}", "insured", _label(m.label), m.span) for m in rb.memberships]
    out += [Symbol("recover", "recover", r.because.best("zh"), r.span) for r in rb.recoveries]
    return sorted(out, key=lambda s: (s.span.line, s.span.col))
