"""Chinese authoring: the Chinese keyword set, how it lexes next to names, numbers and quotes,
full-width punctuation, and the keyword language of a rulebook."""
from __future__ import annotations

import itertools
import re
import json
from decimal import Decimal

import pytest

import medrules
from medrules import lexicon, zh
from medrules import nodes as n
from medrules.diagnostics import MedrulesError
from medrules.parse import keywords, parse, parser
from medrules.source import SourceFile


def parse_text(text: str, name: str = "zh.mr") -> n.Rulebook:
    return parse(SourceFile(name, text))


def diagnostics(text: str) -> list:
    with pytest.raises(MedrulesError) as exc:
        medrules.check(parse_text(text))
    return exc.value.diagnostics


# ---------------------------------------------------------------- the vocabulary
def test_every_english_keyword_has_one_chinese_word_of_its_own():
    english = {t.pattern.value for t in parser().terminals if t.name in keywords()}
    single = {en[0] for zh, en in lexicon.ZH if len(en) == 1}
    assert english - single == set()
    words = [zh for zh, _ in lexicon.ZH]
    assert len(words) == len(set(words))
    assert all(lexicon.is_cjk(ch) for w in words for ch in w)
    sequences = [en for _, en in lexicon.ZH if en]
    assert len(sequences) == len(set(sequences)), "each English sequence has one Chinese word"
    assert all(en[0] in english for en in sequences), "every Chinese word starts with a keyword"


def _lexed(text: str) -> list[str]:
    return [str(t) for t in zh.lex(text) if t.type != "ZH_FILLER"]


def _rests(a: str) -> set[str]:
    """What must follow ``a`` for a keyword to start inside it and go on past its end."""
    return {w[len(a) - i:] for i in range(len(a)) for w, _ in lexicon.ZH
            if len(w) > len(a) - i and w.startswith(a[i:])}


def test_any_two_keywords_written_together_read_as_the_two():
    """Keywords are read longest first; two written without a space are read as the two (or as
    one word that stands for the same English words). Only pairs where another keyword crosses
    the joint can go wrong; they are all lexed."""
    rests = {a: _rests(a) for a, _ in lexicon.ZH}
    pairs = [(a, b) for (a, _), (b, _) in itertools.product(lexicon.ZH, repeat=2)
             if any(b.startswith(r) for r in rests[a])]
    assert ("年度", "起始") in pairs and len(pairs) < 200
    got = _lexed(" ".join(a + b for a, b in pairs))
    assert got == [w for a, b in pairs for w in lexicon.EXPANSION[a] + lexicon.EXPANSION[b]]


@pytest.mark.parametrize(("text", "tokens"), [
    # keywords next to numbers, names, quotes and braces, without spaces
    ("起付标准300元每年度", ["deductible", "300元", "per", "year"]),
    ("最高支付限额160_000元", ["cap", "payments", "at", "160_000元"]),
    ('基金outpatient_pool"门诊统筹基金"{', ["fund", "outpatient_pool", '"门诊统筹基金"', "{"]),
    ("调整+5个百分点当member.category==retired时", ["adjust", "+", "5个百分点", "when", "member", ".",
                                                  "category", "==", "retired"]),
    ('引用QZ条款"一""原文"', ["cites", "QZ", "at", '"一"', '"原文"']),
    ("claim.kind不属于{inpatient}", ["claim", ".", "kind", "not", "in", "{", "inpatient", "}"]),
    # a Chinese name is quoted 「…」: the brackets are not part of it
    ("「就诊日期」: date", ["就诊日期", ":", "date"]),
    ("起付标准「起付线」每年度", ["deductible", "起付线", "per", "year"]),
    ("基金「门诊统筹」\"门诊统筹基金\"引用", ["fund", "门诊统筹", '"门诊统筹基金"', "cites"]),
    ("outpatient_pool基金", ["outpatient_pool", "fund"]),
    ("适用条件「门诊」==是", ["applies", "when", "门诊", "==", "true"]),
    # units inside literals
    ("20%相对", ["20%相对"]),
    ("90天", ["90天"]),
])
def test_keywords_need_no_spaces(text, tokens):
    assert _lexed(text) == tokens


# ---------------------------------------------------------------- one rulebook, two spellings
ENGLISH = """
rulebook "test/zh" {
  title "门诊测试" | "outpatient test"
  effective from 2012-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
source S { number "测试〔2012〕1号" issued 2012-01-01 }
enum category { working "在职"  retired "退休" }
enum place { grassroots "基层"  other "其他" }
facts member { id: text  category: category }
facts claim { id: text  date: date  place: place = other  cost: money }
accumulator cost_used: money per year
accumulator deductible_used: money per year
fund outpatient "门诊统筹" cites S at "一" "门诊统筹" {
  applies when claim.cost > 0 yuan
  base claim.cost
  accumulate cost in cost_used
  accumulate deductible in deductible_used
  deductible 300 yuan per year cites S at "一" "起付标准300元"
  cap cost at 3_000 yuan cites S at "一" "最高支付限额3000元"
  rate { 55% when claim.place == grassroots, otherwise 50% } cites S at "一" "基层55%,其他50%"
  adjust +5 points when member.category == retired cites S at "一" "退休人员增加5个百分点"
}
total cost is claim.cost
"""

# The same, typed as a drafter with a Chinese input method would: no spaces around keywords,
# full-width punctuation, “…” quotes, 当…时.
CHINESE = """
规则书 "test/zh" {
  标题 “门诊测试” | "outpatient test"
  施行自2012-01-01
  年度起始 01-01 按 claim.date
  四舍五入至0.01元每笔支付
}
文件 S { 文号"测试〔2012〕1号"发布于2012-01-01 }
枚举 category { working "在职"　retired "退休" }
枚举 place { grassroots "基层"　other "其他" }
参保人事实 { id：text  category：category }
就诊事实 { id：text  date：date  place：place = other  cost：money }
累计器 cost_used：money每年度
累计器 deductible_used：money每年度
基金 outpatient "门诊统筹" 引用S条款"一""门诊统筹" {
  适用条件 claim.cost > ０元
  计算基数 claim.cost
  费用累计至 cost_used
  起付累计至 deductible_used
  起付标准300元每年度 引用S条款"一""起付标准300元"
  费用限额3_000元 引用S条款"一""最高支付限额3000元"
  支付比例{55％当 claim.place == grassroots时，否则50％} 引用S条款"一""基层55%,其他50%"
  调整＋5个百分点当 member.category == retired 时 引用S条款"一""退休人员增加5个百分点"
}
总费用为 claim.cost
"""

FACTS = {
    "member": {"id": "M1", "category": "retired"},
    "claims": [
        {"id": "C1", "date": "2012-03-01", "place": "grassroots", "cost": "1000.00"},
        {"id": "C2", "date": "2012-06-01", "cost": "2500.00"},
    ],
}


def _settle(tmp_path, text: str, name: str) -> dict[str, Decimal]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    program = medrules.load(path)
    facts_path = tmp_path / "facts.json"
    facts_path.write_text(json.dumps(FACTS), encoding="utf-8")
    settlement = medrules.settle(program, medrules.load_facts(facts_path, program.checked))
    return {c.id: c.fund("outpatient").paid for c in settlement.claims}


def test_the_same_rulebook_in_either_keyword_set(tmp_path):
    en, zh = parse_text(ENGLISH), parse_text(CHINESE)
    assert (en.lang, zh.lang) == ("en", "zh")
    assert n.shape(en) == n.shape(zh)
    assert n.shape(medrules.check(en)) == n.shape(medrules.check(zh))
    # By hand (retired: +5 points):
    # C1 at a grassroots institution: (1,000 − 300 deductible) × (55% + 5%) = 700 × 60% = 420.00
    # C2 elsewhere: the year's cost counted stops at 3,000: 3,000 − 1,000 = 2,000 of its 2,500
    #    count; the deductible is used up; 2,000 × (50% + 5%) = 1,100.00
    expected = {"C1": Decimal("420.00"), "C2": Decimal("1100.00")}
    assert _settle(tmp_path, ENGLISH, "en.mr") == expected
    assert _settle(tmp_path, CHINESE, "zh.mr") == expected


def test_chinese_names_are_quoted_with_chinese_keywords():
    rb = parse_text('参数「起付线」: money = 300元 假定 "测试"\n')
    assert rb.parameters[0].name == "起付线"
    (d,) = diagnostics('参数 起付线: money = 300元 假定 "测试"\n')
    assert (d.code, d.span.line, d.span.col, d.span.end_col) == ("syntax", 1, 4, 7)
    assert "'起付线' is not a keyword" in d.message and "「" in d.hint


def test_english_keyword_in_a_chinese_rulebook():
    (d,) = diagnostics('参数 p: money = 300 yuan assumed "测试"\n')
    assert (d.code, d.span.line, d.span.col) == ("mixed-keywords", 1, 24)
    assert "'assumed'" in d.message and "假定" in d.hint


def test_chinese_keyword_in_an_english_rulebook():
    (d,) = diagnostics('parameter p: money = 300 yuan 假定 "test"\n')
    assert (d.code, d.span.line, d.span.col) == ("mixed-keywords", 1, 31)
    assert "'假定'" in d.message and "assumed" in d.hint


def test_english_keywords_as_names_in_a_chinese_rulebook_are_names():
    """A fact called 'cost' or 'year' is still a name where only a name fits."""
    rb = parse_text('就诊事实 { cost: money  year: date }\n总费用为 claim.cost\n')
    assert [f.name for f in rb.records[0].fields] == ["cost", "year"]
    assert rb.total.expr.parts == ("claim", "cost")


def test_comments_first_do_not_decide_the_language():
    assert parse_text("# 说明 rate\n# another\n参数 p: money = 1元 假定 \"x\"\n").lang == "zh"
    assert parse_text("# 参数\nparameter p: money = 1 yuan assumed \"x\"\n").lang == "en"


# ---------------------------------------------------------------- full-width punctuation
@pytest.mark.parametrize(("written", "value"), [
    ("55％", Decimal("0.55")), ("１２３元", Decimal("123")), ("（1元＋2元）", None),
])
def test_full_width_punctuation_and_digits_are_read_as_ascii(written, value):
    rb = parse_text(f'parameter p: money = {written} assumed "x"\n')
    if value is not None:
        assert rb.parameters[0].value.value == value
    else:
        assert isinstance(rb.parameters[0].value, n.Binary)


def test_full_width_inside_quotes_and_comments_is_kept():
    rb = parse_text('parameter p: money = 1 yuan "（含）：，％" assumed “他说“”  # 注释：，\n')
    assert rb.parameters[0].label.zh == "（含）：，％"
    assert rb.parameters[0].citation.assumption.zh == "他说“"
    assert rb.comments[0].text == "# 注释：，"


def test_a_quote_closed_with_a_full_width_quote_points_at_it():
    """The issue's example: '"起付标准500元”' names the closing ” and puts the caret on it."""
    text = 'rulebook "x" {\n  title "起付标准500元” \n}\n'
    (d,) = diagnostics(text)
    assert (d.code, d.span.line, d.span.col) == ("full-width", 2, 18)
    assert "”" in d.message and "U+201D" in d.message
    assert d.related[0][1].col == 9  # the opening quote


def test_a_full_width_quote_closed_with_an_ascii_quote():
    (d,) = diagnostics('rulebook "x" {\n  title “起付标准500元" \n}\n')
    assert (d.code, d.span.line, d.span.col) == ("full-width", 2, 18)
    assert "“" in d.message


@pytest.mark.parametrize(("char", "name"), [("；", "semicolon"), ("。", "full stop"), ("【", "bracket")])
def test_other_full_width_characters_are_named(char, name):
    (d,) = diagnostics(f'parameter p: money = 1 yuan{char} assumed "x"\n')
    assert (d.code, d.span.line, d.span.col) == ("full-width", 1, 28)
    assert char in d.message and name in d.message.lower()


def test_comments_live_in_the_tree():
    rb = parse_text('# head\nparameter p: money = 1 yuan assumed "x"  # tail\n')
    assert [(c.text, c.trailing, c.span.line, c.span.col) for c in rb.comments] == [
        ("# head", False, 1, 1), ("# tail", True, 2, 42)]


# ---------------------------------------------------------------- the documentation
def test_docs_table_lists_every_chinese_keyword_and_its_example_checks():
    from conftest import ROOT
    doc = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = doc[doc.index("### 15.1 Chinese keywords"):doc.index("### 15.2")]
    rows = re.findall(r"^\| (\S+) \| `([^`]+)` \|$", section, re.M)
    assert rows == [(zh_word, " ".join(en)) for zh_word, en in lexicon.ZH if en]
    (example,) = re.findall(r"```medrules\n(.*?)```", section, re.S)
    checked = medrules.check(parse_text(example))
    assert checked.rulebook.lang == "zh" and checked.id == "demo/zh"
