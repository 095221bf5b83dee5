"""Diagnose: check rulebook files, policy-year folders or standard input, and collect every
diagnostic (errors and warnings) as records, for the terminal, JSON, SARIF and the language server.

Nothing here prints. A file that fails to load yields its errors; a file that loads yields
the checker's warnings (provisions that can never take effect, :mod:`medrules.check.reachability`).
A folder is checked file by file, then as a set of policy years (overlaps, dating).
"""
from __future__ import annotations

from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.source import SourceFile

STDIN = "-"
STDIN_NAME = "<stdin>"


@attrs.frozen
class FileReport:
    """One rulebook: its diagnostics, and what it holds when it loaded."""

    file: str
    diagnostics: tuple[Diagnostic, ...]
    program: object = None  # medrules.Program when the rulebook loaded

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def summary(self) -> dict | None:
        if self.program is None:
            return None
        ck = self.program.checked
        return {"rulebook": ck.id, "funds": len(ck.funds),
                "clauses": sum(len(f.clauses) for f in ck.rulebook.funds),
                "parameters": len(ck.parameters), "accumulators": len(ck.accumulators),
                "sources": len(ck.sources)}


@attrs.frozen
class Report:
    files: tuple[FileReport, ...]
    set_diagnostics: tuple[Diagnostic, ...] = ()  # a policy-year folder's own problems

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics] + list(self.set_diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self, diagnostics: list[Diagnostic] | None = None) -> dict:
        """The report as JSON; ``diagnostics`` are this report's, worded for the reader (see :func:`localised`)."""
        return {"schema": "medrules.check/1", "ok": self.ok,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "files": [{"file": f.file, "ok": f.ok, "summary": f.summary()} for f in self.files],
                "diagnostics": [diagnostic_json(d) for d in (self.diagnostics if diagnostics is None else diagnostics)]}


def localised(diagnostics: list[Diagnostic], sources: dict, lang: str | None = None) -> list[Diagnostic]:
    """The diagnostics in the rulebook's language (Chinese for a rulebook written with Chinese keywords,
    or as asked), when the project has the diagnostics catalog (``medrules.messages``); else as they are."""
    try:
        from medrules.messages import language_for, localise
    except ImportError:
        return list(diagnostics)
    chosen = language_for(list(diagnostics), sources, lang)
    return [localise(d, chosen) for d in diagnostics]


def diagnostic_json(d: Diagnostic) -> dict:
    """A diagnostic with its full range (end line and column too, when known)."""
    doc = d.to_json()
    for key, span in (("location", d.span),):
        if span is not None and span.end_line:
            doc[key] |= {"end_line": span.end_line, "end_col": span.end_col}
    return doc


def warnings_of(program) -> list[Diagnostic]:
    from medrules.check.reachability import warnings
    return [*getattr(program.checked, "warnings", ()), *warnings(program.checked)]


def check_file(path: Path, read, root: Path | None = None) -> FileReport:
    """Load one rulebook; its errors, or its warnings."""
    name = STDIN_NAME if str(path) == STDIN else str(medrules.resolve_rulebook_path(path))
    try:
        program = medrules.load(path, read=read, root=root)
    except MedrulesError as exc:
        return FileReport(name, tuple(exc.diagnostics))
    return FileReport(name, tuple(warnings_of(program)), program)


def check_paths(paths: list[Path], read=SourceFile.read, root: Path | None = None) -> Report:
    """Check files, folders of policy years (every ``*.mr``, then as a set) and ``-`` (standard input)."""
    files, set_diags = [], []
    for path in paths:
        if str(path) == STDIN:
            files.append(check_file(path, read, root))
        elif path.is_dir():
            members = sorted(path.glob("*.mr"))
            if not members:
                set_diags.append(error("io", f"no rulebooks (*.mr) in {path}"))
                continue
            reports = [check_file(p, read, root) for p in members]
            files.extend(reports)
            if all(r.ok for r in reports):
                from medrules.versions import load_set
                try:
                    load_set(path, read=read, root=root)
                except MedrulesError as exc:
                    set_diags.extend(exc.diagnostics)
        else:
            resolved = medrules.resolve_rulebook_path(path)
            if not resolved.exists():
                files.append(FileReport(str(path), (error("io", f"no such rulebook file: {path}"),)))
                continue
            files.append(check_file(resolved, read, root))
    return Report(tuple(files), tuple(set_diags))


def stdin_reader(read, remember: dict | None = None):
    """A ``read`` that takes ``-`` as standard input (read once) and anything else as ``read`` does;
    ``remember`` (name -> SourceFile) receives standard input's text, to quote it in diagnostics."""
    cache: dict[str, SourceFile] = {}

    def reader(path):
        if str(path) == STDIN:
            if STDIN not in cache:
                from medrules.cmdline import read_stdin
                cache[STDIN] = read_stdin("rulebook")  # bounded, UTF-8
                if remember is not None:
                    remember[STDIN_NAME] = cache[STDIN]
            return cache[STDIN]
        return read(path)
    return reader
