"""Explanations as documents: Markdown, and a standalone HTML page for printing or a letter.

Both views come from the same lines: the citizen's (a few sentences per claim) and the
auditor's (every step, its arithmetic, its citation and its place in the rulebook).
"""
from __future__ import annotations

import html

from medrules.explain import Explanation
from medrules.explain.citizen import citizen_view
from medrules.explain.format import Formatter
from medrules.explain.steps import annotations

WORDS = {
    "zh": {"title": "医保结算说明", "rulebook": "规则书", "member": "参保人",
           "funds": "基金支付", "you": "个人负担", "claim": "结算单"},
    "en": {"title": "How your claim was settled", "rulebook": "rulebook", "member": "member",
           "funds": "funds pay", "you": "member pays", "claim": "Claim"},
}


def markdown(e: Explanation, view: str = "citizen") -> str:
    w = WORDS[e.lang]
    h = e.program.checked.rulebook.header
    out = [f"# {w['title']}", "", f"{w['rulebook']}: **{h.title.best(e.lang) if h.title else h.id}** (`{h.id}`) · "
           f"{w['member']}: {e.settlement.member_id}", ""]
    if view == "citizen":
        for c in citizen_view(e):
            out += [f"## {c.heading}", ""] + [f"- {s}" for s in c.sentences] + [""]
        return "\n".join(out)
    f = Formatter(e.lang)
    for c in e.claims:
        r = c.result
        out += [f"## {w['claim']} {r.id} · {r.date} · {r.year}", ""]
        for i, line in enumerate(c.lines, 1):
            where = f" `{line.span.file}:{line.span.line}`" if line.span is not None and line.span.line else ""
            out.append(f"{i}. {line.text}{where}")
            out += [f"   - `{text}`" if kind == "formula" else f"   - {text}"
                    for kind, text in annotations(line, e.lang)]
        out += ["", f"**{w['funds']} {f.money(r.funds_paid)}; {w['you']} {f.money(r.member_pays)}**", ""]
    return "\n".join(out)


def html_page(e: Explanation, view: str = "citizen") -> str:
    """A standalone page (no scripts, no external files), laid out for printing."""
    w = WORDS[e.lang]
    h = e.program.checked.rulebook.header
    esc = html.escape
    body = [f"<h1>{esc(w['title'])}</h1>",
            f"<p class=meta>{esc(w['rulebook'])}: <b>{esc(h.title.best(e.lang) if h.title else h.id)}</b> "
            f"(<code>{esc(h.id)}</code>) · {esc(w['member'])}: {esc(e.settlement.member_id)}</p>"]
    if view == "citizen":
        for c in citizen_view(e):
            body.append(f"<section><h2>{esc(c.heading)}</h2><ul>"
                        + "".join(f"<li>{esc(s)}</li>" for s in c.sentences) + "</ul></section>")
    else:
        f = Formatter(e.lang)
        for c in e.claims:
            r = c.result
            items = []
            for line in c.lines:
                extra = [f"<div class={kind}>{esc(text)}</div>" for kind, text in annotations(line, e.lang)]
                where = (f" <span class=where>{esc(line.span.file)}:{line.span.line}</span>"
                         if line.span is not None and line.span.line else "")
                items.append(f"<li>{esc(line.text)}{where}{''.join(extra)}</li>")
            body.append(f"<section><h2>{esc(w['claim'])} {esc(r.id)} · {r.date} · {esc(r.year)}</h2><ol>"
                        + "".join(items) + f"</ol><p class=total>{esc(w['funds'])} {esc(f.money(r.funds_paid))}; "
                        f"{esc(w['you'])} {esc(f.money(r.member_pays))}</p></section>")
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if e.lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{esc(w['title'])} · {esc(h.id)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 52em;
       margin: 2em auto; line-height: 1.5; color: #111; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; border-bottom: 1px solid #999; }}
.formula {{ font-family: monospace; color: #035; }} .cite {{ font-style: italic; color: #444; }}
.assumed, .note {{ color: #850; }} .where {{ color: #888; font-size: .85em; }} .total {{ font-weight: bold; }}
section {{ break-inside: avoid; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
{chr(10).join(body)}
</body></html>
"""
