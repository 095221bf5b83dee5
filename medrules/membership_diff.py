"""``medrules diff OLD NEW FACTS`` when OLD and NEW are membership rulebooks (``insured … under …``).

The provisions compared are the membership rulebooks' own (header, parameters, as for any rulebook: see
:func:`medrules.analyses.diff.provision_changes`) and their ``insured`` statements, by name: the rulebook(s)
a statement settles under and its condition. The claims of each facts file are settled under both (each
under the scheme of its date, :mod:`medrules.membership`), and each claim's change is attributed as
:func:`medrules.analyses.diff.diff` does: starting from OLD, each changed parameter takes its new value,
then each changed ``insured`` statement is written as NEW writes it (in the order NEW names them), and the
claims are settled again; a step's difference belongs to that change; what is left (a scheme's own
rulebook changed, a statement added that no hybrid can hold) is "other changes". Funds are named as the
schemes name them (``inpatient_pool``, ``resident_pool``): a claim that moves scheme shows one fund going to
0 and the other paying. The result is a :class:`medrules.analyses.diff.Diff`, so its text, Markdown and JSON
renderings are those of any diff.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules.analyses.diff import Attribution, ClaimDiff, Diff, ProvisionChange, provision_changes
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.runtime import ZERO
from medrules.explain.formula import source_text


def refuse_mixed(old, new, command: str = "diff") -> None:
    """A membership rulebook compared with one that settles claims itself: a located refusal."""
    one = old if old.plan.top.memberships else new
    other = new if one is old else old
    node = one.checked.rulebook.memberships[0]
    raise MedrulesError(error("membership", f"'{one.checked.id}' routes claims to the schemes' rulebooks and "
                              f"'{other.checked.id}' settles them itself: {command} compares two rulebooks of "
                              "the same kind", node.span,
                              "diff two membership rulebooks, or two of the schemes' rulebooks"))


def _statement(node) -> str:
    under = ("highest of " if node.highest else "") + ", ".join(f'"{p}"' for p in node.paths)
    return f"under {under} when {source_text(node.when)}"


def insured_changes(old, new, lang: str) -> list[ProvisionChange]:
    before = {m.name: m for m in old.checked.rulebook.memberships}
    after = {m.name: m for m in new.checked.rulebook.memberships}
    out = []
    for name in list(after) + [x for x in before if x not in after]:
        b, a = before.get(name), after.get(name)
        tb, ta = (_statement(b) if b else None), (_statement(a) if a else None)
        if tb != ta:
            node = a or b
            label = f"insured {name}" + (f" ({node.label.best(lang)})" if node.label else "")
            out.append(ProvisionChange("insured", name, label, tb, ta))
    return out


def _hybrid(old, new, names: set[str], params: set[str]):
    """OLD with the named 'insured' statements as NEW writes them and the named parameters at NEW's values;
    None when that mixture is not a consistent rulebook."""
    from medrules.check import check
    from medrules.evaluate.compile import compile_rulebook
    rb = old.checked.rulebook
    new_by = {m.name: m for m in new.checked.rulebook.memberships}
    members = [new_by.get(m.name, m) if m.name in names else m for m in rb.memberships if
               m.name not in names or m.name in new_by]
    members += [m for m in new.checked.rulebook.memberships if m.name in names and m.name not in
                {x.name for x in rb.memberships}]
    new_params = {p.name: p for p in new.checked.rulebook.parameters}
    parameters = tuple(new_params[p.name] if p.name in params and p.name in new_params else p for p in rb.parameters)
    try:
        return compile_rulebook(check(attrs.evolve(rb, memberships=tuple(members), parameters=parameters)))
    except MedrulesError:
        return None


def diff(old, new, sources: list, lang: str, load) -> Diff:
    """``load(router_program)`` -> its MembershipSet (the schemes loaded beside OLD's file)."""
    from medrules.membership import settle_membership
    changes = list(provision_changes(old, new, lang)) + insured_changes(old, new, lang)
    steps: list[tuple] = []
    applied: dict[str, object] = {}
    for change in changes:
        if change.kind == "parameter" and change.name in old.checked.parameters and \
                change.name in new.checked.parameters:
            applied[change.name] = new.plan.top.parameters[change.name]
            steps.append((change, lambda a=dict(applied): load(old.with_overrides(a))))
    names: set[str] = set()
    for change in changes:
        if change.kind == "insured":
            names.add(change.name)
            hybrid = _hybrid(old, new, set(names), set(applied))
            if hybrid is not None:
                steps.append((change, lambda h=hybrid: load(h)))
    steps.append((None, lambda: load(new, new=True)))
    stages = [load(old)] + [make() for _, make in steps]
    claims = []
    for source in sources:
        settled = [settle_membership(ms, source, in_force_only=False)[0] for ms in stages]
        paid = [{c.id: _paid(c) for c in s.claims} for s in settled]
        member = [{c.id: c.member_pays for c in s.claims} for s in settled]
        for claim in settled[0].claims:
            cid = claim.id
            funds = sorted(set().union(*(p[cid] for p in paid)))
            rows = [{f: p[cid].get(f, ZERO) for f in funds} for p in paid]
            attributions = []
            for (change, _), prev, cur in zip(steps, rows, rows[1:]):
                delta = {f: cur[f] - prev[f] for f in funds if cur[f] != prev[f]}
                if delta:
                    attributions.append(Attribution(change, delta))
            claims.append(ClaimDiff(cid, rows[0], rows[-1], member[0][cid], member[-1][cid], tuple(attributions)))
    return Diff(old, new, tuple(changes), tuple(claims))


def _paid(c) -> dict[str, Decimal]:
    return {f.fund: f.paid for f in c.funds}
