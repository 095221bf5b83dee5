"""How facts are held as columns: one numpy array per declared fact, exact integers.

The vector backend and the readers agree on this encoding (docs/batch.md):

=========================  ===========================================  ========
unit                       column                                       scale
=========================  ===========================================  ========
money                      int64, yuan × 10^2 (fen)                     2
rate / points / relpct     int64, the share × 10^6 (``55%`` → 550000)    6
count                      int64, × 10^4                                4
days / months              int64                                        0
date                       int64, days since 1970-01-01
bool                       bool
text                       object (str)
enum E                     int64, the member's position in E's declaration
set of E                   int64, one bit per member of E
=========================  ===========================================  ========

A fact declared ``= none`` also has a ``given`` mask (False where it was left out).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import numpy as np

from medrules.check import CheckedRulebook

SCALES = {"money": 2, "rate": 6, "points": 6, "relpct": 6, "count": 4, "days": 0, "months": 0}
EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def from_day_number(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def enum_members(checked: CheckedRulebook, enum: str) -> list[str]:
    ck = checked
    while ck is not None:
        if enum in ck.enums:
            return [m.name for m in ck.enums[enum].members]
        ck = ck.base
    raise KeyError(enum)


@attrs.define
class Table:
    """Facts as columns: ``values[name]`` (and ``given[name]`` for optional facts), all the same length."""

    values: dict[str, np.ndarray]
    given: dict[str, np.ndarray] = attrs.Factory(dict)

    def __len__(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0

    def take(self, index: np.ndarray) -> Table:
        return Table({k: v[index] for k, v in self.values.items()}, {k: v[index] for k, v in self.given.items()})


def fields(checked: CheckedRulebook, kind: str) -> dict:
    """The declared facts of a record: name -> (Type, optional)."""
    return {name: (checked.field_types[f], f in checked.optional) for name, f in checked.records.get(kind, {}).items()}


def encode_value(value, t, checked: CheckedRulebook):
    """One validated Python value (as medrules.facts gives it) → its column encoding."""
    if t.unit in SCALES:
        return int(Decimal(value).scaleb(SCALES[t.unit]))
    if t.unit == "date":
        return day_number(value)
    if t.unit == "enum":
        return enum_members(checked, t.enum).index(value)
    if t.unit == "set":
        members = enum_members(checked, t.enum)
        return sum(1 << members.index(v) for v in value)
    return value


def encode_records(checked: CheckedRulebook, kind: str, records: list[dict]) -> Table:
    """Validated records (dicts of Python values, None for an optional fact left out) → a Table."""
    values, given = {}, {}
    for name, (t, optional) in fields(checked, kind).items():
        column = [r.get(name) for r in records]
        if optional:
            given[name] = np.array([v is not None for v in column], bool)
        dtype = object if t.unit == "text" else bool if t.unit == "bool" else np.int64
        fill = "" if t.unit == "text" else False if t.unit == "bool" else 0
        values[name] = np.array([fill if v is None else encode_value(v, t, checked) for v in column], dtype)
    return Table(values, given)
