"""Explanations of stored decisions, laid out from the stored document alone (nothing is settled again).

A decision keeps its explanation document (schema ``medrules.explanation/1``) in Chinese and English.
The renderers in :mod:`medrules.explain` need a live settlement; these lay out the same content —
every step with its arithmetic, assumptions and citation (auditor), or the plain sentences
(citizen) — from the document, as text, Markdown or a standalone HTML page, with the decision's
record (version, sequence, what it changed) at the top.
"""
from __future__ import annotations

import html
from decimal import Decimal

from medrules.explain.document import words as document_words
from medrules.explain.format import Formatter
from medrules.ledger.model import Decision

LEDGER_WORDS = {
    "zh": {"decision": "决定", "recorded": "记录于", "version": "规则书版本", "supersedes": "取代决定",
           "sequence": "第{n}次结算", "assumed": "假定", "note": "说明", "because": "原因", "provision": "依据",
           "after_claims": "同年度较早的结算单已更正", "rulebook_changed": "规则书已修订",
           "insured": "参保关系", "settled_under": "按《{id}》结算", "compared": "就高:{amounts}",
           "scheme_moved": "参保险种变更:{before} → {after}"},
    "en": {"decision": "Decision", "recorded": "recorded", "version": "rulebook version", "supersedes": "supersedes decision",
           "sequence": "settlement no. {n}", "assumed": "assumed", "note": "note", "because": "because",
           "provision": "provision", "after_claims": "an earlier claim of the year was corrected",
           "rulebook_changed": "the rulebook was amended", "insured": "membership",
           "settled_under": "settled under '{id}'", "compared": "the better of: {amounts}",
           "scheme_moved": "the claim moved scheme: {before} → {after}"},
}


def annotations(step: dict, lang: str) -> list[tuple[str, str]]:
    """What goes under a step, as (kind, text), like medrules.explain.steps.annotations, from the document."""
    w = LEDGER_WORDS[lang]
    out = []
    if step.get("formula"):
        out.append(("formula", step["formula"]))
    out += [("assumed", f"⚠ {w['assumed']} {a['parameter']}: {_best(a['why'], lang)}") for a in step.get("assumptions", [])]
    cit = step.get("citation")
    if cit:
        if cit.get("assumed") and cit.get("assumption"):
            out.append(("assumed", f"⚠ {w['assumed']}: {_best(cit['assumption'], lang)}"))
        elif cit.get("quote"):
            article = f" {cit['article']}" if cit.get("article") else ""
            out.append(("cite", f"§ {cit.get('document') or ''}{article}: “{cit['quote']}”"))
        if cit.get("note"):
            out.append(("note", f"{w['note']}: {_best(cit['note'], lang)}"))
    return out


def _best(label: dict | None, lang: str) -> str:
    if not label:
        return ""
    return label.get(lang) or label.get("zh") or label.get("en") or ""


def _where(step: dict) -> str:
    s = step.get("source")
    return f"{s['file']}:{s['line']}" if s and s.get("line") else ""


def record_lines(d: Decision, lang: str) -> list[str]:
    """The decision's own record: which version, which settlement of the claim, what it changed and why."""
    w, f = LEDGER_WORDS[lang], Formatter(lang)
    head = (f"{w['decision']} {d.id} · {w['sequence'].format(n=d.sequence)} · {w['recorded']} "
            f"{d.recorded_at:%Y-%m-%d %H:%M} · {w['version']} {d.rulebook_id} #{d.rulebook_hash[:12]}")
    if d.supersedes:
        head += f" · {w['supersedes']} {d.supersedes}"
    lines = [head] + membership_lines(d, lang)
    for a in d.adjustments:
        reasons = [f"{x['fact']} {x['before']} → {x['after']}" for x in a.cause.get("facts", [])]
        if a.cause.get("membership"):  # the claim moved scheme: that is why its rulebook changed
            m = a.cause["membership"]
            reasons.append(w["scheme_moved"].format(before=_scheme(m["before"], lang), after=_scheme(m["after"], lang)))
        elif a.cause.get("rulebook"):
            reasons.append(w["rulebook_changed"])
        if a.cause.get("after_claims"):
            reasons.append(f"{w['after_claims']} ({', '.join(a.cause['after_claims'])})")
        line = f"{a.label(lang)} {f.money(abs(a.amount))} · {a.fund}"
        if reasons:
            line += f" · {w['because']}: " + "; ".join(reasons)
        p = a.provision
        if p:
            line += f" · {w['provision']}: {p['text'][lang]}" + (f" [{_where(p)}]" if _where(p) else "")
        lines.append(line)
    return lines


def _scheme(m: dict | None, lang: str) -> str:
    return "—" if not m else f"{_best(m.get('label'), lang) or m['scheme']} ({m['settled_by']})"


def membership_lines(d: Decision, lang: str) -> list[str]:
    """A decision under a membership rulebook: the scheme that settled it, why, the text that says so, and
    under 'highest of' what each former scheme would have paid (medrules.ledger.routing)."""
    m = d.membership
    if not m:
        return []
    w, f = LEDGER_WORDS[lang], Formatter(lang)
    line = (f"{w['insured']} ({m['rulebook']['id']} #{m['rulebook']['hash'][:12]}): "
            f"{_best(m.get('label'), lang) or m['scheme']} · {_best(m['because'], lang)} · "
            + w["settled_under"].format(id=m["settled_by"]))
    if any("funds_paid" in u for u in m["under"]):
        line += " · " + w["compared"].format(amounts="; ".join(
            f"{u['id']} {f.money(Decimal(u['funds_paid']))}" for u in m["under"]))
    out = [line]
    c = m.get("citation")
    if c and c.get("quote"):
        article = f" {c['article']}" if c.get("article") else ""
        out.append(f"§ {c.get('document') or c.get('source') or ''}{article}: “{c['quote']}”")
    return out


def text(doc: dict, view: str = "auditor", decision: Decision | None = None) -> str:
    lang = doc["lang"]
    words, f = document_words(lang), Formatter(lang)
    rb = doc["rulebook"]
    title = _best(rb.get("title"), lang) or rb["id"]
    out = [f"{title}  [{rb['id']}]"] + (record_lines(decision, lang) if decision else [])
    for c in doc["claims"]:
        out += ["", f"{words['claim']} {c['id']} · {c['date']} · {c['benefit_year']}"]
        if view == "citizen":
            out += [f"  • {s}" for s in c["citizen"]]
            continue
        fund = "\0"
        for i, step in enumerate(c["steps"], 1):
            if step["fund"] != fund:
                fund = step["fund"]
                if fund is not None:
                    out.append(f"── {fund}")
            where = f"  [{_where(step)}]" if _where(step) else ""
            out.append(f"{i:>3}. {step['text']}{where}")
            out += [f"       {t}" for _, t in annotations(step, lang)]
        paid = sum((Decimal(x["paid"]) for x in c["funds"]), Decimal(0))
        out.append(f"=> {words['funds']} {f.money(paid)}; {words['you']} {f.money(Decimal(c['member_pays']))}")
    return "\n".join(out) + "\n"


def markdown(doc: dict, view: str = "citizen", decision: Decision | None = None) -> str:
    lang = doc["lang"]
    w, f = document_words(lang), Formatter(lang)
    rb = doc["rulebook"]
    out = [f"# {w['title']}", "", f"{w['rulebook']}: **{_best(rb.get('title'), lang) or rb['id']}** (`{rb['id']}`) · "
           f"{w['member']}: {doc['member']}", ""]
    if decision:
        out += [f"- {line}" for line in record_lines(decision, lang)] + [""]
    for c in doc["claims"]:
        out += [f"## {w['claim']} {c['id']} · {c['date']} · {c['benefit_year']}", ""]
        if view == "citizen":
            out += [f"- {s}" for s in c["citizen"]] + [""]
            continue
        for i, step in enumerate(c["steps"], 1):
            where = f" `{_where(step)}`" if _where(step) else ""
            out.append(f"{i}. {step['text']}{where}")
            out += [f"   - `{t}`" if kind == "formula" else f"   - {t}" for kind, t in annotations(step, lang)]
        paid = sum((Decimal(x["paid"]) for x in c["funds"]), Decimal(0))
        out += ["", f"**{w['funds']} {f.money(paid)}; {w['you']} {f.money(Decimal(c['member_pays']))}**", ""]
    return "\n".join(out)


def html_page(doc: dict, view: str = "citizen", decision: Decision | None = None) -> str:
    """A standalone page (no scripts, no external files); every fact and rulebook text is escaped."""
    lang = doc["lang"]
    w, f, esc = document_words(lang), Formatter(lang), html.escape
    rb = doc["rulebook"]
    body = [f"<h1>{esc(w['title'])}</h1>",
            f"<p class=meta>{esc(w['rulebook'])}: <b>{esc(_best(rb.get('title'), lang) or rb['id'])}</b> "
            f"(<code>{esc(rb['id'])}</code>) · {esc(w['member'])}: {esc(doc['member'])}</p>"]
    if decision:
        body.append("<ul class=record>" + "".join(f"<li>{esc(x)}</li>" for x in record_lines(decision, lang)) + "</ul>")
    for c in doc["claims"]:
        heading = f"<h2>{esc(w['claim'])} {esc(c['id'])} · {esc(c['date'])} · {esc(c['benefit_year'])}</h2>"
        if view == "citizen":
            body.append(f"<section>{heading}<ul>" + "".join(f"<li>{esc(s)}</li>" for s in c["citizen"]) + "</ul></section>")
            continue
        items = []
        for step in c["steps"]:
            extra = "".join(f"<div class={kind}>{esc(t)}</div>" for kind, t in annotations(step, lang))
            where = f" <span class=where>{esc(_where(step))}</span>" if _where(step) else ""
            items.append(f"<li>{esc(step['text'])}{where}{extra}</li>")
        paid = sum((Decimal(x["paid"]) for x in c["funds"]), Decimal(0))
        body.append(f"<section>{heading}<ol>{''.join(items)}</ol><p class=total>{esc(w['funds'])} "
                    f"{esc(f.money(paid))}; {esc(w['you'])} {esc(f.money(Decimal(c['member_pays'])))}</p></section>")
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{esc(w['title'])} · {esc(rb['id'])}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 52em;
       margin: 2em auto; line-height: 1.5; color: #111; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; border-bottom: 1px solid #999; }}
.formula {{ font-family: monospace; color: #035; }} .cite {{ font-style: italic; color: #444; }}
.assumed, .note {{ color: #850; }} .where {{ color: #888; font-size: .85em; }} .total {{ font-weight: bold; }}
.record {{ color: #333; font-size: .9em; }} section {{ break-inside: avoid; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
{chr(10).join(body)}
</body></html>
"""
