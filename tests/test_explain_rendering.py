"""The terminal text of explanations: the direct rendering of one-line paragraphs gives rich's bytes exactly.

``explain.text.Hanging`` renders a paragraph piece that fits on one line straight to segments, and skips rich's
word wrapping of a text that fits (docs/performance.md). Every example of every shipped rulebook, in both
languages, auditor's and citizen's views, wide and narrow terminals, with and without colours, is rendered
both ways — the direct path, and rich's own (wrap every text, assemble each line, let rich render it) — and the
outputs must be equal byte for byte.
"""
from __future__ import annotations

import io

import pytest
from rich.console import Console

import medrules
from medrules.explain import explain
from medrules.explain import text as text_module
from medrules.explain.text import render_citizen, render_explanation
from medrules.facts import facts_from_source
from medrules.source import SourceFile
from test_trace_schema import EXAMPLE_FILES, ROOT, _rulebook_for


def rendered(renderable, width: int, colours: bool) -> str:
    console = Console(file=io.StringIO(), width=width, color_system="truecolor" if colours else None,
                      force_terminal=colours, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_direct_rendering_is_riches(path, monkeypatch):
    def read(p):
        return SourceFile(p.resolve().relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    program = medrules.load(ROOT / _rulebook_for(path), read=read)
    settlement = medrules.settle(program, facts_from_source(SourceFile.read(path), program.checked), trace=True)
    views = [render(explain(program, settlement, lang)) for lang in ("zh", "en")
             for render in (render_explanation, render_citizen)]
    settings = [(120, True), (24, True)]  # 24: narrower than some headings
    direct = [rendered(view, width, colours) for view in views for width, colours in settings]
    calls = []
    monkeypatch.setattr(text_module, "_one_line", lambda *args: calls.append(args) and False)  # rich's way only
    assert [rendered(view, width, colours) for view in views for width, colours in settings] == direct
    assert calls  # the direct path was on the way, and was turned off
    assert any("\x1b[" in out for out in direct) and any("\n" in out for out in direct)
