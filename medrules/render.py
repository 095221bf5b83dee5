"""Source excerpts with a caret, shared by diagnostics and explanations."""
from __future__ import annotations

from rich.text import Text

from medrules.diagnostics import Diagnostic
from medrules.source import SourceFile, Span


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
    # East Asian characters take two columns in a terminal.
    pad = sum(2 if _wide(ch) else 1 for ch in line[: span.col - 1])
    marks = sum(2 if _wide(ch) else 1 for ch in line[span.col - 1: span.col - 1 + width]) or 1
    return f"{gutter}{line}\n{' ' * len(gutter)}{' ' * pad}{'^' * marks}"


def _wide(ch: str) -> bool:
    import unicodedata
    return unicodedata.east_asian_width(ch) in ("W", "F")


def diagnostic_text(d: Diagnostic, sources: dict[str, SourceFile]) -> Text:
    """A diagnostic the way a compiler shows it: place, message, excerpt, hint, related places."""
    out = Text()
    where = f"{d.span}: " if d.span else ""
    out.append(where, style="bold")
    out.append(f"{d.severity}", style="bold red" if d.severity == "error" else "bold yellow")
    out.append(f"[{d.code}]: ", style="bold")
    out.append(d.message + "\n")
    if d.span:
        ex = excerpt(d.span, sources.get(d.span.file))
        if ex:
            out.append(ex + "\n", style="cyan")
    if d.hint:
        out.append("  hint: ", style="green")
        out.append(d.hint + "\n")
    for message, span in d.related:
        out.append(f"  {span}: ", style="bold")
        out.append(message + "\n")
        ex = excerpt(span, sources.get(span.file))
        if ex:
            out.append(ex + "\n", style="cyan")
    return out
