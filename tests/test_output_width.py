"""Terminal output at 60, 80 and 120 columns: no amount or date is ever cut short, wrapped lines hang.

The amounts looked for are the settlement's own (claim totals, every fund's payment, the member's share),
formatted as a clerk reads them ('180,000.00'); each must appear whole, as one token, at every width."""
from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

import medrules
from conftest import ROOT
from medrules.evaluate.runtime import ZERO
from medrules.explain import explain
from medrules.explain.format import Formatter
from medrules.explain.text import render_citizen, render_explanation, render_settlement, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile
from test_trace_schema import EXAMPLE_FILES, _rulebook_for

WIDTHS = (60, 80, 120)


def _settled(path, trace=False):
    program = medrules.load(ROOT / _rulebook_for(path))
    facts = facts_from_source(SourceFile.read(path), program.checked)
    return program, medrules.settle(program, facts, trace=trace)


def _tokens(text: str) -> set[str]:
    """Whole tokens of a rendering (table borders and padding are separators)."""
    return set(re.split(r"[\s│┃|]+", text))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_run_never_cuts_an_amount_or_a_date(path, lang):
    program, s = _settled(path)
    f = Formatter(lang)
    wanted = set()
    for c in s.claims:
        wanted |= {str(c.date), f.number(c.total_cost), f.number(c.member_pays), *(f.number(x.paid) for x in c.funds)}
    wanted.add(f.number(sum((c.total_cost for c in s.claims), ZERO)))
    for width in WIDTHS:
        text = to_text(render_settlement(program, s, lang), width=width)
        assert "…" not in text, (width, text)
        assert all(cell_len(line.rstrip()) <= width for line in text.splitlines())
        missing = wanted - _tokens(text)
        assert not missing, (width, missing, text)


def test_run_at_80_columns_keeps_the_quzhou_table_and_at_60_stacks():
    """The issue's case: 180,000.00 and every payment printed whole at 80 columns (a table) and at 60 (one block
    per claim). C2 under the chosen reading (cap_axis = cost): 94,896.00 inpatient, 63,000.00 critical illness,
    180,000 − 94,896 − 63,000 = 22,104.00 for the member."""
    path = ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json"
    program, s = _settled(path)
    at80 = to_text(render_settlement(program, s, "zh"), width=80)
    assert "┃" in at80 and "│ C2     │ 2012-05-10 │ 180,000.00 │" in at80
    assert {"94,896.00", "22,104.00", "63,000.00"} <= _tokens(at80)
    at60 = to_text(render_settlement(program, s, "en"), width=60)
    assert "┃" not in at60
    block = at60.split("C2 2012-05-10")[1].split("\n\n")[0]
    assert re.search(r"total cost +180,000.00", block) and re.search(r"member pays +22,104.00", block)


@pytest.mark.parametrize("path", [ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json",
                                  ROOT / "examples" / "pingyang-2019-inpatient-year.json"], ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explain_wraps_with_hanging_indents(path, lang):
    program, s = _settled(path, trace=True)
    e = explain(program, s, lang)
    for width in WIDTHS:
        for text in (to_text(render_explanation(e), width=width), to_text(render_citizen(e), width=width)):
            for line in text.splitlines():
                assert cell_len(line.rstrip()) <= width
                # a wrapped line never restarts at column 0: only headings, fund titles and totals start there
                if line and not line[0].isspace():
                    assert not line.startswith("[") and not line[0].isdigit(), (width, line)
                    assert not re.match(r"[\d,]+\.\d\d", line), line
            f = Formatter(lang)
            for c in s.claims:
                assert f.number(c.member_pays) in text


def test_piped_output_honours_columns(monkeypatch):
    import subprocess
    import sys
    env = {"COLUMNS": "60", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "medrules", "run", "rulebooks/quzhou/employee-2012.mr",
                          "examples/quzhou-employee-2012-inpatient-year.json"], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout
    assert out and max(len(line) for line in out.splitlines()) <= 60 and "180,000.00" in out
