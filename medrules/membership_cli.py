"""``medrules run`` and ``medrules explain`` on a membership rulebook: each claim settled and explained under
the scheme the person belonged to on its date (:mod:`medrules.membership`). Called by the two commands in
:mod:`medrules.cli` when the rulebook they are given routes claims ('insured … under …'); each returns what
the command prints: a JSON text, or something rich renders."""
from __future__ import annotations

import json

import attrs

from medrules.diagnostics import MedrulesError, error

SETTLEMENT_SCHEMA = "medrules.settlement-membership/1"
EXPLANATION_SCHEMA = "medrules.explanation-set/1"


def _settle(s, program, facts, trace: bool):
    from medrules.membership import load_membership, routes_of, settle_membership
    ms = load_membership(program, read=lambda path: s.read(path, "rulebook"), root=s.root, readings=s.readings)
    source = facts if hasattr(facts, "text") else s.read(facts, "facts")  # (a claim of a batch: its member's file)
    result, used = settle_membership(ms, source, trace=trace)
    return ms, result, used, routes_of(ms, result, used)


def run(s, program, facts, as_json: bool, lang: str):
    from medrules.explain.json import settlement_json
    from medrules.explain.text import render_settlement
    ms, result, used, groups = _settle(s, program, facts, trace=True)
    if as_json:
        schemes = {}
        for p, ids in groups:
            schemes[p.checked.id] = settlement_json(p, attrs.evolve(result, claims=tuple(
                c for c in result.claims if c.id in ids)))
        insured = {c.id: next(x for x in c.steps if x.kind == "insured") for c in result.claims}
        return json.dumps({"schema": SETTLEMENT_SCHEMA, "rulebook": program.checked.id, "member": result.member_id,
                          "claims": [{"id": c.id, "date": c.date.isoformat(), "insured": insured[c.id].scheme,
                                      "rulebook": used[c.id].checked.id}
                                     | ({"compared": {k: str(v) for k, v in insured[c.id].compared.items()}}
                                        if insured[c.id].compared else {})
                                     for c in result.claims],
                          "schemes": schemes}, ensure_ascii=False, indent=2)
    programs = [p for p, _ in groups] or list(ms.programs)
    return render_settlement(programs[-1], result, lang, programs=programs)


def explain(s, program, facts, claim_ids, what_if, view: str, format_: str, lang: str, template_dir=None,
            found=None):
    """``found``: a claim of a batch's results (medrules.batch.explain.from_results), checked against its row."""
    from rich.console import Group

    from medrules.explain import explain as explain_settlement
    from medrules.explain.json import explanation_json
    from medrules.explain.text import render_citizen, render_explanation
    if what_if:
        return _what_if(s, program, facts, claim_ids, what_if, view, format_, lang, template_dir)
    ms, result, used, groups = _settle(s, program, found.source if found else facts, trace=True)
    if found:
        from medrules.batch.explain import check
        check(found, result, settled_by=used[found.claim].checked.id if found.claim in used else None)
    _known(result, claim_ids, facts)
    from medrules.membership import load_membership
    from medrules.membership_readings import reading_notes  # what the schemes' other readings would have paid
    source = found.source if found else s.read(facts, "facts")
    notes = reading_notes(lambda choice: load_membership(program, read=lambda path: s.read(path, "rulebook"),
                                                         root=s.root, readings=choice), ms, source, result, used,
                          s.readings)
    docs = []
    for p, ids in groups:
        mine = [i for i in ids if not claim_ids or i in claim_ids]
        if mine:
            docs.append(explain_settlement(p, result, lang, mine, readings=notes))
    if format_ == "json":
        return json.dumps({"schema": EXPLANATION_SCHEMA, "explanations": [explanation_json(e) for e in docs]},
                          ensure_ascii=False, indent=2)
    if format_ in ("markdown", "html"):  # one document headed by the membership rulebook (membership_documents)
        from medrules import membership_documents
        render = membership_documents.markdown if format_ == "markdown" else membership_documents.html_page
        return render(program, docs, [c.id for c in result.claims], view, template_dir=template_dir)
    from medrules.membership_sensitivity import why_nothing  # an unpaid claim: what would have made it pay
    return Group(*(render_citizen(e) if view == "citizen" else render_explanation(e) for e in docs),
                 *why_nothing(ms, source, result, claim_ids, lang, citizen=view == "citizen"))


def _known(result, claim_ids, facts) -> None:
    known = {c.id for c in result.claims}
    for cid in claim_ids or []:
        if cid not in known:
            raise MedrulesError(error("facts", f"there is no claim '{cid}' in {facts}",
                                      hint="claims in the file: " + ", ".join(sorted(known))))


def _what_if(s, program, facts, claim_ids, changes, view, format_, lang, template_dir):
    """--what-if on a membership rulebook (medrules.membership_whatif): facts, the membership rulebook's
    parameters (NAME=VALUE) or a scheme's (STEM.NAME=VALUE); before and after, a claim moving scheme included."""
    from medrules import membership_whatif as mw
    from medrules.membership import load_membership

    def load(router, readings=None):  # (readings: the schemes' other readings, for the notes)
        return load_membership(router, read=lambda path: s.read(path, "rulebook"), root=s.root,
                               readings=s.readings if readings is None else readings, path=program.checked.file)
    ms = load(program)
    source = s.read(facts, "facts")
    if claim_ids:
        from medrules.membership import settle_membership
        _known(settle_membership(ms, source)[0], claim_ids, facts)
    w = mw.what_if(ms, source, changes, lang, claim_ids, load=load, readings=s.readings)
    from medrules.membership_sensitivity import sensitivity  # the facts that matter most, over every rulebook
    most = sensitivity(ms, source, claim_ids)
    if format_ == "json":
        return json.dumps(mw.what_if_json(w, most), ensure_ascii=False, indent=2)
    if format_ in ("markdown", "html"):
        from medrules.explain.document import what_if_html, what_if_markdown
        render = what_if_markdown if format_ == "markdown" else what_if_html
        return render(w, most, view, template_dir)
    from medrules.explain.text import render_what_if
    return render_what_if(w, most, citizen=view == "citizen")


def diff(s, before, after, facts, lang: str):
    """``medrules diff`` on membership rulebooks (medrules.membership_diff): both must route claims."""
    from medrules import membership_diff
    from medrules.membership import load_membership
    if not (before.plan.top.memberships and after.plan.top.memberships):
        membership_diff.refuse_mixed(before, after)

    def load(router, new: bool = False):  # the schemes, beside the file the router comes from
        return load_membership(router, read=lambda path: s.read(path, "rulebook"), root=s.root, readings=s.readings,
                               path=(after if new else before).checked.file)
    return membership_diff.diff(before, after, [s.read(p, "facts") for p in facts or []], lang, load)

