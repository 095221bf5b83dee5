"""Errors as JSON: the same located diagnostics the CLI prints, with an HTTP status."""
from __future__ import annotations

from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.render import excerpt
from medrules.source import SourceFile

# What kind of mistake -> HTTP status. Anything a request got wrong that is not listed is 422.
STATUS = {"rulebook": 404, "not-found": 404, "facts-syntax": 400, "request": 400, "encoding": 400,
          "auth": 401, "forbidden": 403, "too-large": 413, "rate-limit": 429, "conflict": 409}


class HTTPProblem(Exception):
    """A MedrulesError with the sources to quote and an HTTP status."""

    def __init__(self, exc: MedrulesError, sources: dict[str, SourceFile] | None = None, status: int | None = None,
                 headers: dict | None = None):
        self.diagnostics = exc.diagnostics
        self.sources = sources or {}
        self.status = status or max(STATUS.get(d.code, 422) for d in exc.diagnostics)
        self.headers = headers


def problem(code: str, message: str, hint: str | None = None, status: int | None = None,
            headers: dict | None = None) -> HTTPProblem:
    return HTTPProblem(MedrulesError(error(code, message, hint=hint)), status=status, headers=headers)


def diagnostic_json(d: Diagnostic, sources: dict[str, SourceFile]) -> dict:
    out = d.to_json()
    span = d.span
    out.update(file=span.file if span else None, line=span.line if span else None, col=span.col if span else None)
    out["excerpt"] = excerpt(span, sources.get(span.file)) if span else ""
    return out


def body(p: HTTPProblem) -> dict:
    return {"errors": [diagnostic_json(d, p.sources) for d in p.diagnostics]}
