"""Run-time helpers: the evaluation context, benefit years (the arithmetic is :mod:`medrules.plan.arith`)."""
from __future__ import annotations

import datetime as dt
import decimal

from medrules.plan.arith import ZERO, add_months

__all__ = ["CONTEXT", "ZERO", "add_months", "benefit_year", "year_label"]

# Exact arithmetic: + − × of the finite decimals in facts and rulebooks stay far inside 28 significant
# digits; division is exact (medrules.plan.arith.divide), and rounding happens only where declared.
CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


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
