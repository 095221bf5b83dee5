"""``medrules explain MEMBERSHIP FACTS --format markdown|html``: one document for a membership rulebook.

The claims are settled under several schemes' rulebooks (:mod:`medrules.membership`); each scheme's claims are
explained by its own rulebook, and the contexts of :func:`medrules.explain.document.context` are merged into
one document headed by the membership rulebook: every claim in date order, each opening with the membership
step (which scheme, why, the text that says so; under ``highest of`` every former scheme's amount), and one
summary over all of them. The shipped templates render it (Markdown escaped with ``|md``, HTML autoescaped),
so an office's ``--template-dir`` applies as for any rulebook.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from medrules.evaluate.runtime import ZERO
from medrules.explain.document import Letter, context, environment
from medrules.explain.format import Formatter


def membership_context(router, docs: list, order: list[str], view: str, letter: Letter | None = None) -> dict:
    """One context over the explanations of each scheme's claims (``docs``), claims in ``order`` (their ids)."""
    lang = docs[0].lang
    h = router.checked.rulebook.header
    letter = letter or Letter(office=h.office.best(lang) if h.office else None,
                              appeal=h.appeal.best(lang) if h.appeal else None, date=dt.date.today())
    parts = [(e, context(e, view, letter)) for e in docs]
    out = dict(parts[0][1])
    out["scheme"] = h.title.best(lang) if h.title else h.id
    out["rulebook_id"] = h.id
    claims = []
    for e, ctx in parts:
        claims += [(c.result.id, item) for c, item in zip(e.claims, ctx["claims"])]
    position = {cid: i for i, cid in enumerate(order)}
    out["claims"] = [item for _, item in sorted(claims, key=lambda x: position.get(x[0], len(position)))]
    f = Formatter(lang, grid=view == "citizen")
    results = [c.result for e in docs for c in e.claims]
    out["summary"] = {"total": f.money(sum((r.total_cost for r in results), ZERO)),
                      "funds_paid": f.money(sum((r.funds_paid for r in results), ZERO)),
                      "yours": f.money(sum((r.member_pays for r in results), ZERO)),
                      "limits": [x for _, ctx in parts for x in ctx["summary"]["limits"]],
                      "funds": [x for _, ctx in parts for x in ctx["summary"]["funds"]]}
    return out


def markdown(router, docs, order, view: str = "citizen", letter: Letter | None = None,
             template_dir: str | Path | None = None) -> str:
    return environment(template_dir).get_template("explanation.md.j2").render(
        membership_context(router, docs, order, view, letter))


def html_page(router, docs, order, view: str = "citizen", letter: Letter | None = None,
              template_dir: str | Path | None = None) -> str:
    return environment(template_dir).get_template("letter.html.j2").render(
        membership_context(router, docs, order, view, letter))
