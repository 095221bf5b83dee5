"""The arithmetic every backend obeys (see docs/arithmetic.md), as plain functions on values.

Money and rates are :class:`~decimal.Decimal` (exact: facts and literals are finite decimals and
``+ − ×`` of finite decimals is exact within the evaluation context's precision). Division is the one
operation that can leave the decimals: :func:`divide` returns a :class:`Decimal` when the quotient is a
finite decimal and an :class:`Exact` rational otherwise, never a quotient cut at 28 digits. An
``Exact`` mixes with ``Decimal`` in ``+ − ×``, comparisons, ``min``/``max`` and ``sum``, so a fund
computes exactly on it; :func:`round_to` is the only place a value is put on the money grid, by the
quantum's VALUE (``to 10 yuan`` rounds to tens).
"""
from __future__ import annotations

import calendar
import datetime as dt
import decimal
import functools
from decimal import Decimal
from fractions import Fraction

ZERO = Decimal(0)
ONE = Decimal(1)

MODES = {"half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN,
         "down": decimal.ROUND_DOWN, "up": decimal.ROUND_UP}


def _f(x) -> Fraction:
    """A plain Fraction (never an Exact, whose reflected operators would take over)."""
    if type(x) is Fraction:
        return x
    if isinstance(x, Fraction):
        return Fraction(x.numerator, x.denominator)
    return Fraction(x)


class Exact(Fraction):
    """A rational that is not a finite decimal (a quotient such as 1,000.15 / 3), kept exact.

    Unlike :class:`~fractions.Fraction` it mixes with :class:`Decimal` (which it turns into a
    fraction first), and every result of arithmetic on it is again normalised by :func:`exact`.
    """

    __slots__ = ()

    def __add__(self, other):
        return exact(_f(self) + _f(other))

    __radd__ = __add__

    def __sub__(self, other):
        return exact(_f(self) - _f(other))

    def __rsub__(self, other):
        return exact(_f(other) - _f(self))

    def __mul__(self, other):
        return exact(_f(self) * _f(other))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return divide(self, other)

    def __rtruediv__(self, other):
        return divide(other, self)

    def __neg__(self):
        return Exact(-_f(self))

    def __pos__(self):
        return self

    def __abs__(self):
        return Exact(abs(_f(self)))

    def decimal(self, places: int = 28) -> Decimal:
        """An approximation for display only (never fed back into arithmetic)."""
        with decimal.localcontext() as ctx:
            ctx.prec = places
            return Decimal(self.numerator) / Decimal(self.denominator)

    def __repr__(self) -> str:
        return f"Exact({self.numerator}/{self.denominator})"


def _terminates(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def exact(q: Fraction):
    """A rational as a Decimal when it is a finite decimal, else as an :class:`Exact`."""
    if _terminates(q):
        return Decimal(q.numerator) / Decimal(q.denominator)  # exact: a finite decimal
    return Exact(q)


def divide(a, b):
    """``a / b`` exactly (``b`` is not zero: the caller reports that with its position)."""
    return exact(_f(a) / _f(b))


@functools.lru_cache(maxsize=64)
def _grid(quantum: Decimal) -> tuple:
    """The quantum normalised (10 → 1E+1), the power of ten to quantize to (None if it is not one), and
    its exponent."""
    step = quantum.normalize()
    _, digits, exponent = step.as_tuple()
    return step, (Decimal((0, (1,), exponent)) if digits == (1,) else None), exponent


def round_to(amount, quantum: Decimal, mode: str) -> Decimal:
    """Round to a multiple of ``quantum`` by its VALUE (0.01, 1, 10, 0.5 …), in a declared mode.

    ``to 10 yuan`` rounds to tens and ``to 1.0 yuan`` to units; the result is a Decimal written
    with the quantum's decimals (none for quanta of 1 and above)."""
    step, power, exponent = _grid(quantum)
    if power is not None and isinstance(amount, Decimal):  # a power of ten: Decimal does it exactly
        rounded = amount.quantize(power, rounding=MODES[mode])
        return rounded.quantize(ONE) if exponent > 0 else rounded
    q = _f(amount) / _f(step)
    n, d = q.numerator, q.denominator
    whole, rem = divmod(n, d)  # toward −∞; 0 ≤ rem < d
    if rem:
        twice = 2 * rem
        if mode == "down":  # toward zero
            whole += 1 if n < 0 else 0
        elif mode == "up":  # away from zero
            whole += 1 if n > 0 else 0
        elif twice > d or (twice == d and (mode == "half_up" and n > 0 or mode == "half_even" and whole % 2)):
            whole += 1
    result = Decimal(whole) * step
    return result.quantize(Decimal((0, (1,), min(exponent, 0))))


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_days(day: dt.date, days) -> dt.date:
    return day + dt.timedelta(days=int(days))


def sub_days(day: dt.date, days) -> dt.date:
    return day - dt.timedelta(days=int(days))


def days_between(a: dt.date, b: dt.date) -> int:
    return (a - b).days


def times_relative(a, b):
    """``× 20% relative``: a × (1 + b)."""
    return a * (ONE + b)


# ---------------------------------------------------------------- calendar functions (contribution continuity)
def month_end(day: dt.date) -> dt.date:
    """The last day of the date's month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def year_start(day: dt.date) -> dt.date:
    """1 January of the date's year ("次年3月底" = month_end(year_start(x) + 14 months))."""
    return day.replace(month=1, day=1)


def months_between(a: dt.date, b: dt.date) -> Decimal:
    """Calendar months from a's month to b's month (2020-03-31 → 2020-05-01 is 2), a count."""
    return Decimal((b.year * 12 + b.month) - (a.year * 12 + a.month))


CALENDAR = {"month_end": month_end, "year_start": year_start, "months_between": months_between}

