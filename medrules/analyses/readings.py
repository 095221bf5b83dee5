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
    name: str = ""  # the reading as --reading names it ('cap_axis'; 'basic.cap_axis' for the scheme layered on)
    paid: tuple[tuple[str, Decimal], ...] = ()  # every fund, under the other alternative
    chosen: str = ""  # the alternative this settlement reads


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
                notes.append(ReadingNote(c.id, r, alternative, c.funds_paid, c.member_pays, moved, name,
                                         tuple((x.fund, x.paid) for x in c.funds), current[name]))
    return tuple(notes)


def other_readings_by_year(load_version, rs, source) -> tuple[ReadingNote, ...]:
    """:func:`other_readings` over a folder of policy years (medrules.versions): each claim under its year's
    rulebook and that year's readings. ``load_version(program, readings)`` -> that year's Program so read."""
    from medrules.versions import year_facts
    notes: list[ReadingNote] = []
    for program, facts in year_facts(rs, source) or []:
        notes += other_readings(lambda choice, p=program: load_version(p, choice), program, facts)
    return tuple(notes)


# ---------------------------------------------------------------- over a folder of policy years
@attrs.frozen
class YearStake:
    """One policy year of a folder: its claims under its rulebook, for each combination of the folder's readings."""
    version: str  # the year's rulebook id
    readings: tuple[str, ...]  # the readings this year declares (the others do not touch it)
    titles: dict[str, str]
    outcomes: tuple[Outcome, ...]  # one per combination of YearsStake.combinations, the chosen one first
    changes: tuple[tuple[ClaimChange, ...], ...]  # per combination, the claims that differ most (first: none)


@attrs.frozen
class YearsStake:
    """The money at stake over a folder: a reading declared by several years moves together in every
    combination (it is one question about the text) unless the user pins it (``--reading NAME=ALT``)."""
    folder: str
    readings: dict  # name -> nodes.Reading (the first year's declaration)
    years_of: dict[str, tuple[str, ...]]  # name -> the years that declare it
    pinned: dict[str, str]
    combinations: tuple[dict[str, str], ...]  # over the readings not pinned, the rulebooks' own choice first
    years: tuple[YearStake, ...]

    def total(self, index: int) -> Outcome:
        """All years together under one combination (funds summed; the claims of every year)."""
        funds: dict[str, Decimal] = {}
        for y in self.years:
            for name, paid in y.outcomes[index].funds.items():
                funds[name] = funds.get(name, ZERO) + paid
        outs = [y.outcomes[index] for y in self.years]
        return Outcome(self.combinations[index], funds, sum((o.funds_paid for o in outs), ZERO),
                       sum((o.member_pays for o in outs), ZERO), tuple(c for o in outs for c in o.claims))

    def differ_most(self, index: int, top: int = 5) -> list[tuple[str, ClaimChange]]:
        """The claims of every year that differ most under one combination: (year, change), largest first."""
        found = [(y.version, c) for y in self.years for c in y.changes[index]]
        found.sort(key=lambda vc: (-abs(vc[1].delta), vc[0], vc[1].file, vc[1].claim_id))
        return found[:top] if top else found


def money_at_stake_by_year(load_version, rs, sources, pinned: dict[str, str] | None = None, lang: str = "zh",
                           top: int = 5) -> YearsStake:
    """Settle each facts file's claims under the year in force on their dates (medrules.versions), under every
    combination of the readings the years declare. ``load_version(program, readings)`` -> that year's Program
    under those readings; ``pinned``: readings held at one alternative in every year (not varied)."""
    from medrules.diagnostics import MedrulesError, error
    from medrules.versions import year_facts
    pinned = dict(pinned or {})
    corpus: dict[int, list[tuple[str, object]]] = {}  # version index -> (file, facts)
    for source in sources:
        for program, facts in year_facts(rs, source) or []:
            corpus.setdefault(rs.versions.index(program), []).append((source.name, facts))
    readings: dict = {}
    years_of: dict[str, list[str]] = {}
    for program in rs.versions:
        for name, r in declared_readings(program).items():
            readings.setdefault(name, r)
            years_of.setdefault(name, []).append(program.checked.id)
    for name, alternative in pinned.items():
        r = readings.get(name)
        if r is None or r.alternative(alternative) is None:
            raise MedrulesError(error("reading", f"there is no reading '{name}' in {rs.folder}" if r is None else
                                      f"'{alternative}' is not an alternative of reading '{name}'",
                                      hint=("its readings are: " + ", ".join(readings)) if r is None and readings
                                      else "choose one of: " + ", ".join(a.name for a in r.alternatives) if r
                                      else "these rulebooks declare no readings"))
    free = {name: attrs.evolve(r, declared=r.declared or r.chosen) for name, r in readings.items() if name not in pinned}
    combos = tuple(combinations(free)) if free else ({},)
    years = []
    for index, program in enumerate(rs.versions):
        if index not in corpus:
            continue
        own = tuple(declared_readings(program))
        titles = {name: fund.title(lang) for name, fund in program.all_funds()}
        cache: dict[tuple, Outcome] = {}
        outcomes = []
        for combo in combos:
            choice = {k: v for k, v in {**combo, **pinned}.items() if k in own}
            key = tuple(sorted(choice.items()))
            if key not in cache:
                cache[key] = _settle_files(load_version(program, choice), corpus[index])
            outcomes.append(attrs.evolve(cache[key], choice=combo))
        changes = tuple(_changes(outcomes[0], o, top) for o in outcomes)
        years.append(YearStake(program.checked.id, own, titles, tuple(outcomes), changes))
    return YearsStake(rs.folder, readings, {k: tuple(v) for k, v in years_of.items()}, pinned, combos, tuple(years))


def _settle_files(program: Program, files) -> Outcome:
    claims = []
    funds: dict[str, Decimal] = {name: ZERO for name, _ in program.all_funds()}
    for name, facts in files:
        for c in settle(program, facts).claims:
            paid = {x.fund: x.paid for x in c.funds}
            for fund, amount in paid.items():
                funds[fund] = funds.get(fund, ZERO) + amount
            claims.append(ClaimMoney(name, c.id, paid, c.funds_paid, c.member_pays))
    return Outcome({}, funds, sum((c.funds_paid for c in claims), ZERO), sum((c.member_pays for c in claims), ZERO),
                   tuple(claims))
