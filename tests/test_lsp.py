"""`medrules lsp` through a real client: the server runs as a subprocess over stdio (pytest-lsp)."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
PINGYANG_2019 = ROOT / "rulebooks" / "pingyang" / "residents-2019.mr"


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "medrules", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities(), root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(
        uri=uri, language_id="medrules", version=version, text=text if text is not None else path.read_text("utf-8"))))
    return uri


def _position(text: str, fragment: str, nth: int = 0, offset: int = 1) -> t.Position:
    """0-based position of the nth occurrence of fragment (plus offset characters into it)."""
    lines = text.split("\n")
    hits = [(i, line.index(fragment)) for i, line in enumerate(lines) if fragment in line]
    line, col = hits[nth]
    return t.Position(line=line, character=col + offset)


async def _diagnostics(client: LanguageClient, uri: str) -> list[t.Diagnostic]:
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


async def test_a_clean_rulebook_has_no_diagnostics(client: LanguageClient):
    uri = _open(client, QUZHOU)
    assert await _diagnostics(client, uri) == []


async def test_several_syntax_errors_are_reported_as_you_type(client: LanguageClient, tmp_path):
    text = QUZHOU.read_text("utf-8")
    broken = (text.replace("parameter inpatient_deductible: money", "parameter inpatient_deductible money")
              .replace("  rate 90%\n", "  rate 90% %\n"))
    uri = _open(client, tmp_path / "broken.mr", broken)
    found = await _diagnostics(client, uri)
    lines = broken.split("\n")
    expected_lines = [next(i for i, line in enumerate(lines) if "inpatient_deductible money" in line),
                      next(i for i, line in enumerate(lines) if "rate 90% %" in line)]
    assert [d.range.start.line for d in found] == expected_lines
    assert all(d.severity == t.DiagnosticSeverity.Error and d.code == "syntax" for d in found)
    # the second: '%' after 'rate 90% ' at column 12 (0-based 11)
    assert found[1].range.start.character == lines[expected_lines[1]].index("% %") + 2


async def test_checker_errors_and_warnings_after_a_change(client: LanguageClient, tmp_path):
    text = QUZHOU.read_text("utf-8")
    path = tmp_path / "edit.mr"
    uri = _open(client, path, text)
    assert await _diagnostics(client, uri) == []
    changed = text.replace("deductible 300 yuan per year", "deductible 300 per year").replace(
        "adjust +5 points when member.category == retired\n    cites QZ2011_102 at \"一\"",
        "adjust +5 points when member.category == retired and claim.kind == inpatient\n    cites QZ2011_102 at \"一\"")
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=changed)]))
    found = await _diagnostics(client, uri)
    assert [(d.code, d.range.start.line) for d in found] == [
        ("unit", _position(changed, "deductible 300 per year").line)]
    # fix the unit: the adjustment that can never hold with the outpatient fund's condition remains, as a warning
    fixed = changed.replace("deductible 300 per year", "deductible 300 yuan per year")
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=fixed)]))
    found = await _diagnostics(client, uri)
    assert [(d.code, d.severity, d.range.start.line) for d in found] == [
        ("never-adjusts", t.DiagnosticSeverity.Warning, _position(fixed, "and claim.kind == inpatient").line)]


async def test_hover_on_a_parameter_shows_value_citation_and_quote(client: LanguageClient):
    text = QUZHOU.read_text("utf-8")
    uri = _open(client, QUZHOU)
    result = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(text, "deductible inpatient_deductible", 0, 12)))
    value = result.contents.value
    assert "**parameter** `inpatient_deductible`: money = `600 yuan`" in value
    assert "住院起付标准" in value and "assumed" in value


async def test_hover_on_a_fact_and_an_accumulator(client: LanguageClient):
    text = QUZHOU.read_text("utf-8")
    uri = _open(client, QUZHOU)
    fact = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(text, "applies when claim.kind", 0, 20)))
    assert "**fact** `claim.kind`: visit_kind" in fact.contents.value and "就诊类别" in fact.contents.value
    acc = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(text, "accumulate cost in outpatient_cost", 0, 22)))
    assert "**accumulator** `outpatient_cost`: money per year" in acc.contents.value
    assert "`outpatient_pool` accumulates its cost in it" in acc.contents.value


async def test_go_to_definition_of_a_name_a_source_and_the_amended_base(client: LanguageClient):
    text = QUZHOU.read_text("utf-8")
    uri = _open(client, QUZHOU)
    loc = await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(text, "deductible inpatient_deductible", 0, 12)))
    assert loc.uri == uri and loc.range.start.line == _position(text, "parameter inpatient_deductible").line
    loc = await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(text, "cites QZ2011_102", 0, 7)))
    assert loc.range.start.line == _position(text, "source QZ2011_102").line
    amendment = PINGYANG_2019.read_text("utf-8")
    uri = _open(client, PINGYANG_2019)
    loc = await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=_position(amendment, 'amends "', 0, 9)))
    assert loc.uri.endswith("rulebooks/pingyang/residents-earlier.mr") and loc.range.start.line == 0


async def test_completion_of_facts_members_and_keywords(client: LanguageClient):
    text = QUZHOU.read_text("utf-8").replace("applies when claim.kind == outpatient", "applies when claim.")
    uri = _open(client, QUZHOU.parent / "completion.mr", text)
    where = _position(text, "applies when claim.", 0, len("applies when claim."))
    result = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=where))
    labels = {i.label for i in result.items}
    assert {"kind", "institution", "compliant_cost", "self_paid", "date"} <= labels and "category" not in labels
    result = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=where.line + 1, character=2)))
    labels = {i.label: i.kind for i in result.items}
    assert labels["retired"] == t.CompletionItemKind.EnumMember
    assert labels["member.category"] == t.CompletionItemKind.Field
    assert labels["deductible"] == t.CompletionItemKind.Keyword


async def test_document_symbols_outline(client: LanguageClient):
    uri = _open(client, QUZHOU)
    result = await client.text_document_document_symbol_async(t.DocumentSymbolParams(
        text_document=t.TextDocumentIdentifier(uri=uri)))
    by_kind = {}
    for s in result:
        by_kind.setdefault(s.kind, []).append(s.name)
    assert by_kind[t.SymbolKind.Class] == ["outpatient_pool", "inpatient_pool", "critical_illness"]
    assert by_kind[t.SymbolKind.Namespace] == ["QZ2011_102", "QZ_OUTPATIENT_INTERIM"]
    assert by_kind[t.SymbolKind.Constant] == ["inpatient_deductible"]
    fund = next(s for s in result if s.name == "outpatient_pool")
    assert [c.name for c in fund.children][:3] == ["applies", "base", "accumulate"]


async def test_formatting_uses_the_formatter_or_says_it_is_missing(client: LanguageClient):
    uri = _open(client, QUZHOU)
    edits = await client.text_document_formatting_async(t.DocumentFormattingParams(
        text_document=t.TextDocumentIdentifier(uri=uri), options=t.FormattingOptions(tab_size=2, insert_spaces=True)))
    try:
        from medrules.fmt import format_source  # noqa: F401 - branch zh
    except ImportError:
        assert edits is None  # the server said so before answering (messages arrive in order)
        assert any("formatter not available" in m.message for m in client.messages)
    else:
        assert edits is not None
