"""Files named on the command line: read only what is a rulebook or a facts file, and never quote the rest.

The rule (docs/tools.md, "Files named on the command line"), checked before a diagnostic may quote a file:

1. **A regular file.** Devices (``/dev/zero``, a terminal), FIFOs, sockets and folders are refused when
   opened, before anything is read; so is anything under ``/proc``, ``/sys`` or ``/dev`` (where a
   "regular" file such as ``/proc/self/environ`` holds the process's secrets, and ``/dev/stdin`` may
   block). Standard input is read only when asked for explicitly with ``-``.
2. **Bounded.** A rulebook is at most :data:`~medrules.source.MAX_RULEBOOK_BYTES`, a facts file at most
   :data:`~medrules.source.MAX_FACTS_BYTES`; reading stops one byte past the bound.
3. **UTF-8**, reported at the line and column of the first bad byte, without quoting it.
4. **It looks like what it should be.** A rulebook either has the ``.mr`` suffix or starts with a
   rulebook header (``rulebook "…"`` or ``规则书 "…"``, after blank lines and ``#`` comments); a facts file
   either has the ``.json`` suffix or starts with ``{``. A file that does neither is refused in one line,
   its content unread by any diagnostic: ``medrules check /etc/passwd`` does not print root's line.

A file that passes may be quoted in diagnostics (it is the user's rulebook or facts).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from medrules.diagnostics import MedrulesError, error
from medrules.source import MAX_FACTS_BYTES, MAX_RULEBOOK_BYTES, SourceFile, Span

STDIN = "-"
STDIN_NAME = "<stdin>"
SYSTEM = ("/proc", "/sys", "/dev")  # pseudo-file systems: never a user's rulebook or facts
RULEBOOK_SUFFIX, FACTS_SUFFIX = ".mr", ".json"
_HEADER = re.compile(r"\A(?:[ \t\r\f]*(?:#[^\n]*)?\n)*[ \t\r\f]*(?:rulebook|规则书)(?![\w])")
_OBJECT = re.compile(r"\A[ \t\r\n\f]*\{")


def limit_for(what: str) -> int:
    return MAX_FACTS_BYTES if what == "facts" else MAX_RULEBOOK_BYTES


def read_stdin(what: str, stream=None) -> SourceFile:
    """Standard input, asked for with ``-``: at most the bound for ``what``, UTF-8 (a byte-order mark dropped)."""
    stream = stream if stream is not None else sys.stdin
    limit = limit_for(what)
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        data = raw.read(limit + 1)
        if len(data) > limit:
            raise MedrulesError(error("io", f"standard input is larger than {limit:,} bytes", None,
                                      f"is this a {what} file?"))
        return _decoded(STDIN_NAME, data)
    text = stream.read(limit + 1)  # a text stream (tests): characters, a bound all the same
    if len(text) > limit:
        raise MedrulesError(error("io", f"standard input is larger than {limit:,} characters", None,
                                  f"is this a {what} file?"))
    return SourceFile(STDIN_NAME, text.removeprefix("\ufeff"))


def _decoded(name: str, data: bytes) -> SourceFile:
    from medrules.source import position_of
    try:
        return SourceFile(name, data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line, col = position_of(data, exc.start)
        raise MedrulesError(error("io", f"this is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                                  Span(name, line, col, line, col + 1), "save the file as UTF-8")) from None


def system_path(path: str | Path) -> str | None:
    """The pseudo-file system a path leads into (after links: ``/dev/stdin`` → ``/proc/self/fd/0``), or None."""
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        for top in SYSTEM:
            if candidate == top or candidate.startswith(top + "/"):
                return top
    return None


def open_named(path: str | Path, what: str):
    """A regular file named by the user, opened for reading in binary (for files read piece by piece)."""
    import stat
    top = system_path(path)
    if top is not None:
        raise MedrulesError(error("io", f"{path} is {_kind(top)} (in {top}), not a {what} file", None,
                                  f"name a {what} file"))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer must not hang
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what_it_is = "a folder" if stat.S_ISDIR(mode) else "a device or special file"
        raise MedrulesError(error("io", f"{path} is {what_it_is}, not a file", None, "name a regular file"))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _kind(top: str) -> str:
    return "a device or special file" if top == "/dev" else "a system file"


def read_named(path: str | Path, what: str) -> SourceFile:
    """A rulebook or facts file named by the user (``what``: rulebook | facts | anything else: no sniffing).

    Raises FileNotFoundError and OSError as :meth:`SourceFile.read` does, MedrulesError for the rest."""
    top = system_path(path)
    if top is not None:
        raise MedrulesError(error("io", f"{path} is {_kind(top)} (in {top}), not a {what} file", None,
                                  f"name a {what} file" + (" or '-' for standard input" if what == "facts" else "")))
    if what == "facts":  # larger than one member's facts: said before a byte is read, with what settles it
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0  # reading says why
        if size > MAX_FACTS_BYTES:
            raise MedrulesError(error("facts-size", f"{path} is {size:,} bytes; a facts file is one member's facts, "
                                      f"read whole, at most {MAX_FACTS_BYTES:,} bytes", Span(str(path), 1, 1),
                                      "settle claim files in bulk with 'medrules settle RULEBOOK FILE --out "
                                      "results.parquet' (docs/batch.md), or give 'medrules run' one member per "
                                      "line in a JSON Lines file (.jsonl)"))
    source = SourceFile.read(path, limit_for(what))  # regular files only, bounded, UTF-8
    name = str(path)
    if what == "rulebook" and not name.endswith(RULEBOOK_SUFFIX) and not _HEADER.match(source.text):
        raise MedrulesError(error("io", f"{path} does not look like a rulebook: it has no {RULEBOOK_SUFFIX} suffix "
                                  "and does not start with 'rulebook \"…\"'", Span(name, 1, 1),
                                  "name a rulebook file (.mr); its content is not shown"))
    if what == "facts" and not name.endswith(FACTS_SUFFIX) and not _OBJECT.match(source.text):
        raise MedrulesError(error("io", f"{path} does not look like a facts file: it has no {FACTS_SUFFIX} suffix "
                                  "and does not start with '{'", Span(name, 1, 1),
                                  "name a facts file (JSON, docs/facts.md); its content is not shown"))
    return source
