"""SARIF 2.1.0: diagnostics as static-analysis results, for CI annotations (GitHub code scanning, …).

One run, tool ``medrules``; one rule per diagnostic code; each result with its level, message
(the hint appended), location (file, 1-based line and column, end when known) and related locations.
"""
from __future__ import annotations

import medrules
from medrules.diagnostics import Diagnostic
from medrules.source import Span

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVELS = {"error": "error", "warning": "warning", "info": "note", "note": "note"}


def _region(span: Span) -> dict:
    region = {"startLine": max(span.line, 1), "startColumn": max(span.col, 1)}
    if span.end_line and (span.end_line, span.end_col) > (span.line, span.col):
        region |= {"endLine": span.end_line, "endColumn": max(span.end_col, 1)}
    return region


def _location(span: Span, message: str | None = None) -> dict:
    loc: dict = {"physicalLocation": {"artifactLocation": {"uri": span.file.replace("\\", "/")},
                                      "region": _region(span)}}
    if message:
        loc["message"] = {"text": message}
    return loc


def _result(d: Diagnostic, rule_index: int) -> dict:
    text = d.message + (f" (hint: {d.hint})" if d.hint else "")
    result: dict = {"ruleId": d.code, "ruleIndex": rule_index, "level": _LEVELS.get(d.severity, "warning"),
                    "message": {"text": text}}
    if d.span is not None:
        result["locations"] = [_location(d.span)]
    if d.related:
        result["relatedLocations"] = [_location(span, message) | {"id": i}
                                      for i, (message, span) in enumerate(d.related)]
    return result


def sarif(diagnostics: list[Diagnostic]) -> dict:
    """A SARIF log with one run holding every diagnostic."""
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    rules = [{"id": code, "name": code, "shortDescription": {"text": f"medrules {code}"}} for code in codes]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "medrules", "version": medrules.__version__,
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(d, index[d.code]) for d in diagnostics],
        }],
    }
