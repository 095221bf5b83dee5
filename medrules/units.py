"""Units are types.

Every expression has exactly one :class:`Type`. The checker derives it (see
:mod:`medrules.check.types`) using the algebra below; the evaluator then works on
raw values and never needs to look at units again.

Runtime representation of each unit:

=========  ==========================================  =======================
unit       meaning                                     runtime value
=========  ==========================================  =======================
money      yuan, exact                                 ``Decimal`` (yuan)
rate       a share, written ``55%``                    ``Decimal`` (0.55)
points     percentage points, additive: ``5 points``   ``Decimal`` (0.05)
relpct     relative percent, multiplicative:           ``Decimal`` (0.20)
           ``20% relative``
days       a number of days                            ``int``
months     a number of months                          ``int``
date       a calendar date                             ``datetime.date``
count      a plain number                              ``Decimal``
bool       true / false                                ``bool``
text       a string                                    ``str``
enum E     one member of enumeration E                 ``str`` (member name)
set of E   several members of enumeration E            ``frozenset`` of names
=========  ==========================================  =======================
"""
from __future__ import annotations

import attrs

SIMPLE = ("money", "rate", "points", "relpct", "days", "months", "date", "count", "bool", "text")


@attrs.frozen
class Type:
    unit: str
    enum: str | None = None

    def __str__(self) -> str:
        if self.unit == "set":
            return f"set of {self.enum}"
        return f"enum {self.enum}" if self.unit == "enum" else self.unit


MONEY, RATE, POINTS, RELPCT = Type("money"), Type("rate"), Type("points"), Type("relpct")
DAYS, MONTHS, DATE, COUNT = Type("days"), Type("months"), Type("date"), Type("count")
BOOL, TEXT = Type("bool"), Type("text")
NONE = Type("none")  # only as a fact's default: the fact may be left out (test it with given(…))

# Words a drafter may use in declarations (facts fields, parameters, accumulators).
TYPE_NAMES = {t: Type(t) for t in SIMPLE}

# (left, op, right) -> result. Anything not listed is a unit error.
_ARITH: dict[tuple[str, str, str], Type] = {
    ("money", "+", "money"): MONEY,
    ("money", "-", "money"): MONEY,
    ("money", "*", "rate"): MONEY,
    ("rate", "*", "money"): MONEY,
    ("money", "*", "count"): MONEY,
    ("count", "*", "money"): MONEY,
    ("money", "/", "count"): MONEY,
    ("money", "/", "money"): COUNT,
    ("rate", "+", "points"): RATE,
    ("rate", "-", "points"): RATE,
    ("points", "+", "points"): POINTS,
    ("points", "-", "points"): POINTS,
    ("rate", "*", "relpct"): RATE,
    ("rate", "*", "count"): RATE,
    ("count", "*", "rate"): RATE,
    ("rate", "*", "rate"): RATE,
    ("count", "+", "count"): COUNT,
    ("count", "-", "count"): COUNT,
    ("count", "*", "count"): COUNT,
    ("count", "/", "count"): COUNT,
    ("date", "+", "days"): DATE,
    ("date", "-", "days"): DATE,
    ("date", "+", "months"): DATE,
    ("date", "-", "date"): DAYS,
    ("days", "+", "days"): DAYS,
    ("days", "-", "days"): DAYS,
    ("months", "+", "months"): MONTHS,
}

# Hints for the mistakes drafters actually make.
_HINTS: dict[tuple[str, str, str], str] = {
    ("rate", "+", "rate"): "to raise a rate by percentage points write '+ 5 points'; "
    "for a relative increase write '* 5% relative' (multiplies by 1.05)",
    ("rate", "-", "rate"): "to lower a rate by percentage points write '- 5 points'",
    ("money", "+", "count"): "write the amount with its unit, e.g. '300 yuan'",
    ("money", "-", "count"): "write the amount with its unit, e.g. '300 yuan'",
    ("money", "+", "rate"): "a rate applies to money by multiplication: 'cost * 50%'",
    ("date", "+", "count"): "write the duration with its unit, e.g. '90 days'",
}


def arith(left: Type, op: str, right: Type) -> Type | None:
    return _ARITH.get((left.unit, op, right.unit))


def arith_hint(left: Type, op: str, right: Type) -> str | None:
    return _HINTS.get((left.unit, op, right.unit))


ORDERED = {"money", "rate", "points", "relpct", "days", "months", "date", "count"}
