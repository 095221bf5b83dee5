"""Diagnostics are records: a code, a message for a person, a span and a hint.

Low-level code raises :class:`MedrulesError` with diagnostics that carry spans;
the CLI renders them with the source excerpt (see :mod:`medrules.render`).
"""
from __future__ import annotations

import attrs

from medrules.source import Span


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: str = "error"
    related: tuple[tuple[str, Span], ...] = ()

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "location": self.span.to_json() if self.span else None,
            "related": [{"message": m, "location": s.to_json()} for m, s in self.related],
        }


class MedrulesError(Exception):
    """One or more diagnostics that stop the pipeline. Never shown as a traceback."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(f"{d.span}: {d.code}: {d.message}" for d in self.diagnostics))


def error(code: str, message: str, span: Span | None = None, hint: str | None = None,
          related: tuple[tuple[str, Span], ...] = ()) -> Diagnostic:
    return Diagnostic(code, message, span, hint, "error", related)
