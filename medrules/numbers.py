"""Numbers for people, one formatter for explanations and diagnostics alike (Babel's CLDR patterns).

Exact: an amount is never rounded here (``11615.805`` stays ``11,615.805``); at least two decimals,
digits grouped by thousands. Both languages group the same way (zh_CN and en use ',' and '.').
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

_PATTERN = "#,##0.00"
_LOCALES = {"zh": "zh_CN", "en": "en_US"}


def amount(d: Decimal | int, lang: str = "en") -> str:
    """40000 -> '40,000.00'; 11615.805 -> '11,615.805' (every digit kept)."""
    if not isinstance(d, Decimal):
        d = Decimal(d)
    if d.as_tuple().exponent < -2:
        d = d.normalize()
    return format_decimal(d, format=_PATTERN, locale=_LOCALES.get(lang, "en_US"), decimal_quantization=False)
