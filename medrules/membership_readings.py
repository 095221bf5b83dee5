"""``medrules readings MEMBERSHIP FACTS…``: the money at stake per reading for a membership rulebook.

A membership rulebook (docs/language.md §22) declares no readings of its own: the readings are those of the
scheme rulebooks it routes claims to. Each is named by the scheme's file stem, as the membership what-if names
a scheme's parameters (``employee-2012.cap_axis``; ``STEM.alias.NAME`` for the scheme a supplement layers on),
and ``--reading employee-2012.cap_axis=payments`` chooses it in ``run``, ``explain`` and ``settle``.

Every combination of the schemes' readings is settled over the facts files, each claim under the scheme its
date routes it to (:func:`medrules.membership.settle_membership`): a reading of one scheme changes only the
claims settled under it, and, under ``highest of``, which scheme's settlement wins. The result is a
:class:`medrules.analyses.readings.Stake` (so ``render_stake`` and ``stake_json`` show it), its funds named
``STEM.FUND`` and titled with the scheme, and each claim that changes scheme says so.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs

from medrules.analyses.readings import ClaimChange, ClaimMoney, Outcome, Stake, declared_readings
from medrules.diagnostics import MedrulesError, error
from medrules.readings import combinations

ZERO = Decimal(0)


@attrs.frozen
class MovedClaimChange(ClaimChange):
    """A claim that differs under a combination of readings, with the scheme that settles it each way."""
    schemes: tuple[str, str] = ("", "")  # (under the chosen readings, under this combination): file stems

    @property
    def moved(self) -> bool:
        return self.schemes[0] != self.schemes[1]


def _stem(program) -> str:
    return Path(program.checked.file).stem


def scheme_readings(ms) -> dict:
    """Every reading of the schemes a membership set routes to, by the name --reading uses: ``STEM.NAME``."""
    out = {}
    for program in ms.programs:
        for name, r in declared_readings(program).items():
            out[f"{_stem(program)}.{name}"] = r
    return out


def _settle(ms, sources) -> tuple[Outcome, dict[tuple[str, str], str]]:
    """The corpus under one membership set: funds as ``STEM.FUND``; and each claim's scheme (its file stem)."""
    from medrules.membership import settle_membership
    funds: dict[str, Decimal] = {f"{_stem(p)}.{name}": ZERO for p in ms.programs for name, _ in p.all_funds()}
    claims, schemes = [], {}
    for source in sources:
        result, used = settle_membership(ms, source)
        for c in result.claims:
            stem = _stem(used[c.id])
            paid = {f"{stem}.{x.fund}": x.paid for x in c.funds}
            for name, amount in paid.items():
                funds[name] = funds.get(name, ZERO) + amount
            claims.append(ClaimMoney(source.name, c.id, paid, c.funds_paid, c.member_pays))
            schemes[(source.name, c.id)] = stem
    return (Outcome({}, funds, sum((c.funds_paid for c in claims), ZERO), sum((c.member_pays for c in claims), ZERO),
                    tuple(claims)), schemes)


def _changes(base: Outcome, other: Outcome, before: dict, after: dict, top: int) -> tuple[MovedClaimChange, ...]:
    out = []
    for a, b in zip(base.claims, other.claims):
        key = (a.file, a.claim_id)
        if a.funds_paid == b.funds_paid and a.funds == b.funds and before[key] == after[key]:
            continue
        moved = tuple((f, a.funds.get(f, ZERO), b.funds.get(f, ZERO)) for f in dict.fromkeys([*a.funds, *b.funds])
                      if a.funds.get(f, ZERO) != b.funds.get(f, ZERO))
        out.append(MovedClaimChange(a.file, a.claim_id, b.funds_paid - a.funds_paid, moved,
                                    (before[key], after[key])))
    out.sort(key=lambda c: (-abs(c.delta), c.file, c.claim_id))
    return tuple(out[:top]) if top else tuple(out)


def money_at_stake(load, sources, lang: str = "zh", top: int = 5, pinned: dict[str, str] | None = None) -> Stake:
    """``load(readings)`` -> the membership set (medrules.membership.MembershipSet) with its schemes loaded under
    ``readings`` (``{"employee-2012.cap_axis": "payments"}``); ``sources``: the facts files. ``pinned``: readings
    held at one alternative in every combination (``--reading STEM.NAME=ALT``), not varied."""
    pinned = dict(pinned or {})
    ms = load(pinned)
    readings = scheme_readings(ms)
    if not readings:
        router = ms.router.checked
        node = router.rulebook.memberships[0]
        raise MedrulesError(error("reading", f"no scheme that '{router.id}' routes claims to declares a reading",
                                  node.span, "the schemes: " + ", ".join(_stem(p) + ".mr" for p in ms.programs)
                                  + "; declare one with 'reading NAME \"…\" { ALT … ALT … } chosen ALT'"))
    for name, alternative in pinned.items():  # (load has checked them against the schemes' declarations)
        if name not in readings:
            raise MedrulesError(error("reading", f"there is no reading '{name}' in the schemes of "
                                      f"'{ms.router.checked.id}'", hint="their readings are: " + ", ".join(readings)))
    free = {name: attrs.evolve(r, declared=r.declared or r.chosen) for name, r in readings.items()
            if name not in pinned}
    titles = {}
    for program in ms.programs:
        stem = _stem(program)
        for name, fund in program.all_funds():
            titles[f"{stem}.{name}"] = f"{fund.title(lang)} ({stem})"
    combos = combinations(free) if free else [{}]
    declared = {**combos[0], **pinned}
    base, base_schemes = _settle(load(declared), sources)
    base = attrs.evolve(base, choice=declared)
    others = []
    for combo in combos[1:]:
        choice = {**combo, **pinned}
        outcome, schemes = _settle(load(choice), sources)
        outcome = attrs.evolve(outcome, choice=choice)
        others.append((outcome, _changes(base, outcome, base_schemes, schemes, top)))
    return Stake(free or readings, titles, base, tuple(others))


def readings_command(session, rulebook: Path, program, facts: list[Path], pins: list[str] | None, top: int,
                     as_json: bool, lang: str):
    """``medrules readings`` on a membership rulebook (cli.py wires it): a JSON text, or a rich renderable."""
    import json

    from medrules.explain.json import stake_json
    from medrules.explain.text import render_stake
    from medrules.membership import load_membership
    from medrules.readings import parse_choice
    pinned = dict(parse_choice(text) for text in pins or [])

    def load(choice):
        return load_membership(program, read=lambda path: session.read(path, "rulebook"), root=session.root,
                               readings=choice, path=program.checked.file)
    stake = money_at_stake(load, [session.read(p, "facts") for p in facts], lang, top, pinned)
    if as_json:
        return json.dumps(stake_json(stake), ensure_ascii=False, indent=2)
    return render_stake(stake, lang)


def reading_notes(load, ms, source, result, used, current: dict | None = None, qualified: bool = False) -> tuple:
    """What each other reading of the schemes' texts would have paid, claim by claim
    (:class:`medrules.analyses.readings.ReadingNote`, named ``STEM.NAME``), for ``medrules explain MEMBERSHIP``:
    the claims settled again, each under the scheme its date routes it to, with one reading changed at a time.
    ``load(readings)`` -> the membership set under those readings; ``current``: the readings chosen with
    --reading; ``result``, ``used``: the settlement as explained. Funds are named as the scheme that settled
    the claim names them, or ``STEM.FUND`` for another scheme (``qualified``: always ``STEM.FUND``, as the
    membership what-if names them)."""
    from medrules.analyses.readings import ReadingNote
    from medrules.membership import settle_membership
    readings = scheme_readings(ms)
    if not readings:
        return ()
    current = dict(current or {})
    settled = {c.id: c for c in result.claims}
    notes = []
    for name, r in readings.items():
        for alternative in r.alternatives:
            if alternative.name == r.chosen:  # (the loaded rulebook's choice: its own, or --reading's)
                continue
            other, other_used = settle_membership(load({**current, name: alternative.name}), source)
            for c in other.claims:
                mine = settled.get(c.id)
                if mine is None or (mine.funds_paid == c.funds_paid and mine.member_pays == c.member_pays
                                    and _stem(used[c.id]) == _stem(other_used[c.id])):
                    continue

                def key(fund, stem=_stem(used[c.id])):
                    return f"{stem}.{fund}" if qualified else fund
                there = {(f"{_stem(other_used[c.id])}.{x.fund}" if qualified or _stem(other_used[c.id]) !=
                          _stem(used[c.id]) else x.fund): x.paid for x in c.funds}
                here = {key(x.fund): x.paid for x in mine.funds}
                moved = tuple((f, here.get(f, ZERO), there.get(f, ZERO)) for f in dict.fromkeys([*here, *there])
                              if here.get(f, ZERO) != there.get(f, ZERO))
                notes.append(ReadingNote(c.id, r, alternative, c.funds_paid, c.member_pays, moved, name,
                                         tuple(there.items()), r.chosen))
    return tuple(notes)
