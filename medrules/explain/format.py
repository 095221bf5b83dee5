"""Numbers for people: amounts, rates and dates formatted for a language."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from medrules.numbers import amount

LANGS = ("zh", "en")

CENT = Decimal("0.01")


def shown(d):
    """A Decimal to show: an exact rational (a quotient, medrules.plan.arith.Exact) to 28 digits."""
    return d.decimal() if hasattr(d, "denominator") and hasattr(d, "decimal") else d


def money_text(d: Decimal) -> str:
    """Exact decimal string with at least two decimals: 300 -> '300.00', 11615.8050 -> '11615.805'."""
    d = shown(d)
    if d.as_tuple().exponent < -2:
        d = d.normalize()
    if d.as_tuple().exponent > -2:
        d = d.quantize(CENT)
    return format(d, "f")


def fraction_text(d: Decimal) -> str:
    return format(d.normalize(), "f") if d else "0"


class Formatter:
    def __init__(self, lang: str = "zh", grid: bool = False):
        """``grid``: amounts for a citizen, on the fen grid (an inexact 38,577.933 shows as '≈38,577.93')."""
        if lang not in LANGS:
            raise ValueError(lang)
        self.lang = lang
        self.grid = grid
        from medrules.explain.i18n import gettext_for
        self._ = gettext_for(lang)

    def number(self, d: Decimal) -> str:
        """1234.5 -> '1,234.50'; an inexact quotient is cut to four decimals and marked '…'."""
        suffix = ""
        d = shown(d)
        if self.grid and d.as_tuple().exponent < -2:
            on_grid = d.quantize(CENT, rounding="ROUND_HALF_UP")
            if on_grid != d:
                return "≈" + self.number(on_grid)
        if d.as_tuple().exponent < -4:
            d, suffix = d.quantize(Decimal("0.0001"), rounding="ROUND_DOWN"), "…"
        return amount(d, self.lang) + suffix

    def money(self, d: Decimal) -> str:
        return self._("{amount} yuan").format(amount=self.number(d))

    def amount(self, d: Decimal) -> str:
        """A bare amount inside a formula (unit shown once, at the result)."""
        return self.number(d)

    def rate(self, d: Decimal) -> str:
        d = shown(d)
        return f"{fraction_text(d * 100)}%"

    def points(self, d: Decimal) -> str:
        p = fraction_text(d * 100)
        sign = "+" if d >= 0 else ""
        return self._("{points} points").format(points=f"{sign}{p}")

    def relpct(self, d: Decimal) -> str:
        r = fraction_text(d * 100)
        sign = "+" if d >= 0 else ""
        return self._("{percent}% relative").format(percent=f"{sign}{r}")

    def date(self, d: dt.date) -> str:
        return d.isoformat()

    def value(self, v, unit: str) -> str:
        return {"money": self.amount, "rate": self.rate, "points": self.points, "relpct": self.relpct,
                "days": self.days, "months": self.months}.get(unit, self.plain)(v)

    def days(self, v) -> str:
        return self._("{n} days").format(n=v)

    def months(self, v) -> str:
        return self._("{n} months").format(n=v)

    def plain(self, v) -> str:
        return format(v.normalize(), "f") if isinstance(v, Decimal) else str(v)

    def any(self, v) -> str:
        if isinstance(v, bool):
            return self._("true") if v else self._("false")
        if isinstance(v, Decimal):
            return self.amount(v)
        if isinstance(v, frozenset):
            return "{" + ", ".join(sorted(v)) + "}"
        if isinstance(v, dt.date):
            return self.date(v)
        return str(v)
