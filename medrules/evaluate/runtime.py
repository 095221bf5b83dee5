"""Run-time helpers: declared rounding, date arithmetic, benefit years."""
from __future__ import annotations

import calendar
import datetime as dt
import decimal
from decimal import Decimal

from medrules import nodes as n

ZERO = Decimal(0)

_MODES = {"half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN,
          "down": decimal.ROUND_DOWN, "up": decimal.ROUND_UP}

# Exact arithmetic: 28 significant digits is far beyond any yuan amount, and the
# only inexact operation (a division for the cost that a payment cap covers) is
# rounded by the declared rule right after.
CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


class Rounder:
    """The rulebook's declared rounding, e.g. half-up to 0.01 yuan per payment."""

    __slots__ = ("quantum", "mode", "node")

    def __init__(self, node: n.Rounding):
        self.node = node
        self.quantum = node.quantum
        self.mode = _MODES[node.mode]

    def __call__(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=self.mode)


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def benefit_year(day: dt.date, starts: tuple[int, int]) -> tuple[dt.date, dt.date]:
    """The benefit year that contains ``day``, as (first day, last day)."""
    month, dom = starts
    start = dt.date(day.year, month, dom)
    if day < start:
        start = dt.date(day.year - 1, month, dom)
    end = add_months(start, 12) - dt.timedelta(days=1)
    return start, end


def year_label(start: dt.date, end: dt.date) -> str:
    if (start.month, start.day) == (1, 1):
        return str(start.year)
    return f"{start.isoformat()}/{end.isoformat()}"
