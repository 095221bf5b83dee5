"""Quotas shared in a household, on the vector backend (docs/language.md §22.2; issues 8 and 11).

A cap ``per holder of claim.quota_from, …`` draws what a fund pays on the quotas of the holders a claim
names, in order. When the claims of a household name each other's quotas, their balances are shared, and the
claims of the household are settled in one date order (ties: input order), as :mod:`medrules.household`
settles a household file on the scalar backend. A claim naming the holder of another household (a person the
holder designated) links the two households into a *group* settled as one (:mod:`medrules.batch.vgroups`); a
holder with no claim rows draws on their member facts from the members table. Below, "household" is the group.

Here the claims are ordered by (household, date, input order) and every layer is settled in waves: wave k is
the k-th claim of every household, vectorised across households (a household's claims are in successive
waves, so each wave touches each household's balances once; a group of more than 64 claims is put in waves by
the persons and quotas its claims touch instead, :func:`medrules.batch.vgroups.wave_levels`). Each person's own
accumulators stay per person: a row's value before a claim is the value after the same person's previous claim
in that benefit year.

The quota room of a row is Σ over the named holders of (the quota amount evaluated on the holder's member facts
− what was drawn on the holder's quota this benefit year); the fund pays min(its rounded payment, room) (the
kernel's own cap logic) and the payment is drawn on the holders in order, each up to its balance.
"""
from __future__ import annotations

import attrs
import numpy as np

from medrules.batch.columns import Table
from medrules.batch.vector import Gathered, Result, VectorProgram, benefit_year_start, settle_rows
from medrules.batch.vqhistory import open_quotas, opening_starts, patients_records, with_people

def plan_note(vp: VectorProgram) -> list[str]:
    """What ``settle --explain-plan`` says of quotas kept per holder (nothing when the rulebook keeps none)."""
    facts = holder_facts(vp)
    if not facts:
        return []
    return [f"quotas kept per holder of {', '.join('claim.' + f for f in facts)}: with a household_id column "
            "(of the claims, or else of the members table), "
            f"{PLAN_NOTE}",
            "  a group: the households linked by a named holder (a designated person of another household draws "
            "on the same balances; medrules.batch.vgroups), the unit of waves, of held-back rows and of spilled "
            "and Dask partitions",
            "  a holder with no claim rows: member facts from the members table (household: its household_id, "
            "else the households whose claims name them); in neither table: the row is rejected",
            "  without a household_id column each claim draws on the patient's own quota (a row naming another "
            "person's is rejected)"]


PLAN_NOTE = ("shared in a group of households: claims ordered by (group, date, input order), "
             "every layer in waves over the k-th claim of each group (a group of more than 64 claims: by the "
             "persons and quotas its claims touch); each person's accumulators per person")


class HouseholdRows:
    """The claims in (household, date) order: the waves (the k-th claim of every household) and, for each
    row, the previous row of the same person in the same benefit year (or −1)."""

    def __init__(self, household: np.ndarray, who: np.ndarray, year: np.ndarray, n_members: int,
                 held: np.ndarray | None = None):
        n = len(who)
        self.n, self.who, self.n_members = n, who, n_members
        new_house = np.empty(n, bool)
        new_house[:1] = True
        np.not_equal(household[1:], household[:-1], out=new_house[1:])
        starts = np.flatnonzero(new_house)
        pos = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))  # k: the claim's place in its household
        if held is not None:  # a large group: in fewer waves, by the persons and quotas its claims touch
            from medrules.batch.vgroups import wave_levels
            pos = wave_levels(pos, starts, who, held)
        by_pos = np.argsort(pos, kind="stable")
        counts = np.bincount(pos) if n else np.zeros(0, np.int64)
        self._waves = np.split(by_pos, np.cumsum(counts)[:-1]) if n else []
        # the previous row of the same (person, year): rows in (person, year, household order)
        group = np.lexsort((np.arange(n), year, who))
        same = np.zeros(n, bool)
        same[1:] = (who[group][1:] == who[group][:-1]) & (year[group][1:] == year[group][:-1])
        self.prev = np.full(n, -1, np.int64)
        self.prev[group[1:][same[1:]]] = group[:-1][same[1:]]
        self.new_group = self.prev < 0
        gid = np.cumsum(~same) - 1
        self._gid = np.empty(n, np.intp)
        self._gid[group] = gid

    def group_ids(self) -> np.ndarray:
        return self._gid

    def index(self):  # (the running-sums path is never taken here: every layer is in waves)
        return None

    def waves(self) -> list[np.ndarray]:
        return self._waves

    def before(self, rows: np.ndarray, opening, after: np.ndarray) -> np.ndarray:
        prev = self.prev[rows]
        return np.where(prev < 0, opening[rows] if np.ndim(opening) else opening, after[np.maximum(prev, 0)])


@attrs.define
class QuotaBook:
    """What was drawn on each holder's quota in each benefit year, per cap, and the holders of each row."""

    holders: np.ndarray  # (rows, K): the member index of each named holder, in order; −1: none
    year: np.ndarray  # per row: its benefit year, numbered 0, 1, …
    n_years: int
    members: Table  # every person's member facts (the holders')
    members_n: int
    drawn: dict = attrs.Factory(dict)  # id(cap node) -> drawn per (member × n_years + year)


class QuotaWave:
    """The quota book seen from a wave (``at``: the rows of the wave, in household order)."""

    def __init__(self, book: QuotaBook, at: np.ndarray):
        self.book, self.at, self.pending = book, at, None

    def take(self, rows: np.ndarray) -> QuotaWave:
        return QuotaWave(self.book, self.at[rows])

    def room(self, cap, amount, w, active) -> np.ndarray:
        """Σ over the named holders of max(0, quota − drawn this year); the quota is the cap's amount on the
        holder's member facts. Kept for :meth:`draw`."""
        book = self.book
        drawn = book.drawn.setdefault(id(cap.node), np.zeros(book.members_n * book.n_years, np.int64))
        total = np.zeros(w.n, np.int64)
        parts = []
        for k in range(book.holders.shape[1]):
            h = book.holders[self.at, k]
            has = active & (h >= 0)
            if not has.any():
                continue
            hw = w.subset(np.arange(w.n))  # the same rows, reading the holder's member facts ('holder.FIELD')
            hw.member = Gathered(book.members.values, np.maximum(h, 0), patients_records(w))
            hw.given = dict(hw.given, member=Gathered(book.members.given, np.maximum(h, 0)))
            hw.quota = None
            value = np.broadcast_to(amount(hw, has), (w.n,))
            key = np.maximum(h, 0) * book.n_years + book.year[self.at]
            room = np.where(has, np.maximum(0, value - drawn[key]), 0)
            if hw.failed or hw.error.any():
                w.error[:] = np.where(w.error == 0, hw.error, w.error)
                w.failed = True
            parts.append((has, key, room))
            total += room
        self.pending = (drawn, parts)
        return total

    def draw(self, paid: np.ndarray) -> None:
        """The rounded payment drawn on the named holders in order, each up to its balance."""
        if self.pending is None:
            return
        (drawn, parts), self.pending = self.pending, None
        left = paid.copy()
        for has, key, room in parts:
            take = np.minimum(room, left)
            np.add.at(drawn, key[has], take[has])
            left -= take


def settle_households(vp: VectorProgram, household_of: np.ndarray, member_of: np.ndarray, holders: np.ndarray,
                      claims: Table, members: Table, opening: dict | None = None, histories: dict | None = None
                      ) -> Result:
    """Every claim, the claims of a household in one date order (ties: input order). ``household_of[i]``,
    ``member_of[i]``: claim i's household and person (a row of ``members``); ``holders[i]``: the member rows of
    the holders claim i names, in order (−1: none; a row naming none draws on its patient's own quota).
    ``household_of`` is the unit settled in one date order: the caller passes each claim's group (the
    households linked by a named holder, :mod:`medrules.batch.vgroups`), so the holders a claim names are
    people of its group. ``opening``, ``histories``: per person, as for
    :func:`medrules.batch.vector.settle_columns` (:mod:`medrules.batch.vqhistory`)."""
    n = len(member_of)
    member_of = np.asarray(member_of, np.int64)
    household_of = np.asarray(household_of, np.int64)
    dates = claims.values[vp.dated_by]
    order = np.lexsort((np.arange(n), dates, household_of))
    year = benefit_year_start(dates, vp.year_starts)
    who = member_of[order]
    held = np.asarray(holders, np.int64)[order]
    held = np.where((held < 0).all(axis=1, keepdims=True) & (np.arange(held.shape[1]) == 0), who[:, None], held)
    rows = HouseholdRows(household_of[order], who, year[order], len(members), held)
    years, year_no = np.unique(year[order], return_inverse=True)
    book = QuotaBook(held, year_no.astype(np.int64), max(1, len(years)), members, max(1, len(members)))
    open_quotas(vp, book, opening, who)
    claim_cols = Table(Gathered(claims.values, order), Gathered(claims.given, order))
    people = with_people(members, len(members), histories)
    member_cols = Table(Gathered(people.values, who), Gathered(people.given, who))
    layers = tuple(attrs.evolve(y, waves=y.waves or PLAN_NOTE) for y in vp.layers)
    wavy = attrs.evolve(vp, layers=layers)
    messages: list[str] = []
    funds, total, member_pays, accs, error, recoverable = settle_rows(
        wavy, rows, claim_cols, member_cols, opening_starts(opening, who, year[order]), messages, histories or None,
        QuotaWave(book, np.arange(n)))
    back = np.empty(n, np.int64)
    back[order] = np.arange(n)
    codes = error[back]
    errors = np.zeros(n, "U1")
    if messages:
        errors = np.full(n, "", object)
        failed = codes > 0
        errors[failed] = np.array(messages, dtype=object)[codes[failed] - 1]
        held_back = np.isin(household_of, np.unique(household_of[failed])) & ~failed
        errors[held_back] = "held back: another claim of this household could not be settled"
    return Result(order, year, {k: v[back] for k, v in funds.items()}, total[back], member_pays[back],
                  {k: v[back] for k, v in accs.items()}, errors, vp.money_scale,
                  None if recoverable is None else recoverable[back])


def holder_facts(vp: VectorProgram) -> list[str]:
    """The claim facts that name holders of a quota kept per holder, in the order the caps name them."""
    from medrules.evaluate.quota import holder_caps
    out: list[str] = []
    for _, cap in holder_caps(vp.program.plan):
        out += [h.field for h in cap.holders if h.record == "claim" and h.field not in out]
    return out


def holder_rows(vp: VectorProgram, claim_table: Table, n: int, index: dict[str, int], problems, names: dict,
                unknown: str = "") -> np.ndarray:
    """(rows, K) member rows of the holders each claim names, in order, duplicates dropped (−1: none); a holder
    who is not in ``index`` is a problem of that row, naming the holder (``unknown``: what the reason adds)."""
    facts = holder_facts(vp)
    out = np.full((n, max(1, len(facts))), -1, np.int64)
    for k, name in enumerate(facts):
        values = claim_table.values[name]
        given = claim_table.given.get(name)
        found = np.array([index.get(v, -2) if isinstance(v, str) and v else -1 for v in values], np.int64)
        if given is not None:
            found = np.where(given, found, -1)
        column = names.get(("claim", name), f"claim.{name}")
        missing = found == -2
        if missing.any():
            reasons = np.full(n, None, object)
            reasons[missing] = [f"names the quota of '{v}', who is not a person of this table{unknown}"
                                for v in values[missing]]
            problems.add(missing, column, reasons)
        found = np.where(found < 0, -1, found)
        dup = (out[:, :k] == found[:, None]).any(axis=1) if k else np.zeros(n, bool)
        out[:, k] = np.where(dup, -1, found)
    return out


def settle_shared(vp: VectorProgram, house_rows: np.ndarray, member_of: np.ndarray, unique, claim_table: Table,
                  member_table: Table, names: dict, problems, opening: dict | None = None,
                  histories: dict | None = None, groups: np.ndarray | None = None,
                  members=None, columns: dict | None = None) -> Result:
    """A partition's claims under one rulebook version, households sharing quotas (called by
    :func:`medrules.batch.run.settle_partition`). ``opening``, ``histories``: each person's (per member row),
    as on the member path. ``groups``: each row's group (:mod:`medrules.batch.vgroups`: households linked by
    a named holder, settled together; default: its household). ``members``: the members table (two tables),
    which gives the facts of the holders who have no claim rows here."""
    member_house = np.zeros(len(unique), np.int64)
    member_house[member_of] = house_rows
    problems.add(member_house[member_of] != house_rows, "household_id",
                 "the rows of one member name different households")
    index = {str(name): i for i, name in enumerate(unique)}
    member_table, unknown = _claimless_holders(vp, claim_table, index, member_table, members, columns or {},
                                               problems, names)
    holders = holder_rows(vp, claim_table, len(member_of), index, problems, names, unknown)
    return settle_households(vp, house_rows if groups is None else groups, member_of, holders, claim_table,
                             member_table, opening, histories)


def _claimless_holders(vp: VectorProgram, claim_table: Table, index: dict, member_table: Table, members,
                       columns: dict, problems, names: dict) -> tuple[Table, str]:
    """The holders named here who have no claim rows: their member facts from the members table (added to
    ``index`` and to the member table's rows); returns the member table and what a reason adds for a holder who
    is in neither table."""
    if members is None:
        return member_table, (" (the holder's member facts come from their claim rows here: give them in a "
                              "members table, --members, for a holder with no claims)")
    unknown = " nor of the members table"
    seen: dict[str, None] = {}  # (ordered, hashed)
    for name in holder_facts(vp):
        values, given = claim_table.values[name], claim_table.given.get(name)
        for v, g in zip(values.tolist(), given.tolist() if given is not None else [True] * len(values)):
            if g and isinstance(v, str) and v and v not in index:
                seen[v] = None
    wanted = list(seen)
    if not wanted:
        return member_table, unknown
    from medrules.batch.run import _members_for
    bad: list = []
    extra, _opening, missing = _members_for(vp, members, np.array(wanted, object), columns, bad)
    why = dict(bad)
    start = len(next(iter(member_table.values.values()))) if member_table.values else 0
    keep = [i for i in range(len(wanted)) if not missing[i] and i not in why]
    for j, i in enumerate(keep):
        index[wanted[i]] = start + j
    for i, reason in why.items():  # a holder whose member row is bad: the rows naming them are rejected
        for name in holder_facts(vp):
            values = claim_table.values[name]
            at = np.array([v == wanted[i] for v in values.tolist()], bool)
            if name in claim_table.given:
                at &= claim_table.given[name]
            problems.add(at, names.get(("claim", name), f"claim.{name}"),
                         f"names the quota of '{wanted[i]}', whose members table row is invalid: {reason}")
    if not keep:
        return member_table, unknown
    take = np.array(keep, np.int64)
    values = {k: np.concatenate([v, extra.values[k][take]]) for k, v in member_table.values.items()}
    given = {}
    for k in set(member_table.given) | set(extra.given):
        mine = member_table.given.get(k, np.ones(start, bool))
        theirs = extra.given.get(k, np.ones(len(wanted), bool))[take]
        given[k] = np.concatenate([mine, theirs])
    return Table(values, given), unknown


def household_keys(table, ids: np.ndarray, homes: dict, path, groups: dict | None = None) -> np.ndarray:
    """The key a spilled row is partitioned by when households share quotas: its household id (its member id
    when it names none), or the key of its group when its household is linked to others by a named holder
    (``groups``: :func:`medrules.batch.vgroups.spill_groups`), so that a group's claims are settled together; a
    member whose rows name different households across the input is an error (the member's claims would be
    split)."""
    import pyarrow.compute as pc

    from medrules.diagnostics import MedrulesError, error
    column = next((c for c in ("household_id", "household.id", "household") if c in table.column_names), None)
    if column is None:
        return ids
    house = np.asarray(pc.fill_null(pc.cast(table.column(column), "string"), "").to_numpy(zero_copy_only=False),
                       object)
    keys = np.array([f"household\x00{h}" if h else f"member\x00{m}" for m, h in zip(ids.tolist(), house.tolist())],
                    object)
    for member, key in set(zip(ids.tolist(), keys.tolist())):
        if homes.setdefault(member, key) != key:
            raise MedrulesError(error("columns", f"'{path}': the rows of member '{member}' name different households "
                                      f"in {column}", None, "a member belongs to one household: give each of its rows "
                                      "the same household id"))
    if groups:
        keys = np.array([groups.get(k, k) for k in keys.tolist()], object)
    return keys
