"""Readings with the money at stake: the same claims settled under every alternative a rulebook declares.

A rulebook declares the ambiguities of its text as readings (:mod:`medrules.readings`) and chooses one
alternative of each. :func:`money_at_stake` settles a corpus under every combination of alternatives
(the rulebook's own first) and reports, per combination, what each fund pays and how that differs
from the chosen reading, with the claims that differ most. :func:`other_readings` gives, claim by claim,
what each other alternative would have paid: the explanation says so wherever it matters.

Each combination is a program loaded with ``readings`` (the caller passes ``load``, so that the
command line can quote the files it read); nothing is patched.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules.evaluate import Program, settle
from medrules.facts import facts_from_source
from medrules.readings import combinations

ZERO = Decimal(0)


def declared_readings(program: Program) -> dict:
    """Every reading of a program by the name ``--reading`` uses: own names, and ``alias.name`` for the scheme a
    supplement layers on."""
    out = {r.name: r for r in program.checked.rulebook.readings}
    ck = program.checked
    if ck.base is not None and ck.alias:
        out.update({f"{ck.alias}.{r.name}": r for r in ck.base.rulebook.readings})
    return out


def chosen(program: Program) -> dict[str, str]:
    return {name: r.chosen for name, r in declared_readings(program).items()}


@attrs.frozen
class ClaimMoney:
    file: str
    claim_id: str
    funds: dict[str, Decimal]  # fund -> paid
    funds_paid: Decimal
    member_pays: Decimal


@attrs.frozen
class Outcome:
    """One combination of alternatives over the whole corpus."""
    choice: dict[str, str]
    funds: dict[str, Decimal]  # fund -> paid over all claims
    funds_paid: Decimal
    member_pays: Decimal
    claims: tuple[ClaimMoney, ...]

    @property
    def text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.choice.items())


@attrs.frozen
class ClaimChange:
    file: str
    claim_id: str
    delta: Decimal  # funds pay more (+) or less (−) than under the chosen readings
    funds: tuple[tuple[str, Decimal, Decimal], ...]  # (fund, chosen, this reading), changed only


@attrs.frozen
class Stake:
    """The money at stake: every combination against the rulebook's own choice."""
    readings: dict  # name -> nodes.Reading
    titles: dict[str, str]  # fund -> title
    chosen: Outcome
    others: tuple[tuple[Outcome, tuple[ClaimChange, ...]], ...]  # with the claims that differ, most first


def _settle_corpus(program: Program, sources) -> Outcome:
    claims = []
    funds: dict[str, Decimal] = {name: ZERO for name, _ in program.all_funds()}
    for source in sources:
        s = settle(program, facts_from_source(source, program.checked))
        for c in s.claims:
            paid = {x.fund: x.paid for x in c.funds}
            for name, amount in paid.items():
                funds[name] = funds.get(name, ZERO) + amount
            claims.append(ClaimMoney(source.name, c.id, paid, c.funds_paid, c.member_pays))
    return Outcome({}, funds, sum((c.funds_paid for c in claims), ZERO), sum((c.member_pays for c in claims), ZERO),
                   tuple(claims))


def money_at_stake(load, sources, lang: str = "zh", top: int = 5) -> Stake:
    """``load(readings)`` -> Program; ``sources``: the facts files (SourceFile). Settles every combination."""
    program = load({})
    readings = declared_readings(program)
    declared = {name: r.declared or r.chosen for name, r in readings.items()}
    titles = {name: fund.title(lang) for name, fund in program.all_funds()}
    base = attrs.evolve(_settle_corpus(load(declared), sources), choice=declared)
    others = []
    for combo in combinations({name: attrs.evolve(r, declared=declared[name]) for name, r in readings.items()})[1:]:
        outcome = attrs.evolve(_settle_corpus(load(combo), sources), choice=combo)
        others.append((outcome, _changes(base, outcome, top)))
    return Stake(readings, titles, base, tuple(others))


def _changes(base: Outcome, other: Outcome, top: int) -> tuple[ClaimChange, ...]:
    changes = []
    for a, b in zip(base.claims, other.claims):
        if a.funds_paid == b.funds_paid and a.funds == b.funds:
            continue
        moved = tuple((f, a.funds.get(f, ZERO), b.funds.get(f, ZERO)) for f in dict.fromkeys([*a.funds, *b.funds])
                      if a.funds.get(f, ZERO) != b.funds.get(f, ZERO))
        changes.append(ClaimChange(a.file, a.claim_id, b.funds_paid - a.funds_paid, moved))
    changes.sort(key=lambda c: (-abs(c.delta), c.file, c.claim_id))
    return tuple(changes[:top]) if top else tuple(changes)


@attrs.frozen
class ReadingNote:
    """What a claim would have been paid under another alternative of one reading (the others as chosen)."""
    claim_id: str
    reading: object  # nodes.Reading
    alternative: object  # nodes.ReadingAlternative
    funds_paid: Decimal
    member_pays: Decimal
    funds: tuple[tuple[str, Decimal, Decimal], ...]  # (fund, as settled, under the other alternative), changed only


def other_readings(load, program: Program, facts) -> tuple[ReadingNote, ...]:
    """For each declared reading and each alternative not chosen: the claims whose payment would differ."""
    readings = declared_readings(program)
    if not readings:
        return ()
    current = chosen(program)
    settled = {c.id: c for c in settle(program, facts).claims}
    notes = []
    for name, r in readings.items():
        for alternative in r.alternatives:
            if alternative.name == current[name]:
                continue
            other = load({**current, name: alternative.name})
            for c in settle(other, facts).claims:  # facts are declared outside readings: the same for both
                mine = settled.get(c.id)
                if mine is None or (mine.funds_paid == c.funds_paid and mine.member_pays == c.member_pays):
                    continue
                paid = {x.fund: x.paid for x in mine.funds}
                moved = tuple((x.fund, paid.get(x.fund, ZERO), x.paid) for x in c.funds
                              if paid.get(x.fund, ZERO) != x.paid)
                notes.append(ReadingNote(c.id, r, alternative, c.funds_paid, c.member_pays, moved))
    return tuple(notes)
