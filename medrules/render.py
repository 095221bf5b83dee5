"""Source excerpts with a caret, shared by diagnostics and explanations."""
from __future__ import annotations

from typing import TYPE_CHECKING

from medrules.diagnostics import Diagnostic
from medrules.source import SourceFile, Span

if TYPE_CHECKING:
    from rich.text import Text


WINDOW = 100  # characters of a long line shown around the place a diagnostic points at


def printable(text: str) -> str:
    """Text safe to show on a terminal: control characters, lone surrogates and text-direction
    controls are written as escapes (``\\x1b``), so a file can never move the cursor or clear the
    screen of whoever reads its diagnostics."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n" else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    o = ord(ch)
    if ch == "\t":
        return " "
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def excerpt(span: Span, source: SourceFile | None) -> str:
    """``  12 |   deductible 300 per year`` and a caret line under the span."""
    if source is None or span.line <= 0:
        return ""
    line = source.line(span.line)
    if not line and span.line > len(source.text.splitlines()):
        return ""
    gutter = f"{span.line:>4} | "
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    if len(line) > 2 * WINDOW:  # a long line: the part around the span, marked with '…'
        first = max(span.col - 1 - WINDOW // 2, 0)
        shown = line[first: first + WINDOW]
        line = ("…" if first else "") + shown + ("…" if first + WINDOW < len(line) else "")
        span = Span(span.file, span.line, span.col - first + (1 if first else 0))
        width = min(width, WINDOW)
    line = "".join(ch if ch.isprintable() else " " if ch == "\t" else "?" for ch in line)  # nothing raw
    # East Asian characters take two columns in a terminal.
    pad = sum(2 if _wide(ch) else 1 for ch in line[: span.col - 1])
    marks = sum(2 if _wide(ch) else 1 for ch in line[span.col - 1: span.col - 1 + width]) or 1
    return f"{gutter}{line}\n{' ' * len(gutter)}{' ' * pad}{'^' * marks}"


def _wide(ch: str) -> bool:
    import unicodedata
    return unicodedata.east_asian_width(ch) in ("W", "F")


SEVERITIES = ("error", "warning", "hint")  # English words; the diagnostics catalog words them (context 'label')


def label(severity: str, lang: str = "en") -> str:
    """A diagnostic's label in ``lang``: 'error' / '错误' (medrules/locale/<lang>/LC_MESSAGES/diagnostics.po)."""
    from medrules.messages import wording
    return wording("label", severity, lang) or severity


def error_count(n: int, lang: str = "en") -> str:
    """The closing line of a run with errors: '2 errors' / '2 个错误'."""
    from medrules.messages import wording
    return wording("count", f"{n} error{'s' if n != 1 else ''}", lang)


def diagnostic_text(d: Diagnostic, sources: dict[str, SourceFile], lang: str = "en") -> Text:
    """A diagnostic the way a compiler shows it: place, message, excerpt, hint, related places
    (``lang``: the language of its labels; the code in brackets stays as it is, for searching)."""
    from rich.text import Text  # here: 'medrules check' of a consistent rulebook does without rich
    out = Text()
    where = printable(f"{d.span}: ") if d.span else ""
    out.append(where, style="bold")
    out.append(label(d.severity, lang), style="bold red" if d.severity == "error" else "bold yellow")
    out.append(f"[{d.code}]: ", style="bold")
    out.append(printable(d.message) + "\n")
    if d.span:
        ex = excerpt(d.span, sources.get(d.span.file))
        if ex:
            out.append(ex + "\n", style="cyan")
    if d.hint:
        out.append(f"  {label('hint', lang)}: ", style="green")
        out.append(printable(d.hint) + "\n")
    for message, span in d.related:
        out.append(printable(f"  {span}: "), style="bold")
        out.append(printable(message) + "\n")
        ex = excerpt(span, sources.get(span.file))
        if ex:
            out.append(ex + "\n", style="cyan")
    return out
