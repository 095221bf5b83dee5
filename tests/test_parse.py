"""Parsing: literals and their units, names, spans, comments, the grammar itself."""
from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal

import lark
import pytest

from medrules import nodes as n
from medrules import units
from medrules.check import check
from medrules.diagnostics import MedrulesError
from medrules.parse import grammar_text, parse, parser
from medrules.source import SourceFile


def parse_text(text: str, name: str = "snippet.mr") -> n.Rulebook:
    return parse(SourceFile(name, text))


def parameter_value(literal: str, type_name: str = "money") -> n.Expr:
    """The expression of ``parameter p: TYPE = LITERAL``."""
    rb = parse_text(f'parameter p: {type_name} = {literal} assumed "test"\n')
    (p,) = rb.parameters
    return p.value


# ---------------------------------------------------------------- literals
@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("600 yuan", units.MONEY, Decimal("600")),
        ("160_000 yuan", units.MONEY, Decimal("160000")),
        ("3_000yuan", units.MONEY, Decimal("3000")),
        ("6元", units.MONEY, Decimal("6")),
        ("0.01 yuan", units.MONEY, Decimal("0.01")),
        ("1_234.56 yuan", units.MONEY, Decimal("1234.56")),
        ("55%", units.RATE, Decimal("0.55")),
        ("12.5%", units.RATE, Decimal("0.125")),
        ("100%", units.RATE, Decimal("1")),
        ("5 points", units.POINTS, Decimal("0.05")),
        ("1 point", units.POINTS, Decimal("0.01")),
        ("5个百分点", units.POINTS, Decimal("0.05")),
        ("20% relative", units.RELPCT, Decimal("0.20")),
        ("7", units.COUNT, Decimal("7")),
    ],
)
def test_decimal_literals_carry_unit_and_exact_value(text, unit, value):
    lit = parameter_value(text)
    assert isinstance(lit, n.Literal)
    assert lit.type == unit
    assert isinstance(lit.value, Decimal), "amounts and rates are exact Decimals, never floats"
    assert lit.value == value
    assert lit.text == text


def test_rate_is_exactly_its_digits_over_a_hundred():
    # 55% must be Decimal('0.55') exactly, not the nearest binary float.
    lit = parameter_value("55%")
    assert lit.value.as_tuple() == Decimal("0.55").as_tuple()
    assert parameter_value("5 points").value.as_tuple() == Decimal("0.05").as_tuple()


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("90 days", units.DAYS, 90),
        ("1 day", units.DAYS, 1),
        ("30天", units.DAYS, 30),
        ("15日", units.DAYS, 15),
        ("3 months", units.MONTHS, 3),
        ("6个月", units.MONTHS, 6),
    ],
)
def test_durations_are_whole_numbers_with_a_unit(text, unit, value):
    lit = parameter_value(text)
    assert lit.type == unit
    assert lit.value == value and isinstance(lit.value, int)


def test_boolean_and_text_literals():
    assert parameter_value("true", "bool").value is True
    assert parameter_value("false", "bool").value is False
    lit = parameter_value('"衢政发〔2011〕102号"', "text")
    assert lit.type == units.TEXT and lit.value == "衢政发〔2011〕102号"
    assert parameter_value(r'"a \"quoted\" word"', "text").value == 'a "quoted" word'


def test_points_adjustment_keeps_its_sign():
    rb = parse_text(
        'fund f {\n'
        '  adjust +5 points when true\n'
        '  adjust -5 points when false\n'
        '}\n')
    plus, minus = rb.funds[0].clause(n.Adjust)
    assert isinstance(plus.amount, n.Literal) and plus.amount.value == Decimal("0.05")
    assert isinstance(minus.amount, n.Unary) and minus.amount.op == "-"
    assert minus.amount.operand.value == Decimal("0.05")


def test_date_literal_in_an_expression():
    lit = parameter_value("2012-07-01", "date")
    assert isinstance(lit, n.Literal)
    assert lit.type == units.DATE
    assert lit.value == dt.date(2012, 7, 1)


def test_date_comparison_checks():
    check(parse_text(_small_rulebook(applies="  applies when claim.date >= 2012-07-01\n")))


def test_operators_build_the_expected_tree():
    rb = parse_text('fund f {\n  rate { 55% when claim.x == a, otherwise 50% + 5 points }\n}\n')
    (rate,) = rb.funds[0].clause(n.Rate)
    cases = rate.expr
    assert isinstance(cases, n.Cases)
    (case,) = cases.cases
    assert case.value.value == Decimal("0.55")
    assert isinstance(case.when, n.Comparison) and case.when.op == "=="
    assert case.when.left.parts == ("claim", "x") and case.when.right.parts == ("a",)
    assert isinstance(cases.otherwise, n.Binary) and cases.otherwise.op == "+"
    assert cases.otherwise.right.type == units.POINTS


# ---------------------------------------------------------------- names and text
def _small_rulebook(applies: str = "") -> str:
    return (
        'rulebook "test/parse" {\n'
        '  effective from 2012-01-01\n'
        '  year starts 01-01 by claim.date\n'
        '  rounding half_up to 0.01 yuan per payment\n'
        '}\n'
        'source S { number "1" }\n'
        'facts claim {\n'
        '  date: date\n'
        '  cost: money\n'
        '}\n'
        'fund f cites S "q" {\n'
        f'{applies}'
        '  base claim.cost\n'
        '  rate 50%\n'
        '}\n'
        'total cost is claim.cost\n')


CHINESE = '''\
rulebook "衢州/职工-2012" {
  title "衢州市职工基本医疗保险待遇" | "Quzhou employee benefits"
  scheme "职工基本医疗保险"
  jurisdiction "浙江省衢州市"
  effective from 2012-01-01
  year starts 01-01 by claim.就诊日期
  rounding half_up to 0.01元 per payment
}

source 衢政发2011_102 {
  number "衢政发〔2011〕102号"
  title "衢州市人民政府关于调整职工医疗保险待遇标准及有关问题的通知"
}

enum 人员类别 "人员类别" {
  在职 "在职职工"
  退休 "退休人员"
}

facts member {
  类别: 人员类别 "人员类别"
}

facts claim {
  就诊日期: date "就诊日期"
  费用: money "政策范围内费用"
}

parameter 起付标准: money = 300元 cites 衢政发2011_102 at "一" "起付标准下调至300元"

accumulator 门诊已付: money per year "门诊统筹基金年度累计支付"
accumulator 已用起付: money per year

fund 门诊统筹 "门诊统筹基金" cites 衢政发2011_102 at "一" "调整门诊统筹待遇标准" {
  base claim.费用
  accumulate payments in 门诊已付
  accumulate deductible in 已用起付
  deductible 起付标准 per year
  rate 50%
  adjust +5个百分点 when member.类别 == 退休
  cap payments at 3_000元
}

total cost is claim.费用
'''


def test_chinese_identifiers_and_strings():
    rb = parse_text(CHINESE, "衢州.mr")
    assert rb.header.id == "衢州/职工-2012"
    assert rb.header.title.zh == "衢州市职工基本医疗保险待遇" and rb.header.title.en == "Quzhou employee benefits"
    assert rb.header.jurisdiction == "浙江省衢州市"
    assert rb.header.dated_by.parts == ("claim", "就诊日期")
    assert [s.name for s in rb.sources] == ["衢政发2011_102"]
    assert rb.sources[0].number == "衢政发〔2011〕102号"
    assert [m.name for m in rb.enums[0].members] == ["在职", "退休"]
    assert [f.name for f in rb.records[1].fields] == ["就诊日期", "费用"]
    assert rb.parameters[0].name == "起付标准" and rb.parameters[0].value.value == Decimal("300")
    assert rb.parameters[0].citation.quote == "起付标准下调至300元"
    fund = rb.funds[0]
    assert fund.name == "门诊统筹" and fund.label.zh == "门诊统筹基金"
    (adjust,) = fund.clause(n.Adjust)
    assert adjust.amount.type == units.POINTS and adjust.amount.value == Decimal("0.05")
    # ... and the rulebook is a valid one.
    checked = check(rb)
    assert checked.id == "衢州/职工-2012"


# ---------------------------------------------------------------- spans
def test_spans_are_one_based_lines_and_columns():
    text = ('parameter p: money = 600 yuan assumed "x"\n'
            '\n'
            'fund f {\n'
            '    base claim.cost\n'
            '}\n')
    rb = parse_text(text, "spans.mr")
    (p,) = rb.parameters
    assert (p.span.file, p.span.line, p.span.col) == ("spans.mr", 1, 1)
    assert (p.value.span.line, p.value.span.col) == (1, 22)
    assert (p.value.span.end_line, p.value.span.end_col) == (1, 30)  # end is one past the last character
    assert (p.type_span.line, p.type_span.col) == (1, 14)
    fund = rb.funds[0]
    assert (fund.span.line, fund.span.col) == (3, 1)
    (base,) = fund.clause(n.Base)
    assert (base.span.line, base.span.col) == (4, 5)
    assert (base.expr.span.line, base.expr.span.col) == (4, 10)
    assert (rb.span.line, rb.span.col) == (1, 1)


def test_columns_count_characters_not_bytes():
    # Each Chinese character is one column, though three bytes in UTF-8.
    rb = parse_text('parameter 起付标准: money = 300元 assumed "假定"\n')
    (p,) = rb.parameters
    assert p.value.span.col == len("parameter 起付标准: money = ") + 1 == 25
    assert p.type_span.col == 17


def test_span_after_a_tab_and_crlf():
    rb = parse_text('# comment\r\n\tparameter p: money = 1 yuan assumed "x"\r\n')
    (p,) = rb.parameters
    assert (p.span.line, p.span.col) == (2, 2)


def test_syntax_error_span_is_one_based():
    with pytest.raises(MedrulesError) as info:
        parse_text("fund f {\n  rate 50% 55%\n}\n", "bad.mr")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.file, d.span.line, d.span.col) == ("syntax", "bad.mr", 2, 12)


# ---------------------------------------------------------------- comments
def test_comments_are_ignored():
    with_comments = (
        "# a rulebook fragment\n"
        "parameter p: money = 300 yuan # trailing comment\n"
        "  # a comment between a value and its citation\n"
        '  cites S at "一" "text # not a comment"  # another\n'
        "# parameter q: money = 1 yuan\n")
    rb = parse_text(with_comments)
    (p,) = rb.parameters
    assert p.name == "p" and p.value.value == Decimal("300")
    assert p.citation.quote == "text # not a comment"
    bare = parse_text('parameter p: money = 300 yuan\n  cites S at "一" "text # not a comment"\n')
    assert bare.parameters[0].citation.quote == p.citation.quote


def test_file_of_only_comments_parses_to_an_empty_rulebook():
    rb = parse_text("# nothing here\n# yet\n")
    assert rb.header is None and rb.funds == () and rb.total is None


# ---------------------------------------------------------------- contextual keywords
@pytest.mark.parametrize("field", ["date", "id"])
def test_common_field_names_are_not_keywords(field):
    rb = parse_text(f'facts claim {{\n  {field}: text "x"\n  cost: money\n}}\n')
    assert [f.name for f in rb.records[0].fields] == [field, "cost"]


def test_date_and_id_fields_in_a_checked_rulebook():
    rb = parse_text(_small_rulebook().replace("  date: date\n", "  id: text\n  date: date\n"))
    claim = {r.kind: r for r in rb.records}["claim"]
    assert [f.name for f in claim.fields] == ["id", "date", "cost"]
    assert rb.header.dated_by.parts == ("claim", "date")
    check(rb)


@pytest.mark.parametrize("field", ["rate", "cost", "year", "note", "number", "source", "total", "to"])
def test_keywords_as_field_names(field):
    rb = parse_text(f"facts claim {{\n  {field}: money\n}}\n")
    assert [f.name for f in rb.records[0].fields] == [field]


@pytest.mark.parametrize("field", ["rate", "note", "to"])
def test_keyword_field_after_a_field_with_a_default(field):
    rb = parse_text(f"facts claim {{\n  self_paid: money = 0 yuan\n  {field}: money\n}}\n")
    assert [f.name for f in rb.records[0].fields] == ["self_paid", field]


# ---------------------------------------------------------------- syntax errors use drafter words
@pytest.mark.parametrize(
    "text",
    [
        "fund f {\n  rate 50%\n",                    # ends early
        "fund f {\n  rate 50% 55%\n}\n",             # unexpected literal
        "fund f {\n  rate (50%\n}\n",                # unclosed parenthesis
        "fund f {\n  rat 50%\n}\n",                  # unknown clause
        "fund f {\n  rate 50% ;\n}\n",               # bad character
        "rulebook \"x\" { rounding half_up to 0.01 per payment }\n",
        "enum e { }\n",
    ],
)
def test_syntax_errors_never_show_lark_terminal_names(text):
    with pytest.raises(MedrulesError) as info:
        parse_text(text)
    (d,) = info.value.diagnostics
    shown = f"{d.message} {d.hint or ''}"
    assert d.code == "syntax"
    terminals = {t.name for t in parser().terminals} | {"$END"}
    leaked = [w for w in re.findall(r"[$\w]+", shown) if w in terminals or w.startswith("__ANON")]
    assert leaked == [], shown


# ---------------------------------------------------------------- the grammar
def _strict_supported() -> bool:
    return "strict" in getattr(lark.lark.LarkOptions, "_defaults", {})


def test_grammar_builds_in_strict_mode():
    if not _strict_supported():
        pytest.skip(f"lark {lark.__version__} has no strict mode")
    pytest.importorskip("interegular")  # lark's strict mode needs it to look for terminal collisions
    lark.Lark(grammar_text(), parser="lalr", strict=True)


def test_grammar_has_no_shift_reduce_conflicts():
    """What strict mode checks in the parse table, without needing interegular."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler, level = Collect(), lark.logger.level
    lark.logger.addHandler(handler)
    lark.logger.setLevel(logging.DEBUG)
    try:
        lark.Lark(grammar_text(), parser="lalr", debug=True)
    finally:
        lark.logger.removeHandler(handler)
        lark.logger.setLevel(level)
    conflicts = [m for m in messages if "conflict" in m.lower()]
    assert conflicts == []
