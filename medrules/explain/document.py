"""Explanations as documents: Markdown, and a standalone HTML page for printing or a letter.

Both are Jinja2 templates (``medrules/templates/``; HTML autoescaped, Markdown through the ``md``
filter that escapes whatever the facts say), filled from one context built here from the same
lines as the terminal: the citizen's view (a few sentences per claim, under a summary) and the
auditor's (every step, its arithmetic, its citation and its place in the rulebook). An office
brands its letter by giving a folder whose templates replace the shipped ones (``--template-dir``).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import attrs
import jinja2

from medrules.evaluate.runtime import ZERO
from medrules.explain import Explanation
from medrules.explain.citizen import citizen_view
from medrules.explain.format import Formatter
from medrules.explain.i18n import gettext_for
from medrules.explain.steps import annotations
from medrules.explain.words import reading_sentence

# The documents' headings, as English msgids; other languages come from the catalog (medrules/locale).
WORDS = {
    "title": "How your claim was settled",
    "rulebook": "Rulebook",
    "member": "Member",
    "scheme": "Scheme",
    "funds": "funds pay",
    "you": "member pays",
    "claim": "Claim",
    "summary": "Summary",
    "funds_paid": "Paid by the funds",
    "yours": "Yours to pay",
    "total": "Total cost",
    "limits": "Yearly limits reached",
    "limit_on": " (claim {claim})",
    "office": "Issued by",
    "date": "Date",
    "appeal": "Questions and appeals",
    "claims": "Claims",
}


def words(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {key: _(text) for key, text in WORDS.items()}


PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@attrs.frozen
class Letter:
    """Who issues a letter and how to answer it: from the rulebook header (``office``, ``appeal``),
    the facts (``member.name`` when declared) or settings; the date defaults to today."""
    office: str | None = None
    appeal: str | None = None
    date: dt.date | None = None
    member_name: str | None = None


def letter_for(e: Explanation, facts=None, office: str | None = None, appeal: str | None = None,
               date: dt.date | None = None) -> Letter:
    h = e.program.checked.rulebook.header
    name = None
    if facts is not None:
        value = facts.member.get("name")
        name = value if isinstance(value, str) and value else None
    return Letter(office=office or (h.office.best(e.lang) if h.office else None),
                  appeal=appeal or (h.appeal.best(e.lang) if h.appeal else None),
                  date=date or dt.date.today(), member_name=name)


# ---------------------------------------------------------------- Markdown escaping
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#!])")


def md_escape(value) -> str:
    """Text from a rulebook or facts file as inert Markdown: every character that could open markup (emphasis,
    links, HTML, tables, headings) is backslash-escaped and line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split("\n")))


def md_code(value) -> str:
    """A code span that holds any text (a backtick inside gets a longer fence)."""
    text = " ".join(str(value).split("\n"))
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def environment(template_dir: str | Path | None = None) -> jinja2.Environment:
    """Templates from ``template_dir`` first (an office's own), then the shipped ones."""
    loaders = [jinja2.FileSystemLoader(str(template_dir))] if template_dir else []
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html", "html.j2"], default=False),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["md_code"] = md_code
    return env


# ---------------------------------------------------------------- the context
def context(e: Explanation, view: str, letter: Letter | None = None) -> dict:
    """Everything a template may show, as plain strings and lists (no objects to call)."""
    w = words(e.lang)
    f = Formatter(e.lang, grid=view == "citizen")
    h = e.program.checked.rulebook.header
    letter = letter or Letter()
    claims = [c.result for c in e.claims]
    titles = {name: fund.title(e.lang) for name, fund in e.program.all_funds()}
    limits = []
    for c in e.claims:
        for step in c.result.steps or ():
            if step.kind == "cap" and step.values.get("what") == "payments" and step.values.get("limited"):
                name = f"{step.layer}.{step.fund}" if step.layer else step.fund
                if any(limit["name"] == name for limit in limits):  # said once: the claim that reached it
                    continue
                limits.append({"name": name, **{"fund": titles.get(name, step.fund), "cap": f.money(step.values["cap"]),
                               "claim": c.result.id}})
    summary = {"total": f.money(sum((r.total_cost for r in claims), ZERO)),
               "funds_paid": f.money(sum((r.funds_paid for r in claims), ZERO)),
               "yours": f.money(sum((r.member_pays for r in claims), ZERO)),
               "limits": limits,
               "funds": [{"fund": titles.get(name, name), "paid": f.money(paid)}
                         for name, paid in _fund_totals(claims)]}
    out = {"lang": e.lang, "html_lang": "zh-CN" if e.lang == "zh" else "en", "view": view, "words": w,
           "scheme": h.title.best(e.lang) if h.title else (h.scheme or h.id), "rulebook_id": h.id,
           "member_id": e.settlement.member_id, "member_name": letter.member_name,
           "office": letter.office, "appeal": letter.appeal,
           "date": letter.date.isoformat() if letter.date else None, "summary": summary}
    if view == "citizen":
        out["claims"] = [{"heading": c.heading, "sentences": list(c.sentences)} for c in citizen_view(e)]
        return out
    out["claims"] = []
    for c in e.claims:
        r = c.result
        steps = []
        for i, line in enumerate(c.lines, 1):
            where = f"{line.span.file}:{line.span.line}" if line.span is not None and line.span.line else None
            steps.append({"number": i, "text": line.text, "where": where,
                          "notes": [{"kind": kind, "text": text} for kind, text in annotations(line, e.lang)]})
        out["claims"].append({"id": r.id, "date": str(r.date), "year": r.year, "steps": steps,
                              "funds_paid": f.money(r.funds_paid), "member_pays": f.money(r.member_pays),
                              "readings": [reading_sentence(note, f, titles, r.funds_paid, r.member_pays)
                                           for note in e.reading_notes(r.id)]})
    return out


def _fund_totals(claims) -> list[tuple[str, object]]:
    """What each fund paid over these claims (funds that paid something)."""
    totals: dict[str, object] = {}
    for r in claims:
        for x in r.funds:
            totals[x.fund] = totals.get(x.fund, ZERO) + x.paid
    return [(name, paid) for name, paid in totals.items() if paid]


def markdown(e: Explanation, view: str = "citizen", letter: Letter | None = None,
             template_dir: str | Path | None = None) -> str:
    return environment(template_dir).get_template("explanation.md.j2").render(context(e, view, letter))


def html_page(e: Explanation, view: str = "citizen", letter: Letter | None = None,
              template_dir: str | Path | None = None) -> str:
    """A standalone page (no scripts, no external files), laid out for printing; the citizen's view is a letter."""
    return environment(template_dir).get_template("letter.html.j2").render(context(e, view, letter))


# ---------------------------------------------------------------- what if?
WHAT_IF_WORDS = {
    "title": "What if",
    "claim": "Claim",
    "more": "the funds pay more by",
    "less": "the funds pay less by",
    "member": "the member pays",
    "nothing": "Nothing changes.",
    "in_all": "In all, the funds pay",
    "most": "The facts that would change the outcome most",
    "steps": "Steps that change",
}  # English msgids


def what_if_context(w, sensitivity=(), view: str = "auditor") -> dict:
    """A what-if (medrules.analyses.whatif.WhatIf) for the templates; the citizen's view leaves out the steps."""
    from medrules.explain.text import moved_sentences
    from medrules.explain.words import what_if_reading_sentences as reading_sentences
    f = Formatter(w.lang, grid=view == "citizen")

    def signed(d):
        return ("+" if d >= 0 else "−") + f.number(abs(d))
    claims = []
    for i, d in enumerate(w.claims):
        claims.append({
            "id": f"{d.claim_id} ({w.persons[i]})" if w.persons else d.claim_id, "more": d.delta >= 0, "delta": f.money(abs(d.delta)),
            "member_before": f.number(d.member_before), "member_after": f.number(d.member_after),
            "funds": [{"fund": title, "name": fund, "before": f.number(before), "after": f.number(after),
                       "delta": signed(after - before)} for fund, title, before, after in d.funds],
            "readings": reading_sentences(w, d.claim_id),
            "steps": [] if view == "citizen" else [
                {"before": c.before.text if c.before is not None else None,
                 "after": c.after.text if c.after is not None else None} for c in d.steps]})
    return {"lang": w.lang, "html_lang": "zh-CN" if w.lang == "zh" else "en", "view": view,
            "words": {key: gettext_for(w.lang)(text) for key, text in WHAT_IF_WORDS.items()}, "changes": ", ".join(c.text for c in w.changes), "claims": claims,
            "funds_before": f.number(w.funds_before), "funds_after": f.number(w.funds_after),
            "total": signed(w.funds_after - w.funds_before),
            "most": [{"change": s.change.text, "delta": ("+" if s.delta >= 0 else "−") + f.money(abs(s.delta)),
                      "moves": moved_sentences(s, w.lang)} for s in sensitivity]}


def what_if_markdown(w, sensitivity=(), view: str = "auditor", template_dir: str | Path | None = None) -> str:
    return environment(template_dir).get_template("whatif.md.j2").render(what_if_context(w, sensitivity, view))


def what_if_html(w, sensitivity=(), view: str = "auditor", template_dir: str | Path | None = None) -> str:
    return environment(template_dir).get_template("whatif.html.j2").render(what_if_context(w, sensitivity, view))
