"""What a new policy year changes: provisions, and money on real claims, attributed to provisions.

:func:`provision_changes` compares two resolved rulebooks provision by provision (parameters
by name; fund clauses by fund and kind; exclusions, treatments, header). :func:`diff` settles
the same claims under both and attributes each claim's change to the provisions that differ:
starting from the old rulebook, the new value of each changed parameter is applied in turn
(in rulebook order, as an override on the old rulebook's plan, so band edges written with it move
too) and the claims re-settled; each step's difference belongs to that
parameter. What is left once every parameter has its new value belongs to the other changes.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.evaluate import Program, Settlement, settle
from medrules.evaluate.runtime import ZERO
from medrules.explain.formula import source_text
from medrules.facts import Facts


@attrs.frozen
class ProvisionChange:
    kind: str  # parameter | clause | exclusion | treatment | header
    name: str  # parameter name, 'fund.clause', …
    label: str  # what a reader calls it (the parameter's label, the fund's title)
    before: str | None  # source text (None: added)
    after: str | None  # source text (None: removed)


@attrs.frozen
class Attribution:
    change: ProvisionChange | None  # None: the other changes together
    funds: dict[str, Decimal]  # fund -> change in its payment


@attrs.frozen
class ClaimDiff:
    claim_id: str
    before: dict[str, Decimal]  # fund -> paid
    after: dict[str, Decimal]
    member_before: Decimal
    member_after: Decimal
    attributions: tuple[Attribution, ...]
    person: str | None = None  # whose claim, on a household file (medrules.household_analyses)


@attrs.frozen
class Diff:
    old: Program
    new: Program
    changes: tuple[ProvisionChange, ...]
    claims: tuple[ClaimDiff, ...]
    members: tuple = ()  # MemberDiff per facts file, when both rulebooks state contributions (diff_contrib)
    households: tuple = ()  # per household file: its quotas and totals under both (medrules.household_analyses)

    @property
    def affected(self) -> int:
        return sum(1 for c in self.claims if c.before != c.after)

    def totals(self) -> dict[str, Decimal]:
        return {"funds_before": sum((sum(c.before.values(), ZERO) for c in self.claims), ZERO),
                "funds_after": sum((sum(c.after.values(), ZERO) for c in self.claims), ZERO),
                "member_before": sum((c.member_before for c in self.claims), ZERO),
                "member_after": sum((c.member_after for c in self.claims), ZERO)}


def _shown(text: str | None, lang: str = "en") -> str | None:
    """'1_000 yuan' → '1000 yuan' ('1000 元' in a Chinese memo): digit separators are for drafters, not memos."""
    import re
    if text is None:
        return None
    text = re.sub(r"(?<=\d)_(?=\d)", "", text)
    from medrules.explain.i18n import gettext_for
    return re.sub(r"(?<=\d) yuan\b", " " + gettext_for(lang)("yuan"), text)  # the unit as the memo's language says it


def provision_changes(old: Program, new: Program, lang: str = "zh") -> tuple[ProvisionChange, ...]:
    o, w = old.checked.rulebook, new.checked.rulebook
    out = []
    oh, nh = o.header, w.header
    for field in ("effective_from", "effective_to"):
        if getattr(oh, field) != getattr(nh, field):
            out.append(ProvisionChange("header", field, field.replace("_", " "), str(getattr(oh, field)),
                                       str(getattr(nh, field))))
    old_params, new_params = {p.name: p for p in o.parameters}, {p.name: p for p in w.parameters}
    for name in list(old_params) + [x for x in new_params if x not in old_params]:
        before, after = old_params.get(name), new_params.get(name)
        b = source_text(before.value) if before else None
        a = source_text(after.value) if after else None
        if b != a:
            node = after or before
            out.append(ProvisionChange("parameter", name, node.label.best(lang) if node.label else name,
                                       _shown(b, lang), _shown(a, lang)))
    old_funds, new_funds = {f.name: f for f in o.funds}, {f.name: f for f in w.funds}
    for name in list(old_funds) + [x for x in new_funds if x not in old_funds]:
        before, after = _clauses(old_funds.get(name)), _clauses(new_funds.get(name))
        fund = new_funds.get(name) or old_funds.get(name)
        for key in list(before) + [k for k in after if k not in before]:
            if before.get(key) != after.get(key):
                out.append(ProvisionChange("clause", f"{name}.{key}", f"{fund.title(lang)} · {key}",
                                           _shown(before.get(key), lang), _shown(after.get(key), lang)))
    for kind, old_items, new_items in (("exclusion", o.exclusions, w.exclusions),
                                       ("treatment", o.treatments, w.treatments)):
        b = {_top_text(x) for x in old_items}
        a = {_top_text(x) for x in new_items}
        out += [ProvisionChange(kind, t, t, t, None) for t in sorted(b - a)]
        out += [ProvisionChange(kind, t, t, None, t) for t in sorted(a - b)]
    from medrules.analyses.diff_contrib import contribution_changes
    out += contribution_changes(old, new, lang, ProvisionChange, _shown)
    return tuple(out)


def _clauses(fund: n.Fund | None) -> dict[str, str]:
    if fund is None:
        return {}
    from medrules.catalog import _clause
    seen: dict[str, int] = {}
    out = {}
    for c in fund.clauses:
        kind = type(c).__name__.lower()
        seen[kind] = seen.get(kind, 0) + 1
        out[kind if seen[kind] == 1 else f"{kind} {seen[kind]}"] = _clause(c) if not isinstance(c, n.Accumulate) \
            else f"accumulate {c.role} in {c.accumulator}"
    return out


def _top_text(x) -> str:
    if isinstance(x, n.Exclude):
        return f"exclude when {source_text(x.when)} because {x.reason.zh}"
    return f"treat {x.target.text} as {source_text(x.value)} when {source_text(x.when)}"


def diff(old: Program, new: Program, facts_list: list[Facts], lang: str = "zh", settle_with=None) -> Diff:
    """``settle_with(program, facts)``: how each stage settles a facts item (default: one member's claims; a
    household file's persons together, :mod:`medrules.household_analyses`; its result's ``persons``, when it has
    them, say whose each claim is)."""
    run = settle_with or (lambda program, facts: settle(program, facts, in_force_only=False))
    changes = provision_changes(old, new, lang)
    steps: list[tuple[ProvisionChange | None, Program]] = []
    applied: dict[str, object] = {}
    old_params, new_params = old.checked.parameters, new.checked.parameters
    for change in changes:
        if change.kind == "parameter" and change.name in old_params and change.name in new_params:
            # the old rulebook with this parameter (and the ones before it) at the new value: the plan
            # folds it again, band edges written with it included
            applied[change.name] = new.plan.top.parameters[change.name]
            steps.append((change, old.with_overrides(dict(applied))))
    # clauses whose words changed (numbers written in the clause, not named parameters): the old rulebook with
    # that clause (and the ones before it) as the new rulebook writes it, and the changed parameters at their
    # new values, checked and compiled again
    replaced: dict[tuple[str, str], object] = {}
    for change in changes:
        if change.kind != "clause":
            continue
        fund, _, key = change.name.partition(".")
        replaced[fund, key] = _clause_by_key(_fund(new, fund), key)
        hybrid = _hybrid(old, new, replaced, set(applied))
        if hybrid is not None:
            steps.append((change, hybrid))
    from medrules.analyses.diff_contrib import contribution_steps  # contribution clauses, likewise
    steps += contribution_steps(old, new, changes, set(applied))
    steps.append((None, new))  # what the other changes do
    claims = []
    for facts in facts_list if old.plan.top.total is not None and new.plan.top.total is not None else ():  # claims
        before = run(old, facts)
        stages = [before] + [run(p, facts) for _, p in steps]
        persons = getattr(before, "persons", ())
        for i, claim in enumerate(before.claims):
            paid = [_paid(s, i) for s in stages]
            attributions = []
            for (change, _), prev, cur in zip(steps, paid, paid[1:]):
                delta = {f: cur[f] - prev.get(f, ZERO) for f in cur if cur[f] != prev.get(f, ZERO)}
                if delta:
                    attributions.append(Attribution(change, delta))
            claims.append(ClaimDiff(claim.id, paid[0], paid[-1], claim.member_pays, stages[-1].claims[i].member_pays,
                                    tuple(attributions), persons[i] if persons else None))
    from medrules.analyses.diff_contrib import member_diffs
    return Diff(old, new, changes, tuple(claims), member_diffs(old, new, steps, facts_list, Attribution))


def _fund(program: Program, name: str):
    return next((f for f in program.checked.rulebook.funds if f.name == name), None)


def _clause_by_key(fund, key: str):
    """The clause of a fund named as :func:`_clauses` names it ('cap', 'cap 2'), or None."""
    if fund is None:
        return None
    seen: dict[str, int] = {}
    for c in fund.clauses:
        kind = type(c).__name__.lower()
        seen[kind] = seen.get(kind, 0) + 1
        if (kind if seen[kind] == 1 else f"{kind} {seen[kind]}") == key:
            return c
    return None


def _hybrid(old: Program, new: Program, clauses: dict, params: set[str]) -> Program | None:
    """The old rulebook with some clauses as the new one writes them (None: remove) and some parameters at their
    new values; None when that mixture is not a consistent rulebook (the change is then left to 'other')."""
    import attrs

    from medrules.check import check
    from medrules.diagnostics import MedrulesError
    from medrules.evaluate.compile import compile_rulebook
    rb = old.checked.rulebook
    funds = []
    for fund in rb.funds:
        keyed = {key: c for (name, key), c in clauses.items() if name == fund.name}
        if not keyed:
            funds.append(fund)
            continue
        out, seen, done = [], {}, set()
        for c in fund.clauses:
            kind = type(c).__name__.lower()
            seen[kind] = seen.get(kind, 0) + 1
            key = kind if seen[kind] == 1 else f"{kind} {seen[kind]}"
            if key in keyed:
                done.add(key)
                if keyed[key] is not None:
                    out.append(keyed[key])
            else:
                out.append(c)
        out += [c for key, c in keyed.items() if key not in done and c is not None]  # clauses the new one adds
        funds.append(attrs.evolve(fund, clauses=tuple(out)))
    new_params = {p.name: p for p in new.checked.rulebook.parameters}
    parameters = tuple(new_params[p.name] if p.name in params and p.name in new_params else p for p in rb.parameters)
    try:
        checked = check(attrs.evolve(rb, funds=tuple(funds), parameters=parameters), base=old.checked.base)
        return compile_rulebook(checked)
    except MedrulesError:
        return None


def _paid(s: Settlement, i: int) -> dict[str, Decimal]:
    return {f.fund: f.paid for f in s.claims[i].funds}


# ---------------------------------------------------------------- renderings
def change_words(c: ProvisionChange | None, lang: str) -> str:
    from medrules.explain.i18n import gettext_for
    _ = gettext_for(lang)
    if c is None:
        return _("other changes")
    if c.before is None:
        return _("{provision}: added {after}").format(provision=c.label, after=c.after)
    if c.after is None:
        return _("{provision}: removed {before}").format(provision=c.label, before=c.before)
    return f"{c.label} {c.before} → {c.after}"


def diff_json(d: Diff, lang: str) -> dict:
    from medrules.explain.json import plain
    return {
        "schema": "medrules.diff/1",
        "old": d.old.checked.id, "new": d.new.checked.id,
        "changes": [{"kind": c.kind, "name": c.name, "label": c.label, "before": c.before, "after": c.after}
                    for c in d.changes],
        "claims": [{"id": c.claim_id, **({"person": c.person} if c.person is not None else {}),
                    "before": plain(c.before), "after": plain(c.after),
                    "member_before": plain(c.member_before), "member_after": plain(c.member_after),
                    "attributions": [{"change": a.change.name if a.change else None,
                                      "words": change_words(a.change, lang), "funds": plain(a.funds)}
                                     for a in c.attributions]} for c in d.claims],
        "totals": {"claims": len(d.claims), "claims_affected": d.affected, **plain(d.totals())},
    } | (_members_json(d, lang) if d.members else {}) | (_households_json(d, lang) if d.households else {})


def _households_json(d: Diff, lang: str) -> dict:
    from medrules.household_analyses import households_json
    return {"households": households_json(d, lang)}


def _members_json(d: Diff, lang: str) -> dict:
    from medrules.analyses.diff_contrib import members_json
    return {"members": members_json(d, lang, change_words)}


# the memo's table headers (English msgids; the catalog has the other languages)
PROVISION_COLUMNS = ("provision", "before", "after")
CLAIM_COLUMNS = ("claim", "fund", "before", "after", "change", "attributed to")


def diff_markdown(d: Diff, lang: str) -> str:
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    f = Formatter(lang)
    _ = gettext_for(lang)
    out = [f"# {d.old.checked.id} → {d.new.checked.id}", "", "## " + _("Provisions that change"), "",
           "| " + " | ".join(_(c) for c in PROVISION_COLUMNS) + " |", "|---|---|---|"]
    out += [f"| {c.label} | {c.before or '—'} | {c.after or '—'} |" for c in d.changes]
    if d.claims:
        t = d.totals()
        whose = any(c.person is not None for c in d.claims)  # a household file's claims: a person column
        heads = [_(c) for c in CLAIM_COLUMNS]
        if whose:
            heads.insert(1, _("person"))
        out += ["", "## " + _("Effect on the claims"), "",
                "| " + " | ".join(heads) + " |",
                "|---|" + "---|" * whose + "---|---:|---:|---:|---|"]
        for c in d.claims:
            for fund in c.after:
                if c.before.get(fund, ZERO) == c.after[fund]:
                    continue
                why = "; ".join(f"{change_words(a.change, lang)}: {_signed(f, a.funds[fund])}"
                                for a in c.attributions if fund in a.funds)
                out.append(f"| {c.claim_id} | " + (f"{c.person or ''} | " if whose else "") + f"{fund} | "
                           f"{f.number(c.before.get(fund, ZERO))} | "
                           f"{f.number(c.after[fund])} | {_signed(f, c.after[fund] - c.before.get(fund, ZERO))} | {why} |")
        out += ["", _("Claims affected: {affected} of {claims}; the funds pay {funds_before} → {funds_after}; "
                      "members pay {member_before} → {member_after}.").format(
            affected=d.affected, claims=len(d.claims), funds_before=f.money(t["funds_before"]),
            funds_after=f.money(t["funds_after"]), member_before=f.money(t["member_before"]),
            member_after=f.money(t["member_after"]))]
    from medrules.analyses.diff_contrib import members_markdown
    out += members_markdown(d, lang, change_words, _signed)
    if d.households:
        from medrules.household_analyses import households_markdown
        out += households_markdown(d, lang)
    return "\n".join(out) + "\n"


def _signed(f, amount: Decimal) -> str:
    return f"+{f.number(amount)}" if amount >= 0 else f"−{f.number(-amount)}"
