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


def explain(s, program, facts, claim_ids, what_if, view: str, format_: str, lang: str, found=None):
    """``found``: a claim of a batch's results (medrules.batch.explain.from_results), checked against its row."""
    from rich.console import Group

    from medrules.explain import explain as explain_settlement
    from medrules.explain.json import explanation_json
    from medrules.explain.text import render_citizen, render_explanation
    if what_if:
        raise MedrulesError(error("what-if", f"--what-if is not available for '{program.checked.id}', which routes "
                                  "claims to the schemes' rulebooks", None,
                                  "ask it of the scheme's rulebook the claim was settled under"))
    if format_ in ("markdown", "html"):
        raise MedrulesError(error("format", f"--format {format_} is not available for '{program.checked.id}', which "
                                  "routes claims to the schemes' rulebooks", None, "use --format text or json"))
    ms, result, used, groups = _settle(s, program, found.source if found else facts, trace=True)
    if found:
        from medrules.batch.explain import check
        check(found, result, settled_by=used[found.claim].checked.id if found.claim in used else None)
    known = {c.id for c in result.claims}
    for cid in claim_ids or []:
        if cid not in known:
            raise MedrulesError(error("facts", f"there is no claim '{cid}' in {facts}",
                                      hint="claims in the file: " + ", ".join(sorted(known))))
    docs = []
    for p, ids in groups:
        mine = [i for i in ids if not claim_ids or i in claim_ids]
        if mine:
            docs.append(explain_settlement(p, result, lang, mine))
    if format_ == "json":
        return json.dumps({"schema": EXPLANATION_SCHEMA, "explanations": [explanation_json(e) for e in docs]},
                          ensure_ascii=False, indent=2)
    return Group(*(render_citizen(e) if view == "citizen" else render_explanation(e) for e in docs))
