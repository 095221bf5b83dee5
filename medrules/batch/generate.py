"""Seeded synthetic members and claims for any rulebook, from its declared facts.

Used by the differential tests and the benchmarks: amounts spread from a few yuan to
300,000 yuan (so deductibles, bands and caps are all reached), every enumeration
member, optional facts sometimes left out, claim dates inside the rulebook's effective
period (a year and a half when it has no end), 1–8 claims a member.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from medrules import nodes as n
from medrules.batch.columns import enum_members, fields
from medrules.check import CheckedRulebook
from medrules.facts import _default


def period(checked: CheckedRulebook) -> tuple[dt.date, dt.date]:
    h = checked.rulebook.header
    start = h.effective_from or dt.date(2012, 1, 1)
    end = h.effective_to or start + dt.timedelta(days=540)
    return start, end


def random_value(rng: random.Random, t, checked: CheckedRulebook, name: str, around: tuple[dt.date, dt.date]):
    unit = t.unit
    if unit == "money":
        if rng.random() < 0.15:
            return Decimal(0)
        top = rng.choice([100, 1_000, 5_000, 30_000, 100_000, 300_000])
        return Decimal(rng.randint(0, top * 100)) / 100
    if unit in ("rate", "points", "relpct"):
        return Decimal(rng.randint(0, 100)) / 100
    if unit == "count":
        return Decimal(rng.randint(0, 3))
    if unit in ("days", "months"):
        return rng.randint(0, 400)
    if unit == "date":
        lo, hi = around
        lo -= dt.timedelta(days=400)
        return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
    if unit == "bool":
        return rng.random() < 0.3
    if unit == "enum":
        return rng.choice(enum_members(checked, t.enum))
    if unit == "set":
        members = enum_members(checked, t.enum)
        return frozenset(m for m in members if rng.random() < 0.2)
    return f"{name}-{rng.randint(0, 10**6)}"


def random_members(checked: CheckedRulebook, n_members: int, seed: int = 2012, max_claims: int = 8,
                   dates: tuple[dt.date, dt.date] | None = None) -> list[tuple[dict, list[dict]]]:
    """``n_members`` members, each ``(member facts, [claim facts…])``, as validated Python values."""
    rng = random.Random(seed)
    start, end = dates or period(checked)
    member_fields, claim_fields = fields(checked, "member"), fields(checked, "claim")
    defaults = {(kind, name): _default(f.default, checked) for kind, record in checked.records.items()
                for name, f in record.items() if f.default is not None and f not in checked.optional}

    def value(kind, name, t, optional):
        if optional and rng.random() < 0.5:
            return None
        if (kind, name) in defaults and rng.random() < 0.7:  # most claims are ordinary ones
            return defaults[(kind, name)]
        return random_value(rng, t, checked, name, (start, end))

    dated_by = checked.rulebook.header.dated_by.parts[-1]
    holders = sorted({ref.parts[1] for fund in checked.rulebook.funds for cap in fund.clause(n.Cap)
                      for ref in cap.holders if ref.parts[0] == "claim"})
    out = []
    for m in range(n_members):
        member = {}
        for name, (t, optional) in member_fields.items():
            member[name] = value("member", name, t, optional)
        member["id"] = f"M{m}"
        claims = []
        for i in range(rng.randint(1, max_claims)):
            claim = {}
            for name, (t, optional) in claim_fields.items():
                claim[name] = value("claim", name, t, optional)
            for name in holders:  # a quota kept per holder: the member's own, named or not (§22.2)
                claim[name] = rng.choice((None, member["id"]))
            claim["id"] = f"M{m}-C{i + 1}"
            claim[dated_by] = start + dt.timedelta(days=rng.randint(0, (end - start).days))
            claims.append(claim)
        kinds = _histories(checked)
        if kinds:  # a third element: the member's histories, 0–4 records each
            out.append((member, claims, {k: [_record(rng, checked, k, value) for _ in range(rng.randint(0, 4))]
                                         for k in kinds}))
        else:
            out.append((member, claims))
    return out


def _histories(checked: CheckedRulebook) -> list[str]:
    from medrules.check.types import histories
    return list(histories(checked.records))


def _record(rng: random.Random, checked: CheckedRulebook, kind: str, value) -> dict:
    """One record of a history; its dates in the order the fields are declared (a period's first month
    before its last), so that periods and interruptions overlap the claims as often as not."""
    record = {name: value(kind, name, t, optional) for name, (t, optional) in fields(checked, kind).items()}
    dates = sorted(v for v in record.values() if isinstance(v, dt.date))
    names = [n for n, v in record.items() if isinstance(v, dt.date)]
    record.update(zip(names, dates))
    return record


def text_of(value) -> str | None:
    """A generated value as a user writes it in a claim file."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def as_rows(checked: CheckedRulebook, members: list[tuple[dict, list[dict]]]) -> dict[str, list]:
    """Generated members as one claim table (member facts repeated on each claim row): ``member.FIELD`` and
    ``claim.FIELD`` columns of text, a rate written with its unit."""
    types = {(k, name): t for k in ("member", "claim") for name, (t, _) in fields(checked, k).items()}
    columns: dict[str, list] = {f"{k}.{name}": [] for k, name in types}
    for member, claims in members:
        for claim in claims:
            for (k, name), t in types.items():
                value = (member if k == "member" else claim).get(name)
                if value is not None and t.unit in ("rate", "relpct"):
                    text = f"{value * 100}%"
                elif value is not None and t.unit == "points":
                    text = f"{value * 100} points"
                else:
                    text = text_of(value)
                columns[f"{k}.{name}"].append(text)
    return columns


def random_routed(router: CheckedRulebook, targets: list[CheckedRulebook], n_members: int, seed: int = 2020,
                  max_claims: int = 8) -> list[tuple]:
    """Members of a membership rulebook: the router's facts and histories (:func:`random_members`), and the
    facts every scheme's rulebook declares besides (each claim may be routed to any of them)."""
    return fill_targets(router, targets, random_members(router, n_members, seed=seed, max_claims=max_claims), seed)


def fill_targets(router: CheckedRulebook, targets: list[CheckedRulebook], members: list[tuple], seed: int = 2020
                 ) -> list[tuple]:
    """Members generated for a membership rulebook, with the facts its schemes' rulebooks declare filled in
    (copies: the members given are not changed)."""
    rng = random.Random(seed + 1)
    members = [({**m[0]}, [{**c} for c in m[1]], *m[2:]) for m in members]
    around = period(router)
    shared: dict = {}  # (record, fact) -> the enumeration members every rulebook declaring it accepts
    for ck in targets:
        for kind in ("member", "claim"):
            for name, (t, _) in fields(ck, kind).items():
                if t.unit == "enum":
                    accepted = set(enum_members(ck, t.enum))
                    shared[(kind, name)] = shared.get((kind, name), accepted) & accepted
    for m in members:
        for ck in targets:
            defaults = {(kind, name): _default(f.default, ck) for kind, record in ck.records.items()
                        for name, f in record.items() if f.default is not None and f not in ck.optional}
            for kind, records in (("member", [m[0]]), ("claim", m[1])):
                for record in records:
                    for name, (t, optional) in fields(ck, kind).items():
                        if name in record:
                            continue
                        if optional and rng.random() < 0.5:
                            record[name] = None
                        elif (kind, name) in defaults and rng.random() < 0.7:
                            record[name] = defaults[(kind, name)]
                        elif shared.get((kind, name)) and rng.random() < 0.9:  # mostly valid in every scheme
                            record[name] = rng.choice(sorted(shared[(kind, name)]))
                        else:
                            record[name] = random_value(rng, t, ck, name, around)
    return members
