"""``medrules lsp``: the language server (pygls, over standard input and output).

Diagnostics as you type (syntax errors with recovery, then the checker's errors and warnings),
hover, go to definition, completion, the outline and formatting. Positions: the protocol's
lines and characters are 0-based; medrules' spans are 1-based.
"""
from __future__ import annotations

from pathlib import Path

from lsprotocol import types as t

import medrules
from medrules.diagnostics import Diagnostic
from medrules.lsp.analysis import Analysis, analyse, completions, definition, hover, symbols
from medrules.source import Span

try:  # pygls 2.x
    from pygls.lsp.server import LanguageServer
    from pygls.uris import from_fs_path, to_fs_path
    _PYGLS2 = True
except ImportError:  # pygls 1.x
    from pygls.server import LanguageServer
    from pygls.uris import from_fs_path, to_fs_path
    _PYGLS2 = False

SEVERITY = {"error": t.DiagnosticSeverity.Error, "warning": t.DiagnosticSeverity.Warning,
            "info": t.DiagnosticSeverity.Information}
COMPLETION_KINDS = {"fact": t.CompletionItemKind.Field, "enum_member": t.CompletionItemKind.EnumMember,
                    "parameter": t.CompletionItemKind.Constant, "accumulator": t.CompletionItemKind.Variable,
                    "fund": t.CompletionItemKind.Class, "fund_output": t.CompletionItemKind.Property,
                    "source": t.CompletionItemKind.Reference, "keyword": t.CompletionItemKind.Keyword}
SYMBOL_KINDS = {"rulebook": t.SymbolKind.File, "source": t.SymbolKind.Namespace, "enum": t.SymbolKind.Enum,
                "enum_member": t.SymbolKind.EnumMember, "record": t.SymbolKind.Struct, "field": t.SymbolKind.Field,
                "parameter": t.SymbolKind.Constant, "accumulator": t.SymbolKind.Variable,
                "fund": t.SymbolKind.Class, "clause": t.SymbolKind.Property, "exclude": t.SymbolKind.Event,
                "treat": t.SymbolKind.Operator}
FORMATTER_MISSING = "medrules: formatter not available (medrules.fmt.format_source is not installed)"


def _range(span: Span) -> t.Range:
    start = t.Position(line=max(span.line - 1, 0), character=max(span.col - 1, 0))
    if span.end_line and (span.end_line, span.end_col) >= (span.line, span.col):
        end = t.Position(line=max(span.end_line - 1, 0), character=max(span.end_col - 1, 0))
    else:
        end = t.Position(line=start.line, character=start.character + 1)
    return t.Range(start=start, end=end)


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


def lsp_diagnostic(d: Diagnostic, name: str) -> t.Diagnostic:
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    if d.span is not None and _same_file(d.span.file, name):
        where = _range(d.span)
    else:  # in another file (the base an amendment restates): shown at the top, with its place
        where = t.Range(start=t.Position(line=0, character=0), end=t.Position(line=0, character=0))
        if d.span is not None:
            message = f"{d.span}: {message}"
    related = [t.DiagnosticRelatedInformation(location=t.Location(uri=from_fs_path(s.file) or s.file,
                                                                  range=_range(s)), message=m)
               for m, s in d.related]
    return t.Diagnostic(range=where, message=message, severity=SEVERITY.get(d.severity, t.DiagnosticSeverity.Error),
                        code=d.code, source="medrules", related_information=related or None)


class MedrulesServer(LanguageServer):
    def __init__(self):
        super().__init__("medrules", medrules.__version__)
        self.analyses: dict[str, Analysis] = {}

    def analysis(self, uri: str) -> Analysis:
        doc = self.workspace.get_text_document(uri)
        known = self.analyses.get(uri)
        if known is None or known.text != doc.source:
            known = self.analyses[uri] = analyse(to_fs_path(uri) or uri, doc.source)
        return known

    def publish(self, uri: str) -> None:
        a = self.analysis(uri)
        diagnostics = [lsp_diagnostic(d, a.name) for d in a.diagnostics]
        if _PYGLS2:
            self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        else:
            self.publish_diagnostics(uri, diagnostics)

    def tell(self, message: str) -> None:
        params = t.ShowMessageParams(type=t.MessageType.Warning, message=message)
        if _PYGLS2:
            self.window_show_message(params)
        else:
            self.show_message(message, t.MessageType.Warning)


server = MedrulesServer()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: MedrulesServer, params: t.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: MedrulesServer, params: t.DidChangeTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: MedrulesServer, params: t.DidSaveTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)  # files it reads (an amended base) may have changed
    ls.publish(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MedrulesServer, params: t.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: MedrulesServer, params: t.HoverParams) -> t.Hover | None:
    a = ls.analysis(params.text_document.uri)
    found = hover(a, params.position.line + 1, params.position.character + 1)
    if found is None:
        return None
    text, span = found
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text), range=_range(span))


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: MedrulesServer, params: t.DefinitionParams) -> t.Location | None:
    a = ls.analysis(params.text_document.uri)
    span = definition(a, params.position.line + 1, params.position.character + 1)
    if span is None:
        return None
    uri = params.text_document.uri if _same_file(span.file, a.name) else from_fs_path(str(Path(span.file).resolve()))
    return t.Location(uri=uri, range=_range(span))


@server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=["."]))
def on_completion(ls: MedrulesServer, params: t.CompletionParams) -> t.CompletionList:
    a = ls.analysis(params.text_document.uri)
    items = [t.CompletionItem(label=label, kind=COMPLETION_KINDS.get(kind), detail=detail or None)
             for label, kind, detail in completions(a, params.position.line + 1, params.position.character + 1)]
    return t.CompletionList(is_incomplete=False, items=items)


def _symbol(s) -> t.DocumentSymbol:
    return t.DocumentSymbol(name=s.name, kind=SYMBOL_KINDS.get(s.kind, t.SymbolKind.Object), detail=s.detail or None,
                            range=_range(s.span), selection_range=_range(s.span),
                            children=[_symbol(c) for c in s.children] or None)


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: MedrulesServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
    return [_symbol(s) for s in symbols(ls.analysis(params.text_document.uri))]


def format_text(text: str) -> str | None:
    """The formatted text, or None when the formatter (branch zh: medrules.fmt) is not installed."""
    try:
        from medrules.fmt import format_source
    except ImportError:
        return None
    return format_source(text)


@server.feature(t.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: MedrulesServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    try:
        formatted = format_text(doc.source)
    except Exception as exc:  # noqa: BLE001 - a rulebook that does not parse is not formatted
        ls.tell(f"medrules: cannot format: {exc}")
        return None
    if formatted is None:
        ls.tell(FORMATTER_MISSING)
        return None
    if formatted == doc.source:
        return []
    lines = doc.source.split("\n")
    end = t.Position(line=len(lines), character=0)
    return [t.TextEdit(range=t.Range(start=t.Position(line=0, character=0), end=end), new_text=formatted)]


def main() -> None:
    server.start_io()
