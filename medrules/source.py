"""Source files and spans: where every node, diagnostic and trace step points."""
from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen
class SourceFile:
    """A rulebook or facts file: its name as the user gave it and its full text."""

    name: str
    text: str = attrs.field(repr=False)

    @classmethod
    def read(cls, path: str | Path) -> SourceFile:
        # utf-8-sig: a byte-order mark some Windows editors write is not part of the text
        return cls(str(path), Path(path).read_text(encoding="utf-8-sig"))

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


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

