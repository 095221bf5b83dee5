"""What a new year of contributions changes: what each member owes, attributed to the provisions that changed.

The premium side of :mod:`medrules.analyses.diff`. Contribution clauses are compared by contribution
and clause (``basic.premium``, ``basic.subsidy government``, ``basic.prorate``); each member of the
facts files is assessed under the old rulebook, under the old rulebook with each changed parameter
at its new value in turn (an override on the old plan: the same steps as for claims), then with each
contribution clause whose words changed as the new rulebook writes it (checked and compiled again),
and under the new one. Each step's change in what the member owes, per contribution, belongs to that
parameter or clause; what is left belongs to the other changes (an added contribution, a mixture that
is not a consistent rulebook).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.evaluate import assess
from medrules.evaluate.contribution import Assessment
from medrules.explain.formula import source_text

ZERO = Decimal(0)


@attrs.frozen
class Owed:
    """One contribution of one assessment: premium, each subsidy granted, what the member owes."""

    applied: bool
    premium: Decimal
    subsidies: dict[str, Decimal]
    owes: Decimal


@attrs.frozen
class MemberDiff:
    member_id: str
    before: dict[str, Owed]  # contribution -> under the old rulebook
    after: dict[str, Owed]
    attributions: tuple  # Attribution(change, {contribution: change in what the member owes})

    @property
    def owes_before(self) -> Decimal:
        return sum((o.owes for o in self.before.values()), ZERO)

    @property
    def owes_after(self) -> Decimal:
        return sum((o.owes for o in self.after.values()), ZERO)


def contribution_clauses(c: n.Contribution | None) -> dict[str, str]:
    """A contribution's clauses by key ('premium', 'subsidy government', 'prorate', 'applies'), as written."""
    if c is None:
        return {}
    out = {}
    for clause in c.clauses:
        if isinstance(clause, n.Premium):
            out["premium"] = source_text(clause.amount)
        elif isinstance(clause, n.Subsidy):
            when = f" when {source_text(clause.when)}" if clause.when is not None else ""
            out[f"subsidy {clause.name}"] = source_text(clause.amount) + when
        elif isinstance(clause, n.Prorate):
            (m1, d1), (m2, d2) = clause.start, clause.end
            when = f" when {source_text(clause.when)}" if clause.when is not None else ""
            out["prorate"] = (f"from {m1:02d}-{d1:02d} to {m2:02d}-{d2:02d}{when} rounding {clause.mode} "
                              f"to {clause.quantum} yuan")
        elif isinstance(clause, n.Applies):
            out["applies"] = source_text(clause.when)
    return out


def _clause_key(clause) -> str | None:
    if isinstance(clause, n.Premium):
        return "premium"
    if isinstance(clause, n.Subsidy):
        return f"subsidy {clause.name}"
    if isinstance(clause, n.Prorate):
        return "prorate"
    if isinstance(clause, n.Applies):
        return "applies"
    return None


def contribution_steps(old, new, changes, params: set[str]) -> list:
    """(change, program): the old rulebook with each changed contribution clause (and the ones before it) as the
    new rulebook writes it, and the changed parameters at their new values — checked and compiled again; a
    mixture that is not a consistent rulebook is left to the other changes."""
    from medrules.check import check
    from medrules.diagnostics import MedrulesError
    from medrules.evaluate.compile import compile_rulebook
    new_contributions = {c.name: c for c in new.checked.rulebook.contributions}
    replaced: dict[tuple[str, str], object] = {}
    steps = []
    for change in changes:
        if change.kind != "contribution":
            continue
        name, _, key = change.name.partition(".")
        after = new_contributions.get(name)
        replaced[name, key] = next((c for c in after.clauses if _clause_key(c) == key), None) if after else None
        rb = old.checked.rulebook
        contributions = []
        for c in rb.contributions:
            keyed = {k: x for (cname, k), x in replaced.items() if cname == c.name}
            if not keyed:
                contributions.append(c)
                continue
            clauses = [keyed.get(_clause_key(x), x) if _clause_key(x) in keyed else x for x in c.clauses]
            clauses = [x for x in clauses if x is not None]
            clauses += [x for k, x in keyed.items() if x is not None and k not in {_clause_key(y) for y in c.clauses}]
            contributions.append(attrs.evolve(c, clauses=tuple(clauses)))
        new_params = {p.name: p for p in new.checked.rulebook.parameters}
        parameters = tuple(new_params[p.name] if p.name in params and p.name in new_params else p
                           for p in rb.parameters)
        try:
            checked = check(attrs.evolve(rb, contributions=tuple(contributions), parameters=parameters),
                            base=old.checked.base)
            steps.append((change, compile_rulebook(checked)))
        except MedrulesError:
            continue
    return steps


def contribution_changes(old, new, lang: str, change_class, shown) -> list:
    """ProvisionChanges of kind 'contribution' (name 'CONTRIBUTION.CLAUSE')."""
    o = {c.name: c for c in old.checked.rulebook.contributions}
    w = {c.name: c for c in new.checked.rulebook.contributions}
    out = []
    for name in list(o) + [x for x in w if x not in o]:
        before, after = contribution_clauses(o.get(name)), contribution_clauses(w.get(name))
        c = w.get(name) or o.get(name)
        for key in list(before) + [k for k in after if k not in before]:
            if before.get(key) != after.get(key):
                out.append(change_class("contribution", f"{name}.{key}", f"{c.title(lang)} · {key}",
                                        shown(before.get(key), lang), shown(after.get(key), lang)))
    return out


def owed(a: Assessment) -> dict[str, Owed]:
    return {c.name: Owed(c.applied, c.premium, {s.name: s.granted for s in c.subsidies}, c.member_owes)
            for c in a.contributions}


def diff_facts(source, old, new):
    """A facts file read for ``medrules diff``: for two rulebooks of contributions, a member's facts or a
    household file (:mod:`medrules.contributions.household`), checked against both; else the claims' facts."""
    if old.plan.top.total is None and new.plan.top.total is None and old.plan.top.contributions:
        from medrules.contributions.household import load_household_facts
        a, b = load_household_facts(source, old.checked), load_household_facts(source, new.checked)
        members = tuple(attrs.evolve(x, member=y.member | x.member) for x, y in zip(a.members, b.members))
        return attrs.evolve(a, values=b.values | a.values, members=members)
    from medrules.facts import facts_for_both
    return facts_for_both(source, old.checked, new.checked)


def _each_member(facts_list):
    """(member facts, household values or None) for each member of the facts files (households: each member)."""
    from medrules.contributions.household import HouseholdFacts
    from medrules.household import HouseholdClaims
    for facts in facts_list:
        if isinstance(facts, HouseholdFacts):
            yield from ((m, facts.values) for m in facts.members)
        elif isinstance(facts, HouseholdClaims):  # a household file of claims (quotas kept per holder): each person
            yield from ((m, facts.values) for m in facts.people)
        else:
            yield facts, None


def member_diffs(old, new, steps, facts_list, attribution_class) -> tuple[MemberDiff, ...]:
    """``steps``: (change, program) — the old rulebook with each change applied in turn, ending with the new."""
    if not (old.plan.top.contributions and new.plan.top.contributions):
        return ()
    out = []
    for facts, household in _each_member(facts_list):
        def one(p):
            return owed(assess(p, facts, household=household if p.checked.records.get("household") else None))
        stages = [one(old)] + [one(p) for _, p in steps]
        attributions = []
        for (change, _), prev, cur in zip(steps, stages, stages[1:]):
            delta = {c: cur[c].owes - (prev[c].owes if c in prev else ZERO) for c in cur
                     if cur[c].owes != (prev[c].owes if c in prev else ZERO)}
            delta |= {c: -prev[c].owes for c in prev if c not in cur and prev[c].owes}
            if delta:
                attributions.append(attribution_class(change, delta))
        out.append(MemberDiff(facts.member_id, stages[0], stages[-1], tuple(attributions)))
    return tuple(out)


# ---------------------------------------------------------------- renderings
def members_json(d, lang: str, change_words) -> list[dict]:
    from medrules.explain.json import plain

    def one(o: Owed) -> dict:
        return {"applied": o.applied, "premium": plain(o.premium), "subsidies": plain(o.subsidies),
                "member_owes": plain(o.owes)}
    return [{"id": m.member_id, "before": {c: one(o) for c, o in m.before.items()},
             "after": {c: one(o) for c, o in m.after.items()},
             "owes_before": plain(m.owes_before), "owes_after": plain(m.owes_after),
             "attributions": [{"change": a.change.name if a.change else None, "words": change_words(a.change, lang),
                               "contributions": plain(a.funds)} for a in m.attributions]} for m in d.members]


# the memo's table headers (English msgids; the catalog has the other languages)
MEMBER_COLUMNS = ("member", "contribution", "owed before", "owes now", "change", "why", "attributed to")


def members_markdown(d, lang: str, change_words, signed) -> list[str]:
    from medrules.explain.format import Formatter
    if not d.members:
        return []
    f = Formatter(lang)
    from medrules.explain.i18n import gettext_for
    _ = gettext_for(lang)
    titles = {c.name: c.title(lang) for p in (d.old, d.new) for c in p.checked.rulebook.contributions}
    labels = {(c.name, s.name): s.label.best(lang) if s.label else s.name
              for p in (d.old, d.new) for c in p.checked.rulebook.contributions for s in c.clause(n.Subsidy)}
    out = ["", "## " + _("What members owe"), "",
           "| " + " | ".join(_(c) for c in MEMBER_COLUMNS) + " |", "|---|---|---:|---:|---:|---|---|"]
    for m in d.members:
        for c in list(m.after) + [x for x in m.before if x not in m.after]:
            b, a = m.before.get(c), m.after.get(c)
            ob, oa = b.owes if b else ZERO, a.owes if a else ZERO
            if ob == oa:
                continue
            why = _why(b, a, f, _, {s: x for (k, s), x in labels.items() if k == c})
            attributed = "; ".join(f"{change_words(x.change, lang)}: {signed(f, x.funds[c])}"
                                   for x in m.attributions if c in x.funds)
            out.append(f"| {m.member_id} | {titles.get(c, c)} | {f.number(ob)} | {f.number(oa)} | {signed(f, oa - ob)} "
                       f"| {why} | {attributed} |")
    changed = sum(1 for m in d.members if m.owes_before != m.owes_after)
    before = sum((m.owes_before for m in d.members), ZERO)
    after = sum((m.owes_after for m in d.members), ZERO)
    out += ["", _("Members whose contribution changes: {changed} of {members}; members owe {before} → {after} "
                  "in all.").format(changed=changed, members=len(d.members), before=f.money(before),
                                    after=f.money(after))]
    return out


def _why(b: Owed | None, a: Owed | None, f, _, labels: dict[str, str]) -> str:
    """The parts that moved: the premium, and each subsidy."""
    parts = []
    pb, pa = (b.premium if b else ZERO), (a.premium if a else ZERO)
    if pb != pa:
        parts.append(_("premium {before} → {after}").format(before=f.number(pb), after=f.number(pa)))
    sb, sa = (b.subsidies if b else {}), (a.subsidies if a else {})
    for s in list(sa) + [x for x in sb if x not in sa]:
        if sb.get(s, ZERO) != sa.get(s, ZERO):
            parts.append(f"{labels.get(s, s)} {f.number(sb.get(s, ZERO))} → {f.number(sa.get(s, ZERO))}")
    return "; ".join(parts)
