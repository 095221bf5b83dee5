"""The explanation as rich terminal text: claim by claim, fund by fund, step by step."""
from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from medrules.evaluate import Program, Settlement
from medrules.evaluate.runtime import ZERO
from medrules.explain import ClaimExplanation, Explanation
from medrules.explain.format import Formatter
from medrules.explain.steps import Line

HEADINGS = {
    "zh": {"claim": "结算单", "benefit_year": "待遇年度", "total": "总费用", "member": "个人负担",
           "funds": "基金支付", "assumed": "假定", "note": "说明", "fund": "基金", "date": "日期"},
    "en": {"claim": "Claim", "benefit_year": "benefit year", "total": "total cost", "member": "member pays",
           "funds": "funds pay", "assumed": "assumed", "note": "note", "fund": "fund", "date": "date"},
}


def render_explanation(e: Explanation) -> Group:
    parts = []
    h = e.program.checked.rulebook.header
    title = h.title.best(e.lang) if h.title else h.id
    parts.append(Text(f"{title}  [{h.id}]", style="bold"))
    for c in e.claims:
        parts.append(render_claim(e, c))
    return Group(*parts)


def render_claim(e: Explanation, c: ClaimExplanation) -> Group:
    words, f = HEADINGS[e.lang], Formatter(e.lang)
    r = c.result
    out = [Text(""), Text(f"{words['claim']} {r.id} · {r.date} · {words['benefit_year']} {r.year} · "
                          f"{words['total']} {f.money(r.total_cost)}", style="bold underline")]
    current_fund = "\0"
    last_citation = None
    number = 0
    for line in c.lines:
        if line.fund != current_fund:
            current_fund = line.fund
            last_citation = None
            if line.fund is not None:
                out.append(Text(f"── {line.fund_title} ({line.fund})", style="bold magenta"))
        number += 1
        out.append(_line(e, line, number, show_citation=line.citation is not last_citation))
        if line.citation is not None:
            last_citation = line.citation
    out.append(Text(f"=> {words['funds']} {f.money(r.funds_paid)}; {words['member']} {f.money(r.member_pays)}",
                    style="bold green"))
    return Group(*out)


def _line(e: Explanation, line: Line, number: int, show_citation: bool) -> Text:
    words = HEADINGS[e.lang]
    t = Text()
    t.append(f"{number:>3}. ", style="dim")
    t.append(line.text, style="bold" if line.kind == "paid" else "")
    if line.span is not None and line.span.line > 0:
        t.append(f"  [{line.span.file}:{line.span.line}]", style="dim")
    if line.formula:
        t.append(f"\n       {line.formula}", style="cyan")
    for name, why in line.assumptions:
        t.append(f"\n       ⚠ {words['assumed']} {name}: {why.best(e.lang)}", style="yellow")
    cit = line.citation
    if cit is not None and show_citation:
        if cit.assumed:
            t.append(f"\n       ⚠ {words['assumed']}: {cit.assumption.best(e.lang)}", style="yellow")
        else:
            article = f" {cit.article}" if cit.article else ""
            t.append(f"\n       § {line.document}{article}: “{cit.quote}”", style="italic")
        if cit.note:
            t.append(f"\n       {words['note']}: {cit.note.best(e.lang)}", style="yellow")
    return t


def render_settlement(program: Program, s: Settlement, lang: str = "zh") -> Table:
    f = Formatter(lang)
    words = HEADINGS[lang]
    table = Table(title=f"{program.checked.id} · {s.member_id}", show_lines=False)
    table.add_column(words["claim"])
    table.add_column(words["date"])
    table.add_column(words["total"], justify="right")
    funds = program.all_funds()
    for _, fund in funds:
        table.add_column(fund.title(lang), justify="right")
    table.add_column(words["member"], justify="right")
    for c in s.claims:
        table.add_row(c.id, str(c.date), f.number(c.total_cost),
                      *(f.number(c.fund(name).paid) for name, _ in funds), f.number(c.member_pays))
    if s.claims:
        table.add_section()
        table.add_row("Σ", "", f.number(sum((c.total_cost for c in s.claims), ZERO)),
                      *(f.number(sum((c.fund(name).paid for c in s.claims), ZERO)) for name, _ in funds),
                      f.number(sum((c.member_pays for c in s.claims), ZERO)))
    return table


def to_text(renderable, width: int = 110) -> str:
    """Plain text of a renderable (snapshots, files)."""
    console = Console(record=True, width=width, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(renderable)
    return console.export_text()
