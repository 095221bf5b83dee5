"""medrules.numbers.amount writes the CLDR pattern '#,##0.00' (no quantization) itself: it must give
Babel's text, for zh_CN and en_US alike, on any decimal Babel can format."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from medrules.numbers import amount


def babel_amount(d: Decimal, locale: str) -> str:
    if d.as_tuple().exponent < -2:
        d = d.normalize()
    return format_decimal(d, format="#,##0.00", locale=locale, decimal_quantization=False)


def test_examples_worked_by_hand():
    assert amount(Decimal(40000)) == "40,000.00"
    assert amount(Decimal("11615.805")) == "11,615.805"  # every digit kept
    assert amount(Decimal("0.500")) == "0.50"  # trailing zeros past the fen dropped, two decimals kept
    assert amount(Decimal("-1234.5"), "zh") == "-1,234.50"
    assert amount(7) == "7.00"
    assert amount(Decimal("1E+5")) == "100,000.00"


@settings(max_examples=400, deadline=None)
@given(digits=st.integers(min_value=-10**24, max_value=10**24), exponent=st.integers(min_value=-30, max_value=4),
       lang=st.sampled_from(["zh", "en"]))
def test_same_text_as_babel(digits, exponent, lang):
    d = Decimal(digits).scaleb(exponent)
    try:
        expected = babel_amount(d, {"zh": "zh_CN", "en": "en_US"}[lang])
    except InvalidOperation:  # Babel cannot quantize beyond 28 digits; amount still writes every digit
        return
    assert amount(d, lang) == expected
