"""One line on standard output without importing rich, when rich would print it unchanged.

``medrules check`` on a consistent rulebook prints one line (``✓ FILE: rulebook 'ID' is consistent — …``); rich
(~25 ms of imports) is needed only when that line would be coloured, wrapped or changed by rich's markup or
emoji codes. :func:`prints_as_is` says when none of that applies, so ``sys.stdout.write`` gives the same bytes
(tests/test_plainout.py compares the two on many lines, with and without the conditions).
"""
from __future__ import annotations

import builtins
import os
import sys

WIDTH = 160  # what medrules.cli's console uses when the output is not a terminal and COLUMNS is not set
# rich reads these: colour forced, a terminal assumed, a width, Jupyter's sizes
RICH_ENVIRONMENT = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "JUPYTER_COLUMNS", "JUPYTER_LINES")
SAFE_SYMBOLS = frozenset("✓—")  # one cell each in rich (cell_len), printable, not markup


def prints_as_is(line: str, stream=None) -> bool:
    """Would rich's ``Console().print(line)`` on ``stream`` (standard output) write exactly ``line`` and a line end?

    True when: the stream is not a terminal (rich neither colours nor styles) and is UTF-8; nothing in the
    environment changes rich's mind about either or about the width; the line is printable ASCII (plus ✓ and —),
    shorter than the width (no wrapping), without '[' or '\\' (no markup) and with at most one ':' (no emoji code
    such as ':smile:')."""
    stream = sys.stdout if stream is None else stream
    if any(name in os.environ for name in RICH_ENVIRONMENT) or sys.platform == "win32":
        return False
    if hasattr(builtins, "get_ipython") or getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return False
    try:
        if stream.isatty() or (getattr(stream, "encoding", None) or "").lower().replace("-", "") != "utf8":
            return False
    except (AttributeError, ValueError):  # no isatty, or a closed stream: let rich decide
        return False
    if len(line) >= WIDTH or "[" in line or "\\" in line or line.count(":") > 1:
        return False
    return all(" " <= ch <= "~" or ch in SAFE_SYMBOLS for ch in line)


def print_line(console, line: str, markup) -> None:
    """Print ``line`` on standard output as ``console.print(markup())`` would (``markup``: makes the same text with
    rich markup and escapes): written directly when :func:`prints_as_is`, else by rich."""
    if prints_as_is(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()  # as rich does after each print: the order of stdout and stderr is kept
        return
    console.print(markup())


def print_consistent(console, file: str, rulebook: str, counts: str) -> None:
    """``✓ FILE: rulebook 'ID' is consistent — COUNTS`` (``medrules check``), the ✓ green on a terminal."""
    def markup() -> str:
        from rich.markup import escape
        return f"[green]✓[/green] {escape(file)}: rulebook '{escape(rulebook)}' is consistent — {counts}"
    print_line(console, f"✓ {file}: rulebook '{rulebook}' is consistent — {counts}", markup)
