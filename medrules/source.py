"""Source files and spans: where every node, diagnostic and trace step points."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import attrs

MAX_RULEBOOK_BYTES = 2 * 1024 * 1024  # a rulebook is a few dozen KB; this bounds a runaway file
MAX_FACTS_BYTES = 64 * 1024 * 1024  # one member's facts: 100,000 claims (facts.MAX_CLAIMS) fit in it


@attrs.frozen
class SourceFile:
    """A rulebook or facts file: its name as the user gave it and its full text."""

    name: str
    text: str = attrs.field(repr=False)

    @classmethod
    def read(cls, path: str | Path, limit: int = MAX_RULEBOOK_BYTES, regular_only: bool = True) -> SourceFile:
        """Read a UTF-8 file of at most ``limit`` bytes.

        Only regular files (and, with ``regular_only=False``, pipes) are read: a device such as
        /dev/zero or a terminal is refused at once. Bad UTF-8 is reported at its line and column.
        Raises OSError for files that cannot be opened, MedrulesError for the rest.
        """
        data = read_bytes(path, limit, regular_only)
        # utf-8-sig: a byte-order mark some Windows editors write is not part of the text
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line, col = position_of(data, exc.start)
            raise _refused(path, f"this is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                           Span(str(path), line, col, line, col + 1),
                           "save the file as UTF-8") from None
        return cls(str(path), text)

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


def unsafe_char(text: str, allowed: str = "") -> tuple[int, str] | None:
    """The first character (index, why) that must not reach a terminal: a control character
    (ESC, BEL, …, except those in ``allowed``), a lone surrogate, a line separator or a
    text-direction control. None if the text is safe."""
    if text.isprintable():
        return None
    for i, ch in enumerate(text):
        if ch.isprintable() or ch in allowed or ch == " ":
            continue
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            return i, f"a control character (U+{o:04X})"
        if 0xD800 <= o < 0xE000:
            return i, f"a lone surrogate (U+{o:04X})"
        if o in (0x2028, 0x2029, 0x200E, 0x200F, 0x061C) or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            return i, f"a line separator or a text-direction control (U+{o:04X})"
    return None


def read_bytes(path: str | Path, limit: int, regular_only: bool = True) -> bytes:
    # O_NONBLOCK: opening a FIFO without a writer must not hang; the mode is checked before any read
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or (not regular_only and stat.S_ISFIFO(mode))):
            what = "a folder" if stat.S_ISDIR(mode) else "a device or special file"
            raise _refused(path, f"{path} is {what}, not a file", None,
                           "name a regular file" if regular_only else "name a file or a pipe")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _refused(path, f"{path} is larger than {limit:,} bytes", None, "is this the right file?")
        return b"".join(chunks)
    finally:
        os.close(fd)


def position_of(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", errors="replace")) + 1


def _refused(path, message: str, span, hint: str):
    from medrules.diagnostics import MedrulesError, error  # diagnostics imports this module
    return MedrulesError(error("io", message, span, hint))


@attrs.frozen
class Span:
    """A region of a source file. Lines and columns are 1-based."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "col": self.col}
