"""A claim settled into the ledger under a membership rulebook: which scheme settled it, and why.

A membership rulebook (``insured NAME under "FILE.mr" when … because … cites …``, docs/language.md §25)
settles no claim itself; the ledger records each decision under the scheme's rulebook that settled it
(its id, content hash and plan hash, as for any decision) and, beside it, this record (the ``membership``
column, migration 0004):

* ``rulebook``: the membership rulebook (id, content hash, plan hash);
* ``scheme``, ``label``: the deciding ``insured`` statement; ``when``: its condition as written;
  ``because`` (zh, en) and ``citation``: why, from the policy text;
* ``settled_by``: the id of the rulebook whose settlement was kept;
* ``under``: every rulebook the statement names (id, hashes) and, for ``under highest of``, what the funds
  paid under each (``funds_paid``) — the better one is ``settled_by`` (ties: the first named).

A claim that moves scheme between two decisions (a history corrected, a membership rule changed) is a
re-settlement like any other: its adjustments recover from the old scheme's funds and pay from the new
one's, and their cause says ``membership``: the scheme before and after.
"""
from __future__ import annotations

from medrules.evaluate import ClaimResult
from medrules.ledger.sources import Rulebooks


def _label(label) -> dict | None:
    return None if label is None else {"zh": label.zh, "en": label.en or label.zh}


def routing(rb: Rulebooks, c: ClaimResult) -> dict | None:
    """The membership record of a claim settled (traced) under ``rb``; None when ``rb`` routes nothing."""
    ms = rb.membership
    if ms is None:
        return None
    from medrules.explain.formula import source_text
    step = next(s for s in c.steps if s.kind == "insured")
    route = next(r for r in ms.routes if r.node is step.node)
    router = rb.versions[-1]
    node, ck = step.node, router.program.checked
    citation = None
    if node.citation is not None:
        source = ck.sources.get(node.citation.source) if node.citation.source else None
        citation = {"source": node.citation.source, "document": source.number if source is not None else None,
                    "article": node.citation.article, "quote": node.citation.quote,
                    "assumed": node.citation.assumed}
    under = []
    for program in route.programs:
        v = rb.version(program)
        entry = {"id": program.checked.id, "hash": v.hash, "plan_hash": v.plan_hash}
        if step.compared:
            entry["funds_paid"] = str(step.compared[program.checked.id])
        under.append(entry)
    return {"rulebook": {"id": ck.id, "hash": router.hash, "plan_hash": router.plan_hash},
            "scheme": step.scheme, "label": _label(node.label), "when": source_text(node.when),
            "because": _label(node.because), "citation": citation, "settled_by": step.rulebook,
            "highest": bool(route.op.highest), "under": under}


def routing_key(routed: dict | None) -> list[str]:
    """What of the record a decision's idempotency key rests on: the rules that routed the claim (plan hashes)
    and the outcome of the routing, not the texts' content hashes (a reformatted membership rulebook routes
    the same and re-settles nothing, as for any rulebook)."""
    if routed is None:
        return []
    return ["membership", routed["rulebook"]["plan_hash"], routed["scheme"], routed["settled_by"],
            *(f"{u['id']}:{u['plan_hash']}:{u.get('funds_paid', '')}" for u in routed["under"])]


def history_changes(before: dict, after: dict) -> list[dict]:
    """The member's histories (``periods`` …) that differ between two facts documents, as fact changes."""
    out = []
    for key in sorted((set(before) | set(after)) - {"member", "claims", "opening"}):
        if before.get(key) != after.get(key):
            out.append({"fact": key, "before": _plain(before.get(key)), "after": _plain(after.get(key))})
    return out


def _plain(value):
    import json

    from medrules.ledger.sources import canonical
    return json.loads(canonical(value)) if value is not None else None


def moved(before: dict | None, after: dict | None) -> dict | None:
    """The cause of an adjustment when the claim's scheme changed between two decisions, else None."""
    if (before or {}).get("scheme") == (after or {}).get("scheme") and \
            (before or {}).get("settled_by") == (after or {}).get("settled_by"):
        return None

    def side(m):
        return None if m is None else {"scheme": m["scheme"], "label": m["label"], "settled_by": m["settled_by"]}
    return {"before": side(before), "after": side(after)}
