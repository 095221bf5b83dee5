"""What if a fact were different? Two settlements of the same claims, compared step by step.

Both settlements are traced by the one evaluator; their explanation lines are aligned by
provision (same layer, fund, step kind and rulebook node), and only the lines whose words or
arithmetic changed are kept. :func:`sensitivity` ranks the facts that would change the
outcome most: every enumeration and yes/no fact, tried at each of its other values.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError
from medrules.evaluate import Program, Settlement, settle
from medrules.explain import explain
from medrules.explain.steps import Line
from medrules.facts import Change, Facts, with_changes

# Step kinds a reader needs to see change; accumulators and rounding follow from these.
SHOWN = {"treat", "exclude", "applies", "base", "deductible", "cap", "band", "rate", "flat", "adjust", "paid",
         "total", "member_pays", "handoff", "quota"}


@attrs.frozen
class StepChange:
    before: Line | None  # None: the step happens only with the change
    after: Line | None  # None: the step happens only without it


@attrs.frozen
class ClaimDifference:
    claim_id: str
    funds: tuple[tuple[str, str, Decimal, Decimal], ...]  # (fund, title, paid before, paid after), changed only
    member_before: Decimal
    member_after: Decimal
    steps: tuple[StepChange, ...]

    @property
    def delta(self) -> Decimal:
        return self.member_before - self.member_after  # what the funds pay more


@attrs.frozen
class WhatIf:
    changes: tuple[Change, ...]
    lang: str
    before: Settlement
    after: Settlement
    claims: tuple[ClaimDifference, ...]  # every selected claim
    # what another reading of the text would have paid, with the facts as given and with the change
    # (medrules.analyses.readings.ReadingNote; only when what_if was given a loader of readings)
    readings_before: tuple = ()
    readings_after: tuple = ()
    titles: dict = attrs.field(factory=dict)  # fund -> title, for the sentences of the readings
    persons: tuple = ()  # a household's what-if: whose claim each of ``claims`` is (medrules.household_analyses)

    @property
    def funds_before(self) -> Decimal:
        return sum((c.funds_paid for c in self.before.claims if self._selected(c.id)), Decimal(0))

    @property
    def funds_after(self) -> Decimal:
        return sum((c.funds_paid for c in self.after.claims if self._selected(c.id)), Decimal(0))

    def _selected(self, claim_id: str) -> bool:
        return any(d.claim_id == claim_id for d in self.claims)


def what_if(program: Program, facts: Facts, changes: list[Change], lang: str = "zh",
            claim_ids: list[str] | None = None, load=None) -> WhatIf:
    """``load(readings)`` -> the program under other readings (as for ``other_readings``): with it, each
    scenario says what the other readings of the text would have paid."""
    changed = with_changes(facts, changes, claim_ids)
    before = settle(program, facts, trace=True)
    after = settle(program, changed, trace=True)
    diffs = differences(program, explain(program, before, lang, claim_ids), explain(program, after, lang, claim_ids),
                        lang)
    notes_before = notes_after = ()
    if load is not None:
        from medrules.analyses.readings import other_readings
        selected = {d.claim_id for d in diffs}
        notes_before = tuple(r for r in other_readings(load, program, facts) if r.claim_id in selected)
        notes_after = tuple(r for r in other_readings(load, program, changed) if r.claim_id in selected)
    return WhatIf(tuple(changes), lang, before, after, tuple(diffs), notes_before, notes_after,
                  {name: fund.title(lang) for name, fund in program.all_funds()})


def differences(program: Program, e_before, e_after, lang: str) -> list[ClaimDifference]:
    """Each claim of two explanations of the same claims (matched by id): the funds whose payment changed and
    the steps that changed (a household's what-if compares each person's, :mod:`medrules.household_analyses`)."""
    after = {c.result.id: c for c in e_after.claims}
    diffs = []
    for cb in e_before.claims:
        ca = after.get(cb.result.id)
        if ca is None:
            continue
        funds = tuple((f.fund, fund_title(program, f.fund, lang), f.paid, ca.result.fund(f.fund).paid)
                      for f in cb.result.funds if f.paid != ca.result.fund(f.fund).paid)
        diffs.append(ClaimDifference(cb.result.id, funds, cb.result.member_pays, ca.result.member_pays,
                                     align(cb.lines, cb.result.steps, ca.lines, ca.result.steps)))
    return diffs


def fund_title(program: Program, name: str, lang: str) -> str:
    return dict(program.all_funds())[name].title(lang)


def align(lines_b, steps_b, lines_a, steps_a) -> tuple[StepChange, ...]:
    """Lines keyed by the provision they come from; the ones that differ, in the 'after' order."""
    def keyed(lines, steps):
        seen: dict = {}
        out = {}
        for line, step in zip(lines, steps):
            if step.kind not in SHOWN:
                continue
            key = (step.layer, step.fund, step.kind, id(step.node))
            seen[key] = seen.get(key, 0) + 1
            out[key + (seen[key],)] = line
        return out

    before, after = keyed(lines_b, steps_b), keyed(lines_a, steps_a)
    changes = []
    for key, line in after.items():
        old = before.get(key)
        if old is None or (old.text, old.formula) != (line.text, line.formula):
            changes.append(StepChange(old, line))
    changes += [StepChange(line, None) for key, line in before.items() if key not in after]
    return tuple(changes)


@attrs.frozen
class Sensitivity:
    change: Change
    delta: Decimal  # what the funds would pay more (negative: less), over the selected claims


def sensitivity(program: Program, facts: Facts, claim_ids: list[str] | None = None,
                most: int = 5) -> tuple[Sensitivity, ...]:
    """The enumeration and yes/no facts that, set to another value, change the funds' payment most
    (each fact once, at the value that changes most)."""
    ck = program.checked
    facts = upto(program, facts, claim_ids)
    base = _paid(settle(program, facts), claim_ids)
    found = []
    for change in candidates(program, facts, claim_ids):
        try:
            delta = _paid(settle(program, with_changes(facts, [change], claim_ids)), claim_ids) - base
        except MedrulesError:  # a value this rulebook cannot settle (e.g. a fact it then needs)
            continue
        if delta:
            found.append(Sensitivity(change, delta))
    found.sort(key=lambda s: (-abs(s.delta), s.change.text))
    best: dict = {}  # one entry per fact: its most consequential other value
    for s in found:
        best.setdefault((s.change.record, s.change.field), s)
    dated = date_sensitivity(program, facts, claim_ids, base)
    ranked = sorted(list(best.values()) + list(dated), key=lambda s: (-abs(s.delta), s.change.text))
    allowed = ck.rulebook.actionable_facts()
    if allowed:  # the rulebook says which facts a member can change: suggest only those
        ranked = [s for s in ranked if f"{s.change.record}.{s.change.field}" in allowed]
    return tuple(ranked[:most])


def candidates(program: Program, facts: Facts, claim_ids: list[str] | None = None, prefix: str = ""):
    """Each enumeration and yes/no fact of the member and of the selected claims, at each of its other values
    (a Change; its text starts with ``prefix``, e.g. a household's person 'I-2.')."""
    ck = program.checked
    for record in ("member", "claim"):
        selected = [c for c in facts.claims if not claim_ids or c.id in claim_ids]
        if record == "claim" and not selected:
            continue
        for name, field in ck.records.get(record, {}).items():
            if record == "claim" and name == program.dated_by:
                continue
            t = ck.field_types.get(field)
            if t is None or t.unit not in ("bool", "enum"):
                continue
            values = [True, False] if t.unit == "bool" else [m.name for m in ck.enums[t.enum].members]
            current = {facts.member.get(name)} if record == "member" else {c.values.get(name) for c in selected}
            for value in values:
                if {value} == current:
                    continue
                shown = str(value).lower() if isinstance(value, bool) else value
                yield Change(record, name, value, f"{prefix}{record}.{name}={shown}")


_OFFSETS = (0, 1, -1, 89, 90, 91, -89, -90, -91)


def date_sensitivity(program: Program, facts: Facts, claim_ids: list[str] | None = None,
                     base: Decimal | None = None, paid_with=None) -> tuple[Sensitivity, ...]:
    """For each member date fact (e.g. when the contribution was paid): the nearest other date, among
    those the facts themselves suggest (each date in the facts, ±1, ±89, ±90, ±91 days, month starts),
    at which the funds would pay more. 'Registering two days earlier would have paid 500.00.'
    ``paid_with(change)``: what the funds pay with the change (default: these facts settled with it; a household
    settles all its persons, :mod:`medrules.household_analyses`)."""
    import datetime as dt

    ck = program.checked
    facts = upto(program, facts, claim_ids)
    if base is None:
        base = _paid(settle(program, facts), claim_ids)
    dates = {v for v in facts.member.values() if isinstance(v, dt.date)}
    for c in facts.claims:
        if not claim_ids or c.id in claim_ids:  # the selected claims' dates suggest the candidates
            dates |= {v for v in c.values.values() if isinstance(v, dt.date)}
    candidates = set()
    for d in dates:
        for k in _OFFSETS:
            candidates.add(d + dt.timedelta(days=k))
        candidates.add(d.replace(day=1))
    found = []
    for name, field in ck.records.get("member", {}).items():
        t = ck.field_types.get(field)
        current = facts.member.get(name)
        if t is None or t.unit != "date" or current is None:
            continue
        best = None
        nearest = sorted(candidates, key=lambda d: (abs((d - current).days), d))[:MAX_DATE_CANDIDATES]
        for candidate in nearest:
            if candidate == current:
                continue
            if best is not None and abs((candidate - current).days) > abs((best.change.value - current).days):
                break
            change = Change("member", name, candidate, f"member.{name}={candidate.isoformat()}")
            try:
                delta = (paid_with(change) if paid_with else
                         _paid(settle(program, with_changes(facts, [change], claim_ids)), claim_ids)) - base
            except MedrulesError:
                continue
            if delta > 0 and (best is None or delta > best.delta):
                best = Sensitivity(change, delta)
        if best is not None:
            found.append(best)
    return tuple(found)


MAX_DATE_CANDIDATES = 40  # other dates tried per member date fact: each costs one settlement


def upto(program: Program, facts: Facts, claim_ids: list[str] | None) -> Facts:
    """Only the claims that can affect the selected ones: claims are settled in date order and
    year-to-date totals only flow forward, so claims after the last selected one are left out
    (the settlement of one unpaid claim among 400 re-settles only those before it)."""
    if not claim_ids:
        return facts
    key = {c.id: (c.values.get(program.dated_by), c.index) for c in facts.claims}
    chosen = [key[c] for c in claim_ids if c in key]
    if not chosen or any(k[0] is None for k in key.values()):
        return facts
    last = max(chosen)
    return attrs.evolve(facts, claims=tuple(c for c in facts.claims if key[c.id] <= last))


def _paid(s: Settlement, claim_ids) -> Decimal:
    return sum((c.funds_paid for c in s.claims if not claim_ids or c.id in claim_ids), Decimal(0))
