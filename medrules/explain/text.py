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
from medrules.explain.steps import Line, annotations

HEADINGS = {
    "zh": {"claim": "结算单", "benefit_year": "待遇年度", "total": "总费用", "member": "个人负担",
           "funds": "基金支付", "fund": "基金", "date": "日期"},
    "en": {"claim": "Claim", "benefit_year": "benefit year", "total": "total cost", "member": "member pays",
           "funds": "funds pay", "fund": "fund", "date": "date"},
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


STYLES = {"formula": "cyan", "assumed": "yellow", "cite": "italic", "note": "yellow"}


def _line(e: Explanation, line: Line, number: int, show_citation: bool) -> Text:
    t = Text()
    t.append(f"{number:>3}. ", style="dim")
    t.append(line.text, style="bold" if line.kind == "paid" else "")
    if line.span is not None and line.span.line > 0:
        t.append(f"  [{line.span.file}:{line.span.line}]", style="dim")
    for kind, text in annotations(line, e.lang, with_citation=show_citation):
        t.append(f"\n       {text}", style=STYLES[kind])
    return t


def render_settlement(program: Program, s: Settlement, lang: str = "zh", programs=None) -> Table:
    """What each fund pays on each claim. ``programs``: the versions of a rulebook set (columns for all their funds)."""
    f = Formatter(lang)
    words = HEADINGS[lang]
    title = s.rulebook if programs else program.checked.id
    table = Table(title=Text(f"{title} · {s.member_id}"), show_lines=False)  # Text: ids are never markup
    table.add_column(words["claim"])
    table.add_column(words["date"])
    table.add_column(words["total"], justify="right")
    funds = program.all_funds()
    for other in programs or ():
        funds += [(name, fund) for name, fund in other.all_funds() if name not in dict(funds)]
    for _, fund in funds:
        table.add_column(Text(fund.title(lang)), justify="right")

    def paid(claim, name):
        return next((x.paid for x in claim.funds if x.fund == name), ZERO)
    table.add_column(words["member"], justify="right")
    for c in s.claims:
        table.add_row(Text(c.id), str(c.date), f.number(c.total_cost),
                      *(f.number(paid(c, name)) for name, _ in funds), f.number(c.member_pays))
    if s.claims:
        table.add_section()
        table.add_row("Σ", "", f.number(sum((c.total_cost for c in s.claims), ZERO)),
                      *(f.number(sum((paid(c, name) for c in s.claims), ZERO)) for name, _ in funds),
                      f.number(sum((c.member_pays for c in s.claims), ZERO)))
    return table


def to_text(renderable, width: int = 110) -> str:
    """Plain text of a renderable (snapshots, files)."""
    console = Console(record=True, width=width, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def render_what_if(w, sensitivity=()) -> Group:
    """The difference a changed fact makes, claim by claim, with the steps that changed."""
    f = Formatter(w.lang)
    zh = w.lang == "zh"
    changes = ", ".join(c.text for c in w.changes)
    out = [Text(("假如 " if zh else "What if ") + changes + ("?" if zh else "?"), style="bold underline")]
    for d in w.claims:
        out.append(Text(""))
        head = (f"结算单 {d.claim_id}:基金多付 " if zh and d.delta >= 0 else f"结算单 {d.claim_id}:基金少付 " if zh
                else f"Claim {d.claim_id}: the funds pay {'more' if d.delta >= 0 else 'less'} by ")
        out.append(Text(head + f.money(abs(d.delta)) + (f";个人负担 {f.number(d.member_before)} → {f.number(d.member_after)}"
                        if zh else f"; the member pays {f.number(d.member_before)} → {f.number(d.member_after)}"),
                        style="bold"))
        for fund, title, before, after in d.funds:
            delta = after - before
            out.append(Text(f"  {title} ({fund}): {f.number(before)} → {f.number(after)} "
                            f"({'+' if delta >= 0 else '−'}{f.number(abs(delta))})"))
        if not d.steps:
            out.append(Text("  " + ("没有变化。" if zh else "Nothing changes."), style="dim"))
        for change in d.steps:
            if change.before is not None:
                out.append(Text(f"  − {change.before.text}" + (f"  [{change.before.formula}]" if change.before.formula
                                                                 else ""), style="red"))
            if change.after is not None:
                out.append(Text(f"  + {change.after.text}" + (f"  [{change.after.formula}]" if change.after.formula
                                                                else ""), style="green"))
    total = w.funds_after - w.funds_before
    out += [Text(""), Text((f"合计:基金支付 {f.number(w.funds_before)} → {f.number(w.funds_after)}" if zh
                            else f"In all: the funds pay {f.number(w.funds_before)} → {f.number(w.funds_after)}")
                           + f" ({'+' if total >= 0 else '−'}{f.number(abs(total))})", style="bold")]
    if sensitivity:
        out += [Text(""), Text("对结果影响最大的事实:" if zh else "The facts that would change the outcome most:",
                               style="bold")]
        for i, s in enumerate(sensitivity, 1):
            out.append(Text(f"  {i}. {s.change.text}: {'+' if s.delta >= 0 else '−'}{f.money(abs(s.delta))}"))
    return Group(*out)


def render_citizen(e: Explanation) -> Group:
    from medrules.explain.citizen import citizen_view
    parts = []
    for c in citizen_view(e):
        parts.append(Text(c.heading, style="bold"))
        parts += [Text(f"  • {sentence}") for sentence in c.sentences]
        parts.append(Text(""))
    return Group(*parts)
