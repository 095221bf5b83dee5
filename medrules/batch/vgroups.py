"""Households linked by a quota: the unit settled together on the vector backend (docs/language.md §22.2, issue 11).

Chongqing 2017 (seed 003): "定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付费用". A claim draws on the
quotas of the holders it names; a holder of another household (the patient is a person the holder designated,
a 指定人) makes the two households draw on one balance, so their claims are settled in one date order (ties:
input order), as ``medrules run`` settles a household file with ``"designated"`` persons.

The *group* is the connected component of the households linked by a named holder (union-find): a row of
household H naming holder P links H to P's household, which is

* the household of P's own claim rows, when P has some;
* else the members table's ``household_id`` (or ``household.id``, ``household``) of P, when it gives one;
* else none: P stands for themselves, so every household whose claims name P is linked through P (its
  balance is shared by them) — with one such household, P is of the household of the claims that name them.

The group, not the household, is the unit of the waves (:mod:`medrules.batch.vquota`), of "held back", of the
spilled partitions and of Dask's (:func:`spill_groups`, :func:`medrules.batch.vquota.household_keys`). A group
that designations chain across many households is not settled claim by claim: :func:`wave_levels` puts each
claim in the wave after the last earlier claim that touches the same person or quota.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HOUSE_COLUMNS = ("household_id", "household.id", "household")
LEVELS_FROM = 64  # a group of more claims than this is settled in waves by what its claims touch (wave_levels)


class Links:
    """Union-find over hashable nodes; the root of a component is its least node (:func:`_order`), so that the
    group a row falls in does not depend on the order the links were read."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb), key=_order)
            self.parent[hi] = lo


def _order(node):
    if isinstance(node, (int, np.integer)):
        return (0, int(node), "")
    return (1, 0, node) if isinstance(node, str) else (2, 0, repr(node))


def holder_fact_names(rb) -> list[str]:
    """The claim facts that name holders, over the versions that keep quotas per holder."""
    from medrules.batch.vector import VectorProgram
    from medrules.batch.vquota import holder_facts
    out: list[str] = []
    for vp in rb.versions:
        if isinstance(vp, VectorProgram):
            out += [f for f in holder_facts(vp) if f not in out]
    return out


def _text(column, trim: bool = True) -> np.ndarray:
    """A column as Python text, trimmed (``trim``); null → ''."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    try:
        text = pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not text: validation rejects its rows, no link here
        return np.full(len(column), "", object)
    text = pc.utf8_trim_whitespace(text) if trim else text
    return np.asarray(pc.fill_null(text, "").to_numpy(zero_copy_only=False), object)


def house_column(names) -> str | None:
    return next((c for c in HOUSE_COLUMNS if c in names), None)


def member_households(members: pa.Table | None, checked, columns: dict, wanted) -> dict:
    """member id → household id, from the members table, for the ``wanted`` ids it gives a household."""
    from medrules.batch import io
    if members is None or not wanted:
        return {}
    column = house_column(members.column_names)
    key = io.column_names(members.column_names, checked, columns, kinds=("member",)).get(("member", "id"))
    if column is None or key is None:
        return {}
    ids, house = _text(members.column(key)), _text(members.column(column))
    asked = np.asarray(pc.is_in(pa.array(ids, pa.string()), value_set=pa.array(sorted(wanted), pa.string()))
                       .to_numpy(zero_copy_only=False), bool)  # (hashed in Arrow: np.isin on text is quadratic)
    out: dict = {}
    for i in np.flatnonzero(asked & (house != "")):
        out.setdefault(ids[i], house[i])  # a member's first row, as the members table is read
    return out


def house_lookup(rb, columns: dict, members) -> tuple[pa.Array, pa.Array] | None:
    """Two tables, the claims giving no household: (member ids, their household ids) from the members table, when
    it has a household column and the rulebook keeps quotas per holder; else None. ``members``: a table or path."""
    from medrules.batch import io
    if members is None or not holder_fact_names(rb):
        return None
    if not isinstance(members, pa.Table):
        from medrules.batch.run import read_members
        members = read_members(members)
    column = house_column(members.column_names)
    key = io.column_names(members.column_names, rb.top.checked, columns, kinds=("member",)).get(("member", "id"))
    if column is None or key is None:
        return None
    return pa.array(_text(members.column(key)), pa.string()), pa.array(_text(members.column(column)), pa.string())


def with_households(table: pa.Table, rb, columns: dict, lookup) -> pa.Table:
    """The claims with a ``household_id`` column from the members table (``lookup``: :func:`house_lookup`), each
    row its member's household (its first row there; none: a household of one) — when the claims give none."""
    from medrules.batch import io
    if lookup is None or house_column(table.column_names) is not None:
        return table
    id_column = io.column_names(table.column_names, rb.top.checked, columns, members_elsewhere=True).get(
        ("member", "id"))
    if id_column is None:
        return table
    ids, house = lookup
    at = pc.index_in(pa.array(_text(table.column(id_column)), pa.string()), value_set=ids)
    return table.append_column("household_id", pc.fill_null(pc.take(house, at), ""))


def named_pairs(table: pa.Table, names: dict, facts: list[str], ids: np.ndarray, homes: np.ndarray,
                known: dict | None = None) -> set:
    """(the row's household node, the holder id) for every row that names a holder other than its patient
    (``known``: holder id → household node; a holder known to be of the row's household links nothing)."""
    pairs: set = set()
    for fact in facts:
        column = names.get(("claim", fact))
        if column is None:
            continue
        named = _text(table.column(column))
        rows = np.flatnonzero((named != "") & (named != ids))
        found = zip(homes[rows].tolist(), named[rows].tolist())
        pairs |= {(h, p) for h, p in found if known is None or known.get(p) != h}
    return pairs


def link(pairs: set, resolve) -> Links:
    """The households linked by the holders the rows name: ``pairs`` (household node, holder); ``resolve``:
    holder → the node of their household."""
    links = Links()
    for node, holder in pairs:
        links.union(node, resolve(holder))
    return links


def quota_groups(rb, claims: pa.Table, names: dict, member_ids: pa.Array, households: np.ndarray,
                 members: pa.Table | None, columns: dict) -> np.ndarray:
    """Per row of a partition: its group (an int64 code; rows of one group share it). ``households``: each
    row's household code (:func:`medrules.batch.run._household_codes`); with no cross-household link, the
    groups are the households."""
    ids = np.asarray(pc.fill_null(member_ids, "").to_numpy(zero_copy_only=False), object)
    pairs: set = set()  # (household code, household code) for a holder with claim rows; (code, holder id) else
    for fact in holder_fact_names(rb):
        column = names.get(("claim", fact))
        if column is None:
            continue
        named = _text(claims.column(column))
        rows = np.flatnonzero((named != "") & (named != ids))
        if not len(rows):
            continue
        at = pc.index_in(pa.array(named[rows], pa.string()), value_set=member_ids)  # the holder's first row
        at = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), np.int64)
        home = households[np.maximum(at, 0)]
        other = (at >= 0) & (home != households[rows])
        pairs |= set(zip(households[rows[other]].tolist(), home[other].tolist()))
        claimless = at < 0
        pairs |= set(zip(households[rows[claimless]].tolist(), named[rows[claimless]].tolist()))
    if not pairs:
        return households
    wanted = {p for _, p in pairs if isinstance(p, str)}
    in_members = member_households(members, rb.top.checked, columns, wanted)
    house_node: dict = {}
    column = house_column(claims.column_names)
    if in_members and column is not None:  # a household of the claims table: its code; else a node of its own
        house_text = _text(claims.column(column))
        codes = dict(zip(house_text.tolist(), households.tolist()))
        house_node = {p: codes.get(h, ("household", h)) for p, h in in_members.items()}
    links = link(pairs, lambda p: p if isinstance(p, int) else house_node.get(p, ("person", p)))
    unique, inverse = np.unique(households, return_inverse=True)
    rep = unique.copy()
    for node in list(links.parent):
        if isinstance(node, int):
            at = np.searchsorted(unique, node)
            if at < len(unique) and unique[at] == node:
                rep[at] = links.find(node)
    return rep[inverse]


def spill_groups(paths, rb, columns: dict, members: pa.Table | None, lookup=None) -> dict:
    """For a spilled run (and Dask's): a household key (``household\\0ID``, or ``member\\0ID`` for a person of no
    household, as :func:`medrules.batch.vquota.household_keys` makes them) → the key of its group, for the
    households linked to another; read in a first pass over the input (the links may be anywhere in it)."""
    from medrules.batch import io
    facts = holder_fact_names(rb)
    if members is not None and not isinstance(members, pa.Table):  # a path (Dask's client has the file's)
        from medrules.batch.run import read_members
        members = read_members(members)
    homes: dict = {}  # member id -> its household key (its first row's)
    pairs: set = set()
    for p in paths:
        for table in io.read_batches(p):
            table = with_households(table, rb, columns, lookup)  # (lookup: the members table's households)
            names = io.column_names(table.column_names, rb.top.checked, columns, members_elsewhere=True)
            id_column = names.get(("member", "id"))
            column = house_column(table.column_names)
            if id_column is None or column is None:
                continue  # no household column: no groups (spill refuses a table without ids)
            # the ids and households as household_keys reads them (the keys must be the same)
            ids, house = _text(table.column(id_column), False), _text(table.column(column), False)
            keys = np.array([f"household\x00{h}" if h else f"member\x00{m}" for m, h in zip(ids.tolist(),
                             house.tolist())], object)
            for member, key in zip(ids.tolist(), keys.tolist()):
                homes.setdefault(member, key)
            pairs |= named_pairs(table, names, facts, ids, keys, homes)
    if not pairs:
        return {}
    wanted = {h for _, h in pairs if h not in homes}
    house_node = {p: f"household\x00{h}" for p, h in
                  member_households(members, rb.top.checked, columns, wanted).items()}
    links = link(pairs, lambda p: homes.get(p) or house_node.get(p, ("person", p)))
    return {node: links.find(node) for node in list(links.parent) if isinstance(node, str)}


def wave_levels(pos: np.ndarray, starts: np.ndarray, who: np.ndarray, held: np.ndarray) -> np.ndarray:
    """The wave of each claim (rows in (group, date, input) order; ``starts``: where each group starts; ``pos``:
    the claim's place in its group, the default wave). A claim touches its patient's accumulators and the
    quotas it draws on (``held``: the holders' member rows, −1: none); two claims that touch nothing in common
    do not depend on each other, so in a group of more than :data:`LEVELS_FROM` claims each claim is put in the
    wave after the last earlier claim of its group that touches the same person or quota. The date order of
    every person's claims and of every quota's draws is kept; the waves are as many as the longest such chain,
    not as the claims of the largest group (a group that designations chain across many households)."""
    sizes = np.diff(np.r_[starts, len(pos)])
    big = np.flatnonzero(sizes > LEVELS_FROM)
    if not len(big):
        return pos
    pos = pos.copy()
    last: dict = {}  # person or holder (a member row) -> the wave of the last claim that touched it
    for g in big.tolist():
        for i in range(int(starts[g]), int(starts[g] + sizes[g])):
            touched = {int(who[i])} | {int(h) for h in held[i] if h >= 0}
            level = max(last.get(r, -1) for r in touched) + 1
            for r in touched:
                last[r] = level
            pos[i] = level
    return pos
