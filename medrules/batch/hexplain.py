"""``medrules explain --results`` of a claim settled in a group of households (docs/batch.md, issues 8 and 11).

When a version keeps quotas per holder (``cap payments at … per holder of claim.quota_from, …``, language.md
§22.2) and the input gives households (a ``household_id`` column in the claims, or in the members table),
``medrules settle`` settles the claims of a *group* of households — households linked by a named holder — in one
date order (:mod:`medrules.batch.vgroups`, :mod:`medrules.batch.vquota`). A claim that drew on another person's
quota, or whose quota someone drew on earlier, settles to other amounts when its member is settled alone. So
the claim's group is rebuilt from the input as a household facts file (§22.2: the claim's household as
``members``, every other person of the group as ``designated``), settled by :func:`medrules.household.settle_household`
on the traced scalar backend, and the claim's settlement is explained and checked against the results row.

The group, as the batch builds it: start from the claim's household; add (a) the households whose rows name a
person of the group and (b) the households of the persons the group's rows name (a holder with no claim rows is
of the members table's household; with none there, they stand for themselves), until nothing changes.
The batch breaks date ties by input order, row by row: the household settlement is given each claim's input row
(``ties``) and breaks ties by it, whichever person's claims they are.
"""
from __future__ import annotations

import json

import attrs

from medrules.diagnostics import MedrulesError, error


def household_found(rb, vp, claim_paths, row: dict, claim: str, members, columns: dict, histories: dict,
                    where: str):
    """A :class:`medrules.batch.explain.FromResults` whose ``settlement`` is the claim's person's, settled with the
    claim's group of households; None when the input gives no households (the member is settled alone)."""
    from medrules.batch.explain import FromResults, _add_histories, _member_documents
    from medrules.household import load_household_claims, settle_household
    from medrules.source import SourceFile
    member_id = str(row["member_id"])
    scan = _scan(rb, vp, claim_paths, members, columns)
    if scan is None:
        return None
    rows, house_of, member_rows, ties = scan
    start = next((h for m, h, _ in rows if m == member_id and h), None) or house_of.get(member_id)
    if not start:
        return None
    persons, claimless = _group(rows, house_of, start)
    docs = []
    found = _member_documents(rb, vp, claim_paths, [p for p in persons if p not in claimless], members, columns)
    for pid in persons:
        if pid in claimless:
            if pid not in member_rows:
                raise MedrulesError(error("explain", f"{where}: claim '{claim}' shares quotas with '{pid}', who is "
                                          "in neither the claims nor the members table", None,
                                          "give the members table the batch read: --members FILE"))
            doc = {"member": member_rows[pid], "claims": []}
        else:
            doc = found[pid]
        _add_histories(doc, vp, claim_paths, pid, histories, columns)
        docs.append((pid, doc))
    mine = {pid for pid in persons if house_of.get(pid) == start}
    group = {"household": {"id": start}, "members": [d for pid, d in docs if pid in mine],
             "designated": [d for pid, d in docs if pid not in mine]}
    text = json.dumps(group, ensure_ascii=False, indent=1, default=str)
    source = SourceFile(f"{claim_paths[0]} (household {start} and the households sharing its quotas)", text)
    hc = load_household_claims(source, vp.program.checked)
    hc = attrs.evolve(hc, ties=ties, houses={p: house_of[p] for p in persons if p in house_of})
    hs = settle_household(vp.program, hc, trace=True)
    settlement = next(s for s in hs.settlements if s.member_id == member_id)
    facts = next(p for p in hc.people if p.member_id == member_id)
    return FromResults(vp.program, facts, claim, row, where, settlement=settlement, household=start)


def _scan(rb, vp, claim_paths, members, columns: dict):
    """(rows as (member, household, holders named), household of each person, member record of each person of
    the members table), in input order; None when neither table gives households."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medrules.batch import io
    from medrules.batch.explain import _checked_all, _version
    from medrules.batch.run import read_members
    from medrules.batch.vgroups import house_column
    from medrules.batch.vquota import holder_facts
    from medrules.ledger.batch import _record
    every = _checked_all(vp)
    types = {(kind, name): ck.field_types[field] for ck in reversed(every) for kind, fields in ck.records.items()
             for name, field in fields.items()}
    fields = holder_facts(vp)
    rows, by_rows, ties = [], False, {}

    def text(table, column):
        return pc.cast(table.column(column), pa.string()).to_pylist()
    for path in io.expand(claim_paths):
        for table in io.read_batches(path):
            names = {}
            for ck in reversed(every):
                names |= io.column_names(table.column_names, ck, columns, members_elsewhere=members is not None)
            key, house = names.get(("member", "id")), house_column(table.column_names)
            if key is None:
                return None  # the per-member path says which column is missing
            by_rows = by_rows or house is not None
            who = text(table, key)
            houses = text(table, house) if house else [None] * len(who)
            named = [text(table, names[("claim", f)]) for f in fields if ("claim", f) in names]
            claim_ids = text(table, names[("claim", "id")]) if ("claim", "id") in names else [None] * len(who)
            days = (text(table, names[("claim", rb.dated_by)])
                    if len(rb.versions) > 1 and ("claim", rb.dated_by) in names else None)
            for i, m in enumerate(who):
                if days is not None and _version(rb, days[i]) is not vp:
                    continue  # settled under another version of the folder
                holders = [h[i].strip() for h in named if h[i] is not None and h[i].strip()]
                ties.setdefault(claim_ids[i], len(ties))
                rows.append((m, houses[i], [h for n, h in enumerate(holders) if h not in holders[:n]]))
    house_of: dict[str, str] = {}
    member_rows: dict[str, dict] = {}
    table = read_members(members)
    if table is not None:
        names = {}
        for ck in reversed(every):
            names |= io.column_names(table.column_names, ck, columns, kinds=("member",))
        key, house = names.get(("member", "id")), house_column(table.column_names)
        if key is not None:
            for r in table.to_pylist():
                pid = str(r[key])
                member_rows.setdefault(pid, _record(r, names, "member", types))
                if house and r.get(house) not in (None, ""):
                    house_of.setdefault(pid, str(r[house]))
    if not by_rows and not house_of:
        return None
    if by_rows:  # a person with claim rows is of the household of those rows
        for m, h, _ in rows:
            if h not in (None, ""):
                house_of[m] = h
    rows = [(m, house_of.get(m) if not by_rows else (h or None), named) for m, h, named in rows]
    return rows, house_of, member_rows, ties


def _group(rows, house_of: dict, start: str) -> tuple[list[str], set[str]]:
    """The persons of the claim's group in input order (claimless holders after, in the order first named), and
    which of them have no claim rows. The group is the component of ``start`` when every row of household H
    naming holder P links H to P's node: the household of P's rows, else P's household in the members table,
    else P (a holder of no household stands for themselves: every household naming them is linked through them)."""
    from medrules.batch.vgroups import link
    own: dict[str, str | None] = {}  # a person with claim rows: the household of their rows
    for m, h, _ in rows:
        own.setdefault(m, h)

    def node(p):
        h = own[p] if p in own else house_of.get(p)
        return ("house", h) if h is not None else ("person", p)
    links = link({(("house", h), p) for _, h, named in rows if h is not None for p in named}, node)
    root = links.find(("house", start))

    def inside(h) -> bool:
        return h is not None and links.find(("house", h)) == root
    persons: list[str] = []
    seen: set[str] = set()
    for m, h, _ in rows:
        if m not in seen and inside(h):
            seen.add(m)
            persons.append(m)
    claimless = set()
    for m, h, named in rows:
        if inside(h):
            for p in named:
                if p not in seen:
                    seen.add(p)
                    persons.append(p)
                    claimless.add(p)
    return persons, claimless
